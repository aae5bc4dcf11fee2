/**
 * Our own TLS server for tests: listens on 127.0.0.1, and either serves each
 * connection with a handler ({@link startServer}) or hands each one to the
 * test ({@link acceptingServer}); both record failed handshakes.
 *
 * @module
 */
import { listen, type ListenOptions, type TlsConn, type TlsError, type TlsListener } from "../../mod.ts";
import { certs } from "./certs.ts";
import { bounded } from "./conn.ts";

/** A running test server; `using` closes it at the end of its block. */
export interface TestServer extends Disposable {
  port: number;
  /** The listener itself (e.g. for `setSecureContext`). */
  listener: TlsListener;
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

/** The failed handshakes of one listener, in order, and a bounded wait for one of them. */
function handshakeErrors() {
  const errors: TlsError[] = [];
  const wakers = new Set<() => void>();
  return {
    errors,
    record(e: TlsError): void {
      errors.push(e);
      for (const wake of [...wakers]) wake();
    },
    /** The `nth` failed handshake (0 = the first), once it happened; rejects after `timeoutMs` if given. */
    async nth(nth: number, timeoutMs?: number): Promise<TlsError> {
      const until = Date.now() + (timeoutMs ?? 0);
      while (errors.length <= nth) {
        let wake!: () => void;
        const woken = new Promise<void>((resolve) => wakers.add(wake = resolve));
        try {
          await (timeoutMs === undefined
            ? woken
            : bounded(woken, Math.max(1, until - Date.now()), `failed handshake #${nth + 1}`));
        } finally {
          wakers.delete(wake);
        }
      }
      return errors[nth];
    },
  };
}

/** Our listener on 127.0.0.1 with the ECDSA test certificate unless `options` says otherwise. */
export function listenForTest(options: Partial<ListenOptions>, onHandshakeError: (e: TlsError) => void) {
  const c = certs();
  const listener = listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
    ...options,
    onHandshakeError,
  });
  return { listener, port: (listener.addr as { port: number }).port };
}

/** Starts our server with the ECDSA test certificate unless `options` says otherwise. */
export function startServer(
  options: Partial<ListenOptions> = {},
  handler: (conn: TlsConn) => Promise<void> = echo,
): TestServer {
  const failed = handshakeErrors();
  const { listener, port } = listenForTest(options, failed.record);
  (async () => {
    for await (const conn of listener) handler(conn).catch(() => conn.close());
  })();
  return {
    port,
    listener,
    errors: failed.errors,
    nextError: () => failed.nth(failed.errors.length),
    close: () => listener.close(),
    [Symbol.dispose]: () => listener.close(),
  };
}

/**
 * Our server for a test that takes each connection itself. `await using`
 * closes it (connections already accepted stay open).
 */
export interface AcceptingServer extends AsyncDisposable {
  readonly port: number;
  /** The next connection whose handshake succeeded; rejects after `timeoutMs`. */
  accept(timeoutMs?: number): Promise<TlsConn>;
  /** The `nth` failed handshake (0 = the first), waiting for it up to `timeoutMs`. */
  handshakeError(nth?: number, timeoutMs?: number): Promise<TlsError>;
}

/** Starts an {@link AcceptingServer} (on 127.0.0.1, the ECDSA test certificate unless `options` says otherwise). */
export function acceptingServer(options: Partial<ListenOptions> = {}): AcceptingServer {
  const failed = handshakeErrors();
  const { listener, port } = listenForTest(options, failed.record);
  return {
    port,
    accept: (timeoutMs = 10_000) => bounded(listener.accept(), timeoutMs, "no connection accepted"),
    handshakeError: (nth = 0, timeoutMs = 10_000) => failed.nth(nth, timeoutMs),
    async [Symbol.asyncDispose]() {
      listener.close();
      await new Promise((r) => setTimeout(r, 0)); // let a pending accept() settle
    },
  };
}
