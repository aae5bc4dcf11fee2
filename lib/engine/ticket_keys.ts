/**
 * Session ticket keys: what a server encrypts its resumption tickets with.
 * Several processes that share one key set (a `reusePort` cluster, servers
 * behind one load balancer) resume each other's sessions.
 *
 * A key is {@link TICKET_KEY_BYTES} (80) bytes: a 16-byte name (sent in the
 * clear in each ticket), a 32-byte HMAC-SHA256 key and a 32-byte AES-256-CBC
 * key. A key set is one key (the current: it encrypts new tickets) or two, the
 * current then the previous (which only decrypts: a ticket under it resumes,
 * and the client gets a new ticket under the current key). A ticket under
 * neither gets a full handshake, never an error.
 *
 * Rotation: giving one new key makes the current key the previous. A server
 * that made its own keys rotates them every `ticketKeyRotation` seconds
 * (default 12 hours); keys given by `ticketKeys` rotate only when told to
 * (`setTicketKeys`), so that every process of a cluster holds the same set.
 *
 * @module
 */
import { shim } from "../../ffi/mod.ts";
import type { Handle } from "../../ffi/mod.ts";
import { invalid } from "./validate.ts";

/** The length of one ticket key: name 16 + HMAC 32 + AES 32 bytes. */
export const TICKET_KEY_BYTES = 80;

/** The default rotation period of keys a server made itself, in seconds: 12 hours. */
export const DEFAULT_TICKET_KEY_ROTATION = 12 * 60 * 60;

/** The ticket options of a server context. */
export interface TicketKeyOptions {
  /**
   * Server: the session ticket keys, {@link TICKET_KEY_BYTES} bytes (the
   * current key) or twice that (the current, then the previous). Give every
   * process of a cluster the same. Default: random keys of the server's own.
   */
  ticketKeys?: Uint8Array;
  /**
   * Server: seconds between automatic rotations of the ticket keys; 0 never.
   * Default 43200 (12 h) for keys the server made itself, 0 with `ticketKeys`.
   * A ticket stays valid for up to two periods (one under the previous key).
   */
  ticketKeyRotation?: number;
}

/**
 * Throws `INVALID_OPTION` unless `keys` is one or two ticket keys.
 *
 * @example
 * ```ts
 * checkTicketKeys("ticketKeys", crypto.getRandomValues(new Uint8Array(80)));
 * ```
 */
export function checkTicketKeys(name: string, keys: unknown): asserts keys is Uint8Array {
  if (
    !(keys instanceof Uint8Array) ||
    (keys.length !== TICKET_KEY_BYTES && keys.length !== 2 * TICKET_KEY_BYTES)
  ) {
    invalid(name, `${TICKET_KEY_BYTES} or ${2 * TICKET_KEY_BYTES} bytes (a Uint8Array)`, keys);
  }
}

/**
 * Throws `INVALID_OPTION` for bad ticket options; `server` and `resumption`
 * are the context's (tickets are a resuming server's).
 *
 * @example
 * ```ts
 * checkTicketOptions({ ticketKeyRotation: 3600 }, true, true);
 * ```
 */
export function checkTicketOptions(o: TicketKeyOptions, server: boolean, resumption: boolean): void {
  if (o.ticketKeys === undefined && o.ticketKeyRotation === undefined) return;
  if (!server || !resumption) {
    invalid("ticketKeys", "options of a server that resumes sessions", o.ticketKeys);
  }
  if (o.ticketKeys !== undefined) checkTicketKeys("ticketKeys", o.ticketKeys);
  const period = o.ticketKeyRotation;
  if (period !== undefined && (!Number.isInteger(period) || period < 0 || period > 0x7fffffff)) {
    invalid("ticketKeyRotation", "a whole number of seconds, 0 or more", period);
  }
}

/**
 * Gives a server context its ticket keys: `o.ticketKeys`, or random ones of its own.
 * Returns the shim's status.
 *
 * @example
 * ```ts
 * check(useTicketKeys(handle, { ticketKeyRotation: 3600 }));
 * ```
 */
export function useTicketKeys(h: Handle, o: TicketKeyOptions): number {
  const keys = o.ticketKeys ?? null;
  return shim.jsec_ctx_ticket_keys(h, keys, keys?.length ?? 0, rotationOf(o));
}

/**
 * The rotation period of a server's ticket keys, in seconds (0: never): the
 * option, else 12 hours for keys of its own and never for given ones.
 *
 * @example
 * ```ts
 * rotationOf({}); // 43200
 * ```
 */
export function rotationOf(o: TicketKeyOptions): number {
  return o.ticketKeyRotation ?? (o.ticketKeys ? 0 : DEFAULT_TICKET_KEY_ROTATION);
}

/**
 * Replaces a server context's ticket keys, keeping its rotation period: one
 * key makes the current one the previous; two replace both.
 *
 * @example
 * ```ts
 * check(setTicketKeys(handle, crypto.getRandomValues(new Uint8Array(80))));
 * ```
 */
export function setTicketKeys(h: Handle, keys: unknown, period: number): number {
  checkTicketKeys("keys", keys);
  return shim.jsec_ctx_ticket_keys(h, keys, keys.length, period);
}

/**
 * A server context's ticket keys: the current, then the previous if any (after
 * any rotation due). Empty when the context has none (resumption off).
 *
 * @example
 * ```ts
 * const keys = getTicketKeys(handle); // 80 or 160 bytes
 * ```
 */
export function getTicketKeys(h: Handle): Uint8Array {
  const keys = new Uint8Array(2 * TICKET_KEY_BYTES);
  const length = shim.jsec_ctx_ticket_keys_get(h, keys, keys.length);
  return keys.slice(0, Math.max(0, length));
}
