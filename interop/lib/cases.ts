/**
 * The cases of the matrix, independent of any peer: what each side is
 * configured with and what must be true at the end. Peers translate a
 * {@link PeerSpec} into their own flags (or say `n/a` with a reason).
 * @module
 */
import { type CertSet, SNI_NAME } from "./certs.ts";
import type { ExportSpec, KeyPair, OursInfo, OursTask, PskSpec } from "./task.ts";
import type { Direction } from "./types.ts";
import { DTLS_CASES } from "./dtls_cases.ts";
import { ECH_CASES } from "./ech_cases.ts";
import { PKCS11_CASE } from "./pkcs11_case.ts";
import { FEATURE_CASES } from "./feature_cases.ts";

/** What the peer must do in one cell, in stack-neutral terms. */
export interface PeerSpec {
  mode: "ping" | "transfer" | "smtp" | "fail";
  /** Server: its certificate. Client: its client certificate (mTLS). */
  pair?: KeyPair;
  /** Server: second certificate, served for SNI_NAME. */
  sniPair?: KeyPair;
  /** CA to verify the other side with (client: the server; server: client certs). */
  caFile?: string;
  requireClientCert?: boolean;
  /** Client: SNI name and the name to verify. */
  servername?: string;
  alpn?: string[];
  /** Pin the peer to exactly this version. */
  version?: "1.2" | "1.3";
  /** Our side is pinned too, so a peer that cannot pin may run unpinned. */
  versionOptional?: boolean;
  /** Key-exchange groups, OpenSSL spelling ("X25519MLKEM768"). */
  groups?: string;
  /** Peer sends a KeyUpdate (update_requested) before replying / pinging. */
  keyUpdate?: boolean;
  /** ping mode, peer client: the server closes first; wait for its close_notify. */
  serverClosesFirst?: boolean;
  /**
   * The peer must prove, from its own report, that it received our close_notify
   * (not just a TCP FIN); a peer that cannot tell the two apart says n/a.
   */
  proveCloseNotify?: boolean;
  /** Connections in a row (default 1); with 2 the second resumes the first's session. */
  connections?: number;
  transferBytes?: number;
  /** DTLS 1.2 over UDP instead of TLS over TCP. */
  dtls?: boolean;
  /** DTLS-SRTP: offer (client) or accept (server) this profile, and print the keys exported with "EXTRACTOR-dtls_srtp". */
  srtpProfile?: string;
  /** Server: ECH keys (PEM file as `openssl ech` writes it). */
  echKeyFile?: string;
  /** Client: encrypt the ClientHello to the ECHConfigList in this ECH PEM file. */
  echConfigFile?: string;
  /** Client: send GREASE ECH. */
  echGrease?: boolean;
  /** A pre-shared key instead of certificates (interop/lib/feature_cases.ts). */
  psk?: PskSpec;
  /** Export keying material and print it (RFC 5705 / RFC 8446 §7.5). */
  exportKeys?: ExportSpec;
}

/** What a check may read of the peer's side. */
export interface PeerReport {
  /** The peer's whole output (stdout and stderr). */
  output: string;
  /** False when this peer's tool does not print keying material it exports (RFC 5705). */
  printsExportedKeys: boolean;
}

/** Our side's task without the cell-specific port/nonce/timeout. */
export type OursPart = Omit<OursTask, "role" | "port" | "nonce" | "timeoutMs">;

/** Everything one direction of a case needs. */
export interface CaseSide {
  peer: PeerSpec;
  ours: OursPart;
  /** Expected TlsError code when mode is "fail". */
  expectCode?: string;
  /** Extra check of our handshake info (and the peer's report); returns a failure reason or null. */
  check?: (info: OursInfo, peer: PeerReport) => string | null;
  /** Require that our side saw the peer's close_notify (our libssl tells it from a TCP FIN). */
  oursSeesCloseNotify?: boolean;
}

/** One case: its id, and per direction either a side or an n/a reason. */
export interface CaseDef {
  id: string;
  title: string;
  /** Needs TLS 1.3 on both ends. */
  tls13?: boolean;
  /** Needs X25519MLKEM768 on both ends. */
  mlkem?: boolean;
  /** DTLS over UDP (interop/lib/dtls_cases.ts): only peers that speak it. */
  dtls?: boolean;
  /** Encrypted Client Hello (interop/lib/ech_cases.ts): libssl >= 4.0 on both ends. */
  ech?: boolean;
  /** Our key in a PKCS#11 token (interop/lib/pkcs11_case.ts): only our suites with pkcs11-provider. */
  pkcs11?: boolean;
  side(dir: Direction, certs: CertSet): CaseSide | string;
}

