/**
 * Web Workers are threads that share the one loaded shim: its global state
 * (the live counter, the BIO method made on first use) must hold up when
 * several of them and the main thread run handshakes at once.
 */
import assert from "node:assert/strict";
import { shim } from "../ffi/mod.ts";
import { certs } from "./support/certs.ts";
import { bounded } from "./support/conn.ts";
import { inMemoryHandshakes } from "./support/engines.ts";
import { liveSettles } from "./support/live.ts";
import { test } from "./harness.ts";

const PER_THREAD = 40;

test(
  "two Workers and the main thread run handshakes on the shim at once; every object is counted and freed",
  async () => {
    certs();
    const before = shim.jsec_live();
    const workers = [0, 1].map(() =>
      new Worker(new URL("./support/handshake_worker.ts", import.meta.url).href, { type: "module" })
    );
    try {
      const answers = workers.map((worker) =>
        bounded(
          new Promise<{ done?: number; error?: string }>((resolve, reject) => {
            worker.onmessage = (event) => resolve(event.data);
            worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
          }),
          60_000,
          "a worker's handshakes",
        )
      );
      for (const worker of workers) worker.postMessage({ count: PER_THREAD });
      let mine = 0;
      for (let i = 0; i < PER_THREAD; i += 10) {
        mine += inMemoryHandshakes(10);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      assert.equal(mine, PER_THREAD);
      for (const answer of await Promise.all(answers)) assert.deepEqual(answer, { done: PER_THREAD });
      assert.equal(await liveSettles(before), before, "the live count drifted: lost updates between threads");
    } finally {
      for (const worker of workers) worker.terminate();
    }
  },
  { timeout: 90_000 },
);
