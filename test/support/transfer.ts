/**
 * Bulk data over our connections: writing in 1 MiB pieces, echoing until the
 * peer's close_notify, and a round trip through an echoing peer, all checked
 * by SHA-256.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { TlsConn } from "../../mod.ts";
import { bounded } from "./conn.ts";
import { readExactly, sha256 } from "./openssl.ts";

const PIECE = 1 << 20;

/** The chunks, in order, as one array. */
export function joined(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  return all;
}

/** Writes `data` to `conn` in 1 MiB pieces. */
export async function writeInPieces(conn: TlsConn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length; at += PIECE) await conn.write(data.subarray(at, at + PIECE));
}

/**
 * Echoes everything until the peer's close_notify (each read bounded);
 * the SHA-256 of what passed and its length.
 */
export async function echoUntilEnd(
  conn: TlsConn,
  max = 64 * 1024 * 1024,
): Promise<{ hash: string; length: number }> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const buf = new Uint8Array(64 * 1024);
  for (let i = 0; i < 1_000_000; i++) {
    const n = await bounded(conn.read(buf), 20_000, "echo read");
    if (n === null) break;
    const chunk = buf.slice(0, n);
    chunks.push(chunk);
    length += n;
    if (length > max) throw new Error("too much data");
    await conn.write(chunk);
  }
  return { hash: sha256(joined(chunks)), length };
}

/** Writes `data` in 1 MiB pieces while reading the peer's echo back; checks it by hash. */
export async function roundTrip(conn: TlsConn, data: Uint8Array): Promise<void> {
  const writing = writeInPieces(conn, data);
  const back = await readExactly((p) => conn.read(p), data.length, 30_000);
  await writing;
  assert.equal(back.length, data.length);
  assert.equal(sha256(back), sha256(data));
}
