/**
 * Certificate revocation lists: build a signed v2 CRL, and parse one.
 *
 * @module
 */
import { cString, shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { checkSerial, type Issuer, seconds } from "./build.ts";
import { keyBytes } from "./keys.ts";
import { type DistinguishedName, readName } from "./names.ts";
import { all, callLines, callText, first, type PemOrDer, spec } from "./native.ts";
import { certificateDer } from "./parse.ts";
import { pemBlocks } from "./pem.ts";
import { reasonCode, reasonName, type RevocationReason } from "./revocation.ts";

/** One revoked certificate. */
export interface RevokedEntry {
  /** Hex serial. */
  serial: string;
  /** When it was revoked. */
  revokedAt: Date;
  /** Omitted: no reason code in the CRL entry. */
  reason?: RevocationReason;
}

/** Options of {@link createCrl}. */
export interface CrlOptions {
  /** The CA that signs the CRL. */
  issuer: Issuer;
  /** The revoked certificates. */
  revoked: RevokedEntry[];
  /** The CRL number (monotonic per issuer), a number or hex string. */
  number: number | string;
  /** Default: now. */
  thisUpdate?: Date;
  /** Default: `thisUpdate` plus `days`. */
  nextUpdate?: Date;
  /** Default 7. */
  days?: number;
  /** The signature digest (ignored for Ed25519). Default sha256. */
  digest?: "sha256" | "sha384" | "sha512";
}

/** A parsed CRL. */
export interface CrlInfo {
  /** Who issued the CRL. */
  issuer: DistinguishedName;
  /** Hex CRL number, when present. */
  number?: string;
  /** When it was issued. */
  thisUpdate: Date;
  /** When the next CRL is due. */
  nextUpdate?: Date;
  /** The revoked certificates. */
  revoked: RevokedEntry[];
  /** With an issuer given to {@link parseCrl}: whether it signed this CRL. */
  signatureValid?: boolean;
}

/**
 * Creates a signed v2 CRL (with CRL number and authority key identifier), PEM.
 *
 * @example
 * ```ts
 * import { createCrl } from "@jsec/tls/ca";
 * const crl = createCrl({
 *   issuer: root, number: 1,
 *   revoked: [{ serial: "1A2B", revokedAt: new Date(), reason: "keyCompromise" }],
 * });
 * ```
 */
export function createCrl(options: CrlOptions): string {
  if (typeof options !== "object" || options === null) {
    throw new TlsError("INVALID_OPTION", "options must be an object");
  }
  const o = options;
  const thisUpdate = o.thisUpdate ?? new Date();
  const nextUpdate = o.nextUpdate ?? new Date(thisUpdate.getTime() + (o.days ?? 7) * 86_400_000);
  if (nextUpdate <= thisUpdate) {
    throw new TlsError("INVALID_OPTION", "`nextUpdate` must be later than `thisUpdate`");
  }
  if (!Array.isArray(o.revoked)) throw new TlsError("INVALID_OPTION", "`revoked` must be an array");
  const number = typeof o.number === "number" ? o.number.toString(16) : o.number;
  if (typeof o.number === "number" && !(Number.isInteger(o.number) && o.number >= 0)) {
    throw new TlsError("INVALID_OPTION", "`number` must be a whole number >= 0");
  }
  const lines: Array<[string, string]> = [
    ["number", number === "0" ? "0" : checkSerial(String(number))],
    ["thisUpdate", seconds(thisUpdate)],
    ["nextUpdate", seconds(nextUpdate)],
    ...o.revoked.map((r) =>
      [
        "revoked",
        `${checkSerial(r.serial)} ${seconds(r.revokedAt)} ${
          r.reason === undefined ? -1 : reasonCode(r.reason)
        }`,
      ] as [string, string]
    ),
  ];
  if (o.digest) lines.push(["md", o.digest]);
  const text = spec(lines);
  const cert = certificateDer(o.issuer.cert, "issuer.cert");
  const key = keyBytes(o.issuer.key, "issuer.key");
  return callText(
    "cannot create the CRL",
    () => shim.jsec_ca_crl_build(text, cert, cert.length, key, key.length, cString(o.issuer.passphrase)),
  );
}

/**
 * Parses a CRL (PEM or DER). With `issuer`, also checks its signature.
 *
 * @example
 * ```ts
 * import { parseCrl } from "@jsec/tls/ca";
 * const crl = parseCrl(crlPem, rootPem);
 * console.log(crl.number, crl.revoked.map((r) => r.serial), crl.signatureValid);
 * ```
 */
export function parseCrl(crl: PemOrDer, issuer?: PemOrDer): CrlInfo {
  let der: Uint8Array;
  if (typeof crl === "string") {
    const block = pemBlocks(crl).find((b) => b.label === "X509 CRL");
    if (!block) throw new TlsError("INVALID_PEM", "not a PEM CRL");
    der = block.der;
  } else der = crl;
  const issuerDer = issuer === undefined ? null : certificateDer(issuer, "issuer");
  const lines = callLines(
    "cannot parse the CRL",
    () => shim.jsec_ca_crl_parse(der, der.length, issuerDer, issuerDer?.length ?? 0),
  );
  const info: CrlInfo = {
    issuer: readName(lines, "issuer"),
    thisUpdate: new Date(Number(first(lines, "thisUpdate")) * 1000),
    revoked: all(lines, "revoked").map((v) => {
      const [serial, at, reason] = v.split(" ");
      const entry: RevokedEntry = { serial, revokedAt: new Date(Number(at) * 1000) };
      const name = reasonName(Number(reason));
      if (name) entry.reason = name;
      return entry;
    }),
  };
  const number = first(lines, "number"),
    next = first(lines, "nextUpdate"),
    sig = first(lines, "signatureValid");
  if (number !== undefined) info.number = number;
  if (next !== undefined) info.nextUpdate = new Date(Number(next) * 1000);
  if (sig !== undefined) info.signatureValid = sig === "1";
  return info;
}
