/**
 * The DTLS 1.2 cases of the matrix (`dtls*`): our @jsec/tls/dtls against
 * peers that speak DTLS over UDP. Each is a ping (one message each way) on
 * top of what it proves; peers without DTLS say n/a.
 * @module
 */
import type { CaseDef, CaseSide } from "./cases.ts";
import type { CertSet } from "./certs.ts";
import type { KeyPair } from "./task.ts";
import type { Direction } from "./types.ts";
import { keysInPeerOutput } from "./feature_cases.ts";

/** The DTLS-SRTP profile every SRTP-capable peer offers (RFC 5764), OpenSSL spelling. */
export const DTLS_SRTP_PROFILE = "SRTP_AES128_CM_SHA1_80";

/** The keys both sides export for that profile (RFC 5764 §4.2: two 16-byte keys, two 14-byte salts). */
export const DTLS_SRTP_KEYS = { label: "EXTRACTOR-dtls_srtp", length: 60 };

const expect = (what: string, got: unknown, want: unknown): string | null =>
  got === want ? null : `${what}: expected ${String(want)}, got ${String(got)}`;

/** A DTLS ping with a given server certificate; `extra` adds to each side. */
function dtlsPing(c: CertSet, dir: Direction, pair: KeyPair, extra: Partial<CaseSide> = {}): CaseSide {
  const client = dir === "ours-client";
  return {
    peer: client
      ? { mode: "ping", dtls: true, pair, ...extra.peer }
      : { mode: "ping", dtls: true, caFile: c.caFile, servername: "localhost", ...extra.peer },
    ours: client
      ? { mode: "ping", dtls: true, caFile: c.caFile, servername: "localhost", ...extra.ours }
      : { mode: "ping", dtls: true, pair, ...extra.ours },
    check: (info, peer) => expect("protocol", info.protocol, "DTLSv1.2") ?? extra.check?.(info, peer) ?? null,
  };
}

/** The DTLS cases, in table order (each id starts with "dtls", so `--case=dtls` selects them all). */
export const DTLS_CASES: CaseDef[] = [
  { id: "dtls", title: "DTLS 1.2 handshake and echo", dtls: true, side: (d, c) => dtlsPing(c, d, c.ecdsa) },
  {
    id: "dtls-alpn",
    title: "DTLS ALPN",
    dtls: true,
    side: (d, c) =>
      dtlsPing(c, d, c.ecdsa, {
        peer: { mode: "ping", alpn: ["h2", "http/1.1"] },
        ours: { mode: "ping", alpnProtocols: ["h2", "http/1.1"] },
        check: (i) => expect("alpnProtocol", i.alpnProtocol, "h2"),
      }),
  },
  {
    id: "dtls-mtls",
    title: "DTLS mutual authentication",
    dtls: true,
    side: (d, c) =>
      d === "ours-client"
        ? dtlsPing(c, d, c.ecdsa, {
          peer: { mode: "ping", caFile: c.caFile, requireClientCert: true },
          ours: { mode: "ping", pair: c.client },
        })
        : dtlsPing(c, d, c.ecdsa, {
          peer: { mode: "ping", pair: c.client },
          ours: { mode: "ping", caFile: c.caFile, requestCert: true },
          check: (i) => (i.peerCertCount ?? 0) > 0 ? null : "no client certificate seen",
        }),
  },
  {
    id: "dtls-srtp",
    title: "DTLS-SRTP profile, exported keys equal on both sides",
    dtls: true,
    side: (d, c) =>
      dtlsPing(c, d, c.ecdsa, {
        peer: { mode: "ping", srtpProfile: DTLS_SRTP_PROFILE },
        ours: { mode: "ping", srtpProfiles: [DTLS_SRTP_PROFILE] },
        // Our side's profile proves the peer negotiated it; the keys are compared where the peer prints its own.
        check: (i, peer) =>
          expect("srtpProfile", i.srtpProfile, DTLS_SRTP_PROFILE) ?? keysInPeerOutput(i.srtpKeys, peer),
      }),
  },
  {
    id: "dtls-resumption",
    title: "DTLS session resumption",
    dtls: true,
    side: (d, c) =>
      dtlsPing(c, d, c.ecdsa, {
        peer: { mode: "ping", connections: 2, serverClosesFirst: d === "ours-server" },
        ours: { mode: "ping", connections: 2 },
        check: (i) => expect("second connection resumed", i.resumed, true),
      }),
  },
  {
    id: "dtls-fail-untrusted",
    title: "DTLS: untrusted CA is refused",
    dtls: true,
    side: (d, c) =>
      d === "ours-client"
        ? {
          peer: { mode: "fail", dtls: true, pair: c.ecdsa },
          ours: { mode: "fail", dtls: true, caFile: c.otherCaFile, servername: "localhost" },
          expectCode: "CERT_UNTRUSTED",
        }
        : {
          peer: { mode: "fail", dtls: true, caFile: c.caFile, servername: "localhost", pair: c.badClient },
          ours: { mode: "fail", dtls: true, pair: c.ecdsa, caFile: c.caFile, requestCert: true },
          expectCode: "CERT_UNTRUSTED",
        },
  },
  {
    id: "dtls-fail-hostname",
    title: "DTLS: hostname mismatch is refused",
    dtls: true,
    side: (d, c) =>
      d === "ours-client"
        ? {
          peer: { mode: "fail", dtls: true, pair: c.ecdsa },
          ours: { mode: "fail", dtls: true, caFile: c.caFile, servername: "wrong.test" },
          expectCode: "HOSTNAME_MISMATCH",
        }
        : "hostname verification is the client's check; our server has no name to verify",
  },
];