/** Size of the bulk-transfer case, unless the peer reads too slowly for it ({@link SLOW_READER_BYTES}). */
export const TRANSFER_BYTES = 16 * 1024 * 1024;

/**
 * Size of the bulk transfer into a peer that reads slowly whatever the sender
 * (gnutls-cli: ~0.5 MB/s here, slower on a slower machine), so that the cell's
 * time does not depend on the machine: still 64 full records, well past every
 * buffer and write threshold of ours.
 */
export const SLOW_READER_BYTES = 1024 * 1024;

const expect = (what: string, got: unknown, want: unknown): string | null =>
  got === want ? null : `${what}: expected ${String(want)}, got ${String(got)}`;

/** A plain ping exchange with a given server certificate. */
function basic(certs: CertSet, dir: Direction, pair: KeyPair, extra: Partial<CaseSide> = {}): CaseSide {
  const client = dir === "ours-client";
  return {
    peer: client
      ? { mode: "ping", pair, ...extra.peer }
      : { mode: "ping", caFile: certs.caFile, servername: "localhost", ...extra.peer },
    ours: client
      ? { mode: "ping", caFile: certs.caFile, servername: "localhost", ...extra.ours }
      : { mode: "ping", pair, ...extra.ours },
    check: extra.check,
    oursSeesCloseNotify: extra.oursSeesCloseNotify,
  };
}

