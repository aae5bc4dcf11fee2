/**
 * Building certificates: self-signed, root and intermediate CAs, and leaves
 * with SANs, key usages and validity. Leaves are never CA:TRUE.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { cString, shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { exportKey, generateKey, keyBytes, keyInfo, type KeySpec } from "./keys.ts";
import { nameEntries, type NameInput, type SubjectAltName, toSan } from "./names.ts";
import { bytesOf, callText, type PemOrDer, spec } from "./native.ts";
import { certificateDer, type CertificateInfo, type KeyUsage, keyUsages, parseCertificate } from "./parse.ts";

/** A CA that signs: its certificate and private key. */
export interface Issuer {
  /** The issuer's certificate, PEM. */
  cert: string;
  /** The issuer's private key, PEM or DER. */
  key: PemOrDer;
  /** The passphrase of an encrypted `key`. */
  passphrase?: string;
}

/** A certificate with its private key, both PEM. */
export interface CertifiedKey {
  /** The certificate, PEM. */
  cert: string;
  /** Its private key, PEM. */
  key: string;
}

/** Everything {@link createCertificate} can set. */
export interface CertificateOptions {
  /** The subject's key: a private key, or (when `issuer` is given) just its public key. */
  key: PemOrDer;
  /** The passphrase of an encrypted `key`. */
  passphrase?: string;
  /** Who signs. Without one the certificate is self-signed with `key`. */
  issuer?: Issuer;
  /** The subject name. Default: the first of `names`, as CN. */
  subject?: NameInput;
  /** Subject alternative names: host names, IPs, emails, URIs (see {@link toSan}). */
  names?: string[];
  /** Hex serial. Default: 16 random bytes. */
  serial?: string;
  /** Default: one minute ago (a little slack for clocks). */
  notBefore?: Date;
  /** Default: `notBefore` plus `days`; never later than the issuer's notAfter. */
  notAfter?: Date;
  /** Validity in days when `notAfter` is not given. Default 397 (a leaf) or 3650 (a CA). */
  days?: number;
  /** A CA certificate (`true`), optionally with a path length. Default: a leaf (CA:FALSE). */
  ca?: boolean | { pathLength?: number };
  /** Default: keyCertSign + cRLSign + digitalSignature for a CA; digitalSignature (+ keyEncipherment for RSA) for a leaf. */
  keyUsage?: KeyUsage[];
  /** Extended key usages, e.g. `["serverAuth", "clientAuth"]` or dotted OIDs. Default: none. */
  extKeyUsage?: string[];
  /** An OCSP responder URL for the Authority Information Access extension. */
  ocspUrl?: string;
  /** A CRL URL for the CRL Distribution Points extension. */
  crlUrl?: string;
  /** Where the issuer's certificate can be fetched (Authority Information Access). */
  caIssuersUrl?: string;
  /** The signature digest (ignored for Ed25519). Default sha256. */
  digest?: "sha256" | "sha384" | "sha512";
}

const extKeyUsages = new Set([
  "serverAuth",
  "clientAuth",
  "codeSigning",
  "emailProtection",
  "timeStamping",
  "OCSPSigning",
  "ipsecIKE",
  "msCodeInd",
  "msCodeCom",
  "msCTLSign",
  "msEFS",
]);

/**
 * Creates a certificate, PEM. The building block of the helpers below; use it
 * when you need full control.
 *
 * @example
 * ```ts
 * import { createCertificate, createRootCa, generateKey } from "@jsec/tls/ca";
 * const root = createRootCa({ subject: "Example Root" });
 * const key = generateKey();
 * const cert = createCertificate({
 *   key, issuer: root, names: ["api.internal", "10.0.0.7"],
 *   extKeyUsage: ["serverAuth"], days: 90, ocspUrl: "http://127.0.0.1:8888/",
 * });
 * ```
 */
