/**
 * Idle connections free their record buffers each time they wait for the
 * peer (lib/transport/pump.ts). These tests wake them again and again, both
 * ways, through both APIs on each side: data that arrives after the buffers
 * were freed, and records split across waits (where freeing must refuse),
 * must all come through, byte for byte.
 */
import assert from "node:assert/strict";
import { connectSocket } from "../mod.ts";
import { serverApis } from "./support/both_apis.ts";
import { clientTo, Recorder } from "./support/callback.ts";
import { bounded, connectTo } from "./support/conn.ts";
import { dribblingRelay } from "./support/dribbling_relay.ts";
import { pattern, readExactly } from "./support/openssl.ts";
import { test } from "./harness.ts";

/** What each wake-up sends: below a record, one record and a bit, several records. */
const SIZES = [1, 300, 16 * 1024 + 7, 50_000]; // the TlsSocket echo server writes each chunk once: under its 64 KiB
/** Long enough for both sides to be waiting for their peer again. */
const IDLE_MS = 40;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Each size in turn: written after an idle pause, echoed back, compared. */
async function wakeUps(send: (data: Uint8Array) => void, echoOf: (length: number) => Promise<Uint8Array>) {
  for (const [i, size] of SIZES.entries()) {
    await sleep(IDLE_MS);
    const data = pattern(size, i + 3);
    send(data);
    const back = await bounded(echoOf(size), 20_000, `the echo of ${size} bytes`);
    assert.deepEqual(back, data, `the echo of ${size} bytes after an idle pause`);
  }
}

for (const serverApi of ["TlsConn", "TlsSocket"] as const) {
  for (const split of [false, true]) {
    const how = split ? ", records split across waits" : "";

    test(`idle wake: TlsConn client ↔ ${serverApi} server${how}`, async () => {
      using server = serverApis[serverApi]();
      await using relay = split ? await dribblingRelay(server.port) : null;
      const conn = await connectTo(relay?.port ?? server.port);
      try {
        await wakeUps((data) => void conn.write(data), (n) => readExactly((p) => conn.read(p), n));
      } finally {
        conn.close();
        await conn.closed;
      }
    });

    test(`idle wake: TlsSocket client ↔ ${serverApi} server${how}`, async () => {
      using server = serverApis[serverApi]();
      await using relay = split ? await dribblingRelay(server.port) : null;
      const client = new Recorder(true);
      const socket = await connectSocket({
        ...clientTo(relay?.port ?? server.port),
        socket: client.handlers,
      });
      try {
        let seen = 0;
        await wakeUps((data) => assert.equal(socket.write(data), data.length), async (n) => {
          await client.receivedAtLeast(seen + n);
          const all = concat(client.log.chunks);
          seen += n;
          return all.subarray(seen - n, seen);
        });
      } finally {
        socket.end();
        await client.closed();
      }
    });
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) at += (out.set(c, at), c.length);
  return out;
}
