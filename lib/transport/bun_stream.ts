/**
 * {@link ByteStream} over a Bun callback socket. Bun pushes `data` events;
 * we queue them (pausing the socket when the queue grows) until pulled.
 * `socket.write` may take part of a buffer: the rest waits for `drain`.
 *
 * @module
 */
import { TlsError } from "../errors.ts";
import type { BunHandlers, BunSocket } from "./bun_api.ts";
import { socketError } from "./socket_error.ts";
import type { Addr, ByteStream } from "./stream.ts";

/** Received bytes queued before we pause the socket (and resume below half of it). */
const RECEIVE_HIGH_WATER = 4 * 1024 * 1024;

/** Adapts a Bun socket; install {@link bunStreamHandlers} on it, with the stream as `socket.data`. */
export class BunStream implements ByteStream {
  readonly #socket: BunSocket<BunStream>;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #paused = false;
  #ended = false;
  #failure: TlsError | null = null;
  #wakeReader: (() => void) | null = null;
  #wakeWriter: (() => void) | null = null;
  #closed = false;

  /** Taken while the socket is open: Bun reports no address once it closed (e.g. after a failed handshake). */
  readonly localAddr: Addr;
  readonly remoteAddr: Addr;

  /** `unixPath`: the socket path, for a Unix socket (Bun reports no address for those). */
  constructor(socket: BunSocket<BunStream>, options: { head?: Uint8Array; unixPath?: string } = {}) {
    const { head, unixPath } = options;
    this.#socket = socket;
    if (unixPath !== undefined) {
      this.localAddr = this.remoteAddr = { transport: "unix", path: unixPath };
    } else {
      this.localAddr = { transport: "tcp", hostname: socket.localAddress ?? "", port: socket.localPort ?? 0 };
      this.remoteAddr = {
        transport: "tcp",
        hostname: socket.remoteAddress ?? "",
        port: socket.remotePort ?? 0,
      };
    }
    if (head?.length) this.#push(head);
  }

  #push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    if (!this.#paused && this.#queued > RECEIVE_HIGH_WATER) {
      this.#paused = true;
      this.#socket.pause();
    }
    this.#wake();
  }

  #wake(): void {
    const wakeReader = this.#wakeReader, wakeWriter = this.#wakeWriter;
    this.#wakeReader = this.#wakeWriter = null;
    wakeReader?.();
    wakeWriter?.();
  }

  /** @internal Bun's `data` callback. */
  onData(chunk: Uint8Array): void {
    this.#push(chunk);
  }

  /** @internal Bun's `end` callback: the peer sent FIN. */
  onEnd(): void {
    this.#ended = true;
    this.#wake();
  }

  /** @internal Bun's `close` / `error` callbacks. */
  onClose(error?: Error): void {
    this.#ended = true;
    if (error && !this.#failure) this.#failure = socketError(error);
    this.#closed = true;
    this.#wake();
  }

  /** @internal Bun's `drain` callback: the socket takes writes again. */
  onDrain(): void {
    this.#wake();
  }

  async receive(): Promise<Uint8Array | null> {
    while (this.#chunks.length === 0) {
      if (this.#failure) throw this.#failure;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wakeReader = resolve));
    }
    const chunk = this.#chunks.shift()!;
    this.#queued -= chunk.length;
    if (this.#paused && this.#queued < RECEIVE_HIGH_WATER / 2) {
      this.#paused = false;
      this.#socket.resume();
    }
    return chunk;
  }

  async send(bytes: Uint8Array): Promise<void> {
    let rest = bytes;
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (this.#closed) throw new TlsError("CLOSED", "the connection is closed");
      const n = this.#socket.write(rest);
      if (n < 0) throw new TlsError("CLOSED", "the connection is closed");
      if (n === rest.length) return;
      // Bun took part of it: the caller may reuse `bytes` once we return, so keep a copy.
      rest = rest === bytes ? bytes.slice(n) : rest.subarray(n);
      await new Promise<void>((resolve) => (this.#wakeWriter = resolve));
    }
  }

  closeWrite(): Promise<void> {
    if (!this.#closed) this.#socket.shutdown();
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.end();
    this.#wake();
  }

  setNoDelay(enable: boolean): void {
    this.#socket.setNoDelay(enable);
  }

  setKeepAlive(enable: boolean): void {
    this.#socket.setKeepAlive(enable);
  }

  ref(): void {
    this.#socket.ref();
  }

  unref(): void {
    this.#socket.unref();
  }
}

/** The callbacks that feed a {@link BunStream} stored as `socket.data`. */
export const bunStreamHandlers: BunHandlers<BunStream> = {
  data: (socket, chunk) => socket.data?.onData(chunk),
  drain: (socket) => socket.data?.onDrain(),
  end: (socket) => socket.data?.onEnd(),
  close: (socket, error) => socket.data?.onClose(error),
  error: (socket, error) => socket.data?.onClose(error),
};
