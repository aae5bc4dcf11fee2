/**
 * A server's choice of context by the client's ClientHello, made in
 * TypeScript (and possibly asynchronously): the shim pauses the handshake
 * (`JSEC_WANT_SNI`), hands over the fields below, and applies the answer.
 *
 * @module
 */
import { readBytes, shim } from "../../ffi/mod.ts";
import type { Handle } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { TlsContext } from "./context.ts";

/** What a client offered in its ClientHello: what a server may choose its certificate by. */
export interface ClientHello {
  /** The name the client asked for (SNI), or null when it sent none (e.g. connecting to an IP address). */
  servername: string | null;
  /** The ALPN protocols offered, in the client's order. */
  alpnProtocols: string[];
  /** The protocol versions offered, e.g. `["TLSv1.3", "TLSv1.2"]` (GREASE left out). */
  versions: string[];
  /** The cipher suites offered, IANA names (`"TLS_AES_128_GCM_SHA256"`), else `"0x…"` codes. */
  cipherSuites: string[];
  /** The key-exchange groups offered (`"x25519"`, `"secp256r1"`, `"X25519MLKEM768"`, else `"0x…"`). */
  groups: string[];
  /**
   * The signature algorithms the client accepts (`"ecdsa_secp256r1_sha256"`,
   * `"rsa_pss_rsae_sha256"`, `"ed25519"`, else `"0x…"`): whether an ECDSA or
   * an RSA certificate will do.
   */
  signatureAlgorithms: string[];
}

/**
 * Server: the context for a ClientHello — the engine's own or another — or
 * null to refuse it with an `unrecognized_name` alert; now or as a promise.
 */
export type ContextChooser = (hello: ClientHello) => TlsContext | null | Promise<TlsContext | null>;

/** What {@link chooseContext} tells the engine. */
export interface ChoiceHooks {
  /** Whether the session still exists (an answer that comes after it ended is dropped). */
  alive(): boolean;
  /** The context chosen: the session runs on it from now on (keep it alive that long). */
  use(context: TlsContext): void;
  /** Why the handshake is refused: the error the server's handshake fails with. */
  refuse(error: TlsError): void;
}

const CIPHERS = 0xffff, SERVER_NAME = 0, ALPN = 16, VERSIONS = 43, GROUPS = 10, SIGNATURE_ALGORITHMS = 13;
const UNRECOGNIZED_NAME = 112, INTERNAL_ERROR = 80;

/**
 * Asks `choose` for the context of the ClientHello the session is paused at
 * and answers the shim: at once (returns null), or once the promise `choose`
 * returned settles (returns a promise that never rejects). A null answer
 * refuses with `unrecognized_name`; a throw, a rejection or a bad value fails
 * the handshake with an `internal_error` alert; both report the server's
 * error through `hooks.refuse`.
 *
 * @example
 * ```ts
 * const later = chooseContext(session, (hello) => byName.get(hello.servername ?? "") ?? null, hooks);
 * if (later) await later; // then advance the handshake again
 * ```
 */
export function chooseContext(
  session: Handle,
  choose: ContextChooser,
  hooks: ChoiceHooks,
): Promise<void> | null {
  const hello = parseClientHello(readBytes((b, c) => shim.jsec_sni_hello(session, b, c)) ?? new Uint8Array());
  const name = JSON.stringify(hello.servername);
  const fail = (cause: unknown) => {
    hooks.refuse(
      cause instanceof TlsError && cause.code === "INVALID_OPTION"
        ? cause
        : new TlsError("HANDSHAKE_FAILED", `choosing the certificate for ${name} failed: ${cause}`, {
          cause,
        }),
    );
    shim.jsec_sni_answer(session, null, INTERNAL_ERROR);
  };
  const settle = (context: unknown) => {
    if (context === null) {
      hooks.refuse(
        new TlsError("HANDSHAKE_FAILED", `no certificate for ${name}: refused with unrecognized_name`),
      );
      shim.jsec_sni_answer(session, null, UNRECOGNIZED_NAME);
      return;
    }
    if (!(context instanceof TlsContext) || !context.isServer || context.isDatagram) {
      return fail(new TlsError("INVALID_OPTION", `the certificate chosen for ${name} is not a TLS server's`));
    }
    hooks.use(context);
    shim.jsec_sni_answer(session, context.handle, 0);
  };
  let answer: ReturnType<ContextChooser>;
  try {
    answer = choose(hello);
  } catch (cause) {
    fail(cause);
    return null;
  }
  if (!(answer instanceof Promise)) {
    settle(answer);
    return null;
  }
  return answer.then(
    (context) => hooks.alive() ? settle(context) : undefined,
    (cause) => hooks.alive() ? fail(cause) : undefined,
  );
}

/**
 * The fields of the shim's ClientHello records (type, length, bytes).
 *
 * @example
 * ```ts
 * const hello = parseClientHello(records);
 * const ecdsa = hello.signatureAlgorithms.includes("ecdsa_secp256r1_sha256");
 * ```
 */
