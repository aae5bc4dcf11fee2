/**
 * The sans-I/O TLS state machine: ciphertext in, ciphertext out, plaintext
 * read and written in between. It never touches a socket, so it runs over
 * any byte transport (TCP, a WebSocket, a pipe, a serial line).
 *
 * @module
 */
import { isIP } from "node:net";
import { cString, isNull, lastError, readBytes, readText, shim } from "../../ffi/mod.ts";
import type { Handle } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import type { TlsContext } from "./context.ts";
import { sessionErrorFrom, tlsErrorFrom } from "./failure.ts";
import { echInfo, withRetryConfigs } from "./ech.ts";
import { groupName, type HandshakeInfo, type PeerCertificate, peerCertificate } from "./info.ts";
import { HeldSession } from "./held_session.ts";
import { KeyLog, type KeyLogSink } from "./key_log.ts";
import { answerPsk, pskFailure, type PskLookup } from "./psk.ts";
import { chooseContext, type ContextChooser } from "./client_hello.ts";

/** Where an engine is: `init → handshake → ready → shutdown → closed`, any → `error`. */
export type EngineState = "init" | "handshake" | "ready" | "shutdown" | "closed" | "error";

/** Per-session options of a {@link TlsEngine}. */
export interface EngineOptions {
  /** Client: the name sent in SNI. Default: `verifyHost` when it is a DNS name. */
  servername?: string;
  /** Client: the DNS name or IP address the peer's certificate must name. */
  verifyHost?: string;
  /**
   * Receives the session's secrets as NSS key-log lines (what `SSLKEYLOGFILE`
   * holds), after each handshake step: they decrypt the connection, so keep
   * them as you would a private key.
   */
  keyLog?: KeyLogSink;
  /**
   * Server: the key of a TLS 1.3 PSK identity the context's `psk` list lacks
   * (or null), asked during the handshake; a promise makes it wait ({@link TlsEngine.waiting}).
   */
  onPskIdentity?: PskLookup;
  /**
   * Server: chooses the context (certificate) of this session by the client's
   * ClientHello, or null to refuse it (`unrecognized_name`); a promise makes
   * the handshake wait ({@link TlsEngine.waiting}).
   */
  chooseContext?: ContextChooser;
}

const OK = 0, WANT_READ = -2, WANT_WRITE = -3, CLOSED = -4, WANT_PSK = -5, WANT_SNI = -6;
const INFO = { protocol: 1, cipher: 2, group: 3, alpn: 4, servername: 5 } as const;

/** A session's handle and the contexts it runs on: its own, and one chosen by its ClientHello. */
interface Native {
  handle: Handle;
  contexts: TlsContext[];
}

const registry = new FinalizationRegistry<Native>(({ handle, contexts }) => {
  shim.jsec_free(handle);
  for (const context of contexts) context.release();
});

/**
 * One TLS session, driven by its caller: feed it the peer's bytes with
 * {@link receive}, send what {@link takeOutput} gives, and call
 * {@link handshake}, {@link read}, {@link write} and {@link close}. After any
 * call, send the pending output (`pendingOutput > 0`).
 *
 * @example
 * ```ts
 * import { TlsContext, TlsEngine } from "@jsec/tls/engine";
 * const engine = new TlsEngine(new TlsContext({ caCerts: [caPem] }), { verifyHost: "localhost" });
 * const out = new Uint8Array(65536);
 * while (!engine.handshake()) {
 *   await transport.send(out.subarray(0, engine.takeOutput(out)));
 *   engine.receive(await transport.receive());
 * }
 * ```
 */
