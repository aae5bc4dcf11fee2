import assert from "node:assert/strict";
import { test } from "../harness.ts";
import {
  createCertificate,
  createCsr,
  createIntermediateCa,
  createRootCa,
  createSelfSigned,
  generateKey,
  issueCertificate,
  parseCertificate,
  parseCsr,
  signCsr,
  verifyChain,
} from "../../ca.ts";
import { openssl, rejectsWith, scratch } from "./helpers.ts";

test("ca certs: root → intermediate (pathlen 0) → leaf verifies with openssl, fields shown by x509 -text", () => {
  using s = scratch();
  const root = createRootCa({
    subject: { CN: "Test Root", O: "jsec" },
    keyType: { type: "rsa", bits: 2048 },
  });
  const sub = createIntermediateCa({
    issuer: root,
    subject: "Test Issuing CA",
    keyType: { type: "ec", curve: "P-384" },
  });
  const leaf = issueCertificate({
    issuer: sub,
    names: ["localhost", "*.dev.local", "127.0.0.1", "::1", "ops@example.com", "spiffe://example/svc"],
    usage: "both",
    days: 30,
    ocspUrl: "http://127.0.0.1:9999/",
    crlUrl: "http://127.0.0.1:9999/ca.crl",
  });
  const rootPath = s.put("root.pem", root.cert),
    subPath = s.put("sub.pem", sub.cert),
    leafPath = s.put("leaf.pem", leaf.cert);
  const v = openssl([
    "verify",
    "-CAfile",
    rootPath,
    "-untrusted",
    subPath,
    "-purpose",
    "sslserver",
    leafPath,
  ]);
  assert.equal(v.status, 0, v.out);
  assert.equal(
    openssl(["verify", "-CAfile", rootPath, "-untrusted", subPath, "-purpose", "sslclient", leafPath])
      .status,
    0,
  );
  const text = openssl(["x509", "-in", leafPath, "-noout", "-text"]).out;
  for (
    const want of [
      "CA:FALSE",
      "Digital Signature",
      "TLS Web Server Authentication, TLS Web Client Authentication",
      "DNS:localhost",
      "DNS:*.dev.local",
      "IP Address:127.0.0.1",
      "IP Address:0:0:0:0:0:0:0:1",
      "email:ops@example.com",
      "URI:spiffe://example/svc",
      "OCSP - URI:http://127.0.0.1:9999/",
      "URI:http://127.0.0.1:9999/ca.crl",
      "Subject: CN=localhost",
      "Issuer: CN=Test Issuing CA",
    ]
    // OpenSSL 4.0 prints names as "CN=x", older versions as "CN = x".
  ) assert.ok(text.replaceAll(" = ", "=").includes(want), `x509 -text lacks ${want}`);
  const subText = openssl(["x509", "-in", subPath, "-noout", "-text"]).out;
  assert.ok(subText.includes("CA:TRUE, pathlen:0"), subText);
  assert.ok(subText.includes("Certificate Sign, CRL Sign"), subText);
  // A leaf signed by the pathlen:0 intermediate cannot be a CA; a further intermediate is refused.
  assert.throws(() => createIntermediateCa({ issuer: sub }), { code: "INVALID_OPTION" });
  const info = parseCertificate(leaf.cert);
  assert.equal(info.isCa, false);
  assert.deepEqual(info.extKeyUsage, ["serverAuth", "clientAuth"]);
  assert.equal(info.publicKey.type, "EC");
  assert.equal(info.issuer.commonName, "Test Issuing CA");
  assert.ok(Math.abs(info.notAfter.getTime() - info.notBefore.getTime() - 30 * 86_400_000) < 1000);
  const fp = openssl(["x509", "-in", leafPath, "-noout", "-fingerprint", "-sha256"]).out;
  assert.ok(fp.includes(info.fingerprints.sha256), fp);
  const serial = openssl(["x509", "-in", leafPath, "-noout", "-serial"]).out.trim();
  assert.equal(serial, `serial=${info.serial}`);
  const rootInfo = parseCertificate(root.cert);
  assert.equal(rootInfo.isCa, true);
  assert.equal(rootInfo.selfIssued, true);
  assert.equal(rootInfo.publicKey.bits, 2048);
  assert.equal(rootInfo.subject.text, "O=jsec,CN=Test Root");
});

