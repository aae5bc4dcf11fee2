/**
 * ECH keys for a server: a new HPKE key pair (X25519, HKDF-SHA256,
 * AES-128-GCM) and its ECHConfig, as `openssl ech` writes them. Needs libssl
 * 4.0 or later (`UNSUPPORTED` otherwise).
 *
 * @module
 */
import { cString, shim } from "../../ffi/mod.ts";
import { requireEch } from "../engine/ech.ts";
import { invalid } from "../engine/validate.ts";
import { callText } from "./native.ts";

/** What {@link generateEchKey} needs. */
export interface EchKeyOptions {
  /** The name the outer (visible) ClientHello carries, e.g. `"public.example.com"`: a name the server has a certificate for. */
  publicName: string;
}

/** An ECH key and the configuration to publish. */
export interface EchKey {
  /** The server's `echKeys`: the private key and its ECHCONFIG, PEM. Keep it as you would a private key. */
  pem: string;
  /** The ECHConfigList, base64: what clients give as `echConfigList` (and what a DNS HTTPS record's `ech=` carries). */
  echConfigList: string;
}

/**
 * Generates an ECH key for a server whose public name is `publicName`.
 *
 * @example
 * ```ts
 * import { generateEchKey } from "@jsec/tls/ca";
 * const { pem, echConfigList } = generateEchKey({ publicName: "public.example" });
 * // server: listen({ ..., echKeys: pem }); clients: connect({ ..., echConfigList })
 * ```
 */
export function generateEchKey(options: EchKeyOptions): EchKey {
  const name = options?.publicName;
  const length = typeof name === "string" ? new TextEncoder().encode(name).length : 0;
  if (length < 1 || length > 255 || name.includes("\0")) {
    invalid("publicName", "a host name of 1 to 255 bytes", name);
  }
  requireEch("generateEchKey");
  const pem = callText(
    "cannot generate an ECH key",
    () => shim.jsec_ech_generate(cString(name)),
    "INVALID_OPTION",
  );
  return { pem, echConfigList: echConfigListOf(pem) };
}

/** The base64 ECHConfigList inside ECH PEM (its ECHCONFIG block). */
function echConfigListOf(pem: string): string {
  const block = /-----BEGIN ECHCONFIG-----([\s\S]+?)-----END ECHCONFIG-----/.exec(pem);
  return block ? block[1].replace(/\s+/g, "") : "";
}
