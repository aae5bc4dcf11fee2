/**
 * The contract between the runner and `interop/ours/cell.ts`, the program that
 * drives our library for one cell inside a container. The task travels as one
 * JSON argument; the program answers with JSON lines ({@link OursEvent}) on stdout.
 * @module
 */

/** Paths to PEM files, as seen inside the container (same path as on the host). */
export interface KeyPair {
  certFile: string;
  keyFile: string;
}

/** A pre-shared key: its identity and the key, hex. */
export interface PskSpec {
  identity: string;
  keyHex: string;
}

/** Keying material to export after the handshake (no context). */
export interface ExportSpec {
  label: string;
  length: number;
}

/** What our side should do after the handshake. */
export type OursMode =
  /** Send `jsec-ping <nonce>`, wait for the reply token, close_notify, read to EOF. */
  | "ping"
  /** Stream `transferBytes` of pattern data, close_notify, read to EOF. */
  | "send"
  /** Stream `transferBytes` and read the same amount back (echo peers). */
  | "echo"
  /** Plain-text SMTP dialogue, then STARTTLS via upgrade(), then ping. */
  | "smtp"
  /** The handshake must fail; report the TlsError code. */
  | "fail";

/** One cell's instructions for our side. */
export interface OursTask {
  role: "client" | "server";
  /** Client: port to connect to. Server: port to listen on (0 = any). */
  port: number;
  mode: OursMode;
  nonce: string;
  /** Client only: text the peer's reply must contain (ping/smtp modes). */
  expectReply?: string;
  servername?: string;
  caFile?: string;
  /** Our own certificate (server) or client certificate (mTLS). */
  pair?: KeyPair;
  /** Server only: extra certificates selected by SNI. */
  sni?: Record<string, KeyPair>;
  /**
   * Server only: answer SNI from an async callback that resolves to a
   * `createSecureContext` of the `sni` pair (the handshake pauses meanwhile).
   */
  sniAsync?: boolean;
  alpnProtocols?: string[];
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  groups?: string;
  requestCert?: boolean;
  /** Server, ping mode: send close_notify right after the reply, before the peer's. */
  closeFirst?: boolean;
  /** Server: after our close_notify, close the socket at once (peers that wait for TCP FIN). */
  fullClose?: boolean;
  transferBytes?: number;
  /**
   * Connections in a row (default 1), each with the mode's exchange; the last
   * one is reported. A server lets the earlier ones end after the handshake
   * (a client may resume before sending anything).
   */
  connections?: number;
  timeoutMs: number;
  /** DTLS 1.2 over UDP (@jsec/tls/dtls) instead of TLS over TCP; ping and fail modes only. */
  dtls?: boolean;
  /** DTLS-SRTP profiles to offer or accept. */
  srtpProfiles?: string[];
  /** Client: ECH to the ECHConfigList in this ECH PEM file. */
  echConfigFile?: string;
  /** Client: GREASE ECH. */
  echGrease?: boolean;
  /** Server: ECH keys from this PEM file. */
  echKeysFile?: string;
  /** Server: `pair`'s key goes into a SoftHSM2 token first; `key` is its pkcs11: URI (interop/lib/pkcs11_case.ts). */
  pkcs11?: boolean;
  /** A pre-shared key (client: offered; server: the one it knows), with no certificate needed. */
  psk?: PskSpec;
  /** Export this keying material after the handshake and report it (`exportedKeys`). */
  exportKeys?: ExportSpec;
  /** Server: `ticketKeys` of our own, rotated (setTicketKeys) after the first connection. */
  rotateTicketKeys?: boolean;
}

/** Handshake facts our side reports (a subset of the core's handshake info). */
export interface OursInfo {
  protocol?: string;
  cipher?: string;
  group?: string;
  alpnProtocol?: string | null;
  servername?: string | null;
  peerCertCount?: number;
  verified?: boolean;
  resumed?: boolean;
  /** DTLS: the negotiated DTLS-SRTP profile. */
  srtpProfile?: string | null;
  /** DTLS-SRTP: the 60 bytes exported with "EXTRACTOR-dtls_srtp", hex. */
  srtpKeys?: string;
  /** Encrypted Client Hello: the core's `ech` info. */
  ech?: { status: string; innerServername: string | null; outerServername: string | null };
  /** The PSK identity the handshake used. */
  pskIdentity?: string | null;
  /** `exportKeys`: what our side exported, hex. */
  exportedKeys?: string;
  /** `rotateTicketKeys`: the server holds the new key as current and the first as previous. */
  ticketKeysRotated?: boolean;
}

/** JSON lines written by interop/ours/cell.ts. */
export type OursEvent =
  | { event: "listening"; port: number }
  | { event: "handshake"; info: OursInfo }
  | {
    event: "result";
    ok: boolean;
    info?: OursInfo;
    /** TlsError code (or the error's name) when something threw. */
    code?: string;
    message?: string;
    /** True when the peer's close_notify was seen (read returned null). */
    cleanEof?: boolean;
    /** sha256 hex of what we sent / received in transfer modes. */
    sentSha256?: string;
    receivedSha256?: string;
    receivedBytes?: number;
    /** ping mode: the peer's reply contained the expected token. */
    replied?: boolean;
  };

/**
 * The deterministic transfer pattern: 64-byte ASCII lines (63 printable
 * characters and "\n"), so line-oriented echo servers can carry it too.
 */
export function fillPattern(buf: Uint8Array, offset: number): void {
  for (let i = 0; i < buf.length; i++) {
    const n = offset + i;
    buf[i] = n % 64 === 63 ? 10 : 33 + ((n * 31 + (n >>> 11)) % 94);
  }
}
