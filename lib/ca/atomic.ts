/**
 * Crash-safe file replacement: write a temporary file beside the target,
 * flush it, then rename it over the target (atomic on POSIX file systems).
 * The temporary file is new (`O_CREAT|O_EXCL`, which never follows a
 * symlink) and gets `mode` from the start, and the rename replaces a symlink
 * at the target instead of writing through it: a key written at 0600 is
 * never readable by others, whatever stood at its path before.
 *
 * @module
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import process from "node:process";

/**
 * Replaces `path` with `data` so that readers see the old or the new file, never a mix.
 *
 * @example
 * ```ts
 * writeFileAtomic("/srv/ca/index.json", JSON.stringify(index), 0o600);
 * ```
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = join(dirname(path), `.${process.pid}.${randomBytes(8).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", mode);
  try {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  syncDir(dirname(path));
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can fsync a directory; the rename itself is still atomic.
  }
}
