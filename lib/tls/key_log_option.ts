/**
 * The `keyLog` option of connections and servers: a function that receives
 * each NSS key-log line, or `"SSLKEYLOGFILE"` to append them to the file that
 * environment variable names (as browsers and curl do), only when asked.
 *
 * @module
 */
import { appendFileSync } from "node:fs";
import process from "node:process";
import type { KeyLogSink } from "../engine/key_log.ts";
import { invalid } from "../engine/validate.ts";
import { TlsError } from "../errors.ts";

/**
 * Where a connection's key-log lines go: a function, or `"SSLKEYLOGFILE"` for
 * the file named by that environment variable (nowhere when it is unset).
 * The lines decrypt the connection: never enable it in production.
 */
export type KeyLogOption = KeyLogSink | "SSLKEYLOGFILE";

/**
 * Throws `INVALID_OPTION` unless `option` is a `keyLog` option (or undefined).
 *
 * @example
 * ```ts
 * checkKeyLog((line) => console.log(line));
 * ```
 */
export function checkKeyLog(option: unknown): asserts option is KeyLogOption | undefined {
  if (option !== undefined && typeof option !== "function" && option !== "SSLKEYLOGFILE") {
    invalid("keyLog", 'a function or "SSLKEYLOGFILE"', option);
  }
}

/**
 * The engine's sink for a `keyLog` option: undefined when there is none or
 * when `"SSLKEYLOGFILE"` is given and the variable is unset. Throws
 * `INVALID_OPTION` for anything else, or when the environment may not be read.
 *
 * @example
 * ```ts
 * const sink = keyLogSink("SSLKEYLOGFILE"); // appends to $SSLKEYLOGFILE, if set
 * ```
 */
export function keyLogSink(option: KeyLogOption | undefined): KeyLogSink | undefined {
  checkKeyLog(option);
  if (option === undefined || typeof option === "function") return option;
  let path: string | undefined;
  try {
    path = process.env.SSLKEYLOGFILE;
  } catch (cause) { // Deno without --allow-env
    throw new TlsError("INVALID_OPTION", '`keyLog: "SSLKEYLOGFILE"` cannot read the environment', { cause });
  }
  if (!path) return undefined;
  return (line) => appendFileSync(path, line + "\n", { mode: 0o600 });
}
