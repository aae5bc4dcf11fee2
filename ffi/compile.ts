/**
 * Runs the C compiler, with the least each runtime asks for: Deno's own
 * `Deno.Command` (only `--allow-run=<cc>`; Node's `child_process` in Deno
 * also wants to read the whole environment), Node's `child_process` in Bun.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { shimUnavailable, withPermission } from "./failure.ts";

/**
 * Runs `cc args…`; throws the shim-unavailable error with the fix when the
 * compiler is missing, not permitted, or fails (its output included).
 *
 * @example
 * ```ts
 * import { compile } from "./compile.ts";
 * compile("deno", "cc", ["-shared", "-o", "/tmp/x.so", "/tmp/x.c"]);
 * ```
 */
export function compile(runtime: "deno" | "bun", cc: string, args: string[]): void {
  const missing = () =>
    shimUnavailable(`no C compiler (${cc}) to build the shim: install one (Debian: apt-get install gcc)`);
  let code: number, stderr: Uint8Array;
  if (runtime === "deno") {
    const command = new Deno.Command(cc, { args, stdout: "null", stderr: "piped" });
    try {
      ({ code, stderr } = withPermission(
        `--allow-run=${cc}`,
        "to build the shim",
        () => command.outputSync(),
      ));
    } catch (e) {
      if ((e as Error).name === "NotFound") missing();
      if ((e as { code?: string }).code === "SHIM_UNAVAILABLE") throw e;
      return shimUnavailable(`cannot run the C compiler ${cc}: ${(e as Error).message}`, e);
    }
  } else {
    try {
      execFileSync(cc, args, { stdio: ["ignore", "ignore", "pipe"] });
      return;
    } catch (e) {
      const err = e as { code?: string; status?: number; stderr?: Uint8Array };
      if (err.code === "ENOENT") missing();
      ({ code, stderr } = { code: err.status ?? 1, stderr: err.stderr ?? new Uint8Array() });
    }
  }
  if (code !== 0) shimUnavailable(`building the shim failed:\n${new TextDecoder().decode(stderr)}`);
}
