/**
 * The sans-I/O engine on its own: two engines wired back to back in memory,
 * real OpenSSL on both sides, no sockets.
 */
import assert from "node:assert/strict";
import { TlsContext, TlsEngine, type TlsError } from "../engine.ts";
import { certs } from "./support/certs.ts";
import { test } from "./harness.ts";

const scratch = new Uint8Array(1 << 20);

/** Moves every pending byte from `from` to `to`; returns how many. */
function deliver(from: TlsEngine, to: TlsEngine): number {
  let total = 0;
  for (let n; (n = from.takeOutput(scratch)) > 0; total += n) to.receive(scratch.subarray(0, n));
  return total;
}

function pair(server: Partial<ConstructorParameters<typeof TlsContext>[0]> = {}) {
  const c = certs();
  const serverContext = new TlsContext({ isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key, ...server });
  const clientContext = new TlsContext({ caCerts: [c.ca.cert] });
  const client = new TlsEngine(clientContext, { verifyHost: "localhost" });
  const srv = new TlsEngine(serverContext);
  return {
    client,
    server: srv,
    handshake() {
      for (let i = 0; i < 10; i++) {
        const a = client.handshake();
        deliver(client, srv);
        const b = srv.handshake();
        deliver(srv, client);
        if (a && b) return;
      }
      assert.fail("handshake did not finish in 10 flights");
    },
    free() {
      client.free();
      srv.free();
      clientContext.free();
      serverContext.free();
    },
  };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

test("engine: states go init → handshake → ready → shutdown → closed", () => {
  const p = pair();
  assert.equal(p.client.state, "init");
  p.client.handshake();
  assert.equal(p.client.state, "handshake");
  p.handshake();
  assert.equal(p.client.state, "ready");
  assert.equal(p.server.state, "ready");
  assert.equal(p.client.close(), false); // ours sent, theirs to come
  assert.equal(p.client.state, "shutdown");
  deliver(p.client, p.server);
  assert.equal(p.server.read(scratch), null);
  assert.equal(p.server.close(), true);
  deliver(p.server, p.client);
  assert.equal(p.client.read(scratch), null);
  assert.equal(p.client.close(), true);
  assert.equal(p.client.state, "closed");
  p.free();
});

test("engine: close_notify in the same bytes as data returns the data, then the end", () => {
  const p = pair();
  p.handshake();
  p.client.write(bytes("last words"));
  p.client.close();
  deliver(p.client, p.server); // one receive() carries both records
  const n = p.server.read(scratch);
  assert.equal(text(scratch.subarray(0, n!)), "last words");
  assert.equal(p.server.read(scratch), null);
  p.free();
});

test("engine: a transport that ends without close_notify is UNEXPECTED_EOF after the data", () => {
  const p = pair();
  p.handshake();
  p.server.write(bytes("partial"));
  deliver(p.server, p.client);
  p.client.end();
  const n = p.client.read(scratch);
  assert.equal(text(scratch.subarray(0, n!)), "partial");
  assert.throws(() => p.client.read(scratch), (e: TlsError) => e.code === "UNEXPECTED_EOF");
  assert.equal(p.client.state, "error");
  p.free();
});

test("engine: a KeyUpdate asking for ours is answered during a read, and data flows on", () => {
  const p = pair();
  p.handshake();
  p.client.keyUpdate(true);
  p.client.write(bytes("after update"));
  deliver(p.client, p.server);
  const n = p.server.read(scratch);
  assert.equal(text(scratch.subarray(0, n!)), "after update");
  // The server owes its own KeyUpdate now; OpenSSL sends it with its next write.
  p.server.write(bytes("reply"));
  deliver(p.server, p.client);
  const m = p.client.read(scratch);
  assert.equal(text(scratch.subarray(0, m!)), "reply");
  p.free();
});

test("engine: garbage instead of a ClientHello is PROTOCOL_ERROR", () => {
  const p = pair();
  p.server.receive(bytes("GET / HTTP/1.1\r\nHost: example\r\n\r\n"));
  assert.throws(() => p.server.handshake(), (e: TlsError) => e.code === "PROTOCOL_ERROR");
  assert.equal(p.server.state, "error");
  // Every later call reports the same error.
  assert.throws(() => p.server.read(scratch), (e: TlsError) => e.code === "PROTOCOL_ERROR");
  p.free();
});

test("engine: a flipped bit in a record is caught (bad record MAC)", () => {
  const p = pair();
  p.handshake();
  p.client.write(bytes("integrity"));
  const n = p.client.takeOutput(scratch);
  scratch[n - 3] ^= 0x01;
  p.server.receive(scratch.subarray(0, n));
  assert.throws(() => p.server.read(scratch), (e: TlsError) => e.code === "PROTOCOL_ERROR");
  p.free();
});

test("engine: info reports protocol, cipher, group, ALPN, SNI and the peer chain", () => {
  const c = certs();
  const serverContext = new TlsContext({
    isServer: true,
    cert: c.rsa.cert,
    key: c.rsa.key,
    alpnProtocols: ["h2", "http/1.1"],
  });
  const clientContext = new TlsContext({
    caCerts: [c.ca.cert],
    alpnProtocols: ["http/1.1"],
    maxVersion: "TLSv1.2",
    groups: ["P-256"],
  });
  const client = new TlsEngine(clientContext, { servername: "localhost", verifyHost: "localhost" });
  const server = new TlsEngine(serverContext);
  for (let i = 0; i < 10 && !(client.handshake() && server.handshake()); i++) {
    deliver(client, server);
    server.handshake();
    deliver(server, client);
  }
  const info = client.info();
  assert.equal(info.protocol, "TLSv1.2");
  assert.match(info.cipher, /^ECDHE-RSA-/);
  assert.equal(info.group, "P-256");
  assert.equal(info.alpnProtocol, "http/1.1");
  assert.equal(info.verified, true);
  assert.equal(info.peerCertificates[0].pem, c.rsa.cert);
  assert.equal(server.info().servername, "localhost");
  assert.equal(server.info().peerCertificates.length, 0);
  client.free();
  server.free();
  clientContext.free();
  serverContext.free();
});

test("engine: calls after free() are CLOSED, free() twice is harmless", () => {
  const p = pair();
  p.handshake();
  p.client.free();
  p.client.free();
  assert.throws(() => p.client.write(bytes("x")), (e: TlsError) => e.code === "CLOSED");
  assert.equal(p.client.pendingOutput, 0);
  p.free();
});