export function createCertificate(options: CertificateOptions): string {
  if (typeof options !== "object" || options === null) bad("options must be an object");
  const o = options;
  const ca = o.ca === true || (typeof o.ca === "object" && o.ca !== null);
  const pathLength = typeof o.ca === "object" && o.ca !== null ? o.ca.pathLength : undefined;
  const issuerInfo = o.issuer ? checkIssuer(o.issuer, ca, pathLength) : undefined;
  const subjectKey = keyBytes(o.key);
  const keyType = keyInfo(subjectKey, o.passphrase).type;
  const sans = (o.names ?? []).map(toSan);
  const subject = nameEntries(o.subject ?? (sans[0] && sans[0].type !== "IP" ? sans[0].value : undefined));
  if (subject.length === 0 && sans.length === 0) bad("a certificate needs a `subject` or `names`");
  const lines: Array<[string, string]> = [
    ["serial", o.serial === undefined ? randomSerial() : checkSerial(o.serial)],
    ...validity(o, ca, issuerInfo),
    ...subject.map(([k, v]) => ["subject", `${k}=${v}`] as [string, string]),
    ...sans.map((s) => ["san", `${s.type}:${s.value}`] as [string, string]),
    ...extensions(o, ca, pathLength, keyType, issuerInfo),
  ];
  if (o.digest !== undefined) {
    if (!["sha256", "sha384", "sha512"].includes(o.digest)) bad("`digest` must be sha256, sha384 or sha512");
    lines.push(["md", o.digest]);
  }
  const text = spec(lines);
  if (o.issuer) {
    const pub = bytesOf(exportKey(subjectKey, { format: "public-der", passphrase: o.passphrase }));
    const issuerCert = certificateDer(o.issuer.cert, "issuer.cert");
    const issuerKey = keyBytes(o.issuer.key, "issuer.key");
    return callText(
      "cannot create the certificate",
      () =>
        shim.jsec_ca_cert_build(
          text,
          pub,
          pub.length,
          issuerCert,
          issuerCert.length,
          issuerKey,
          issuerKey.length,
          cString(o.issuer!.passphrase),
        ),
    );
  }
  return callText(
    "cannot create the certificate",
    () =>
      shim.jsec_ca_cert_build(
        text,
        subjectKey,
        subjectKey.length,
        null,
        0,
        subjectKey,
        subjectKey.length,
        cString(o.passphrase),
      ),
  );
}

/** Options of {@link createRootCa}. */
export interface RootCaOptions {
  /** Default `"jsec development CA"`. */
  subject?: NameInput;
  /** The CA's key; generated (with `keyType`) when absent. */
  key?: string;
  /** The passphrase of an encrypted `key`. */
  passphrase?: string;
  /** What key to generate. Default EC P-256. */
  keyType?: KeySpec;
  /** Default 3650. */
  days?: number;
  /** How many intermediate CAs may follow. Default: unlimited. */
  pathLength?: number;
}

/**
 * Creates a self-signed root CA.
 *
 * @example
 * ```ts
 * import { createRootCa } from "@jsec/tls/ca";
 * const root = createRootCa({ subject: { CN: "Example Root", O: "Example" } });
 * await Deno.writeTextFile("root.pem", root.cert);
 * ```
 */
export function createRootCa(options: RootCaOptions = {}): CertifiedKey {
  const key = options.key ?? generateKey(options.keyType);
  const cert = createCertificate({
    key,
    passphrase: options.passphrase,
    subject: options.subject ?? "jsec development CA",
    days: options.days ?? 3650,
    ca: { pathLength: options.pathLength },
  });
  return { cert, key };
}

/** Options of {@link createIntermediateCa}. */
export interface IntermediateCaOptions extends Omit<RootCaOptions, "days" | "pathLength"> {
  /** The CA that signs. */
  issuer: Issuer;
  /** Default 0: it may sign leaves only. */
  pathLength?: number;
  /** Default 1825. */
  days?: number;
}

/**
 * Creates an intermediate CA signed by `issuer`.
 *
 * @example
 * ```ts
 * import { createIntermediateCa, createRootCa } from "@jsec/tls/ca";
 * const root = createRootCa();
 * const sub = createIntermediateCa({ issuer: root, subject: "Example Issuing CA", pathLength: 0 });
 * ```
 */
export function createIntermediateCa(options: IntermediateCaOptions): CertifiedKey {
  const key = options.key ?? generateKey(options.keyType);
  const cert = createCertificate({
    key,
    issuer: options.issuer,
    subject: options.subject ?? "jsec intermediate CA",
    days: options.days ?? 1825,
    ca: { pathLength: options.pathLength ?? 0 },
  });
  return { cert, key };
}

