/**
 * @jsec/tls — TLS for Deno and Bun on the system's OpenSSL.
 *
 * @example
 * ```ts
 * import { connect, listen } from "@jsec/tls";
 * const server = listen({ hostname: "127.0.0.1", port: 0, cert, key });
 * const client = await connect({ hostname: "localhost", port: server.addr.port, caCerts: [caPem] });
 * ```
 *
 * @module
 */
export { connect } from "./lib/tls/connect.ts";
export { listen, type ListenOptions, TlsListener } from "./lib/tls/listen.ts";
export { upgrade, type UpgradeOptions } from "./lib/tls/upgrade.ts";
export { type HandshakeLimits, TlsConn } from "./lib/tls/conn.ts";
export type { ClientOptions, ConnectOptions, ServerOptions, TlsOptions } from "./lib/tls/options.ts";
export type { HandshakeInfo, PeerCertificate } from "./lib/engine/info.ts";
export type { KeyPair, OcspStapleSource, TlsVersion } from "./lib/engine/context.ts";
export type { Addr } from "./lib/transport/stream.ts";
export type { BunTcpSocket, PlainConn } from "./lib/transport/open.ts";
export { TlsError, type TlsErrorCode, type TlsErrorDetails } from "./lib/errors.ts";
export { builtAgainst, opensslVersion } from "./ffi/mod.ts";
