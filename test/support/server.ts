/**
 * Our own TLS server for tests: listens on 127.0.0.1, echoes or runs a
 * handler per connection, and records failed handshakes.
 *
 * @module
 */
import { listen, type ListenOptions, type TlsConn, type TlsError } from "../../mod.ts";
import { certs } from "./certs.ts";

/** A running test server. */
export interface TestServer {
  port: number;
  /** Every handshake that failed, in order. */
  errors: TlsError[];
  /** Resolves with the next failed handshake. */
  nextError(): Promise<TlsError>;
  close(): void;
}

/** Echoes what a connection sends until it ends, then closes. */
export async function echo(conn: TlsConn): Promise<void> {
  const buf = new Uint8Array(65536);
  try {
    for (let n; (n = await conn.read(buf)) !== null;) await conn.write(buf.subarray(0, n));
  } finally {
    conn.close();
  }
}

/** Starts our server with the ECDSA test certificate unless `options` says otherwise. */
export function startServer(
  options: Partial<ListenOptions> = {},
  handler: (conn: TlsConn) => Promise<void> = echo,
): TestServer {
  const c = certs();
  const errors: TlsError[] = [];
  let waiter: ((e: TlsError) => void) | null = null;
  const listener = listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
    ...options,
    onHandshakeError: (e) => {
      errors.push(e);
      waiter?.(e);
      waiter = null;
    },
  });
  (async () => {
    for await (const conn of listener) handler(conn).catch(() => conn.close());
  })();
  return {
    port: (listener.addr as { port: number }).port,
    errors,
    nextError: () => new Promise((resolve) => (waiter = resolve)),
    close: () => listener.close(),
  };
}
