/**
 * Where the CPU goes in the bulk case: `perf record -e cpu-clock` (a
 * software clock: this machine's perf has no hardware counters) around both
 * processes of ours ↔ ours, download direction, in Deno and in Bun; then the
 * share of samples per library and per symbol. Deno runs with
 * `--perf-basic-prof` so JIT-compiled JavaScript has names.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allPairs } from "../contenders.ts";
import { peerTls, type Setting } from "../figure.ts";
import { runClient, ServerPeer } from "../procs.ts";
import type { Results } from "../results.ts";

type Profile = Results["profiles"][number];

function perfWorks(): boolean {
  try {
    execFileSync("perf", ["record", "-e", "cpu-clock", "-o", "/dev/null", "--", "true"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

function report(file: string, sort: string): Array<[string, number]> {
  const out = execFileSync("perf", [
    "report",
    "-i",
    file,
    "--no-children",
    "--sort",
    sort,
    "--stdio",
    "-g",
    "none",
  ], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const rows: Array<[string, number]> = [];
  for (const line of out.split("\n")) {
    const m = /^\s*([\d.]+)%\s+(.*\S)\s*$/.exec(line);
    if (m) rows.push([m[2].replace(/\s+/g, " "), Number(m[1]) / 100]);
  }
  return rows;
}

function samples(file: string): number {
  const out = execFileSync("perf", ["report", "-i", file, "--stdio", "-g", "none", "--sort", "dso"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const m = /# Samples: ([\d.]+)([KM]?)/.exec(out); // not "Total Lost Samples"
  return m ? Math.round(Number(m[1]) * (m[2] === "K" ? 1e3 : m[2] === "M" ? 1e6 : 1)) : 0;
}

/** Groups libraries into what the issue asks about. */
export function categorize(
  byDso: Array<[string, number]>,
  top: Array<[string, number]>,
): Array<[string, number]> {
  const cat = new Map<string, number>();
  const add = (k: string, v: number) => cat.set(k, (cat.get(k) ?? 0) + v);
  const copies = top.filter(([s]) => /memmove|memcpy|memset/.test(s)).reduce((n, [, v]) => n + v, 0);
  for (const [dso, share] of byDso) {
    if (dso.startsWith("libcrypto")) add("libcrypto (AEAD, hashes)", share);
    else if (dso.includes("kernel")) add("kernel (TCP, socket copies)", share);
    else if (dso.startsWith("libssl") || dso.startsWith("libjsec")) {
      add("libssl + shim (records, BIOs)", share);
    } else if (dso.startsWith("libc")) add("libc (memcpy, malloc)", share);
    else if (dso.startsWith("[JIT]")) add("JavaScript (JIT)", share);
    else add(`runtime (${dso}: event loop, FFI, GC)`, share);
  }
  if (copies) cat.set("  of which memmove/memcpy/memset", copies);
  return [...cat].sort((a, b) => b[1] - a[1]);
}

export async function profileFigures(opts: {
  setting: Setting;
  bytes: number;
  log: (line: string) => void;
  notes: string[];
}): Promise<Profile[]> {
  if (!perfWorks()) {
    opts.notes.push(
      "No CPU profile: `perf record -e cpu-clock` does not work on this machine (install linux-perf).",
    );
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), "jsec-perf-"));
  const profiles: Profile[] = [];
  for (const id of ["deno/ours", "bun/ours", "deno/native", "bun/native"]) {
    const pair = allPairs().find((p) => p.id === id)!;
    opts.log(`profile: ${id} bulk download ${opts.bytes / 2 ** 20} MiB`);
    const files = {
      server: join(dir, `${id.replace("/", "-")}-server.data`),
      client: join(dir, `${id.replace("/", "-")}-client.data`),
    };
    const wrap = (file: string) => ({
      prefix: ["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999", "-o", file, "--"],
      flags: pair.client.runtime === "deno" ? ["--v8-flags=--perf-basic-prof"] : [],
      cwd: dir, // V8 writes its isolate logs into the working directory
    });
    const server = await ServerPeer.start(
      pair.server,
      peerTls(pair, pair.server, opts.setting),
      {},
      wrap(files.server),
    );
    try {
      await runClient(
        pair.client,
        {
          tls: peerTls(pair, pair.client, opts.setting),
          port: server.port,
          task: { kind: "bulk", op: "D", bytes: opts.bytes },
        },
        180_000,
        wrap(files.client),
      );
    } finally {
      await server.stop();
    }
    for (const role of ["server", "client"] as const) {
      try {
        const byDso = report(files[role], "dso");
        const top = report(files[role], "dso,sym").map(([s, v]) =>
          [s.replace(/^(\S+)\s+\[[.k]\]\s+/, "$1 "), v] as [string, number]
        );
        profiles.push({
          what: `${pair.label}, ${role} (${role === "server" ? "sends" : "receives"})`,
          total: samples(files[role]),
          byDso: categorize(byDso, top).concat(byDso.map(([d, v]) => [`· ${d}`, v])),
          top,
        });
      } catch (e) {
        opts.log(`  ${role}: perf report failed: ${(e as Error).message.slice(0, 200)}`);
      }
    }
  }
  return profiles;
}