/** Options of {@link issueCertificate}. */
export interface LeafOptions extends Omit<CertificateOptions, "key" | "ca" | "issuer"> {
  /** The CA that signs. */
  issuer: Issuer;
  /** The leaf's key (private: returned as is; public: `key` in the result is empty). Generated when absent. */
  key?: string;
  /** What key to generate. Default EC P-256. */
  keyType?: KeySpec;
  /** Sets extKeyUsage: serverAuth, clientAuth or both. Default `"server"`. */
  usage?: "server" | "client" | "both";
}

/**
 * Issues a leaf certificate (CA:FALSE) for `names`, signed by `issuer`.
 *
 * @example
 * ```ts
 * import { createRootCa, issueCertificate } from "@jsec/tls/ca";
 * const root = createRootCa();
 * const { cert, key } = issueCertificate({ issuer: root, names: ["localhost", "127.0.0.1", "::1"] });
 * ```
 */
export function issueCertificate(options: LeafOptions): CertifiedKey {
  const { key: given, keyType, usage = "server", ...rest } = options;
  if (!["server", "client", "both"].includes(usage)) bad('`usage` must be "server", "client" or "both"');
  const key = given ?? generateKey(keyType);
  const extKeyUsage = rest.extKeyUsage ?? extKeyUsageFor(usage);
  const cert = createCertificate({ ...rest, key, extKeyUsage });
  return { cert, key: keyInfo(key, rest.passphrase).isPrivate ? key : "" };
}

/** The extended key usages of a leaf for a server, a client, or both. */
export function extKeyUsageFor(usage: "server" | "client" | "both"): string[] {
  return usage === "both" ? ["serverAuth", "clientAuth"] : [usage === "server" ? "serverAuth" : "clientAuth"];
}

/** Options of {@link createSelfSigned}. */
export interface SelfSignedOptions extends Omit<CertificateOptions, "key" | "ca" | "issuer"> {
  /** The key to certify; generated when absent. */
  key?: string;
  /** What key to generate. Default EC P-256. */
  keyType?: KeySpec;
}

/**
 * Creates a self-signed leaf certificate (CA:FALSE, serverAuth and clientAuth).
 * Peers must trust this very certificate; prefer a root CA plus a leaf, which
 * rustls (Deno) also accepts.
 *
 * @example
 * ```ts
 * import { createSelfSigned } from "@jsec/tls/ca";
 * const { cert, key } = createSelfSigned({ names: ["localhost"] });
 * ```
 */
export function createSelfSigned(options: SelfSignedOptions = {}): CertifiedKey {
  const { key: given, keyType, ...rest } = options;
  const key = given ?? generateKey(keyType);
  const cert = createCertificate({ extKeyUsage: ["serverAuth", "clientAuth"], ...rest, key });
  return { cert, key };
}

function checkIssuer(issuer: Issuer, ca: boolean, pathLength: number | undefined): CertificateInfo {
  if (typeof issuer !== "object" || issuer === null) bad("`issuer` must be { cert, key }");
  const info = parseCertificate(certificateDer(issuer.cert, "issuer.cert"));
  if (!info.isCa) bad("the issuer certificate is not a CA (basicConstraints CA:TRUE)");
  if (info.keyUsage.length > 0 && !info.keyUsage.includes("keyCertSign")) {
    bad("the issuer may not sign certificates (no keyCertSign)");
  }
  if (
    ca && info.pathLength !== undefined &&
    (info.pathLength === 0 || (pathLength ?? Infinity) >= info.pathLength)
  ) {
    bad(`the issuer's path length (${info.pathLength}) allows no such intermediate CA`);
  }
  return info;
}

