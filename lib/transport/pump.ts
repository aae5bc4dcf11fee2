/**
 * Moves bytes between a {@link TlsEngine} and a {@link ByteStream}.
 *
 * Ciphertext is written behind the caller: a write encrypts at once and
 * returns, and the output goes out on the next turn of the event loop (or at
 * once past {@link WRITE_HIGH_WATER}). Back-to-back writes thus leave in one
 * socket write — a write per 16 KiB record cost ~30 % of bulk throughput —
 * and the final handshake flight leaves together with the first data.
 *
 * Application data is encrypted straight into a send buffer of ours (the
 * stage) rather than queued in the engine and copied out: one copy fewer per
 * byte sent. The engine queues only what the stage cannot take and what it
 * makes by itself (handshake flights, alerts, KeyUpdate replies), always
 * after the stage's bytes, so a flush sends the stage first.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import type { TlsEngine } from "../engine/engine.ts";
import { TlsError } from "../errors.ts";
import type { ByteStream } from "./stream.ts";
import { withTimeout } from "./with_timeout.ts";

/** Pending ciphertext past which a write waits for the socket. */
export const WRITE_HIGH_WATER = 64 * 1024;
/** The most ciphertext one socket write takes. */
const SEND_MAX = 256 * 1024;
/** Writes shorter than this are sent at once instead of gathered (latency over batching). */
export const SMALL_WRITE = 1024;

/** A stage holds a write past the high-water mark: 64 KiB and one more record (16 KiB and its overhead). */
const STAGE_SIZE = WRITE_HIGH_WATER + 17 * 1024;

/** Engine output under this many bytes is sent from a buffer of its own size. */
const SMALL_OUTPUT = 16 * 1024;

/**
 * Spare send buffers, shared by every pump of the process: a buffer is held
 * only from a write until its flush is through, so idle connections hold none.
 */
const spareBuffers: Uint8Array[] = [];
const MAX_SPARE_BUFFERS = 8;

function spareBuffer(): Uint8Array {
  return spareBuffers.pop() ?? new Uint8Array(STAGE_SIZE);
}

function releaseBuffer(buffer: Uint8Array): void {
  if (spareBuffers.length < MAX_SPARE_BUFFERS && buffer.length === STAGE_SIZE) spareBuffers.push(buffer);
}

/** Drives one engine over one stream. */
export class TlsPump {
  readonly engine: TlsEngine;
  readonly stream: ByteStream;
  #flushing: Promise<void> | null = null;
  #flushScheduled = false;
  #sendError: TlsError | null = null;
  #receiving: Promise<void> | null = null;
  /** Application data a write had to read out of the way (renegotiation), for the next reads. */
  #readAhead: Uint8Array[] = [];
  #readAheadEnd = false;
  /** Received ciphertext a read has not decrypted yet, still in the stream's buffer (valid until its next receive). */
  #unread: Uint8Array | null = null;
  /** Ciphertext of our writes, encrypted straight here; it goes out before the engine's pending output. */
  #stage: Uint8Array | null = null;
  #staged = 0;

  constructor(engine: TlsEngine, stream: ByteStream) {
    this.engine = engine;
    this.stream = stream;
  }

