/**
 * `connectSocket`: a callback-driven TLS client ({@link TlsSocket}), shaped
 * like `Bun.connect({ socket: handlers })`.
 *
 * @module
 */
import { invalid } from "../engine/validate.ts";
import { TlsError } from "../errors.ts";
import { openClient } from "./connect.ts";
import type { ConnectOptions } from "./options.ts";
import { clientSession } from "./session.ts";
import { report, TlsSocket, type TlsSocketHandler } from "./socket.ts";

/** Options of {@link connectSocket}: those of `connect`, plus the handlers. */
export interface SocketConnectOptions<Data = undefined> extends ConnectOptions {
  /** The callbacks (see {@link TlsSocketHandler}). */
  socket: TlsSocketHandler<Data>;
  /** The socket's `data` to start with. */
  data?: Data;
  /**
   * Keep writing after the peer's close_notify, until `end()` (default false:
   * the socket answers the peer's close_notify with its own and closes).
   */
  allowHalfOpen?: boolean;
}

const HANDLER_NAMES = [
  "open",
  "handshake",
  "data",
  "drain",
  "end",
  "close",
  "error",
  "connectError",
  "timeout",
] as const;

/** Throws `INVALID_OPTION` unless `socket` is an object of handler functions. */
export function checkHandlers(socket: unknown): void {
  if (typeof socket !== "object" || socket === null) invalid("socket", "an object of handlers", socket);
  for (const name of HANDLER_NAMES) {
    const handler = (socket as Record<string, unknown>)[name];
    if (handler !== undefined && typeof handler !== "function") {
      invalid(`socket.${name}`, "a function", handler);
    }
  }
}

/** Throws `INVALID_OPTION` unless `allowHalfOpen` is a boolean or absent. */
export function checkHalfOpen(allowHalfOpen: unknown): void {
  if (allowHalfOpen !== undefined && typeof allowHalfOpen !== "boolean") {
    invalid("allowHalfOpen", "a boolean", allowHalfOpen);
  }
}

/** Tells `connectError` that there never was a connection; what it throws is reported, not raised. */
function reportConnectError<Data>(handlers: TlsSocketHandler<Data>, error: TlsError): void {
  try {
    handlers.connectError?.call(handlers, null, error);
  } catch (e) {
    report(e);
  }
}

/**
 * Connects and runs the TLS handshake; resolves with the socket once the
 * handshake succeeded (after `open` and `handshake(socket, true, …)`). A failed
 * handshake calls `handshake(socket, false, error)`, `error` and `close`, then
 * rejects the promise with the same `TlsError`, so that no failure is silent.
 * Writes made in `open` are sent once the server is verified.
 * Bad options throw `INVALID_OPTION` at the call; a connection that cannot be
 * opened calls `connectError(null, error)` and rejects with the same
 * `CONNECTION_FAILED`. With `connectError`, a failed handshake goes there
 * rather than to `error`.
 * Every option of `connect` applies: verification is on, TLS 1.2 the minimum,
 * `handshakeTimeout` 30 s.
 *
 * @example
 * ```ts
 * import { connectSocket } from "@jsec/tls";
 * const socket = await connectSocket({
 *   hostname: "localhost",
 *   port: 8443,
 *   caCerts: [caPem],
 *   socket: {
 *     open(socket) {
 *       socket.write("ping"); // sent once the handshake is done
 *     },
 *     data(socket, bytes) {
 *       console.log(new TextDecoder().decode(bytes));
 *       socket.end();
 *     },
 *     error(_socket, error) {
 *       console.error(error.message);
 *     },
 *   },
 * });
 * ```
 */
export async function connectSocket<Data = undefined>(
  options: SocketConnectOptions<Data>,
): Promise<TlsSocket<Data>> {
  checkHandlers(options.socket);
  checkHalfOpen(options.allowHalfOpen);
  let client: Awaited<ReturnType<typeof openClient>>;
  try {
    client = await openClient(options);
  } catch (e) {
    if (e instanceof TlsError && e.code === "CONNECTION_FAILED") reportConnectError(options.socket, e);
    throw e;
  }
  const { stream, context, host } = client;
  const socket = new TlsSocket(clientSession(stream, context, host, options), {
    handlers: options.socket,
    data: options.data as Data,
    allowHalfOpen: options.allowHalfOpen ?? false,
  });
  await socket.handshakeEnded;
  return socket;
}
