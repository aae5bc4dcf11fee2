/**
 * Pre-shared keys: TLS 1.3 external PSKs and TLS 1.2 PSK cipher suites. Both
 * sides know a secret key under a name (the identity); the handshake proves
 * it, with no certificate needed.
 *
 * @module
 */
import { cString, readText, shim } from "../../ffi/mod.ts";
import type { Handle } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { invalid } from "./validate.ts";

/** A pre-shared key and the identity it is known by. */
export interface PskKey {
  /** The key's name, sent in clear in the handshake: 1 to 128 bytes of UTF-8. */
  identity: string;
  /** The secret: 1 to 256 bytes (32 random bytes is a good choice). Keep it as you would a private key. */
  key: Uint8Array;
}

const MAX_IDENTITY = 128, MAX_KEY = 256;

/**
 * Server: the key of a TLS 1.3 PSK identity the `psk` list lacks, or null for
 * none, now or as a promise: the handshake waits for it (within its timeout).
 */
export type PskLookup = (identity: string) => Uint8Array | null | Promise<Uint8Array | null>;

/** The keys of a `psk` option, as a list. */
function pskList(psk: PskKey | PskKey[]): PskKey[] {
  return Array.isArray(psk) ? psk : [psk];
}

/**
 * Throws `INVALID_OPTION` unless `psk` is one {@link PskKey} (a client) or a
 * list of them with distinct identities (a server).
 *
 * @example
 * ```ts
 * checkPsk({ identity: "sensor-7", key: crypto.getRandomValues(new Uint8Array(32)) }, false);
 * ```
 */
export function checkPsk(psk: unknown, isServer: boolean): asserts psk is PskKey | PskKey[] {
  if (Array.isArray(psk) && !isServer) {
    invalid("psk", "one { identity, key } (a client has one PSK)", psk);
  }
  const list = (Array.isArray(psk) ? psk : [psk]) as unknown[];
  if (list.length === 0) invalid("psk", "at least one { identity, key }", psk);
  const seen = new Set<string>();
  for (const entry of list) {
    const { identity, key } = (entry ?? {}) as Partial<PskKey>;
    const bytes = typeof identity === "string" ? new TextEncoder().encode(identity).length : 0;
    if (bytes < 1 || bytes > MAX_IDENTITY || identity!.includes("\0")) {
      invalid("psk identity", `a string of 1 to ${MAX_IDENTITY} bytes`, identity);
    }
    if (!(key instanceof Uint8Array) || key.length < 1 || key.length > MAX_KEY) {
      invalid("psk key", `a Uint8Array of 1 to ${MAX_KEY} bytes`, key);
    }
    if (seen.has(identity!)) {
      throw new TlsError("INVALID_OPTION", `psk identity "${identity}" is given twice`);
    }
    seen.add(identity!);
  }
}

/**
 * Gives a native context its pre-shared keys (checked by {@link checkPsk} first).
 *
 * @example
 * ```ts
 * usePsk(context.handle, [{ identity: "sensor-7", key }]);
 * ```
 */
export function usePsk(context: Handle, psk: PskKey | PskKey[]): void {
  for (const { identity, key } of pskList(psk)) {
    if (shim.jsec_ctx_psk(context, cString(identity), key, key.length) < 0) {
      throw new TlsError("INVALID_OPTION", `psk "${identity}" refused`);
    }
  }
}

/** What a PSK handshake's failure looks like when the keys differ: a binder or Finished that does not verify. */
const wrongKey =
  /binder does not verify|alert illegal parameter|alert decrypt error|alert bad record mac|decryption failed or bad record mac|digest check failed/;
/** TLS 1.2's refusal of an identity a server does not know. */
const unknownIdentity = /psk identity not found|alert unknown psk identity/;
/** A TLS 1.3 server with no certificate to fall back on when no PSK matched. */
const nothingToFallBackOn = /no suitable signature algorithm|no shared cipher/;

/**
 * The error of a failed handshake on a context with pre-shared keys:
 * `PSK_MISMATCH` when it is the failure a wrong key or an unknown identity
 * causes, else `error` itself. `certless`: the context has no certificate.
 *
 * @example
 * ```ts
 * const error = pskFailure(tlsErrorFrom(lastError()), true);
 * ```
 */
export function pskFailure(error: TlsError, certless: boolean): TlsError {
  const reason = error.reason ?? "";
  const why = wrongKey.test(reason)
    ? "the peer's key for this identity differs"
    : unknownIdentity.test(reason) || (certless && nothingToFallBackOn.test(reason))
    ? "the server knows no key for this identity"
    : null;
  if (why === null || (error.code !== "PROTOCOL_ERROR" && error.code !== "NO_SHARED_CIPHER")) return error;
  return new TlsError("PSK_MISMATCH", `the PSK handshake failed: ${why} (${reason})`, { reason });
}

/**
 * Server: answers the shim's question (`JSEC_WANT_PSK`) with `lookup`'s key
 * for the identity the client offered: at once, or, when `lookup` returns a
 * promise, once it settles (the returned promise; nothing is answered when
 * `alive()` is false by then). A lookup that throws or rejects, or whose key
 * is not 1 to 256 bytes or null, fails the handshake.
 *
 * @example
 * ```ts
 * const later = answerPsk(session, async (identity) => await keyStore.get(identity), () => true);
 * if (later) await later; // then advance the handshake again
 * ```
 */
export function answerPsk(session: Handle, lookup: PskLookup, alive: () => boolean): Promise<void> | null {
  const identity = readText((buf, cap) => shim.jsec_psk_identity(session, buf, cap));
  const failed = (cause: unknown) =>
    new TlsError("HANDSHAKE_FAILED", `onPskIdentity("${identity}") failed: ${cause}`, { cause });
  let key: ReturnType<PskLookup>;
  try {
    key = lookup(identity);
  } catch (cause) {
    throw failed(cause);
  }
  if (!(key instanceof Promise)) return give(session, key);
  return key.then((k) => {
    if (alive()) give(session, k);
  }, (cause) => {
    throw failed(cause);
  });
}

function give(session: Handle, key: unknown): null {
  if (key !== null && !(key instanceof Uint8Array && key.length >= 1 && key.length <= MAX_KEY)) {
    throw new TlsError(
      "INVALID_OPTION",
      `onPskIdentity must give a Uint8Array of 1 to ${MAX_KEY} bytes or null`,
    );
  }
  if (shim.jsec_psk_answer(session, key, key?.length ?? 0) < 0) {
    throw new TlsError("INTERNAL", "the shim asked for no PSK");
  }
  return null;
}