export function parseClientHello(records: Uint8Array): ClientHello {
  const field = new Map<number, Uint8Array>();
  for (let at = 0; at + 4 <= records.length;) {
    const type = records[at] << 8 | records[at + 1], len = records[at + 2] << 8 | records[at + 3];
    field.set(type, records.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  const versions = codes(field.get(VERSIONS)?.subarray(1)).map((v) => versionNames[v] ?? hex(v));
  return {
    servername: serverName(field.get(SERVER_NAME)),
    alpnProtocols: alpn(field.get(ALPN)),
    versions: versions.length ? versions : ["TLSv1.2"], // no supported_versions: TLS 1.2 at most
    cipherSuites: codes(field.get(CIPHERS)).map((c) => suiteNames[c] ?? hex(c)),
    groups: codes(field.get(GROUPS)?.subarray(2)).map((g) => groupNames[g] ?? hex(g)),
    signatureAlgorithms: codes(field.get(SIGNATURE_ALGORITHMS)?.subarray(2)).map((s) =>
      schemeNames[s] ?? hex(s)
    ),
  };
}

/** 16-bit codes, GREASE values (0x?A?A) left out. */
function codes(bytes: Uint8Array | undefined): number[] {
  const out: number[] = [];
  for (let i = 0; bytes && i + 1 < bytes.length; i += 2) {
    const code = bytes[i] << 8 | bytes[i + 1];
    if ((code & 0x0f0f) !== 0x0a0a || bytes[i] !== bytes[i + 1]) out.push(code);
  }
  return out;
}

/** RFC 6066: list length (2), then entries of type (1), length (2), name; type 0 is a host name. */
function serverName(ext: Uint8Array | undefined): string | null {
  for (let at = 2; ext && at + 3 <= ext.length;) {
    const len = ext[at + 1] << 8 | ext[at + 2];
    if (ext[at] === 0) return new TextDecoder().decode(ext.subarray(at + 3, at + 3 + len));
    at += 3 + len;
  }
  return null;
}

/** RFC 7301: list length (2), then length-prefixed (1) names. */
function alpn(ext: Uint8Array | undefined): string[] {
  const out: string[] = [];
  for (let at = 2; ext && at < ext.length; at += 1 + ext[at]) {
    out.push(new TextDecoder().decode(ext.subarray(at + 1, at + 1 + ext[at])));
  }
  return out;
}

const hex = (code: number) => `0x${code.toString(16).padStart(4, "0")}`;

const versionNames: Record<number, string> = {
  0x0304: "TLSv1.3",
  0x0303: "TLSv1.2",
  0x0302: "TLSv1.1",
  0x0301: "TLSv1",
};

const suiteNames: Record<number, string> = {
  0x1301: "TLS_AES_128_GCM_SHA256",
  0x1302: "TLS_AES_256_GCM_SHA384",
  0x1303: "TLS_CHACHA20_POLY1305_SHA256",
  0x1304: "TLS_AES_128_CCM_SHA256",
  0x1305: "TLS_AES_128_CCM_8_SHA256",
  0xc02b: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  0xc02c: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  0xc02f: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  0xc030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  0xcca8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  0xcca9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  0x009e: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
  0x009f: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
  0x00ff: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
  0x5600: "TLS_FALLBACK_SCSV",
};

const groupNames: Record<number, string> = {
  23: "secp256r1",
  24: "secp384r1",
  25: "secp521r1",
  29: "x25519",
  30: "x448",
  256: "ffdhe2048",
  257: "ffdhe3072",
  258: "ffdhe4096",
  259: "ffdhe6144",
  260: "ffdhe8192",
  0x11eb: "SecP256r1MLKEM768",
  0x11ec: "X25519MLKEM768",
  0x11ed: "SecP384r1MLKEM1024",
};

const schemeNames: Record<number, string> = {
  0x0401: "rsa_pkcs1_sha256",
  0x0501: "rsa_pkcs1_sha384",
  0x0601: "rsa_pkcs1_sha512",
  0x0403: "ecdsa_secp256r1_sha256",
  0x0503: "ecdsa_secp384r1_sha384",
  0x0603: "ecdsa_secp521r1_sha512",
  0x0804: "rsa_pss_rsae_sha256",
  0x0805: "rsa_pss_rsae_sha384",
  0x0806: "rsa_pss_rsae_sha512",
  0x0807: "ed25519",
  0x0808: "ed448",
  0x0809: "rsa_pss_pss_sha256",
  0x080a: "rsa_pss_pss_sha384",
  0x080b: "rsa_pss_pss_sha512",
  0x0201: "rsa_pkcs1_sha1",
  0x0203: "ecdsa_sha1",
  0x0904: "mldsa44",
  0x0905: "mldsa65",
  0x0906: "mldsa87",
};
