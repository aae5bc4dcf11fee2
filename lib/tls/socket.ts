/**
 * `TlsSocket`: a TLS connection driven by callbacks, shaped like Bun's
 * `Socket` (the `socket` handlers of `Bun.connect` / `Bun.listen`), the same
 * under Deno and Bun.
 *
 * Data is pushed: as records arrive they are decrypted into one buffer that
 * every socket of the process shares, and `data(socket, bytes)` is called with
 * a view of it before anything else runs. An idle socket thus holds no read
 * buffer at all (a `read()`-style connection keeps one pending).
 *
 * @module
 */
import { clearTimeout, setImmediate, setTimeout } from "node:timers";
import type { HandshakeInfo } from "../engine/info.ts";
import { verifyError } from "../engine/failure.ts";
import { invalid } from "../engine/validate.ts";
import type { TlsError } from "../errors.ts";
import { SMALL_WRITE, type TlsPump, WRITE_HIGH_WATER } from "../transport/pump.ts";
import type { Addr } from "../transport/stream.ts";
import { asTlsError, type HandshakeLimits, handshakeWithin } from "./handshake.ts";
import type { ClientResumption } from "./resumption.ts";
import type { Session } from "./session.ts";
import { TransportControls } from "./transport_controls.ts";

/**
 * The one buffer every socket decrypts into. `data` is called with a view of
 * it and returns before the next decrypt, so one buffer serves all sockets;
 * 64 KiB lets a bulk transfer hand out several records per call.
 */
const received = new Uint8Array(64 * 1024);
/** How long `close()` lets close_notify and unsent data drain. */
const CLOSE_DRAIN_MS = 2000;

const encoder = new TextEncoder();

/**
 * The callbacks of a {@link TlsSocket}, named and called as Bun's `socket`
 * handlers are. Every one is optional; each gets the socket first.
 *
 * Order: `open`, then `handshake`, then any number of `data` and `drain`,
 * then `end` (the peer's close_notify), then `close` exactly once. A failure
 * calls `error` and then `close` with the same error; a failed handshake calls
 * `handshake(socket, false, error)` before them. With a `connectError`
 * handler, a failure before the handshake succeeded goes there instead of to
 * `error`. `timeout` is called when the socket was idle for as long as
 * {@link TlsSocket.timeout} said.
 *
 * A handler that throws ends the connection at once, without close_notify
 * (the peer sees an unexpected end, not a clean one): the thrown error goes to
 * `error`, then to `close`. What `error` or `close` throw themselves, or what
 * a handler throws when there is no `error` handler, is reported as an
 * uncaught error (`reportError`), as an event listener's would be.
 *
 * @example
 * ```ts
 * import { connectSocket, type TlsSocketHandler } from "@jsec/tls";
 * const handlers: TlsSocketHandler<{ lines: string[] }> = {
 *   open(socket) {
 *     socket.data = { lines: [] };
 *     socket.write("hello\n"); // queued until the handshake is done
 *   },
 *   data(socket, bytes) {
 *     socket.data.lines.push(new TextDecoder().decode(bytes)); // `bytes` is only valid during the call
 *   },
 *   error(_socket, error) {
 *     console.error(error); // a TlsError: branch on error.code
 *   },
 * };
 * await connectSocket({ hostname: "example.com", port: 443, socket: handlers });
 * ```
 */
