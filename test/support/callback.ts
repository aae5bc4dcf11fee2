/**
 * Helpers for callback sockets (`connectSocket`, `listenSocket`): handlers
 * that record what happened, with bounded waits; sending with backpressure
 * (`write` → `drain`); and an echo that pauses reading while its writes wait.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { TlsError, type TlsSocket, type TlsSocketHandler } from "../../mod.ts";
import { certs } from "./certs.ts";

/** What one socket's handlers saw, in order. */
export interface Recording {
  /** "open", "handshake ok" / "handshake failed CODE", "end", "close" / "close CODE", "error CODE"; no "data" or "drain". */
  events: string[];
  /** Bytes received so far. */
  received: number;
  /** SHA-256 of everything received, in order. */
  hash: Hash;
  /** The received bytes themselves, when kept (`keep`). */
  chunks: Uint8Array[];
  errors: Error[];
  /** The error `close` got, or null. */
  closeError: Error | null;
  closed: boolean;
  drains: number;
  /** The socket (once open). */
  socket: TlsSocket | null;
}

/** Handlers that record into a {@link Recording}, plus bounded waits on it. */
export class Recorder {
  readonly log: Recording = {
    events: [],
    received: 0,
    hash: createHash("sha256"),
    chunks: [],
    errors: [],
    closeError: null,
    closed: false,
    drains: 0,
    socket: null,
  };
  #wakers = new Set<() => void>();
  /** Called on each `drain` after it is recorded. */
  onDrain: ((socket: TlsSocket) => void) | null = null;
  /** Called on each `data` after it is recorded (e.g. to echo). */
  onData: ((socket: TlsSocket, data: Uint8Array) => void) | null = null;
  /** Called on `handshake` success. */
  onHandshake: ((socket: TlsSocket) => void) | null = null;

  /** `keep`: keep copies of the received chunks (for small exchanges). */
  constructor(readonly keep = false) {}

  #changed(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  /** The handlers to pass as `socket`. */
  get handlers(): TlsSocketHandler {
    const log = this.log;
    const codeOf = (e: Error | null | undefined) => (e instanceof TlsError ? e.code : e ? e.message : "");
    return {
      open: (socket) => {
        log.socket = socket;
        log.events.push("open");
        this.#changed();
      },
      handshake: (socket, ok, error) => {
        log.events.push(ok ? "handshake ok" : `handshake failed ${codeOf(error)}`);
        if (ok) this.onHandshake?.(socket);
        this.#changed();
      },
      data: (socket, data) => {
        log.received += data.length;
        log.hash.update(data);
        if (this.keep) log.chunks.push(data.slice());
        this.onData?.(socket, data);
        this.#changed();
      },
      drain: (socket) => {
        log.drains++;
        this.onDrain?.(socket);
        this.#changed();
      },
      end: () => {
        log.events.push("end");
        this.#changed();
      },
      error: (_socket, error) => {
        log.errors.push(error);
        log.events.push(`error ${codeOf(error)}`);
        this.#changed();
      },
      close: (_socket, error) => {
        log.closed = true;
        log.closeError = error ?? null;
        log.events.push(error ? `close ${codeOf(error)}` : "close");
        this.#changed();
      },
    };
  }

  /** Waits until `test()` holds; rejects after `timeoutMs` with what was seen. */
  until(what: string, test: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#wakers.delete(check);
        reject(new Error(`timed out waiting for ${what}; events: ${this.log.events.join(", ")}`));
      }, timeoutMs);
      const check = () => {
        if (!test()) return;
        clearTimeout(timer);
        this.#wakers.delete(check);
        resolve();
      };
      this.#wakers.add(check);
    });
  }

  /** Waits for `close`, then for the socket's transport to be closed. */
  async closed(timeoutMs?: number): Promise<void> {
    await this.until("close", () => this.log.closed, timeoutMs);
    await this.log.socket?.closed;
  }

  /** Waits until `bytes` bytes arrived. */
  receivedAtLeast(bytes: number, timeoutMs?: number): Promise<void> {
    return this.until(
      `${bytes} bytes (have ${this.log.received})`,
      () => this.log.received >= bytes,
      timeoutMs,
    );
  }

  /** The SHA-256 of what arrived, hex (ends the hash: call once). */
  digest(): string {
    return this.log.hash.digest("hex");
  }

  /** The received chunks (with `keep`) as text. */
  text(): string {
    const all = new Uint8Array(this.log.received);
    let at = 0;
    for (const c of this.log.chunks) all.set(c, (at += c.length) - c.length);
    return new TextDecoder().decode(all);
  }
}

/**
 * Writes all of `data` to `socket` in `piece`-byte writes, honouring
 * backpressure: when a write takes less, the rest waits for `drain` (through
 * `recorder.onDrain`). Resolves once every byte was taken.
 */
export function sendAll(socket: TlsSocket, recorder: Recorder, data: Uint8Array, piece = 256 * 1024) {
  let at = 0;
  let partial = 0;
  return new Promise<{ partialWrites: number }>((resolve, reject) => {
    const go = () => {
      while (at < data.length) {
        const n = socket.write(data.subarray(at, Math.min(data.length, at + piece)));
        if (n < 0) return reject(new Error(`write refused at ${at} of ${data.length}`));
        at += n;
        if (n < Math.min(piece, data.length - (at - n))) {
          partial++;
          return; // the rest on drain
        }
      }
      recorder.onDrain = null;
      resolve({ partialWrites: partial });
    };
    recorder.onDrain = go;
    go();
  });
}

/**
 * Makes `recorder` echo what it receives, in order: a write that takes less
 * keeps the rest and pauses reading until `drain` took it all.
 */
export function echoing(recorder: Recorder): Recorder {
  const waiting: Uint8Array[] = [];
  recorder.onData = (socket, data) => {
    if (waiting.length > 0) return void waiting.push(data.slice());
    const n = socket.write(data);
    if (n >= 0 && n < data.length) {
      waiting.push(data.slice(n));
      socket.pause();
    }
  };
  recorder.onDrain = (socket) => {
    while (waiting.length > 0) {
      const head = waiting[0];
      const n = socket.write(head);
      if (n < 0) return;
      if (n < head.length) {
        waiting[0] = head.subarray(n);
        return;
      }
      waiting.shift();
    }
    socket.resume();
  };
  return recorder;
}

/** Options for our callback client to a test server on 127.0.0.1 with the test CA's `localhost` certificate. */
export function clientTo(port: number) {
  return { hostname: "127.0.0.1", port, servername: "localhost", caCerts: [certs().ca.cert] };
}

/** Options for our callback server on 127.0.0.1 with the test ECDSA certificate. */
export function serverOn() {
  const c = certs();
  return { hostname: "127.0.0.1", port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key };
}
