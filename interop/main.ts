/**
 * The interop matrix: our library (Deno and Bun, shim built against libssl
 * 1.1.1 / 3.0 / 3.5 / 3.6 / 4.0 inside each suite's container) against real TLS
 * stacks, every case, both directions. Builds what it needs (rootfs, images),
 * runs the cells, writes interop/results.json and interop/RESULTS.md, prints
 * the table, and exits non-zero on any failed cell.
 *
 *   deno run -A interop/main.ts [--peer=openssl-3.0] [--case=tls1.3] [--ours=deno] [--suite=bookworm]
 * @module
 */
import { CASES } from "./lib/cases.ts";
import { makeCerts } from "./lib/certs.ts";
import { type CellParams, planCell, resultRow, runCell } from "./lib/cell.ts";
import { type CliOptions, matches, parseCli, USAGE } from "./lib/cli.ts";
import { oursArgv, type OursEnv } from "./lib/ours.ts";
import { pool } from "./lib/pool.ts";
import { provenance } from "./lib/provenance.ts";
import { renderMarkdown, tally, writeJson } from "./lib/report.ts";
import { CACHE, prepare, type Ready } from "./lib/setup.ts";
import { shimWarnings } from "./lib/shim_warnings.ts";
import type { CellResult, Direction, Ours, Suite } from "./lib/types.ts";
import type { PeerDriver } from "./peers/peer.ts";
import { makeDriver, PEERS, peerVersion } from "./peers/registry.ts";

const SUITES: Suite[] = ["bullseye", "bookworm", "trixie", "sid", "experimental"];
const RUNTIMES: Ours[] = ["deno", "bun"];
const DIRECTIONS: Direction[] = ["ours-client", "ours-server"];
const here = new URL(".", import.meta.url).pathname;

const log = (s: string) => console.error(`[interop] ${s}`);

/** One of our runtimes on one suite's libssl. */
interface OurSide {
  ours: Ours;
  suite: Suite;
  libssl: string;
  /** Set when the shim could not be built or loaded there. */
  broken?: string;
}

function selection(o: CliOptions) {
  const ourSuites = SUITES.filter((s) => matches(o.suite, s));
  const sides = RUNTIMES.flatMap((r) => ourSuites.map((s) => ({ ours: r, suite: s })))
    .filter((x) => matches(o.ours, x.ours, `${x.ours}-${x.suite}`));
  const peers = PEERS.filter((p) => matches(o.peer, p.id, p.kind));
  const cases = CASES.filter((c) => matches(o.case, c.id));
  const suites = SUITES.filter((s) => sides.some((x) => x.suite === s) || peers.some((p) => p.suite === s));
  return { sides, peers, cases, suites };
}

async function warm(ready: Ready, env: OursEnv, ours: Ours, suite: Suite): Promise<OurSide> {
  const warnings = await shimWarnings(ready.host, suite);
  if (warnings) return { ours, suite, libssl: suite, broken: warnings };
  if (ours === "deno") {
    // Compile our side and the Deno peer once, into the suite's persistent DENO_DIR.
    const scripts = ["interop/ours/cell.ts", "interop/peers/programs/deno_peer.ts"];
    const c = ready.host.spawn(suite, ["deno", "cache", "--quiet", ...scripts], {
      label: "deno-cache",
      deadlineMs: 180_000,
    });
    await c.closeStdin();
    await c.wait(185_000);
  }
  const argv = oursArgv(ours, { role: "client", port: 0, mode: "ping", nonce: "", timeoutMs: 0 });
  argv.splice(argv.length - 2, 2, "interop/ours/warm.ts");
  const p = ready.host.spawn(suite, argv, {
    label: `warm-${ours}-${suite}`,
    deadlineMs: 180_000,
    env: { JSEC_CACHE_DIR: env.shimCache(suite), NO_COLOR: "1" },
  });
  await p.closeStdin();
  const exit = await p.wait(185_000);
  const m = /"opensslVersion":"(?:OpenSSL )?([^" ]+)/.exec(p.stdout);
  if (exit.code !== 0 || !m) {
    const why = (p.stderr.trim() || p.stdout.trim()).split("\n").slice(-3).join(" | ").slice(0, 300);
    return { ours, suite, libssl: suite, broken: `our side does not load on ${suite}: ${why}` };
  }
  return { ours, suite, libssl: m[1] };
}

function nextPortFactory(): () => number {
  let port = 20000 + (Deno.pid % 40) * 200;
  return () => {
    port = port >= 29990 ? 20000 : port + 1;
    return port;
  };
}

