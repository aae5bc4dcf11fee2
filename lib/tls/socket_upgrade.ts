/**
 * `upgradeSocket`: STARTTLS into a callback-driven {@link TlsSocket}, as the
 * client (default) or as the server — `upgrade()` with `socket` handlers.
 *
 * @module
 */
import type { PlainConn } from "../transport/open.ts";
import { TlsSocket, type TlsSocketHandler } from "./socket.ts";
import { checkHalfOpen, checkHandlers } from "./socket_connect.ts";
import { type UpgradeOptions, upgradeSession } from "./upgrade.ts";

/** Options of {@link upgradeSocket}: those of `upgrade`, plus the handlers. */
export interface SocketUpgradeOptions<Data = undefined> extends UpgradeOptions {
  /** The callbacks (see {@link TlsSocketHandler}). */
  socket: TlsSocketHandler<Data>;
  /** The socket's `data` to start with. */
  data?: Data;
  /** Keep writing after the peer's close_notify, until `end()` (default false). */
  allowHalfOpen?: boolean;
}

/**
 * Starts TLS on a connected plain socket (`Deno.Conn` or a Bun socket) and
 * drives it with the `socket` handlers, as the client or (`isServer`) the
 * server: `open` is called at once, then `handshake`, `data`, … as for
 * `connectSocket`. Resolves with the socket once the handshake succeeded; a
 * failed one calls `handshake(socket, false, error)`, `connectError` (else
 * `error`) and `close`, then rejects with the same `TlsError`.
 *
 * The plain connection belongs to the socket from now on. Bytes the caller
 * already read that belong to TLS go in `head`. On Bun, a socket accepted by
 * `Bun.listen` needs `listenerHandlers` (the handlers given to that
 * `Bun.listen`), as with `upgrade()`: the listener's other sockets keep them.
 * Bad options throw `INVALID_OPTION` before `conn` is touched.
 *
 * @example
 * ```ts
 * import { upgradeSocket } from "@jsec/tls";
 * const plain = await Deno.connect({ hostname: "mail.example", port: 25 });
 * // … EHLO, STARTTLS, "220 Ready to start TLS" over `plain` …
 * const socket = await upgradeSocket(plain, {
 *   hostname: "mail.example",
 *   socket: {
 *     data(_socket, bytes) {
 *       console.log(new TextDecoder().decode(bytes));
 *     },
 *   },
 * });
 * socket.write("EHLO client.example\r\n");
 * ```
 */
export async function upgradeSocket<Data = undefined>(
  conn: PlainConn,
  options: SocketUpgradeOptions<Data>,
): Promise<TlsSocket<Data>> {
  checkHandlers(options.socket);
  checkHalfOpen(options.allowHalfOpen);
  const socket = new TlsSocket(upgradeSession(conn, options), {
    handlers: options.socket,
    data: options.data as Data,
    allowHalfOpen: options.allowHalfOpen ?? false,
  });
  await socket.handshakeEnded;
  return socket;
}
