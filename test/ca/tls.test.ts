import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "../harness.ts";
import { connect, listen } from "../../mod.ts";
import {
  CertificateAuthority,
  createOcspRequest,
  ocspErrorResponse,
  OcspStapler,
  parseOcspResponse,
  serveOcsp,
} from "../../ca.ts";
import { opensslAsync, rejectsWith, type Scratch, scratch, sServer } from "./helpers.ts";

/** s_server arguments presenting `pair` (written to files in `s`). */
function presenting(s: Scratch, pair: { cert: string; key: string }): string[] {
  return [
    "-cert",
    s.put(`${Math.random()}.pem`, pair.cert),
    "-key",
    s.put(`${Math.random()}-k.pem`, pair.key),
  ];
}

test("ca tls: our server staples a fresh OCSP response that openssl s_client -status sees", async () => {
  using s = scratch();
  const ca = await CertificateAuthority.init(join(s.dir, "ca"));
  const responder = await serveOcsp(ca);
  const leaf = await ca.issue({ names: ["localhost", "127.0.0.1"], ocspUrl: responder.url });
  const stapler = await OcspStapler.start({ cert: leaf.cert, issuer: ca.cert });
  const server = listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: leaf.cert,
    key: leaf.key,
    ocspStaple: stapler,
  });
  try {
    const port = (server.addr as { port: number }).port;
    const caPath = s.put("ca.pem", ca.cert);
    for (const version of ["-tls1_2", "-tls1_3"]) {
      const accepted = server.accept();
      const c = await opensslAsync([
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        version,
        "-status",
        "-CAfile",
        caPath,
        "-verify_return_error",
      ], "");
      (await accepted).close();
      assert.match(c.out, /OCSP Response Status: successful/, c.out);
      assert.match(c.out, /Cert Status: good/);
      assert.match(c.out, /Verify return code: 0 \(ok\)/);
    }
    // A refresh publishes a new response to the running server.
    const before = stapler.response!;
    await new Promise((r) => setTimeout(r, 1100));
    await stapler.refresh();
    assert.notDeepEqual(stapler.response, before);
    const accepted = server.accept();
    const conn = await connect({ hostname: "127.0.0.1", port, caCerts: [ca.cert], requireOcsp: true });
    const info = await conn.handshake();
    assert.deepEqual(info.ocspResponse, stapler.response);
    conn.close();
    (await accepted).close();
  } finally {
    stapler.close();
    server.close();
    await responder.close();
  }
}, { timeout: 60_000 });

test("ca tls: a client asks for, sees and requires a stapled response from openssl s_server", async () => {
  using s = scratch();
  const ca = await CertificateAuthority.init(join(s.dir, "ca"));
  const good = await ca.issue({ names: ["localhost"] });
  const bad = await ca.issue({ names: ["localhost"] });
  await ca.revoke(bad.serial, "keyCompromise");
  const staple = (cert: string) =>
    s.put(`${Math.random()}.der`, ca.respond(createOcspRequest(cert, ca.cert, { nonce: false })));
  const servers = await Promise.all([
    sServer([...presenting(s, good), "-status_file", staple(good.cert), "-www"]),
    sServer([...presenting(s, bad), "-status_file", staple(bad.cert), "-www"]),
    sServer([...presenting(s, good), "-www"]),
  ]);
  const [withGood, withRevoked, without] = servers;
  const base = { hostname: "127.0.0.1", servername: "localhost", caCerts: [ca.cert] };
  try {
    const plain = await connect({ ...base, port: withGood.port });
    assert.equal((await plain.handshake()).ocspResponse, null); // not asked: none sent
    plain.close();
    const asked = await connect({ ...base, port: withGood.port, requestOcsp: true });
    const info = await asked.handshake();
    asked.close();
    assert.ok(info.ocspResponse);
    const parsed = parseOcspResponse(info.ocspResponse, ca.cert);
    assert.equal(parsed.verified, true);
    assert.equal(parsed.responses[0].status, "good");
    const required = await connect({ ...base, port: withGood.port, requireOcsp: true });
    assert.equal((await required.handshake()).verified, true);
    required.close();
    // A stapled revocation fails the handshake even when the response was only requested.
    await rejectsWith(
      "CERT_REVOKED",
      async () => (await connect({ ...base, port: withRevoked.port, requestOcsp: true })).handshake(),
    );
    for (const maxVersion of ["TLSv1.2", "TLSv1.3"] as const) {
      const required12 = await connect({ ...base, port: withGood.port, requireOcsp: true, maxVersion });
      assert.equal((await required12.handshake()).protocol, maxVersion);
      required12.close();
      await rejectsWith(
        "CERT_REVOKED",
        async () =>
          (await connect({ ...base, port: withRevoked.port, requireOcsp: true, maxVersion })).handshake(),
      );
    }
    const missing = await rejectsWith(
      "CERT_INVALID",
      async () => (await connect({ ...base, port: without.port, requireOcsp: true })).handshake(),
    );
    // The message names the option the caller actually set.
    assert.match(missing.message, /no valid, current, good stapled OCSP response \(`requireOcsp: true`\)/);
  } finally {
    for (const server of servers) server.stop();
  }
}, { timeout: 60_000 });

