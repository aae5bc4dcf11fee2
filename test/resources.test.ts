/**
 * Native state is freed: by close() at once, and by the garbage collector
 * for what a user forgot. The shim counts its live contexts and sessions.
 */
import assert from "node:assert/strict";
import { connect, type TlsError } from "../mod.ts";
import { TlsContext, TlsEngine } from "../engine.ts";
import { shim } from "../ffi/mod.ts";
import { clearSharedContexts } from "../lib/tls/contexts.ts";
import { certs } from "./support/certs.ts";
import { liveSettles } from "./support/live.ts";
import { startServer } from "./support/server.ts";
import { test } from "./harness.ts";

const CYCLES = 10_000;
const PARALLEL = 16;

/** Runs `task` CYCLES times, PARALLEL at a time. */
async function cycles(task: () => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < CYCLES) {
      next++;
      await task();
    }
  }));
}

test(`${CYCLES} connect/close cycles and ${CYCLES} failed handshakes leave no native object`, async () => {
  const c = certs();
  clearSharedContexts(); // count from a clean slate: earlier tests' cached client contexts go
  const before = await liveSettles(0);
  const server = startServer({}, async (conn) => {
    await conn.read(new Uint8Array(16)).catch(() => null);
    conn.close();
  });
  let failures = 0;
  try {
    await cycles(async () => {
      const conn = await connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert] });
      conn.close();
      await conn.closed;
    });
    await cycles(async () => {
      // No caCerts: our test CA is not among the system roots.
      await connect({ hostname: "localhost", port: server.port }).catch((e: TlsError) => {
        assert.equal(e.code, "CERT_UNTRUSTED");
        failures++;
      });
    });
  } finally {
    server.close();
  }
  assert.equal(failures, CYCLES);
  clearSharedContexts(); // the client contexts that connect() keeps for reuse, and the saved sessions
  assert.ok(
    await liveSettles(0, true) <= before,
    `${shim.jsec_live()} native objects left, ${before} before`,
  );
}, { timeout: 300_000 });

test("contexts and sessions a user forgot are freed by the garbage collector", async () => {
  const c = certs();
  const before = shim.jsec_live();
  (() => {
    for (let i = 0; i < 50; i++) {
      const context = new TlsContext({ caCerts: [c.ca.cert] });
      const engine = new TlsEngine(context, { verifyHost: "localhost" });
      engine.handshake(); // a ClientHello is now pending: real native state
    }
  })();
  assert.equal(shim.jsec_live(), before + 100);
  assert.equal(await liveSettles(before, true), before);
});
