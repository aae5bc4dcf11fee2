/**
 * Builds the heap helper (native/heap.c: glibc malloc's in-use bytes) that
 * peers load for the memory figure. Null when no C compiler is there.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import process from "node:process";

/** Compiles the helper into `dir`; returns its path, or null when it cannot. */
export function buildHeapHelper(dir: string): string | null {
  const source = fileURLToPath(new URL("./native/heap.c", import.meta.url));
  const out = join(dir, "libbenchheap.so");
  try {
    execFileSync(process.env.CC ?? "cc", ["-O2", "-fPIC", "-shared", "-o", out, source], { stdio: "pipe" });
    return out;
  } catch {
    return null;
  }
}
