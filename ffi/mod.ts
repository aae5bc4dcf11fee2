/**
 * The shim for the running runtime, and small helpers for calling it.
 *
 * Nothing happens at import: the library is found (or built) and opened on
 * the first call of any shim function, so that importing only for types, or
 * for code that never reaches OpenSSL, needs no permission and costs nothing.
 *
 * @module
 */
import { dirname } from "node:path";
import { locateShim } from "./build.ts";
import { loadBun } from "./bun.ts";
import { loadDeno } from "./deno.ts";
import { shimUnavailable, withPermission } from "./failure.ts";
import { type Handle, type Shim, symbols } from "./symbols.ts";

export type { Handle, Shim } from "./symbols.ts";

/** The runtime we run in. */
export const runtime: "deno" | "bun" = "Bun" in globalThis ? "bun" : "deno";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let scratch = new Uint8Array(256);

/**
 * The shim's functions. Until the first call each one is a stub that loads
 * the library and then replaces every stub with the native function, so
 * later calls go straight to C.
 */
export const shim: Shim = stubs();

let loaded: { opensslVersion: string; builtAgainst: string } | undefined;

function stubs(): Shim {
  const table: Record<string, (...args: unknown[]) => unknown> = {};
  for (const name of Object.keys(symbols)) {
    table[name] = (...args) => {
      load();
      return (shim as unknown as Record<string, (...args: unknown[]) => unknown>)[name](...args);
    };
  }
  return table as unknown as Shim;
}

/** Finds or builds the library, opens it, checks it is bound to OpenSSL, and installs its functions. */
function load(): { opensslVersion: string; builtAgainst: string } {
  if (loaded) return loaded;
  const where = locateShim(runtime);
  let native: Shim;
  try {
    native = runtime === "bun" ? loadBun(where.path) : withPermission(
      `--allow-ffi=${dirname(where.path)}`,
      "to load the shim",
      () => loadDeno(where.path),
    );
  } catch (e) {
    if ((e as { code?: string }).code === "SHIM_UNAVAILABLE") throw e;
    return shimUnavailable(`cannot load the shim ${where.path}: ${(e as Error).message}`, e);
  }
  // Bun carries BoringSSL: make sure the shim bound to libssl, not to it.
  const version = readText(native.jsec_version);
  if (!version.startsWith("OpenSSL ") || /BoringSSL/i.test(version)) {
    shimUnavailable(`the shim is bound to "${version}", not to the system OpenSSL`);
  }
  Object.assign(shim, native);
  loaded = { opensslVersion: version, builtAgainst: where.opensslVersion };
  return loaded;
}

/**
 * The OpenSSL version the shim runs with, e.g. "OpenSSL 3.0.19 27 Jan 2026".
 * Loads the shim (building it on first use).
 *
 * @example
 * ```ts
 * import { opensslVersion } from "@jsec/tls";
 * console.log(opensslVersion()); // "OpenSSL 3.0.19 27 Jan 2026"
 * ```
 */
export function opensslVersion(): string {
  return load().opensslVersion;
}

/**
 * The OpenSSL header version the shim was compiled against ("3.0.19"), or
 * "prebuilt" when `JSEC_SHIM` named the library. Loads the shim.
 *
 * @example
 * ```ts
 * import { builtAgainst } from "@jsec/tls";
 * console.log(builtAgainst()); // "3.0.19"
 * ```
 */
export function builtAgainst(): string {
  return load().builtAgainst;
}

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
