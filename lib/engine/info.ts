/**
 * What a handshake negotiated, as {@link TlsEngine.info} reports it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { EchInfo } from "./ech.ts";

/** One certificate the peer sent. */
export interface PeerCertificate {
  /** The certificate, DER. */
  der: Uint8Array;
  /** The same certificate, PEM. */
  pem: string;
}

/** The outcome of a handshake. */
export interface HandshakeInfo {
  /** "TLSv1.3" or "TLSv1.2". */
  protocol: string;
  /** The cipher suite, OpenSSL's name (e.g. "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256"). */
  cipher: string;
  /** The key-exchange group (e.g. "X25519", "X25519MLKEM768"), when the libssl can say. */
  group: string | null;
  /** The ALPN protocol both sides chose, or null. */
  alpnProtocol: string | null;
  /** The server name the client sent (SNI), or null. */
  servername: string | null;
  /** The peer's certificates, leaf first (empty when it sent none). */
  peerCertificates: PeerCertificate[];
  /** Whether the peer sent a certificate and it verified (chain and, for a client, host name). */
  verified: boolean;
  /** The X.509 verification result: 0 when it passed, else an `X509_V_ERR_*` number. */
  verifyResult: number;
  /** The stapled OCSP response (DER) the server sent (client) or sent out (server), or null. */
  ocspResponse: Uint8Array | null;
  /**
   * Whether the handshake resumed an earlier session (no certificate exchange:
   * the peer's certificate and its verification are the earlier handshake's).
   */
  resumed: boolean;
  /** The identity of the pre-shared key the handshake used (`psk`, `onPskIdentity`), or null. */
  pskIdentity: string | null;
  /**
   * TLS 1.2 renegotiations the server started and we followed (0 on a server:
   * it refuses them). A client follows at most 3 per 10 minutes, as Node does;
   * past that the server's request gets a `no_renegotiation` warning (a server
   * that insists, as OpenSSL's do, then ends the connection with
   * `HANDSHAKE_FAILED`). The other fields describe the latest handshake.
   */
  renegotiations: number;
  /** Encrypted Client Hello: whether it was accepted, and the inner and outer server names. */
  ech: EchInfo;
}

/**
 * Encodes DER as PEM.
 *
 * @example
 * ```ts
 * import { toPem } from "@jsec/tls/engine";
 * console.log(toPem(info.peerCertificates[0].der));
 * ```
 */
export function toPem(der: Uint8Array, label = "CERTIFICATE"): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.length).toString("base64");
  let body = "";
  for (let i = 0; i < base64.length; i += 64) body += base64.slice(i, i + 64) + "\n";
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/**
 * A {@link PeerCertificate} whose PEM is encoded on first use: every
 * handshake reads the peer's chain, few callers look at its PEM.
 *
 * @example
 * ```ts
 * const leaf = peerCertificate(der);
 * console.log(leaf.pem); // encoded now
 * ```
 */
export function peerCertificate(der: Uint8Array): PeerCertificate {
  let pem: string | undefined;
  return Object.defineProperty({ der } as PeerCertificate, "pem", {
    get: () => pem ??= toPem(der),
    enumerable: true,
  });
}

/** OpenSSL's names for groups differ by version ("x25519", "secp256r1"); these are the IANA ones. */
const groupNames: Record<string, string> = {
  x25519: "X25519",
  x448: "X448",
  secp256r1: "P-256",
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

/** The stable name of a key-exchange group as the libssl reported it. */
export function groupName(reported: string): string | null {
  return reported === "" ? null : groupNames[reported] ?? reported;
}