test("ca certs: our parser reads certificates and CSRs made by openssl req", () => {
  using s = scratch();
  const keyPath = s.put("k.pem", generateKey({ type: "rsa" }));
  const made = openssl([
    "req",
    "-x509",
    "-new",
    "-utf8",
    "-key",
    keyPath,
    "-days",
    "10",
    "-subj",
    "/C=NL/O=Example Ü/CN=openssl.test",
    "-addext",
    "subjectAltName=DNS:openssl.test,IP:10.0.0.1",
    "-addext",
    "extendedKeyUsage=serverAuth",
  ]);
  assert.equal(made.status, 0, made.out);
  const info = parseCertificate(made.out);
  assert.equal(info.subject.commonName, "openssl.test");
  assert.deepEqual(info.subject.entries, [["C", "NL"], ["O", "Example Ü"], ["CN", "openssl.test"]]);
  assert.deepEqual(info.sans, [{ type: "DNS", value: "openssl.test" }, { type: "IP", value: "10.0.0.1" }]);
  assert.equal(info.publicKey.type, "RSA");
  assert.equal(info.isCa, true); // openssl req -x509 marks it CA:TRUE
  assert.deepEqual(info.extKeyUsage, ["serverAuth"]);
  const der = openssl(["x509", "-in", s.put("c.pem", made.out), "-outform", "DER"]).stdout;
  assert.equal(parseCertificate(der).serial, info.serial);
  const csr = openssl([
    "req",
    "-new",
    "-key",
    keyPath,
    "-subj",
    "/CN=csr.test",
    "-addext",
    "subjectAltName=DNS:csr.test",
  ]);
  const c = parseCsr(csr.out);
  assert.equal(c.signatureValid, true);
  assert.equal(c.subject.commonName, "csr.test");
  assert.deepEqual(c.sans, [{ type: "DNS", value: "csr.test" }]);
});

test("ca certs: CSRs pass openssl req -verify; signing copies SANs only when allowed", async () => {
  using s = scratch();
  const root = createRootCa();
  for (const keyType of [{ type: "ec" }, { type: "rsa" }, { type: "ed25519" }] as const) {
    const key = generateKey(keyType);
    const csr = createCsr({
      key,
      subject: { CN: "svc.internal", O: "Acme, Inc" },
      names: ["svc.internal", "10.1.2.3"],
    });
    const r = openssl(["req", "-verify", "-in", s.put("r.csr", csr), "-noout", "-text"]);
    assert.equal(r.status, 0, r.out);
    assert.ok(r.out.includes("DNS:svc.internal, IP Address:10.1.2.3"), r.out);
    const copied = parseCertificate(
      signCsr({ csr, issuer: root, copySans: true, extKeyUsage: ["serverAuth"] }),
    );
    assert.deepEqual(copied.sans.map((x) => x.value), ["svc.internal", "10.1.2.3"]);
    assert.equal(copied.subject.text, "CN=svc.internal"); // the first approved name, not the CSR's subject
    const notCopied = parseCertificate(signCsr({ csr, issuer: root, names: ["other.internal"] }));
    assert.deepEqual(notCopied.sans.map((x) => x.value), ["other.internal"]);
    assert.equal(notCopied.subject.text, "CN=other.internal");
    assert.equal(notCopied.publicKey.pem, parseCsr(csr).publicKey.pem);
  }
  // A CSR whose signature was tampered with.
  const good = createCsr({ key: generateKey({ type: "rsa" }), names: ["victim.example"] });
  const der = openssl(["req", "-in", s.put("g.csr", good), "-outform", "DER"]).stdout;
  der[der.length - 5] ^= 0xff;
  assert.equal(parseCsr(der).signatureValid, false);
  assert.match(
    openssl(["req", "-verify", "-inform", "DER", "-in", s.put("bad.der", der), "-noout"]).out,
    /verify failure|did not match/,
  );
  await rejectsWith("BAD_SIGNATURE", () => signCsr({ csr: der, issuer: root, copySans: true }));
  await rejectsWith(
    "INVALID_PEM",
    () => parseCsr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----"),
  );
  await rejectsWith("INVALID_PEM", () => parseCsr("hello"));
});

