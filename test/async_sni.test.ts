/**
 * `sni` as a function: the server chooses its certificate per connection by
 * the ClientHello, at once or after an `await`. Against `openssl s_client`
 * (`-servername`, `-sigalgs` to prove the RSA/ECDSA choice) and our client:
 * what the hello carries; a null answer refused with `unrecognized_name`; a
 * rejection failing the server's handshake; a promise that never settles
 * ending in `HANDSHAKE_TIMEOUT`; and no native object left behind.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import {
  type ClientHello,
  createSecureContext,
  type KeyPair,
  listen,
  type ListenOptions,
  listenSocket,
  type SniAnswer,
  type TlsError,
} from "../mod.ts";
import { clearSharedContexts } from "../lib/tls/contexts.ts";
import { certs } from "./support/certs.ts";
import { closeConn, connectTo } from "./support/conn.ts";
import { rejectsWith } from "./support/errors.ts";
import { liveSettles } from "./support/live.ts";
import { acceptingServer } from "./support/server.ts";
import { sClient, sClientTo } from "./support/openssl.ts";
import { test } from "./harness.ts";

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
const later = <T>(value: T, ms = 20) => new Promise<T>((r) => setTimeout(() => r(value), ms));

/** The certificate `openssl s_client` was served, by fingerprint. */
async function servedTo(port: number, args: string[]): Promise<string> {
  const client = sClient(port, ["-CAfile", certs().ca.certFile, "-verify_return_error", ...args]);
  try {
    return fingerprint(
      (await client.waitFor(/-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----/, "stdout"))[0],
    );
  } finally {
    await client.stop();
  }
}

test("sni function: async choice by server name, with the ClientHello's fields, for our client and s_client -servername", async () => {
  const c = certs();
  const hellos: ClientHello[] = [];
  const server = acceptingServer({
    alpnProtocols: ["h2", "http/1.1"],
    sni: async (name, hello) => {
      hellos.push(hello);
      return await later(name === "other.test" ? c.other : undefined); // undefined: our own (ECDSA) certificate
    },
  });
  await using _ = server;
  const conn = await connectTo(server.port, { servername: "other.test", alpnProtocols: ["h2", "http/1.1"] });
  const info = await conn.handshake();
  assert.equal(fingerprint(info.peerCertificates[0].pem), fingerprint(c.other.cert));
  assert.equal(info.alpnProtocol, "h2", "the chosen context has the server's ALPN too");
  await closeConn(conn);
  const [hello] = hellos;
  assert.equal(hello.servername, "other.test");
  assert.deepEqual(hello.alpnProtocols, ["h2", "http/1.1"]);
  assert.deepEqual(hello.versions, ["TLSv1.3", "TLSv1.2"]);
  assert.ok(hello.cipherSuites.includes("TLS_AES_256_GCM_SHA384"), String(hello.cipherSuites));
  assert.ok(hello.groups.includes("x25519"), String(hello.groups));
  assert.ok(hello.signatureAlgorithms.includes("ecdsa_secp256r1_sha256"), String(hello.signatureAlgorithms));
  (await server.accept()).close();

  assert.equal(await servedTo(server.port, ["-servername", "other.test"]), fingerprint(c.other.cert));
  assert.equal(await servedTo(server.port, ["-servername", "localhost"]), fingerprint(c.ecdsa.cert));
  assert.equal(hellos.at(-1)!.servername, "localhost");
});

for (const version of ["-tls1_3", "-tls1_2"] as const) {
  test(`sni function: RSA or ECDSA chain by the client's signature algorithms (s_client -sigalgs ${version})`, async () => {
    const c = certs();
    const ecdsa = createSecureContext({ isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key });
    const rsa: KeyPair = { cert: c.rsa.cert, key: c.rsa.key };
    const server = acceptingServer({
      cert: undefined,
      key: undefined,
      sni: (_name, hello) => hello.signatureAlgorithms.some((s) => s.startsWith("ecdsa_")) ? ecdsa : rsa,
    });
    await using _ = server;
    const args = ["-servername", "localhost", version];
    assert.equal(
      await servedTo(server.port, [...args, "-sigalgs", "ECDSA+SHA256"]),
      fingerprint(c.ecdsa.cert),
    );
    assert.equal(
      await servedTo(server.port, [...args, "-sigalgs", "RSA-PSS+SHA256"]),
      fingerprint(c.rsa.cert),
    );
    assert.equal(
      await servedTo(server.port, [...args, "-sigalgs", "RSA+SHA256:ECDSA+SHA256"]),
      fingerprint(c.ecdsa.cert),
    );
    ecdsa.free();
  });
}