/** The matrix's cases, in table order. */
export const CASES: CaseDef[] = [
  {
    id: "tls1.2",
    title: "TLS 1.2",
    side: (d, c) =>
      basic(c, d, c.ecdsa, {
        peer: { mode: "ping", version: "1.2", versionOptional: true },
        ours: { mode: "ping", minVersion: "TLSv1.2", maxVersion: "TLSv1.2" },
        check: (i) => expect("protocol", i.protocol, "TLSv1.2"),
      }),
  },
  {
    id: "tls1.3",
    title: "TLS 1.3",
    tls13: true,
    side: (d, c) =>
      basic(c, d, c.ecdsa, {
        peer: { mode: "ping", version: "1.3", versionOptional: true },
        ours: { mode: "ping", minVersion: "TLSv1.3", maxVersion: "TLSv1.3" },
        check: (i) => expect("protocol", i.protocol, "TLSv1.3"),
      }),
  },
  { id: "rsa", title: "RSA certificate", side: (d, c) => basic(c, d, c.rsa) },
  { id: "ecdsa", title: "ECDSA P-256 certificate", side: (d, c) => basic(c, d, c.ecdsa) },
  { id: "ed25519", title: "Ed25519 certificate", side: (d, c) => basic(c, d, c.ed25519) },
  {
    id: "alpn",
    title: "ALPN h2",
    side: (d, c) =>
      basic(c, d, c.ecdsa, {
        peer: { mode: "ping", alpn: ["h2", "http/1.1"] },
        ours: { mode: "ping", alpnProtocols: ["h2", "http/1.1"] },
        check: (i) => expect("alpnProtocol", i.alpnProtocol, "h2"),
      }),
  },
  {
    id: "sni",
    title: "SNI selects the second certificate",
    side: (d, c) =>
      d === "ours-client"
        ? {
          peer: { mode: "ping", pair: c.ecdsa, sniPair: c.sni },
          ours: { mode: "ping", caFile: c.caFile, servername: SNI_NAME },
        }
        : {
          peer: { mode: "ping", caFile: c.caFile, servername: SNI_NAME },
          ours: { mode: "ping", pair: c.ecdsa, sni: { [SNI_NAME]: c.sni } },
          check: (i) => expect("servername", i.servername, SNI_NAME),
        },
  },
  {
    id: "mtls",
    title: "mutual TLS",
    side: (d, c) =>
      d === "ours-client"
        ? {
          peer: { mode: "ping", pair: c.ecdsa, caFile: c.caFile, requireClientCert: true },
          ours: { mode: "ping", caFile: c.caFile, servername: "localhost", pair: c.client },
        }
        : {
          peer: { mode: "ping", caFile: c.caFile, servername: "localhost", pair: c.client },
          ours: { mode: "ping", pair: c.ecdsa, caFile: c.caFile, requestCert: true },
          check: (i) => (i.peerCertCount ?? 0) > 0 ? null : "no client certificate seen",
        },
  },
  {
    id: "resumption",
    title: "session resumption",
    // Our server closes first: it ends each connection of a client that saves the session as it goes.
    side: (d, c) =>
      basic(c, d, c.ecdsa, {
        peer: { mode: "ping", connections: 2, serverClosesFirst: d === "ours-server" },
        ours: { mode: "ping", connections: 2 },
        check: (i) => expect("second connection resumed", i.resumed, true),
      }),
  },
  {
    id: "keyupdate",
    title: "KeyUpdate from the peer",
    tls13: true,
    side: (d, c) =>
      basic(c, d, c.ecdsa, {
        peer: { mode: "ping", version: "1.3", versionOptional: true, keyUpdate: true },
        ours: { mode: "ping", minVersion: "TLSv1.3" },
        check: (i) => expect("protocol", i.protocol, "TLSv1.3"),
      }),
  },
  {
    id: "starttls-smtp",
    title: "STARTTLS (SMTP)",
    side: (d, c) => {
      const b = basic(c, d, c.ecdsa);
      return { ...b, peer: { ...b.peer, mode: "smtp" }, ours: { ...b.ours, mode: "smtp" } };
    },
  },
  // close_notify, one case per direction, each proven by the side that receives it.
  // Our client closes first; facing a peer client, our server closes first.
  {
    id: "close-notify-in",
    title: "the peer answers our close_notify with its own (our libssl tells it from a TCP FIN)",
    side: (d, c) =>
      basic(c, d, c.ecdsa, {
        peer: { mode: "ping", serverClosesFirst: d === "ours-server" },
        oursSeesCloseNotify: true,
      }),
  },
  {
    id: "close-notify-out",
    title: "the peer receives our close_notify (by its own report, not a TCP FIN)",
    side: (d, c) =>
      basic(c, d, c.ecdsa, {
        peer: { mode: "ping", serverClosesFirst: d === "ours-server", proveCloseNotify: true },
      }),
  },
  {
    id: "transfer",
    title: "bulk transfer, sha256 checked (16 MiB; 1 MiB into a slow reader)",
    side: (d, c) => {
      const b = basic(c, d, c.ecdsa);
      return {
        ...b,
        peer: { ...b.peer, mode: "transfer", transferBytes: TRANSFER_BYTES },
        ours: { ...b.ours, mode: "send", transferBytes: TRANSFER_BYTES },
      };
    },
  },
  {
    id: "x25519mlkem768",
    title: "X25519MLKEM768 key exchange",
    tls13: true,
    mlkem: true,
    side: (d, c) =>
      basic(c, d, c.ecdsa, {
        peer: { mode: "ping", groups: "X25519MLKEM768" },
        ours: { mode: "ping", groups: "X25519MLKEM768" },
        check: (i) => expect("group", i.group, "X25519MLKEM768"),
      }),
  },
  {
    id: "fail-untrusted",
    title: "untrusted CA is refused",
    side: (d, c) =>
      d === "ours-client"
        ? {
          peer: { mode: "fail", pair: c.ecdsa },
          ours: { mode: "fail", caFile: c.otherCaFile, servername: "localhost" },
          expectCode: "CERT_UNTRUSTED",
        }
        : {
          peer: { mode: "fail", caFile: c.caFile, servername: "localhost", pair: c.badClient },
          ours: { mode: "fail", pair: c.ecdsa, caFile: c.caFile, requestCert: true },
          expectCode: "CERT_UNTRUSTED",
        },
  },
  {
    id: "fail-hostname",
    title: "hostname mismatch is refused",
    side: (d, c) =>
      d === "ours-client"
        ? {
          peer: { mode: "fail", pair: c.ecdsa },
          ours: { mode: "fail", caFile: c.caFile, servername: "wrong.test" },
          expectCode: "HOSTNAME_MISMATCH",
        }
        : "hostname verification is the client's check; our server has no name to verify",
  },
  {
    id: "fail-version",
    title: "no common TLS version is refused",
    side: (d, c) =>
      d === "ours-client"
        ? {
          peer: { mode: "fail", pair: c.ecdsa, version: "1.3" },
          ours: { mode: "fail", caFile: c.caFile, servername: "localhost", maxVersion: "TLSv1.2" },
          expectCode: "PROTOCOL_VERSION",
        }
        : {
          peer: { mode: "fail", caFile: c.caFile, servername: "localhost", version: "1.2" },
          ours: { mode: "fail", pair: c.ecdsa, minVersion: "TLSv1.3" },
          expectCode: "PROTOCOL_VERSION",
        },
  },
  ...ECH_CASES,
  PKCS11_CASE,
  ...FEATURE_CASES,
  ...DTLS_CASES,
];
