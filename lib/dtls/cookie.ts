/**
 * The secret DTLS listeners make their cookies with (RFC 6347 §4.2.1): a
 * cookie is an HMAC of the client's address under it, so the listener keeps no
 * state for a client until it proves it receives at that address.
 *
 * @module
 */
import { lastError, shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";

/**
 * Replaces the cookie secret now. It also changes by itself every 60 s, and a
 * cookie made under the secret just before the current one still passes, so a
 * client in the middle of the exchange is not turned away; one made before
 * that does not (the client gets a new cookie and asks again). Call it when
 * the secret may have leaked (twice ends the old one's grace at once). The
 * secret is shared by every DTLS listener on this thread (each Worker has its
 * own). Throws `INTERNAL` if OpenSSL has no random bytes to give.
 *
 * @example
 * ```ts
 * import { rotateCookieSecret } from "@jsec/tls/dtls";
 * rotateCookieSecret(); // cookies handed out so far pass until the next change
 * ```
 */
export function rotateCookieSecret(): void {
  if (shim.jsec_dtls_cookie_rotate() !== 0) throw new TlsError("INTERNAL", lastError());
}
