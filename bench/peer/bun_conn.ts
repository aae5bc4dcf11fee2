/**
 * Bun's own sockets (`Bun.connect` / `Bun.listen`, plain or with `tls`) as
 * {@link BenchConn}s: `data` chunks are handed out as they are (no copy), a
 * partial `write` waits for `drain`.
 *
 * @module
 */
import type { BenchConn } from "./protocol.ts";

// deno-lint-ignore no-explicit-any
type Socket = any;

/** Pull-style wrapper of one Bun socket; install {@link handlers} with it as `socket.data`. */
export class BunConn implements BenchConn {
  #socket: Socket;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #error: Error | null = null;
  #wakeReader: (() => void) | null = null;
  #wakeWriter: (() => void) | null = null;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  onData(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#wake();
  }

  onEnd(error?: Error): void {
    this.#ended = true;
    if (error) this.#error = error;
    this.#wake();
  }

  onDrain(): void {
    this.#wake();
  }

  #wake(): void {
    const r = this.#wakeReader, w = this.#wakeWriter;
    this.#wakeReader = this.#wakeWriter = null;
    r?.();
    w?.();
  }

  async read(): Promise<Uint8Array | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wakeReader = resolve));
    }
    return this.#chunks.shift()!;
  }

  async write(bytes: Uint8Array): Promise<void> {
    let rest = bytes;
    for (;;) {
      if (this.#ended) throw this.#error ?? new Error("closed");
      const n = this.#socket.write(rest);
      if (n === rest.length) return;
      if (n < 0) throw new Error("closed");
      rest = rest === bytes ? bytes.slice(n) : rest.subarray(n);
      await new Promise<void>((resolve) => (this.#wakeWriter = resolve));
    }
  }

  close(): void {
    this.#socket.end();
  }
}

/** The socket callbacks feeding a {@link BunConn} stored as `socket.data`. */
export const handlers = {
  data: (s: Socket, chunk: Uint8Array) => s.data?.onData(chunk),
  drain: (s: Socket) => s.data?.onDrain(),
  end: (s: Socket) => s.data?.onEnd(),
  close: (s: Socket, e?: Error) => s.data?.onEnd(e),
  error: (s: Socket, e: Error) => s.data?.onEnd(e),
};
