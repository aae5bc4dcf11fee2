/**
 * @jsec/tls/dtls — DTLS 1.2 clients and servers for Deno and Bun, on the
 * system's OpenSSL: one message per record, retransmission, the stateless
 * cookie exchange, DTLS-SRTP and keying material export.
 *
 * UDP is `Bun.udpSocket` under Bun and `node:dgram` under Deno, where
 * `--allow-net` is all it needs (no `--unstable-net`).
 *
 * @example
 * ```ts
 * import { connect, listen } from "@jsec/tls/dtls";
 * const listener = listen({ port: 5684, cert, key });
 * await listener.ready;
 * const conn = await connect({ port: listener.addr.port, caCerts: [caPem], servername: "localhost" });
 * await conn.send(new TextEncoder().encode("hello"));
 * ```
 *
 * @module
 */
export { connect } from "./lib/dtls/connect.ts";
export { createSecureContext, SecureContext, type SecureContextOptions } from "./lib/tls/secure_context.ts";
export { DtlsConn } from "./lib/dtls/conn.ts";
export { DtlsListener, type DtlsListenerStats, listen } from "./lib/dtls/listen.ts";
export { rotateCookieSecret } from "./lib/dtls/cookie.ts";
export type {
  DtlsCommonOptions,
  DtlsConnectOptions,
  DtlsListenOptions,
  NotForDtls,
} from "./lib/dtls/options.ts";
export type { ClientOptions, ServerOptions, TlsOptions } from "./lib/tls/options.ts";
export type { HandshakeInfo, PeerCertificate } from "./lib/engine/info.ts";
export type { KeyPair, TlsVersion } from "./lib/engine/context.ts";
export type { OcspStapleSource } from "./lib/tls/staple.ts";
export type { DtlsHandshakeInfo } from "./lib/dtls/session.ts";
export type { UdpAddr } from "./lib/transport/udp.ts";
export { DEFAULT_MTU, dtlsVersions } from "./lib/engine/dtls_engine.ts";
export { TlsError, type TlsErrorCode } from "./lib/errors.ts";
