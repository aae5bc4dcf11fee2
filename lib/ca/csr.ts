/**
 * Certificate signing requests: create one, and sign one into a certificate.
 *
 * @module
 */
import { cString, shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { type CertificateOptions, createCertificate, type Issuer } from "./build.ts";
import { keyBytes } from "./keys.ts";
import { nameEntries, type NameInput, toSan } from "./names.ts";
import { callText, type PemOrDer, spec } from "./native.ts";
import { type CsrInfo, parseCsr } from "./parse.ts";

/** Options of {@link createCsr}. */
export interface CsrOptions {
  /** The requester's private key. */
  key: PemOrDer;
  /** The passphrase of an encrypted `key`. */
  passphrase?: string;
  /** The subject. Default: the first of `names`, as CN. */
  subject?: NameInput;
  /** Requested subject alternative names. */
  names?: string[];
  /** Signature digest (ignored for Ed25519). Default sha256. */
  digest?: "sha256" | "sha384" | "sha512";
}

/**
 * Creates a CSR (PKCS#10), PEM, signed with `key`.
 *
 * @example
 * ```ts
 * import { createCsr, generateKey } from "@jsec/tls/ca";
 * const key = generateKey();
 * const csr = createCsr({ key, names: ["api.internal"] });
 * ```
 */
export function createCsr(options: CsrOptions): string {
  if (typeof options !== "object" || options === null) {
    throw new TlsError("INVALID_OPTION", "options must be an object");
  }
  const key = keyBytes(options.key);
  const sans = (options.names ?? []).map(toSan);
  const subject = nameEntries(
    options.subject ?? (sans[0] && sans[0].type !== "IP" ? sans[0].value : undefined),
  );
  const lines: Array<[string, string]> = [
    ...subject.map(([k, v]) => ["subject", `${k}=${v}`] as [string, string]),
    ...sans.map((s) => ["san", `${s.type}:${s.value}`] as [string, string]),
  ];
  if (options.digest) lines.push(["md", options.digest]);
  const text = spec(lines);
  return callText(
    "cannot create the CSR",
    () => shim.jsec_ca_csr_build(text, key, key.length, cString(options.passphrase)),
  );
}

/** Options of {@link signCsr}. */
export interface SignCsrOptions
  extends Omit<CertificateOptions, "key" | "passphrase" | "issuer" | "subject" | "names"> {
  /** The CSR, PEM or DER. */
  csr: PemOrDer;
  /** The CA that signs. */
  issuer: Issuer;
  /** Copy the CSR's requested SANs into the certificate. Default false: only `names` are used. */
  copySans?: boolean;
  /** SANs to put in the certificate (added to the copied ones). */
  names?: string[];
  /** The subject. Default: the first name, as CN. The CSR's own subject is never copied. */
  subject?: NameInput;
}

/**
 * Signs a CSR into a certificate. The CSR's signature is checked first
 * (`BAD_SIGNATURE` when it is not valid); its requested SANs are copied only
 * with `copySans: true`; its subject and other requested extensions are
 * ignored, so the requester cannot choose a name the signer did not approve.
 *
 * @example
 * ```ts
 * import { createRootCa, signCsr } from "@jsec/tls/ca";
 * const root = createRootCa();
 * const cert = signCsr({ csr: csrPem, issuer: root, copySans: true, extKeyUsage: ["serverAuth"] });
 * ```
 */
export function signCsr(options: SignCsrOptions): string {
  if (typeof options !== "object" || options === null) {
    throw new TlsError("INVALID_OPTION", "options must be an object");
  }
  const { csr, copySans = false, names = [], subject, ...rest } = options;
  const info = parseCsr(csr);
  if (!info.signatureValid) throw new TlsError("BAD_SIGNATURE", "the CSR's signature does not match its key");
  return createCertificate({
    ...rest,
    key: info.publicKey.pem,
    subject,
    names: [...new Set([...(copySans ? requestedSans(info) : []), ...names])],
  });
}

/**
 * The SANs a CSR asks for that a certificate can carry, as `TYPE:value`.
 *
 * @example
 * ```ts
 * requestedSans(parseCsr(csrPem)); // ["DNS:api.internal", "IP:10.0.0.7"]
 * ```
 */
export function requestedSans(info: CsrInfo): string[] {
  return info.sans.filter((s) => ["DNS", "IP", "email", "URI"].includes(s.type)).map((s) =>
    `${s.type}:${s.value}`
  );
}
