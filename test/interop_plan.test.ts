/**
 * How the interop matrix plans its cells, without running them (the matrix
 * itself runs in CI's interop step): a bulk transfer into a slow reader is
 * cut so that its time does not depend on the machine, and each close_notify
 * cell is n/a exactly where the peer cannot prove what the cell's name says.
 */
import assert from "node:assert/strict";
import { CASES, type CaseSide, SLOW_READER_BYTES, TRANSFER_BYTES } from "../interop/lib/cases.ts";
import type { CertSet } from "../interop/lib/certs.ts";
import { type CellParams, planCell } from "../interop/lib/cell.ts";
import type { Direction } from "../interop/lib/types.ts";
import { makeDriver, PEERS } from "../interop/peers/registry.ts";
import { test } from "./harness.ts";

const pair = (n: string) => ({ certFile: `/c/${n}.pem`, keyFile: `/c/${n}-key.pem` });
const certs: CertSet = {
  dir: "/c",
  caFile: "/c/ca.pem",
  otherCaFile: "/c/other-ca.pem",
  rsa: pair("rsa"),
  ecdsa: pair("ecdsa"),
  ed25519: pair("ed25519"),
  sni: pair("sni"),
  client: pair("client"),
  badClient: pair("bad"),
  p12: (n) => `/c/${n}.p12`,
};

function plan(peerId: string, caseId: string, direction: Direction): CaseSide | string {
  const choice = PEERS.find((p) => p.id === peerId)!;
  const version = choice.kind === "openssl" ? peerId.slice("openssl-".length) + ".0" : "1.0";
  return planCell({
    certs,
    ours: "deno",
    ourSuite: "trixie",
    ourLibssl: "3.5.4",
    peer: makeDriver(choice, { version, features: [] }),
    caseDef: CASES.find((c) => c.id === caseId)!,
    direction,
  } as unknown as CellParams);
}

test("interop: gnutls-cli, a slow reader, gets a 1 MiB transfer; everyone else 16 MiB", () => {
  const into = (peer: string, d: Direction) => {
    const side = plan(peer, "transfer", d);
    assert.notEqual(typeof side, "string", `${peer} ${d}`);
    const s = side as CaseSide;
    assert.equal(s.ours.transferBytes, s.peer.transferBytes, "both sides agree on the size");
    return s.peer.transferBytes;
  };
  assert.equal(into("gnutls", "ours-server"), SLOW_READER_BYTES);
  assert.equal(into("gnutls", "ours-client"), TRANSFER_BYTES);
  for (const peer of ["openssl-3.0", "node", "deno-native", "bun-native"]) {
    for (const d of ["ours-client", "ours-server"] as const) assert.equal(into(peer, d), TRANSFER_BYTES);
  }
});

test("interop: close-notify-out runs only against peers that can prove a received close_notify", () => {
  const runs = (peer: string, d: Direction) => typeof plan(peer, "close-notify-out", d) !== "string";
  for (const d of ["ours-client", "ours-server"] as const) {
    for (const peer of ["openssl-1.1.1", "openssl-3.6", "node", "deno-native"]) {
      assert.ok(runs(peer, d), peer);
    }
    for (const peer of ["bun-native", "gnutls", "nss"]) assert.ok(!runs(peer, d), peer);
  }
  assert.match(plan("bun-native", "close-notify-out", "ours-client") as string, /TCP FIN/);
  const inSide = plan("node", "close-notify-in", "ours-client") as CaseSide;
  assert.equal(inSide.oursSeesCloseNotify, true);
  assert.ok(!inSide.peer.proveCloseNotify);
});

test("interop: Bun's TLS is pinned to a version (fail-version) and does client STARTTLS", () => {
  for (const d of ["ours-client", "ours-server"] as const) {
    const side = plan("bun-native", "fail-version", d);
    assert.notEqual(typeof side, "string", d);
  }
  assert.notEqual(typeof plan("bun-native", "starttls-smtp", "ours-server"), "string");
  assert.equal(typeof plan("bun-native", "starttls-smtp", "ours-client"), "string", "no server STARTTLS");
});

test("interop: DTLS cases run against openssl and gnutls, n/a 'no DTLS' against TCP-only peers", () => {
  const dtlsCases = CASES.filter((c) => c.dtls);
  assert.ok(
    dtlsCases.length >= 7 && dtlsCases.every((c) => c.id.startsWith("dtls")),
    "--case=dtls selects them",
  );
  for (const c of dtlsCases) {
    for (const d of ["ours-client", "ours-server"] as const) {
      if (c.id === "dtls-fail-hostname" && d === "ours-server") continue;
      for (const peer of ["openssl-1.1.1", "openssl-3.0", "openssl-4.0", "gnutls"]) {
        const side = plan(peer, c.id, d);
        assert.notEqual(typeof side, "string", `${peer} ${c.id} ${d}: ${side}`);
        assert.ok((side as CaseSide).peer.dtls && (side as CaseSide).ours.dtls, "both sides on UDP");
      }
      for (const peer of ["nss", "node", "deno-native", "bun-native"]) {
        assert.match(plan(peer, c.id, d) as string, /no DTLS/, `${peer} ${c.id} ${d}`);
      }
    }
  }
});

