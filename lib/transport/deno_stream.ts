/**
 * {@link ByteStream} over a `Deno.Conn` (TCP or Unix socket).
 *
 * @module
 */
import type { Addr, ByteStream } from "./stream.ts";
import { socketError } from "./socket_error.ts";

/**
 * A connection's first receive buffer; it doubles (up to RECEIVE_MAX) each time
 * a read fills it, and goes back to this size when a read is small again: a
 * pending read pins its buffer, so a connection idle after a transfer keeps 4 KiB, not 128.
 */
const RECEIVE_MIN = 4 * 1024;
const RECEIVE_MAX = 128 * 1024;

/** Adapts a Deno connection. `head` is bytes already read from it that belong to the stream. */
export class DenoStream implements ByteStream {
  readonly #conn: Deno.Conn;
  #buffer = new Uint8Array(RECEIVE_MIN);
  #head: Uint8Array | null;
  #closed = false;

  constructor(conn: Deno.Conn, head?: Uint8Array) {
    this.#conn = conn;
    this.#head = head?.length ? head : null;
  }

  async receive(): Promise<Uint8Array | null> {
    if (this.#head) {
      const head = this.#head;
      this.#head = null;
      return head;
    }
    try {
      const buffer = this.#buffer;
      const n = await this.#conn.read(buffer);
      if (n === null) return null;
      if (n === buffer.length) {
        if (n < RECEIVE_MAX) this.#buffer = new Uint8Array(n * 2); // a bulk transfer
      } else if (n <= RECEIVE_MIN && buffer.length > RECEIVE_MIN) this.#buffer = new Uint8Array(RECEIVE_MIN);
      return buffer.subarray(0, n);
    } catch (e) {
      throw socketError(e);
    }
  }

  async send(bytes: Uint8Array): Promise<void> {
    try {
      for (let done = 0; done < bytes.length;) done += await this.#conn.write(bytes.subarray(done));
    } catch (e) {
      throw socketError(e);
    }
  }

  async closeWrite(): Promise<void> {
    try {
      await this.#conn.closeWrite();
    } catch (e) {
      throw socketError(e);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by the runtime
    }
  }

  get localAddr(): Addr {
    return this.#conn.localAddr as Addr;
  }

  get remoteAddr(): Addr {
    return this.#conn.remoteAddr as Addr;
  }

  setNoDelay(enable: boolean): void {
    (this.#conn as Partial<Deno.TcpConn>).setNoDelay?.(enable);
  }

  setKeepAlive(enable: boolean): void {
    (this.#conn as Partial<Deno.TcpConn>).setKeepAlive?.(enable);
  }

  ref(): void {
    this.#conn.ref();
  }

  unref(): void {
    this.#conn.unref();
  }
}
