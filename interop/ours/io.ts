/**
 * Byte-level helpers for our side of a cell, over any connection with
 * `read`/`write`/`closeWrite` (the core's TlsConn, in Deno and in Bun).
 * Every loop is bounded by a deadline.
 * @module
 */
import { createHash } from "node:crypto";
import { fillPattern } from "../lib/task.ts";

/** The part of a connection these helpers use. */
export interface Duplex {
  read(buf: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
}

const CHUNK = 64 * 1024;

/** One read that gives up at `deadline` (returns "timeout"). */
async function readBefore(
  conn: Duplex,
  buf: Uint8Array,
  deadline: number,
): Promise<number | null | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"timeout">((
    r,
  ) => (timer = setTimeout(() => r("timeout"), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([conn.read(buf), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Write all of `data` (write may take part of it). */
export async function writeAll(conn: Duplex, data: Uint8Array): Promise<void> {
  let off = 0;
  for (let i = 0; off < data.length && i < 1_000_000; i++) {
    off += await conn.write(data.subarray(off));
  }
}

/** Stream `total` bytes of the shared pattern; returns their sha256 (hex). */
export async function sendPattern(conn: Duplex, total: number): Promise<string> {
  const hash = createHash("sha256");
  const buf = new Uint8Array(CHUNK);
  for (let off = 0; off < total; off += CHUNK) {
    const n = Math.min(CHUNK, total - off);
    fillPattern(buf.subarray(0, n), off);
    hash.update(buf.subarray(0, n));
    await writeAll(conn, buf.slice(0, n));
  }
  return hash.digest("hex");
}

/** Read exactly `total` bytes (or until EOF/deadline) and hash them. */
export async function receiveBytes(
  conn: Duplex,
  total: number,
  deadline: number,
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash("sha256");
  const buf = new Uint8Array(CHUNK);
  let bytes = 0;
  while (bytes < total && Date.now() < deadline) {
    const n = await readBefore(conn, buf.subarray(0, Math.min(CHUNK, total - bytes)), deadline);
    if (n === null || n === "timeout") break;
    hash.update(buf.subarray(0, n));
    bytes += n;
  }
  return { bytes, sha256: hash.digest("hex") };
}

/** Read until the text seen so far contains `token`; false at EOF or deadline. */
export async function readUntil(conn: Duplex, token: string, deadline: number): Promise<boolean> {
  const buf = new Uint8Array(CHUNK);
  const dec = new TextDecoder();
  let seen = "";
  while (Date.now() < deadline && seen.length < 1_000_000) {
    const n = await readBefore(conn, buf, deadline);
    if (n === null || n === "timeout") return false;
    seen += dec.decode(buf.subarray(0, n), { stream: true });
    if (seen.includes(token)) return true;
  }
  return false;
}

/** Drain until EOF. cleanEof: the peer's close_notify arrived (read returned null). */
export async function readToEof(
  conn: Duplex,
  deadline: number,
): Promise<{ cleanEof: boolean; bytes: number; error?: string }> {
  const buf = new Uint8Array(CHUNK);
  let bytes = 0;
  try {
    while (Date.now() < deadline) {
      const n = await readBefore(conn, buf, deadline);
      if (n === null) return { cleanEof: true, bytes };
      if (n === "timeout") return { cleanEof: false, bytes, error: "timeout waiting for EOF" };
      bytes += n;
    }
    return { cleanEof: false, bytes, error: "deadline" };
  } catch (e) {
    const code = (e as { code?: string }).code ?? String(e);
    return { cleanEof: false, bytes, error: code };
  }
}