async function main(): Promise<number> {
  const opts = parseCli(Deno.args);
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const filtered = opts.peer.length + opts.case.length + opts.ours.length + opts.suite.length > 0;
  const sel = selection(opts);
  const t0 = Date.now();
  // Taken before anything runs: the results describe the tree as it was when the run started.
  const origin = provenance(Deno.cwd());
  const work = `${CACHE}/work`;
  await Deno.mkdir(work, { recursive: true });
  const repo = Deno.cwd();
  const ready = await prepare(sel.suites, [repo, work], !opts.noBuild, log);
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    await ready.host.stop();
    await ready.engine?.stop();
    for (const f of cleanups) await f();
  };
  const onSignal = () => cleanup().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    log(
      `running on: ${ready.host.describe()}${
        ready.engine?.startedByUs ? " (dockerd started by this run)" : ""
      }`,
    );
    log(`setup took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    // Certificates per run, so that runs on one machine never share (or delete) each other's.
    const certs = await makeCerts(`${work}/certs-${Deno.pid}`);
    cleanups.push(() => Deno.remove(certs.dir, { recursive: true }).catch(() => {}));
    const env: OursEnv = { shimCache: (s) => `${work}/shim-${s}` };
    const sides: OurSide[] = [];
    for (const x of sel.sides) sides.push(await warm(ready, env, x.ours, x.suite));
    for (const s of sides) log(`ours ${s.ours} on ${s.suite}: ${s.broken ?? `libssl ${s.libssl}`}`);
    const drivers: PeerDriver[] = [];
    for (const p of sel.peers) {
      const d = makeDriver(p, await peerVersion(ready.host, p));
      await d.prepare?.(ready.host, certs);
      drivers.push(d);
    }
    log(`peers: ${drivers.map((d) => `${d.instance.id} (${d.instance.version})`).join(", ")}`);
    const nextPort = nextPortFactory();
    const params: Array<CellParams & { broken?: string }> = [];
    for (const s of sides) {
      for (const d of drivers) {
        for (const c of sel.cases) {
          for (const direction of DIRECTIONS) {
            params.push({
              host: ready.host,
              env,
              certs,
              ours: s.ours,
              ourSuite: s.suite,
              ourLibssl: s.libssl,
              peer: d,
              caseDef: c,
              direction,
              nextPort,
              broken: s.broken,
            });
          }
        }
      }
    }
    log(`${params.length} cells, ${opts.jobs} at a time`);
    const tm = Date.now();
    let done = 0;
    const cells = await pool(params, opts.jobs, async (p): Promise<CellResult> => {
      const r = p.broken ? brokenRow(p, p.broken) : await runCell(p);
      done++;
      if (r.status !== "n/a") {
        const tag = `${r.ours}/${r.ourLibssl} ${r.direction} × ${p.peer.instance.id} ${r.case}`;
        console.error(
          `[${done}/${params.length}] ${r.status.padEnd(4)} ${tag} ${r.ms} ms${
            r.reason ? ` — ${r.reason}` : ""
          }`,
        );
      }
      return r;
    });
    const minutes = ((Date.now() - t0) / 60000).toFixed(1);
    const header = [
      `Interop matrix, measured ${new Date().toISOString().slice(0, 10)} on ${
        ready.host.kind === "docker" ? "Docker" : "chroot"
      }; ` +
      `our side: ${sides.map((s) => `${s.ours}@${s.libssl}`).join(", ")}; ` +
      `peers: ${drivers.map((d) => `${d.instance.kind} ${d.instance.version}`).join(", ")}.`,
      `Commit ${origin.commit.slice(0, 12)}${origin.dirty ? " (dirty)" : ""}, library ${
        origin.libraryHash.slice(0, 19)
      }.`,
      filtered ? `Partial run (filters: ${Deno.args.join(" ")}).` : "Full matrix.",
      `Run time ${minutes} min (cells ${((Date.now() - tm) / 60000).toFixed(1)} min).`,
    ];
    const md = renderMarkdown(cells, header);
    console.log(md);
    if (!opts.noWrite && (!filtered || opts.write)) {
      await writeJson(`${here}results.json`, cells, origin);
      await Deno.writeTextFile(`${here}RESULTS.md`, md + "\n");
      log(`wrote ${here}results.json and RESULTS.md`);
    }
    const t = tally(cells);
    console.log(`interop: ${t.pass} passed, ${t.fail} failed, ${t.na} skipped`);
    return t.fail > 0 ? 1 : 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await cleanup();
  }
}

function brokenRow(p: CellParams, reason: string): CellResult {
  const plan = planCell(p);
  return typeof plan === "string" ? resultRow(p, "n/a", plan, 0) : resultRow(p, "fail", reason, 0);
}

Deno.exit(await main());
