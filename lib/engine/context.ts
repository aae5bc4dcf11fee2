/**
 * A TLS context: the configuration many sessions share (certificates, trust,
 * versions, ciphers, ALPN). Wraps the shim's `jsec_ctx`.
 *
 * @module
 */
import { cString, isNull, lastError, shim } from "../../ffi/mod.ts";
import type { Handle } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { tlsErrorFrom } from "./failure.ts";
import { checkEchOptions, type EchOptions, useEch } from "./ech.ts";
import { checkPsk, type PskKey, usePsk } from "./psk.ts";
import { checkKey, checkPem, invalid } from "./validate.ts";
import {
  checkTicketOptions,
  getTicketKeys,
  rotationOf,
  setTicketKeys,
  type TicketKeyOptions,
  useTicketKeys,
} from "./ticket_keys.ts";

/** A TLS protocol version name, as Node spells it. */
export type TlsVersion = "TLSv1.2" | "TLSv1.3";

const versionNumbers: Record<TlsVersion, number> = { "TLSv1.2": 0x0303, "TLSv1.3": 0x0304 };

/** A certificate chain and its key, PEM. */
export interface KeyPair {
  /** The certificate chain, leaf first, PEM. */
  cert: string;
  /**
   * The private key, PEM (PKCS#8, PKCS#1 or SEC1; encrypted when `passphrase` is given),
   * or a key URI loaded through OpenSSL's `OSSL_STORE` (OpenSSL 3.0+), e.g.
   * `"pkcs11:token=web;object=tls;type=private?pin-value=1234"` (with pkcs11-provider) or `"file:/etc/tls/key.pem"`.
   */
  key: string;
  /** The passphrase of an encrypted `key`; for a key URI, the PIN or passphrase its store asks for. */
  passphrase?: string;
}

/** Everything a {@link TlsContext} can be configured with. */
export interface ContextOptions extends TicketKeyOptions, EchOptions {
  /** A server context (accepts handshakes) instead of a client one. */
  isServer?: boolean;
  /** Our certificate chain, PEM, leaf first. A server needs one; a client sends it when asked. */
  cert?: string;
  /** The private key of `cert`: PEM, or a key URI (`pkcs11:…`, `file:…`; OpenSSL 3.0+), as in {@link KeyPair}. */
  key?: string;
  /** The passphrase of an encrypted `key`, or the PIN of a key URI's token. */
  passphrase?: string;
  /** Extra trusted roots, PEM. A client trusts the system roots as well; a server only these. */
  caCerts?: string[];
  /**
   * How to treat the peer's certificate: `"none"` accepts anything, `"peer"`
   * verifies it when one is sent, `"require"` also fails when none is.
   * `"request"` asks for one (a server sends a CertificateRequest) and verifies
   * it, but never fails on it: the result shows as `verified` / `verifyResult`.
   * Default: `"peer"` for a client (a server always sends one), `"none"` for a server.
   */
  verify?: "none" | "peer" | "require" | "request";
  /** The lowest protocol version to accept. Default `"TLSv1.2"`. */
  minVersion?: TlsVersion;
  /** The highest protocol version to accept. Default `"TLSv1.3"`. */
  maxVersion?: TlsVersion;
  /**
   * Cipher suites, OpenSSL syntax, colon-separated. Names starting with `TLS_`
   * are TLS 1.3 suites; the rest form the TLS 1.2 cipher list.
   */
  ciphers?: string;
  /** Key-exchange groups in order of preference, e.g. `["X25519MLKEM768", "X25519"]`. */
  groups?: string | string[];
  /**
   * Server: finite-field DHE for TLS 1.2 clients without ECDHE. `"auto"` uses
   * the RFC 7919 groups sized to the certificate; a PEM gives parameters of
   * your own. Off by default: ECDHE covers every modern client, FFDHE costs
   * the server far more CPU per handshake, and rustls and BoringSSL dropped it.
   * Unless `ciphers` is given, the DHE-RSA AEAD suites join the defaults.
   */
  dhparam?: "auto" | string;
  /** ALPN protocols: what a client offers, or what a server accepts, in order of preference. */
  alpnProtocols?: string[];
  /** Server only: a certificate per server name (`"*.example.com"` matches one label). */
  sni?: Record<string, KeyPair>;
  /**
   * Server: an OCSP response (DER) to staple for `cert` (replace it with
   * {@link TlsContext.setOcspStaple}). Not used for `sni` certificates.
   */
  ocspStaple?: Uint8Array;
  /**
   * Client: `"request"` asks the server for a stapled OCSP response (see
   * `HandshakeInfo.ocspResponse`); `"require"` also fails the handshake unless
   * it is a verified, current "good" response for the server's certificate.
   */
  ocsp?: "request" | "require";
  /** CRLs (PEM) to check the peer's certificate against during verification. */
  crls?: string[];
  /** With `crls`: check the peer's leaf only (default) or every certificate of its chain. */
  crlCheck?: "leaf" | "all";
  /**
   * Server: let clients resume earlier sessions (default true): TLS 1.3 and 1.2
   * session tickets and a TLS 1.2 session cache. False makes every handshake a
   * full one. (A client resumes by offering a session: `TlsEngine.offerSession`.)
   */
  resumption?: boolean;
  /**
   * Pre-shared keys (TLS 1.3 external PSK, TLS 1.2 PSK cipher suites): a
   * client's one key, or the keys a server accepts, by identity. With a PSK a
   * server needs no certificate and a client verifies none.
   */
  psk?: PskKey | PskKey[];
  /** DTLS over datagrams instead of TLS over a byte stream (see `DtlsEngine`). */
  datagram?: boolean;
  /** DTLS: the DTLS-SRTP profiles to offer or accept (RFC 5764), e.g. `["SRTP_AEAD_AES_128_GCM"]`. */
  srtpProfiles?: string[];
}

