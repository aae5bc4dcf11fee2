#!/usr/bin/env bun
/**
 * `@jsec/tls/cli`: the command-line tools. Today one, `ca`, the self-hosted
 * certificate authority (`ca init`, `ca issue`, `ca revoke`, `ca crl`, …;
 * `ca --help` lists them).
 *
 *   deno run <flags> jsr:@jsec/tls/cli ca init      (flags: see the README)
 *   bunx @jsec/tls ca init
 *
 * @example
 * ```ts
 * import { runCli } from "@jsec/tls/cli";
 * process.exitCode = await runCli(["ca", "--help"]);
 * ```
 *
 * @module
 */
import process from "node:process";
import { main as ca } from "./lib/ca/cli.ts";

const tools: Record<string, (argv: string[]) => Promise<number>> = { ca };

const usage = "usage: jsec <tool> …   tools: ca (the certificate authority; jsec ca --help)";

/**
 * Runs one tool with `argv` (tool name first, without the program name);
 * resolves to the exit code.
 *
 * @example
 * ```ts
 * import { runCli } from "@jsec/tls/cli";
 * process.exitCode = await runCli(["ca", "init", "--dir", "./my-ca"]);
 * ```
 */
export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const tool = name === undefined ? undefined : tools[name];
  if (tool) return await tool(rest);
  const asked = name === "--help" || name === "-h" || name === "help";
  (asked ? console.log : console.error)(name && !asked ? `jsec: unknown tool "${name}"\n${usage}` : usage);
  return asked ? 0 : 2;
}

if (import.meta.main) process.exit(await runCli(process.argv.slice(2)));
