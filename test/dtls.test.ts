/**
 * DTLS end to end over real UDP sockets on loopback: our client and our
 * listener, both API shapes, SRTP, oversized messages, timeouts, limits and
 * leaks.
 */
import assert from "node:assert/strict";
import { shim } from "../ffi/mod.ts";
import { connect, type DtlsConn, listen, type TlsError } from "../dtls.ts";
import { certs } from "./support/certs.ts";
import { test } from "./harness.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

function serverOptions(extra: object = {}) {
  const c = certs();
  return { hostname: "127.0.0.1", port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key, ...extra };
}

function clientOptions(port: number, extra: object = {}) {
  return { hostname: "127.0.0.1", port, caCerts: [certs().ca.cert], servername: "localhost", ...extra };
}

test("dtls: connect ↔ listen, accept shape, echo, close_notify both ways", async () => {
  const listener = listen(serverOptions({ alpnProtocols: ["coap"] }));
  await listener.ready;
  const accepted = listener.accept();
  const conn = await connect(clientOptions(listener.addr.port, { alpnProtocols: ["coap"] }));
  const server = (await accepted)!;
  const info = await conn.handshake();
  assert.equal(info.protocol, "DTLSv1.2");
  assert.equal(info.alpnProtocol, "coap");
  assert.equal(info.verified, true);
  assert.equal(server.remoteAddr.port, conn.localAddr.port);
  await conn.send(enc("hello"));
  assert.equal(dec(await server.receive()), "hello");
  await server.send(enc("world"));
  assert.equal(dec(await conn.receive()), "world");
  conn.close(); // close_notify: the server's reader ends
  assert.equal(await server.receive(), null);
  listener.close();
  assert.equal(await listener.accept(), null);
});

test("dtls: datagram shape — listener.receive() and send(message, addr); server closes first", async () => {
  await using listener = listen(serverOptions());
  await listener.ready;
  const conn = await connect(clientOptions(listener.addr.port));
  await conn.send(enc("ping"));
  const [message, from] = await listener.receive();
  assert.equal(dec(message), "ping");
  assert.equal(from.port, conn.localAddr.port);
  await listener.send(enc("pong"), from);
  assert.equal(dec(await conn.receive()), "pong");
  listener.close(); // close_notify to every peer
  assert.equal(await conn.receive(), null);
  const stats = listener.stats;
  assert.equal(stats.handshakes, 1);
  assert.equal(stats.cookiesSent, 1);
  assert.equal(stats.sessions, 0);
  assert.ok(stats.packetsIn >= 3 && stats.bytesOut > 0);
  await assert.rejects(listener.send(enc("x"), from), (e: TlsError) => e.code === "CLOSED");
});

test("dtls: IPv6", async () => {
  await using listener = listen(serverOptions({ hostname: "::1" }));
  await listener.ready;
  await using conn = await connect(clientOptions(listener.addr.port, { hostname: "::1" }));
  await conn.send(enc("v6"));
  const [message, from] = await listener.receive();
  assert.equal(dec(message), "v6");
  assert.equal(from.hostname, "::1");
});

test("dtls: an oversized message is refused whole; the largest that fits passes", async () => {
  await using listener = listen(serverOptions());
  await listener.ready;
  await using conn = await connect(clientOptions(listener.addr.port, { mtu: 1500 }));
  const max = conn.maxMessageSize;
  assert.ok(max > 1400 && max < 1500 - 28, `max message ${max}`);
  await assert.rejects(conn.send(new Uint8Array(max + 1)), (e: TlsError) => e.code === "MESSAGE_TOO_LARGE");
  await assert.rejects(conn.send(new Uint8Array(70000)), (e: TlsError) => e.code === "MESSAGE_TOO_LARGE");
  await conn.send(new Uint8Array(max).fill(7));
  const [message] = await listener.receive();
  assert.equal(message.length, max);
  assert.ok(message.every((b) => b === 7));
});

test("dtls: SRTP profile and exported keys agree", async () => {
  await using listener = listen(
    serverOptions({ srtpProfiles: ["SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"] }),
  );
  await listener.ready;
  const accepted = listener.accept();
  await using conn = await connect(
    clientOptions(listener.addr.port, { srtpProfiles: ["SRTP_AEAD_AES_128_GCM"] }),
  );
  const server = (await accepted)!;
  assert.equal((await conn.handshake()).srtpProfile, "SRTP_AEAD_AES_128_GCM");
  assert.equal((await server.handshake()).srtpProfile, "SRTP_AEAD_AES_128_GCM");
  assert.deepEqual(
    conn.exportKeyingMaterial(56, "EXTRACTOR-dtls_srtp"),
    server.exportKeyingMaterial(56, "EXTRACTOR-dtls_srtp"),
  );
});

