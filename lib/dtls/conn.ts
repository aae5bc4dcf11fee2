/**
 * `DtlsConn`: one DTLS association as messages — `send`, `receive`, async
 * iteration — over a {@link DtlsSession}, whether our side is the client or
 * one peer of a listener.
 *
 * @module
 */
import type { UdpAddr, UdpSocket } from "../transport/udp.ts";
import type { DtlsHandshakeInfo, DtlsSession } from "./session.ts";

/**
 * A DTLS association with one peer. Every {@link send} is one record in one
 * datagram, every {@link receive} one message the peer sent; messages may be
 * lost or arrive out of order, as UDP's do, but never split, merged or replayed.
 *
 * @example
 * ```ts
 * import { connect } from "@jsec/tls/dtls";
 * await using conn = await connect({ hostname: "127.0.0.1", port: 5684, caCerts: [caPem] });
 * await conn.send(new TextEncoder().encode("hello"));
 * const reply = await conn.receive(); // null once the peer sent close_notify
 * ```
 */
export class DtlsConn {
  readonly #session: DtlsSession;
  readonly #socket: UdpSocket;
  readonly #onClose: () => void;
  /** Our address. */
  readonly localAddr: UdpAddr;

  /** @internal Made by `connect` and the listener, on the socket the session sends through. */
  constructor(session: DtlsSession, socket: UdpSocket, onClose: () => void = () => {}) {
    this.#session = session;
    this.#socket = socket;
    this.localAddr = socket.addr;
    this.#onClose = onClose;
  }

  /** The peer's address. */
  get remoteAddr(): UdpAddr {
    return this.#session.peer;
  }

  /** The largest message {@link send} takes under the path MTU. */
  get maxMessageSize(): number {
    return this.#session.isEnded ? 0 : this.#session.engine.maxMessage;
  }

  /**
   * Client: the session the server gave, to resume a later connection to the
   * same server with `connect({ …, session })` (a shorter handshake, shown as
   * `resumed` in its info); null when there is none. Keep it as a secret.
   *
   * @example
   * ```ts
   * const again = await connect({ port: 5684, caCerts: [caPem], session: first.session ?? undefined });
   * ```
   */
  get session(): Uint8Array | null {
    return this.#session.saved;
  }

  /** Resolves with what the handshake negotiated (already done for a connection you hold). */
  async handshake(): Promise<DtlsHandshakeInfo> {
    await this.#session.handshake;
    return this.#session.info!;
  }

  /**
   * Sends one message as one record in one datagram. Throws `MESSAGE_TOO_LARGE`
   * when it does not fit under the path MTU (see {@link maxMessageSize}); it
   * is never split or truncated. `CLOSED` after {@link close}.
   */
  send(message: Uint8Array): Promise<void> {
    try {
      this.#session.send(message);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The next message from the peer; null after its close_notify (or our {@link close}). */
  receive(): Promise<Uint8Array | null> {
    return this.#session.receive();
  }

  /** Messages until the peer closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const message = await this.receive();
      if (message === null) return;
      yield message;
    }
  }

  /**
   * Keying material from the session's secrets (RFC 5705), e.g. DTLS-SRTP keys:
   * `exportKeyingMaterial(60, "EXTRACTOR-dtls_srtp")` for the AES-128 profiles.
   */
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array {
    return this.#session.engine.exportKeyingMaterial(length, label, context);
  }

  /**
   * Sends close_notify and frees the session (a client also closes its socket).
   * Idempotent. The promise resolves once the close_notify has left the socket:
   * await it before the process exits, or the peer may never see it.
   */
  close(): Promise<void> {
    this.#session.close();
    this.#onClose();
    return this.#socket.sent();
  }

  /** For `await using`: {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
