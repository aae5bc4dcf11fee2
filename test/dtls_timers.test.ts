/**
 * The DTLS listener's timer: its sessions wait in a heap by deadline
 * (lib/dtls/deadline_heap.ts), so one timer serves many peers. The heap
 * against a sorted list under random operations; and a listener holding many
 * idle sessions still retransmits its flight to one handshaking peer that went
 * quiet, about a second later (RFC 6347 §4.2.4), without disturbing the idle ones.
 */
import assert from "node:assert/strict";
import { connect, type DtlsConn, listen } from "../dtls.ts";
import { DtlsEngine, TlsContext } from "../engine.ts";
import { DeadlineHeap } from "../lib/dtls/deadline_heap.ts";
import { UdpSocket } from "../lib/transport/udp.ts";
import { certs } from "./support/certs.ts";
import { test } from "./harness.ts";

test("deadline heap: set, move, delete and takeDue agree with a sorted list over 20 000 random operations", () => {
  const heap = new DeadlineHeap<number>();
  const model = new Map<number, number>();
  let seed = 7;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  let now = 0;
  for (let step = 0; step < 20_000; step++) {
    const item = next(500);
    const op = next(10);
    if (op < 6) {
      const at = op === 5 ? Infinity : now + next(1000);
      heap.set(item, at);
      if (at === Infinity) model.delete(item);
      else model.set(item, at);
    } else if (op < 8) {
      heap.delete(item);
      model.delete(item);
    } else {
      now += next(50);
      const due = heap.takeDue(now);
      const expected = [...model].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
      assert.deepEqual(due.map((i) => model.get(i)), expected.map(([, at]) => at), "earliest first");
      assert.deepEqual(new Set(due), new Set(expected.map(([i]) => i)));
      for (const i of due) model.delete(i);
    }
    assert.equal(heap.size, model.size);
    assert.equal(heap.earliest, Math.min(Infinity, ...model.values()));
  }
});

const IDLE_PEERS = 150;

test(
  `dtls: with ${IDLE_PEERS} idle sessions, a handshaking peer that went quiet gets the listener's flight again, about a second later`,
  async () => {
    const c = certs();
    await using listener = listen({ hostname: "127.0.0.1", port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key });
    await listener.ready;
    const client = {
      hostname: "127.0.0.1",
      port: listener.addr.port,
      caCerts: [c.ca.cert],
      servername: "localhost",
    };
    const idle: DtlsConn[] = [];
    try {
      for (let i = 0; i < IDLE_PEERS; i += 25) {
        idle.push(...await Promise.all(Array.from({ length: 25 }, () => connect(client))));
      }
      assert.equal(listener.stats.sessions, IDLE_PEERS);

      // A client over a raw socket: answers the cookie, takes the server's flight, then never answers.
      const context = new TlsContext({ datagram: true, caCerts: [c.ca.cert] });
      const engine = new DtlsEngine(context, { verifyHost: "localhost" });
      const out = new Uint8Array(engine.maxDatagram);
      const arrivals: number[] = [];
      let cookieAnswered = false;
      const socket = await UdpSocket.bind("127.0.0.1", 0, (d) => {
        if (cookieAnswered) return void arrivals.push(Date.now()); // the flight, and its copies: ignored
        cookieAnswered = true;
        engine.receive(d); // the HelloVerifyRequest
        engine.handshake();
        socket.send(out.subarray(0, engine.takeOutput(out)), listener.addr);
      });
      try {
        engine.handshake();
        socket.send(out.subarray(0, engine.takeOutput(out)), listener.addr);
        const start = Date.now();
        // A datagram 500 ms or more after the first of the flight is a retransmission.
        const retransmitted = () => arrivals.length > 0 && arrivals.at(-1)! - arrivals[0] >= 500;
        while (!retransmitted() && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 50));
        assert.ok(arrivals.length > 0, "the listener answered the ClientHello with its flight");
        assert.ok(
          retransmitted(),
          `only ${arrivals.length} datagrams, within ${arrivals.at(-1)! - arrivals[0]} ms`,
        );
        assert.ok(
          arrivals.at(-1)! - arrivals[0] < 5_000,
          "the first retransmission comes after about a second",
        );
        assert.equal(listener.stats.sessions, IDLE_PEERS + 1, "the idle sessions are all still there");
        assert.equal(listener.stats.handshakesFailed, 0);
      } finally {
        engine.free();
        context.free();
        socket.close();
      }
      // The idle peers still talk.
      await idle[0].send(new TextEncoder().encode("still here"));
      const [message] = await listener.receive();
      assert.equal(new TextDecoder().decode(message), "still here");
    } finally {
      for (const conn of idle) conn.close();
    }
  },
  { timeout: 120_000 },
);
