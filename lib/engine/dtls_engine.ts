/**
 * The sans-I/O DTLS state machine: one datagram in, datagrams out, one
 * message per record. A {@link TlsEngine} over a datagram context, plus what
 * datagrams need: the path MTU, retransmission timers and the server's
 * stateless cookie exchange.
 *
 * @module
 */
import { readText, shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import type { TlsContext } from "./context.ts";
import { type EngineOptions, TlsEngine } from "./engine.ts";

/**
 * The default path MTU: the IPv6 minimum (RFC 8200), so no datagram we send
 * is ever fragmented on any path, IPv4 or IPv6.
 */
export const DEFAULT_MTU = 1280;

/** The largest datagram a DTLS record can need, so one read buffer fits any. */
export const MAX_DATAGRAM = 16384 + 2048;

/** Per-session options of a {@link DtlsEngine}. */
export interface DtlsEngineOptions extends EngineOptions {
  /** The path MTU: the IP packet size, headers included. Default {@link DEFAULT_MTU}. */
  mtu?: number;
  /** Whether the path is IPv6 (48 header bytes instead of 28). */
  ipv6?: boolean;
}

const OK = 0;
const encoder = new TextEncoder();

/**
 * One DTLS session. Feed it each datagram with {@link receive}, send each
 * datagram {@link takeOutput} gives on its own, and when {@link timeout}
 * says, call {@link onTimeout} (it queues retransmissions).
 *
 * @example
 * ```ts
 * import { DtlsEngine, TlsContext } from "@jsec/tls/engine";
 * const engine = new DtlsEngine(new TlsContext({ datagram: true, caCerts: [caPem] }), {
 *   verifyHost: "localhost",
 * });
 * engine.handshake();
 * const out = new Uint8Array(engine.maxDatagram);
 * while (engine.pendingOutput > 0) socket.send(out.subarray(0, engine.takeOutput(out)));
 * ```
 */
export class DtlsEngine extends TlsEngine {
  /** The path MTU this session keeps its datagrams under. */
  readonly mtu: number;

  /** Starts a session of a datagram `context`. */
  constructor(context: TlsContext, options: DtlsEngineOptions = {}) {
    if (!context.isDatagram) {
      throw new TlsError("INVALID_OPTION", "a DtlsEngine needs a `datagram: true` context");
    }
    const mtu = options.mtu ?? DEFAULT_MTU;
    if (!Number.isInteger(mtu) || mtu < 256 || mtu > 65535) {
      throw new TlsError("INVALID_OPTION", `mtu must be an integer from 256 to 65535, got ${mtu}`);
    }
    super(context, options);
    this.mtu = mtu;
    if (shim.jsec_dtls_mtu(this.handle, mtu, options.ipv6 ? 1 : 0) !== OK) {
      this.free();
      throw new TlsError("INVALID_OPTION", `mtu ${mtu} is too small for DTLS`);
    }
  }

  /** A buffer size that holds any datagram {@link takeOutput} gives. */
  get maxDatagram(): number {
    return MAX_DATAGRAM;
  }

  /** The largest message {@link send} takes under the MTU; 0 before the handshake. */
  get maxMessage(): number {
    return shim.jsec_dtls_data_mtu(this.handle);
  }

  /**
   * Encrypts one message into one record (one datagram of pending output).
   * Throws `MESSAGE_TOO_LARGE`, and sends nothing, when it does not fit under
   * the MTU; the session goes on.
   */
  send(message: Uint8Array): void {
    const max = this.maxMessage;
    if (message.length > max) {
      throw new TlsError(
        "MESSAGE_TOO_LARGE",
        `a ${message.length}-byte message does not fit in one DTLS record under mtu ${this.mtu} (at most ${max} bytes)`,
      );
    }
    this.write(message);
  }

  /** Milliseconds until {@link onTimeout} is due, or -1 while no retransmission timer runs. */
  timeout(): number {
    return shim.jsec_dtls_timeout(this.handle);
  }

  /**
   * The retransmission timer fired: queues the last flight again (send the
   * pending output). Throws `HANDSHAKE_TIMEOUT` once OpenSSL gives up.
   */
  onTimeout(): void {
    if (shim.jsec_dtls_timer(this.handle) < 0) {
      throw new TlsError("HANDSHAKE_TIMEOUT", "the DTLS handshake got no answer to its retransmissions");
    }
  }

  /**
   * Server, before the handshake: the stateless cookie exchange (RFC 6347
   * §4.2.1) over one datagram from `peer` (any stable name of its address).
   * True when it is a ClientHello with a valid cookie: this engine now belongs
   * to that peer, so call {@link handshake}. False otherwise: send any pending
   * output (a HelloVerifyRequest) back to `peer`; the datagram is dropped and
   * nothing about the peer is kept.
   */
  listen(datagram: Uint8Array, peer: string): boolean {
    const name = encoder.encode(peer);
    const status = shim.jsec_dtls_listen(this.handle, datagram, datagram.length, name, name.length);
    if (status < 0) throw new TlsError("INVALID_OPTION", readText(shim.jsec_error));
    return status === 1;
  }

  /**
   * Server, once established: whether `datagram` is a ClientHello starting a
   * new association from this peer's address (the peer restarted; RFC 6347
   * §4.2.8), not a late copy of the one this session began with.
   */
  isNewClientHello(datagram: Uint8Array): boolean {
    return shim.jsec_dtls_new_hello(this.handle, datagram, datagram.length) === 1;
  }

  /** The DTLS-SRTP profile the handshake chose (RFC 5764), or null. */
  get srtpProfile(): string | null {
    const h = this.handle;
    return readText((b, c) => shim.jsec_srtp_profile(h, b, c)) || null;
  }
}

/**
 * The DTLS versions this libssl offers: DTLS 1.3 comes with OpenSSL 4.1 and is
 * negotiated then without any change here.
 *
 * @example
 * ```ts
 * import { dtlsVersions } from "@jsec/tls/engine";
 * console.log(dtlsVersions()); // ["DTLSv1.2"]
 * ```
 */
export function dtlsVersions(): string[] {
  const bits = shim.jsec_dtls_versions();
  return [...(bits & 1 ? ["DTLSv1.2"] : []), ...(bits & 2 ? ["DTLSv1.3"] : [])];
}
