/**
 * The options of `connect`, `listen` and `upgrade`, and their checks.
 * Names follow `Deno.connectTls` / `Deno.listenTls` first, Node's `tls` for
 * what Deno lacks.
 *
 * @module
 */
import type { ContextOptions, KeyPair, TlsVersion } from "../engine/context.ts";
import type { PskKey, PskLookup } from "../engine/psk.ts";
import type { TicketKeyOptions } from "../engine/ticket_keys.ts";
import { checkSavedSession } from "../engine/saved_session.ts";
import { invalid } from "../engine/validate.ts";
import { TlsError } from "../errors.ts";
import { checkKeyLog, type KeyLogOption } from "./key_log_option.ts";
import type { SecureContext } from "./secure_context.ts";
import type { SniCallback } from "./sni.ts";
import { currentStaple, isStapleSource, type OcspStapleSource } from "./staple.ts";

/** Options shared by clients and servers. */
export interface TlsOptions {
  /** Our certificate chain, PEM, leaf first. */
  cert?: string;
  /** The private key of `cert`, PEM. */
  key?: string;
  /** The passphrase of an encrypted `key`. */
  passphrase?: string;
  /** Extra trusted roots, PEM. Clients also trust the system roots; servers only these. */
  caCerts?: string[];
  /** ALPN protocols, in order of preference. */
  alpnProtocols?: string[];
  /** Lowest TLS version accepted. Default `"TLSv1.2"`. */
  minVersion?: TlsVersion;
  /** Highest TLS version accepted. Default `"TLSv1.3"`. */
  maxVersion?: TlsVersion;
  /** Cipher suites, OpenSSL syntax; `TLS_*` names are TLS 1.3 suites. */
  ciphers?: string;
  /** Key-exchange groups in order of preference, e.g. `"X25519MLKEM768:X25519"`. */
  groups?: string | string[];
  /** Milliseconds the handshake may take before it fails with `HANDSHAKE_TIMEOUT`. Default 30 000; 0 = none. */
  handshakeTimeout?: number;
  /** CRLs (PEM) to check the peer's certificate against (e.g. from `@jsec/tls/ca`'s `ca.crl()`). */
  crls?: string[];
  /** With `crls`: check the peer's leaf only (default) or its whole chain. */
  crlCheck?: "leaf" | "all";
  /**
   * Session resumption (default true): a resumed handshake skips the certificate
   * exchange and its cost. A client keeps the sessions servers send in a
   * per-process cache and offers one to the same server (name and port) with
   * the same options next time; false neither offers nor keeps them. A server
   * resumes with tickets (TLS 1.3 and 1.2) and a TLS 1.2 session cache; false
   * makes every handshake a full one.
   */
  resumption?: boolean;
  /**
   * Receives each secret of the handshake as an NSS key-log line, for
   * Wireshark and the like; `"SSLKEYLOGFILE"` appends them to the file that
   * environment variable names (nothing when unset). The lines decrypt the
   * connection: a debugging aid, never for production.
   */
  keyLog?: KeyLogOption;
  /**
   * Pre-shared keys instead of (or besides) certificates: TLS 1.3 external PSK
   * and TLS 1.2 PSK cipher suites. A client gives its one `{ identity, key }`;
   * a server the list it accepts, and then needs no `cert`/`key`.
   */
  psk?: PskKey | PskKey[];
  /**
   * A context made once by `createSecureContext`, instead of the options that
   * shape one (`cert`, `key`, `caCerts`, `alpnProtocols`, versions, ciphers,
   * `rejectUnauthorized`, `sni`, ticket keys, …: giving one of them beside it
   * throws `INVALID_OPTION`). Per-connection options (`servername`,
   * `handshakeTimeout`, `keyLog`, `signal`, …) still go here.
   */
  secureContext?: SecureContext;
}

