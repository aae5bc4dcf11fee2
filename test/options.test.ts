/**
 * Bad options and malformed certificates throw at the call, before any I/O.
 */
import assert from "node:assert/strict";
import { connect, listen, TlsError, type TlsErrorCode, upgrade } from "../mod.ts";
import { TlsContext } from "../engine.ts";
import { certs } from "./support/certs.ts";
import { test } from "./harness.ts";

async function fails(code: TlsErrorCode, run: () => unknown): Promise<void> {
  try {
    await run();
  } catch (e) {
    assert.ok(e instanceof TlsError, `expected a TlsError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return;
  }
  assert.fail(`expected ${code}`);
}

// A port nobody listens on: a bad option must fail before connecting anywhere.
const port = 1;

test("wrong option types are INVALID_OPTION, before connecting", async () => {
  const bad: Record<string, unknown>[] = [
    { port: "443" },
    { port: 70000 },
    { port, hostname: 42 },
    { port, servername: "" },
    { port, caCerts: "not an array" },
    { port, alpnProtocols: "h2" },
    { port, alpnProtocols: [""] },
    { port, minVersion: "TLSv1.0" },
    { port, minVersion: "TLSv1.3", maxVersion: "TLSv1.2" },
    { port, handshakeTimeout: -1 },
    { port, rejectUnauthorized: "no" },
    { port, signal: {} },
    { port, groups: 5 },
    { port, cert: certs().client.cert }, // a cert without its key
  ];
  for (const options of bad) {
    await fails("INVALID_OPTION", () => connect(options as never));
  }
});

test("unknown ciphers and groups are INVALID_OPTION", async () => {
  await fails("INVALID_OPTION", () => connect({ port, ciphers: "NO-SUCH-CIPHER" }));
  await fails("INVALID_OPTION", () => connect({ port, ciphers: "TLS_NO_SUCH_SUITE" }));
  await fails("INVALID_OPTION", () => connect({ port, groups: "no-such-group" }));
});

test("malformed PEM is INVALID_PEM", async () => {
  const c = certs();
  await fails(
    "INVALID_PEM",
    () =>
      connect({ port, caCerts: ["-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"] }),
  );
  await fails("INVALID_PEM", () => connect({ port, caCerts: ["hello"] }));
  await fails("INVALID_PEM", () => listen({ port: 0, cert: "garbage", key: c.ecdsa.key }));
  await fails("INVALID_PEM", () => listen({ port: 0, cert: c.ecdsa.cert, key: c.ecdsa.cert }));
  const truncated = c.ecdsa.cert.replace(/\n[A-Za-z0-9+/=]{20,}\n/, "\nAAAA\n");
  await fails("INVALID_PEM", () => listen({ port: 0, cert: truncated, key: c.ecdsa.key }));
});

test("a key that does not match the certificate is KEY_MISMATCH", async () => {
  const c = certs();
  await fails("KEY_MISMATCH", () => listen({ port: 0, cert: c.ecdsa.cert, key: c.other.key }));
});

test("an encrypted key needs the right passphrase", async () => {
  const c = certs();
  await fails(
    "BAD_PASSPHRASE",
    () => listen({ port: 0, cert: c.ecdsa.cert, key: c.encryptedKey, passphrase: "wrong" }),
  );
  await fails("BAD_PASSPHRASE", () => listen({ port: 0, cert: c.ecdsa.cert, key: c.encryptedKey }));
  const server = listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: c.ecdsa.cert,
    key: c.encryptedKey,
    passphrase: "secret",
  });
  server.close();
});

test("a server needs a certificate; requestCert needs CAs to check against", async () => {
  const c = certs();
  await fails("INVALID_OPTION", () => listen({ port: 0 } as never));
  await fails(
    "INVALID_OPTION",
    () => listen({ port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key, requestCert: true }),
  );
  await fails("INVALID_OPTION", () => listen({ port: -1, cert: c.ecdsa.cert, key: c.ecdsa.key }));
  await fails(
    "INVALID_OPTION",
    () => new TlsContext({ sni: { "a.test": { cert: c.other.cert, key: c.other.key } } }),
  );
  await fails(
    "INVALID_OPTION",
    () => upgrade({} as never, { isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key }),
  );
  await fails("INVALID_OPTION", () => upgrade({} as never, { head: "x" as never }));
});
