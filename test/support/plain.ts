/**
 * Plaintext sockets of the running runtime (`Deno.listen`/`Deno.connect` or
 * `Bun.listen`/`Bun.connect`) with a line reader, for STARTTLS tests: talk
 * plaintext, then hand the raw socket and whatever was read past the last
 * line to `upgrade()`.
 *
 * @module
 */
import type { BunSocket } from "../../lib/transport/bun_api.ts";
import { bounded } from "./conn.ts";

const isBun = "Bun" in globalThis;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** What `upgrade()` accepts. */
export type RawConn = Deno.Conn | BunSocket;

/**
 * A plaintext connection with a line reader. `using` closes it at the end of
 * its block unless it was handed to `upgrade()` ({@link PlainSocket.takeRest}).
 */
export interface PlainSocket extends Disposable {
  /** The runtime's own socket, for `upgrade()`. */
  readonly raw: RawConn;
  /** Bun, a socket `Bun.listen` accepted: its listener's handlers, for `upgrade()`'s `listenerHandlers`. */
  readonly listenerHandlers?: object;
  /** The next line (without its CRLF / LF), bounded by `timeoutMs`. */
  readLine(timeoutMs?: number): Promise<string>;
  /** Sends text. */
  write(text: string | Uint8Array): Promise<void>;
  /**
   * Bytes received past the last line read: pass them as `head` to `upgrade()`.
   * Stops buffering; from now on the socket belongs to `upgrade()`.
   */
  takeRest(): Uint8Array;
  close(): void;
}

/** A plain listener on 127.0.0.1; `using` closes it at the end of its block. */
export interface PlainListener extends Disposable {
  readonly port: number;
  /** The next connection, bounded by `timeoutMs`. */
  accept(timeoutMs?: number): Promise<PlainSocket>;
  close(): void;
}

/** A line reader over pushed chunks, until the socket is handed to `upgrade()`. */
class Lines {
  buffer = new Uint8Array(0);
  ended = false;
  /** Set once {@link takeRest} handed the socket over. */
  detached = false;
  wake: (() => void) | null = null;

  push(chunk: Uint8Array): void {
    const next = new Uint8Array(this.buffer.length + chunk.length);
    next.set(this.buffer);
    next.set(chunk, this.buffer.length);
    this.buffer = next;
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** A complete line, if one is buffered. */
  take(): string | null {
    const nl = this.buffer.indexOf(10);
    if (nl < 0) return null;
    const line = dec.decode(this.buffer.subarray(0, nl)).replace(/\r$/, "");
    this.buffer = this.buffer.slice(nl + 1);
    return line;
  }

  /** The next line; `more(ms)` gets more bytes (or the end) within `ms` milliseconds. */
  async next(timeoutMs: number, more: (ms: number) => Promise<void>): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const line = this.take();
      if (line !== null) return line;
      if (this.ended) throw new Error("the peer closed before a full line");
      await more(Math.max(1, until - Date.now()));
    }
  }

  /** What was buffered past the last line; stops buffering (the socket now belongs to `upgrade()`). */
  takeRest(): Uint8Array {
    this.detached = true;
    const rest = this.buffer;
    this.buffer = new Uint8Array(0);
    return rest;
  }
}

function denoSocket(conn: Deno.Conn): PlainSocket {
  const lines = new Lines();
  const chunk = new Uint8Array(64 * 1024);
  return {
    raw: conn,
    readLine: (timeoutMs = 10_000) =>
      lines.next(timeoutMs, async (ms) => {
        // One read at a time, and never past what we need: the rest stays in the socket.
        const n = await bounded(conn.read(chunk), ms, "reading a line");
        if (n === null) lines.end();
        else lines.push(chunk.subarray(0, n));
      }),
    async write(text) {
      const bytes = typeof text === "string" ? enc.encode(text) : text;
      for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
    },
    takeRest: () => lines.takeRest(),
    close() {
      if (lines.detached) return;
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
    [Symbol.dispose]() {
      this.close();
    },
  };
}

interface BunState {
  lines: Lines;
}

function bunSocket(socket: BunSocket<BunState>, listenerHandlers?: object): PlainSocket {
  const lines = socket.data.lines;
  return {
    raw: socket as BunSocket,
    listenerHandlers,
    readLine: (timeoutMs = 10_000) =>
      lines.next(timeoutMs, async (ms) => {
        await bounded(new Promise<void>((r) => (lines.wake = r)), ms, "reading a line");
        lines.wake = null;
      }),
    write(text) {
      const bytes = typeof text === "string" ? enc.encode(text) : text;
      const n = socket.write(bytes);
      if (n !== bytes.length) return Promise.reject(new Error(`short plain write (${n} of ${bytes.length})`));
      return Promise.resolve();
    },
    takeRest: () => lines.takeRest(),
    close() {
      socket.end();
    },
    [Symbol.dispose]() {
      if (!lines.detached) this.close();
    },
  };
}

type BunNet = {
  listen(o: unknown): { port: number; stop(closeActive?: boolean): void };
  connect(o: unknown): Promise<BunSocket<BunState>>;
};

const bunHandlers = {
  open(s: BunSocket<BunState>) {
    s.data = { lines: new Lines() };
  },
  data(s: BunSocket<BunState>, chunk: Uint8Array) {
    s.data.lines.push(new Uint8Array(chunk));
  },
  end(s: BunSocket<BunState>) {
    s.data?.lines.end();
  },
  close(s: BunSocket<BunState>) {
    s.data?.lines.end();
  },
  error(s: BunSocket<BunState>) {
    s.data?.lines.end();
  },
};

/** Listens for plaintext connections on 127.0.0.1 (a free port). */
export function plainListen(): PlainListener {
  if (isBun) {
    const pending: PlainSocket[] = [];
    let wake: (() => void) | null = null;
    const Bun = (globalThis as unknown as { Bun: BunNet }).Bun;
    const handlers = {
      ...bunHandlers,
      open(s: BunSocket<BunState>) {
        bunHandlers.open(s);
        pending.push(bunSocket(s, handlers));
        wake?.();
      },
    };
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: handlers });
    return {
      port: listener.port,
      async accept(timeoutMs = 10_000) {
        while (pending.length === 0) {
          await bounded(new Promise<void>((r) => (wake = r)), timeoutMs, "accepting");
          wake = null;
        }
        return pending.shift()!;
      },
      close: () => listener.stop(false),
      [Symbol.dispose]: () => listener.stop(false),
    };
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async accept(timeoutMs = 10_000) {
      return denoSocket(await bounded(listener.accept(), timeoutMs, "accepting"));
    },
    close: () => listener.close(),
    [Symbol.dispose]: () => listener[Symbol.dispose](), // closes unless closed already
  };
}

/** Connects in plaintext to 127.0.0.1:`port`. */
export async function plainConnect(port: number): Promise<PlainSocket> {
  if (isBun) {
    const Bun = (globalThis as unknown as { Bun: BunNet }).Bun;
    let opened: BunSocket<BunState> | undefined;
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        ...bunHandlers,
        open(s: BunSocket<BunState>) {
          bunHandlers.open(s);
          opened = s;
        },
      },
    });
    const s = opened ?? socket;
    s.data ??= { lines: new Lines() };
    return bunSocket(s);
  }
  return denoSocket(await Deno.connect({ hostname: "127.0.0.1", port }));
}
