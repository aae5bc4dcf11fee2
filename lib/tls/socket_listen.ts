/**
 * `listenSocket`: a TLS server whose connections are callback-driven
 * {@link TlsSocket}s, shaped like `Bun.listen({ socket: handlers })`.
 *
 * @module
 */
import type { Addr, ByteStream } from "../transport/stream.ts";
import { type BoundServer, type ListenAddress, openServer } from "./listen.ts";
import type { ServerOptions } from "./options.ts";
import type { SecureContext } from "./secure_context.ts";
import { serverSession } from "./session.ts";
import { type SocketShape, TlsSocket, type TlsSocketHandler } from "./socket.ts";
import { checkHalfOpen, checkHandlers } from "./socket_connect.ts";

/** Options of {@link listenSocket}: those of `listen`, plus the handlers. */
export interface SocketListenOptions<Data = undefined> extends ServerOptions, ListenAddress {
  /** The callbacks of every accepted connection (see {@link TlsSocketHandler}). */
  socket: TlsSocketHandler<Data>;
  /** Each accepted socket's `data` to start with (the same value for all; set your own in `open`). */
  data?: Data;
  /** Keep writing after a client's close_notify, until `end()` (default false). */
  allowHalfOpen?: boolean;
}

/**
 * A listening TLS server whose connections are {@link TlsSocket}s, like the
 * listener `Bun.listen` returns. Every accepted connection calls the `socket`
 * handlers: `open` at once, `handshake` when the handshake ended (a failed one
 * also calls `error` and `close`, and the listener goes on).
 *
 * @example
 * ```ts
 * import { listenSocket } from "@jsec/tls";
 * const server = listenSocket({
 *   hostname: "127.0.0.1",
 *   port: 8443,
 *   cert,
 *   key,
 *   socket: {
 *     data(socket, bytes) {
 *       socket.write(bytes); // echo
 *     },
 *   },
 * });
 * console.log(server.port);
 * server.stop();
 * ```
 */
export class TlsSocketListener<Data = undefined> implements Disposable {
  readonly #server: BoundServer;
  readonly #options: SocketListenOptions<Data>;
  readonly #sockets = new Set<TlsSocket<Data>>();
  #stopped = false;

  /** @internal Use {@link listenSocket}. */
  constructor(server: BoundServer, options: SocketListenOptions<Data>) {
    this.#server = server;
    this.#options = options;
    server.acceptEach((stream) => this.#take(stream));
  }

  #take(stream: ByteStream): void {
    if (this.#stopped) return stream.close();
    let socket: TlsSocket<Data> | undefined;
    const shape: SocketShape<Data> = {
      handlers: this.#options.socket,
      data: this.#options.data as Data,
      allowHalfOpen: this.#options.allowHalfOpen ?? false,
      onClosed: () => socket && this.#sockets.delete(socket),
    };
    try {
      socket = new TlsSocket(serverSession(stream, this.#server.context, this.#options), shape);
    } catch {
      return; // no native session for it (out of memory): that connection only
    }
    if (socket.readyState !== "closed") this.#sockets.add(socket);
  }

  /** The address we listen on (with the chosen port when `port` was 0). */
  get addr(): Addr {
    return this.#server.streams.addr;
  }

  /** The host we listen on ("" on a Unix socket). */
  get hostname(): string {
    const a = this.#server.streams.addr;
    return a.transport === "tcp" ? a.hostname : "";
  }

  /** The port we listen on (0 on a Unix socket). */
  get port(): number {
    const a = this.#server.streams.addr;
    return a.transport === "tcp" ? a.port : 0;
  }

  /**
   * Serves the connections accepted from now on with `context` (a server
   * `SecureContext`): open ones keep theirs. See `TlsListener.setSecureContext`.
   *
   * @example
   * ```ts
   * server.setSecureContext(createSecureContext({ isServer: true, cert: renewedCert, key: renewedKey }));
   * ```
   */
  setSecureContext(context: SecureContext): void {
    this.#server.setSecureContext(context);
  }

  /**
   * Stops listening. Open connections go on, unless `closeActiveConnections`:
   * then each is closed (`close()`: close_notify in the background). Idempotent.
   */
  stop(closeActiveConnections = false): void {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#server.close();
    }
    if (closeActiveConnections) { for (const socket of [...this.#sockets]) socket.close(); }
  }

  /** Stops listening; for `using`. */
  [Symbol.dispose](): void {
    this.stop();
  }

  /** Keeps the process alive while listening (default). */
  ref(): void {
    this.#server.streams.ref();
  }

  /** Lets the process exit while listening. */
  unref(): void {
    this.#server.streams.unref();
  }
}

/**
 * Listens for TLS connections and drives each with the `socket` handlers,
 * as `Bun.listen` does. Throws at once on bad options, a bad certificate or
 * key (`INVALID_OPTION`, `INVALID_PEM`, `KEY_MISMATCH`), or an address in use
 * (`CONNECTION_FAILED`).
 *
 * @example
 * ```ts
 * import { listenSocket } from "@jsec/tls";
 * const server = listenSocket({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   cert,
 *   key,
 *   socket: {
 *     handshake(socket, ok) {
 *       if (ok) socket.write(`hello ${socket.info?.servername ?? ""}\n`);
 *     },
 *     data(socket, bytes) {
 *       socket.write(bytes);
 *     },
 *     error(socket, error) {
 *       console.warn(socket.remoteAddress, error.message);
 *     },
 *   },
 * });
 * ```
 */
export function listenSocket<Data = undefined>(options: SocketListenOptions<Data>): TlsSocketListener<Data> {
  checkHandlers(options.socket);
  checkHalfOpen(options.allowHalfOpen);
  return new TlsSocketListener(openServer(options), options);
}