export interface TlsSocketHandler<Data = undefined> {
  /** The transport is connected (client) or accepted (server); the handshake starts. Writes queue until it ends. */
  open?(socket: TlsSocket<Data>): void;
  /**
   * The handshake ended: `success` true, or false with the failure (which
   * `connectError`, else `error`, and `close` then get as well). A success
   * with an error: the peer's certificate did not verify, and
   * `rejectUnauthorized: false` let it through.
   */
  handshake?(socket: TlsSocket<Data>, success: boolean, authorizationError: TlsError | null): void;
  /**
   * Plaintext from the peer. `data` is a view of a buffer shared by every
   * socket and reused as soon as the handler returns: copy (`data.slice()`)
   * what must outlive the call.
   */
  data?(socket: TlsSocket<Data>, data: Uint8Array): void;
  /** A write that took less than it was given can be retried: the socket takes writes again. */
  drain?(socket: TlsSocket<Data>): void;
  /**
   * The peer closed cleanly (close_notify). Without `allowHalfOpen` the socket
   * then answers with its own close_notify and closes; with it, writing goes on
   * until {@link TlsSocket.end}.
   */
  end?(socket: TlsSocket<Data>): void;
  /** The connection is closed (once); `error` is set when it ended in failure. */
  close?(socket: TlsSocket<Data>, error?: Error): void;
  /**
   * A failure: a {@link TlsError} for anything TLS or the transport did (a bad
   * certificate, a timeout, a peer gone without close_notify: `UNEXPECTED_EOF`),
   * or what a handler threw, as thrown. `close` follows.
   */
  error?(socket: TlsSocket<Data>, error: Error): void;
  /**
   * The connection failed before its handshake succeeded: the transport could
   * not be opened (`CONNECTION_FAILED`; `socket` is then null, and
   * `connectSocket` rejects with the same error), or the handshake failed or
   * timed out (after `handshake(socket, false, error)`). Called instead of
   * `error`, as Bun's `connectError`; `close` follows when there is a socket.
   * What a handler throws still goes to `error`.
   */
  connectError?(socket: TlsSocket<Data> | null, error: TlsError): void;
  /**
   * No data moved either way for the time set with {@link TlsSocket.timeout}.
   * The socket stays open: end it (`end()`, `close()`) or let it be; the next
   * call comes after another such idle time.
   */
  timeout?(socket: TlsSocket<Data>): void;
}

/**
 * Where a {@link TlsSocket} is: `"opening"` during the handshake, `"open"`
 * after it, `"closing"` once `end()` sent close_notify (reading goes on),
 * `"closed"` at the end.
 */
export type TlsSocketState = "opening" | "open" | "closing" | "closed";

/** @internal What every socket of one `connectSocket` / `listenSocket` call shares. */
export interface SocketShape<Data> {
  handlers: TlsSocketHandler<Data>;
  /** Each socket's `data` to start with. */
  data: Data;
  allowHalfOpen: boolean;
  /** Called once when a socket closed (the listener's bookkeeping). */
  onClosed?: () => void;
}

/**
 * A TLS connection driven by callbacks ({@link TlsSocketHandler}), shaped like
 * Bun's `Socket`: `write` returns how much it took, `drain` says when to write
 * again, `end()` closes cleanly, `data` is yours, `timeout(seconds)` watches
 * for idleness. Made by `connectSocket`, `listenSocket` and `upgradeSocket`
 * (STARTTLS); the same under Deno and Bun.
 *
 * Differences from Bun's `Socket`: `readyState` is a string, `write` takes a
 * string or a `Uint8Array` (no offset and length), `info` holds the whole
 * handshake outcome (no `getCipher()` / `getPeerCertificate()`), `close()`
 * frees the native session at once, `connectError` gets a null socket when
 * there never was a connection, and `data` views are only valid during the
 * call.
 *
 * @example
 * ```ts
 * import { connectSocket } from "@jsec/tls";
 * const socket = await connectSocket({
 *   hostname: "example.com",
 *   port: 443,
 *   socket: {
 *     handshake(socket, ok) {
 *       if (ok) socket.write("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
 *     },
 *     data(_socket, bytes) {
 *       console.log(new TextDecoder().decode(bytes));
 *     },
 *     close(_socket, error) {
 *       if (error) console.error(error);
 *     },
 *   },
 * });
 * console.log(socket.remoteAddress, socket.readyState);
 * ```
 */
