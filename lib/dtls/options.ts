/**
 * The options of DTLS `connect` and `listen`: TLS's client and server options
 * that apply to DTLS, plus the path MTU, DTLS-SRTP and the listener's limits.
 *
 * @module
 */
import type { ContextOptions } from "../engine/context.ts";
import { invalid } from "../engine/validate.ts";
import { TlsError } from "../errors.ts";
import { clientContext, type ClientOptions, serverContext, type ServerOptions } from "../tls/options.ts";

/** What DTLS adds to TLS's options, client and server alike. */
export interface DtlsCommonOptions {
  /**
   * The path MTU in bytes: the IP packet size, IP and UDP headers included.
   * Default 1280, the IPv6 minimum, which no path fragments; on a path known to
   * carry more (a LAN: 1500) a larger value lets larger messages through.
   */
  mtu?: number;
  /** DTLS-SRTP profiles (RFC 5764), e.g. `["SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"]`. */
  srtpProfiles?: string[];
}

/** TLS options that do not apply to DTLS (or are not built for it yet: `keyLog`, `psk`, `onPskIdentity`; ECH). */
export type NotForDtls =
  | "minVersion"
  | "maxVersion"
  | "requestOcsp"
  | "requireOcsp"
  | "resumption"
  | "keyLog"
  | "psk"
  | "onPskIdentity"
  | "onAcceptError"
  | "echConfigList"
  | "echGrease"
  | "echKeys";

const NOT_FOR_DTLS: readonly NotForDtls[] = [
  "minVersion",
  "maxVersion",
  "requestOcsp",
  "requireOcsp",
  "resumption",
  "keyLog",
  "psk",
  "onPskIdentity",
  "onAcceptError",
  "echConfigList",
  "echGrease",
  "echKeys",
];

/** Options of DTLS `connect`. */
export interface DtlsConnectOptions extends Omit<ClientOptions, NotForDtls>, DtlsCommonOptions {
  /** The server's host. Default `"127.0.0.1"`. */
  hostname?: string;
  /** The server's UDP port. */
  port: number;
}

/** Options of DTLS `listen`. */
export interface DtlsListenOptions extends Omit<ServerOptions, NotForDtls | "ocspStaple">, DtlsCommonOptions {
  /** Address to bind. Default `"127.0.0.1"` (`"::"` or `"0.0.0.0"` for every interface). */
  hostname?: string;
  /** UDP port (0: any free port; see `listener.addr`). */
  port: number;
  /** Milliseconds without a datagram from a peer before its session is closed and freed. Default 300 000; 0 = never. */
  idleTimeout?: number;
  /** The most sessions (handshaking or established) at once; ClientHellos beyond are dropped. Default 10 000. */
  maxSessions?: number;
  /** Called with each handshake that failed (timed out, bad certificate, …), and the peer's address. */
  onHandshakeError?: (error: TlsError, peer: { hostname: string; port: number }) => void;
}

/** Checks what DTLS adds, and what it refuses, in a client's or server's options (`secureContext` or not). */
export function checkDtls(o: DtlsCommonOptions & { port?: number }): void {
  if (o.mtu !== undefined && !(Number.isInteger(o.mtu) && o.mtu >= 256 && o.mtu <= 65535)) {
    invalid("mtu", "an integer from 256 to 65535", o.mtu);
  }
  if (!Number.isInteger(o.port) || o.port! < 0 || o.port! > 65535) {
    invalid("port", "an integer from 0 to 65535", o.port);
  }
  if (typeof (o as { sni?: unknown }).sni === "function") {
    throw new TlsError(
      "INVALID_OPTION",
      "an `sni` function is not a DTLS option (give `sni` certificates by name)",
    );
  }
  for (const name of [...NOT_FOR_DTLS, "ocspStaple"]) {
    if ((o as Record<string, unknown>)[name] !== undefined) {
      throw new TlsError("INVALID_OPTION", `\`${name}\` is not a DTLS option`);
    }
  }
}

/** The context options of a DTLS client. */
export function dtlsClientContext(o: DtlsConnectOptions): ContextOptions {
  checkDtls(o);
  return { ...clientContext(o), datagram: true, srtpProfiles: o.srtpProfiles };
}

/** The context options of a DTLS server. */
export function dtlsServerContext(o: DtlsListenOptions): ContextOptions {
  checkDtlsServer(o);
  return { ...serverContext(o), datagram: true, srtpProfiles: o.srtpProfiles };
}

/** Checks a DTLS server's own options (a given `secureContext` stands for the rest). */
export function checkDtlsServer(o: DtlsListenOptions): void {
  checkDtls(o);
  for (const name of ["idleTimeout", "maxSessions"] as const) {
    if (o[name] !== undefined && !(Number.isInteger(o[name]) && o[name]! >= 0)) {
      invalid(name, "an integer >= 0", o[name]);
    }
  }
  if (o.onHandshakeError !== undefined && typeof o.onHandshakeError !== "function") {
    invalid("onHandshakeError", "a function", o.onHandshakeError);
  }
}
