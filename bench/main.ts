/**
 * `deno task bench` (or `bun bench/main.ts`): every figure, every contender,
 * interleaved rounds; writes bench/results.json and bench/RESULTS.md.
 *
 *   --smoke            ~10 s: tiny sizes, one round (CI: keeps the code from rotting)
 *   --rounds N         rounds per figure (default 5)
 *   --only a,b         figures: bulk,handshakes,hscpu,latency,memory,dtls,references,profile,libssl
 *   --pairs x,y        only these contender ids; "bun/" = every Bun pair (e.g. "bun/,deno/ours")
 *   --out DIR          where to write results (default bench/; a smoke run: a temporary folder)
 *   --bulk-mib N       bulk size (default 256; also shortens the other figures)
 *   --hs p256          handshakes with the P-256 TLS 1.3 settings only (full and resumed)
 *   --hscpu-count N    handshakes per CPU-per-pair measurement (default 5000; 2000 with --bulk-mib)
 *   --render           only write RESULTS.md again from results.json (and ANALYSIS.md), targets rechecked
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { cpus, release, tmpdir, totalmem, type as osType } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { provenance } from "../interop/lib/provenance.ts";
import { benchCerts } from "./certs.ts";
import { bulkFigures } from "./figures/bulk.ts";
import { handshakeFigures } from "./figures/handshakes.ts";
import { latencyFigures } from "./figures/latency.ts";
import { memoryFigures } from "./figures/memory.ts";
import { referenceFigures } from "./figures/references.ts";
import { inMemoryFigures, inMemoryFiguresInBun } from "./figures/in_memory.ts";
import { handshakeCpuFigures } from "./figures/handshake_cpu.ts";
import { profileFigures } from "./figures/profile.ts";
import { libsslFigures } from "./figures/libssl.ts";
import { dtlsFigures } from "./figures/dtls.ts";
import { setProbing, type Setting } from "./figure.ts";
import { buildHeapHelper } from "./native.ts";
import { renderAgain, type Results, writeResults } from "./results.ts";
import { targetsOf } from "./targets.ts";

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

if (flag("--render")) {
  // RESULTS.md again from results.json, e.g. after editing ANALYSIS.md; measures nothing.
  renderAgain(value("--out"));
  process.exit(0);
}

const smoke = flag("--smoke");
const rounds = Number(value("--rounds") ?? (smoke ? 1 : 5));
const only = value("--only")?.split(",");
const pairFilter = value("--pairs")?.split(",");
// A smoke run writes to a temporary folder: it must not replace the full run's results.
const outDir = value("--out") ??
  (smoke
    ? mkdtempSync(join(tmpdir(), "jsec-bench-smoke-")) + "/"
    : fileURLToPath(new URL("./", import.meta.url)));
const want = (
  figure: string,
) => (only ? only.includes(figure) : !(smoke && ["profile", "libssl", "references"].includes(figure)));
/** The smoke run keeps to ours and native in each runtime, and to DTLS next to its plain UDP reference. */
const SMOKE_PAIRS = [
  ...["deno/ours", "deno/native", "bun/ours", "bun/native", "deno/ours-push", "bun/ours-push"],
  ...["deno/dtls", "deno/udp", "bun/dtls", "bun/udp"],
];
const pairOk = !pairFilter && smoke
  ? (id: string) => SMOKE_PAIRS.includes(id)
  : pairFilter
  ? (id: string) => pairFilter.some((f) => (f.endsWith("/") ? id.startsWith(f) : id === f))
  : undefined;

/** The OpenSSL the shim loads (it may differ from the CLI's), or why it cannot say. */
async function shimOpenssl(): Promise<string> {
  try {
    const ffi = await import("../ffi/mod.ts");
    return `${ffi.opensslVersion()} (headers ${ffi.builtAgainst()})`;
  } catch (e) {
    return `unavailable: ${(e as Error).message.split("\n")[0]}`;
  }
}

const started = Date.now();
const log = (line: string) =>
  console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const root = fileURLToPath(new URL("../", import.meta.url));
const version = (cmd: string, a: string[]) => {
  try {
    return execFileSync(cmd, a, { encoding: "utf8" }).split("\n")[0].trim();
  } catch {
    return "unavailable";
  }
};

