/**
 * DTLS `listen`: one UDP socket serving many peers.
 *
 * A datagram from a known peer goes to its session. One from an unknown peer
 * goes through the stateless cookie exchange on a single listening engine:
 * only a ClientHello that returns a valid cookie (so its source address is
 * real) gets a session, and only while fewer than `maxSessions` exist.
 *
 * @module
 */
import { TlsContext } from "../engine/context.ts";
import { DtlsEngine } from "../engine/dtls_engine.ts";
import { TlsError } from "../errors.ts";
import { handshakeTimeoutOf } from "../tls/options.ts";
import { addrKey, type UdpAddr, UdpSocket } from "../transport/udp.ts";
import { DtlsConn } from "./conn.ts";
import { validated } from "../tls/contexts.ts";
import { checkRole, givenContext, type SecureContext } from "../tls/secure_context.ts";
import { checkDtlsServer, type DtlsListenOptions, dtlsServerContext } from "./options.ts";
import { DtlsSession, type SessionOwner } from "./session.ts";
import { DeadlineHeap } from "./deadline_heap.ts";
import { DeadlineTimer } from "./timer.ts";

/** A listener's counters. */
export interface DtlsListenerStats {
  /** Datagrams received. */
  packetsIn: number;
  /** Datagrams sent. */
  packetsOut: number;
  /** Bytes of the datagrams received. */
  bytesIn: number;
  /** Bytes of the datagrams sent. */
  bytesOut: number;
  /** Sessions now open (handshaking or established). */
  sessions: number;
  /** Handshakes that completed. */
  handshakes: number;
  /** Handshakes that failed (timed out, refused, bad certificate, …). */
  handshakesFailed: number;
  /** HelloVerifyRequests sent (ClientHellos without a valid cookie). */
  cookiesSent: number;
  /** Datagrams dropped, by reason. */
  dropped: {
    /** From an unknown peer and neither a ClientHello nor answered with a cookie. */
    invalid: number;
    /** A ClientHello while `maxSessions` sessions were open. */
    sessionLimit: number;
    /** A message for a peer whose queue of unread messages was full. */
    queueFull: number;
  };
}

/** How many handshaked connections wait for `accept()` before the oldest is forgotten there. */
const MAX_PENDING_ACCEPTS = 1024;

/**
 * A DTLS server on one UDP socket. Take peers as connections
 * (`accept()` / `for await`) or messages from any peer (`receive()` /
 * `send(message, addr)`), or both: a message goes to the reader of its
 * connection if one waits, else to a waiting `receive()`, else it is queued
 * on its connection (both shapes take from that queue).
 *
 * @example
 * ```ts
 * import { listen } from "@jsec/tls/dtls";
 * const listener = await listen({ port: 5684, cert, key });
 * for await (const conn of listener) {
 *   (async () => { for await (const m of conn) await conn.send(m); })(); // echo
 * }
 * ```
 */