/** Options of a client connection. */
export interface ClientOptions extends TlsOptions {
  /** The name sent in SNI and checked against the certificate. Default: `hostname`. */
  servername?: string;
  /** Verify the server's certificate and name (default true). False accepts any certificate. */
  rejectUnauthorized?: boolean;
  /** Aborts the connection attempt and handshake. */
  signal?: AbortSignal;
  /**
   * Ask the server to staple an OCSP response; it shows in `handshake()` info as
   * `ocspResponse`. A stapled response that verifies and says "revoked" fails the
   * handshake with `CERT_REVOKED`.
   */
  requestOcsp?: boolean;
  /**
   * Fail the handshake unless the server staples a verified, current "good" OCSP
   * response. Current: `thisUpdate` at most 10 days old (1 day when it has no
   * `nextUpdate`) and `nextUpdate` not passed, with 5 minutes of clock skew. A
   * resumed session carries no staple: it keeps the verdict of the full
   * handshake that made it (TLS 1.2 and 1.3 alike).
   */
  requireOcsp?: boolean;
  /**
   * A saved session to offer (`conn.session` of an earlier connection), instead
   * of one from the cache; also with `resumption: false`. Offer it only to the
   * server it came from, with the options it was made with. A session whose
   * certificate does not name this server is not offered; one the server
   * refuses just means a full handshake.
   */
  session?: Uint8Array;
  /**
   * Encrypted Client Hello (libssl >= 4.0, else `UNSUPPORTED`): the server's
   * ECHConfigList, base64 or bytes. `servername` then travels encrypted and
   * the visible ClientHello names the list's public name; `handshake()` info
   * shows the outcome as `ech`.
   */
  echConfigList?: string | Uint8Array;
  /** Send a GREASE ECH extension when there is no `echConfigList` (libssl >= 4.0). */
  echGrease?: boolean;
}

/** Options of {@link connect}. */
export interface ConnectOptions extends ClientOptions {
  /** Host to connect to. Default `"127.0.0.1"`. */
  hostname?: string;
  /** TCP port. */
  port?: number;
  /** A Unix socket path, instead of `hostname` and `port`. */
  path?: string;
  /** Disable Nagle's algorithm (default true: Nagle plus delayed ACK stall handshakes). */
  noDelay?: boolean;
}

/** Options of a server. */
export interface ServerOptions extends TlsOptions, TicketKeyOptions {
  /** Ask clients for a certificate, verified against `caCerts`. */
  requestCert?: boolean;
  /**
   * With `requestCert`: refuse clients without a valid certificate (default true).
   * False accepts any client, with or without a certificate; `verified` then says
   * whether it sent one that verified.
   */
  rejectUnauthorized?: boolean;
  /**
   * A certificate per server name, chosen by the client's SNI
   * (`"*.example.com"` matches one label); or a function that chooses one per
   * connection from the client's ClientHello, now or as a promise (see
   * {@link SniCallback}). A server with an `sni` function needs no `cert`.
   */
  sni?: Record<string, KeyPair> | SniCallback;
  /** An OCSP response (DER) to staple, or a source that keeps one fresh (`OcspStapler` from `@jsec/tls/ca`). */
  ocspStaple?: Uint8Array | OcspStapleSource;
  /**
   * The key of a TLS 1.3 PSK identity that `psk` does not list, or null to
   * refuse it, now or as a promise (the handshake waits, within
   * `handshakeTimeout`). TLS 1.2 PSK clients are matched against `psk` only.
   */
  onPskIdentity?: PskLookup;
  /** Finite-field DHE for TLS 1.2: `"auto"` (RFC 7919 groups) or DH parameters, PEM. Off by default. */
  dhparam?: "auto" | string;
  /**
   * Encrypted Client Hello keys (libssl >= 4.0, else `UNSUPPORTED`): PEM as
   * `generateEchKey` from `@jsec/tls/ca` or `openssl ech` writes it. Publish
   * its ECHConfigList to clients; `handshake()` info shows the inner name.
   */
  echKeys?: string;
}

/** The fields every option bag must have right before any I/O. */
export function checkCommon(o: TlsOptions & { signal?: AbortSignal; rejectUnauthorized?: boolean }): void {
  if (typeof o !== "object" || o === null) invalid("options", "an object", o);
  if (o.handshakeTimeout !== undefined && !(Number.isFinite(o.handshakeTimeout) && o.handshakeTimeout >= 0)) {
    invalid("handshakeTimeout", "a number of milliseconds >= 0", o.handshakeTimeout);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    invalid("signal", "an AbortSignal", o.signal);
  }
  for (const name of ["rejectUnauthorized", "resumption"] as const) {
    if (o[name] !== undefined && typeof o[name] !== "boolean") invalid(name, "a boolean", o[name]);
  }
  checkKeyLog(o.keyLog);
}