test("sni function: null refuses with unrecognized_name (our client and s_client see it); the server's error says so", async () => {
  const server = acceptingServer({ sni: (name) => later(name === "localhost" ? undefined : null) });
  await using _ = server;
  // The alert, as our client reports it.
  assert.match(
    (await rejectsWith(connectTo(server.port, { servername: "nobody.test" }), "PROTOCOL_ERROR")).message,
    /unrecognized name/i,
  );
  const serverError = await server.handshakeError(0);
  assert.equal(serverError.code, "HANDSHAKE_FAILED");
  assert.match(serverError.message, /no certificate for "nobody\.test": refused with unrecognized_name/);

  await using peer = sClientTo(server.port, ["-servername", "nobody.test"]);
  await peer.waitFor(/unrecognized name/i);
  const ok = await connectTo(server.port);
  await closeConn(ok);
});

test("sni function: a rejection or a throw fails the server's handshake with HANDSHAKE_FAILED; a bad answer with INVALID_OPTION", async () => {
  let mode = "reject";
  const server = acceptingServer({
    sni: (): SniAnswer | Promise<SniAnswer> => {
      if (mode === "reject") return Promise.reject(new Error("certificate store down"));
      if (mode === "throw") throw new Error("bug in sni");
      return 42 as unknown as SniAnswer;
    },
  });
  await using _ = server;
  // The alert the client was sent.
  assert.match((await rejectsWith(connectTo(server.port), "PROTOCOL_ERROR")).message, /internal error/i);
  const rejected = await server.handshakeError(0);
  assert.equal(rejected.code, "HANDSHAKE_FAILED");
  assert.match(rejected.message, /certificate store down/);
  mode = "throw";
  await assert.rejects(connectTo(server.port));
  assert.match((await server.handshakeError(1)).message, /bug in sni/);
  mode = "bad";
  await assert.rejects(connectTo(server.port));
  assert.equal((await server.handshakeError(2)).code, "INVALID_OPTION");
});

test("sni function: a promise that never settles ends in HANDSHAKE_TIMEOUT; nothing native outlives the server", async () => {
  clearSharedContexts(); // our clients' cached contexts; their sessions are not kept (resumption: false)
  const before = await liveSettles(0, true); // earlier tests' objects the collector has not freed yet
  {
    const server = acceptingServer({ handshakeTimeout: 300, sni: () => new Promise<SniAnswer>(() => {}) });
    await using _ = server;
    await assert.rejects(connectTo(server.port, { handshakeTimeout: 5000, resumption: false }));
    assert.equal((await server.handshakeError(0)).code, "HANDSHAKE_TIMEOUT");
  }
  {
    // Pair contexts built for the answers, and the sessions that used them, are freed too.
    const c = certs();
    const pair = { cert: c.other.cert, key: c.other.key };
    const server = acceptingServer({ sni: () => later(pair) });
    await using _ = server;
    for (let i = 0; i < 3; i++) {
      const conn = await connectTo(server.port, { servername: "other.test", resumption: false });
      (await server.accept()).close();
      await closeConn(conn);
    }
  }
  clearSharedContexts();
  const left = await liveSettles(0, true); // the collector may free an earlier test's late, never ours
  assert.ok(left <= before, `a session or a chosen context was not freed: ${left} live, ${before} before`);
});

test("sni function: the callback listener, and checks at the call", async () => {
  const c = certs();
  const chosen = createSecureContext({ isServer: true, cert: c.other.cert, key: c.other.key });
  using server = listenSocket({
    hostname: "127.0.0.1",
    port: 0,
    sni: async () => await later(chosen),
    socket: { data: (socket, bytes) => void socket.write(bytes) },
  });
  const conn = await connectTo(server.port, { servername: "other.test" });
  assert.equal(fingerprint((await conn.handshake()).peerCertificates[0].pem), fingerprint(c.other.cert));
  await closeConn(conn);
  server.stop();
  chosen.free();

  const bad = (options: Partial<ListenOptions>) =>
    assert.throws(
      () => listen({ port: 0, ...options } as ListenOptions),
      (e: TlsError) => e.code === "INVALID_OPTION",
    );
  bad({ sni: "x" as unknown as ListenOptions["sni"] });
  bad({ sni: undefined }); // no certificate at all
  assert.throws(
    () => createSecureContext({ isServer: true, sni: (() => null) as unknown as Record<string, KeyPair> }),
    (e: TlsError) => e.code === "INVALID_OPTION",
  );
});
