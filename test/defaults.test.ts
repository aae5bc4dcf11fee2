/**
 * What our server accepts when nothing is configured, tried with
 * `openssl s_client` as a scanner would: TLS 1.2 suites with forward
 * secrecy and AEAD only; older suites only when `ciphers` asks for them.
 * Through both server APIs.
 */
import assert from "node:assert/strict";
import { serverApis } from "./support/both_apis.ts";
import { certs } from "./support/certs.ts";
import { sClient } from "./support/openssl.ts";
import { test } from "./harness.ts";

/** Runs s_client against `port`: the suite it negotiated, or "refused" when the handshake failed. */
export async function negotiated(port: number, args: string[]): Promise<string> {
  await using client = sClient(port, [
    "-brief",
    "-servername",
    "localhost",
    "-CAfile",
    certs().ca.certFile,
    ...args,
  ]);
  const outcome = await client.waitUntil(
    "the handshake's outcome",
    () => /Ciphersuite: (\S+)/.exec(client.stderr)?.[1] ?? (client.running ? null : "refused"),
  );
  client.endInput();
  return outcome;
}

for (const [api, serve] of Object.entries(serverApis)) {
  test(`${api}: the default TLS 1.2 suites are ECDHE with AEAD; RSA key exchange and CBC are refused`, async () => {
    const c = certs();
    using server = serve({ cert: c.rsa.cert, key: c.rsa.key });
    for (
      const suite of ["AES128-GCM-SHA256", "AES256-SHA", "ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA"]
    ) {
      assert.equal(await negotiated(server.port, ["-tls1_2", "-cipher", suite]), "refused", suite);
    }
    for (
      const suite of [
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-CHACHA20-POLY1305",
      ]
    ) {
      assert.equal(await negotiated(server.port, ["-tls1_2", "-cipher", suite]), suite);
    }
    assert.equal(await negotiated(server.port, ["-tls1_3"]), "TLS_AES_256_GCM_SHA384");
  });

  test(`${api}: \`ciphers\` still opens an older TLS 1.2 suite`, async () => {
    const c = certs();
    using server = serve({ cert: c.rsa.cert, key: c.rsa.key, ciphers: "AES128-GCM-SHA256" });
    assert.equal(
      await negotiated(server.port, ["-tls1_2", "-cipher", "AES128-GCM-SHA256"]),
      "AES128-GCM-SHA256",
    );
  });
}
