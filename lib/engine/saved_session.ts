/**
 * Saved TLS sessions, as {@link TlsEngine.takeSession} gives them: DER
 * `SSL_SESSION` bytes that resume a connection's keys. Checked here, before
 * any I/O, so that a bad one fails at the call.
 *
 * @module
 */
import { lastError, shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { invalid } from "./validate.ts";

/**
 * Throws `INVALID_OPTION` unless `der` is a saved session OpenSSL can resume.
 *
 * @example
 * ```ts
 * checkSavedSession("session", options.session); // before connecting
 * ```
 */
export function checkSavedSession(name: string, der: unknown): asserts der is Uint8Array {
  if (!(der instanceof Uint8Array) || der.length === 0) invalid(name, "a saved session's bytes", der);
  if (shim.jsec_session_check(der, der.length) < 0) {
    throw new TlsError("INVALID_OPTION", `\`${name}\` is not a saved TLS session: ${lastError()}`);
  }
}
