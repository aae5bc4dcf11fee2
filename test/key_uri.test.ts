/**
 * `key` as a URI loaded through OpenSSL's OSSL_STORE (OpenSSL 3.0+): a
 * `file:` URI serves TLS to `openssl s_client`, which verifies the chain; an
 * encrypted key behind a URI takes `passphrase`; a URI naming no key, a
 * mismatching key and a malformed URI fail with stable codes before any I/O;
 * a `pkcs11:` URI without the pkcs11 provider installed is `UNSUPPORTED`.
 * On OpenSSL 1.1.1 every key URI is `UNSUPPORTED`. The PKCS#11 token itself
 * (SoftHSM2 + pkcs11-provider) is exercised by the interop case `pkcs11`.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { listen, opensslVersion, TlsError, type TlsErrorCode } from "../mod.ts";
import { TlsContext } from "../engine.ts";
import { certs } from "./support/certs.ts";
import { sClientTo } from "./support/openssl.ts";
import { startServer } from "./support/server.ts";
import { test } from "./harness.ts";

const providers = !/^OpenSSL 1\./.test(opensslVersion());
const enc = new TextEncoder();

/** The code `run` throws (synchronously: bad keys fail at the call). */
function codeOf(run: () => unknown): TlsErrorCode {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof TlsError, `expected a TlsError, got ${e}`);
    return e.code;
  }
  assert.fail("expected a TlsError");
}

/** A server context with the ECDSA test certificate and `key`. */
const serverWith = (key: string, passphrase?: string) => () =>
  new TlsContext({ isServer: true, cert: certs().ecdsa.cert, key, passphrase }).free();

test("a file: key URI serves TLS that openssl s_client verifies", async () => {
  const c = certs();
  const key = `file:${c.ecdsa.keyFile}`;
  if (!providers) return assert.equal(codeOf(serverWith(key)), "UNSUPPORTED");
  using server = startServer({ key }, async (conn) => {
    await conn.write(enc.encode("served by a key URI\n"));
    conn.close();
  });
  await using client = sClientTo(server.port, ["-verify_return_error", "-quiet"]);
  await client.waitFor(/served by a key URI/, "stdout");
  assert.deepEqual(server.errors, []);
});

test("an encrypted key behind a URI takes the passphrase; a wrong or missing one is BAD_PASSPHRASE", () => {
  const c = certs();
  const file = join(c.dir, "encrypted.key");
  writeFileSync(file, c.encryptedKey, { mode: 0o600 });
  const key = `file:${file}`;
  if (!providers) return assert.equal(codeOf(serverWith(key, "secret")), "UNSUPPORTED");
  serverWith(key, "secret")();
  assert.equal(codeOf(serverWith(key, "wrong")), "BAD_PASSPHRASE");
  assert.equal(codeOf(serverWith(key)), "BAD_PASSPHRASE");
});

test("a key URI that names no key is NOT_FOUND; another certificate's key is KEY_MISMATCH", () => {
  const c = certs();
  const expect = (code: TlsErrorCode) => providers ? code : "UNSUPPORTED";
  assert.equal(codeOf(serverWith(`file:${join(c.dir, "no-such.key")}`)), expect("NOT_FOUND"));
  assert.equal(codeOf(serverWith(`file:${c.ca.certFile}`)), expect("NOT_FOUND")); // a certificate, no key
  assert.equal(codeOf(serverWith("nosuchscheme:whatever")), expect("NOT_FOUND"));
  assert.equal(codeOf(serverWith(`file:${c.other.keyFile}`)), expect("KEY_MISMATCH"));
});

test("a pkcs11: URI needs the pkcs11 provider and an existing token", () => {
  const code = codeOf(serverWith("pkcs11:token=jsec-no-such-token;object=tls;type=private?pin-value=1234"));
  // This host may or may not have pkcs11-provider: without it UNSUPPORTED, with it no such token.
  assert.ok(code === "UNSUPPORTED" || (providers && code === "NOT_FOUND"), code);
});

test("a key that is neither PEM nor a URI is refused at the call, before any I/O", () => {
  const c = certs();
  for (
    const key of [
      "pkcs11 token=x",
      "file:",
      ":nothing",
      "file:/a b",
      "9p:x",
      "file:/x\n",
      "pkcs11:%%%",
      "file:/x%zz",
    ]
  ) {
    assert.equal(codeOf(() => listen({ port: 1, cert: c.ecdsa.cert, key })), "INVALID_OPTION", key);
  }
  assert.equal(
    codeOf(() => listen({ port: 1, cert: c.ecdsa.cert, key: "-----BEGIN PRIVATE KEY-----" })),
    "INVALID_PEM",
  );
  const sni = { "other.test": { cert: c.other.cert, key: "not a uri" } };
  assert.equal(
    codeOf(() => listen({ port: 1, cert: c.ecdsa.cert, key: c.ecdsa.key, sni })),
    "INVALID_OPTION",
  );
});

test("an sni certificate's key may be a URI too", () => {
  const c = certs();
  const sni = { "other.test": { cert: c.other.cert, key: `file:${c.other.keyFile}` } };
  const make = () => new TlsContext({ isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key, sni }).free();
  if (!providers) return assert.equal(codeOf(make), "UNSUPPORTED");
  make();
});
