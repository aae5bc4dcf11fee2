/**
 * One DTLS association: a {@link DtlsEngine}, the peer's address, the messages
 * it delivered and the deadlines it waits for. Client and listener both drive
 * sessions; the owner runs the one timer and calls {@link DtlsSession.tick}.
 *
 * @module
 */
import type { DtlsEngine } from "../engine/dtls_engine.ts";
import { MAX_DATAGRAM } from "../engine/dtls_engine.ts";
import type { HandshakeInfo } from "../engine/info.ts";
import { TlsError } from "../errors.ts";
import type { UdpAddr } from "../transport/udp.ts";

/** Messages a session keeps for a reader before it drops new ones. */
export const MAX_QUEUED_MESSAGES = 1024;

/** What a DTLS handshake negotiated: TLS's {@link HandshakeInfo} plus the DTLS-SRTP profile. */
export interface DtlsHandshakeInfo extends HandshakeInfo {
  /** The DTLS-SRTP profile chosen (RFC 5764), e.g. `"SRTP_AEAD_AES_128_GCM"`, or null. */
  srtpProfile: string | null;
}

/** What a session needs from its owner. */
export interface SessionOwner {
  /** Sends one datagram to the session's peer. */
  sendDatagram(datagram: Uint8Array, to: UdpAddr): void;
  /** The session's earliest deadline ({@link DtlsSession.deadline}) changed: it may be earlier. */
  rescheduled(session: DtlsSession): void;
  /** A message arrived and no reader of the session waited for it; true when the owner took it. */
  offer?(session: DtlsSession, message: Uint8Array): boolean;
  /** The session ended (closed, failed or timed out): forget it. */
  ended(session: DtlsSession): void;
  /** A message was dropped because nobody read the queue. */
  dropped?(): void;
}

type Reader = (message: Uint8Array | null | TlsError) => void;

const scratch = new Uint8Array(MAX_DATAGRAM);
const plain = new Uint8Array(MAX_DATAGRAM);

/** @internal A DTLS association with its peer. */
export class DtlsSession {
  readonly engine: DtlsEngine;
  readonly peer: UdpAddr;
  readonly #owner: SessionOwner;
  #handshakeDeadline: number;
  readonly #idleTimeout: number;
  #lastActivity = Date.now();
  #retransmitAt = Infinity;
  /** The deadline last told to the owner (a later one from activity alone is not told: the owner finds it when it wakes). */
  #toldDeadline = Infinity;
  #inbox: Uint8Array[] = [];
  #readers: Reader[] = [];
  #handshake: Promise<void>;
  #handshakeDone!: () => void;
  #handshakeFailed!: (e: TlsError) => void;
  #ready = false;
  #ended = false;
  #peerClosed = false;
  #error: TlsError | null = null;
  /** What the handshake negotiated, once it completed. */
  info: DtlsHandshakeInfo | null = null;
  /** Client: the newest session the server gave, to resume later. */
  saved: Uint8Array | null = null;

