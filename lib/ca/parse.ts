/**
 * Parsing certificates and CSRs into typed objects.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { type DistinguishedName, readName, readSans, type SubjectAltName } from "./names.ts";
import { all, callLines, first, type Lines, type PemOrDer } from "./native.ts";
import { pemBlocks, toPem } from "./pem.ts";
import { Buffer } from "node:buffer";

/**
 * The key usages of RFC 5280 section 4.2.1.3, in bit order.
 *
 * @example
 * ```ts
 * import { keyUsages } from "@jsec/tls/ca";
 * keyUsages.includes("keyCertSign"); // true
 * ```
 */
export const keyUsages = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
] as const;

/** One key usage. */
export type KeyUsage = typeof keyUsages[number];

/** A public key as found in a certificate or CSR. */
export interface PublicKeyInfo {
  /** "RSA", "EC", "Ed25519", ... */
  type: string;
  /** The key size in bits. */
  bits: number;
  /** The NIST curve of an EC key ("P-256"). */
  curve?: string;
  /** SubjectPublicKeyInfo, PEM. */
  pem: string;
}

/** One extension, as OpenSSL prints it. */
export interface ExtensionInfo {
  /** The dotted OID, e.g. "2.5.29.19". */
  oid: string;
  /** OpenSSL's short name ("basicConstraints"), or the OID. */
  name: string;
  /** Whether the extension is marked critical. */
  critical: boolean;
  /** The value as `openssl x509 -text` shows it. */
  value: string;
}

/** What a certificate and a CSR both carry. */
export interface RequestedFields {
  /** The subject name. */
  subject: DistinguishedName;
  /** The subject alternative names. */
  sans: SubjectAltName[];
  /** The subject's public key. */
  publicKey: PublicKeyInfo;
  /** Whether basicConstraints says CA:TRUE. */
  isCa: boolean;
  /** basicConstraints pathlen, when set. */
  pathLength?: number;
  /** Key usages (empty when the extension is absent). */
  keyUsage: KeyUsage[];
  /** Extended key usages: short names ("serverAuth") or dotted OIDs. */
  extKeyUsage: string[];
  /** Every extension, as OpenSSL prints it. */
  extensions: ExtensionInfo[];
  /** OpenSSL's long name of the signature algorithm, e.g. "ecdsa-with-SHA256". */
  signatureAlgorithm: string;
}

/** A parsed X.509 certificate. */
export interface CertificateInfo extends RequestedFields {
  /** The X.509 version (3 for v3). */
  version: number;
  /** Uppercase hex, as `openssl x509 -serial` shows it. */
  serial: string;
  /** The issuer name. */
  issuer: DistinguishedName;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** Whether subject and issuer are the same name. */
  selfIssued: boolean;
  /** Subject key identifier, uppercase hex. */
  subjectKeyId?: string;
  /** Authority key identifier (key id), uppercase hex. */
  authorityKeyId?: string;
  /** OCSP responder URLs (Authority Information Access). */
  ocspUrls: string[];
  /** CRL distribution point URLs. */
  crlUrls: string[];
  /** Issuer certificate URLs (Authority Information Access). */
  caIssuerUrls: string[];
  /** Colon-separated uppercase hex, as `openssl x509 -fingerprint` shows them. */
  fingerprints: { sha256: string; sha1: string };
  /** The certificate, PEM. */
  pem: string;
  /** The certificate, DER. */
  der: Uint8Array;
}

/** A parsed certificate signing request. */
export interface CsrInfo extends RequestedFields {
  /** Whether the CSR is signed by the key it carries (proof of possession). */
  signatureValid: boolean;
  /** The CSR, PEM. */
  pem: string;
}

/**
 * Parses a certificate (PEM or DER; the first one of a PEM chain).
 *
 * @example
 * ```ts
 * import { parseCertificate } from "@jsec/tls/ca";
 * const info = parseCertificate(await Deno.readTextFile("localhost.pem"));
 * console.log(info.subject.commonName, info.sans, info.notAfter, info.fingerprints.sha256);
 * ```
 */
