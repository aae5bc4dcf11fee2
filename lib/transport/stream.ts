/**
 * The one shape every socket adapter takes: a pull-based byte stream.
 * The pump drives a TLS engine over it; adapters know nothing of TLS.
 *
 * @module
 */

/** A socket address, shaped like `Deno.NetAddr` / `Deno.UnixAddr`. */
export type Addr =
  | { transport: "tcp"; hostname: string; port: number }
  | { transport: "unix"; path: string };

/** A connected, reliable byte stream (TCP or a Unix socket). */
export interface ByteStream {
  /**
   * The next bytes from the peer, or null once the peer ended its side.
   * The view is only valid until the next call: copy what must be kept.
   * Rejects with `TlsError("CONNECTION_RESET")` when the transport fails.
   */
  receive(): Promise<Uint8Array | null>;
  /** Sends all of `bytes`; once it resolves the caller may reuse the buffer. */
  send(bytes: Uint8Array): Promise<void>;
  /** Ends our sending side (TCP FIN); receiving goes on. */
  closeWrite(): Promise<void>;
  /** Closes both directions at once. Idempotent. */
  close(): void;
  readonly localAddr: Addr;
  readonly remoteAddr: Addr;
  setNoDelay(enable: boolean): void;
  setKeepAlive(enable: boolean): void;
  /** Keeps the process alive while this stream is open (the default). */
  ref(): void;
  /** Lets the process exit even though this stream is open. */
  unref(): void;
}