// Taken before anything runs: the results describe the tree as it was when the run started.
const origin = provenance(root);
const c = benchCerts();
const heapLib = buildHeapHelper(c.dir);
const p256: Setting = { name: "TLS 1.3 P-256", certs: c.p256, minVersion: "TLSv1.3" };
const rsa: Setting = { name: "TLS 1.3 RSA-2048", certs: c.rsa, minVersion: "TLSv1.3" };
const tls12: Setting = { name: "TLS 1.2 P-256", certs: c.p256, maxVersion: "TLSv1.2" };
const resumed: Setting = { ...p256, name: "TLS 1.3 P-256 resumed", resume: true };

const sizes = smoke
  ? { bulk: 4 * 2 ** 20, hsSeconds: 0.2, pings: 200, idle: 10, hsCpu: 32, echoSeconds: 0.2 }
  : value("--bulk-mib")
  ? {
    bulk: Number(value("--bulk-mib")) * 2 ** 20,
    hsSeconds: 1,
    pings: 2000,
    idle: 300,
    hsCpu: 2000,
    echoSeconds: 1,
  }
  : { bulk: 256 * 2 ** 20, hsSeconds: 1.5, pings: 5000, idle: 1000, hsCpu: 5000, echoSeconds: 2 };

const results: Results = {
  date: new Date().toISOString(),
  mode: smoke ? "smoke" : "full",
  provenance: origin,
  machine: {
    os: `${osType()} ${release()}`,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
  },
  versions: {
    deno: version(`${root}node_modules/.bin/deno`, ["--version"]),
    bun: version(`${root}node_modules/.bin/bun`, ["--version"]),
    node: version("node", ["--version"]),
    openssl: version("openssl", ["version"]),
    shim: await shimOpenssl(),
  },
  settings: { rounds, ...sizes, writeSize: 16384 },
  rows: [],
  references: [],
  profiles: [],
  targets: [],
  notes: [],
};

