/**
 * Pre-shared keys: TLS 1.3 external PSK and TLS 1.2 PSK cipher suites, with
 * no certificate on either side — against `openssl s_server` / `s_client -psk`
 * both ways, ours against ours (a server with several identities), through
 * `TlsConn` and the callback sockets; a wrong key or an unknown identity
 * fails with `PSK_MISMATCH`, and bad options with `INVALID_OPTION`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect, connectSocket, listen, listenSocket, TlsError } from "../mod.ts";
import { TlsContext, TlsEngine } from "../engine.ts";
import { handshakeInMemory } from "./support/engines.ts";
import { Recorder } from "./support/callback.ts";
import { certs } from "./support/certs.ts";
import { closeConn } from "./support/conn.ts";
import { rejectsWith } from "./support/errors.ts";
import { receiveFromPeer, sendToPeer } from "./support/exchange.ts";
import { Peer, sClient } from "./support/openssl.ts";
import { acceptingServer } from "./support/server.ts";
import { test } from "./harness.ts";

const IDENTITY = "sensor-7";
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const OTHER = { identity: "gateway", key: new Uint8Array(16).fill(0x5a) };
const hex = (key: Uint8Array) => Buffer.from(key).toString("hex");

const VERSIONS = [
  { name: "TLS 1.3", flags: ["-tls1_3"], protocol: "TLSv1.3", maxVersion: "TLSv1.3" },
  {
    name: "TLS 1.2",
    flags: ["-tls1_2", "-cipher", "PSK-AES128-GCM-SHA256"],
    protocol: "TLSv1.2",
    maxVersion: "TLSv1.2",
    cipher: "PSK-AES128-GCM-SHA256",
  },
] as const;

/** `openssl s_server -nocert -psk …` on a free port, for one client. */
async function pskServer(flags: readonly string[], key = KEY): Promise<Peer> {
  const peer = new Peer("openssl", [
    "s_server",
    "-nocert",
    "-psk",
    hex(key),
    "-psk_identity",
    IDENTITY,
    "-naccept",
    "1",
    ...flags,
    "-accept",
    "127.0.0.1:0",
  ]);
  try {
    peer.port = Number((await peer.waitFor(/ACCEPT 127\.0\.0\.1:(\d+)/, "stdout"))[1]);
  } catch (e) {
    await peer.stop();
    throw e;
  }
  return peer;
}

/** Our certificate-less server that knows `IDENTITY` (and another). */
function ourServer(maxVersion?: "TLSv1.2" | "TLSv1.3") {
  return acceptingServer({
    cert: undefined,
    key: undefined,
    psk: [OTHER, { identity: IDENTITY, key: KEY }],
    maxVersion,
  });
}

for (const v of VERSIONS) {
  test(`psk ${v.name}: our certificate-less client ↔ openssl s_server -nocert -psk`, async () => {
    await using peer = await pskServer(v.flags);
    const conn = await connect({
      hostname: "127.0.0.1",
      port: peer.port,
      psk: { identity: IDENTITY, key: KEY },
    });
    const info = await conn.handshake();
    assert.equal(info.protocol, v.protocol);
    if ("cipher" in v) assert.equal(info.cipher, v.cipher);
    assert.equal(info.peerCertificates.length, 0);
    await sendToPeer(conn, peer, "from us\n");
    await receiveFromPeer(peer, conn, "from openssl\n");
    await closeConn(conn);
  });

  test(`psk ${v.name}: openssl s_client -psk ↔ our certificate-less server`, async () => {
    await using server = ourServer();
    await using peer = sClient(server.port, [...v.flags, "-psk", hex(KEY), "-psk_identity", IDENTITY]);
    const conn = await server.accept();
    const info = await conn.handshake();
    assert.equal(info.protocol, v.protocol);
    if ("cipher" in v) assert.equal(info.cipher, v.cipher);
    await receiveFromPeer(peer, conn, "from openssl\n");
    await sendToPeer(conn, peer, "from us\n");
    await closeConn(conn);
  });

  test(`psk ${v.name}: ours ↔ ours, the server picking the key by identity`, async () => {
    await using server = ourServer(v.maxVersion);
    const conn = await connect({
      hostname: "127.0.0.1",
      port: server.port,
      psk: { identity: IDENTITY, key: KEY },
    });
    const accepted = await server.accept();
    const [info, serverInfo] = await Promise.all([conn.handshake(), accepted.handshake()]);
    assert.equal(info.protocol, v.protocol);
    assert.equal(info.pskIdentity, IDENTITY);
    assert.equal(serverInfo.pskIdentity, IDENTITY); // which of its keys the client holds
    assert.equal(info.resumed, false); // OpenSSL calls an external PSK a resumption; it is not one
    assert.match(info.cipher, v.maxVersion === "TLSv1.2" ? /PSK/ : /^TLS_/);
    await conn.write(new TextEncoder().encode("ping"));
    const buf = new Uint8Array(4);
    assert.equal(await accepted.read(buf), 4);
    assert.equal(new TextDecoder().decode(buf), "ping");
    await closeConn(conn);
    await closeConn(accepted);
  });

  test(`psk ${v.name}: a wrong key is PSK_MISMATCH on both sides`, async () => {
    await using server = ourServer(v.maxVersion);
    const wrong = KEY.map((b) => b ^ 1);
    await rejectsWith(
      connect({ hostname: "127.0.0.1", port: server.port, psk: { identity: IDENTITY, key: wrong } }),
      "PSK_MISMATCH",
    );
    assert.equal((await server.handshakeError()).code, "PSK_MISMATCH");
  });

  test(`psk ${v.name}: our client with a wrong key against openssl s_server is PSK_MISMATCH`, async () => {
    await using peer = await pskServer(v.flags, KEY.map((b) => b ^ 0xff));
    await rejectsWith(
      connect({ hostname: "127.0.0.1", port: peer.port, psk: { identity: IDENTITY, key: KEY } }),
      "PSK_MISMATCH",
    );
  });
}

