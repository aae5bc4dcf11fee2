/**
 * Loads the shim with `bun:ffi`.
 *
 * @module
 */
import { type FfiType, type Shim, symbols } from "./symbols.ts";

const bunTypes = { i32: "i32", buffer: "ptr", handle: "ptr", void: "void" } as const;

interface BunFfi {
  dlopen(path: string, defs: Record<string, { args: string[]; returns: string }>): {
    symbols: Record<string, unknown>;
  };
}

/**
 * Opens the library at `path` and returns the typed shim.
 *
 * @example
 * ```ts
 * import { loadBun } from "./bun.ts";
 * const shim = loadBun("/root/.cache/jsec/libjsec-0123-openssl3.0.19-bun.so");
 * ```
 */
export function loadBun(path: string): Shim {
  // Bun's synchronous require: Deno has no `bun:ffi`, so no import of it may be visible to Deno's analysis.
  const ffi = (import.meta as unknown as { require(id: string): BunFfi }).require("bun:ffi");
  const defs: Record<string, { args: string[]; returns: string }> = {};
  for (const [name, sym] of Object.entries(symbols)) {
    defs[name] = { args: sym.parameters.map((t: FfiType) => bunTypes[t]), returns: bunTypes[sym.result] };
  }
  return ffi.dlopen(path, defs).symbols as unknown as Shim;
}
