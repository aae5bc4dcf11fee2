/**
 * `@jsec/tls/ca`: a self-hosted certificate authority on the system OpenSSL.
 * Keys, certificates, CSRs, chain verification, CRLs, OCSP (messages and an
 * HTTP responder), PKCS#12, and a CA kept in a directory.
 *
 * @example
 * ```ts
 * import { createRootCa, issueCertificate, verifyChain } from "@jsec/tls/ca";
 * const root = createRootCa({ subject: "Dev Root" });
 * const { cert, key } = issueCertificate({ issuer: root, names: ["localhost", "127.0.0.1"] });
 * console.log(verifyChain({ chain: cert, roots: root.cert, hostname: "localhost" }).ok); // true
 * ```
 *
 * @module
 */
export {
  exportKey,
  type ExportKeyOptions,
  generateKey,
  type KeyFormat,
  type KeyInfo,
  keyInfo,
  type KeySpec,
  publicKeyOf,
} from "./lib/ca/keys.ts";
export {
  type CertificateOptions,
  type CertifiedKey,
  createCertificate,
  createIntermediateCa,
  createRootCa,
  createSelfSigned,
  type IntermediateCaOptions,
  issueCertificate,
  type Issuer,
  type LeafOptions,
  type RootCaOptions,
  type SelfSignedOptions,
} from "./lib/ca/build.ts";
export { createCsr, type CsrOptions, signCsr, type SignCsrOptions } from "./lib/ca/csr.ts";
export {
  type CertificateInfo,
  type CsrInfo,
  type ExtensionInfo,
  type KeyUsage,
  keyUsages,
  parseCertificate,
  parseCsr,
  type PublicKeyInfo,
  type RequestedFields,
} from "./lib/ca/parse.ts";
export type { DistinguishedName, NameInput, SubjectAltName } from "./lib/ca/names.ts";
export type { PemOrDer } from "./lib/ca/native.ts";
export { type EchKey, type EchKeyOptions, generateEchKey } from "./lib/ca/ech.ts";
export { verifyChain, type VerifyOptions, type VerifyResult } from "./lib/ca/verify.ts";
export { createCrl, type CrlInfo, type CrlOptions, parseCrl, type RevokedEntry } from "./lib/ca/crl.ts";
export { type RevocationReason, revocationReasons } from "./lib/ca/revocation.ts";
export {
  type CertStatus,
  createOcspRequest,
  createOcspResponse,
  type OcspAnswer,
  ocspErrorResponse,
  type OcspRequestInfo,
  type OcspResponseInfo,
  type OcspResponseOptions,
  type OcspResponseStatus,
  type OcspSingle,
  parseOcspRequest,
  parseOcspResponse,
} from "./lib/ca/ocsp.ts";
export {
  type OcspHandler,
  type OcspResponder,
  type OcspServeOptions,
  serveOcsp,
} from "./lib/ca/responder.ts";
export { OcspStapler, type OcspStaplerOptions } from "./lib/ca/stapler.ts";
export { fromPkcs12, type Pkcs12Contents, type Pkcs12Options, toPkcs12 } from "./lib/ca/pkcs12.ts";
export {
  CertificateAuthority,
  type InitOptions,
  type IssuedCertificate,
  type IssueOptions,
  type SerialStatus,
  type SignOptions,
} from "./lib/ca/store.ts";
export { TlsError, type TlsErrorCode } from "./lib/errors.ts";
