/**
 * The sans-I/O engine on its own: two engines wired back to back in memory,
 * real OpenSSL on both sides, no sockets.
 */
import assert from "node:assert/strict";
import { TlsContext, TlsEngine, type TlsError } from "../engine.ts";
import { certs } from "./support/certs.ts";
import { deliver, handshakeInMemory } from "./support/engines.ts";
import { test } from "./harness.ts";

const scratch = new Uint8Array(1 << 20);

function pair(server: Partial<ConstructorParameters<typeof TlsContext>[0]> = {}) {
  const c = certs();
  const serverContext = new TlsContext({ isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key, ...server });
  const clientContext = new TlsContext({ caCerts: [c.ca.cert] });
  const client = new TlsEngine(clientContext, { verifyHost: "localhost" });
  const srv = new TlsEngine(serverContext);
  return {
    client,
    server: srv,
    handshake: () => handshakeInMemory(client, srv),
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
  handshakeInMemory(client, server);
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

test("engine: readFrom decrypts straight from the caller's bytes and says how many it took", () => {
  const p = pair();
  p.handshake();
  const message = bytes("x".repeat(40_000)); // three records
  p.client.write(message);
  const wire = new Uint8Array(scratch.subarray(0, p.client.takeOutput(scratch)));
  // A small `into` stops after part of the input: the rest stays the caller's, unread by the engine.
  const into = new Uint8Array(20_000);
  let input = wire;
  let got = "";
  for (let n; input.length > 0 && (n = p.server.readFrom(input, into));) {
    assert.ok(p.server.inputUsed > 0 && p.server.inputUsed <= input.length);
    input = input.subarray(p.server.inputUsed);
    got += text(into.subarray(0, n as number));
  }
  assert.equal(got, text(message));
  assert.equal(input.length, 0);
  p.free();
});

test("engine: readFrom takes a record split across inputs, and bytes fed before come first", () => {
  const p = pair();
  p.handshake();
  p.client.write(bytes("first"));
  p.client.write(bytes("second"));
  const wire = new Uint8Array(scratch.subarray(0, p.client.takeOutput(scratch)));
  const recordLength = 5 + ((wire[3] << 8) | wire[4]);
  p.server.receive(wire.subarray(0, recordLength)); // "first" fed (copied) the old way
  const into = new Uint8Array(64);
  // Half of "second"'s record: "first" comes out, the half record is kept inside the engine.
  const half = recordLength + 10;
  assert.equal(
    text(into.subarray(0, p.server.readFrom(wire.subarray(recordLength, half), into) as number)),
    "first",
  );
  assert.equal(p.server.inputUsed, 10);
  assert.equal(p.server.readFrom(wire.subarray(half, half), into), 0); // nothing new: wants more
  const n = p.server.readFrom(wire.subarray(half), into);
  assert.equal(text(into.subarray(0, n as number)), "second");
  assert.equal(p.server.inputUsed, wire.length - half);
  p.free();
});

test("engine: writeInto encrypts straight into the caller's buffer, and queues what does not fit", () => {
  const p = pair();
  p.handshake();
  const message = bytes("y".repeat(40_000)); // three records
  const out = new Uint8Array(30_000);
  assert.equal(p.client.writeInto(message, out, 100), message.length);
  assert.equal(p.client.outputEnd, out.length); // the room from 100 on is full...
  const queued = p.client.pendingOutput; // ...and the rest is pending output
  assert.equal(out.length - 100 + queued, 40_000 + 3 * 22); // each TLS 1.3 record adds 22 bytes
  const wire = new Uint8Array(out.length - 100 + queued);
  wire.set(out.subarray(100));
  p.client.takeOutput(wire.subarray(out.length - 100));
  p.server.receive(wire);
  const into = new Uint8Array(50_000);
  let got = "";
  for (let n; (n = p.server.read(into));) got += text(into.subarray(0, n));
  assert.equal(got, text(message));
  p.free();
});

test("engine: writeInto leaves `out` alone while other output is pending, so the order holds", () => {
  const p = pair();
  p.handshake();
  p.client.keyUpdate(); // pending output of the engine's own
  const out = new Uint8Array(1024);
  assert.equal(p.client.writeInto(bytes("after the KeyUpdate"), out, 7), 19);
  assert.equal(p.client.outputEnd, 7); // nothing went into `out`
  deliver(p.client, p.server);
  const into = new Uint8Array(64);
  assert.equal(text(into.subarray(0, p.server.read(into) as number)), "after the KeyUpdate");
  // With nothing pending, the next write goes into `out` and the queue stays empty.
  assert.equal(p.client.writeInto(bytes("direct"), out), 6);
  assert.equal(p.client.pendingOutput, 0);
  p.server.receive(out.subarray(0, p.client.outputEnd));
  assert.equal(text(into.subarray(0, p.server.read(into) as number)), "direct");
  p.free();
});

test("engine: inputUsed and outputEnd belong to each engine, not to the last one called", () => {
  const a = pair(), b = pair();
  a.handshake();
  b.handshake();
  const into = new Uint8Array(1024);
  const out = new Uint8Array(4096);
  a.client.writeInto(bytes("from a"), out, 0);
  const aEnd = a.client.outputEnd;
  b.client.writeInto(bytes("from b, longer"), out, aEnd);
  assert.equal(a.client.outputEnd, aEnd, "b's writeInto changed a's outputEnd");
  assert.ok(b.client.outputEnd > aEnd);
  assert.equal(text(into.subarray(0, a.server.readFrom(out.subarray(0, aEnd), into) as number)), "from a");
  assert.equal(a.server.inputUsed, aEnd);
  assert.equal(b.server.readFrom(out.subarray(aEnd, aEnd + 3), into), 0); // a partial record: takes 3, wants more
  assert.equal(b.server.inputUsed, 3);
  assert.equal(a.server.inputUsed, aEnd, "b's readFrom changed a's inputUsed");
  a.free();
  b.free();
});
