/**
 * The one error type of @jsec/tls. Every layer above ffi/ may import it (ffi/ installs it through failure.ts).
 *
 * @module
 */
import { onShimUnavailable } from "../ffi/failure.ts";

/**
 * Every `TlsError.code`, a closed list. Codes are stable across releases.
 *
 * | code | meaning |
 * | --- | --- |
 * | `CERT_UNTRUSTED` | the peer's chain does not lead to a trusted root |
 * | `CERT_EXPIRED` | a certificate in the peer's chain has expired |
 * | `CERT_NOT_YET_VALID` | a certificate in the peer's chain is not valid yet |
 * | `CERT_REVOKED` | a certificate in the peer's chain is revoked |
 * | `CERT_INVALID` | the peer's certificate failed verification for another reason |
 * | `HOSTNAME_MISMATCH` | the certificate does not name the host we connected to |
 * | `CERT_REQUIRED` | a certificate is required and none was sent (by the peer, or by us: the server's alert) |
 * | `CERT_REJECTED` | the peer rejected our certificate (alert from the peer) |
 * | `PROTOCOL_VERSION` | no TLS version both sides accept |
 * | `NO_SHARED_CIPHER` | no cipher suite or key-exchange group both sides accept |
 * | `ALPN_MISMATCH` | no application protocol both sides accept |
 * | `HANDSHAKE_FAILED` | the peer aborted the handshake (a handshake_failure alert or similar) |
 * | `PROTOCOL_ERROR` | the peer sent bytes that are not valid TLS |
 * | `HANDSHAKE_TIMEOUT` | the handshake did not finish in `handshakeTimeout` ms |
 * | `UNEXPECTED_EOF` | the peer closed the connection without close_notify (truncation) |
 * | `CONNECTION_RESET` | the transport failed (reset, broken pipe) |
 * | `CONNECTION_FAILED` | the TCP connection could not be opened |
 * | `CLOSED` | the connection or listener is closed |
 * | `BUSY` | another read (or write) is already in flight on this connection |
 * | `ABORTED` | the `signal` passed in the options aborted the operation |
 * | `INVALID_OPTION` | an option has the wrong type or value |
 * | `INVALID_PEM` | a certificate or key is not valid PEM or is not what it claims |
 * | `BAD_PASSPHRASE` | an encrypted key could not be decrypted with the passphrase |
 * | `KEY_MISMATCH` | the private key does not belong to the certificate |
 * | `BAD_SIGNATURE` | a signed object (CSR, CRL, OCSP response) fails its signature check |
 * | `NOT_FOUND` | the CA has no certificate with that serial (or no such file), or a key URI names no key (no such token or object) |
 * | `CA_CORRUPT` | a CA directory is missing files, unreadable or not a jsec CA |
 * | `CA_EXISTS` | `ca init` on a directory that already holds a CA |
 * | `CA_LOCKED` | another process holds the CA directory's lock for too long |
 * | `SHIM_UNAVAILABLE` | the native shim could not be found, built or loaded |
 * | `INTERNAL` | a bug in @jsec/tls: please report it |
 * | `PSK_MISMATCH` | no pre-shared key both sides hold: the keys differ, or the server does not know the identity |
 * | `MESSAGE_TOO_LARGE` | DTLS: a message does not fit in one record under the path MTU (never split) |
 * | `ECH_REJECTED` | the server did not accept our Encrypted Client Hello (a stale or unknown `echConfigList`); see `echRetryConfigs` |
 * | `UNSUPPORTED` | the loaded libssl lacks the feature asked for (ECH before OpenSSL 4.0, key URIs on 1.1.1, no pkcs11 provider) |
 */
export type TlsErrorCode =
  | "CERT_UNTRUSTED"
  | "CERT_EXPIRED"
  | "CERT_NOT_YET_VALID"
  | "CERT_REVOKED"
  | "CERT_INVALID"
  | "HOSTNAME_MISMATCH"
  | "CERT_REQUIRED"
  | "CERT_REJECTED"
  | "PROTOCOL_VERSION"
  | "NO_SHARED_CIPHER"
  | "ALPN_MISMATCH"
  | "HANDSHAKE_FAILED"
  | "PROTOCOL_ERROR"
  | "HANDSHAKE_TIMEOUT"
  | "UNEXPECTED_EOF"
  | "CONNECTION_RESET"
  | "CONNECTION_FAILED"
  | "CLOSED"
  | "BUSY"
  | "ABORTED"
  | "INVALID_OPTION"
  | "INVALID_PEM"
  | "BAD_PASSPHRASE"
  | "KEY_MISMATCH"
  | "BAD_SIGNATURE"
  | "NOT_FOUND"
  | "CA_CORRUPT"
  | "CA_EXISTS"
  | "CA_LOCKED"
  | "SHIM_UNAVAILABLE"
  | "INTERNAL"
  | "PSK_MISMATCH"
  | "MESSAGE_TOO_LARGE"
  | "ECH_REJECTED"
  | "UNSUPPORTED";

/** Details that come with a {@link TlsError}. */
export interface TlsErrorDetails {
  /** OpenSSL's own reason text, when OpenSSL reported the failure. */
  reason?: string;
  /** The X.509 verification result (`X509_V_ERR_*` number) when verification failed. */
  verifyResult?: number;
  /** The underlying error, e.g. the runtime's socket error. */
  cause?: unknown;
  /** `ECH_REJECTED`: the ECHConfigList the server sent to retry with. */
  echRetryConfigs?: Uint8Array;
}

/**
 * An error from @jsec/tls. Branch on `code`; show `message`.
 *
 * @example
 * ```ts
 * import { connect, TlsError } from "@jsec/tls";
 * try {
 *   await connect({ hostname: "self-signed.example", port: 443 });
 * } catch (e) {
 *   if (e instanceof TlsError && e.code === "CERT_UNTRUSTED") console.log("untrusted:", e.reason);
 * }
 * ```
 */
export class TlsError extends Error {
  /** What went wrong, from the closed list {@link TlsErrorCode}. */
  readonly code: TlsErrorCode;
  /** OpenSSL's reason text, when OpenSSL reported the failure. */
  readonly reason?: string;
  /** The X.509 verification result when certificate verification failed. */
  readonly verifyResult?: number;
  /**
   * `ECH_REJECTED`: the ECHConfigList the server sent to retry with, when it
   * sent one; connect again with it as `echConfigList` (RFC 9849 §6.1.6).
   */
  readonly echRetryConfigs?: Uint8Array;

  /** Makes an error with a code from the closed list; `details` adds OpenSSL's reason and more. */
  constructor(code: TlsErrorCode, message: string, details: TlsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "TlsError";
    this.code = code;
    if (details.reason !== undefined) this.reason = details.reason;
    if (details.verifyResult !== undefined) this.verifyResult = details.verifyResult;
    if (details.echRetryConfigs !== undefined) this.echRetryConfigs = details.echRetryConfigs;
  }
}

// ffi/ cannot import this module (it sits below lib/): it throws what we install here.
onShimUnavailable((message, cause) => new TlsError("SHIM_UNAVAILABLE", message, { cause }));