const registry = new FinalizationRegistry<Handle>((h) => shim.jsec_ctx_free(h));

/**
 * The configuration shared by many TLS sessions. Create one per distinct
 * configuration and reuse it: creating a context parses certificates.
 *
 * @example
 * ```ts
 * import { TlsContext, TlsEngine } from "@jsec/tls/engine";
 * const context = new TlsContext({ caCerts: [caPem], alpnProtocols: ["h2"] });
 * const engine = new TlsEngine(context, { servername: "example.com" });
 * ```
 */
export class TlsContext {
  /** Whether sessions of this context are servers. */
  readonly isServer: boolean;
  /** Whether the context has pre-shared keys (its handshake failures may be `PSK_MISMATCH`). */
  readonly usesPsk: boolean;
  /** Whether the context has no certificate of its own. */
  readonly certless: boolean;
  /** Whether sessions of this context are DTLS. */
  readonly isDatagram: boolean;
  #handle: Handle | null;
  #sessions = 0;
  #freeRequested = false;
  #children: TlsContext[] = [];
  #ticketKeyRotation: number | null = null; // seconds; null: no ticket keys of ours

  /** Builds the context; bad options throw `INVALID_OPTION` / `INVALID_PEM` before any native call. */
  constructor(options: ContextOptions = {}) {
    validateContextOptions(options);
    this.isServer = options.isServer ?? false;
    this.isDatagram = options.datagram ?? false;
    this.usesPsk = options.psk !== undefined;
    this.certless = options.cert === undefined;
    const handle = shim.jsec_ctx_new((this.isServer ? 1 : 0) | (this.isDatagram ? 2 : 0));
    if (isNull(handle)) throw tlsErrorFrom(lastError());
    this.#handle = handle;
    registry.register(this, handle, this);
    try {
      this.#configure(handle, options);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  #configure(h: Handle, o: ContextOptions): void {
    if (o.cert !== undefined && o.key !== undefined) {
      useKeyPair(h, { cert: o.cert, key: o.key, passphrase: o.passphrase });
    }
    if (!this.isServer) check(shim.jsec_ctx_trust(h, null, 0));
    for (const pem of o.caCerts ?? []) {
      const bytes = cString(pem)!;
      check(shim.jsec_ctx_trust(h, bytes, bytes.length - 1));
    }
    const verify = o.verify ?? (this.isServer ? "none" : "peer");
    check(shim.jsec_ctx_verify(h, { none: 0, peer: 1, require: 2, request: 3 }[verify]));
    const min = o.minVersion ? versionNumbers[o.minVersion] : 0;
    const max = o.maxVersion ? versionNumbers[o.maxVersion] : 0;
    if (min || max) check(shim.jsec_ctx_versions(h, min, max));
    if (o.ciphers !== undefined) {
      const names = o.ciphers.split(":").filter((n) => n);
      const tls13 = names.filter((n) => n.startsWith("TLS_")).join(":");
      const tls12 = names.filter((n) => !n.startsWith("TLS_")).join(":");
      check(shim.jsec_ctx_ciphers(h, tls12 ? cString(tls12) : null, tls13 ? cString(tls13) : null));
    }
    if (o.groups !== undefined) {
      const list = Array.isArray(o.groups) ? o.groups.join(":") : o.groups;
      check(shim.jsec_ctx_groups(h, cString(list)));
    }
    if (o.dhparam !== undefined) {
      const pem = o.dhparam === "auto" ? null : cString(o.dhparam)!;
      check(shim.jsec_ctx_dhparam(h, pem, pem ? pem.length - 1 : 0));
    }
    if (o.alpnProtocols?.length) {
      const wire = alpnWire(o.alpnProtocols);
      check(shim.jsec_ctx_alpn(h, wire, wire.length));
    }
    this.#configureRevocation(h, o);
    if (o.resumption !== undefined) check(shim.jsec_ctx_resumption(h, o.resumption ? 1 : 0));
    if (o.psk !== undefined) usePsk(h, o.psk);
    useEch(h, o);
    if (o.srtpProfiles?.length) check(shim.jsec_ctx_srtp(h, cString(o.srtpProfiles.join(":"))));
    const tickets = this.isServer && o.resumption !== false;
    if (tickets) {
      check(useTicketKeys(h, o));
      this.#ticketKeyRotation = rotationOf(o);
    }
    for (const [name, pair] of Object.entries(o.sni ?? {})) {
      const child = new TlsContext({ ...o, sni: undefined, ocspStaple: undefined, ...pair });
      this.#children.push(child);
      check(shim.jsec_ctx_sni(h, cString(name), child.handle));
      if (tickets) check(shim.jsec_ctx_ticket_share(child.handle, h)); // one key set, whichever context asks
    }
  }

  #configureRevocation(h: Handle, o: ContextOptions): void {
    for (const pem of o.crls ?? []) {
      const bytes = cString(pem)!;
      check(shim.jsec_ctx_crl(h, bytes, bytes.length - 1, o.crlCheck === "all" ? 1 : 0));
    }
    if (o.ocsp) check(shim.jsec_ctx_ocsp(h, o.ocsp === "require" ? 2 : 1));
    if (o.ocspStaple !== undefined) check(shim.jsec_ctx_staple(h, o.ocspStaple, o.ocspStaple.length));
  }