export function parseCertificate(cert: PemOrDer): CertificateInfo {
  const der = certificateDer(cert);
  const lines = callLines("cannot parse the certificate", () => shim.jsec_ca_cert_parse(der, der.length));
  const optional = (name: string) => first(lines, name);
  const info: CertificateInfo = {
    version: Number(optional("version")),
    serial: optional("serial") ?? "",
    issuer: readName(lines, "issuer"),
    notBefore: new Date(Number(optional("notBefore")) * 1000),
    notAfter: new Date(Number(optional("notAfter")) * 1000),
    selfIssued: optional("selfIssued") === "1",
    ocspUrls: all(lines, "ocsp"),
    crlUrls: all(lines, "crl"),
    caIssuerUrls: all(lines, "caIssuers"),
    fingerprints: { sha256: fingerprint("sha256", der), sha1: fingerprint("sha1", der) },
    pem: toPem(der, "CERTIFICATE"),
    der,
    ...requested(lines),
  };
  const ski = optional("subjectKeyId"), aki = optional("authorityKeyId");
  if (ski) info.subjectKeyId = ski;
  if (aki) info.authorityKeyId = aki;
  return info;
}

/**
 * Parses a certificate signing request (PEM or DER). A CSR with a bad
 * signature parses, with `signatureValid: false`.
 *
 * @example
 * ```ts
 * import { parseCsr } from "@jsec/tls/ca";
 * const csr = parseCsr(csrPem);
 * if (!csr.signatureValid) throw new Error("forged CSR");
 * ```
 */
export function parseCsr(csr: PemOrDer): CsrInfo {
  let der: Uint8Array;
  if (typeof csr === "string") {
    const block = pemBlocks(csr).find((b) => /CERTIFICATE REQUEST$/.test(b.label));
    if (!block) throw new TlsError("INVALID_PEM", "not a PEM certificate request");
    der = block.der;
  } else der = csr;
  const lines = callLines("cannot parse the CSR", () => shim.jsec_ca_csr_parse(der, der.length));
  return {
    signatureValid: first(lines, "signatureValid") === "1",
    pem: toPem(der, "CERTIFICATE REQUEST"),
    ...requested(lines),
  };
}

/** The DER of a certificate argument (the first certificate of a PEM chain). */
export function certificateDer(cert: PemOrDer, name = "certificate"): Uint8Array {
  if (cert instanceof Uint8Array) return cert;
  if (typeof cert !== "string") {
    throw new TlsError("INVALID_OPTION", `\`${name}\` must be a PEM string or DER bytes`);
  }
  const block = pemBlocks(cert).find((b) => b.label === "CERTIFICATE" || b.label === "TRUSTED CERTIFICATE");
  if (!block) throw new TlsError("INVALID_PEM", `\`${name}\` is not a PEM certificate`);
  return block.der;
}

function requested(lines: Lines): RequestedFields {
  const value = (name: string) => first(lines, name);
  const ku = Number(value("keyUsage") ?? 0);
  const fields: RequestedFields = {
    subject: readName(lines, "subject"),
    sans: readSans(lines),
    publicKey: {
      type: value("keyType") ?? "unknown",
      bits: Number(value("keyBits")),
      pem: toPem(new Uint8Array(Buffer.from(value("publicKey") ?? "", "hex")), "PUBLIC KEY"),
    },
    isCa: value("ca") === "1",
    keyUsage: keyUsages.filter((_, bit) => ku & (1 << bit)),
    extKeyUsage: all(lines, "extKeyUsage"),
    extensions: extensions(lines),
    signatureAlgorithm: value("signatureAlgorithm") ?? "",
  };
  const curve = value("curve"), pathLen = value("pathLen");
  if (curve) fields.publicKey.curve = curve;
  if (pathLen !== undefined) fields.pathLength = Number(pathLen);
  return fields;
}

function extensions(lines: Lines): ExtensionInfo[] {
  const out: ExtensionInfo[] = [];
  for (const [name, v] of lines) {
    if (name === "ext") {
      const [oid, critical, ...rest] = v.split(" ");
      out.push({ oid, critical: critical === "1", name: rest.join(" "), value: "" });
    } else if (name === "extValue" && out.length) out[out.length - 1].value = v;
  }
  return out;
}

function fingerprint(algorithm: string, der: Uint8Array): string {
  return createHash(algorithm).update(der).digest("hex").toUpperCase().replace(/(..)(?!$)/g, "$1:");
}