test("interop: dtls-srtp compares exported keys with the peer's where the peer prints them", () => {
  const side = plan("openssl-3.0", "dtls-srtp", "ours-server") as CaseSide;
  const info = { protocol: "DTLSv1.2", srtpProfile: "SRTP_AES128_CM_SHA1_80", srtpKeys: "ab12" };
  assert.equal(side.check!(info, { output: "Keying material: AB12", printsExportedKeys: true }), null);
  assert.match(
    side.check!(info, { output: "Keying material: CD34", printsExportedKeys: true })!,
    /other keys than ours/,
  );
  assert.equal(side.check!(info, { output: "", printsExportedKeys: false }), null, "gnutls-serv prints none");
  assert.match(
    side.check!({ ...info, srtpProfile: null }, { output: "", printsExportedKeys: false })!,
    /srtpProfile/,
  );
  const gnutls = makeDriver(PEERS.find((p) => p.id === "gnutls")!, { version: "3.8.9", features: [] });
  assert.equal(gnutls.printsExportedKeys?.("server"), false);
  assert.equal(gnutls.printsExportedKeys?.("client"), true);
});

test("interop: psk-* run certificate-less against openssl, gnutls and node; n/a where the stack has no PSK", () => {
  for (const id of ["psk-tls1.3", "psk-tls1.2"]) {
    for (const d of ["ours-client", "ours-server"] as const) {
      for (const peer of ["openssl-1.1.1", "openssl-4.0", "gnutls", "node"]) {
        const side = plan(peer, id, d) as CaseSide;
        assert.notEqual(typeof side, "string", `${peer} ${id} ${d}: ${side}`);
        assert.ok(side.peer.psk && side.ours.psk, "both sides hold the key");
        assert.ok(!side.peer.pair && !side.ours.pair, "no certificate on either side");
      }
      for (const peer of ["nss", "deno-native", "bun-native"]) {
        assert.match(plan(peer, id, d) as string, /pre-shared key/, `${peer} ${id} ${d}`);
      }
    }
  }
  const side = plan("openssl-3.0", "psk-tls1.2", "ours-server") as CaseSide;
  const info = {
    protocol: "TLSv1.2",
    cipher: "PSK-AES128-GCM-SHA256",
    peerCertCount: 0,
    pskIdentity: "jsec-interop",
  };
  const peer = { output: "", printsExportedKeys: true };
  assert.equal(side.check!(info, peer), null);
  assert.match(side.check!({ ...info, cipher: "ECDHE-ECDSA-AES128-GCM-SHA256" }, peer)!, /PSK suite/);
  assert.match(side.check!({ ...info, pskIdentity: null }, peer)!, /pskIdentity/);
});

test("interop: export-keys-* compare our exported keys with the peer's own print-out, n/a where it prints none", () => {
  for (const id of ["export-keys-tls1.3", "export-keys-tls1.2"]) {
    for (const d of ["ours-client", "ours-server"] as const) {
      for (const peer of ["openssl-1.1.1", "openssl-3.6", "node"]) {
        assert.notEqual(typeof plan(peer, id, d), "string", `${peer} ${id} ${d}`);
      }
      for (const peer of ["nss", "deno-native", "bun-native"]) {
        assert.match(plan(peer, id, d) as string, /prints no keying material/, `${peer} ${id} ${d}`);
      }
    }
    assert.notEqual(typeof plan("gnutls", id, "ours-server"), "string", "gnutls-cli prints its keys");
    assert.match(plan("gnutls", id, "ours-client") as string, /server prints no keying material/);
  }
  const side = plan("openssl-3.0", "export-keys-tls1.3", "ours-client") as CaseSide;
  const keys = "ab".repeat(side.ours.exportKeys!.length);
  const info = { protocol: "TLSv1.3", exportedKeys: keys };
  assert.equal(
    side.check!(info, { output: `Keying material: ${keys.toUpperCase()}`, printsExportedKeys: true }),
    null,
  );
  assert.match(side.check!(info, { output: "Keying material: CD", printsExportedKeys: true })!, /other keys/);
  assert.match(
    side.check!({ protocol: "TLSv1.3" }, { output: "", printsExportedKeys: true })!,
    /exported no keys/,
  );
});

test("interop: resumption-rotated-* rotate our server's ticket keys between a peer client's two connections", () => {
  for (const id of ["resumption-rotated-tls1.3", "resumption-rotated-tls1.2"]) {
    assert.match(plan("openssl-3.0", id, "ours-client") as string, /our server's ticket keys/);
    for (const peer of ["openssl-1.1.1", "openssl-4.0", "gnutls", "node", "bun-native"]) {
      const side = plan(peer, id, "ours-server") as CaseSide;
      assert.notEqual(typeof side, "string", `${peer} ${id}: ${side}`);
      assert.equal(side.ours.rotateTicketKeys, true);
      assert.equal(side.peer.connections, 2);
    }
    const side = plan("openssl-3.0", id, "ours-server") as CaseSide;
    const protocol = id.endsWith("1.3") ? "TLSv1.3" : "TLSv1.2";
    const peer = { output: "", printsExportedKeys: true };
    assert.equal(side.check!({ protocol, resumed: true, ticketKeysRotated: true }, peer), null);
    assert.match(side.check!({ protocol, resumed: false, ticketKeysRotated: true }, peer)!, /resumed/);
    assert.match(side.check!({ protocol, resumed: true, ticketKeysRotated: false }, peer)!, /rotated/);
  }
});
