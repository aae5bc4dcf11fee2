/**
 * The DTLS engine on its own: a client and a server engine passing datagrams
 * in memory (one array element per datagram), real OpenSSL on both sides.
 */
import assert from "node:assert/strict";
import { shim } from "../ffi/mod.ts";
import { DtlsEngine, dtlsVersions, TlsContext, TlsEngine, type TlsError } from "../engine.ts";
import { handshakeInMemory } from "./support/engines.ts";
import { certs } from "./support/certs.ts";
import { test } from "./harness.ts";

const buf = new Uint8Array(20000);

function drain(engine: DtlsEngine): Uint8Array[] {
  const out: Uint8Array[] = [];
  while (engine.pendingOutput > 0) out.push(buf.slice(0, engine.takeOutput(buf)));
  return out;
}

function contexts(server: object = {}, client: object = {}) {
  const c = certs();
  return {
    server: new TlsContext({
      datagram: true,
      isServer: true,
      cert: c.ecdsa.cert,
      key: c.ecdsa.key,
      ...server,
    }),
    client: new TlsContext({ datagram: true, caCerts: [c.ca.cert], ...client }),
  };
}

/** The cookie exchange, then the handshake, datagram by datagram. */
function connectPair(ctx: { server: TlsContext; client: TlsContext }) {
  const client = new DtlsEngine(ctx.client, { verifyHost: "localhost" });
  const listener = new DtlsEngine(ctx.server);
  client.handshake();
  const hello = drain(client);
  assert.equal(hello.length, 1);
  assert.equal(listener.listen(hello[0], "127.0.0.1:1000"), false, "no cookie yet");
  const verifyRequest = drain(listener);
  assert.equal(verifyRequest.length, 1, "a HelloVerifyRequest");
  assert.ok(verifyRequest[0].length <= hello[0].length, "never larger than the ClientHello");
  client.receive(verifyRequest[0]);
  client.handshake();
  const second = drain(client);
  assert.equal(listener.listen(second[0], "127.0.0.1:1000"), true, "cookie accepted");
  const server = listener;
  let clientDone = false, serverDone = server.handshake();
  for (let i = 0; i < 20 && !(clientDone && serverDone); i++) {
    for (const d of drain(server)) client.receive(d), (clientDone = client.handshake());
    for (const d of drain(client)) server.receive(d), (serverDone = server.handshake());
  }
  assert.ok(clientDone && serverDone);
  return { client, server };
}

test("dtls engine: cookie exchange, handshake, one message per record both ways", () => {
  const ctx = contexts();
  const { client, server } = connectPair(ctx);
  assert.equal(client.info().protocol, "DTLSv1.2");
  assert.equal(client.info().verified, true);
  client.send(new TextEncoder().encode("one"));
  client.send(new TextEncoder().encode("two"));
  const datagrams = drain(client);
  assert.equal(datagrams.length, 2, "one datagram per message");
  for (const d of datagrams) server.receive(d);
  const into = new Uint8Array(20000);
  const first = server.read(into)!;
  assert.equal(new TextDecoder().decode(into.subarray(0, first)), "one");
  const second = server.read(into)!;
  assert.equal(new TextDecoder().decode(into.subarray(0, second)), "two");
  client.free(), server.free(), ctx.client.free(), ctx.server.free();
});

test("dtls engine: a message over the MTU is refused whole and the session goes on", () => {
  const ctx = contexts();
  const { client, server } = connectPair(ctx);
  assert.ok(client.maxMessage > 1000 && client.maxMessage < 1280 - 28);
  assert.throws(
    () => client.send(new Uint8Array(client.maxMessage + 1)),
    (e: TlsError) => e.code === "MESSAGE_TOO_LARGE",
  );
  assert.equal(client.pendingOutput, 0, "nothing sent");
  client.send(new Uint8Array(client.maxMessage));
  const [d] = drain(client);
  assert.ok(d.length <= 1280 - 28, `datagram ${d.length} fits the MTU`);
  server.receive(d);
  assert.equal(server.read(new Uint8Array(20000)), client.maxMessage);
  client.free(), server.free(), ctx.client.free(), ctx.server.free();
});

test("dtls engine: a replayed record is delivered once", () => {
  const ctx = contexts();
  const { client, server } = connectPair(ctx);
  client.send(new Uint8Array([1, 2, 3]));
  const [d] = drain(client);
  server.receive(d);
  server.receive(d);
  const into = new Uint8Array(20000);
  assert.equal(server.read(into), 3);
  assert.equal(server.read(into), 0, "the copy is dropped by the replay window");
  client.free(), server.free(), ctx.client.free(), ctx.server.free();
});