test("ca tls: a client checks CRLs during verification", async () => {
  using s = scratch();
  const ca = await CertificateAuthority.init(join(s.dir, "ca"));
  const good = await ca.issue({ names: ["localhost"] });
  const bad = await ca.issue({ names: ["localhost"] });
  await ca.revoke(bad.cert, "superseded");
  const crl = await ca.crl();
  const servers = await Promise.all([good, bad].map((pair) => sServer([...presenting(s, pair), "-www"])));
  const base = { hostname: "127.0.0.1", servername: "localhost", caCerts: [ca.cert], crls: [crl] };
  try {
    const ok = await connect({ ...base, port: servers[0].port });
    assert.equal((await ok.handshake()).verified, true);
    ok.close();
    await rejectsWith(
      "CERT_REVOKED",
      async () => (await connect({ ...base, port: servers[1].port })).handshake(),
    );
    // Without the CRL the revoked certificate still passes (the CRL is what we check).
    const unchecked = await connect({ ...base, crls: undefined, port: servers[1].port });
    assert.equal((await unchecked.handshake()).verified, true);
    unchecked.close();
    await rejectsWith("INVALID_PEM", () => connect({ ...base, crls: ["not a crl"], port: servers[0].port }));
  } finally {
    for (const server of servers) server.stop();
  }
}, { timeout: 60_000 });

test("ca tls: the stapler refreshes before nextUpdate and tells its subscribers", async () => {
  using s = scratch();
  const ca = await CertificateAuthority.init(join(s.dir, "ca"));
  const leaf = await ca.issue({ names: ["localhost"] });
  let fetches = 0;
  const stapler = await OcspStapler.start({
    cert: leaf.cert,
    issuer: ca.cert,
    fetch: (request) => (fetches++, ca.respond(request, { validity: 2 })), // nextUpdate in 2 s: refresh after ~1 s
  });
  try {
    const first = stapler.response;
    const updated = new Promise<Uint8Array>((resolve) => stapler.subscribe(resolve));
    const next = await updated;
    assert.equal(fetches, 2);
    assert.notDeepEqual(next, first);
    assert.equal(parseOcspResponse(next, ca.cert).responses[0].status, "good");
    await rejectsWith("INVALID_OPTION", () => OcspStapler.start({ cert: leaf.cert, issuer: ca.cert })); // no OCSP URL in it
    await rejectsWith(
      "BAD_SIGNATURE",
      () =>
        OcspStapler.start({
          cert: leaf.cert,
          issuer: ca.cert,
          fetch: () => ocspErrorResponse("unauthorized"),
        }),
    );
  } finally {
    stapler.close();
  }
}, { timeout: 30_000 });
