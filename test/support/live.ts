/**
 * The shim's count of live native objects (contexts, sessions, held saved
 * sessions), for leak checks.
 *
 * @module
 */
import { shim } from "../../ffi/mod.ts";

/** Waits (bounded) until the shim's live-object count is `expected`; the count then. */
export async function liveSettles(expected: number, collect = false): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc ??
    (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc.bind(null, true);
  for (let i = 0; i < 200 && shim.jsec_live() !== expected; i++) {
    if (collect) gc?.();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return shim.jsec_live();
}
