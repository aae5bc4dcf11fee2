/**
 * The client session cache: the sessions servers sent, kept per server so
 * that the next connection resumes. In memory, per process, bounded: the
 * least recently used servers go first. Sessions are held natively
 * ({@link HeldSession}) and released when they leave. A TLS 1.3 ticket is
 * offered once (RFC 8446 C.4: reuse lets an observer link connections); a
 * TLS 1.2 session serves until the server stops resuming it.
 *
 * @module
 */
import type { HeldSession } from "../engine/held_session.ts";

/** A session from the cache, as offered: one reference, now the taker's to release. */
export interface CachedSession {
  /** The saved session. */
  session: HeldSession;
  /** A TLS 1.3 ticket (used once) rather than a TLS 1.2 session. */
  tls13: boolean;
}

interface Entry {
  tickets: HeldSession[]; // TLS 1.3, oldest first
  tls12: HeldSession | null;
}

/**
 * Saved sessions by server key. Keys must say everything a session depends on
 * (see `lib/tls/resumption.ts`): a session offered elsewhere could skip checks.
 *
 * @example
 * ```ts
 * const cache = new SessionCache();
 * cache.store("ctx1 example.com:443", held, true); // the cache now owns this reference
 * const offer = cache.take("ctx1 example.com:443"); // { session: held, tls13: true }, now gone
 * offer?.session.release();
 * ```
 */
export class SessionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxServers: number;
  readonly #ticketsPerServer: number;

  /** At most `maxServers` servers, `ticketsPerServer` TLS 1.3 tickets each (as rustls). */
  constructor(maxServers = 256, ticketsPerServer = 8) {
    this.#maxServers = maxServers;
    this.#ticketsPerServer = ticketsPerServer;
  }

  /** A session to offer to `key`: the newest TLS 1.3 ticket, taken out, else the TLS 1.2 session. */
  take(key: string): CachedSession | null {
    const entry = this.#touch(key);
    if (!entry) return null;
    const ticket = entry.tickets.pop();
    if (!ticket) return entry.tls12 ? { session: entry.tls12.retain(), tls13: false } : null;
    this.#dropIfEmpty(key, entry);
    return { session: ticket, tls13: true };
  }

  /** Keeps a session `key` sent, taking over the caller's reference: TLS 1.3 tickets gather, a TLS 1.2 session replaces the last. */
  store(key: string, session: HeldSession, tls13: boolean): void {
    const entry = this.#touch(key) ?? { tickets: [], tls12: null };
    if (tls13) {
      entry.tickets.push(session);
      if (entry.tickets.length > this.#ticketsPerServer) entry.tickets.shift()!.release();
    } else {
      entry.tls12?.release();
      entry.tls12 = session;
    }
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#maxServers) this.#drop(this.#entries.keys().next().value!);
  }

  /** Drops the TLS 1.2 session `session` of `key`: the server did not resume it. */
  forget(key: string, session: HeldSession): void {
    const entry = this.#entries.get(key);
    if (entry?.tls12 !== session) return;
    entry.tls12 = null;
    session.release();
    this.#dropIfEmpty(key, entry);
  }

  /**
   * Drops the ticket with the bytes of `der` from `key`'s: it was offered by
   * other means, and a ticket serves once. Only tickets whose bytes were
   * handed out (`TlsConn.session`) can be given back that way.
   */
  spend(key: string, der: Uint8Array): void {
    const entry = this.#entries.get(key);
    const i = entry?.tickets.findIndex((ticket) => sameBytes(ticket.encoded, der)) ?? -1;
    if (i < 0) return;
    entry!.tickets.splice(i, 1)[0].release();
    this.#dropIfEmpty(key, entry!);
  }

  /** Forgets every session, or those whose key starts with `prefix`. */
  clear(prefix = ""): void {
    for (const key of [...this.#entries.keys()]) if (key.startsWith(prefix)) this.#drop(key);
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key)!;
    this.#entries.delete(key);
    for (const ticket of entry.tickets) ticket.release();
    entry.tls12?.release();
  }

  #dropIfEmpty(key: string, entry: Entry): void {
    if (entry.tickets.length === 0 && entry.tls12 === null) this.#entries.delete(key);
  }

  /** The entry of `key`, moved to the most recently used end. */
  #touch(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }
}

function sameBytes(a: Uint8Array | null, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