export class DtlsListener {
  #socket: UdpSocket | null = null;
  /** Resolves once the socket is bound ({@link addr} then has the real port); rejects with `CONNECTION_FAILED`. */
  readonly ready: Promise<void>;
  #context: TlsContext;
  #ownsContext: boolean;
  readonly #options: DtlsListenOptions;
  readonly #sessions = new Map<string, DtlsSession>();
  readonly #timer: DeadlineTimer;
  /** The sessions with a deadline, earliest first: the timer touches only those that are due. */
  readonly #deadlines = new DeadlineHeap<DtlsSession>();
  #listening: DtlsEngine | null = null;
  #accepted: DtlsConn[] = [];
  #acceptWaiters: ((c: DtlsConn | null) => void)[] = [];
  #receiveWaiters: ((m: [Uint8Array, UdpAddr] | null) => void)[] = [];
  #closed = false;
  readonly #stats: DtlsListenerStats = {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    sessions: 0,
    handshakes: 0,
    handshakesFailed: 0,
    cookiesSent: 0,
    dropped: { invalid: 0, sessionLimit: 0, queueFull: 0 },
  };
  readonly #owner: SessionOwner;

  /** @internal Use {@link listen}. */
  constructor(context: TlsContext, options: DtlsListenOptions, ownsContext: boolean) {
    this.#context = context;
    this.#ownsContext = ownsContext;
    this.#options = options;
    this.#timer = new DeadlineTimer((now) => this.#tick(now));
    this.#owner = {
      sendDatagram: (d, to) => this.#send(d, to),
      rescheduled: (s) => this.#reschedule(s),
      offer: (s, m) => this.#offer(s, m),
      ended: (s) => this.#ended(s),
      dropped: () => this.#stats.dropped.queueFull++,
    };
    const hostname = options.hostname ?? "127.0.0.1";
    this.#requested = { transport: "udp", hostname, port: options.port };
    this.ready = UdpSocket.bind(hostname, options.port, (d, from) => this.onDatagram(d, from)).then(
      (socket) => {
        this.#socket = socket;
        if (this.#closed) socket.close();
      },
      (e) => {
        this.#bindError = e as TlsError;
        this.close();
        throw e;
      },
    );
    this.ready.catch(() => {}); // also reported by accept() and receive()
  }

  readonly #requested: UdpAddr;
  #bindError: TlsError | null = null;

  /** Where the socket is bound (before {@link ready}: the address asked for, whose port may be 0). */
  get addr(): UdpAddr {
    return this.#socket?.addr ?? this.#requested;
  }

  /** A snapshot of the counters. */
  get stats(): DtlsListenerStats {
    return { ...this.#stats, sessions: this.#sessions.size, dropped: { ...this.#stats.dropped } };
  }

  /** @internal A datagram arrived. */
  onDatagram(datagram: Uint8Array, from: UdpAddr): void {
    if (this.#closed) return;
    try {
      this.#route(datagram, from);
    } catch {
      this.#stats.dropped.invalid++; // nothing a peer sends may stop the listener
    }
  }

  #route(datagram: Uint8Array, from: UdpAddr): void {
    this.#stats.packetsIn++;
    this.#stats.bytesIn += datagram.length;
    const key = addrKey(from);
    const known = this.#sessions.get(key);
    // A peer that restarted on the same address gets a new session once its cookie checks out.
    const restarted = known !== undefined && known.ready && known.engine.isNewClientHello(datagram);
    if (known && !restarted) return known.input(datagram);
    if (!known && this.#sessions.size >= (this.#options.maxSessions ?? 10_000)) {
      this.#stats.dropped.sessionLimit++;
      return;
    }
    const engine = this.#listening ??= new DtlsEngine(this.#context, {
      mtu: this.#options.mtu,
      ipv6: this.#socket!.ipv6,
    });
    if (!engine.listen(datagram, key)) {
      if (engine.pendingOutput > 0) {
        this.#stats.cookiesSent++;
        const out = new Uint8Array(engine.maxDatagram);
        while (engine.pendingOutput > 0) this.#send(out.subarray(0, engine.takeOutput(out)), from);
      } else {
        this.#stats.dropped.invalid++;
      }
      return;
    }
    // A valid cookie: the listening engine becomes this peer's session.
    this.#listening = null;
    known?.close();
    const session = new DtlsSession(
      engine,
      from,
      this.#owner,
      handshakeTimeoutOf(this.#options),
      this.#options.idleTimeout ?? 300_000,
    );
    this.#sessions.set(key, session);
    session.handshake.then(() => this.#established(session), (e) => this.#failed(e as TlsError, from));
    session.start();
    this.#reschedule(session);
  }

  #send(datagram: Uint8Array, to: UdpAddr): void {
    this.#stats.packetsOut++;
    this.#stats.bytesOut += datagram.length;
    this.#socket!.send(datagram, to);
  }

  #established(session: DtlsSession): void {
    if (session.isEnded) return;
    this.#stats.handshakes++;
    const conn = new DtlsConn(session, this.#socket!);
    const waiter = this.#acceptWaiters.shift();
    if (waiter) return waiter(conn);
    this.#accepted.push(conn);
    // Not accepted: the peer is served through receive()/send() alone.
    if (this.#accepted.length > MAX_PENDING_ACCEPTS) this.#accepted.shift();
  }

  #failed(error: TlsError, peer: UdpAddr): void {
    this.#stats.handshakesFailed++;
    try {
      this.#options.onHandshakeError?.(error, { hostname: peer.hostname, port: peer.port });
    } catch { /* a throwing callback must not stop the listener */ }
  }

  #offer(session: DtlsSession, message: Uint8Array): boolean {
    const waiter = this.#receiveWaiters.shift();
    if (!waiter) return false;
    waiter([message, session.peer]);
    return true;
  }

  #ended(session: DtlsSession): void {
    const key = addrKey(session.peer);
    if (this.#sessions.get(key) === session) this.#sessions.delete(key);
    this.#deadlines.delete(session);
  }

  #reschedule(session: DtlsSession): void {
    this.#deadlines.set(session, session.deadline);
    this.#timer.schedule(this.#deadlines.earliest);
  }

  /** Runs the sessions that are due (a deadline that moved later without telling is just put back). */
  #tick(now: number): number {
    for (const session of this.#deadlines.takeDue(now)) {
      if (session.deadline <= now) session.tick(now);
      this.#deadlines.set(session, session.deadline);
    }
    return this.#deadlines.earliest;
  }

  /** The next peer whose handshake succeeded; null once the listener is closed. */
  accept(): Promise<DtlsConn | null> {
    for (let conn = this.#accepted.shift(); conn; conn = this.#accepted.shift()) {
      if (conn.maxMessageSize > 0) return Promise.resolve(conn); // skip the ones already ended
    }
    if (this.#bindError) return Promise.reject(this.#bindError);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#acceptWaiters.push(resolve));
  }

  /** Connections, as their handshakes succeed, until the listener closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<DtlsConn> {
    for (;;) {
      const conn = await this.accept();
      if (conn === null) return;
      yield conn;
    }
  }

  /**
   * The next message from any established peer, and its address; rejects with
   * `CLOSED` once the listener is closed.
   */
  receive(): Promise<[Uint8Array, UdpAddr]> {
    for (const session of this.#sessions.values()) {
      const message = session.takeQueued();
      if (message) return Promise.resolve([message, session.peer]);
    }
    if (this.#closed) {
      return Promise.reject(this.#bindError ?? new TlsError("CLOSED", "the DTLS listener is closed"));
    }
    return new Promise((resolve, reject) => {
      this.#receiveWaiters.push((
        m,
      ) => (m ? resolve(m) : reject(new TlsError("CLOSED", "the DTLS listener is closed"))));
    });
  }

  /**
   * Encrypts `message` to the established peer at `addr` (one record, one
   * datagram). Rejects with `CLOSED` when no session with that peer is open,
   * `MESSAGE_TOO_LARGE` when it does not fit under the MTU.
   */
  send(message: Uint8Array, addr: { hostname: string; port: number }): Promise<void> {
    const session = this.#sessions.get(addrKey({ transport: "udp", ...addr }));
    if (!session || !session.ready) {
      return Promise.reject(new TlsError("CLOSED", `no DTLS session with ${addr.hostname}:${addr.port}`));
    }
    try {
      session.send(message);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Serves the peers whose handshakes start from now on with `context` (a
   * DTLS server `SecureContext`, `createSecureContext({ isServer: true,
   * datagram: true, … })`): e.g. a renewed certificate. Sessions already
   * under way keep theirs; a context the listener made from its options is
   * freed once they end. Throws `INVALID_OPTION` for any other context,
   * `CLOSED` after `close()`.
   *
   * @example
   * ```ts
   * listener.setSecureContext(createSecureContext({ isServer: true, datagram: true, cert, key }));
   * ```
   */
  setSecureContext(context: SecureContext): void {
    checkRole(context, { isServer: true, datagram: true, call: "setSecureContext" });
    if (this.#closed) throw new TlsError("CLOSED", "the listener is closed");
    if (this.#ownsContext) this.#context.free(); // for real once its sessions end
    this.#context = context.engineContext;
    this.#ownsContext = false;
    this.#listening?.free(); // the next ClientHello gets an engine of the new context
    this.#listening = null;
  }

  /** Closes every session (close_notify to established peers) and the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#sessions.values()]) session.close();
    this.#listening?.free();
    this.#listening = null;
    this.#timer.stop();
    this.#socket?.close();
    if (this.#ownsContext) this.#context.free();
    for (const waiter of this.#acceptWaiters.splice(0)) waiter(null);
    for (const waiter of this.#receiveWaiters.splice(0)) waiter(null);
  }

  /** For `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/**
 * Serves DTLS on a UDP socket. Returns at once, like `Deno.listen`; the socket
 * is bound when `listener.ready` resolves (a port in use rejects it, and
 * `accept()`, with `CONNECTION_FAILED`). Bad options throw at the call.
 *
 * @example
 * ```ts
 * import { listen } from "@jsec/tls/dtls";
 * const listener = listen({ hostname: "127.0.0.1", port: 5684, cert, key, srtpProfiles: ["SRTP_AEAD_AES_128_GCM"] });
 * await listener.ready;
 * const [message, from] = await listener.receive();
 * await listener.send(message, from); // echo
 * ```
 */
export function listen(options: DtlsListenOptions): DtlsListener {
  const given = givenContext(options, { isServer: true, datagram: true, call: "dtls.listen" });
  if (given) {
    checkDtlsServer(options);
    return new DtlsListener(given.engineContext, options, false);
  }
  return new DtlsListener(new TlsContext(validated(dtlsServerContext(options))), options, true);
}
