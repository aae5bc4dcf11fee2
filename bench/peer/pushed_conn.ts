/**
 * A {@link BenchConn} over a socket that pushes its data and may take part of
 * a write (Bun's own sockets, our callback sockets): chunks are queued as
 * they come, a pending `read()` is a promise and holds no buffer, and a
 * partial `write` waits for `drain`.
 *
 * @module
 */
import type { BenchConn } from "./protocol.ts";

/** Pull-style reading and writing over a push-style socket; subclasses say how to write and close. */
export abstract class PushedConn implements BenchConn {
  #chunks: Uint8Array[] = [];
  #ended = false;
  #error: Error | null = null;
  #wakeReader: (() => void) | null = null;
  #wakeWriter: (() => void) | null = null;

  /** Writes what the socket takes of `bytes` now: a count, or -1 once it is closed. */
  protected abstract writeSome(bytes: Uint8Array): number;
  abstract close(): void;

  /** The socket's `data`: `chunk` must stay valid (copy views the socket reuses). */
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
      const n = this.writeSome(rest);
      if (n === rest.length) return;
      if (n < 0) throw new Error("closed");
      rest = rest.subarray(n);
      await new Promise<void>((resolve) => (this.#wakeWriter = resolve));
    }
  }
}
