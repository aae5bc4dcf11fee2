/**
 * `upgrade`: STARTTLS over a connection that began in plaintext, as the
 * client (default) or as the server.
 *
 * @module
 */
import { TlsContext, validateContextOptions } from "../engine/context.ts";
import { invalid } from "../engine/validate.ts";
import { type PlainConn, wrapStream } from "../transport/open.ts";
import { TlsConn } from "./conn.ts";
import { sharedContext } from "./contexts.ts";
import {
  checkClient,
  checkCommon,
  clientContext,
  type ClientOptions,
  serverContext,
  type ServerOptions,
} from "./options.ts";
import { clientSession, serverSession, type Session } from "./session.ts";

/** Options of {@link upgrade}. */
export interface UpgradeOptions extends ClientOptions, ServerOptions {
  /** Take the server side of the handshake (needs `cert` and `key`). */
  isServer?: boolean;
  /** Client: the host name to verify (and send as SNI unless `servername` is given). */
  hostname?: string;
  /** Bytes already read from `conn` that belong to the TLS stream (e.g. a pipelined ClientHello). */
  head?: Uint8Array;
  /**
   * Bun, a socket accepted by `Bun.listen`: the `socket` handlers given to that
   * `Bun.listen` (required there). Bun shares one set of handlers among all the
   * sockets of a listener, so `upgrade()` installs handlers that send this
   * socket's events to TLS and every other socket's to these, as before.
   * Ignored elsewhere.
   */
  listenerHandlers?: object;
}

/**
 * Starts TLS on a connected plain socket (`Deno.Conn` or a Bun socket) and
 * completes the handshake. The plain connection belongs to the result from
 * now on: do not read or write it directly any more. Bytes that arrived
 * after what the caller read stay in the socket for TLS; bytes the caller
 * already read go in `head`.
 *
 * @example
 * ```ts
 * import { upgrade } from "@jsec/tls";
 * const plain = await Deno.connect({ hostname: "mail.example", port: 25 });
 * // … EHLO, STARTTLS, "220 Ready to start TLS" over `plain` …
 * const tls = await upgrade(plain, { hostname: "mail.example" });
 * ```
 */
export async function upgrade(conn: PlainConn, options: UpgradeOptions = {}): Promise<TlsConn> {
  const tls = new TlsConn(upgradeSession(conn, options));
  await tls.handshake();
  return tls;
}

/**
 * Checks `options` and starts a TLS session (client, or server with
 * `isServer`) over the plain connection: what {@link upgrade} and
 * `upgradeSocket` share. Throws `INVALID_OPTION` (and the like) before it
 * touches `conn`.
 *
 * @example
 * ```ts
 * const tls = new TlsConn(upgradeSession(plain, { hostname: "mail.example" }));
 * ```
 */
export function upgradeSession(conn: PlainConn, options: UpgradeOptions): Session {
  if (options.head !== undefined && !(options.head instanceof Uint8Array)) {
    invalid("head", "a Uint8Array", options.head);
  }
  if (options.isServer) {
    checkCommon(options);
    const contextOptions = serverContext(options);
    validateContextOptions(contextOptions);
    const stream = wrapStream(conn, options.head, options.listenerHandlers);
    const context = new TlsContext(contextOptions);
    try {
      return serverSession(stream, context, options);
    } finally {
      context.free(); // freed for real when this session ends
    }
  }
  checkClient(options);
  const contextOptions = clientContext(options);
  validateContextOptions(contextOptions);
  const stream = wrapStream(conn, options.head, options.listenerHandlers);
  return clientSession(stream, sharedContext(contextOptions), options.hostname ?? "127.0.0.1", options);
}