/** Checks a client's own options (the context's are checked by `TlsContext`). */
export function checkClient(o: ClientOptions & { hostname?: string }): void {
  checkCommon(o);
  for (const name of ["servername", "hostname"] as const) {
    if (o[name] !== undefined && (typeof o[name] !== "string" || o[name] === "")) {
      invalid(name, "a non-empty string", o[name]);
    }
  }
  if (o.session !== undefined) checkSavedSession("session", o.session);
}

/** Checks where {@link connect} goes. */
export function checkEndpoint(o: ConnectOptions): void {
  if (o.path !== undefined) {
    if (typeof o.path !== "string" || o.path === "") invalid("path", "a socket path", o.path);
    return;
  }
  if (!Number.isInteger(o.port) || o.port! < 0 || o.port! > 65535) {
    invalid("port", "an integer from 0 to 65535", o.port);
  }
}

/** The context options of a client. */
export function clientContext(o: ClientOptions): ContextOptions {
  for (const name of ["requestOcsp", "requireOcsp"] as const) {
    if (o[name] !== undefined && typeof o[name] !== "boolean") invalid(name, "a boolean", o[name]);
  }
  const ocsp = o.requireOcsp ? "require" : o.requestOcsp ? "request" : undefined;
  return {
    ...contextFields(o),
    verify: o.rejectUnauthorized === false ? "none" : "peer",
    ocsp,
    echConfigList: o.echConfigList,
    echGrease: o.echGrease,
  };
}

/** The context options of a server. */
export function serverContext(o: ServerOptions): ContextOptions {
  if (o.onPskIdentity !== undefined && typeof o.onPskIdentity !== "function") {
    invalid("onPskIdentity", "a function (identity) => Uint8Array | null", o.onPskIdentity);
  }
  if (o.sni !== undefined && typeof o.sni !== "function" && (typeof o.sni !== "object" || o.sni === null)) {
    invalid("sni", "{ cert, key } by server name, or a function (servername, hello) => …", o.sni);
  }
  const sniFunction = typeof o.sni === "function";
  if (
    (o.cert === undefined || o.key === undefined) && o.psk === undefined && o.onPskIdentity === undefined &&
    !sniFunction
  ) {
    throw new TlsError(
      "INVALID_OPTION",
      "a server needs `cert` and `key` (or `psk` / `onPskIdentity` / an `sni` function)",
    );
  }
  const verify = !o.requestCert ? "none" : o.rejectUnauthorized === false ? "request" : "require";
  if (o.ocspStaple !== undefined && !(o.ocspStaple instanceof Uint8Array) && !isStapleSource(o.ocspStaple)) {
    invalid("ocspStaple", "DER bytes or an OCSP staple source", o.ocspStaple);
  }
  if (o.requestCert && o.rejectUnauthorized !== false && !o.caCerts?.length) {
    throw new TlsError(
      "INVALID_OPTION",
      "`requestCert` needs `caCerts` to verify client certificates against",
    );
  }
  return {
    ...contextFields(o),
    isServer: true,
    verify,
    sni: sniFunction ? undefined : o.sni as Record<string, KeyPair> | undefined, // a function: `sniChooser`
    ocspStaple: currentStaple(o.ocspStaple), // a source's later responses: `followStaple`
    resumption: o.resumption,
    dhparam: o.dhparam,
    ticketKeys: o.ticketKeys,
    ticketKeyRotation: o.ticketKeyRotation,
    echKeys: o.echKeys,
  };
}

/** The options that shape a context, as opposed to a connection. */
export const contextKeys = [
  "cert",
  "key",
  "passphrase",
  "caCerts",
  "alpnProtocols",
  "minVersion",
  "maxVersion",
  "ciphers",
  "groups",
  "crls",
  "crlCheck",
  "psk",
] as const satisfies readonly (keyof TlsOptions & keyof ContextOptions)[];

function contextFields(o: TlsOptions): ContextOptions {
  return Object.fromEntries(contextKeys.map((k) => [k, o[k]])) as ContextOptions;
}

/** The handshake timeout in ms (0 = none). */
export function handshakeTimeoutOf(o: TlsOptions): number {
  return o.handshakeTimeout ?? 30_000;
}
