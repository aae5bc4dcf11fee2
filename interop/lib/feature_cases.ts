/**
 * The matrix's cases for what OpenSSL offers beyond the runtimes' TLS (issue
 * 13): pre-shared keys (`psk-*`), keying-material export (`export-keys-*`),
 * session resumption across a rotation of our server's ticket keys
 * (`resumption-rotated-*`) and a certificate chosen by an async SNI callback
 * (`sni-async`). Peers that cannot play a part say n/a.
 * @module
 */
import type { CaseDef, CaseSide, PeerReport } from "./cases.ts";
import { type CertSet, SNI_NAME } from "./certs.ts";
import type { Direction } from "./types.ts";

/** The pre-shared key both sides know in the `psk-*` cases (identity and key, hex). */
export const PSK = {
  identity: "jsec-interop",
  keyHex: "6a7365632d696e7465726f702d70736b2d6b65792d33322d62797465732d2121",
};

/** The TLS 1.2 PSK cipher suite the `psk-tls1.2` case pins (OpenSSL spelling). */
export const PSK_TLS12_CIPHER = "PSK-AES128-GCM-SHA256";

/** What both sides export in the `export-keys-*` cases (RFC 5705 / RFC 8446 §7.5; no context: the CLIs take none). */
export const EXPORT_KEYS = { label: "EXPERIMENTAL-jsec-interop", length: 48 };

const expect = (what: string, got: unknown, want: unknown): string | null =>
  got === want ? null : `${what}: expected ${String(want)}, got ${String(got)}`;

/**
 * Null when our exported keys (hex) appear in the peer's own print-out, or the
 * peer prints none (then the cell checks the rest); else the reason.
 *
 * @example
 * ```ts
 * keysInPeerOutput("ab12", { output: "Keying material: AB12", printsExportedKeys: true }); // null
 * ```
 */
export function keysInPeerOutput(keys: string | undefined, peer: PeerReport): string | null {
  if (!peer.printsExportedKeys || (keys && peer.output.toLowerCase().includes(keys))) return null;
  return `the peer exported other keys than ours (${keys?.slice(0, 16)}…)`;
}

type Version = "1.2" | "1.3";
const pinned = (v: Version) => `TLSv${v}` as const;

/** A certificate-less ping authenticated by {@link PSK} alone, pinned to `v`. */
function pskSide(dir: Direction, v: Version): CaseSide {
  const version = pinned(v);
  return {
    peer: { mode: "ping", version: v, psk: PSK },
    ours: { mode: "ping", psk: PSK, minVersion: version, maxVersion: version },
    check: (i) =>
      expect("protocol", i.protocol, version) ??
        (v === "1.2" && !/PSK/.test(i.cipher ?? "")
          ? `cipher: expected a PSK suite, got ${i.cipher}`
          : null) ??
        expect("peer certificates", i.peerCertCount, 0) ??
        (dir === "ours-server" ? expect("pskIdentity", i.pskIdentity, PSK.identity) : null),
  };
}

/** A ping on the ECDSA certificate, pinned to `v`, where both sides export {@link EXPORT_KEYS}. */
function exportSide(c: CertSet, dir: Direction, v: Version): CaseSide {
  const version = pinned(v);
  const client = dir === "ours-client";
  return {
    peer: client
      ? { mode: "ping", version: v, pair: c.ecdsa, exportKeys: EXPORT_KEYS }
      : { mode: "ping", version: v, caFile: c.caFile, servername: "localhost", exportKeys: EXPORT_KEYS },
    ours: {
      mode: "ping",
      minVersion: version,
      maxVersion: version,
      exportKeys: EXPORT_KEYS,
      ...(client ? { caFile: c.caFile, servername: "localhost" } : { pair: c.ecdsa }),
    },
    check: (i, peer) =>
      expect("protocol", i.protocol, version) ??
        (i.exportedKeys?.length === EXPORT_KEYS.length * 2 ? null : "our side exported no keys") ??
        keysInPeerOutput(i.exportedKeys, peer),
  };
}

/** Two connections of a peer client; our server rotates its `ticketKeys` between them, and the second resumes. */
function rotatedSide(c: CertSet, dir: Direction, v: Version): CaseSide | string {
  if (dir === "ours-client") {
    return "the rotation is of our server's ticket keys (ticketKeys / setTicketKeys); a peer server's are not ours to turn";
  }
  const version = pinned(v);
  return {
    peer: {
      mode: "ping",
      caFile: c.caFile,
      servername: "localhost",
      version: v,
      versionOptional: true,
      connections: 2,
      serverClosesFirst: true,
    },
    ours: {
      mode: "ping",
      pair: c.ecdsa,
      minVersion: version,
      maxVersion: version,
      connections: 2,
      rotateTicketKeys: true,
    },
    check: (i) =>
      expect("protocol", i.protocol, version) ??
        expect("ticket keys rotated (the first one kept as the previous)", i.ticketKeysRotated, true) ??
        expect("second connection resumed", i.resumed, true),
  };
}

/**
 * A peer client asks for SNI_NAME; our server's callback answers a moment
 * later with a SecureContext of the second certificate, which the peer
 * verifies against that name.
 */
function sniAsyncSide(c: CertSet, dir: Direction): CaseSide | string {
  if (dir === "ours-client") {
    return "the SNI callback is our server's; a client only sends the name (case sni)";
  }
  return {
    peer: { mode: "ping", caFile: c.caFile, servername: SNI_NAME },
    ours: { mode: "ping", pair: c.ecdsa, sni: { [SNI_NAME]: c.sni }, sniAsync: true },
    check: (i) => expect("servername", i.servername, SNI_NAME),
  };
}

/** The feature cases, in table order. */
export const FEATURE_CASES: CaseDef[] = [
  {
    id: "sni-async",
    title: "SNI answered by an async callback with a SecureContext",
    side: (d, c) => sniAsyncSide(c, d),
  },
  {
    id: "psk-tls1.3",
    title: "TLS 1.3 external PSK, no certificates",
    tls13: true,
    side: (d) => pskSide(d, "1.3"),
  },
  {
    id: "psk-tls1.2",
    title: `TLS 1.2 PSK cipher suite (${PSK_TLS12_CIPHER})`,
    side: (d) => pskSide(d, "1.2"),
  },
  {
    id: "export-keys-tls1.3",
    title: "keying-material export, TLS 1.3: both sides' keys equal",
    tls13: true,
    side: (d, c) => exportSide(c, d, "1.3"),
  },
  {
    id: "export-keys-tls1.2",
    title: "keying-material export, TLS 1.2: both sides' keys equal",
    side: (d, c) => exportSide(c, d, "1.2"),
  },
  {
    id: "resumption-rotated-tls1.3",
    title: "TLS 1.3 resumption across a rotation of our server's ticket keys",
    tls13: true,
    side: (d, c) => rotatedSide(c, d, "1.3"),
  },
  {
    id: "resumption-rotated-tls1.2",
    title: "TLS 1.2 ticket resumption across a rotation of our server's ticket keys",
    side: (d, c) => rotatedSide(c, d, "1.2"),
  },
];
