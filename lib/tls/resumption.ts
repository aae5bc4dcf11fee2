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
import type { HeldSession } from "../engine/held_session.ts";
import { SessionCache } from "./session_cache.ts";

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
 * Releases the cached sessions made through `context`, which is being freed:
 * nothing could offer them again.
 *
 * @example
 * ```ts
 * forgetSessionsOf(context);
 * context.free();
 * ```
 */
export function forgetSessionsOf(context: TlsContext): void {
  const id = contextIds.get(context);
  if (id !== undefined) clientSessions.clear(`${id} `);
}

/**
 * Resumption for one client connection. Sessions stay native from the
 * engine to the cache and back ({@link HeldSession}); only
 * {@link ClientResumption.newest} encodes one, when a caller asks for bytes.
 *
 * @example
 * ```ts
 * const resumption = new ClientResumption(engine, context, serverKey(context, host, servername, addr));
 * // … handshake …
 * resumption.handshakeDone(engine.info());
 * resumption.collect(); // after reads: TLS 1.3 tickets come after the handshake
 * ```
 */
export class ClientResumption {
  readonly #engine: TlsEngine;
  /** The context the key names: once it is freed, nothing could offer what arrives. */
  readonly #context: TlsContext;
  readonly #key: string | null;
  /** The caller's session, when it was offered. */
  #offeredBytes: Uint8Array | null = null;
  /** The cache's TLS 1.2 session, one reference of ours until settled. */
  #tls12: HeldSession | null = null;
  #tls12Offered = false;
  /** The protocol's kind of session, once the handshake is done. */
  #tls13: boolean | null = null;
  #newest: HeldSession | Uint8Array | null = null;

  /** Offers `session`, else one cached for `key`; a null `key` leaves the cache alone. */
  constructor(engine: TlsEngine, context: TlsContext, key: string | null, session?: Uint8Array) {
    this.#engine = engine;
    this.#context = context;
    this.#key = key;
    if (session !== undefined) {
      // A ticket offered by hand is used up here: the cache must not offer it again (RFC 8446 C.4).
      if (key !== null) clientSessions.spend(key, session);
      if (engine.offerSession(session)) this.#offeredBytes = session;
      return;
    }
    const cached = key === null ? null : clientSessions.take(key);
    if (cached === null) return;
    const offered = engine.offerHeldSession(cached.session);
    if (cached.tls13) {
      cached.session.release(); // the engine holds its own reference; a ticket serves once
    } else {
      this.#tls12 = cached.session;
      this.#tls12Offered = offered;
    }
  }

  /** After the handshake: settles what was offered and collects what came with it. */
  handshakeDone(info: HandshakeInfo): void {
    this.#tls13 = info.protocol === "TLSv1.3";
    const tls12 = this.#tls12;
    this.#tls12 = null;
    if (tls12 && !info.resumed) clientSessions.forget(this.#key!, tls12);
    // A resumed TLS 1.2 session serves again; TLS 1.3 servers send new tickets instead.
    const again = info.resumed && !this.#tls13 ? (this.#tls12Offered ? tls12 : this.#offeredBytes) : null;
    if (tls12 !== again) tls12?.release();
    this.#newest = again;
    this.collect();
  }

  /** Moves the sessions the server sent from the engine to the cache. Cheap when there are none. */
  collect(): void {
    if (this.#tls13 === null) return;
    for (let held; (held = this.#engine.takeHeldSession()) !== null;) {
      this.#settle(this.#newest);
      this.#newest = held;
      if (this.#key !== null && !this.#context.freed) {
        clientSessions.store(this.#key, held.retain(), this.#tls13);
      }
    }
  }

  /**
   * The connection closes: collects what came last and keeps the newest session
   * as bytes (still readable as {@link newest}), so that no native session
   * outlives the connection's close.
   */
  end(): void {
    this.collect();
    const newest = this.#newest;
    if (newest === null || newest instanceof Uint8Array) return;
    this.#newest = newest.der;
    newest.release();
  }

  /** The newest session that can resume this connection's keys later (collected first), or null. */
  get newest(): Uint8Array | null {
    this.collect();
    const newest = this.#newest;
    return newest === null || newest instanceof Uint8Array ? newest : newest.der;
  }

  #settle(session: HeldSession | Uint8Array | null): void {
    if (session !== null && !(session instanceof Uint8Array)) session.release();
  }
}
