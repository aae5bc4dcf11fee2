/**
 * RFC 7507: a ClientHello with TLS_FALLBACK_SCSV offering less than our
 * highest version is answered with inappropriate_fallback, TLS 1.0/1.1 ones
 * included (libssl alone says protocol_version to those). Tried with
 * `openssl s_client -fallback_scsv` against both server APIs.
 */
import assert from "node:assert/strict";
import { serverApis } from "./support/both_apis.ts";
import { sClientTo } from "./support/openssl.ts";
import { startServer } from "./support/server.ts";
import { test } from "./harness.ts";

/** s_client with `args`: "ok" once the handshake completed, else the alert it reports (or its last error line). */
async function outcome(port: number, args: string[]): Promise<string> {
  await using client = sClientTo(port, ["-brief", ...args]);
  const result = await client.waitUntil("the handshake's outcome", () => {
    if (/CONNECTION ESTABLISHED/.test(client.stderr)) return "ok";
    if (client.running) return null;
    return /alert (inappropriate fallback|protocol version)|alert number (86|70)/.exec(client.stderr)?.[0] ??
      client.stderr.trim().split("\n").pop() ?? "failed";
  });
  client.endInput();
  return result;
}

// TLS 1.0/1.1 need security level 0 in OpenSSL 3 even to be offered.
const LEGACY = ["-cipher", "DEFAULT@SECLEVEL=0"];

for (const [api, serve] of Object.entries(serverApis)) {
  test(`${api}: a fallback SCSV below our maximum gets inappropriate_fallback, TLS 1.1 included`, async () => {
    using server = serve();
    assert.match(
      await outcome(server.port, ["-tls1_2", "-fallback_scsv"]),
      /inappropriate fallback|number 86/,
    );
    assert.match(
      await outcome(server.port, ["-tls1_1", "-fallback_scsv", ...LEGACY]),
      /inappropriate fallback|number 86/,
    );
    // Without the SCSV, TLS 1.2 is served and TLS 1.1 refused as ever; at our maximum the SCSV is harmless.
    assert.equal(await outcome(server.port, ["-tls1_2"]), "ok");
    assert.match(await outcome(server.port, ["-tls1_1", ...LEGACY]), /protocol version|number 70/);
    assert.equal(await outcome(server.port, ["-tls1_3", "-fallback_scsv"]), "ok");
  });
}

test("a server capped at TLS 1.2 serves a TLS 1.2 fallback; our side reports PROTOCOL_VERSION for a refused one", async () => {
  {
    using server = serverApis.TlsConn({ maxVersion: "TLSv1.2" });
    assert.equal(await outcome(server.port, ["-tls1_2", "-fallback_scsv"]), "ok");
  }
  using server = startServer();
  const refused = server.nextError();
  await outcome(server.port, ["-tls1_2", "-fallback_scsv"]);
  const error = await refused;
  assert.equal(error.code, "PROTOCOL_VERSION", error.message);
  assert.match(error.message, /inappropriate fallback/);
});
