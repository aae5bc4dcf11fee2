/**
 * Two engines wired back to back in memory: real OpenSSL on both sides, no sockets.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { TlsEngine } from "../../engine.ts";

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
