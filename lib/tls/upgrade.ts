/**
 * `upgrade`: STARTTLS over a connection that began in plaintext, as the
 * client (default) or as the server.
 *
 * @module
 */
import { TlsContext } from "../engine/context.ts";
import { invalid } from "../engine/validate.ts";
import { type PlainConn, wrapStream } from "../transport/open.ts";
import { TlsConn } from "./conn.ts";
import { sharedContext, validated } from "./contexts.ts";
import {
  checkClient,
  checkCommon,
  clientContext,
  type ClientOptions,
  serverContext,
  type ServerOptions,
} from "./options.ts";
import { givenContext } from "./secure_context.ts";
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
 *
 * A server that upgrades many connections builds its context once with
 * `createSecureContext({ isServer: true, cert, key })` and passes it as
 * `secureContext`: clients then resume their sessions (one context per call
 * would make every handshake a full one).
 *
 * @example
 * ```ts
 * import { createSecureContext, upgrade } from "@jsec/tls";
 * const secureContext = createSecureContext({ isServer: true, cert, key });
 * const tls = await upgrade(plain, { isServer: true, secureContext });
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
    const given = givenContext(options, { isServer: true, datagram: false, call: "upgrade({ isServer })" });
    const contextOptions = given ? undefined : validated(serverContext(options));
    const stream = wrapStream(conn, options.head, options.listenerHandlers);
    const context = given?.engineContext ?? new TlsContext(contextOptions);
    try {
      return serverSession(stream, context, options);
    } finally {
      if (!given) context.free(); // freed for real when this session ends
    }
  }
  checkClient(options);
  const context =
    givenContext(options, { isServer: false, datagram: false, call: "upgrade" })?.engineContext ??
      sharedContext(validated(clientContext(options)));
  const stream = wrapStream(conn, options.head, options.listenerHandlers);
  return clientSession(stream, context, options.hostname ?? "127.0.0.1", options);
}