  /** Runs the handshake to its end; every flight but the last is sent at once. */
  async handshake(): Promise<void> {
    while (!this.engine.handshake()) {
      if (this.engine.waiting) { // an async decision (sni, onPskIdentity): no bytes to move meanwhile
        await this.engine.waiting;
        continue;
      }
      await this.flush();
      await this.#receive();
      if (this.#unread) this.engine.receive(this.#unread); // the handshake reads only what was fed
      this.#unread = null;
    }
    this.flushSoon();
  }

  /** Reads application data into `into`: a count, or null at a clean end (close_notify). */
  async read(into: Uint8Array): Promise<number | null> {
    if (into.length === 0) return 0;
    for (;;) {
      const n = this.readReady(into);
      if (n !== 0) return n;
      await this.#receive();
    }
  }

  /**
   * Reads application data that has already arrived into `into`, without
   * waiting: a count, 0 when nothing is ready yet (see {@link arrival}), or
   * null at a clean end. Synchronous, so a caller may decrypt into a buffer it
   * shares with other connections and hand the bytes on before yielding.
   */
  readReady(into: Uint8Array): number | null {
    if (this.#readAhead.length > 0) return this.#takeReadAhead(into);
    if (this.#readAheadEnd) return null;
    try {
      return this.#decrypt(into);
    } finally {
      // e.g. our KeyUpdate reply; after a fatal error, its alert (even if nobody closes us)
      if (this.engine.pendingOutput > 0) this.flushSoon();
    }
  }

  /** Resolves once more of the peer's bytes arrived (or its end), for {@link readReady}. */
  arrival(): Promise<void> {
    return this.#receive();
  }

  /** Reads what was received: {@link #unread} in place, rather than copied into the engine first. */
  #decrypt(into: Uint8Array): number | null {
    const unread = this.#unread;
    if (unread === null) return this.engine.read(into);
    this.#unread = null; // if readFrom throws, the connection is over anyway
    const n = this.engine.readFrom(unread, into);
    const used = this.engine.inputUsed;
    if (used < unread.length) this.#unread = unread.subarray(used);
    return n;
  }

  /**
   * Encrypts all of `data`; waits for the socket only past the high-water mark.
   * A small write (an interactive message) leaves at once, as with the
   * runtimes' own TLS; larger ones gather until the next turn of the event loop.
   */
  async write(data: Uint8Array): Promise<number> {
    if (this.#sendError) throw this.#sendError;
    let done = this.#encrypt(data);
    while (done < data.length) {
      // The peer started a TLS 1.2 renegotiation: reading drives it, and our data goes once it
      // is through. Data the peer sends meanwhile is kept for the next read.
      const chunk = new Uint8Array(16384);
      const n = this.#readAheadEnd ? 0 : this.#decrypt(chunk);
      if (n === null) this.#readAheadEnd = true;
      else if (n > 0) this.#readAhead.push(chunk.subarray(0, n));
      done += this.#encrypt(data.subarray(done));
      if (done < data.length && !n) {
        await this.flush();
        await this.#receive();
      }
    }
    const pending = this.unsent;
    if (pending >= WRITE_HIGH_WATER) await this.flush();
    else if (data.length < SMALL_WRITE && !this.#flushing) this.flush().catch(() => {}); // kept in #sendError
    else this.flushSoon();
    return data.length;
  }

  /**
   * Encrypts what it can of `data` now, without sending it: the bytes taken
   * (all, except while a TLS 1.2 renegotiation the peer started waits for its
   * next flight). Then {@link flush} or {@link flushSoon}. For callers that
   * cannot await {@link write}.
   */
  encryptNow(data: Uint8Array): number {
    if (this.#sendError) throw this.#sendError;
    return this.#encrypt(data);
  }

  /** Bytes of ciphertext not yet handed to the socket. */
  get unsent(): number {
    return this.#staged + this.engine.pendingOutput;
  }

  /** Encrypts into the stage (the engine queues what it cannot take); returns the bytes of `data` taken. */
  #encrypt(data: Uint8Array): number {
    const stage = this.#stage ??= spareBuffer();
    const done = this.engine.writeInto(data, stage, this.#staged);
    this.#staged = this.engine.outputEnd;
    if (this.#staged === 0) this.#dropStage(); // it all queued behind output already pending
    return done;
  }

  #dropStage(): void {
    if (this.#stage) releaseBuffer(this.#stage);
    this.#stage = null;
    this.#staged = 0;
  }

  /** Sends every pending byte of ciphertext; resolves once the socket took them. */
  flush(): Promise<void> {
    if (this.#sendError) return Promise.reject(this.#sendError);
    if (this.#flushing) return this.#flushing;
    if (this.#staged === 0 && this.engine.pendingOutput === 0) return Promise.resolve();
    this.#flushing = this.#flushLoop();
    return this.#flushing;
  }

  /**
   * Sends the stage, then the engine's output, until neither holds any. Writes
   * made while a send is in flight fill a new stage, or queue behind the
   * engine's output when it is not empty: the order of the bytes holds.
   */
  async #flushLoop(): Promise<void> {
    let queued = false; // sent some of the engine's own output (a flight, tickets, an alert)
    try {
      for (;;) {
        let out: Uint8Array, n: number;
        if (this.#staged > 0) {
          out = this.#stage!;
          n = this.#staged;
          this.#stage = null;
          this.#staged = 0;
        } else {
          const pending = this.engine.pendingOutput;
          if (pending === 0) {
            // Tickets sent while waiting for the peer: their emptied buffers go too (not per data write).
            if (queued && this.#receiving) this.engine.idle();
            return; // `finally` clears #flushing in this same tick
          }
          queued = true;
          // A flight or tickets (a few KiB) get a buffer of their size, not a stage: 16 concurrent
          // handshakes would outgrow the spares and leave 81 KiB buffers for the GC.
          out = pending > STAGE_SIZE || pending < SMALL_OUTPUT
            ? new Uint8Array(Math.min(SEND_MAX, pending))
            : spareBuffer();
          n = this.engine.takeOutput(out);
        }
        try {
          await this.stream.send(out.subarray(0, n));
        } finally {
          releaseBuffer(out);
        }
      }
    } catch (e) {
      this.#sendError = e instanceof TlsError ? e : new TlsError("CONNECTION_RESET", String(e), { cause: e });
      throw this.#sendError;
    } finally {
      this.#flushing = null;
    }
  }

  /**
   * Ends the session at once: frees the engine now and closes the stream in
   * the background. `graceful` sends close_notify first (when the session is
   * up), after what is still unsent. After a fatal error the engine's alert
   * goes out instead, with what preceded it (tickets, a final flight),
   * graceful or not: a peer that sees only the TCP close would report a
   * network fault. Sending waits at most `drainMs`. Resolves once the stream
   * is closed.
   */
  release(graceful: boolean, drainMs: number): Promise<void> {
    const { engine, stream } = this;
    let tail: Uint8Array | null = null;
    if (graceful && !engine.error && (engine.state === "ready" || engine.state === "shutdown")) {
      try {
        engine.close();
      } catch {
        // the peer is gone; nothing to say to it
      }
    }
    if (graceful || engine.error) tail = this.#takeUnsent();
    this.#dropStage(); // what was not taken is dropped
    engine.free();
    const inFlight = this.flush().catch(() => {});
    const drain = graceful || engine.error !== null;
    return (async () => {
      if (drain) await withTimeout(inFlight.then(() => tail && stream.send(tail)).catch(() => {}), drainMs);
      stream.close();
    })();
  }

  /** The ciphertext not yet handed to the socket, in one copy of its own (the engine is about to go). */
  #takeUnsent(): Uint8Array | null {
    const staged = this.#staged, pending = this.engine.pendingOutput;
    if (staged + pending === 0) return null;
    const tail = new Uint8Array(staged + pending);
    if (staged > 0) tail.set(this.#stage!.subarray(0, staged));
    this.engine.takeOutput(tail.subarray(staged));
    this.#dropStage();
    return tail;
  }

  /** Flushes on the next turn of the event loop, gathering what is written until then. */
  flushSoon(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.flush().catch(() => {}); // kept in #sendError for the next write or close
    });
  }

  #takeReadAhead(into: Uint8Array): number {
    const head = this.#readAhead[0];
    const n = Math.min(head.length, into.length);
    into.set(head.subarray(0, n));
    if (n === head.length) this.#readAhead.shift();
    else this.#readAhead[0] = head.subarray(n);
    return n;
  }

  /**
   * Waits for the peer's next bytes, kept in {@link #unread}: they stay in the
   * stream's buffer, valid until its next receive. A read and a write waiting
   * at once share one receive.
   */
  #receive(): Promise<void> {
    if (this.#unread) return Promise.resolve();
    return this.#receiving ??= this.#receiveOnce();
  }

  async #receiveOnce(): Promise<void> {
    // Waiting for the peer: the session drops its empty record buffers now, not
    // later. Freed at once, they are reused by the next connection's handshake
    // instead of leaving holes the allocator cannot return (bench/ANALYSIS.md,
    // "Idle memory"). A bulk transfer waits once per socket read, not per record.
    if (this.engine.state === "ready") this.engine.idle(); // a handshake's next flight is only a round trip away
    let bytes: Uint8Array | null;
    try {
      bytes = await this.stream.receive();
    } finally {
      this.#receiving = null;
    }
    if (bytes === null) this.engine.end();
    else this.#unread = bytes;
  }

  /**
   * Sends close_notify and flushes it. With `waitForPeer`, also reads until
   * the peer's close_notify (discarding data), so both sides closed cleanly.
   */
  async closeNotify(waitForPeer = false): Promise<void> {
    if (this.engine.state === "ready" || this.engine.state === "shutdown") {
      let done = this.engine.close();
      await this.flush();
      const sink = new Uint8Array(16384);
      while (waitForPeer && !done) {
        if ((await this.read(sink)) === null) done = this.engine.close();
      }
    }
  }
}
