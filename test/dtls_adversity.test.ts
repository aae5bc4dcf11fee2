/**
 * DTLS when things go wrong: a lossy, reordering, duplicating path; a flood
 * of ClientHellos from many ports; a peer that vanishes mid-handshake; the
 * session limit and the idle timeout. Real UDP on loopback throughout.
 */
import assert from "node:assert/strict";
import { shim } from "../ffi/mod.ts";
import { connect, listen, type TlsError } from "../dtls.ts";
import { DtlsEngine, TlsContext } from "../engine.ts";
import { UdpSocket } from "../lib/transport/udp.ts";
import { certs } from "./support/certs.ts";
import { LossyRelay } from "./support/lossy_relay.ts";
import { test } from "./harness.ts";

function serverOptions(extra: object = {}) {
  const c = certs();
  return { hostname: "127.0.0.1", port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key, ...extra };
}

function clientOptions(port: number, extra: object = {}) {
  return { hostname: "127.0.0.1", port, caCerts: [certs().ca.cert], servername: "localhost", ...extra };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, ms = 10_000, every = 20): Promise<void> {
  for (const end = Date.now() + ms; !check();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

test(
  "dtls: through a lossy relay (30 % loss, duplicates, reordering, delay) the handshake completes and messages arrive intact, once, one per datagram",
  async () => {
    await using listener = listen(serverOptions());
    await listener.ready;
    const relay = await LossyRelay.start(listener.addr, {
      loss: 0.3,
      duplicate: 0.2,
      delay: 0.3,
      maxDelayMs: 60,
    }, 1234);
    try {
      const conn = await connect(clientOptions(relay.addr.port, { handshakeTimeout: 60_000 }));
      const server = (await listener.accept())!;
      const sent = new Map<string, number>();
      for (let i = 0; i < 100; i++) {
        const message = new TextEncoder().encode(`message ${i} `.repeat(1 + (i % 40)));
        sent.set(new TextDecoder().decode(message), i);
        await conn.send(message);
      }
      const seen = new Set<string>();
      const reading = (async () => {
        for await (const m of server) {
          const text = new TextDecoder().decode(m);
          assert.ok(sent.has(text), "every message arrives whole, as it was sent");
          assert.ok(!seen.has(text), "no message twice (duplicates fall to the replay window)");
          seen.add(text);
        }
      })();
      await sleep(500); // the delayed ones
      conn.close();
      server.close();
      await reading;
      assert.ok(seen.size > 30 && seen.size < 100, `${seen.size} of 100 arrived through 30 % loss`);
      assert.ok(relay.stats.lost > 0 && relay.stats.duplicated > 0 && relay.stats.delayed > 0);
    } finally {
      relay.close();
    }
  },
  { timeout: 90_000 },
);

/** A real client's first ClientHello (no cookie). */
function clientHello(): Uint8Array {
  const context = new TlsContext({ datagram: true });
  const engine = new DtlsEngine(context);
  engine.handshake();
  const out = new Uint8Array(engine.maxDatagram);
  const hello = out.slice(0, engine.takeOutput(out));
  engine.free();
  context.free();
  return hello;
}

test("dtls: a ClientHello flood from many source ports gets cookies and allocates no session", async () => {
  await using listener = listen(serverOptions());
  await listener.ready;
  const hello = clientHello();
  const answers = { count: 0 };
  const sockets = await Promise.all(
    Array.from({ length: 50 }, () => UdpSocket.bind("127.0.0.1", 0, () => answers.count++)),
  );
  sockets[0].send(hello, listener.addr); // warms up the listener's one listening engine
  await until("the first cookie", () => answers.count === 1);
  const live = shim.jsec_live();
  for (let round = 0; round < 10; round++) {
    for (const socket of sockets) socket.send(hello, listener.addr);
    for (const socket of sockets) socket.send(new Uint8Array(100).fill(round), listener.addr); // garbage
    await sleep(10); // bursts the size of a socket buffer: the kernel would drop more
  }
  // Every datagram that reached the listener got a cookie (a ClientHello) or was dropped (garbage).
  let seen = -1;
  await until(
    "the flood to settle",
    () => {
      const settled = listener.stats.packetsIn === seen;
      seen = listener.stats.packetsIn;
      return settled;
    },
    10_000,
    200,
  );
  const stats = listener.stats;
  assert.equal(stats.cookiesSent + stats.dropped.invalid, stats.packetsIn);
  assert.ok(stats.cookiesSent > 250 && stats.dropped.invalid > 250, JSON.stringify(stats));
  assert.equal(shim.jsec_live(), live, "no native object made for any of them");
  assert.equal(listener.stats.sessions, 0);
  for (const socket of sockets) socket.close();
  // The listener still serves a real client.
  await using conn = await connect(clientOptions(listener.addr.port));
  assert.equal((await conn.handshake()).protocol, "DTLSv1.2");
}, { timeout: 60_000 });

test("dtls: a peer that vanishes mid-handshake is timed out and freed", async () => {
  const errors: TlsError[] = [];
  await using listener = listen(
    serverOptions({ handshakeTimeout: 800, onHandshakeError: (e: TlsError) => errors.push(e) }),
  );
  await listener.ready;
  const before = shim.jsec_live();
  // A client engine over a raw socket that answers the cookie, then goes silent.
  const context = new TlsContext({ datagram: true });
  const engine = new DtlsEngine(context);
  const out = new Uint8Array(engine.maxDatagram);
  let answered = false;
  const socket = await UdpSocket.bind("127.0.0.1", 0, (d) => {
    if (answered) return; // gone
    answered = true;
    engine.receive(d); // the HelloVerifyRequest
    engine.handshake();
    socket.send(out.subarray(0, engine.takeOutput(out)), listener.addr); // ClientHello + cookie, then silence
  });
  engine.handshake();
  socket.send(out.subarray(0, engine.takeOutput(out)), listener.addr);
  await until("a session for the peer", () => listener.stats.sessions === 1);
  await until("the handshake timeout", () => listener.stats.handshakesFailed === 1, 5000);
  assert.equal(listener.stats.sessions, 0);
  assert.equal(errors[0]?.code, "HANDSHAKE_TIMEOUT");
  engine.free();
  context.free();
  socket.close();
  assert.ok(shim.jsec_live() <= before + 1, "only the listening engine is left"); // it became the peer's, then a new one
}, { timeout: 30_000 });

test("dtls: maxSessions refuses more peers; idleTimeout closes a quiet one with close_notify", async () => {
  await using listener = listen(serverOptions({ maxSessions: 1, idleTimeout: 400 }));
  await listener.ready;
  const first = await connect(clientOptions(listener.addr.port));
  await assert.rejects(
    connect(clientOptions(listener.addr.port, { handshakeTimeout: 700 })),
    (e: TlsError) => e.code === "HANDSHAKE_TIMEOUT",
  );
  assert.ok(listener.stats.dropped.sessionLimit > 0);
  assert.equal(await first.receive(), null, "idle: the listener closed it");
  assert.equal(listener.stats.sessions, 0);
  await using second = await connect(clientOptions(listener.addr.port));
  assert.equal((await second.handshake()).protocol, "DTLSv1.2");
}, { timeout: 30_000 });

test(
  "dtls: a peer that restarts on the same address gets a new session (RFC 6347 §4.2.8); a late copy of its old ClientHello changes nothing",
  async () => {
    await using listener = listen(serverOptions());
    await listener.ready;
    const c = certs();
    const context = new TlsContext({ datagram: true, caCerts: [c.ca.cert] });
    let engine!: DtlsEngine;
    const out = new Uint8Array(20000);
    const sent: Uint8Array[] = [];
    const flush = () => {
      while (engine.pendingOutput > 0) {
        const datagram = out.slice(0, engine.takeOutput(out));
        sent.push(datagram);
        socket.send(datagram, listener.addr);
      }
    };
    const socket = await UdpSocket.bind("127.0.0.1", 0, (d) => {
      engine.receive(d);
      engine.handshake();
      flush();
    });
    const handshake = async () => {
      engine = new DtlsEngine(context, { verifyHost: "localhost" });
      sent.length = 0;
      engine.handshake();
      flush();
      await until("the handshake", () => engine.state === "ready");
    };
    await handshake();
    const oldHello = sent[1]; // the ClientHello with its cookie
    const first = (await listener.accept())!;
    socket.send(oldHello, listener.addr); // a late duplicate: the session stays
    await sleep(100);
    assert.equal(listener.stats.sessions, 1);
    assert.equal(listener.stats.handshakes, 1);
    engine.free(); // the peer "restarts": a new handshake from the same address
    await handshake();
    const second = (await listener.accept())!;
    assert.notEqual(second, first);
    assert.equal(await first.receive(), null, "the old session ended");
    assert.equal(listener.stats.sessions, 1);
    assert.equal(listener.stats.handshakes, 2);
    engine.send(new TextEncoder().encode("after restart"));
    flush();
    assert.equal(new TextDecoder().decode((await second.receive())!), "after restart");
    engine.free();
    context.free();
    socket.close();
  },
  { timeout: 30_000 },
);
