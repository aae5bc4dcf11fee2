/**
 * Turns the shim's error text and verify result into a {@link TlsError}.
 *
 * OpenSSL's reason strings ("wrong version number", "tlsv1 alert unknown ca")
 * are the same in 1.1.1 and 3.x, unlike its numeric codes, so we match them.
 *
 * @module
 */
import { TlsError, type TlsErrorCode } from "../errors.ts";

/** X509_V_ERR_* results and the codes they map to. */
const verifyCodes: Record<number, TlsErrorCode> = {
  2: "CERT_UNTRUSTED", // unable to get issuer certificate
  18: "CERT_UNTRUSTED", // self-signed certificate
  19: "CERT_UNTRUSTED", // self-signed certificate in chain
  20: "CERT_UNTRUSTED", // unable to get local issuer certificate
  21: "CERT_UNTRUSTED", // unable to verify the first certificate
  9: "CERT_NOT_YET_VALID",
  10: "CERT_EXPIRED",
  23: "CERT_REVOKED",
  62: "HOSTNAME_MISMATCH",
  64: "HOSTNAME_MISMATCH", // IP address mismatch
};

/** Reason fragments, most specific first. */
const reasonCodes: [RegExp, TlsErrorCode][] = [
  [/unexpected eof/, "UNEXPECTED_EOF"],
  [
    /alert protocol version|unsupported protocol|no protocols available|version too low|unsupported version|inappropriate fallback/,
    "PROTOCOL_VERSION",
  ],
  [
    /alert (unknown ca|bad certificate|certificate unknown|certificate expired|certificate revoked|unsupported certificate|access denied)/,
    "CERT_REJECTED",
  ],
  [/no application protocol/, "ALPN_MISMATCH"], // the alert (client) or our own refusal (server)
  [
    /no shared cipher|no cipher match|no suitable key share|no shared groups|no shared signature algorithms|insufficient security/,
    "NO_SHARED_CIPHER",
  ],
  [/peer did not return a certificate|certificate required/, "CERT_REQUIRED"],
  [/alert handshake failure/, "HANDSHAKE_FAILED"],
  [/ech required/, "ECH_REJECTED"], // our client's own verdict (or the alert, on a server)
  [/bad decrypt|maybe wrong password|bad password|unable to get passphrase/, "BAD_PASSPHRASE"],
  [/key values mismatch|key does not match/, "KEY_MISMATCH"],
  [/^key URI unsupported/, "UNSUPPORTED"],
  [/^no private key at the key URI/, "NOT_FOUND"],
  [
    /no start line|bad base64|no certificate in|cannot read key|asn1|header too long|bad end line/i,
    "INVALID_PEM",
  ],
];

/**
 * The error for a peer certificate that failed verification with `verifyResult`
 * (an `X509_V_ERR_*` number): what a handshake that enforces verification
 * fails with, and what one that does not (`rejectUnauthorized: false`) reports.
 *
 * @example
 * ```ts
 * const info = await conn.handshake();
 * if (!info.verified && info.verifyResult !== 0) console.log(verifyError(info.verifyResult).code);
 * ```
 */
export function verifyError(
  verifyResult: number,
  why = `X.509 error ${verifyResult}`,
  reason = why,
): TlsError {
  return new TlsError(
    verifyCodes[verifyResult] ?? "CERT_INVALID",
    `certificate verification failed: ${why}`,
    {
      reason,
      verifyResult,
    },
  );
}

/**
 * The error for a failed shim call.
 *
 * @param text the shim's error text (`jsec_error`)
 * @param verifyResult the session's X.509 verify result (0 when it passed)
 */
export function tlsErrorFrom(text: string, verifyResult = 0): TlsError {
  if (verifyResult !== 0 && /certificate verify failed/.test(text)) {
    return verifyError(verifyResult, text.replace(/^certificate verify failed: /, ""), text);
  }
  if (/invalid status response/.test(text)) {
    const revoked = verifyResult === 23; // X509_V_ERR_CERT_REVOKED, set by the shim's OCSP check
    return new TlsError(
      revoked ? "CERT_REVOKED" : "CERT_INVALID",
      revoked
        ? "the server's stapled OCSP response says its certificate is revoked"
        : "the server sent no valid, current, good stapled OCSP response (`requireOcsp: true`)",
      { reason: text, verifyResult },
    );
  }
  // Not a verification failure: a verify result kept from the handshake (with
  // verification off) says nothing about this error, so it is left out.
  for (const [pattern, code] of reasonCodes) {
    if (pattern.test(text)) return new TlsError(code, text, { reason: text });
  }
  return new TlsError("PROTOCOL_ERROR", text, { reason: text });
}

/** Codes about local input (a PEM, a key, its passphrase): a failure on the wire is never one of them. */
const localCodes: ReadonlySet<TlsErrorCode> = new Set(["INVALID_PEM", "BAD_PASSPHRASE", "KEY_MISMATCH"]);

/**
 * The error for a failed session call (handshake, read, write): as
 * {@link tlsErrorFrom}, except that what the peer sent is never reported as a
 * local-input problem. OpenSSL gives a peer's malformed certificate the same
 * ASN.1 reasons as a malformed local PEM; here it is `CERT_INVALID`, and
 * other undecodable input `PROTOCOL_ERROR`.
 *
 * @example
 * ```ts
 * throw sessionErrorFrom(lastError(), shim.jsec_verify_result(handle));
 * ```
 */
export function sessionErrorFrom(text: string, verifyResult = 0): TlsError {
  const error = tlsErrorFrom(text, verifyResult);
  if (!localCodes.has(error.code)) return error;
  const certificate = /asn1|header too long|certificate/i.test(text);
  return new TlsError(
    certificate ? "CERT_INVALID" : "PROTOCOL_ERROR",
    `${certificate ? "the peer's certificate is malformed" : "the peer sent malformed data"}: ${text}`,
    { reason: text, verifyResult },
  );
}
