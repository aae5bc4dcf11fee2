/**
 * Saved TLS sessions kept native: a counted reference to OpenSSL's
 * `SSL_SESSION`, offered again without parsing. Decoding a saved session's
 * DER decodes its server certificate too, which cost about a quarter of a
 * resumed handshake; a held session pays that once, when the server sent it.
 *
 * @module
 */
import { lastError, shim } from "../../ffi/mod.ts";
import type { Handle } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";

const registry = new FinalizationRegistry<Handle>((h) => shim.jsec_held_free(h));

/**
 * One saved session, held by any number of owners: each {@link retain} is
 * matched by a {@link release}, and the last release frees the native
 * reference (the garbage collector frees it if an owner forgets). Its DER,
 * for callers that keep sessions as bytes, is encoded on first use.
 *
 * @example
 * ```ts
 * import { TlsEngine } from "@jsec/tls/engine";
 * const held = first.takeHeldSession(); // after an earlier connection's reads
 * if (held) next.offerHeldSession(held);
 * held?.release();
 * ```
 */
export class HeldSession {
  #handle: Handle | null;
  #owners = 1;
  #der: Uint8Array | null = null;

  /** Takes over `handle` (from `jsec_held_take`), owned once by the caller. */
  constructor(handle: Handle) {
    this.#handle = handle;
    registry.register(this, handle, this);
  }

  /** The native reference, for the shim. Throws `CLOSED` once freed. */
  get handle(): Handle {
    if (this.#handle === null) throw new TlsError("CLOSED", "the saved session was freed");
    return this.#handle;
  }

  /** The DER bytes, encoded once (a saved session is a secret: keep it as a password). */
  get der(): Uint8Array {
    if (this.#der !== null) return this.#der;
    const length = shim.jsec_held_der(this.handle, null, 0);
    const der = new Uint8Array(Math.max(length, 0));
    if (length < 0 || shim.jsec_held_der(this.handle, der, length) !== length) {
      throw new TlsError("INTERNAL", `cannot encode a saved session: ${lastError()}`);
    }
    return this.#der = der;
  }

  /** The DER bytes if {@link der} was ever asked for, else null. */
  get encoded(): Uint8Array | null {
    return this.#der;
  }

  /** One more owner; returns this. */
  retain(): this {
    this.#owners++;
    return this;
  }

  /** One owner fewer: the last frees the native reference. */
  release(): void {
    if (this.#handle === null || --this.#owners > 0) return;
    registry.unregister(this);
    shim.jsec_held_free(this.#handle);
    this.#handle = null;
  }
}
