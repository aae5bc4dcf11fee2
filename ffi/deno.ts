/**
 * Loads the shim with `Deno.dlopen`.
 *
 * @module
 */
import { type FfiType, type Shim, symbols } from "./symbols.ts";

const denoTypes = { i32: "i32", buffer: "buffer", handle: "pointer", void: "void" } as const;

/**
 * Opens the library at `path` and returns the typed shim.
 *
 * @example
 * ```ts
 * import { loadDeno } from "./deno.ts";
 * const shim = loadDeno("/root/.cache/jsec/libjsec-0123-openssl3.0.19-deno.so");
 * ```
 */
export function loadDeno(path: string): Shim {
  const defs: Record<string, Deno.ForeignFunction> = {};
  for (const [name, sym] of Object.entries(symbols)) {
    defs[name] = {
      parameters: sym.parameters.map((t: FfiType) => denoTypes[t]) as Deno.NativeType[],
      result: denoTypes[sym.result] as Deno.NativeResultType,
    };
  }
  return Deno.dlopen(path, defs).symbols as unknown as Shim;
}
