/**
 * @jsec/tls/engine — the sans-I/O TLS engine, for running TLS over any byte
 * transport (a WebSocket, a pipe, a serial line).
 *
 * @example
 * ```ts
 * import { TlsContext, TlsEngine } from "@jsec/tls/engine";
 * const engine = new TlsEngine(new TlsContext({ caCerts: [caPem] }), { verifyHost: "example.com" });
 * ```
 *
 * @module
 */
export { type ContextOptions, type KeyPair, TlsContext, type TlsVersion } from "./lib/engine/context.ts";
export { type EngineOptions, type EngineState, TlsEngine } from "./lib/engine/engine.ts";
export type { HeldSession } from "./lib/engine/held_session.ts";
export type { PskKey, PskLookup } from "./lib/engine/psk.ts";
export { type EchInfo, type EchOptions, type EchStatus, echSupported } from "./lib/engine/ech.ts";
export type { ClientHello, ContextChooser } from "./lib/engine/client_hello.ts";
export type { TicketKeyOptions } from "./lib/engine/ticket_keys.ts";
export type { KeyLogSink } from "./lib/engine/key_log.ts";
export { DEFAULT_MTU, DtlsEngine, type DtlsEngineOptions, dtlsVersions } from "./lib/engine/dtls_engine.ts";
export { type HandshakeInfo, type PeerCertificate, toPem } from "./lib/engine/info.ts";
export { TlsError, type TlsErrorCode } from "./lib/errors.ts";
export type { Handle } from "./ffi/symbols.ts";