test("dtls: untrusted server, wrong name, no server — TlsError codes", async () => {
  await using listener = listen(serverOptions());
  await listener.ready;
  await assert.rejects(connect({ port: listener.addr.port }), (e: TlsError) => e.code === "CERT_UNTRUSTED");
  await assert.rejects(
    connect(clientOptions(listener.addr.port, { servername: "wrong.test" })),
    (e: TlsError) => e.code === "HOSTNAME_MISMATCH",
  );
  const silent = listen(serverOptions());
  await silent.ready;
  const port = silent.addr.port;
  silent.close();
  await assert.rejects(
    connect(clientOptions(port, { handshakeTimeout: 1500 })),
    (e: TlsError) => e.code === "HANDSHAKE_TIMEOUT",
  );
  const stats = listener.stats;
  assert.equal(stats.handshakesFailed, 2);
  assert.equal(stats.sessions, 0);
  // With verification off the name is still checked: the handshake goes on, `verified` says no.
  const lax = await connect(
    clientOptions(listener.addr.port, { servername: "wrong.test", rejectUnauthorized: false }),
  );
  const info = await lax.handshake();
  assert.equal(info.verified, false);
  assert.equal(info.verifyResult, 62); // X509_V_ERR_HOSTNAME_MISMATCH
  await lax.close();
});

test("dtls: mTLS — requestCert with and without a client certificate", async () => {
  const c = certs();
  const errors: string[] = [];
  await using listener = listen(
    serverOptions({
      requestCert: true,
      caCerts: [c.ca.cert],
      onHandshakeError: (e: TlsError) => errors.push(e.code),
    }),
  );
  await listener.ready;
  const accepted = listener.accept();
  await using conn = await connect(
    clientOptions(listener.addr.port, { cert: c.client.cert, key: c.client.key }),
  );
  const server = (await accepted)!;
  assert.equal((await server.handshake()).verified, true);
  assert.ok(conn);
  await assert.rejects(
    connect(clientOptions(listener.addr.port)),
    (e: TlsError) => ["CERT_REQUIRED", "HANDSHAKE_FAILED"].includes(e.code),
  );
  assert.deepEqual(errors, ["CERT_REQUIRED"]);
});

test("dtls: 100 concurrent clients on one listener", async () => {
  await using listener = listen(serverOptions());
  await listener.ready;
  (async () => {
    for await (const conn of listener) {
      (async () => {
        for await (const m of conn) await conn.send(m);
      })();
    }
  })();
  const conns: DtlsConn[] = await Promise.all(
    Array.from({ length: 100 }, () => connect(clientOptions(listener.addr.port))),
  );
  assert.equal(listener.stats.sessions, 100);
  const replies = await Promise.all(conns.map(async (conn, i) => {
    await conn.send(enc(`client ${i}`));
    return dec(await conn.receive());
  }));
  replies.forEach((r, i) => assert.equal(r, `client ${i}`));
  for (const conn of conns) conn.close();
}, { timeout: 60_000 });

test("dtls: no native objects left after 10 000 sessions", async () => {
  const before = shim.jsec_live();
  {
    await using listener = listen(serverOptions());
    await listener.ready;
    for (let i = 0; i < 10_000; i++) {
      const conn = await connect(clientOptions(listener.addr.port));
      await conn.send(enc("x"));
      await listener.receive();
      conn.close();
    }
  }
  // The client contexts are cached (shared by equal options): at most one stays.
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(shim.jsec_live() <= before + 1, `live ${shim.jsec_live()} vs ${before} before`);
}, { timeout: 120_000 });

test("dtls: session resumption with conn.session; SNI picks the certificate", async () => {
  const c = certs();
  await using listener = listen(
    serverOptions({ sni: { "other.test": { cert: c.other.cert, key: c.other.key } } }),
  );
  await listener.ready;
  const first = await connect(clientOptions(listener.addr.port));
  assert.equal((await first.handshake()).resumed, false);
  const saved = first.session;
  assert.ok(saved && saved.length > 0);
  first.close();
  await using again = await connect(clientOptions(listener.addr.port, { session: saved }));
  assert.equal((await again.handshake()).resumed, true);
  await using other = await connect(clientOptions(listener.addr.port, { servername: "other.test" }));
  const info = await other.handshake();
  assert.equal(info.servername, "other.test");
  assert.equal(info.verified, true);
});

test("dtls: signal aborts a handshake that gets no answer", async () => {
  const silent = listen(serverOptions());
  await silent.ready;
  const port = silent.addr.port;
  silent.close();
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  await assert.rejects(
    connect(clientOptions(port, { signal: controller.signal })),
    (e: TlsError) => e.code === "ABORTED",
  );
});

test("dtls: both shapes together — a waiting conn.receive() comes first, then listener.receive(), then the queue", async () => {
  await using listener = listen(serverOptions());
  await listener.ready;
  const accepted = listener.accept();
  await using conn = await connect(clientOptions(listener.addr.port));
  const server = (await accepted)!;
  const viaConn = server.receive();
  const viaListener = listener.receive();
  await conn.send(enc("first"));
  assert.equal(dec(await viaConn), "first");
  await conn.send(enc("second"));
  const [message, from] = await viaListener;
  assert.equal(dec(message), "second");
  assert.equal(from.port, conn.localAddr.port);
  await conn.send(enc("third")); // nobody waits: queued on its connection
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(dec(await server.receive()), "third");
});
