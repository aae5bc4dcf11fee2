/**
 * `TlsConn`: a TLS connection with the surface of `Deno.Conn`, the same
 * under Deno and Bun.
 *
 * @module
 */
import type { HandshakeInfo } from "../engine/info.ts";
import { TlsError } from "../errors.ts";
import type { TlsPump } from "../transport/pump.ts";
import type { Addr } from "../transport/stream.ts";
import { type HandshakeLimits, handshakeWithin } from "./handshake.ts";
import type { ClientResumption } from "./resumption.ts";
import type { Session } from "./session.ts";
import { TransportControls } from "./transport_controls.ts";

/** How long {@link TlsConn.close} lets close_notify and unsent data drain. */
const CLOSE_DRAIN_MS = 2000;

/**
 * A TLS connection. Reads and writes plaintext; the handshake starts at once.
 * Code written for `Deno.TlsConn` works unchanged.
 *
 * @example
 * ```ts
 * import { connect } from "@jsec/tls";
 * const conn = await connect({ hostname: "example.com", port: 443 });
 * console.log((await conn.handshake()).protocol);
 * await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\nHost: example.com\r\n\r\n"));
 * const buf = new Uint8Array(4096);
 * const n = await conn.read(buf);
 * conn.close();
 * ```
 */
export class TlsConn extends TransportControls implements AsyncDisposable, Disposable {
  readonly #pump: TlsPump;
  readonly #handshake: Promise<HandshakeInfo>;
  readonly #resumption: ClientResumption | undefined;
  #reading = false;
  #writing = false;
  #closed = false;
  #eof = false;
  /** The handshake completed: reads and writes need not wait for it (a turn of the event loop each). */
  #ready = false;
  #readable?: ReadableStream<Uint8Array>;
  #writable?: WritableStream<Uint8Array>;
  #closing: Promise<void> = Promise.resolve();

  /** @internal Made by `connect`, `listen` and `upgrade`. */
  constructor(session: Session) {
    super(session.pump.stream);
    this.#pump = session.pump;
    this.#resumption = session.resumption;
    this.#handshake = this.#runHandshake(session.limits);
    this.#handshake.catch(() => {}); // reported through handshake(), read() and write()
  }

  async #runHandshake(limits: HandshakeLimits): Promise<HandshakeInfo> {
    try {
      const info = await handshakeWithin(this.#pump, limits);
      this.#resumption?.handshakeDone(info);
      this.#ready = true;
      return info;
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * Completes the handshake (it starts by itself) and says what it negotiated
   * (after a TLS 1.2 renegotiation, what the latest handshake did).
   */
  handshake(): Promise<HandshakeInfo> {
    return this.#ready && !this.#closed ? Promise.resolve(this.#pump.engine.info()) : this.#handshake;
  }

  /**
   * Client: the newest saved session this connection can give, to resume a
   * later connection to the same server with `connect({ …, session })`; null
   * until the server sent one (TLS 1.3 servers send theirs after the handshake:
   * read once first), and always on a server. DER bytes, and a secret: whoever
   * holds them can resume as this client, so store them as you would a password.
   * (Without `resumption: false`, connections resume on their own: this is for
   * keeping sessions across processes.)
   *
   * @example
   * ```ts
   * import { connect } from "@jsec/tls";
   * const first = await connect({ hostname: "example.com", port: 443 });
   * await first.read(new Uint8Array(1024));
   * const saved = first.session;
   * first.close();
   * const again = await connect({ hostname: "example.com", port: 443, session: saved ?? undefined });
   * console.log((await again.handshake()).resumed); // true
   * ```
   */
  get session(): Uint8Array | null {
    return this.#resumption?.newest ?? null;
  }

  /**
   * Keying material derived from this connection's secrets (RFC 5705; RFC 8446
   * §7.5 in TLS 1.3): both sides get the same bytes for the same `label` and
   * `context`, e.g. to bind an application protocol to this TLS session.
   * `INVALID_OPTION` for a bad length or label, `CLOSED` after `close()`.
   *
   * @example
   * ```ts
   * import { connect } from "@jsec/tls";
   * const conn = await connect({ hostname: "example.com", port: 443 });
   * const binding = conn.exportKeyingMaterial(32, "EXPORTER-my-protocol");
   * ```
   */
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array {
    return this.#pump.engine.exportKeyingMaterial(length, label, context);
  }

  /**
   * Reads plaintext into `p`: the count, or null once the peer closed cleanly.
   * An end without close_notify rejects with `UNEXPECTED_EOF`.
   */
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#reading) throw new TlsError("BUSY", "another read is in flight on this connection");
    this.#reading = true;
    try {
      if (!this.#ready) await this.#handshake;
      if (this.#eof) return null;
      this.#checkOpen();
      const n = await this.#pump.read(p);
      this.#resumption?.collect(); // TLS 1.3 tickets arrive with data, after the handshake
      if (n === null) this.#eof = true;
      return n;
    } catch (e) {
      throw this.#closed && !(e instanceof TlsError && e.code !== "CLOSED")
        ? new TlsError("CLOSED", "the connection is closed")
        : e;
    } finally {
      this.#reading = false;
    }
  }

  /** Writes all of `p` (encrypted); resolves with `p.length`. */
  async write(p: Uint8Array): Promise<number> {
    if (this.#writing) throw new TlsError("BUSY", "another write is in flight on this connection");
    this.#writing = true;
    try {
      if (!this.#ready) await this.#handshake;
      this.#checkOpen();
      return await this.#pump.write(p);
    } finally {
      this.#writing = false;
    }
  }

  /** Sends close_notify and ends our side of the transport; reading goes on. */
  async closeWrite(): Promise<void> {
    await this.#handshake;
    this.#checkOpen();
    await this.#pump.closeNotify();
    await this.#pump.stream.closeWrite();
  }

  /**
   * Closes the connection: sends close_notify (with any unsent data) in the
   * background, frees the native session at once. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#resumption?.end();
    this.#closing = this.#pump.release(true, CLOSE_DRAIN_MS);
  }

  /** Resolves once the transport is closed (after {@link close}). */
  get closed(): Promise<void> {
    return this.#closing;
  }

  /** Closes and waits until the transport is closed. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#closing;
  }

  /** Closes; for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Plaintext from the peer as a stream (reads in 16 KiB chunks). */
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = new Uint8Array(16384);
        const n = await this.read(chunk);
        if (n === null) {
          controller.close();
          return;
        }
        controller.enqueue(chunk.subarray(0, n));
      },
      cancel: () => this.close(),
    });
  }

  /** Plaintext to the peer as a stream; closing it sends close_notify. */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
  }

  /** Our address. */
  get localAddr(): Addr {
    return this.#pump.stream.localAddr;
  }

  /** The peer's address. */
  get remoteAddr(): Addr {
    return this.#pump.stream.remoteAddr;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TlsError("CLOSED", "the connection is closed");
  }
}
