/**
 * The Encrypted Client Hello cases of the matrix (`ech*`, RFC 9849): our side
 * and the peer both need libssl >= 4.0 (OpenSSL's `s_server -ech_key` /
 * `s_client -ech_config_list` in the `experimental` suite); every other cell
 * is n/a. The ECH key is made once per run by the 4.0 `openssl ech` (the
 * openssl driver's `prepare`) with the public name `localhost`; the inner
 * name is the SNI name `other.test`, served by the second certificate.
 * @module
 */
import type { CaseDef, CaseSide, PeerReport } from "./cases.ts";
import { type CertSet, SNI_NAME } from "./certs.ts";
import type { OursInfo } from "./task.ts";

/** The reason an ECH cell cannot run on an older libssl, ours or the peer's. */
export const NO_ECH = "ECH needs libssl >= 4.0";

/** The public name of the run's ECH configuration: the outer ClientHello's SNI. */
export const ECH_PUBLIC_NAME = "localhost";

/** The run's ECH key file (PEM as `openssl ech` writes it: a private key, then its ECHCONFIG). */
export function echKeyFile(certs: CertSet): string {
  return `${certs.dir}/ech.pem`;
}

/** The base64 ECHConfigList inside ECH PEM: what clients are given. */
export function echConfigListOf(pem: string): string {
  const block = /-----BEGIN ECHCONFIG-----([\s\S]+?)-----END ECHCONFIG-----/.exec(pem);
  if (!block) throw new Error("no ECHCONFIG block in the ECH key file");
  return block[1].replace(/\s+/g, "");
}

/** Our side's ECH report against what the case expects. */
function expectEch(i: OursInfo, status: string, inner?: string): string | null {
  const got = i.ech;
  if (got?.status !== status) return `ech.status: expected ${status}, got ${got?.status}`;
  if (inner === undefined) return null;
  if (got.innerServername !== inner) {
    return `ech.innerServername: expected ${inner}, got ${got.innerServername}`;
  }
  if (got.outerServername !== ECH_PUBLIC_NAME) {
    return `ech.outerServername: expected ${ECH_PUBLIC_NAME}, got ${got.outerServername}`;
  }
  return null;
}

/** Fails unless the peer's own output matches `proof`. */
const peerSays = (peer: PeerReport, proof: RegExp, what: string) => proof.test(peer.output) ? null : what;

function accepted(d: "ours-client" | "ours-server", c: CertSet): CaseSide {
  const keys = echKeyFile(c);
  return d === "ours-client"
    ? {
      peer: { mode: "ping", pair: c.ecdsa, sniPair: c.sni, echKeyFile: keys },
      ours: { mode: "ping", caFile: c.caFile, servername: SNI_NAME, echConfigFile: keys },
      check: (i, peer) =>
        expectEch(i, "accepted", SNI_NAME) ??
          peerSays(
            peer,
            /success: outer localhost, inner: other\.test/,
            "s_server reports no ECH with inner other.test",
          ),
    }
    : {
      peer: { mode: "ping", caFile: c.caFile, servername: SNI_NAME, echConfigFile: keys },
      ours: { mode: "ping", pair: c.ecdsa, sni: { [SNI_NAME]: c.sni }, echKeysFile: keys },
      check: (i, peer) =>
        expectEch(i, "accepted", SNI_NAME) ??
          (i.servername === SNI_NAME ? null : `servername ${i.servername}`) ??
          peerSays(peer, /ECH: success: 1/, "s_client reports no ECH success"),
    };
}

function grease(d: "ours-client" | "ours-server", c: CertSet): CaseSide {
  return d === "ours-client"
    ? {
      peer: { mode: "ping", pair: c.ecdsa },
      ours: { mode: "ping", caFile: c.caFile, servername: "localhost", echGrease: true },
      check: (i) => expectEch(i, "grease"),
    }
    : {
      peer: { mode: "ping", caFile: c.caFile, servername: "localhost", echGrease: true },
      ours: { mode: "ping", pair: c.ecdsa, echKeysFile: echKeyFile(c) },
      check: (i, peer) =>
        (i.ech?.status === "accepted" ? "our server accepted GREASE as ECH" : null) ??
          peerSays(peer, /ECH: GREASE/, "s_client reports no GREASE"),
    };
}

/** The ECH cases, in table order. */
export const ECH_CASES: CaseDef[] = [
  {
    id: "ech",
    title: "Encrypted Client Hello accepted: inner name other.test, public name localhost",
    tls13: true,
    ech: true,
    side: accepted,
  },
  {
    id: "ech-grease",
    title: "ECH GREASE: sent by the client, a plain handshake for the server",
    tls13: true,
    ech: true,
    side: grease,
  },
];
