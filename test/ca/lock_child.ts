/**
 * A second process for the lock tests (run by test/ca/store.test.ts):
 *
 *   lock_child.ts hold DIR            take the CA lock, print "held", wait until killed
 *   lock_child.ts count DIR N         N times: under the lock, add 1 to DIR/counter slowly,
 *                                     exit 3 if another holder is inside at the same time
 *
 * @module
 */
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { withLock } from "../../lib/ca/lock.ts";

const [mode, dir, rounds] = process.argv.slice(2);

if (mode === "hold") {
  await withLock(dir, async () => {
    console.log("held");
    setInterval(() => {}, 60_000); // keeps the process alive until it is killed
    await new Promise(() => {});
  });
} else if (mode === "count") {
  const counter = join(dir, "counter"), inside = join(dir, "inside");
  for (let i = 0; i < Number(rounds); i++) {
    await withLock(dir, async () => {
      try {
        closeSync(openSync(inside, "wx"));
      } catch {
        console.error("two holders at once");
        process.exit(3);
      }
      const n = Number(readFileSync(counter, "utf8"));
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      writeFileSync(counter, String(n + 1));
      rmSync(inside);
    }, { timeout: 60_000 });
  }
}
