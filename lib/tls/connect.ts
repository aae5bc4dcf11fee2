/**
 * `connect`: a TLS client over a new TCP (or Unix socket) connection.
 *
 * @module
 */
import type { TlsContext } from "../engine/context.ts";
import { TlsError } from "../errors.ts";
import { openStream } from "../transport/open.ts";
import type { ByteStream } from "../transport/stream.ts";
import { TlsConn } from "./conn.ts";
import { sharedContext, validated } from "./contexts.ts";
import { checkClient, checkEndpoint, clientContext, type ConnectOptions } from "./options.ts";
import { givenContext } from "./secure_context.ts";
import { clientSession } from "./session.ts";

/**
 * Connects and completes the TLS handshake. Rejects with a {@link TlsError}
 * when the connection or the handshake fails (an untrusted certificate is
 * `CERT_UNTRUSTED`, a name mismatch `HOSTNAME_MISMATCH`, …).
 *
 * @example
 * ```ts
 * import { connect } from "@jsec/tls";
 * const conn = await connect({ hostname: "localhost", port: 8443, caCerts: [caPem], alpnProtocols: ["h2"] });
 * const info = await conn.handshake();
 * console.log(info.protocol, info.cipher, info.alpnProtocol);
 * conn.close();
 * ```
 */
export async function connect(options: ConnectOptions): Promise<TlsConn> {
  const { stream, context, host } = await openClient(options);
  const conn = new TlsConn(clientSession(stream, context, host, options));
  await conn.handshake();
  return conn;
}

/** A client's transport, connected, and its context: what a session starts from. */
export interface ClientTransport {
  stream: ByteStream;
  context: TlsContext;
  /** The host the server's certificate must name (unless `servername` says otherwise). */
  host: string;
}

/**
 * Checks a client's options, finds its context and opens its transport: what
 * {@link connect} and `connectSocket` share. Throws `INVALID_OPTION` (and the
 * like) at the call, before any I/O; rejects with `CONNECTION_FAILED` when the
 * transport cannot be opened.
 *
 * @example
 * ```ts
 * const { stream, context, host } = await openClient({ hostname: "example.com", port: 443 });
 * ```
 */
export async function openClient(options: ConnectOptions): Promise<ClientTransport> {
  checkClient(options);
  checkEndpoint(options);
  const context =
    givenContext(options, { isServer: false, datagram: false, call: "connect" })?.engineContext ??
      sharedContext(validated(clientContext(options)));
  if (options.signal?.aborted) {
    throw new TlsError("ABORTED", "aborted before connecting", { cause: options.signal.reason });
  }
  const hostname = options.hostname ?? "127.0.0.1";
  const stream = await openStream(
    options.path !== undefined ? { path: options.path } : { hostname, port: options.port! },
  );
  if (options.path === undefined) stream.setNoDelay(options.noDelay ?? true);
  return { stream, context, host: options.path !== undefined ? "localhost" : hostname };
}
