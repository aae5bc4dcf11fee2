/**
 * The loaded shim for the running runtime, and small helpers for calling it.
 *
 * @module
 */
import { TlsError } from "../lib/errors.ts";
import { locateShim } from "./build.ts";
import { loadBun } from "./bun.ts";
import { loadDeno } from "./deno.ts";
import type { Handle, Shim } from "./symbols.ts";

export type { Handle, Shim } from "./symbols.ts";

/** The runtime we run in. */
export const runtime: "deno" | "bun" = "Bun" in globalThis ? "bun" : "deno";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let scratch = new Uint8Array(256);

async function load(): Promise<{ shim: Shim; builtAgainst: string }> {
  const where = locateShim(runtime);
  let shim: Shim;
  try {
    shim = runtime === "bun" ? await loadBun(where.path) : loadDeno(where.path);
  } catch (e) {
    throw new TlsError("SHIM_UNAVAILABLE", `cannot load the shim ${where.path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  // Bun carries BoringSSL: make sure the shim bound to libssl, not to it.
  const version = readText(shim.jsec_version);
  if (!version.startsWith("OpenSSL ") || /BoringSSL/i.test(version)) {
    throw new TlsError("SHIM_UNAVAILABLE", `the shim is bound to "${version}", not to the system OpenSSL`);
  }
  return { shim, builtAgainst: where.opensslVersion };
}

const loaded = await load();

/** The shim's functions. */
export const shim: Shim = loaded.shim;

/** The OpenSSL version the shim runs with, e.g. "OpenSSL 3.0.19 27 Jan 2026". */
export const opensslVersion: string = readText(shim.jsec_version);

/** The OpenSSL header version the shim was compiled against, or "prebuilt". */
export const builtAgainst: string = loaded.builtAgainst;

/** A NUL-terminated copy of `text` for a `const char *` parameter; null stays null. */
export function cString(text: string | null | undefined): Uint8Array | null {
  if (text === null || text === undefined) return null;
  const bytes = new Uint8Array(text.length * 3 + 1);
  const { written } = encoder.encodeInto(text, bytes);
  return bytes.subarray(0, written + 1);
}

/** Calls a shim getter of the form `f(buf, cap) -> length`, growing the buffer as needed. */
export function readText(get: (buf: Uint8Array, cap: number) => number): string {
  return decoder.decode(readBytes(get) ?? new Uint8Array());
}

/** Like {@link readText}, for bytes; null when the getter reports -1 (nothing there). */
export function readBytes(get: (buf: Uint8Array, cap: number) => number): Uint8Array | null {
  let len = get(scratch, scratch.length);
  if (len < 0) return null;
  if (len >= scratch.length) {
    scratch = new Uint8Array(len + 1);
    len = get(scratch, scratch.length);
  }
  return scratch.slice(0, len);
}

/** The text of the shim's last failure. */
export function lastError(): string {
  return readText(shim.jsec_error);
}

/** Whether a handle is the NULL pointer (Deno: null; Bun: null or 0). */
export function isNull(handle: Handle | null): handle is null {
  return handle === null || (handle as unknown) === 0;
}