test("psk: an identity the certificate-less server does not know fails it with PSK_MISMATCH", async () => {
  await using server = ourServer();
  for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
    const attempt = connect({
      hostname: "127.0.0.1",
      port: server.port,
      psk: { identity: "stranger", key: KEY },
      maxVersion,
    });
    // TLS 1.2 names the identity unknown (alert unknown_psk_identity); a TLS 1.3 client only sees handshake_failure.
    await rejectsWith(attempt, maxVersion === "TLSv1.2" ? "PSK_MISMATCH" : "HANDSHAKE_FAILED");
  }
  assert.equal((await server.handshakeError(0)).code, "PSK_MISMATCH");
  assert.equal((await server.handshakeError(1)).code, "PSK_MISMATCH");
});

test("psk: callback sockets, certificate-less, with keyLog on both sides", async () => {
  const serverRec = new Recorder(true);
  serverRec.onData = (socket, data) => socket.write(data);
  const serverLines: string[] = [];
  using server = listenSocket({
    hostname: "127.0.0.1",
    port: 0,
    psk: [{ identity: IDENTITY, key: KEY }],
    keyLog: (line) => serverLines.push(line),
    socket: serverRec.handlers,
  });
  const clientRec = new Recorder(true);
  const clientLines: string[] = [];
  const client = await connectSocket({
    hostname: "127.0.0.1",
    port: server.port,
    psk: { identity: IDENTITY, key: KEY },
    keyLog: (line) => clientLines.push(line),
    socket: clientRec.handlers,
  });
  client.write("echo me");
  await clientRec.receivedAtLeast(7);
  assert.equal(new TextDecoder().decode(Buffer.concat(clientRec.log.chunks)), "echo me");
  assert.ok(clientRec.log.events.includes("handshake ok"), clientRec.log.events.join());
  assert.equal(clientLines.length, 5);
  assert.deepEqual(new Set(clientLines), new Set(serverLines));
  client.end();
  await clientRec.closed();
});

test("psk: onPskIdentity gives the key of an identity `psk` lacks (TLS 1.3), ours and openssl s_client", async () => {
  const asked: string[] = [];
  await using server = acceptingServer({
    cert: undefined,
    key: undefined,
    psk: [OTHER],
    onPskIdentity: (identity) => (asked.push(identity), identity === IDENTITY ? KEY : null),
  });
  const conn = await connect({
    hostname: "127.0.0.1",
    port: server.port,
    psk: { identity: IDENTITY, key: KEY },
  });
  const accepted = await server.accept();
  assert.equal((await conn.handshake()).protocol, "TLSv1.3");
  assert.equal((await accepted.handshake()).pskIdentity, IDENTITY);
  await closeConn(conn);
  await closeConn(accepted);

  await using peer = sClient(server.port, ["-tls1_3", "-psk", hex(KEY), "-psk_identity", IDENTITY]);
  const fromOpenssl = await server.accept();
  await receiveFromPeer(peer, fromOpenssl, "hello\n");
  await closeConn(fromOpenssl);

  const known = await connect({ hostname: "127.0.0.1", port: server.port, psk: OTHER, resumption: false });
  await closeConn(known); // in the list: not asked
  await closeConn(await server.accept());
  assert.deepEqual(asked, [IDENTITY, IDENTITY]);
});

test("psk: onPskIdentity answering later (a promise) lets the handshake wait for it", async () => {
  await using server = acceptingServer({
    cert: undefined,
    key: undefined,
    onPskIdentity: (identity) =>
      new Promise((resolve) => setTimeout(() => resolve(identity === IDENTITY ? KEY : null), 50)),
  });
  const conn = await connect({
    hostname: "127.0.0.1",
    port: server.port,
    psk: { identity: IDENTITY, key: KEY },
  });
  const accepted = await server.accept();
  await conn.write(new TextEncoder().encode("ping"));
  const buf = new Uint8Array(4);
  assert.equal(await accepted.read(buf), 4);
  await closeConn(conn);
  await closeConn(accepted);
});

