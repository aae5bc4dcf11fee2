/**
 * PKCS#12 bundles: a key, its certificate and chain in one passphrase-protected file.
 *
 * @module
 */
import { cString, shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { keyBytes } from "./keys.ts";
import { bytesOf, call, type PemOrDer } from "./native.ts";
import { pemBlocks } from "./pem.ts";

/** Options of {@link toPkcs12}. */
export interface Pkcs12Options {
  /** The private key. */
  key: PemOrDer;
  /** The passphrase of an encrypted `key`. */
  keyPassphrase?: string;
  /** The certificate, then its chain, PEM. */
  cert: string;
  /** The bundle's passphrase (AES-256-CBC, PBKDF2, SHA-256 MAC). */
  passphrase: string;
  /** A friendly name shown by key stores. */
  name?: string;
}

/** What {@link fromPkcs12} found in a bundle. */
export interface Pkcs12Contents {
  /** PKCS#8 PEM, unencrypted. */
  key: string;
  /** The certificate, PEM. */
  cert: string;
  /** The rest of the chain, PEM each. */
  chain: string[];
}

/**
 * Bundles a key and its certificate chain as PKCS#12 (DER bytes, `.p12`/`.pfx`).
 *
 * @example
 * ```ts
 * import { toPkcs12 } from "@jsec/tls/ca";
 * await Deno.writeFile("client.p12", toPkcs12({ key, cert: cert + caPem, passphrase: "changeit" }));
 * ```
 */
export function toPkcs12(options: Pkcs12Options): Uint8Array {
  if (typeof options !== "object" || options === null) {
    throw new TlsError("INVALID_OPTION", "options must be an object");
  }
  if (typeof options.passphrase !== "string") {
    throw new TlsError("INVALID_OPTION", "`passphrase` must be a string");
  }
  if (typeof options.cert !== "string") throw new TlsError("INVALID_OPTION", "`cert` must be a PEM string");
  const key = keyBytes(options.key);
  const cert = bytesOf(options.cert);
  return call(
    "cannot create the PKCS#12 bundle",
    () =>
      shim.jsec_ca_p12_export(
        key,
        key.length,
        cString(options.keyPassphrase),
        cert,
        cert.length,
        cString(options.passphrase),
        cString(options.name),
      ),
  ).out;
}

/**
 * Opens a PKCS#12 bundle. A wrong passphrase throws `BAD_PASSPHRASE`.
 *
 * @example
 * ```ts
 * import { fromPkcs12 } from "@jsec/tls/ca";
 * const { key, cert, chain } = fromPkcs12(await Deno.readFile("client.p12"), "changeit");
 * ```
 */
export function fromPkcs12(der: Uint8Array, passphrase: string): Pkcs12Contents {
  if (!(der instanceof Uint8Array)) throw new TlsError("INVALID_OPTION", "a PKCS#12 bundle must be bytes");
  const text = new TextDecoder().decode(
    call(
      "cannot open the PKCS#12 bundle",
      () => shim.jsec_ca_p12_import(der, der.length, cString(passphrase)),
    ).out,
  );
  const blocks = pemBlocks(text);
  const key = blocks.find((b) => b.label === "PRIVATE KEY");
  const certs = blocks.filter((b) => b.label === "CERTIFICATE");
  if (!key || certs.length === 0) {
    throw new TlsError("INVALID_PEM", "the PKCS#12 bundle holds no key and certificate");
  }
  return { key: key.text, cert: certs[0].text, chain: certs.slice(1).map((c) => c.text) };
}
