/**
 * The fuzzer's smoke run (test/fuzz/: `deno task fuzz` runs it for longer):
 * a few hundred seeded mutations of a real exchange between two engines must
 * each end ok or as a TlsError — never another exception, corrupted data or a hang.
 */
import assert from "node:assert/strict";
import { runMany } from "./fuzz/engine_fuzz.ts";
import { test } from "./harness.ts";

test("fuzz smoke: 400 seeded mutations end ok or as a typed TlsError", () => {
  const tally = runMany(0, 400);
  assert.deepEqual(tally.defects, []);
  assert.equal(tally.outcomes.ok + tally.outcomes.typed, 400);
  assert.ok(tally.outcomes.typed > 200, "the mutations reached the engines"); // most runs must fail
});