test("dtls engine: a cookie made for one address does not pass from another; garbage allocates nothing", () => {
  const ctx = contexts();
  const client = new DtlsEngine(ctx.client, { verifyHost: "localhost" });
  const listener = new DtlsEngine(ctx.server);
  const live = shim.jsec_live();
  client.handshake();
  listener.listen(drain(client)[0], "127.0.0.1:1000");
  client.receive(drain(listener)[0]);
  client.handshake();
  const withCookie = drain(client)[0];
  assert.equal(listener.listen(withCookie, "127.0.0.1:2000"), false, "wrong address");
  assert.equal(drain(listener).length, 1, "a fresh HelloVerifyRequest for the other address");
  for (let i = 0; i < 50; i++) {
    assert.equal(listener.listen(new Uint8Array(i * 7).fill(i), "10.0.0.1:" + i), false);
  }
  assert.equal(shim.jsec_live(), live, "no native object made");
  assert.equal(listener.listen(withCookie, "127.0.0.1:1000"), true, "right address");
  client.free(), listener.free(), ctx.client.free(), ctx.server.free();
});

test("dtls engine: retransmission timer runs during the handshake and resends the flight", () => {
  const ctx = contexts();
  const client = new DtlsEngine(ctx.client, { verifyHost: "localhost" });
  assert.equal(client.timeout(), -1);
  client.handshake();
  drain(client);
  const due = client.timeout();
  assert.ok(due > 0 && due <= 1000, `timer armed (${due} ms)`);
  client.free(), ctx.client.free(), ctx.server.free();
});

test("dtls engine: SRTP profile and exported keys agree on both sides; ALPN", () => {
  const ctx = contexts(
    { srtpProfiles: ["SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"], alpnProtocols: ["coap"] },
    { srtpProfiles: ["SRTP_AES128_CM_SHA1_80"], alpnProtocols: ["coap"] },
  );
  const { client, server } = connectPair(ctx);
  assert.equal(client.srtpProfile, "SRTP_AES128_CM_SHA1_80");
  assert.equal(server.srtpProfile, "SRTP_AES128_CM_SHA1_80");
  assert.equal(client.info().alpnProtocol, "coap");
  const a = client.exportKeyingMaterial(60, "EXTRACTOR-dtls_srtp");
  const b = server.exportKeyingMaterial(60, "EXTRACTOR-dtls_srtp");
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, client.exportKeyingMaterial(60, "EXTRACTOR-dtls_srtp", new Uint8Array([1])));
  client.free(), server.free(), ctx.client.free(), ctx.server.free();
});

test("dtls engine: versions the libssl offers; bad options throw before I/O", () => {
  assert.ok(dtlsVersions().includes("DTLSv1.2"));
  assert.throws(
    () => new TlsContext({ srtpProfiles: ["SRTP_AES128_CM_SHA1_80"] }),
    (e: TlsError) => e.code === "INVALID_OPTION",
  );
  assert.throws(
    () => new TlsContext({ datagram: true, srtpProfiles: ["NOPE"] }),
    (e: TlsError) => e.code === "INVALID_OPTION",
  );
  const ctx = new TlsContext({ datagram: true });
  assert.throws(() => new DtlsEngine(ctx, { mtu: 100 }), (e: TlsError) => e.code === "INVALID_OPTION");
  assert.throws(() => new DtlsEngine(new TlsContext({})), (e: TlsError) => e.code === "INVALID_OPTION");
  ctx.free();
});

test("keying material export works for TLS sessions too (both sides agree)", () => {
  const c = certs();
  const serverContext = new TlsContext({ isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key });
  const clientContext = new TlsContext({ caCerts: [c.ca.cert] });
  const client = new TlsEngine(clientContext, { verifyHost: "localhost" });
  const server = new TlsEngine(serverContext);
  assert.throws(
    () => client.exportKeyingMaterial(32, "EXPORTER-test"),
    (e: TlsError) => e.code === "INTERNAL",
  );
  handshakeInMemory(client, server);
  const context = new Uint8Array([1, 2, 3]);
  assert.deepEqual(
    client.exportKeyingMaterial(32, "EXPORTER-test", context),
    server.exportKeyingMaterial(32, "EXPORTER-test", context),
  );
  assert.throws(
    () => client.exportKeyingMaterial(0, "EXPORTER-test"),
    (e: TlsError) => e.code === "INVALID_OPTION",
  );
  client.free(), server.free(), clientContext.free(), serverContext.free();
});
