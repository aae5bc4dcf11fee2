/**
 * A lock file that keeps two processes from changing a CA directory at once.
 *
 * @module
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { TlsError } from "../errors.ts";

/** Options of {@link withLock}. */
export interface LockOptions {
  /** How long to wait for another holder, ms. Default 10 000. */
  timeout?: number;
}

/**
 * Runs `fn` while holding `<dir>/.lock`. Waits while another live process
 * holds it (throws `CA_LOCKED` after `timeout`); takes over a lock whose
 * holder on this host has died.
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
  for (;;) {
    if (tryLock(path)) break;
    const stale = staleHolder(path);
    if (stale !== undefined) {
      if (readOrEmpty(path) === stale) rmSync(path, { force: true }); // still the dead holder's
      continue;
    }
    if (Date.now() > deadline) {
      throw new TlsError(
        "CA_LOCKED",
        `the CA directory ${dir} is locked by another process (${path}); remove it if no CA command is running`,
      );
    }
    await new Promise((r) => setTimeout(r, 25 + Math.random() * 25));
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}

function tryLock(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (e) {
    if ((e as { code?: string }).code === "EEXIST") return false;
    throw new TlsError("CA_CORRUPT", `cannot create the lock ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    writeSync(fd, `${process.pid} ${hostname()}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readOrEmpty(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // just released
  }
}

/**
 * The contents of a lock whose holder on this host is gone (or that stayed
 * empty for a minute); undefined while the holder lives.
 */
function staleHolder(path: string): string | undefined {
  const text = readOrEmpty(path);
  if (text === undefined) return undefined;
  const [pid, host] = text.trim().split(" ");
  if (!pid) {
    try {
      return Date.now() - statSync(path).mtimeMs > 60_000 ? text : undefined;
    } catch {
      return undefined;
    }
  }
  if (host !== hostname()) return undefined;
  try {
    process.kill(Number(pid), 0);
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code === "ESRCH" ? text : undefined;
  }
}
