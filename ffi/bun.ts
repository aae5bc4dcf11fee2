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

/** Opens the library at `path` and returns the typed shim. */
export async function loadBun(path: string): Promise<Shim> {
  const specifier = "bun:ffi"; // kept out of static analysis: Deno has no such module
  const ffi = (await import(specifier)) as BunFfi;
  const defs: Record<string, { args: string[]; returns: string }> = {};
  for (const [name, sym] of Object.entries(symbols)) {
    defs[name] = { args: sym.parameters.map((t: FfiType) => bunTypes[t]), returns: bunTypes[sym.result] };
  }
  return ffi.dlopen(path, defs).symbols as unknown as Shim;
}
