/**
 * The shim must compile warning-free against every OpenSSL line we support
 * (1.1.1 to 4.0), but the loader builds it without `-Werror`: a user's newer
 * OpenSSL must not break their build over a warning. The matrix checks it
 * instead, once per suite of ours: `cc -fsyntax-only -Wall -Wextra -Werror`
 * over `c-shim/*.c` against that suite's headers.
 * @module
 */
import type { Host } from "./hosts.ts";
import type { Suite } from "./types.ts";

const checks = new Map<Suite, Promise<string | null>>();

/**
 * Null when the shim compiles without a warning in `suite`, else why not
 * (the compiler's first lines). Compiles once per suite, however often asked.
 *
 * @example
 * ```ts
 * const why = await shimWarnings(host, "experimental");
 * if (why) console.error(why);
 * ```
 */
export function shimWarnings(host: Host, suite: Suite): Promise<string | null> {
  let check = checks.get(suite);
  if (!check) {
    check = compileCheck(host, suite);
    checks.set(suite, check);
  }
  return check;
}

async function compileCheck(host: Host, suite: Suite): Promise<string | null> {
  const argv = ["sh", "-c", "cc -fsyntax-only -Wall -Wextra -Werror c-shim/*.c"];
  const p = host.spawn(suite, argv, { label: `shim-warnings-${suite}`, deadlineMs: 120_000 });
  await p.closeStdin();
  const exit = await p.wait(125_000);
  if (exit.code === 0) return null;
  const said = p.output.trim().split("\n").filter((l) => /error|warning/.test(l)).slice(0, 3);
  return `the shim does not compile warning-free on ${suite}: ${
    said.join(" | ").slice(0, 300) || `exit ${exit.code}`
  }`;
}