test("ca certs: verifyChain checks trust, host name, purpose and time", async () => {
  const root = createRootCa();
  const other = createRootCa({ subject: "Other Root" });
  const leaf = issueCertificate({ issuer: root, names: ["api.local", "192.0.2.1"], days: 10 });
  const ok = verifyChain({ chain: leaf.cert, roots: root.cert, hostname: "api.local", purpose: "sslserver" });
  assert.equal(ok.ok, true, ok.error);
  assert.equal(ok.chainSerials.length, 2);
  assert.equal(verifyChain({ chain: leaf.cert, roots: root.cert, hostname: "192.0.2.1" }).ok, true);
  const wrongHost = verifyChain({ chain: leaf.cert, roots: root.cert, hostname: "evil.local" });
  assert.equal(wrongHost.ok, false);
  assert.equal(wrongHost.code, 62); // X509_V_ERR_HOSTNAME_MISMATCH (texts differ between OpenSSL versions)
  assert.match(wrongHost.error, /hostname mismatch/i);
  assert.equal(verifyChain({ chain: leaf.cert, roots: other.cert }).code, 20); // unable to get local issuer
  assert.equal(verifyChain({ chain: leaf.cert, roots: root.cert, purpose: "sslclient" }).code, 26); // purpose
  const later = verifyChain({
    chain: leaf.cert,
    roots: root.cert,
    time: new Date(Date.now() + 30 * 86_400_000),
  });
  assert.equal(later.code, 10);
  assert.equal(later.error, "certificate has expired");
  const earlier = verifyChain({
    chain: leaf.cert,
    roots: root.cert,
    time: new Date(Date.now() - 86_400_000),
  });
  assert.equal(earlier.code, 9);
  assert.match(earlier.error ?? "", /^certificate is not yet valid/); // 4.0 adds "or the system clock is incorrect"
  await rejectsWith("INVALID_PEM", () => verifyChain({ chain: "garbage", roots: root.cert }));
  await rejectsWith("INVALID_OPTION", () => verifyChain({ chain: leaf.cert }));
});

test("ca certs: leaves are never CA:TRUE; bad options give clear errors", async () => {
  const root = createRootCa();
  const self = createSelfSigned({ names: ["localhost"] });
  assert.equal(parseCertificate(self.cert).isCa, false);
  assert.equal(parseCertificate(self.cert).selfIssued, true);
  const leaf = issueCertificate({ issuer: root, names: ["a.example"] });
  await rejectsWith("INVALID_OPTION", () => issueCertificate({ issuer: leaf, names: ["b.example"] })); // a leaf cannot issue
  await rejectsWith("INVALID_OPTION", () => issueCertificate({ issuer: root, names: ["bad name.example"] }));
  await rejectsWith(
    "INVALID_OPTION",
    () => issueCertificate({ issuer: root, names: ["999.1.1.1x"], keyUsage: ["keyCertSign"] }),
  );
  await rejectsWith(
    "INVALID_OPTION",
    () => issueCertificate({ issuer: root, names: ["a.example"], extKeyUsage: ["flying"] }),
  );
  await rejectsWith("INVALID_OPTION", () => issueCertificate({ issuer: root, names: ["a\nb"] }));
  await rejectsWith(
    "INVALID_OPTION",
    () => issueCertificate({ issuer: root, names: [] as string[], subject: {} }),
  );
  await rejectsWith(
    "INVALID_OPTION",
    () => createCertificate({ key: generateKey(), names: ["x.example"], days: -1 }),
  );
  await rejectsWith(
    "INVALID_OPTION",
    () => createCertificate({ key: generateKey(), names: ["x.example"], serial: "xyz" }),
  );
  await rejectsWith(
    "INVALID_OPTION",
    () => createCertificate({ key: generateKey(), subject: { NOPE: "x" } }),
  );
  await rejectsWith(
    "KEY_MISMATCH",
    () => issueCertificate({ issuer: { cert: root.cert, key: generateKey() }, names: ["a.example"] }),
  );
  await rejectsWith(
    "INVALID_PEM",
    () => issueCertificate({ issuer: { cert: "not pem", key: root.key }, names: ["a.example"] }),
  );
  await rejectsWith(
    "INVALID_PEM",
    () => parseCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
  );
  // Validity is clamped to the issuer's.
  const shortRoot = createRootCa({ days: 5 });
  const clamped = parseCertificate(issueCertificate({ issuer: shortRoot, names: ["c.example"] }).cert);
  assert.ok(clamped.notAfter <= parseCertificate(shortRoot.cert).notAfter);
});
