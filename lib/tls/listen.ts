/**
 * `listen`: a TLS server. Handshakes run concurrently in the background;
 * `accept()` hands out connections whose handshake succeeded, and one failed
 * handshake never stops the listener.
 *
 * @module
 */
import type { TlsContext } from "../engine/context.ts";
import { invalid } from "../engine/validate.ts";
import { TlsError } from "../errors.ts";
import { listenStreams, reusePortAvailable, type StreamListener } from "../transport/open.ts";
import type { Addr, ByteStream } from "../transport/stream.ts";
import { TlsConn } from "./conn.ts";
import { checkCommon, serverContext, type ServerOptions } from "./options.ts";
import { checkRole, givenContext, SecureContext } from "./secure_context.ts";
import { serverSession } from "./session.ts";

/** Options of {@link listen}. */
export interface ListenOptions extends ServerOptions, ListenAddress {
  /** Called for each handshake that failed (the listener goes on). */
  onHandshakeError?: (error: TlsError, remoteAddr: Addr) => void;
}

/**
 * A TLS server socket: `accept()` or `for await` its connections.
 *
 * @example
 * ```ts
 * import { listen } from "@jsec/tls";
 * const server = listen({ port: 8443, cert, key });
 * for await (const conn of server) {
 *   await conn.write(new TextEncoder().encode("hello\n"));
 *   conn.close();
 * }
 * ```
 */
export class TlsListener implements AsyncIterable<TlsConn>, AsyncDisposable {
  readonly #server: BoundServer;
  readonly #options: ListenOptions;
  readonly #ready: TlsConn[] = [];
  #wake: (() => void) | null = null;
  #closed = false;

