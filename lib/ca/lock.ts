/**
 * The lock that keeps two processes from changing a CA directory at once:
 * an exclusive `flock(2)` on `<dir>/.lock`, taken through the shim. The
 * kernel releases it when its holder closes it or dies, so there is no stale
 * lock to detect and take over (which cannot be done atomically with files
 * alone), and a reused process id cannot keep a dead holder's lock alive.
 * The file stays in place between holders; removing it by hand is never needed.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { cString, lastError, shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";

/** The shim's status for a lock another holder has (JSEC_CA_LOCKED in jsec_ca.h). */
const LOCKED = -24;

/** Options of {@link withLock}. */
export interface LockOptions {
  /** How long to wait for another holder, ms. Default 10 000. */
  timeout?: number;
}

/**
 * Runs `fn` while holding the lock of `dir`. Waits while another process (or
 * another call in this one) holds it, and throws `CA_LOCKED` after `timeout`.
 *
 * @example
 * ```ts
 * await withLock("/srv/ca", async () => { ... read, change, write the index ... });
 * ```
 */
export async function withLock<T>(
  dir: string,
  fn: () => Promise<T> | T,
  options: LockOptions = {},
): Promise<T> {
  const path = join(dir, ".lock");
  const deadline = Date.now() + (options.timeout ?? 10_000);
  const pathC = cString(path), note = cString(`${process.pid} ${hostname()}\n`);
  let fd: number;
  for (;;) {
    fd = shim.jsec_ca_lock(pathC, note);
    if (fd >= 0) break;
    if (fd !== LOCKED) {
      throw new TlsError("CA_CORRUPT", `cannot lock the CA directory ${dir} (${path}): ${lastError()}`);
    }
    if (Date.now() > deadline) {
      throw new TlsError(
        "CA_LOCKED",
        `the CA directory ${dir} is in use by another CA command${holder(path)}; try again when it is done`,
      );
    }
    await new Promise((r) => setTimeout(r, 25 + Math.random() * 25));
  }
  try {
    return await fn();
  } finally {
    shim.jsec_ca_unlock(fd);
  }
}

/** " (process 123 on host)" from the holder's note, when it can be read. */
function holder(path: string): string {
  try {
    const [pid, host] = readFileSync(path, "utf8").trim().split(" ");
    return /^\d+$/.test(pid) ? ` (process ${pid}${host ? ` on ${host}` : ""})` : "";
  } catch {
    return "";
  }
}
