/**
 * Calls into the shim's CA half (`c-shim/jsec_ca*.c`) and turns its statuses
 * into {@link TlsError}s and its description lines into records.
 *
 * @module
 */
import { lastError, readBytes, shim } from "../../ffi/mod.ts";
import { TlsError, type TlsErrorCode } from "../errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** PEM text or DER bytes, as the shim takes them. */
export type PemOrDer = string | Uint8Array;

/** The bytes of a PEM string (UTF-8) or the DER bytes themselves. */
export function bytesOf(input: PemOrDer): Uint8Array {
  return typeof input === "string" ? encoder.encode(input) : input;
}

const statusCodes: Record<number, TlsErrorCode> = {
  [-20]: "BAD_PASSPHRASE",
  [-21]: "KEY_MISMATCH",
  [-23]: "INVALID_OPTION",
};

/**
 * Runs one shim call; returns its status (>= 0) and the result bytes it left.
 * `what` starts the error message; `badInput` is the code for unreadable input.
 *
 * @example
 * ```ts
 * const { out } = call("cannot parse the certificate", () => shim.jsec_ca_cert_parse(der, der.length));
 * ```
 */
export function call(
  what: string,
  fn: () => number,
  badInput: TlsErrorCode = "INVALID_PEM",
): { status: number; out: Uint8Array } {
  const status = fn();
  if (status < 0) {
    const reason = lastError();
    const code = status === -22 ? badInput : statusCodes[status] ?? "INTERNAL";
    throw new TlsError(code, `${what}: ${reason.split("; ")[0]}`, { reason });
  }
  return { status, out: readBytes((b, c) => shim.jsec_ca_result(b, c)) ?? new Uint8Array() };
}

/** Like {@link call}, for calls whose result is text. */
export function callText(what: string, fn: () => number, badInput?: TlsErrorCode): string {
  return decoder.decode(call(what, fn, badInput).out);
}

/** The `name=value` lines of a description, unescaped, in order. */
export type Lines = ReadonlyArray<readonly [string, string]>;

/** Parses a description produced by the shim (see `c-shim/jsec_ca.h`). */
export function parseLines(text: string): Lines {
  const lines: [string, string][] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const eq = line.indexOf("=");
    const value = line.slice(eq + 1).replace(
      /\\x([0-9a-f]{2})/g,
      (_, h: string) => String.fromCharCode(parseInt(h, 16)),
    );
    lines.push([line.slice(0, eq), value]);
  }
  return lines;
}

/** Calls a describing function and parses its lines. */
export function callLines(what: string, fn: () => number, badInput?: TlsErrorCode): Lines {
  return parseLines(callText(what, fn, badInput));
}

/** The first value of `name`, if any. */
export function first(lines: Lines, name: string): string | undefined {
  return lines.find(([n]) => n === name)?.[1];
}

/** Every value of `name`, in order. */
export function all(lines: Lines, name: string): string[] {
  return lines.filter(([n]) => n === name).map(([, v]) => v);
}

/** Spec text for a builder: one `name=value` per line; values must not hold line breaks. */
export function spec(entries: ReadonlyArray<readonly [string, string | number | bigint]>): Uint8Array {
  const text = entries.map(([name, value]) => {
    const v = String(value);
    if (/[\r\n\0]/.test(v)) {
      throw new TlsError("INVALID_OPTION", `a ${name} value must not contain line breaks`);
    }
    return `${name}=${v}`;
  }).join("\n");
  return encoder.encode(text + "\0");
}
