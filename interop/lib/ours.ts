/**
 * Starting our side of a cell (interop/ours/cell.ts under Deno or Bun, in a
 * suite's container) and reading its JSON-line events.
 * @module
 */
import type { Host } from "./hosts.ts";
import { pkcs11Env } from "./pkcs11_case.ts";
import type { Proc } from "./proc.ts";
import type { OursEvent, OursTask } from "./task.ts";
import type { Ours, Suite } from "./types.ts";

/** Where our runtimes keep compiled shims and module caches (bind-mounted). */
export interface OursEnv {
  /** Per-suite shim cache folder (JSEC_CACHE_DIR). */
  shimCache: (suite: Suite) => string;
}

/** The command line that runs interop/ours/cell.ts under `ours`. */
export function oursArgv(ours: Ours, task: OursTask): string[] {
  const script = "interop/ours/cell.ts";
  const json = JSON.stringify(task);
  return ours === "deno" ? ["deno", "run", "-A", "--quiet", script, json] : ["bun", script, json];
}

/** Start our side; the process is bounded by the task's timeout plus slack. */
export function startOurs(host: Host, env: OursEnv, ours: Ours, suite: Suite, task: OursTask): Proc {
  return host.spawn(suite, oursArgv(ours, task), {
    label: `ours-${ours}-${suite}`,
    deadlineMs: task.timeoutMs + 15_000,
    env: { JSEC_CACHE_DIR: env.shimCache(suite), NO_COLOR: "1", ...pkcs11Env(task) },
  });
}

/** All events printed so far. */
export function oursEvents(proc: Proc): OursEvent[] {
  const out: OursEvent[] = [];
  for (const line of proc.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as OursEvent);
    } catch {
      // a partial line: ignore
    }
  }
  return out;
}

/** The port our server listens on, once it says so. */
export async function oursListening(proc: Proc, timeoutMs: number): Promise<number> {
  const m = await proc.waitFor(/"event":"listening","port":(\d+)/, timeoutMs);
  return Number(m[1]);
}

/** The final result event, or a synthetic failure from the process's output. */
export function oursResult(proc: Proc): Extract<OursEvent, { event: "result" }> {
  const r = oursEvents(proc).filter((e) => e.event === "result").pop();
  if (r && r.event === "result") return r;
  const why = (proc.stderr.trim() || proc.stdout.trim()).split("\n").slice(-4).join(" | ").slice(0, 500);
  return { event: "result", ok: false, code: "NO_RESULT", message: why || "our side printed nothing" };
}
