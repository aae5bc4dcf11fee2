/**
 * A client connection's part in session resumption: before the handshake it
 * offers a session (the caller's `session`, else one from the process's
 * cache); after it, it hands the sessions the server sends to the cache and
 * keeps the newest for `TlsConn.session`.
 *
 * @module
 */
import type { TlsContext } from "../engine/context.ts";
import type { TlsEngine } from "../engine/engine.ts";
import type { HandshakeInfo } from "../engine/info.ts";
import type { Addr } from "../transport/stream.ts";
import { type CachedSession, SessionCache } from "./session_cache.ts";

/** The process's client session cache. */
export const clientSessions: SessionCache = new SessionCache();

const contextIds = new WeakMap<TlsContext, number>();
let lastContextId = 0;

/**
 * The cache key of a server: a session is offered only to the server name and
 * address it came from, and only through the context it was made with — its
 * trust, verification and client certificate — so that resuming can never skip
 * a check that context would make.
 *
 * @example
 * ```ts
 * const key = serverKey(context, "example.com", "example.com", stream.remoteAddr);
 * ```
 */
export function serverKey(context: TlsContext, host: string, servername: string, remote: Addr): string {
  let id = contextIds.get(context);
  if (id === undefined) contextIds.set(context, id = ++lastContextId);
  const address = remote.transport === "unix" ? remote.path : `${host}:${remote.port}`;
  return `${id} ${servername} ${address}`;
}

/**
 * Resumption for one client connection.
 *
 * @example
 * ```ts
 * const resumption = new ClientResumption(engine, serverKey(context, host, servername, addr));
 * // … handshake …
 * resumption.handshakeDone(engine.info());
 * resumption.collect(); // after reads: TLS 1.3 tickets come after the handshake
 * ```
 */
export class ClientResumption {
  readonly #engine: TlsEngine;
  readonly #key: string | null;
  #offered: Uint8Array | null = null;
  #fromCache: CachedSession | null = null;
  /** The protocol's kind of session, once the handshake is done. */
  #tls13: boolean | null = null;
  #newest: Uint8Array | null = null;

  /** Offers `session`, else one cached for `key`; a null `key` leaves the cache alone. */
  constructor(engine: TlsEngine, key: string | null, session?: Uint8Array) {
    this.#engine = engine;
    this.#key = key;
    if (session === undefined && key !== null) this.#fromCache = clientSessions.take(key);
    // A ticket offered by hand is used up here: the cache must not offer it again (RFC 8446 C.4).
    else if (session !== undefined && key !== null) clientSessions.spend(key, session);
    const offer = session ?? this.#fromCache?.der;
    if (offer && engine.offerSession(offer)) this.#offered = offer;
  }

  /** After the handshake: settles what was offered and collects what came with it. */
  handshakeDone(info: HandshakeInfo): void {
    this.#tls13 = info.protocol === "TLSv1.3";
    const cached = this.#fromCache;
    if (cached && !cached.tls13 && !info.resumed) clientSessions.forget(this.#key!, cached.der);
    // A resumed TLS 1.2 session serves again; TLS 1.3 servers send new tickets instead.
    if (info.resumed && !this.#tls13) this.#newest = this.#offered;
    this.collect();
  }

  /** Moves the sessions the server sent from the engine to the cache. Cheap when there are none. */
  collect(): void {
    if (this.#tls13 === null) return;
    while (this.#engine.pendingSessions > 0) {
      const der = this.#engine.takeSession();
      if (der === null) continue; // the shim dropped one it could not encode
      this.#newest = der;
      if (this.#key !== null) clientSessions.store(this.#key, der, this.#tls13);
    }
  }

  /** The newest session that can resume this connection's keys later (collected first), or null. */
  get newest(): Uint8Array | null {
    this.collect();
    return this.#newest;
  }
}
