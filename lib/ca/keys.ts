/**
 * Private keys: generate RSA, EC and Ed25519 keys; convert between PKCS#8,
 * traditional and public PEM/DER, with or without a passphrase; describe them.
 *
 * @module
 */
import { cString, shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { bytesOf, call, callLines, first, type PemOrDer } from "./native.ts";

/** What key to generate. Default: `{ type: "ec", curve: "P-256" }`. */
export type KeySpec =
  | { type: "rsa"; bits?: 2048 | 3072 | 4096 }
  | { type: "ec"; curve?: "P-256" | "P-384" | "P-521" }
  | { type: "ed25519" };

/** A key's algorithm and size. */
export interface KeyInfo {
  /** "RSA", "EC", "Ed25519" (also "RSA-PSS", "Ed448", "DSA" for imported keys). */
  type: string;
  /** The key size in bits (the modulus for RSA, the field for EC). */
  bits: number;
  /** The NIST curve name of an EC key ("P-256"). */
  curve?: string;
  /** Whether the input held a private key (not only a public one). */
  isPrivate: boolean;
}

/** The forms {@link exportKey} writes. */
export type KeyFormat = "pkcs8-pem" | "pkcs8-der" | "traditional-pem" | "public-pem" | "public-der";

const formats: Record<KeyFormat, number> = {
  "pkcs8-pem": 1,
  "pkcs8-der": 2,
  "traditional-pem": 3,
  "public-pem": 4,
  "public-der": 5,
};

/** Options of {@link exportKey}. */
export interface ExportKeyOptions {
  /** The form to write. Default `"pkcs8-pem"`. */
  format?: KeyFormat;
  /** The passphrase of the input key, when it is encrypted. */
  passphrase?: string;
  /** Encrypt the output (AES-256-CBC, PBKDF2) with this passphrase (private forms only). */
  newPassphrase?: string;
}

const curves = { "P-256": 256, "P-384": 384, "P-521": 521 } as const;

/**
 * Generates a private key, PKCS#8 PEM.
 *
 * @example
 * ```ts
 * import { generateKey } from "@jsec/tls/ca";
 * const ec = generateKey();                             // EC P-256
 * const rsa = generateKey({ type: "rsa", bits: 3072 });
 * const ed = generateKey({ type: "ed25519" });
 * ```
 */
export function generateKey(spec: KeySpec = { type: "ec" }): string {
  let type: number, param: number;
  if (spec?.type === "rsa") {
    type = 1;
    param = spec.bits ?? 2048;
    if (![2048, 3072, 4096].includes(param)) bad("`bits` must be 2048, 3072 or 4096");
  } else if (spec?.type === "ec") {
    type = 2;
    param = curves[spec.curve ?? "P-256"];
    if (!param) bad("`curve` must be P-256, P-384 or P-521");
  } else if (spec?.type === "ed25519") {
    type = 3;
    param = 0;
  } else {
    return bad('`type` must be "rsa", "ec" or "ed25519"');
  }
  return new TextDecoder().decode(
    call("cannot generate the key", () => shim.jsec_ca_key_generate(type, param)).out,
  );
}

/**
 * Converts a key (PEM or DER; PKCS#8, PKCS#1, SEC1 or SubjectPublicKeyInfo)
 * into another form. PEM forms come back as strings, DER forms as bytes.
 *
 * @example
 * ```ts
 * import { exportKey, generateKey } from "@jsec/tls/ca";
 * const key = generateKey();
 * const locked = exportKey(key, { newPassphrase: "s3cret" });          // ENCRYPTED PRIVATE KEY
 * const der = exportKey(locked, { passphrase: "s3cret", format: "pkcs8-der" });
 * const pub = exportKey(key, { format: "public-pem" });
 * ```
 */
export function exportKey(
  key: PemOrDer,
  options: ExportKeyOptions & { format: "pkcs8-der" | "public-der" },
): Uint8Array;
/** PEM forms come back as strings. */
export function exportKey(key: PemOrDer, options?: ExportKeyOptions): string;
export function exportKey(key: PemOrDer, options: ExportKeyOptions = {}): string | Uint8Array {
  const format = options.format ?? "pkcs8-pem";
  if (!(format in formats)) bad(`\`format\` must be one of ${Object.keys(formats).join(", ")}`);
  const input = keyBytes(key);
  const out = call(
    "cannot export the key",
    () =>
      shim.jsec_ca_key_export(
        input,
        input.length,
        cString(options.passphrase),
        formats[format],
        cString(options.newPassphrase),
      ),
  ).out;
  return format.endsWith("-der") ? out : new TextDecoder().decode(out);
}

/**
 * Describes a private or public key.
 *
 * @example
 * ```ts
 * import { generateKey, keyInfo } from "@jsec/tls/ca";
 * keyInfo(generateKey({ type: "rsa", bits: 2048 })); // { type: "RSA", bits: 2048, isPrivate: true }
 * ```
 */
export function keyInfo(key: PemOrDer, passphrase?: string): KeyInfo {
  const input = keyBytes(key);
  const lines = callLines(
    "cannot read the key",
    () => shim.jsec_ca_key_info(input, input.length, cString(passphrase)),
  );
  const info: KeyInfo = {
    type: first(lines, "keyType") ?? "unknown",
    bits: Number(first(lines, "keyBits")),
    isPrivate: first(lines, "private") === "1",
  };
  const curve = first(lines, "curve");
  if (curve) info.curve = curve;
  return info;
}

/**
 * The public key of a private key (or of a public key, normalised), SubjectPublicKeyInfo PEM.
 *
 * @example
 * ```ts
 * import { generateKey, publicKeyOf } from "@jsec/tls/ca";
 * const pub = publicKeyOf(generateKey()); // "-----BEGIN PUBLIC KEY-----..."
 * ```
 */
export function publicKeyOf(key: PemOrDer, passphrase?: string): string {
  return exportKey(key, { format: "public-pem", passphrase });
}

/** The bytes of a key argument, checked. */
export function keyBytes(key: unknown, name = "key"): Uint8Array {
  if (typeof key !== "string" && !(key instanceof Uint8Array)) {
    bad(`\`${name}\` must be a PEM string or DER bytes`);
  }
  const bytes = bytesOf(key as PemOrDer);
  if (bytes.length === 0) throw new TlsError("INVALID_PEM", `\`${name}\` is empty`);
  return bytes;
}

function bad(message: string): never {
  throw new TlsError("INVALID_OPTION", message);
}