export class TlsSocket<Data = undefined> extends TransportControls implements Disposable, AsyncDisposable {
  /** Yours: anything to keep with the connection (starts as the `data` option). */
  data: Data;
  readonly #pump: TlsPump;
  readonly #handlers: TlsSocketHandler<Data>;
  readonly #resumption: ClientResumption | undefined;
  readonly #allowHalfOpen: boolean;
  readonly #onClosed: (() => void) | undefined;
  #state: TlsSocketState = "opening";
  #info: HandshakeInfo | null = null;
  /** Writes made before the handshake ended, copied, in order. */
  #queued: Uint8Array[] = [];
  #queuedBytes = 0;
  /** `end()` was called (close_notify sent, or to be sent once the handshake is done). */
  #ended = false;
  /** The peer's close_notify arrived. */
  #peerEnded = false;
  #needDrain = false;
  #paused = false;
  #wakeReader: (() => void) | null = null;
  #flushScheduled = false;
  #closed = false;
  #closing: Promise<void> = Promise.resolve();
  /** {@link timeout}'s idle time in ms; 0: off. */
  #idleMs = 0;
  #idleTimer: ReturnType<typeof setTimeout> | null = null;
  /** When data last moved (`performance.now()`). */
  #lastActivity = 0;
  /** Settles when the handshake ended, or the socket before it: what `connectSocket` waits for. */
  readonly #handshakeEnded = Promise.withResolvers<void>();

