/**
 * What both connection shapes (`TlsConn`, `TlsSocket`) let a user do with
 * the transport under them: Nagle, keep-alive, and whether it keeps the
 * process alive.
 *
 * @module
 */
import type { ByteStream } from "../transport/stream.ts";

/**
 * The transport controls of a connection; `TlsConn` and `TlsSocket` extend it.
 *
 * @example
 * ```ts
 * const conn = await connect({ hostname: "example.com", port: 443 });
 * conn.setKeepAlive(true);
 * conn.unref(); // the process may exit while it is open
 * ```
 */
export abstract class TransportControls {
  readonly #stream: ByteStream;

  /** Controls `stream`. */
  protected constructor(stream: ByteStream) {
    this.#stream = stream;
  }

  /** Turns Nagle's algorithm off (true, the default of our connections) or on (false). */
  setNoDelay(enable = true): void {
    this.#stream.setNoDelay(enable);
  }

  /** Turns TCP keep-alive on or off. */
  setKeepAlive(enable = true): void {
    this.#stream.setKeepAlive(enable);
  }

  /** Keeps the process alive while this connection is open (the default). */
  ref(): void {
    this.#stream.ref();
  }

  /** Lets the process exit while this connection is open. */
  unref(): void {
    this.#stream.unref();
  }
}
