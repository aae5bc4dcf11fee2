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
 * Or callback-driven, shaped like Bun's `Bun.connect` / `Bun.listen` handlers:
 *
 * ```ts
 * import { connectSocket, listenSocket } from "@jsec/tls";
 * const echo = listenSocket({ hostname: "127.0.0.1", port: 0, cert, key, socket: { data: (s, b) => s.write(b) } });
 * await connectSocket({ port: echo.port, servername: "localhost", caCerts: [caPem], socket: { data: console.log } });
 * ```
 *
 * @module
 */
export { connect } from "./lib/tls/connect.ts";
export { listen, type ListenAddress, type ListenOptions, TlsListener } from "./lib/tls/listen.ts";
export { upgrade, type UpgradeOptions } from "./lib/tls/upgrade.ts";
export { createSecureContext, SecureContext, type SecureContextOptions } from "./lib/tls/secure_context.ts";
export { TlsConn } from "./lib/tls/conn.ts";
export type { HandshakeLimits } from "./lib/tls/handshake.ts";
export type { ClientOptions, ConnectOptions, ServerOptions, TlsOptions } from "./lib/tls/options.ts";
export type { HandshakeInfo, PeerCertificate } from "./lib/engine/info.ts";
export type { KeyPair, TlsVersion } from "./lib/engine/context.ts";
export type { OcspStapleSource } from "./lib/tls/staple.ts";
export type { SniAnswer, SniCallback } from "./lib/tls/sni.ts";
export type { ClientHello } from "./lib/engine/client_hello.ts";
export type { TransportControls } from "./lib/tls/transport_controls.ts";
export type { PskKey, PskLookup } from "./lib/engine/psk.ts";
export { type EchInfo, type EchStatus, echSupported } from "./lib/engine/ech.ts";
export type { TicketKeyOptions } from "./lib/engine/ticket_keys.ts";
export type { KeyLogSink } from "./lib/engine/key_log.ts";
export type { KeyLogOption } from "./lib/tls/key_log_option.ts";
export type { Addr } from "./lib/transport/stream.ts";
export type { BunTcpSocket, PlainConn } from "./lib/transport/open.ts";
export { TlsError, type TlsErrorCode, type TlsErrorDetails } from "./lib/errors.ts";
export { builtAgainst, opensslVersion } from "./ffi/mod.ts";
export { TlsSocket, type TlsSocketHandler, type TlsSocketState } from "./lib/tls/socket.ts";
export { connectSocket, type SocketConnectOptions } from "./lib/tls/socket_connect.ts";
export { listenSocket, type SocketListenOptions, TlsSocketListener } from "./lib/tls/socket_listen.ts";
export { type SocketUpgradeOptions, upgradeSocket } from "./lib/tls/socket_upgrade.ts";
