/**
 * The CI bench step can fail: a smoke run in which a contender errs exits 1
 * and counts the failed rows in its closing "bench: N passed, N failed" line
 * (which `.ci/run` adds to its totals). The contender fails for real: its
 * runtime (`node`, found on PATH) is a program that exits at once.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { test } from "./harness.ts";

const root = fileURLToPath(new URL("../", import.meta.url));

test("bench: a smoke run in which a contender fails exits 1 and counts it failed", () => {
  const dir = mkdtempSync(join(tmpdir(), "jsec-bench-fail-"));
  try {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "node"), '#!/bin/sh\necho "node: broken for this test" >&2\nexit 1\n');
    chmodSync(join(bin, "node"), 0o755);
    const run = spawnSync(
      join(root, "node_modules/.bin/deno"),
      [
        "run",
        "-A",
        "bench/main.ts",
        "--smoke",
        "--only",
        "latency",
        "--pairs",
        "deno/native,node/native",
        "--out",
        join(dir, "out") + "/",
      ],
      {
        cwd: root,
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: "1" },
      },
    );
    const out = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 1, out.slice(-2000));
    // p50 and p99 rows: Deno's pass, Node's fail.
    assert.match(run.stdout, /^bench: 2 passed, 2 failed$/m, out.slice(-2000));
    assert.match(run.stdout, /FAILED ping-pong p50 node\/native: .*the peer exited/, out.slice(-2000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeout: 150_000 });
