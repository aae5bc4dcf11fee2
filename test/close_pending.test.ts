/**
 * `close()` while a read is pending: the read rejects with `CLOSED` (the
 * caller closed it; nothing failed), the same on Deno and Bun, both before and
 * after the handshake.
 */
import assert from "node:assert/strict";
import { connect, TlsError } from "../mod.ts";
import { certs } from "./support/certs.ts";
import { bounded } from "./support/conn.ts";
import { startServer } from "./support/server.ts";
import { test } from "./harness.ts";

test("a read pending when close() is called rejects with CLOSED", async () => {
  const c = certs();
  using server = startServer({}, async (conn) => {
    await conn.read(new Uint8Array(16)).catch(() => null); // silent: the client's read stays pending
    conn.close();
  });
  for (const handshakeFirst of [true, false]) {
    const conn = await connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert] });
    if (handshakeFirst) await conn.handshake();
    const pending = conn.read(new Uint8Array(16));
    await new Promise((r) => setTimeout(r, 50)); // the read is waiting on the socket now
    conn.close();
    const error = await bounded(pending.then(() => null, (e) => e), 5_000, "the read never settled");
    assert.ok(error instanceof TlsError, String(error));
    assert.equal(error.code, "CLOSED", `handshake first: ${handshakeFirst}: ${error.message}`);
    await conn.closed;
  }
});