  /**
   * Server: the OCSP response (DER) to staple from now on, e.g. a fresher one
   * before the last one's nextUpdate; null stops stapling.
   *
   * @example
   * ```ts
   * context.setOcspStaple(await fetchOcspResponse()); // handshakes from now on staple it
   * ```
   */
  setOcspStaple(der: Uint8Array | null): void {
    if (der !== null && !(der instanceof Uint8Array)) invalid("ocspStaple", "DER bytes", der);
    check(shim.jsec_ctx_staple(this.handle, der, der?.length ?? 0));
  }

  /**
   * Server: the session ticket keys, 80 bytes each: the current key, then the
   * previous one if any (see `ticketKeys`). Empty with `resumption: false`.
   *
   * @example
   * ```ts
   * const keys = context.getTicketKeys(); // hand these to the other processes of the cluster
   * ```
   */
  getTicketKeys(): Uint8Array {
    return getTicketKeys(this.handle);
  }

  /**
   * Server: new session ticket keys for the handshakes from now on. One key
   * (80 bytes) becomes the current one and the current one the previous, still
   * accepted; two (160 bytes: current, previous) replace both.
   *
   * @example
   * ```ts
   * context.setTicketKeys(crypto.getRandomValues(new Uint8Array(80))); // rotate
   * ```
   */
  setTicketKeys(keys: Uint8Array): void {
    if (this.#ticketKeyRotation === null) {
      throw new TlsError("INVALID_OPTION", "ticket keys are for a server that resumes sessions");
    }
    check(setTicketKeys(this.handle, keys, this.#ticketKeyRotation));
  }

  /**
   * @internal Frees `child` (a context made for this one's sessions, e.g. by
   * an `sni` function) with this one.
   */
  adopt(child: TlsContext): void {
    this.#children.push(child);
  }

  /** The native handle, for {@link TlsEngine}. Throws `CLOSED` after {@link free}. */
  get handle(): Handle {
    if (this.#handle === null || this.#freeRequested) {
      throw new TlsError("CLOSED", "the TLS context is freed");
    }
    return this.#handle;
  }

  /** Whether {@link free} was called (the native context may live on for its last sessions). */
  get freed(): boolean {
    return this.#freeRequested;
  }

  /** @internal A session started using this context. */
  retain(): void {
    this.#sessions++;
  }

  /** @internal A session using this context ended. */
  release(): void {
    this.#sessions--;
    if (this.#freeRequested && this.#sessions === 0) this.#freeNow();
  }

  /** Frees the native context now, or once the last session using it is freed. Idempotent. */
  free(): void {
    this.#freeRequested = true;
    if (this.#sessions === 0) this.#freeNow();
  }

  #freeNow(): void {
    if (this.#handle === null) return;
    registry.unregister(this);
    shim.jsec_ctx_free(this.#handle);
    this.#handle = null;
    for (const child of this.#children) child.free();
  }
}

function useKeyPair(h: Handle, pair: KeyPair): void {
  const cert = cString(pair.cert)!;
  const key = cString(pair.key)!;
  const status = shim.jsec_ctx_cert(h, cert, cert.length - 1, key, key.length - 1, cString(pair.passphrase));
  if (status < 0) {
    const error = tlsErrorFrom(lastError());
    // Without a more specific reason, a bad cert/key pair is bad input.
    if (error.code === "PROTOCOL_ERROR") {
      throw new TlsError("INVALID_PEM", error.message, { reason: error.reason });
    }
    throw error;
  }
}

/** A failed configuration call: the options were wrong, unless the input was bad PEM. */
function check(status: number): void {
  if (status < 0) {
    const error = tlsErrorFrom(lastError());
    if (error.code === "INVALID_PEM") throw error;
    throw new TlsError("INVALID_OPTION", error.message, { reason: error.reason });
  }
}

/** ALPN protocol names in the wire format: each prefixed by its length. */
function alpnWire(protocols: string[]): Uint8Array {
  const encoded = protocols.map((p) => new TextEncoder().encode(p));
  const wire = new Uint8Array(encoded.reduce((n, p) => n + 1 + p.length, 0));
  let at = 0;
  for (const p of encoded) {
    wire[at++] = p.length;
    wire.set(p, at);
    at += p.length;
  }
  return wire;
}

/** Throws `INVALID_OPTION` / `INVALID_PEM` for bad context options, before any native call. */
export function validateContextOptions(o: ContextOptions): void {
  if (typeof o !== "object" || o === null) invalid("options", "an object", o);
  for (const name of ["cert", "key", "passphrase", "ciphers"] as const) {
    if (o[name] !== undefined && typeof o[name] !== "string") invalid(name, "a string", o[name]);
  }
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new TlsError("INVALID_OPTION", "`cert` and `key` go together: give both or neither");
  }
  if (o.cert !== undefined) checkPem("cert", o.cert, "CERTIFICATE");
  if (o.key !== undefined) checkKey("key", o.key);
  if (o.caCerts !== undefined) {
    if (!Array.isArray(o.caCerts)) invalid("caCerts", "an array of PEM strings", o.caCerts);
    o.caCerts.forEach((pem, i) => checkPem(`caCerts[${i}]`, pem, "CERTIFICATE"));
  }
  if (o.verify !== undefined && !["none", "peer", "require", "request"].includes(o.verify)) {
    invalid("verify", '"none", "peer", "require" or "request"', o.verify);
  }
  for (const name of ["minVersion", "maxVersion"] as const) {
    if (o[name] !== undefined && !(o[name]! in versionNumbers)) {
      invalid(name, '"TLSv1.2" or "TLSv1.3"', o[name]);
    }
  }
  if (o.minVersion && o.maxVersion && versionNumbers[o.minVersion] > versionNumbers[o.maxVersion]) {
    throw new TlsError("INVALID_OPTION", `minVersion ${o.minVersion} is above maxVersion ${o.maxVersion}`);
  }
  if (o.dhparam !== undefined) {
    if (!o.isServer) throw new TlsError("INVALID_OPTION", "`dhparam` is for servers");
    if (o.dhparam !== "auto") checkPem("dhparam", o.dhparam, "DH PARAMETERS");
  }
  if (o.groups !== undefined && typeof o.groups !== "string" && !isStringArray(o.groups)) {
    invalid("groups", "a string or an array of strings", o.groups);
  }
  if (o.alpnProtocols !== undefined) {
    if (!isStringArray(o.alpnProtocols)) invalid("alpnProtocols", "an array of strings", o.alpnProtocols);
    for (const p of o.alpnProtocols) {
      const len = new TextEncoder().encode(p).length;
      if (len < 1 || len > 255) invalid("alpnProtocols", "names of 1 to 255 bytes", p);
    }
  }
  validateRevocationOptions(o);
  if (o.psk !== undefined) checkPsk(o.psk, o.isServer ?? false);
  checkEchOptions(o, o.isServer ?? false, o.datagram ?? false);
  if (o.srtpProfiles !== undefined) {
    if (!o.datagram) throw new TlsError("INVALID_OPTION", "`srtpProfiles` is for DTLS");
    if (!isStringArray(o.srtpProfiles) || o.srtpProfiles.some((p) => !/^SRTP_[A-Z0-9_]+$/.test(p))) {
      invalid("srtpProfiles", 'an array of profile names like "SRTP_AES128_CM_SHA1_80"', o.srtpProfiles);
    }
  }
  if (o.datagram && (o.minVersion || o.maxVersion)) {
    throw new TlsError(
      "INVALID_OPTION",
      "`minVersion`/`maxVersion` are TLS versions; DTLS takes the versions the libssl offers",
    );
  }
  if (o.resumption !== undefined) {
    if (typeof o.resumption !== "boolean") invalid("resumption", "a boolean", o.resumption);
    if (!o.isServer) {
      throw new TlsError(
        "INVALID_OPTION",
        "`resumption` is for servers; a client offers a session to resume",
      );
    }
  }
  checkTicketOptions(o, o.isServer ?? false, o.resumption ?? true);
  if (o.sni !== undefined) {
    if (!o.isServer) throw new TlsError("INVALID_OPTION", "`sni` certificates are for servers only");
    if (typeof o.sni !== "object" || o.sni === null) invalid("sni", "an object of { cert, key }", o.sni);
    for (const [name, pair] of Object.entries(o.sni)) {
      if (typeof pair !== "object" || pair === null) invalid(`sni["${name}"]`, "{ cert, key }", pair);
      checkPem(`sni["${name}"].cert`, pair.cert, "CERTIFICATE");
      checkKey(`sni["${name}"].key`, pair.key);
    }
  }
}

function validateRevocationOptions(o: ContextOptions): void {
  if (o.crls !== undefined) {
    if (!Array.isArray(o.crls)) invalid("crls", "an array of PEM strings", o.crls);
    o.crls.forEach((pem, i) => checkPem(`crls[${i}]`, pem, "X509 CRL"));
  }
  if (o.crlCheck !== undefined && o.crlCheck !== "leaf" && o.crlCheck !== "all") {
    invalid("crlCheck", '"leaf" or "all"', o.crlCheck);
  }
  if (o.ocsp !== undefined) {
    if (o.ocsp !== "request" && o.ocsp !== "require") invalid("ocsp", '"request" or "require"', o.ocsp);
    if (o.isServer) {
      throw new TlsError("INVALID_OPTION", "`ocsp` is for clients; a server staples with `ocspStaple`");
    }
  }
  if (o.ocspStaple !== undefined) {
    if (!o.isServer) throw new TlsError("INVALID_OPTION", "`ocspStaple` is for servers");
    if (!(o.ocspStaple instanceof Uint8Array)) invalid("ocspStaple", "DER bytes", o.ocspStaple);
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}
