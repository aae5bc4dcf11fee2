/**
 * `deno task fuzz` (or `bun test/fuzz/main.ts`): the engine fuzzer for longer.
 * Runs seeds in batches, each in a child process of the same runtime, and
 * classifies every run: ok / typed error / other exception / hang / crash (a
 * batch whose process died). Anything but ok or a typed error is a defect;
 * the exit status is non-zero then.
 *
 * Usage: main.ts [runs (20000)] [first seed (0)] [batch size (2000)]
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { Tally } from "./engine_fuzz.ts";

const [runs = 20_000, first = 0, batch = 2_000] = process.argv.slice(2).map(Number);
const script = fileURLToPath(new URL("./batch.ts", import.meta.url));
const isBun = "Bun" in globalThis;
const total = { runs: 0, ok: 0, typed: 0, other: 0, hang: 0, crash: 0 };
const codes: Record<string, number> = {};
const started = performance.now();

for (let from = first; from < first + runs; from += batch) {
  const count = Math.min(batch, first + runs - from);
  const args = isBun ? [script, `${from}`, `${count}`] : ["run", "-A", script, `${from}`, `${count}`];
  const child = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  const line = child.stdout?.trim().split("\n").pop() ?? "";
  if (child.status !== 0 || !line.startsWith("{")) {
    total.runs += count;
    total.crash += count;
    console.log(`crash: seeds ${from}..${from + count - 1} (status ${child.status}, signal ${child.signal})`);
    console.log(child.stderr?.slice(-2000));
    continue;
  }
  const tally = JSON.parse(line) as Tally;
  total.runs += tally.runs;
  for (const k of ["ok", "typed", "other", "hang"] as const) total[k] += tally.outcomes[k];
  for (const [code, n] of Object.entries(tally.codes)) codes[code] = (codes[code] ?? 0) + n;
  for (const d of tally.defects) console.log(`${d.outcome}: seed ${d.seed} (${d.mutation}): ${d.detail}`);
}

const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`typed errors: ${JSON.stringify(codes)}`);
console.log(
  `fuzz (${
    isBun ? "bun" : "deno"
  }): ${total.runs} runs in ${seconds} s: ok ${total.ok}, typed ${total.typed}, ` +
    `other ${total.other}, hang ${total.hang}, crash ${total.crash}`,
);
const defects = total.other + total.hang + total.crash;
console.log(`${total.runs - defects} passed, ${defects} failed`);
process.exit(defects > 0 ? 1 : 0);
