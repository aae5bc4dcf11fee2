/**
 * `connect`: a TLS client over a new TCP (or Unix socket) connection.
 *
 * @module
 */
import { validateContextOptions } from "../engine/context.ts";
import { TlsError } from "../errors.ts";
import { openStream } from "../transport/open.ts";
import type { TlsConn } from "./conn.ts";
import { sharedContext } from "./contexts.ts";
import { checkClient, checkEndpoint, clientContext, type ConnectOptions } from "./options.ts";
import { clientConn } from "./session.ts";

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
  checkClient(options);
  checkEndpoint(options);
  const contextOptions = clientContext(options);
  validateContextOptions(contextOptions);
  if (options.signal?.aborted) {
    throw new TlsError("ABORTED", "aborted before connecting", { cause: options.signal.reason });
  }
  const context = sharedContext(contextOptions);
  const hostname = options.hostname ?? "127.0.0.1";
  const stream = await openStream(
    options.path !== undefined ? { path: options.path } : { hostname, port: options.port! },
  );
  if (options.path === undefined) stream.setNoDelay(options.noDelay ?? true);
  const conn = clientConn(stream, context, options.path !== undefined ? "localhost" : hostname, options);
  await conn.handshake();
  return conn;
}
