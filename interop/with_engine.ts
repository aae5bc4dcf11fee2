/**
 * Runs one command while a Docker engine answers: uses the running engine, or
 * starts `dockerd` the way the interop run does and stops it afterwards. The
 * interop run stops the daemon it started, so later steps that need the images
 * (the per-libssl test suites, the bench's libssl rows) go through this.
 *
 *   deno run -A interop/with_engine.ts bash scripts/suite_tests.sh
 * @module
 */
import { ensureEngine } from "./lib/engine.ts";
import { CACHE } from "./lib/setup.ts";

const log = (s: string) => console.error(`[engine] ${s}`);

if (Deno.args.length === 0) {
  console.error("usage: deno run -A interop/with_engine.ts <command> [args…]");
  Deno.exit(2);
}
const engine = await ensureEngine(log, CACHE);
if (!engine) {
  // Say it in the runner's own terms, so that CI counts the step as one failure.
  console.log("no Docker engine could be started\n0 passed, 1 failed");
  Deno.exit(1);
}
const [cmd, ...args] = Deno.args;
const child = new Deno.Command(cmd, { args, stdin: "inherit", stdout: "inherit", stderr: "inherit" }).spawn();
const stop = () => {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
const { code } = await child.status;
await engine.stop();
Deno.exit(code);