export class TlsEngine {
  readonly #context: TlsContext;
  #handle: Handle | null;
  #state: EngineState = "init";
  #ended = false; // the transport ended
  #closeSent = false;
  #error: TlsError | null = null;
  #info: HandshakeInfo | null = null;
  #verifyHost: string;
  #keyLog: KeyLog | null = null;
  #onPskIdentity: PskLookup | undefined;
  #chooseContext: ContextChooser | undefined;
  readonly #contexts: TlsContext[];
  #waiting: Promise<void> | null = null;
  #decisionError: TlsError | null = null;
  #refusal: TlsError | null = null; // the server's error when the chosen answer refused the ClientHello
  /** Where jsec_read_from reports how much input it took ([0]) and jsec_write_into where its output ends ([1]). */
  readonly #counts = new Int32Array(2);
  readonly #inputUsedBytes = new Uint8Array(this.#counts.buffer, 0, 4);
  readonly #outputEndBytes = new Uint8Array(this.#counts.buffer, 4, 4);

  /** Starts a session of `context`; a client's `options` name the peer to verify. */
  constructor(context: TlsContext, options: EngineOptions = {}) {
    this.#context = context;
    const handle = shim.jsec_new(context.handle);
    if (isNull(handle)) throw tlsErrorFrom(lastError());
    this.#handle = handle;
    context.retain();
    this.#contexts = [context];
    registry.register(this, { handle, contexts: this.#contexts }, this);
    const verifyHost = this.#verifyHost = options.verifyHost ?? "";
    const servername = options.servername ?? (isIP(verifyHost) ? "" : verifyHost);
    if ((servername || verifyHost) && shim.jsec_host(handle, cString(servername), cString(verifyHost)) < 0) {
      const error = tlsErrorFrom(lastError());
      this.free();
      throw new TlsError("INVALID_OPTION", `bad host name: ${error.message}`);
    }
    try {
      if (options.keyLog !== undefined) this.#keyLog = new KeyLog(handle, context.handle, options.keyLog);
      this.#onPskIdentity = options.onPskIdentity;
      if (this.#onPskIdentity && shim.jsec_psk_ask_start(handle, context.handle) < 0) {
        throw new TlsError("INVALID_OPTION", `onPskIdentity: ${lastError()}`);
      }
      this.#chooseContext = options.chooseContext;
      if (this.#chooseContext && shim.jsec_sni_ask_start(handle) < 0) {
        throw new TlsError("INVALID_OPTION", `chooseContext: ${lastError()}`);
      }
    } catch (e) {
      this.free();
      throw e;
    }
  }

  /** Where the state machine is. */
  get state(): EngineState {
    return this.#state;
  }

  /** Whether this is the server side. */
  get isServer(): boolean {
    return this.#context.isServer;
  }

  /** Bytes of ciphertext waiting to be sent to the peer. */
  get pendingOutput(): number {
    return this.#handle === null ? 0 : shim.jsec_pending(this.#handle);
  }

  /** Moves up to `into.length` bytes of pending ciphertext into `into`; returns the count. */
  takeOutput(into: Uint8Array): number {
    return this.#handle === null ? 0 : shim.jsec_take(this.#handle, into, into.length);
  }

  /** Hands the engine ciphertext from the peer. Copies it: `bytes` may be reused at once. */
  receive(bytes: Uint8Array): void {
    const h = this.#live();
    if (bytes.length > 0 && shim.jsec_feed(h, bytes, bytes.length) < 0) this.#fail();
  }

  /** Tells the engine the transport ended: no more ciphertext will come. */
  end(): void {
    if (this.#handle === null || this.#ended) return;
    this.#ended = true;
    shim.jsec_feed(this.#handle, null, 0);
  }

  /**
   * Lets the session free its record buffers while nothing is in them (an
   * idle connection then holds a few KiB, not ~70). Cheap (a free now, a
   * malloc at the next record); the pump calls it each time it waits for the
   * peer. A no-op on OpenSSL versions where freeing them is unsafe.
   */
  idle(): void {
    if (this.#handle !== null) shim.jsec_idle(this.#handle);
  }

  /** Whether {@link end} was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Advances the handshake. Returns true once it is complete, false when it
   * needs more ciphertext from the peer. Throws a {@link TlsError} when it fails.
   */
  handshake(): boolean {
    const h = this.#live();
    if (this.#state === "ready" || this.#state === "shutdown") return true;
    if (this.#decisionError) this.#fail(this.#decisionError);
    this.#state = "handshake";
    if (this.#waiting) return false;
    let status = shim.jsec_handshake(h);
    // Paused for a decision of ours: the context by the ClientHello, then a PSK's key.
    while ((status === WANT_SNI && this.#chooseContext) || (status === WANT_PSK && this.#onPskIdentity)) {
      if (this.#decide(status === WANT_SNI ? () => this.#askForContext(h) : () => this.#askForPsk(h))) {
        return false;
      }
      status = shim.jsec_handshake(h);
    }
    this.#keyLog?.drain();
    if (status === OK) {
      this.#state = "ready";
      return true;
    }
    if (status === WANT_READ || status === WANT_WRITE) {
      if (status === WANT_READ && this.#ended) {
        this.#fail(new TlsError("UNEXPECTED_EOF", "the peer closed the connection during the handshake"));
      }
      return false;
    }
    if (status === CLOSED) {
      this.#fail(new TlsError("UNEXPECTED_EOF", "the peer closed the connection during the handshake"));
    }
    return this.#fail(
      this.#refusal ??
        (this.#context.usesPsk || this.#onPskIdentity
          ? pskFailure(tlsErrorFrom(lastError(), shim.jsec_verify_result(h)), this.#context.certless)
          : undefined),
    );
  }

  /**
   * While the handshake waits for a decision of the caller's (an async
   * `chooseContext` or `onPskIdentity`): a promise that settles when it is made; call
   * {@link handshake} again then. Null otherwise.
   */
  get waiting(): Promise<void> | null {
    return this.#waiting;
  }

  /** Answers the shim's PSK question. */
  #askForPsk(h: Handle): Promise<void> | null {
    return answerPsk(h, this.#onPskIdentity!, () => this.#handle !== null);
  }

  /** Answers the shim's question of which context serves this ClientHello. */
  #askForContext(h: Handle): Promise<void> | null {
    return chooseContext(h, this.#chooseContext!, {
      alive: () => this.#handle !== null,
      use: (context) => {
        if (context === this.#context) return;
        context.retain();
        this.#contexts.push(context);
        this.#keyLog?.follow(context.handle);
      },
      refuse: (error) => {
        this.#refusal = error;
      },
    });
  }

  /** Makes a decision the handshake paused for: true while it is still to come. */
  #decide(ask: () => Promise<void> | null): boolean {
    let later: Promise<void> | null;
    try {
      later = ask();
    } catch (e) {
      return this.#fail(e as TlsError);
    }
    if (later === null) return false;
    this.#waiting = later.then(
      () => {
        this.#waiting = null;
      },
      (e: TlsError) => {
        this.#waiting = null;
        this.#decisionError = e;
      },
    );
    return true;
  }

  /**
   * Decrypts application data into `into`. Returns the byte count; 0 when it
   * needs more ciphertext; null once the peer has closed cleanly (close_notify).
   * A transport that ends without close_notify throws `UNEXPECTED_EOF`.
   */
  read(into: Uint8Array): number | null {
    const h = this.#live();
    if (into.length === 0) return 0;
    return this.#readResult(shim.jsec_read(h, into, into.length));
  }

  /**
   * {@link receive} and {@link read} in one, reading the ciphertext straight
   * from `input` instead of copying it first. {@link inputUsed} then tells how
   * many of its bytes were taken; the caller keeps the rest and passes it again
   * on the next call.
   *
   * @example
   * ```ts
   * let input = await transport.receive();
   * const n = engine.readFrom(input, into);
   * input = input.subarray(engine.inputUsed); // what is left for the next call
   * ```
   */
  readFrom(input: Uint8Array, into: Uint8Array): number | null {
    const h = this.#live();
    if (into.length === 0) {
      this.#counts[0] = 0;
      return 0;
    }
    return this.#readResult(
      shim.jsec_read_from(h, input, input.length, into, into.length, this.#inputUsedBytes),
    );
  }

  /** How many bytes of its `input` the last {@link readFrom} took. */
  get inputUsed(): number {
    return this.#counts[0];
  }

  #readResult(n: number): number | null {
    this.#keyLog?.drain(); // a TLS 1.2 renegotiation makes new secrets inside a read
    if (n > 0) return n;
    if (n === WANT_READ || n === WANT_WRITE) {
      if (n === WANT_READ && this.#ended) {
        this.#fail(
          new TlsError(
            "UNEXPECTED_EOF",
            "the peer closed the connection without close_notify (possible truncation)",
          ),
        );
      }
      return 0;
    }
    if (n === CLOSED) {
      this.#state = "shutdown";
      return null;
    }
    return this.#fail();
  }

  /**
   * Encrypts `data` into pending output; returns how many bytes it took: all
   * of them, except while a TLS 1.2 renegotiation the peer started waits for
   * the peer's next flight. Then send the pending output, {@link receive},
   * and write the rest.
   */
  write(data: Uint8Array): number {
    return this.#write(data, null, 0);
  }

  /**
   * {@link write}, with the ciphertext going straight into `out` from index
   * `start` on, while no other output is pending: one copy fewer than
   * {@link takeOutput}. {@link outputEnd} then tells where it ends in `out`.
   * What does not fit is pending output as usual; send `out`'s bytes first.
   *
   * @example
   * ```ts
   * const out = new Uint8Array(65536);
   * engine.writeInto(message, out);
   * await transport.send(out.subarray(0, engine.outputEnd));
   * while (engine.pendingOutput > 0) await transport.send(out.subarray(0, engine.takeOutput(out)));
   * ```
   */
  writeInto(data: Uint8Array, out: Uint8Array, start = 0): number {
    return this.#write(data, out, start);
  }

  /** Where the last {@link writeInto}'s ciphertext ends in its `out`. */
  get outputEnd(): number {
    return this.#counts[1];
  }

  #write(data: Uint8Array, out: Uint8Array | null, start: number): number {
    const h = this.#live();
    this.#counts[1] = start;
    // After the peer's close_notify we may still write (half-close); after ours, not.
    if (this.#closeSent || (this.#state !== "ready" && this.#state !== "shutdown")) {
      throw new TlsError(
        this.#closeSent ? "CLOSED" : "INTERNAL",
        `cannot write: ${this.#closeSent ? "close_notify sent" : this.#state}`,
      );
    }
    let done = 0;
    while (done < data.length) {
      const chunk = done === 0 ? data : data.subarray(done);
      const n = out === null
        ? shim.jsec_write(h, chunk, chunk.length)
        : shim.jsec_write_into(h, chunk, chunk.length, out, out.length, this.#outputEndBytes);
      if (n === WANT_READ || n === WANT_WRITE) {
        if (n === WANT_READ && this.#ended) {
          this.#fail(new TlsError("UNEXPECTED_EOF", "the peer closed the connection during a renegotiation"));
        }
        return done; // a renegotiation is under way: it needs the peer's bytes first
      }
      if (n <= 0) this.#fail();
      done += n;
    }
    return done;
  }

  /**
   * Sends close_notify (once). Returns true when the peer's close_notify has
   * arrived as well, false while it is still to come.
   */
  close(): boolean {
    const h = this.#live();
    const status = shim.jsec_shutdown(h);
    this.#closeSent = true;
    if (status === OK) {
      this.#state = "closed";
      return true;
    }
    if (status === WANT_READ || status === WANT_WRITE) {
      this.#state = "shutdown";
      return false;
    }
    return this.#fail();
  }

  /** TLS 1.3: sends a KeyUpdate, asking the peer to update its keys too when `requestPeer`. */
  keyUpdate(requestPeer = false): void {
    if (shim.jsec_key_update(this.#live(), requestPeer ? 1 : 0) < 0) this.#fail();
  }

  /**
   * Keying material derived from the session's secrets (RFC 5705), e.g. the
   * SRTP keys of a DTLS-SRTP session (`label` `"EXTRACTOR-dtls_srtp"`).
   * Only after the handshake.
   *
   * @example
   * ```ts
   * const keys = engine.exportKeyingMaterial(60, "EXTRACTOR-dtls_srtp");
   * ```
   */
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array {
    const h = this.#live();
    if (!Number.isInteger(length) || length < 1 || length > 65536) {
      throw new TlsError("INVALID_OPTION", `keying material length must be 1 to 65536 bytes, got ${length}`);
    }
    if (typeof label !== "string" || label === "") {
      throw new TlsError("INVALID_OPTION", "an exporter label is required");
    }
    if (this.#state !== "ready" && this.#state !== "shutdown") {
      throw new TlsError("INTERNAL", "keying material exists only after the handshake");
    }
    const out = new Uint8Array(length);
    if (shim.jsec_export(h, out, length, cString(label), context ?? null, context?.length ?? 0) < 0) {
      throw new TlsError("PROTOCOL_ERROR", lastError());
    }
    return out;
  }

  /** @internal The native session, for the DTLS layer (`DtlsEngine`). Throws once freed or failed. */
  get handle(): Handle {
    return this.#live();
  }

  /**
   * What the handshake negotiated. Only meaningful once {@link handshake}
   * returned true; after a TLS 1.2 renegotiation, what the latest one did.
   */
  info(): HandshakeInfo {
    if (this.#info && (this.#handle === null || this.#error)) return this.#info; // the last one known
    const h = this.#live();
    const handshakes = shim.jsec_handshake_count(h);
    if (this.#info && this.#info.renegotiations === handshakes - 1) return this.#info;
    const get = (field: number) => readText((b, c) => shim.jsec_info(h, field, b, c));
    const peerCertificates: PeerCertificate[] = [];
    for (let i = 0;; i++) {
      const der = readBytes((b, c) => shim.jsec_peer_cert(h, i, b, c));
      if (der === null) break;
      peerCertificates.push(peerCertificate(der));
    }
    const verifyResult = shim.jsec_verify_result(h);
    const psk = readBytes((b, c) => shim.jsec_psk_used(h, b, c));
    const info: HandshakeInfo = {
      protocol: get(INFO.protocol),
      cipher: get(INFO.cipher),
      group: groupName(get(INFO.group)),
      alpnProtocol: get(INFO.alpn) || null,
      servername: get(INFO.servername) || null,
      peerCertificates,
      verified: peerCertificates.length > 0 && verifyResult === 0,
      verifyResult,
      ocspResponse: readBytes((b, c) => shim.jsec_ocsp_response(h, b, c)),
      // OpenSSL counts an external PSK as a resumption: it is not one.
      resumed: shim.jsec_resumed(h) === 1 && psk === null,
      pskIdentity: psk === null ? null : new TextDecoder().decode(psk),
      renegotiations: Math.max(0, handshakes - 1),
      ech: echInfo(h),
    };
    if (this.#state === "ready") this.#info = info;
    return info;
  }

  /**
   * Client, before the handshake: offers a saved session (one {@link takeSession}
   * gave) to resume, skipping the certificate exchange. Returns false, offering
   * nothing, when the session's server certificate is not one this engine would
   * accept now: it failed verification where the session was made, or does not
   * name `verifyHost`. Throws `INVALID_OPTION` for bytes that are not a saved session.
   * Whether the server resumed it shows in {@link info} as `resumed`.
   *
   * @example
   * ```ts
   * import { TlsContext, TlsEngine } from "@jsec/tls/engine";
   * const engine = new TlsEngine(context, { verifyHost: "example.com" });
   * engine.offerSession(saved); // saved = engine.takeSession() of an earlier connection
   * ```
   */
  offerSession(der: Uint8Array): boolean {
    return this.#offered(
      shim.jsec_session_offer(this.#beforeHandshake(), der, der.length, cString(this.#verifyHost)),
    );
  }

  /**
   * Client, before the handshake: offers a session {@link takeHeldSession}
   * gave, as {@link offerSession} does with bytes, but without parsing it
   * again. The engine keeps its own reference: `held` may be released after.
   * A TLS 1.3 session serves one connection (RFC 8446 C.4; OpenSSL updates the
   * session it resumes with): offered again, it makes a full handshake.
   *
   * @example
   * ```ts
   * import { TlsContext, TlsEngine } from "@jsec/tls/engine";
   * const engine = new TlsEngine(context, { verifyHost: "example.com" });
   * engine.offerHeldSession(held); // held = engine.takeHeldSession() of an earlier connection
   * ```
   */
  offerHeldSession(held: HeldSession): boolean {
    return this.#offered(
      shim.jsec_held_offer(this.#beforeHandshake(), held.handle, cString(this.#verifyHost)),
    );
  }

  #beforeHandshake(): Handle {
    const h = this.#live();
    if (this.#state !== "init") {
      throw new TlsError("INVALID_OPTION", "a saved session is offered before the handshake starts");
    }
    return h;
  }

  #offered(status: number): boolean {
    if (status < 0) throw new TlsError("INVALID_OPTION", lastError());
    return status === 1;
  }

  /**
   * Client: how many new sessions the server sent that {@link takeSession} has
   * not taken. A TLS 1.2 session comes with the handshake; TLS 1.3 servers send
   * theirs (tickets) after it, so they arrive while reading.
   */
  get pendingSessions(): number {
    return this.#handle === null ? 0 : shim.jsec_session_count(this.#handle);
  }

  /**
   * Client: the oldest new session the server sent, removed from the engine, as
   * DER bytes to save and give to {@link offerSession} later; null when none is
   * waiting. A saved session is a secret: it resumes the connection's keys and
   * identity, so keep it as you would a password.
   *
   * @example
   * ```ts
   * import { TlsEngine } from "@jsec/tls/engine";
   * let saved: Uint8Array | null = null;
   * while (engine.pendingSessions > 0) saved = engine.takeSession() ?? saved; // keep the newest
   * ```
   */
  takeSession(): Uint8Array | null {
    if (this.#handle === null) return null;
    const length = shim.jsec_session_take(this.#handle, null, 0);
    if (length < 0) return null;
    const der = new Uint8Array(length);
    return shim.jsec_session_take(this.#handle, der, length) === length ? der : null;
  }

  /**
   * Client: the oldest new session the server sent, removed from the engine
   * and held natively, for {@link offerHeldSession} (its `der` gives the
   * bytes {@link takeSession} would); null when none is waiting. Release it
   * when done.
   *
   * @example
   * ```ts
   * import { TlsEngine } from "@jsec/tls/engine";
   * const held = engine.takeHeldSession();
   * ```
   */
  takeHeldSession(): HeldSession | null {
    if (this.#handle === null) return null;
    const held = shim.jsec_held_take(this.#handle);
    return isNull(held) ? null : new HeldSession(held);
  }

  /** Frees the native session now. Idempotent; every later call throws `CLOSED`. */
  free(): void {
    if (this.#handle === null) return;
    registry.unregister(this);
    shim.jsec_free(this.#handle);
    this.#handle = null;
    for (const context of this.#contexts) context.release();
    if (this.#state !== "error") this.#state = "closed";
  }

  /** The error that put the engine in state `error`, if any. */
  get error(): TlsError | null {
    return this.#error;
  }

  #live(): Handle {
    if (this.#error) throw this.#error;
    if (this.#handle === null) throw new TlsError("CLOSED", "the TLS session is closed");
    return this.#handle;
  }

  #fail(error?: TlsError): never {
    this.#error = error ??
      sessionErrorFrom(lastError(), this.#handle === null ? 0 : shim.jsec_verify_result(this.#handle));
    if (this.#error.code === "ECH_REJECTED" && this.#handle) {
      this.#error = withRetryConfigs(this.#error, this.#handle);
    }
    this.#state = "error";
    throw this.#error;
  }
}
