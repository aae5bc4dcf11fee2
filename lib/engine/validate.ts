/**
 * Checks for caller input, thrown before any native call or I/O.
 *
 * @module
 */
import { TlsError } from "../errors.ts";

/** Throws `INVALID_OPTION` saying what `name` should have been. */
export function invalid(name: string, expected: string, got: unknown): never {
  const shown = typeof got === "string" ? JSON.stringify(got.slice(0, 40)) : typeof got;
  throw new TlsError("INVALID_OPTION", `\`${name}\` must be ${expected}, got ${shown}`);
}

/** One pattern per label, built once: every `connect` checks its options. */
const pemBlocks = new Map<string, RegExp>();

function pemBlock(label: string): RegExp {
  let block = pemBlocks.get(label);
  if (block === undefined) {
    block = new RegExp(`-----BEGIN ([A-Z0-9 ]*)${label}-----[\\s\\S]+?-----END \\1${label}-----`);
    pemBlocks.set(label, block);
  }
  return block;
}

/**
 * Throws unless `pem` is a string holding at least one PEM block whose label
 * ends with `label` ("CERTIFICATE"; "PRIVATE KEY" also admits "RSA PRIVATE KEY",
 * "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY").
 */
export function checkPem(name: string, pem: unknown, label: string): void {
  if (typeof pem !== "string") invalid(name, "a PEM string", pem);
  if (!pemBlock(label).test(pem)) {
    throw new TlsError("INVALID_PEM", `\`${name}\` is not a PEM ${label.toLowerCase()}`);
  }
}

/** A key URI: a scheme ("pkcs11", "file", …), a colon, then no whitespace or control characters; "%" escapes two hex digits. */
const keyUri = /^[A-Za-z][A-Za-z0-9+.-]*:(?:[^\s\p{Cc}%]|%[0-9A-Fa-f]{2})+$/u;

/**
 * Throws unless `key` is a PEM private key or a key URI that OpenSSL's
 * `OSSL_STORE` may load (`pkcs11:…`, `file:…`): `INVALID_PEM` for text that
 * tries to be PEM and is not, `INVALID_OPTION` for anything else.
 */
export function checkKey(name: string, key: unknown): void {
  if (typeof key !== "string") invalid(name, "a PEM string or a key URI", key);
  if (key.includes("-----BEGIN")) return checkPem(name, key, "PRIVATE KEY");
  if (!keyUri.test(key)) invalid(name, 'a PEM private key or a key URI like "pkcs11:object=…"', key);
}