  /** @internal Use {@link listen}. */
  constructor(server: BoundServer, options: ListenOptions) {
    this.#server = server;
    this.#options = options;
    server.acceptEach((stream) => {
      const conn = new TlsConn(serverSession(stream, server.context, this.#options));
      conn.handshake().then(
        () => {
          if (this.#closed) return conn.close();
          this.#ready.push(conn);
          this.#wakeAcceptor();
        },
        (error: TlsError) => this.#options.onHandshakeError?.(error, stream.remoteAddr),
      );
    });
  }

  #wakeAcceptor(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** The address we listen on (with the chosen port when `port` was 0). */
  get addr(): Addr {
    return this.#server.streams.addr;
  }

  /** The next connection whose handshake succeeded. Rejects with `CLOSED` once the listener is closed. */
  async accept(): Promise<TlsConn> {
    while (this.#ready.length === 0) {
      if (this.#closed) throw new TlsError("CLOSED", "the listener is closed");
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    return this.#ready.shift()!;
  }

  /**
   * The session ticket keys: 80 bytes each, the current key then the previous
   * one if any. Give them (`ticketKeys` / {@link setTicketKeys}) to the other
   * processes serving the same clients, so that each resumes the others' sessions.
   *
   * @example
   * ```ts
   * const keys = server.getTicketKeys();
   * ```
   */
  getTicketKeys(): Uint8Array {
    return this.#server.context.getTicketKeys();
  }

  /**
   * New session ticket keys for the handshakes from now on. One 80-byte key
   * rotates: it becomes the current key and the current one the previous, still
   * accepted. 160 bytes (current, previous) replace both. Bad keys throw
   * `INVALID_OPTION`.
   *
   * @example
   * ```ts
   * server.setTicketKeys(crypto.getRandomValues(new Uint8Array(80))); // in every process of the cluster
   * ```
   */
  setTicketKeys(keys: Uint8Array): void {
    this.#server.context.setTicketKeys(keys);
  }

  /**
   * Serves the connections accepted from now on with `context` (a server
   * `SecureContext`): e.g. a renewed certificate, with no restart. Open
   * connections keep the context they began with; a context the listener made
   * from its options is freed once they end. Resumption carries over when both
   * contexts have the same `ticketKeys`. Throws `INVALID_OPTION` for anything
   * but a TLS server `SecureContext`, `CLOSED` after `close()`.
   *
   * @example
   * ```ts
   * import { createSecureContext } from "@jsec/tls";
   * server.setSecureContext(createSecureContext({ isServer: true, cert: renewedCert, key: renewedKey }));
   * ```
   */
  setSecureContext(context: SecureContext): void {
    this.#server.setSecureContext(context);
  }

  /** Stops listening. Established connections stay open; ones not yet accepted are closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const conn of this.#ready.splice(0)) conn.close();
    this.#wakeAcceptor();
  }

  /** Closes; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Keeps the process alive while listening (default). */
  ref(): void {
    this.#server.streams.ref();
  }

  /** Lets the process exit while listening. */
  unref(): void {
    this.#server.streams.unref();
  }

  /** Yields each accepted connection until the listener is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<TlsConn> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (e) {
        if (e instanceof TlsError && e.code === "CLOSED") return;
        throw e;
      }
    }
  }
}

/**
 * Listens for TLS connections. Throws at once on bad options or a bad
 * certificate/key; binding errors (address in use) throw too.
 *
 * @example
 * ```ts
 * import { listen } from "@jsec/tls";
 * const server = listen({ hostname: "127.0.0.1", port: 0, cert, key, alpnProtocols: ["h2", "http/1.1"] });
 * console.log("listening on", server.addr);
 * const conn = await server.accept();
 * ```
 */
export function listen(options: ListenOptions): TlsListener {
  return new TlsListener(openServer(options), options);
}

/** Where a server listens: a TCP port (and address), or a Unix socket path. */
export interface ListenAddress {
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Address to bind. Default `"0.0.0.0"`, as `Deno.listenTls`. */
  hostname?: string;
  /** A Unix socket path, instead of `hostname` and `port`. */
  path?: string;
  /**
   * Let several sockets (processes) listen on the same TCP port, the kernel
   * spreading connections among them (`SO_REUSEPORT`; Linux). Default false.
   */
  reusePort?: boolean;
  /**
   * Called when accepting a connection fails (e.g. no file descriptor left,
   * EMFILE), with a `CONNECTION_FAILED` error. The listener goes on: it waits
   * 10 ms, doubling up to 1 s while the failure lasts, and tries again.
   */
  onAcceptError?: (error: TlsError) => void;
}

/** A listening server's transport and context: what {@link listen} and `listenSocket` share. */
export interface BoundServer {
  readonly streams: StreamListener;
  /** The context of the handshakes from now on. */
  readonly context: TlsContext;
  /** Serves new connections with `next` (see {@link TlsListener.setSecureContext}). */
  setSecureContext(next: SecureContext): void;
  /** Hands each accepted stream (Nagle off) to `take`, until the server is closed. */
  acceptEach(take: (stream: ByteStream) => void): void;
  /** Stops listening and following OCSP staples; a context of its own is freed once its last session ends. */
  close(): void;
}

/**
 * Checks a server's options, builds its context and binds its address.
 * Throws at once on bad options, a bad certificate or key, or an address
 * that cannot be bound (`CONNECTION_FAILED`).
 *
 * @example
 * ```ts
 * const server = openServer({ port: 0, cert, key });
 * server.acceptEach((stream) => console.log(stream.remoteAddr));
 * ```
 */
export function openServer(options: ServerOptions & ListenAddress): BoundServer {
  checkCommon(options);
  for (const name of ["onHandshakeError", "onAcceptError"] as const) {
    const callback = (options as ListenOptions)[name];
    if (callback !== undefined && typeof callback !== "function") invalid(name, "a function", callback);
  }
  if (
    options.path === undefined &&
    (!Number.isInteger(options.port) || options.port! < 0 || options.port! > 65535)
  ) {
    invalid("port", "an integer from 0 to 65535", options.port);
  }
  if (options.reusePort !== undefined && typeof options.reusePort !== "boolean") {
    invalid("reusePort", "a boolean", options.reusePort);
  }
  if (options.reusePort && !reusePortAvailable()) {
    throw new TlsError("INVALID_OPTION", "`reusePort` under Deno needs the --unstable-net flag");
  }
  const given = givenContext(options, { isServer: true, datagram: false, call: "listen" });
  let secure = given ?? new SecureContext(serverContext(options), options.ocspStaple);
  let owned = given === undefined; // ours to free when replaced or closed
  try {
    const streams = listenStreams(
      options.path !== undefined ? { path: options.path } : {
        hostname: options.hostname ?? "0.0.0.0",
        port: options.port!,
        reusePort: options.reusePort ?? false,
      },
      options.onAcceptError,
    );
    let closed = false;
    return {
      streams,
      get context() {
        return secure.engineContext;
      },
      setSecureContext(next) {
        checkRole(next, { isServer: true, datagram: false, call: "setSecureContext" });
        if (closed) throw new TlsError("CLOSED", "the listener is closed");
        if (owned) secure.free(); // for real once the connections using it end
        secure = next;
        owned = false;
      },
      async acceptEach(take) {
        for (;;) {
          const stream = await streams.accept();
          if (stream === null) return;
          stream.setNoDelay(true);
          take(stream);
        }
      },
      close() {
        if (closed) return;
        closed = true;
        streams.close();
        if (owned) secure.free(); // for real once the last connection ends
      },
    };
  } catch (e) {
    if (owned) secure.free();
    throw new TlsError("CONNECTION_FAILED", `cannot listen: ${(e as Error).message}`, { cause: e });
  }
}