log(`${smoke ? "smoke" : "full"} run, ${rounds} round(s)`);
if (smoke) setProbing(false); // what pairs negotiate is read in full runs only
if (want("bulk")) {
  results.rows.push(...await bulkFigures({ setting: p256, bytes: sizes.bulk, rounds, only: pairOk, log }));
}
if (want("handshakes")) {
  results.rows.push(
    ...await handshakeFigures({
      concurrency: smoke ? [1] : [1, 16],
      settings: smoke || value("--hs") === "p256" ? [p256, resumed] : [p256, resumed, rsa, tls12],
      seconds: sizes.hsSeconds,
      rounds,
      only: pairOk,
      log,
    }),
  );
}
if (want("latency")) {
  results.rows.push(
    ...await latencyFigures({ setting: p256, count: sizes.pings, rounds, only: pairOk, log }),
  );
}
if (want("memory")) {
  results.rows.push(
    ...await memoryFigures({
      setting: p256,
      count: sizes.idle,
      rounds,
      heapLib,
      settleMs: smoke ? 100 : undefined,
      only: pairOk,
      log,
    }),
  );
}
if (want("dtls")) {
  results.rows.push(
    ...await dtlsFigures({
      setting: { name: "DTLS 1.2 P-256", certs: c.p256 },
      concurrency: smoke ? [1] : [1, 16],
      seconds: sizes.hsSeconds,
      echoSeconds: sizes.echoSeconds,
      warmupSeconds: sizes.echoSeconds / 4,
      rounds,
      only: pairOk,
      log,
    }),
  );
}
if (want("references")) results.references.push(...await referenceFigures({ certs: c.p256, smoke, log }));
/** Handshake-CPU measurements that erred: they fail the run like a contender's row. */
const hsCpuErrors: string[] = [];
// The in-memory floor takes a second: the smoke run keeps it too, so it never rots.
if (want("references") || want("hscpu") || (smoke && !only)) {
  const inMemory = inMemoryFigures({ certs: c.p256, smoke, log });
  // Bun's rows stand on a floor measured in Bun: its FFI and JIT are not Deno's.
  if (pairOk?.("bun/ours") ?? true) inMemory.push(...inMemoryFiguresInBun({ certs: c.p256, smoke, log }));
  results.references.push(...inMemory);
  if (want("hscpu")) {
    const perPair = (what: string) => {
      const rate = inMemory.find((r) => r.what.startsWith(what))?.value;
      return rate ? 1000 / rate : undefined;
    };
    const { refs, errors } = await handshakeCpuFigures({
      settings: [p256, resumed],
      count: Number(value("--hscpu-count") ?? sizes.hsCpu),
      concurrency: 16,
      floorMs: (runtime) => ({
        full: perPair(`ours in memory, ${runtime}: full TLS 1.3`),
        resumed: perPair(`ours in memory, ${runtime}: resumed TLS 1.3`),
      }),
      only: pairOk,
      log,
    });
    results.references.push(...refs);
    hsCpuErrors.push(...errors);
  }
}
if (want("profile")) {
  results.profiles.push(
    ...await profileFigures({ setting: p256, bytes: sizes.bulk, log, notes: results.notes }),
  );
}
if (want("libssl")) {
  // The host rows' size: on Bun a shorter transfer is mostly warm-up (bench/ANALYSIS.md).
  const bulkMiB = smoke ? 4 : sizes.bulk / 2 ** 20;
  results.rows.push(
    ...await libsslFigures({ rounds: Math.min(rounds, 3), smoke, bulkMiB, log, notes: results.notes }),
  );
}
results.targets = targetsOf(results.rows);
results.notes.push(
  "Deno's own TLS (rustls) cannot be held to TLS 1.2, so the Deno TLS 1.2 rows have no native ↔ native reference.",
  "Negotiated parameters are read off the wire (the server's first flight), per pair.",
  "Deno.listenTls hands out connections without setNoDelay: the bench sets TCP_NODELAY on the listening socket (Linux copies it to accepted sockets) through libc's setsockopt (bench/peer/nodelay.ts). Without it the Deno native server stalls ~40 ms per handshake (Nagle + delayed ACK: 13–23 handshakes/s).",
  "Every read()-style peer (ours, Deno's own TLS and TCP) reads into a 16 KiB buffer that doubles to 64 KiB when a read fills it; Bun's and Node's own sockets hand out their chunks and need none. The C heap is glibc malloc's in-use bytes (bench/native/heap.c): Bun's own allocations (mimalloc) do not show there, so Bun native rows read 0.",
  "The Bun contenders cannot choose their group: BoringSSL negotiates X25519MLKEM768 with itself; ours offers X25519MLKEM768 only where the libssl has it (3.5+), X25519 otherwise.",
  "DTLS rows are ours ↔ ours (@jsec/tls/dtls, OpenSSL's default DTLS 1.2 cipher and group) with `mtu: 1500` on both sides, the IPv4 loopback's MTU: the default, 1280, is sized for IPv6 paths. Their ratio is to the same runtime's plain UDP echo in the same round (node:dgram under Deno, Bun.udpSocket under Bun: the sockets our DTLS runs on), with the same 1200-byte messages and window.",
  "Ours is set to the cipher and group each runtime's own TLS negotiates with itself (Deno/rustls: AES-256-GCM and X25519; Bun/BoringSSL: AES-128-GCM and X25519MLKEM768 where the libssl has it, 3.5+). P-256 stays on our group list for TLS 1.2 with a P-256 certificate.",
);
writeResults(results, outDir);
log(`wrote ${outDir}results.json and RESULTS.md`);
for (const t of results.targets) {
  log(`target ${t.met === null ? "n/a" : t.met ? "met " : "MISSED"}: ${t.target}: ${t.value}`);
}
// A contender that erred (or measured nothing) fails the run, so that CI sees it.
const failed = results.rows.filter((r) => r.error !== undefined || r.median === null);
for (const r of failed) log(`FAILED ${r.figure} ${r.contender}: ${r.error ?? "no measurement"}`);
for (const e of hsCpuErrors) log(`FAILED CPU per handshake pair, ${e}`);
const failures = failed.length + hsCpuErrors.length;
console.log(`bench: ${results.rows.length - failed.length} passed, ${failures} failed`);
process.exit(failures > 0 ? 1 : 0);
