import assert from "node:assert/strict";
import { test } from "../harness.ts";
import {
  createCrl,
  createIntermediateCa,
  createRootCa,
  issueCertificate,
  parseCertificate,
  parseCrl,
  verifyChain,
} from "../../ca.ts";
import { openssl, rejectsWith, scratch } from "./helpers.ts";

test("ca crl: openssl verify -crl_check rejects a revoked leaf and accepts the others", () => {
  using s = scratch();
  const root = createRootCa();
  const sub = createIntermediateCa({ issuer: root });
  const revoked = issueCertificate({ issuer: sub, names: ["revoked.example"] });
  const fine = issueCertificate({ issuer: sub, names: ["fine.example"] });
  const serial = parseCertificate(revoked.cert).serial;
  const subCrl = createCrl({
    issuer: sub,
    number: 7,
    revoked: [{ serial, revokedAt: new Date(), reason: "keyCompromise" }],
  });
  const rootCrl = createCrl({ issuer: root, number: 1, revoked: [] });
  const crlText = openssl(["crl", "-in", s.put("sub.crl", subCrl), "-noout", "-text"]).out;
  for (
    const want of [
      "X509v3 CRL Number: 7",
      `Serial Number: ${serial}`,
      "Key Compromise",
      "Next Update",
      "X509v3 Authority Key Identifier",
    ]
  ) {
    // Indentation differs between OpenSSL versions: compare with white space folded.
    assert.ok(crlText.replace(/\s+/g, " ").includes(want), `crl -text lacks ${want}:\n${crlText}`);
  }
  const args = (leaf: string) => [
    "verify",
    "-crl_check_all",
    "-CAfile",
    s.put("root.pem", root.cert),
    "-untrusted",
    s.put("sub.pem", sub.cert),
    "-CRLfile",
    s.put("crls.pem", subCrl + rootCrl),
    s.put("leaf.pem", leaf),
  ];
  const bad = openssl(args(revoked.cert));
  assert.notEqual(bad.status, 0);
  assert.match(bad.out, /certificate revoked/);
  const good = openssl(args(fine.cert));
  assert.equal(good.status, 0, good.out);
  // Our own verification agrees.
  assert.equal(
    verifyChain({ chain: [revoked.cert, sub.cert], roots: root.cert, crls: [subCrl, rootCrl] }).error,
    "certificate revoked",
  );
  assert.equal(
    verifyChain({ chain: [fine.cert, sub.cert], roots: root.cert, crls: [subCrl, rootCrl] }).ok,
    true,
  );
  assert.equal(
    verifyChain({ chain: [fine.cert, sub.cert], roots: root.cert, crls: subCrl }).error,
    "unable to get certificate CRL",
  );
  assert.equal(
    verifyChain({ chain: [fine.cert, sub.cert], roots: root.cert, crls: subCrl, crlCheck: "leaf" }).ok,
    true,
  );
  const info = parseCrl(subCrl, sub.cert);
  assert.equal(info.number, "07");
  assert.equal(info.signatureValid, true);
  assert.equal(parseCrl(subCrl, root.cert).signatureValid, false);
  assert.deepEqual(info.revoked.map((r) => [r.serial, r.reason]), [[serial, "keyCompromise"]]);
  assert.ok(info.nextUpdate! > info.thisUpdate);
});

test("ca crl: we parse CRLs made by openssl ca; bad input is refused", async () => {
  using s = scratch();
  const root = createRootCa();
  const leaf = issueCertificate({ issuer: root, names: ["x.example"] });
  const serial = parseCertificate(leaf.cert).serial;
  s.put("index.txt", `R\t301231235959Z\t240101000000Z,superseded\t${serial}\tunknown\t/CN=x.example\n`);
  s.put("crlnumber", "1000\n");
  s.put(
    "ca.cnf",
    `[ca]\ndefault_ca=d\n[d]\ndatabase=${s.dir}/index.txt\ncrlnumber=${s.dir}/crlnumber\ndefault_md=sha256\ndefault_crl_days=3\n`,
  );
  const r = openssl([
    "ca",
    "-config",
    `${s.dir}/ca.cnf`,
    "-gencrl",
    "-cert",
    s.put("r.pem", root.cert),
    "-keyfile",
    s.put("k.pem", root.key),
  ]);
  assert.equal(r.status, 0, r.out);
  const info = parseCrl(r.out.slice(r.out.indexOf("-----BEGIN X509 CRL")), root.cert);
  assert.equal(info.signatureValid, true);
  assert.equal(info.number, "1000");
  assert.deepEqual(info.revoked.map((x) => [x.serial, x.reason]), [[serial, "superseded"]]);
  await rejectsWith(
    "INVALID_PEM",
    () => parseCrl("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"),
  );
  await rejectsWith(
    "INVALID_OPTION",
    () => createCrl({ issuer: root, number: 1, revoked: [{ serial: "zz", revokedAt: new Date() }] }),
  );
  await rejectsWith(
    "INVALID_OPTION",
    () =>
      createCrl({
        issuer: root,
        number: 1,
        revoked: [{ serial: "01", revokedAt: new Date(), reason: "bored" as "superseded" }],
      }),
  );
  await rejectsWith(
    "KEY_MISMATCH",
    () => createCrl({ issuer: { cert: root.cert, key: leaf.key }, number: 1, revoked: [] }),
  );
});