test("psk: onPskIdentity refusing, throwing, rejecting or giving no key fails the handshake with a TlsError", async () => {
  const answers: Record<string, () => unknown> = {
    refused: () => null,
    "refused later": () => Promise.resolve(null),
    thrown: () => {
      throw new Error("database down");
    },
    rejected: () => Promise.reject(new Error("database down")),
    "not a key": () => "secret",
    "not a key later": () => Promise.resolve(new Uint8Array(0)),
  };
  await using server = acceptingServer({
    cert: undefined,
    key: undefined,
    onPskIdentity: (identity) => answers[identity]() as Uint8Array | null,
  });
  const expected = {
    refused: "PSK_MISMATCH",
    "refused later": "PSK_MISMATCH",
    thrown: "HANDSHAKE_FAILED",
    rejected: "HANDSHAKE_FAILED",
    "not a key": "INVALID_OPTION",
    "not a key later": "INVALID_OPTION",
  } as const;
  let nth = 0;
  for (const [identity, code] of Object.entries(expected)) {
    await assert.rejects(connect({ hostname: "127.0.0.1", port: server.port, psk: { identity, key: KEY } }));
    const error = await server.handshakeError(nth++);
    assert.equal(error.code, code, `${identity}: ${error.message}`);
  }
});

test("psk: an onPskIdentity promise that never settles ends in HANDSHAKE_TIMEOUT", async () => {
  await using server = acceptingServer({
    cert: undefined,
    key: undefined,
    handshakeTimeout: 200,
    onPskIdentity: () => new Promise(() => {}),
  });
  await assert.rejects(
    connect({ hostname: "127.0.0.1", port: server.port, psk: { identity: IDENTITY, key: KEY } }),
  );
  assert.equal((await server.handshakeError()).code, "HANDSHAKE_TIMEOUT");
});

test("psk: a server with a certificate and onPskIdentity resumes tickets without asking about them", async () => {
  const asked: string[] = [];
  const c = certs();
  await using server = acceptingServer({ onPskIdentity: (identity) => (asked.push(identity), null) });
  for (const expectResumed of [false, true]) {
    const conn = await connect({
      hostname: "127.0.0.1",
      port: server.port,
      servername: "localhost",
      caCerts: [c.ca.cert],
    });
    const accepted = await server.accept();
    await accepted.write(new TextEncoder().encode("x")); // the tickets come with it
    await conn.read(new Uint8Array(1));
    assert.equal((await conn.handshake()).resumed, expectResumed);
    await closeConn(conn);
    await closeConn(accepted);
  }
  assert.deepEqual(asked, []);
});

test("psk: a PSK client the server does not take it from still verifies the certificate (CERT_UNTRUSTED)", async () => {
  await using server = acceptingServer(); // a certificate, no PSK
  await rejectsWith(
    connect({
      hostname: "127.0.0.1",
      port: server.port,
      servername: "localhost",
      psk: { identity: IDENTITY, key: KEY },
    }),
    "CERT_UNTRUSTED", // the test CA is not trusted here
  );
});

test("psk: the engine alone, in memory — PSK contexts and keyLog engines, TLS 1.3 and 1.2", () => {
  for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
    const clientContext = new TlsContext({ psk: { identity: IDENTITY, key: KEY }, maxVersion });
    const serverContext = new TlsContext({ isServer: true, psk: [OTHER, { identity: IDENTITY, key: KEY }] });
    const lines = { client: [] as string[], server: [] as string[] };
    const client = new TlsEngine(clientContext, { keyLog: (l) => lines.client.push(l) });
    const server = new TlsEngine(serverContext, { keyLog: (l) => lines.server.push(l) });
    try {
      handshakeInMemory(client, server);
      assert.equal(client.info().protocol, maxVersion);
      assert.equal(client.info().peerCertificates.length, 0);
      assert.equal(lines.client.length, maxVersion === "TLSv1.3" ? 5 : 1);
      assert.deepEqual(new Set(lines.client), new Set(lines.server));
    } finally {
      client.free();
      server.free();
      clientContext.free();
      serverContext.free();
    }
  }
});

test("psk: bad options are INVALID_OPTION before any I/O", async () => {
  const bad: unknown[] = [
    [{ identity: IDENTITY, key: KEY }], // a client has one
    { identity: "", key: KEY },
    { identity: "x".repeat(129), key: KEY },
    { identity: IDENTITY, key: "secret" },
    { identity: IDENTITY, key: new Uint8Array(0) },
  ];
  for (const psk of bad) {
    await rejectsWith(connect({ hostname: "127.0.0.1", port: 1, psk: psk as never }), "INVALID_OPTION");
  }
  const twice = [{ identity: IDENTITY, key: KEY }, { identity: IDENTITY, key: KEY }];
  for (const psk of [twice, []]) {
    assert.throws(
      () => listen({ hostname: "127.0.0.1", port: 0, psk }),
      (e) => e instanceof TlsError && e.code === "INVALID_OPTION",
    );
  }
  assert.throws(
    () => listen({ hostname: "127.0.0.1", port: 0 }),
    (e) => e instanceof TlsError && e.code === "INVALID_OPTION" && /psk/.test(e.message),
  );
});
