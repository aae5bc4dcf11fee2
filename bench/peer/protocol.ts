/**
 * The benchmark's wire protocol, the same over every stack (ours, the
 * runtime's own TLS, plain TCP). A client opens with a 9-byte header: one
 * operation byte and a big-endian 64-bit count.
 *
 * - `U n`: upload — the client sends n bytes in 16 KiB writes, the server answers 1 byte once it has them all;
 * - `D n`: download — the server sends n bytes in 16 KiB writes;
 * - `P n`: ping-pong — n times: the client sends 1 byte, the server echoes it;
 * - `H 0`: handshake check — the server answers 1 byte; the client then closes;
 * - `I 0`: idle — the server holds the connection until the client closes it.
 *
 * @module
 */

/** A connection as the benchmark sees it, whatever the stack. */
export interface BenchConn {
  /** The next bytes (a view valid until the next call), or null at the end. */
  read(): Promise<Uint8Array | null>;
  /** Sends all of `bytes`; the caller may reuse them once it resolves. */
  write(bytes: Uint8Array): Promise<void>;
  close(): void;
  /** What was negotiated, when the stack says. */
  info?(): Promise<Record<string, string | null>>;
}

/** The application write size of the bulk figures. */
export const WRITE_SIZE = 16 * 1024;

export type Op = "U" | "D" | "P" | "H" | "I";

/** Encodes a request header. */
export function header(op: Op, count: number): Uint8Array {
  const h = new Uint8Array(9);
  h[0] = op.charCodeAt(0);
  new DataView(h.buffer).setBigUint64(1, BigInt(count));
  return h;
}

/** Pulls exact byte counts out of a {@link BenchConn}, keeping what is left over. */
export class Reader {
  #conn: BenchConn;
  #rest: Uint8Array = new Uint8Array(0);

  constructor(conn: BenchConn) {
    this.#conn = conn;
  }

  /** Reads exactly `n` bytes into a new array; null at a clean end before any byte. */
  async exact(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      if (this.#rest.length === 0) {
        const chunk = await this.#conn.read();
        if (chunk === null) {
          if (at === 0) return null;
          throw new Error(`stream ended after ${at} of ${n} bytes`);
        }
        this.#rest = chunk;
      }
      const take = Math.min(n - at, this.#rest.length);
      out.set(this.#rest.subarray(0, take), at);
      at += take;
      this.#rest = this.#rest.subarray(take);
    }
    return out;
  }

  /** Reads and drops exactly `n` bytes. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#rest.length === 0) {
        const chunk = await this.#conn.read();
        if (chunk === null) throw new Error(`stream ended with ${left} of ${n} bytes to go`);
        this.#rest = chunk;
      }
      const take = Math.min(left, this.#rest.length);
      left -= take;
      this.#rest = this.#rest.subarray(take);
    }
  }

  /** Reads until the end of the stream (or an error), dropping everything. */
  async drain(): Promise<void> {
    this.#rest = new Uint8Array(0);
    try {
      while ((await this.#conn.read()) !== null) { /* drop */ }
    } catch { /* a reset ends it as well */ }
  }
}

/** Sends `n` bytes in {@link WRITE_SIZE} writes. */
export async function sendBulk(conn: BenchConn, n: number): Promise<void> {
  const block = new Uint8Array(WRITE_SIZE).fill(0x61);
  for (let left = n; left > 0; left -= WRITE_SIZE) {
    await conn.write(left >= WRITE_SIZE ? block : block.subarray(0, left));
  }
}

/** Serves one connection of the protocol until the client is done. */
export async function serve(conn: BenchConn): Promise<void> {
  const reader = new Reader(conn);
  try {
    const h = await reader.exact(9);
    if (h === null) return;
    const op = String.fromCharCode(h[0]);
    const count = Number(new DataView(h.buffer).getBigUint64(1));
    const one = new Uint8Array([0x6b]);
    if (op === "U") {
      await reader.skip(count);
      await conn.write(one);
    } else if (op === "D") {
      await sendBulk(conn, count);
    } else if (op === "P") {
      for (let i = 0; i < count; i++) {
        await reader.skip(1);
        await conn.write(one);
      }
    } else if (op === "H") {
      await conn.write(one);
    }
    await reader.drain(); // until the client closes
  } catch {
    // a client that went away mid-way ends only its own connection
  } finally {
    conn.close();
  }
}
