import assert from "node:assert/strict";
import { test } from "../harness.ts";
import {
  createRootCa,
  exportKey,
  fromPkcs12,
  generateKey,
  issueCertificate,
  keyInfo,
  toPkcs12,
} from "../../ca.ts";
import { openssl, rejectsWith, scratch } from "./helpers.ts";

test("ca keys: RSA, EC and Ed25519 keys are read by openssl pkey", () => {
  using s = scratch();
  const cases = [
    [{ type: "rsa", bits: 2048 }, "RSA", 2048, "Private-Key: (2048 bit"],
    [{ type: "ec", curve: "P-256" }, "EC", 256, "NIST CURVE: P-256"],
    [{ type: "ec", curve: "P-384" }, "EC", 384, "NIST CURVE: P-384"],
    [{ type: "ec", curve: "P-521" }, "EC", 521, "NIST CURVE: P-521"],
    [{ type: "ed25519" }, "Ed25519", 256, "ED25519 Private-Key"],
  ] as const;
  for (const [spec, type, bits, text] of cases) {
    const key = generateKey(spec);
    assert.match(key, /^-----BEGIN PRIVATE KEY-----/);
    const info = keyInfo(key);
    assert.equal(info.type, type);
    assert.equal(info.bits, bits);
    const r = openssl(["pkey", "-in", s.put("k.pem", key), "-noout", "-text"]);
    assert.equal(r.status, 0, r.out);
    assert.ok(r.out.includes(text), r.out.slice(0, 200));
  }
});

test("ca keys: PKCS#8, traditional, public, DER and encrypted forms round-trip through openssl", () => {
  using s = scratch();
  const key = generateKey({ type: "ec" });
  const locked = exportKey(key, { newPassphrase: "s3cret" });
  assert.match(locked, /BEGIN ENCRYPTED PRIVATE KEY/);
  const r = openssl(["pkey", "-in", s.put("enc.pem", locked), "-passin", "pass:s3cret"]);
  assert.equal(r.status, 0, r.out);
  assert.equal(r.out.trim(), key.trim());
  assert.notEqual(openssl(["pkey", "-in", s.put("enc.pem", locked), "-passin", "pass:wrong"]).status, 0);
  const der = exportKey(locked, { passphrase: "s3cret", format: "pkcs8-der" });
  assert.ok(der instanceof Uint8Array);
  assert.equal(openssl(["pkey", "-inform", "DER", "-in", s.put("k.der", der), "-noout"]).status, 0);
  assert.match(exportKey(key, { format: "traditional-pem" }), /BEGIN EC PRIVATE KEY/);
  assert.match(
    exportKey(generateKey({ type: "rsa" }), { format: "traditional-pem" }),
    /BEGIN RSA PRIVATE KEY/,
  );
  const pub = exportKey(key, { format: "public-pem" });
  assert.equal(openssl(["pkey", "-pubin", "-in", s.put("pub.pem", pub), "-noout"]).status, 0);
  assert.equal(keyInfo(pub).isPrivate, false);
  // Keys written by openssl come back in.
  const rsa = openssl([
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-aes-256-cbc",
    "-pass",
    "pass:pw",
  ]);
  assert.equal(keyInfo(rsa.out, "pw").type, "RSA");
  const derKey =
    openssl(["pkey", "-in", s.put("rsa.pem", rsa.out), "-passin", "pass:pw", "-outform", "DER"]).stdout;
  assert.equal(keyInfo(derKey).bits, 2048);
  const encDer = exportKey(key, { newPassphrase: "x", format: "pkcs8-der" });
  assert.equal(keyInfo(encDer, "x").type, "EC");
});

test("ca keys: bad input gives clear errors", async () => {
  const locked = exportKey(generateKey(), { newPassphrase: "right" });
  await rejectsWith("BAD_PASSPHRASE", () => keyInfo(locked, "wrong"));
  await rejectsWith("BAD_PASSPHRASE", () => keyInfo(locked));
  await rejectsWith(
    "INVALID_PEM",
    () => keyInfo("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"),
  );
  await rejectsWith("INVALID_PEM", () => keyInfo(new Uint8Array([1, 2, 3])));
  await rejectsWith("INVALID_PEM", () => keyInfo(""));
  await rejectsWith("INVALID_OPTION", () => generateKey({ type: "rsa", bits: 1024 as 2048 }));
  await rejectsWith("INVALID_OPTION", () => generateKey({ type: "dsa" } as never));
  await rejectsWith("INVALID_OPTION", () => exportKey(generateKey(), { format: "jwk" as "pkcs8-pem" }));
  await rejectsWith(
    "INVALID_OPTION",
    () => exportKey(exportKey(generateKey(), { format: "public-pem" }), { format: "pkcs8-pem" }),
  );
  await rejectsWith(
    "INVALID_OPTION",
    () => exportKey(generateKey({ type: "ed25519" }), { format: "traditional-pem" }),
  );
});

test("ca keys: PKCS#12 bundles are read by openssl pkcs12, and openssl's are read by us", async () => {
  using s = scratch();
  const root = createRootCa();
  const leaf = issueCertificate({ issuer: root, names: ["localhost"] });
  const p12 = toPkcs12({ key: leaf.key, cert: leaf.cert + root.cert, passphrase: "pw", name: "my leaf" });
  const path = s.put("b.p12", p12);
  const r = openssl(["pkcs12", "-in", path, "-passin", "pass:pw", "-nodes"]);
  assert.equal(r.status, 0, r.out);
  assert.ok(r.out.includes("friendlyName: my leaf"), r.out);
  assert.equal((r.out.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
  assert.notEqual(openssl(["pkcs12", "-in", path, "-passin", "pass:nope", "-nodes"]).status, 0);
  const back = fromPkcs12(p12, "pw");
  assert.equal(back.cert.trim(), leaf.cert.trim());
  assert.equal(back.chain.length, 1);
  assert.equal(keyInfo(back.key).type, "EC");
  await rejectsWith("BAD_PASSPHRASE", () => fromPkcs12(p12, "nope"));
  await rejectsWith("INVALID_PEM", () => fromPkcs12(new Uint8Array([48, 3, 2, 1, 0]), "pw"));
  await rejectsWith(
    "KEY_MISMATCH",
    () => toPkcs12({ key: generateKey(), cert: leaf.cert, passphrase: "pw" }),
  );
  const theirs = openssl([
    "pkcs12",
    "-export",
    "-inkey",
    s.put("k.pem", leaf.key),
    "-in",
    s.put("c.pem", leaf.cert),
    "-certfile",
    s.put("r.pem", root.cert),
    "-passout",
    "pass:pw2",
  ]);
  assert.equal(theirs.status, 0, theirs.out);
  const opened = fromPkcs12(theirs.stdout, "pw2");
  assert.equal(opened.cert.trim(), leaf.cert.trim());
  assert.equal(opened.chain[0].trim(), root.cert.trim());
});
