/**
 * The shared deadlines behind handshake timeouts and closing drains: each
 * fires once, never early, in order; a cancelled one never fires; and once
 * none is live no runtime timer keeps the process up.
 */
import assert from "node:assert/strict";
import { Deadline, deadlineTimers } from "../lib/transport/deadlines.ts";
import { test } from "./harness.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("deadlines fire once each, not before their time, oldest first, across durations", async () => {
  const fired: string[] = [];
  const start = performance.now();
  const late: number[] = [];
  const all = ["a", "b", "c"].flatMap((name) =>
    [30, 10].map((ms) =>
      new Promise<void>((resolve) => {
        const set = performance.now();
        new Deadline(ms, () => {
          late.push(performance.now() - set - ms);
          fired.push(`${name}${ms}`);
          resolve();
        });
      })
    )
  );
  await Promise.all(all);
  assert.deepEqual(fired, ["a10", "b10", "c10", "a30", "b30", "c30"]);
  for (const l of late) assert.ok(l >= 0, `a deadline fired ${-l} ms early`);
  assert.ok(performance.now() - start >= 30);
});

test("a cancelled deadline never fires; cancelling twice or after firing is harmless", async () => {
  let fired = 0;
  const kept = new Promise<void>((resolve) => new Deadline(20, resolve));
  const cancelled = new Deadline(5, () => fired++);
  cancelled.cancel();
  cancelled.cancel();
  await kept;
  await sleep(10);
  assert.equal(fired, 0);
  const once = new Promise<Deadline>((resolve) => {
    const d: Deadline = new Deadline(1, () => resolve(d));
  });
  (await once).cancel();
});

test("thousands of deadlines, nearly all cancelled: the live ones still fire, and none is left behind", async () => {
  const fired: number[] = [];
  const live: Promise<void>[] = [];
  for (let round = 0; round < 3; round++) {
    const batch = Array.from(
      { length: 2000 },
      (_, i) => new Deadline(15, () => fired.push(round * 2000 + i)),
    );
    for (const [i, d] of batch.entries()) {
      if (i % 500 !== 499) d.cancel();
      else live.push(new Promise<void>((resolve) => new Deadline(16, resolve)));
    }
    await sleep(1);
  }
  await Promise.all(live);
  await sleep(5);
  assert.deepEqual(fired, [499, 999, 1499, 1999, 2499, 2999, 3499, 3999, 4499, 4999, 5499, 5999]);
  // Other tests' queues may hold timers too (Bun runs every file in one process): count ours.
  const before = deadlineTimers();
  const ours = (armed: number, referenced: number) => ({
    armed: before.armed + armed,
    referenced: before.referenced + referenced,
  });
  const pending = Array.from({ length: 500 }, () => new Deadline(59_999, () => assert.fail("fired")));
  assert.deepEqual(deadlineTimers(), ours(1, 1)); // one timer for them all
  for (const d of pending) d.cancel();
  assert.deepEqual(deadlineTimers(), ours(1, 0)); // armed still, but it keeps no process up
  const again = new Deadline(59_999, () => assert.fail("fired"));
  assert.deepEqual(deadlineTimers(), ours(1, 1)); // the same timer, referenced again
  again.cancel();
  assert.deepEqual(deadlineTimers(), ours(1, 0));
});

test("a deadline longer than a runtime timer can wait (2^31 ms) does not fire early", async () => {
  let fired = false;
  const far = new Deadline(3_000_000_000, () => fired = true);
  await sleep(20);
  far.cancel();
  assert.equal(fired, false);
});
