/**
 * The Deno permission flags the README's Install section gives, read from the
 * README itself, so that the test and the install check run under exactly
 * what users are told (`test/permissions.test.ts`, `scripts/install_check.ts`).
 *
 * @module
 */
import { readFileSync } from "node:fs";

/** The README's `deno run` lines in the Install section, in order: first run, later runs, the CA tool. */
export interface ReadmeFlags {
  firstRun: string[];
  laterRun: string[];
  cli: string[];
}

/**
 * Reads the flags of each `deno run` line of the README's Install section,
 * with `$HOME` replaced by `home`.
 *
 * @example
 * ```ts
 * import { readmeFlags } from "./readme_flags.ts";
 * const { firstRun } = readmeFlags("/home/me"); // ["--allow-net=localhost", "--allow-env=JSEC_SHIM,…", …]
 * ```
 */
export function readmeFlags(home: string): ReadmeFlags {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("\n## Install\n"), readme.indexOf("\n## Using it\n"));
  const lines = section.replace(/\\\n\s*/g, " ").split("\n").filter((l) => l.startsWith("deno run "));
  const [firstRun, laterRun, cli] = lines.map((line) =>
    line.split(/\s+/).filter((t) => t.startsWith("--")).map((t) => t.replaceAll("$HOME", home))
  );
  if (!cli) {
    throw new Error(`README.md: expected three "deno run" lines under "## Install", found ${lines.length}`);
  }
  return { firstRun, laterRun, cli };
}
