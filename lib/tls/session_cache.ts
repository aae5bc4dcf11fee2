/**
 * The client session cache: the sessions servers sent, kept per server so
 * that the next connection resumes. In memory, per process, bounded: the
 * least recently used servers go first. A TLS 1.3 ticket is offered once
 * (RFC 8446 C.4: reuse lets an observer link connections); a TLS 1.2
 * session serves until the server stops resuming it.
 *
 * @module
 */

/** A session from the cache, as offered. */
export interface CachedSession {
  /** The saved session, DER. */
  der: Uint8Array;
  /** A TLS 1.3 ticket (used once) rather than a TLS 1.2 session. */
  tls13: boolean;
}

interface Entry {
  tickets: Uint8Array[]; // TLS 1.3, oldest first
  tls12: Uint8Array | null;
}

/**
 * Saved sessions by server key. Keys must say everything a session depends on
 * (see `lib/tls/resumption.ts`): a session offered elsewhere could skip checks.
 *
 * @example
 * ```ts
 * const cache = new SessionCache();
 * cache.store("ctx1 example.com:443", der, true);
 * const offer = cache.take("ctx1 example.com:443"); // { der, tls13: true }, now gone
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
    if (!ticket) return entry.tls12 ? { der: entry.tls12, tls13: false } : null;
    this.#dropIfEmpty(key, entry);
    return { der: ticket, tls13: true };
  }

  /** Keeps a session `key` sent: TLS 1.3 tickets gather, a TLS 1.2 session replaces the last. */
  store(key: string, der: Uint8Array, tls13: boolean): void {
    const entry = this.#touch(key) ?? { tickets: [], tls12: null };
    if (tls13) {
      entry.tickets.push(der);
      if (entry.tickets.length > this.#ticketsPerServer) entry.tickets.shift();
    } else {
      entry.tls12 = der;
    }
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#maxServers) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** Drops the TLS 1.2 session `der` of `key`: the server did not resume it. */
  forget(key: string, der: Uint8Array): void {
    const entry = this.#entries.get(key);
    if (entry?.tls12 !== der) return;
    entry.tls12 = null;
    this.#dropIfEmpty(key, entry);
  }

  /** Drops the ticket with the bytes of `der` from `key`'s: it was offered by other means, and a ticket serves once. */
  spend(key: string, der: Uint8Array): void {
    const entry = this.#entries.get(key);
    const i = entry?.tickets.findIndex((ticket) => sameBytes(ticket, der)) ?? -1;
    if (i < 0) return;
    entry!.tickets.splice(i, 1);
    this.#dropIfEmpty(key, entry!);
  }

  /** Forgets every session. */
  clear(): void {
    this.#entries.clear();
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

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