  /** @internal Made by `connectSocket`, `listenSocket` and `upgradeSocket`. */
  constructor(session: Session, shape: SocketShape<Data>) {
    super(session.pump.stream);
    this.#pump = session.pump;
    this.#resumption = session.resumption;
    this.#handlers = shape.handlers;
    this.#allowHalfOpen = shape.allowHalfOpen;
    this.#onClosed = shape.onClosed;
    this.data = shape.data;
    this.#handshakeEnded.promise.catch(() => {}); // a server's: nobody waits for it
    this.#call(this.#handlers.open);
    if (!this.#closed) this.#run(session.limits);
  }

  // ---- the connection's life -------------------------------------------

  async #run(limits: HandshakeLimits): Promise<void> {
    try {
      if (await this.#handshake(limits)) await this.#readLoop();
    } catch (e) {
      this.#fail(e); // a bug of ours; never an unhandled rejection
    }
  }

  async #handshake(limits: HandshakeLimits): Promise<boolean> {
    let info: HandshakeInfo;
    try {
      info = await handshakeWithin(this.#pump, limits);
    } catch (e) {
      if (this.#closed) return false; // terminated meanwhile: nothing to report
      const error = asTlsError(e);
      this.#call(this.#handlers.handshake, false, error);
      this.#fail(error);
      return false;
    }
    if (this.#closed) return false;
    this.#active();
    this.#info = info;
    this.#resumption?.handshakeDone(info);
    this.#state = "open";
    // What was written during the handshake leaves with its last flight.
    const queued = this.#queued;
    this.#queued = [];
    this.#queuedBytes = 0;
    try {
      for (const chunk of queued) this.#pump.encryptNow(chunk); // all of it: no renegotiation can be under way yet
    } catch (e) {
      this.#fail(e);
      return false;
    }
    if (this.#pump.unsent > 0) this.#flushNow();
    this.#call(this.#handlers.handshake, true, this.authorizationError);
    this.#handshakeEnded.resolve();
    if (this.#closed) return false;
    if (this.#ended) this.#sendEnd();
    return true;
  }

  /** Decrypts what arrived into the shared buffer and hands it out, until the peer's end. */
  async #readLoop(): Promise<void> {
    while (!this.#closed) {
      if (this.#paused) {
        await new Promise<void>((resolve) => (this.#wakeReader = resolve));
        continue;
      }
      let n: number | null;
      try {
        n = this.#pump.readReady(received);
      } catch (e) {
        this.#fail(e);
        return;
      }
      this.#resumption?.collect(); // TLS 1.3 tickets come after the handshake, with data
      if (n === null) return this.#peerEnd();
      if (n > 0) {
        this.#call(this.#handlers.data, received.subarray(0, n));
        continue;
      }
      this.#maybeDrain(); // a write a renegotiation held up may go on now
      try {
        await this.#pump.arrival();
      } catch (e) {
        this.#fail(e);
        return;
      }
      this.#active();
    }
  }

  #peerEnd(): void {
    this.#peerEnded = true;
    this.#call(this.#handlers.end);
    if (this.#closed) return;
    if (this.#ended) return this.#finish(); // both close_notify exchanged (ours may still be leaving: teardown sends it)
    if (!this.#allowHalfOpen) this.end();
  }

  /** Sends close_notify (after what is pending) and our FIN; finishes if the peer already ended. */
  async #sendEnd(): Promise<void> {
    this.#state = "closing";
    try {
      await this.#pump.closeNotify();
      if (this.#closed) return;
      if (this.#peerEnded) return this.#finish();
      await this.#pump.stream.closeWrite();
    } catch (e) {
      this.#fail(e);
    }
  }

  /** A clean end: both sides said close_notify. */
  #finish(): void {
    if (this.#closed) return;
    this.#teardown(true);
    this.#callLast(this.#handlers.close);
  }

  #fail(e: unknown): void {
    if (this.#closed) return;
    const error = asTlsError(e);
    const connecting = this.#state === "opening" && this.#handlers.connectError !== undefined;
    this.#teardown(false, error);
    if (connecting) this.#callLast(this.#handlers.connectError, error);
    else this.#callLast(this.#handlers.error, error);
    this.#callLast(this.#handlers.close, error);
  }

  /**
   * Frees the native session now and closes the transport; `graceful` sends
   * what is unsent and close_notify first, in the background. `error` is what
   * ended the connection, if anything did.
   */
  #teardown(graceful: boolean, error?: Error): void {
    if (error) this.#handshakeEnded.reject(error);
    else this.#handshakeEnded.resolve();
    this.#closed = true;
    this.#state = "closed";
    this.#queued = [];
    this.#stopIdleTimer();
    this.#resumption?.end();
    const wake = this.#wakeReader;
    this.#wakeReader = null;
    wake?.();
    this.#closing = this.#pump.release(graceful, CLOSE_DRAIN_MS);
    this.#onClosed?.();
  }

  // ---- handlers ---------------------------------------------------------

  /** Calls a handler; one that throws ends the connection (see {@link TlsSocketHandler}). */
  #call<A extends unknown[]>(
    handler: ((socket: TlsSocket<Data>, ...args: A) => void) | undefined,
    ...args: A
  ): void {
    if (handler === undefined) return;
    try {
      handler.call(this.#handlers, this, ...args);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e), { cause: e });
      if (this.#closed) return report(error);
      this.#teardown(false, error);
      if (this.#handlers.error) this.#callLast(this.#handlers.error, error);
      else report(error);
      this.#callLast(this.#handlers.close, error);
    }
  }

  /** Calls `error` or `close`: what they throw has nowhere to go but `reportError`. */
  #callLast<A extends unknown[]>(
    handler: ((socket: TlsSocket<Data>, ...args: A) => void) | undefined,
    ...args: A
  ): void {
    try {
      handler?.call(this.#handlers, this, ...args);
    } catch (e) {
      report(e);
    }
  }

  // ---- writing ----------------------------------------------------------

  /**
   * Encrypts and sends `data` (a string is sent as UTF-8). Returns how many
   * bytes it took: all of them, or fewer (down to 0) while more than 64 KiB
   * wait for the network — then `drain` is called when it takes writes again,
   * and the caller sends the rest. -1 once the socket is ended or closed.
   * Writes before the handshake ends are queued (up to 64 KiB) and sent once
   * the peer is verified.
   *
   * @example
   * ```ts
   * let rest = bigPayload;
   * const pump = (socket: TlsSocket) => {
   *   while (rest.length > 0) {
   *     const n = socket.write(rest);
   *     if (n <= 0) return; // drain() calls pump again
   *     rest = rest.subarray(n);
   *   }
   * };
   * ```
   */
  write(data: string | Uint8Array): number {
    if (typeof data === "string") data = encoder.encode(data);
    else if (!(data instanceof Uint8Array)) invalid("data", "a string or a Uint8Array", data);
    if (this.#closed || this.#ended) return -1;
    if (data.length === 0) return 0;
    if (this.#state === "opening") {
      const n = Math.min(data.length, WRITE_HIGH_WATER - this.#queuedBytes);
      if (n < data.length) this.#needDrain = true;
      if (n <= 0) return 0;
      this.#queued.push(data.slice(0, n));
      this.#queuedBytes += n;
      return n;
    }
    const room = WRITE_HIGH_WATER - this.#pump.unsent;
    if (room <= 0) {
      this.#needDrain = true;
      this.#flushNow();
      return 0;
    }
    let n: number;
    try {
      n = this.#pump.encryptNow(data.length > room ? data.subarray(0, room) : data);
    } catch (e) {
      this.#fail(e);
      return -1;
    }
    if (n < data.length) this.#needDrain = true;
    // Held by a renegotiation: `drain` comes once reading finished it. (Flushing
    // here would call `drain` at once, whose write would flush again: a loop.)
    if (n === 0) return 0;
    this.#active();
    if (data.length < SMALL_WRITE || this.#pump.unsent >= WRITE_HIGH_WATER) this.#flushNow();
    else this.#flushSoon();
    return n;
  }

  /** Sends what is written and not yet sent now, rather than on the next turn of the event loop. */
  flush(): void {
    if (!this.#closed && this.#state !== "opening") this.#flushNow();
  }

  #flushNow(): void {
    this.#pump.flush().then(() => this.#maybeDrain(), (e) => this.#fail(e));
  }

  #flushSoon(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      if (!this.#closed) this.#flushNow();
    });
  }

  #maybeDrain(): void {
    if (!this.#needDrain || this.#closed || this.#ended || this.#state !== "open") return;
    if (this.#pump.unsent >= WRITE_HIGH_WATER) return;
    this.#needDrain = false;
    this.#call(this.#handlers.drain);
  }

  // ---- idle timeout -----------------------------------------------------

  /**
   * Calls the `timeout` handler once no data moved either way (read from the
   * network or written) for `seconds`, as Bun's `socket.timeout(seconds)`;
   * then again after each further idle period, until the app ends the socket.
   * Fractions are fine; 0 turns it off. The clock starts at this call.
   *
   * @example
   * ```ts
   * import { connectSocket } from "@jsec/tls";
   * await connectSocket({
   *   hostname: "example.com",
   *   port: 443,
   *   socket: {
   *     open: (socket) => socket.timeout(60),
   *     timeout: (socket) => socket.end(), // a minute without traffic: goodbye
   *   },
   * });
   * ```
   */
  timeout(seconds: number): void {
    if (typeof seconds !== "number" || !(seconds >= 0) || seconds === Infinity) {
      invalid("seconds", "a finite number ≥ 0", seconds);
    }
    this.#stopIdleTimer();
    this.#idleMs = seconds * 1000;
    this.#active();
    if (this.#idleMs > 0 && !this.#closed) this.#armIdleTimer(this.#idleMs);
  }

  /** Data moved: the idle clock starts again (checked when the timer fires, not re-armed here). */
  #active(): void {
    if (this.#idleMs > 0) this.#lastActivity = performance.now();
  }

  #armIdleTimer(ms: number): void {
    const timer = setTimeout(() => this.#idleCheck(), ms);
    timer.unref(); // the connection keeps the process alive, not its idle clock
    this.#idleTimer = timer;
  }

  #idleCheck(): void {
    this.#idleTimer = null;
    if (this.#closed || this.#idleMs === 0) return;
    const idle = performance.now() - this.#lastActivity;
    if (idle < this.#idleMs) return this.#armIdleTimer(this.#idleMs - idle);
    this.#lastActivity = performance.now();
    this.#call(this.#handlers.timeout);
    // The handler may have closed the socket or called timeout() again.
    if (!this.#closed && this.#idleMs > 0 && this.#idleTimer === null) this.#armIdleTimer(this.#idleMs);
  }

  #stopIdleTimer(): void {
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  // ---- closing ----------------------------------------------------------

  /**
   * Ends the connection cleanly: sends what is written, then close_notify and
   * the transport's end. Data from the peer is still delivered until it ends
   * too (its close_notify: then `close`). Before the handshake is done, this
   * happens once it is. Idempotent; later writes return -1.
   */
  end(): void {
    if (this.#closed || this.#ended) return;
    this.#ended = true;
    if (this.#state !== "opening") this.#sendEnd();
  }

  /**
   * Closes now: sends what is unsent and close_notify in the background (for
   * at most 2 s), frees the native session at once, calls `close`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#teardown(true);
    this.#callLast(this.#handlers.close);
  }

  /** Closes now without close_notify, dropping what is unsent (the peer sees an unexpected end); calls `close`. */
  terminate(): void {
    if (this.#closed) return;
    this.#teardown(false);
    this.#callLast(this.#handlers.close);
  }

  /** Resolves once the transport is closed (after `close`, `terminate`, an error or a clean end). */
  get closed(): Promise<void> {
    return this.#closing;
  }

  /** Closes; for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes and waits for the transport; for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#closing;
  }

  // ---- flow control -----------------------------------------------------

  /** Stops delivering `data` (and reading from the network) until {@link resume}. */
  pause(): void {
    this.#paused = true;
  }

  /** Delivers `data` again after {@link pause}; never from inside this call. */
  resume(): void {
    this.#paused = false;
    const wake = this.#wakeReader;
    this.#wakeReader = null;
    wake?.();
  }

  // ---- what it is -------------------------------------------------------

  /** Where the connection is. */
  get readyState(): TlsSocketState {
    return this.#state;
  }

  /** What the handshake negotiated (protocol, cipher, ALPN, the peer's certificates, …); null before it ended. */
  get info(): HandshakeInfo | null {
    if (this.#info && this.#state !== "closed") this.#info = this.#pump.engine.info(); // renegotiated?
    return this.#info;
  }

  /** The ALPN protocol both sides chose, or null. */
  get alpnProtocol(): string | null {
    return this.#info?.alpnProtocol ?? null;
  }

  /**
   * @internal Resolves once the handshake succeeded (or the socket was closed
   * before it); rejects with the error that ended the socket before then.
   */
  get handshakeEnded(): Promise<void> {
    return this.#handshakeEnded.promise;
  }

  /** Whether the peer's certificate verified (chain, and the host name for a client). */
  get authorized(): boolean {
    return this.#info?.verified ?? false;
  }

  /**
   * Why the peer's certificate did not verify, when `rejectUnauthorized: false`
   * let the handshake succeed anyway (e.g. `HOSTNAME_MISMATCH`); null otherwise.
   */
  get authorizationError(): TlsError | null {
    const result = this.#info?.verifyResult ?? 0;
    return result === 0 ? null : verifyError(result);
  }

  /**
   * Client: the newest saved session this connection can give, to resume a
   * later one with `session` (see `TlsConn.session`); null until the server
   * sent one, and always on a server. A secret: keep it as a password.
   */
  get session(): Uint8Array | null {
    return this.#resumption?.newest ?? null;
  }

  /**
   * Keying material derived from this connection's secrets (RFC 5705, RFC 8446
   * §7.5), the same on both sides; see `TlsConn.exportKeyingMaterial`.
   *
   * @example
   * ```ts
   * const keys = socket.exportKeyingMaterial(32, "EXPORTER-my-protocol"); // in `handshake` or later
   * ```
   */
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array {
    return this.#pump.engine.exportKeyingMaterial(length, label, context);
  }

  /** The peer's address (a Unix socket's path). */
  get remoteAddress(): string {
    return hostOf(this.#pump.stream.remoteAddr);
  }

  /** The peer's port (0 on a Unix socket). */
  get remotePort(): number {
    return portOf(this.#pump.stream.remoteAddr);
  }

  /** Our address (a Unix socket's path). */
  get localAddress(): string {
    return hostOf(this.#pump.stream.localAddr);
  }

  /** Our port (0 on a Unix socket). */
  get localPort(): number {
    return portOf(this.#pump.stream.localAddr);
  }
}

const hostOf = (a: Addr) => a.transport === "unix" ? a.path : a.hostname;
const portOf = (a: Addr) => a.transport === "unix" ? 0 : a.port;

/**
 * @internal Reports an error nobody can catch (what a handler threw), as the
 * runtime reports an event listener's.
 *
 * @example
 * ```ts
 * try {
 *   handlers.close?.(socket);
 * } catch (e) {
 *   report(e);
 * }
 * ```
 */
export function report(error: unknown): void {
  const reportError = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (reportError) reportError(error);
  else {
    setTimeout(() => {
      throw error;
    }, 0);
  }
}