  constructor(
    engine: DtlsEngine,
    peer: UdpAddr,
    owner: SessionOwner,
    handshakeTimeout: number,
    idleTimeout: number,
  ) {
    this.engine = engine;
    this.peer = peer;
    this.#owner = owner;
    this.#handshakeDeadline = handshakeTimeout > 0 ? Date.now() + handshakeTimeout : Infinity;
    this.#idleTimeout = idleTimeout;
    this.#handshake = new Promise((resolve, reject) => {
      this.#handshakeDone = resolve;
      this.#handshakeFailed = reject;
    });
    this.#handshake.catch(() => {}); // observed by whoever awaits it
  }

  /** Settles when the handshake completes or fails. */
  get handshake(): Promise<void> {
    return this.#handshake;
  }

  /** Whether the handshake completed. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Whether the session is over (freed). */
  get isEnded(): boolean {
    return this.#ended;
  }

  /** Messages queued for a reader. */
  get queued(): number {
    return this.#inbox.length;
  }

  /** Starts (client) or continues (server, after the cookie) the handshake. */
  start(): void {
    this.#step();
  }

  /** One datagram from the peer. */
  input(datagram: Uint8Array): void {
    if (this.#ended) return;
    this.#lastActivity = Date.now();
    try {
      this.engine.receive(datagram);
      this.#step();
    } catch (e) {
      this.#fail(e as TlsError);
    }
  }

  #step(): void {
    try {
      if (!this.#ready) {
        if (this.engine.handshake()) {
          this.#ready = true;
          this.#handshakeDeadline = Infinity;
          this.info = { ...this.engine.info(), srtpProfile: this.engine.srtpProfile };
          this.#keepSessions();
          this.#handshakeDone();
        }
      }
      if (this.#ready) this.#readAll();
      this.#flush();
      this.#armRetransmit();
    } catch (e) {
      this.#fail(e as TlsError);
    }
  }

  #keepSessions(): void {
    while (this.engine.pendingSessions > 0) this.saved = this.engine.takeSession() ?? this.saved;
  }

  #readAll(): void {
    for (let i = 0; i < 4096; i++) {
      const n = this.engine.read(plain);
      if (n === null) return this.#onPeerClose();
      if (n === 0) return;
      this.#deliver(plain.slice(0, n));
    }
  }

  #deliver(message: Uint8Array): void {
    const reader = this.#readers.shift();
    if (reader) return reader(message);
    if (this.#owner.offer?.(this, message)) return;
    if (this.#inbox.length >= MAX_QUEUED_MESSAGES) return this.#owner.dropped?.();
    this.#inbox.push(message);
  }

  #onPeerClose(): void {
    this.#peerClosed = true;
    try {
      this.engine.close(); // our close_notify answers theirs
      this.#flush();
    } catch { /* the session ends either way */ }
    this.#end(null);
  }

  #flush(): void {
    while (this.engine.pendingOutput > 0) {
      const n = this.engine.takeOutput(scratch);
      this.#owner.sendDatagram(scratch.subarray(0, n), this.peer);
    }
  }

  #armRetransmit(): void {
    const ms = this.#ready ? -1 : this.engine.timeout();
    const at = ms < 0 ? Infinity : Date.now() + ms;
    this.#retransmitAt = at;
    // The handshake's end may bring the idle deadline earlier than the last one told.
    const deadline = this.deadline;
    if (deadline === this.#toldDeadline) return;
    this.#toldDeadline = deadline;
    this.#owner.rescheduled(this);
  }

  /** The earliest time {@link tick} has work. */
  get deadline(): number {
    if (this.#ended) return Infinity;
    const idle = this.#ready && this.#idleTimeout > 0 ? this.#lastActivity + this.#idleTimeout : Infinity;
    return Math.min(this.#retransmitAt, this.#handshakeDeadline, idle);
  }

  /** Runs what is due at `now`: retransmissions, the handshake timeout, the idle timeout. */
  tick(now: number): void {
    if (this.#ended) return;
    if (now >= this.#handshakeDeadline) {
      return this.#fail(new TlsError("HANDSHAKE_TIMEOUT", "the DTLS handshake did not finish in time"));
    }
    if (this.#ready && this.#idleTimeout > 0 && now >= this.#lastActivity + this.#idleTimeout) {
      return this.close(); // the peer went quiet: tell it, if it is there, and forget it
    }
    if (now >= this.#retransmitAt) {
      try {
        this.engine.onTimeout();
        this.#retransmitAt = Infinity;
        this.#step();
      } catch (e) {
        this.#fail(e as TlsError);
      }
    }
  }

  /** Encrypts and sends one message (see `DtlsEngine.send`). */
  send(message: Uint8Array): void {
    if (this.#error) throw this.#error;
    if (this.#ended || !this.#ready) {
      throw new TlsError("CLOSED", this.#ended ? "the DTLS session is closed" : "the handshake is not done");
    }
    this.engine.send(message);
    this.#lastActivity = Date.now();
    this.#flush();
  }

  /** The next message; null once the session closed cleanly. */
  receive(): Promise<Uint8Array | null> {
    const queued = this.#inbox.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#readers.push((m) => (m instanceof TlsError ? reject(m) : resolve(m)));
    });
  }

  /** Takes a queued message without waiting, if there is one. */
  takeQueued(): Uint8Array | undefined {
    return this.#inbox.shift();
  }

  /** Sends close_notify (when the handshake is done) and frees the session. Idempotent. */
  close(): void {
    if (this.#ended) return;
    if (this.#ready && !this.#peerClosed) {
      try {
        this.engine.close();
        this.#flush();
      } catch { /* closing anyway */ }
    }
    this.#end(null);
  }

  #fail(error: TlsError): void {
    if (this.#ended) return;
    if (!(error instanceof TlsError)) error = new TlsError("INTERNAL", String(error), { cause: error });
    this.#error = error;
    try {
      this.#flush(); // a fatal alert, if OpenSSL queued one
    } catch { /* nothing more to send */ }
    this.#end(error);
  }

  #end(error: TlsError | null): void {
    this.#ended = true;
    if (!this.#ready) this.#handshakeFailed(error ?? new TlsError("CLOSED", "closed during the handshake"));
    for (const reader of this.#readers.splice(0)) reader(error ?? null);
    this.engine.free();
    this.#owner.ended(this);
  }

  /** The error that ended the session, if any. */
  get error(): TlsError | null {
    return this.#error;
  }
}
