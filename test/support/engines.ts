/**
 * Two engines wired back to back in memory: real OpenSSL on both sides, no sockets.
 *
 * @module
 */
import assert from "node:assert/strict";
import { TlsContext, TlsEngine } from "../../engine.ts";
import { certs } from "./certs.ts";

const scratch = new Uint8Array(1 << 20);

/** Moves every pending byte from `from` to `to`; returns how many. */
export function deliver(from: TlsEngine, to: TlsEngine): number {
  let total = 0;
  for (let n; (n = from.takeOutput(scratch)) > 0; total += n) to.receive(scratch.subarray(0, n));
  return total;
}

/** Runs the handshake between `client` and `server` to its end (at most 10 flights). */
export function handshakeInMemory(client: TlsEngine, server: TlsEngine): void {
  for (let i = 0; i < 10; i++) {
    const a = client.handshake();
    deliver(client, server);
    const b = server.handshake();
    deliver(server, client);
    if (a && b) return;
  }
  assert.fail("handshake did not finish in 10 flights");
}

/**
 * Runs `count` full handshakes between fresh engines (new contexts each
 * time, so contexts, sessions and BIOs are made and freed), with a message
 * each way; returns how many completed.
 */
export function inMemoryHandshakes(count: number): number {
  const c = certs();
  let done = 0;
  for (let i = 0; i < count; i++) {
    const serverContext = new TlsContext({ isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key });
    const clientContext = new TlsContext({ caCerts: [c.ca.cert] });
    const client = new TlsEngine(clientContext, { verifyHost: "localhost" });
    const server = new TlsEngine(serverContext);
    try {
      handshakeInMemory(client, server);
      client.write(new Uint8Array([i & 0xff]));
      deliver(client, server);
      const got = new Uint8Array(1);
      assert.equal(server.read(got), 1);
      assert.equal(got[0], i & 0xff);
      done++;
    } finally {
      client.free();
      server.free();
      clientContext.free();
      serverContext.free();
    }
  }
  return done;
}