function validity(
  o: CertificateOptions,
  ca: boolean,
  issuer: CertificateInfo | undefined,
): Array<[string, string]> {
  const notBefore = o.notBefore ?? new Date(Date.now() - 60_000);
  const days = o.days ?? (ca ? 3650 : 397);
  if (!(notBefore instanceof Date) || isNaN(notBefore.getTime())) bad("`notBefore` must be a valid Date");
  if (!Number.isFinite(days) || days <= 0) bad("`days` must be a positive number");
  let notAfter = o.notAfter ?? new Date(notBefore.getTime() + days * 86_400_000);
  if (!(notAfter instanceof Date) || isNaN(notAfter.getTime())) bad("`notAfter` must be a valid Date");
  if (issuer && o.notAfter === undefined && notAfter > issuer.notAfter) notAfter = issuer.notAfter;
  if (notAfter <= notBefore) bad("`notAfter` must be later than `notBefore`");
  return [["notBefore", seconds(notBefore)], ["notAfter", seconds(notAfter)]];
}

function extensions(
  o: CertificateOptions,
  ca: boolean,
  pathLength: number | undefined,
  keyType: string,
  issuer: CertificateInfo | undefined,
): Array<[string, string]> {
  if (pathLength !== undefined && !(Number.isInteger(pathLength) && pathLength >= 0)) {
    bad("`pathLength` must be a whole number >= 0");
  }
  const ku = o.keyUsage ??
    (ca
      ? ["keyCertSign", "cRLSign", "digitalSignature"]
      : keyType === "RSA"
      ? ["digitalSignature", "keyEncipherment"]
      : ["digitalSignature"]);
  for (const u of ku) if (!keyUsages.includes(u)) bad(`unknown key usage "${u}"`);
  if (!ca && ku.includes("keyCertSign")) bad("a leaf certificate cannot have keyCertSign");
  const eku = o.extKeyUsage ?? [];
  for (const u of eku) {
    if (!extKeyUsages.has(u) && !/^\d+(\.\d+)+$/.test(u)) bad(`unknown extended key usage "${u}"`);
  }
  const ext: string[] = [
    `basicConstraints=critical,CA:${ca ? "TRUE" : "FALSE"}${
      ca && pathLength !== undefined ? `,pathlen:${pathLength}` : ""
    }`,
  ];
  if (ku.length) ext.push(`keyUsage=critical,${ku.join(",")}`);
  if (eku.length) ext.push(`extendedKeyUsage=${eku.join(",")}`);
  ext.push("subjectKeyIdentifier=hash");
  ext.push(`authorityKeyIdentifier=${!issuer || issuer.subjectKeyId ? "keyid:always" : "issuer:always"}`);
  const aia = [
    ...(o.ocspUrl !== undefined ? [`OCSP;URI:${url(o.ocspUrl, "ocspUrl")}`] : []),
    ...(o.caIssuersUrl !== undefined ? [`caIssuers;URI:${url(o.caIssuersUrl, "caIssuersUrl")}`] : []),
  ];
  if (aia.length) ext.push(`authorityInfoAccess=${aia.join(",")}`);
  if (o.crlUrl !== undefined) ext.push(`crlDistributionPoints=URI:${url(o.crlUrl, "crlUrl")}`);
  return ext.map((e) => ["ext", e]);
}

function url(value: string, name: string): string {
  try {
    return new URL(value).href.replace(/,/g, "%2C");
  } catch {
    return bad(`\`${name}\` must be an absolute URL`);
  }
}

/** A random positive 16-byte serial, hex: 126 bits from the CSPRNG, never a leading zero byte. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x10;
  return bytes.toString("hex").toUpperCase();
}

/** Normalises a hex serial ("0a:1B" → "0A1B"); throws `INVALID_OPTION` when it is not one. */
export function checkSerial(serial: string): string {
  const hex = typeof serial === "string" ? serial.replace(/[:\s]/g, "").toUpperCase() : "";
  if (!/^[0-9A-F]{1,40}$/.test(hex) || /^0+$/.test(hex)) {
    bad("a serial must be 1 to 20 bytes of non-zero hex");
  }
  const trimmed = hex.replace(/^0+/, "");
  return trimmed.length % 2 ? "0" + trimmed : trimmed;
}

/** Unix seconds of a Date, as a decimal string. */
export function seconds(date: Date): string {
  return String(Math.floor(date.getTime() / 1000));
}

function bad(message: string): never {
  throw new TlsError("INVALID_OPTION", message);
}

export type { SubjectAltName };
