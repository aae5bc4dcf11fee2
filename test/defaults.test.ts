/**
 * What our server accepts when nothing is configured, tried with
 * `openssl s_client` as a scanner would: TLS 1.2 suites with forward
 * secrecy and AEAD only; older suites only when `ciphers` asks for them;
 * finite-field DHE only with `dhparam`.
 * Through both server APIs.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { TlsContext } from "../engine.ts";
import { serverApis } from "./support/both_apis.ts";
import { certs } from "./support/certs.ts";
import { sClientTo } from "./support/openssl.ts";
import { test } from "./harness.ts";

/** Runs s_client against `port`: the suite it negotiated, or "refused" when the handshake failed. */
export async function negotiated(port: number, args: string[]): Promise<string> {
  await using client = sClientTo(port, ["-brief", ...args]);
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

/** ffdhe2048 from RFC 7919, as `openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048` writes it. */
function ffdhe2048Pem(): string {
  return execFileSync(
    "openssl",
    ["genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048"],
    {
      encoding: "utf8",
    },
  );
}

for (const [api, serve] of Object.entries(serverApis)) {
  test(`${api}: DHE is off by default; dhparam "auto" or a PEM turns it on`, async () => {
    const c = certs();
    const rsa = { cert: c.rsa.cert, key: c.rsa.key };
    const dhe = ["-tls1_2", "-cipher", "DHE-RSA-AES256-GCM-SHA384"];
    {
      using server = serve(rsa);
      assert.equal(await negotiated(server.port, dhe), "refused");
    }
    for (const dhparam of ["auto", ffdhe2048Pem()]) {
      using server = serve({ ...rsa, dhparam });
      assert.equal(await negotiated(server.port, dhe), "DHE-RSA-AES256-GCM-SHA384");
      // ECDHE still comes first for a client that offers both.
      assert.equal(await negotiated(server.port, ["-tls1_2"]), "ECDHE-RSA-AES256-GCM-SHA384");
    }
  });
}

test("dhparam is for servers, and a PEM must hold DH parameters", () => {
  assert.throws(() => new TlsContext({ dhparam: "auto" }), { code: "INVALID_OPTION" });
  const c = certs();
  assert.throws(() => new TlsContext({ isServer: true, ...c.rsa, dhparam: c.rsa.cert }), {
    code: "INVALID_PEM",
  });
});
