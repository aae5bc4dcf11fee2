/**
 * Encrypted Client Hello (RFC 9849): a client encrypts its real ClientHello
 * (the inner one, with the real server name) to a key the server published
 * as an ECHConfigList; on the wire only the outer ClientHello shows, naming
 * the configuration's public name. Needs libssl 4.0 or later: with an older
 * one every ECH option throws `UNSUPPORTED` before any I/O.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { cString, readBytes, shim } from "../../ffi/mod.ts";
import type { Handle } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { checkPem, invalid } from "./validate.ts";

/** The ECH options of a context. */
export interface EchOptions {
  /**
   * Client: the server's ECHConfigList (as published in its DNS HTTPS record,
   * or by `generateEchKey`), base64 or bytes. The real `servername` then
   * travels encrypted; the outer ClientHello names the list's public name.
   */
  echConfigList?: string | Uint8Array;
  /** Client: send a GREASE ECH extension when there is no `echConfigList` (looks like ECH on the wire). */
  echGrease?: boolean;
  /**
   * Server: ECH keys, PEM as `openssl ech` or `generateEchKey` writes them
   * (a private key, then its ECHCONFIG). Clients that used a stale
   * configuration get these back as retry configs.
   */
  echKeys?: string;
}

/**
 * What became of ECH in a handshake: `"accepted"` (the server decrypted the
 * inner ClientHello), `"rejected"` (offered, not used), `"grease"` (the client
 * sent GREASE ECH) or `"none"` (not attempted).
 */
export type EchStatus = "none" | "accepted" | "rejected" | "grease";

/** ECH in {@link HandshakeInfo}. */
export interface EchInfo {
  /** What became of ECH. */
  status: EchStatus;
  /** The server name of the inner (encrypted) ClientHello, or null. */
  innerServername: string | null;
  /** The server name of the outer (visible) ClientHello: the public name, or null. */
  outerServername: string | null;
}

const statuses: readonly EchStatus[] = ["none", "accepted", "rejected", "grease"];
const NO_ECH = "ECH needs libssl >= 4.0";

/**
 * Whether the loaded libssl has ECH (OpenSSL 4.0 or later).
 *
 * @example
 * ```ts
 * import { echSupported } from "@jsec/tls";
 * const options = echSupported() ? { echConfigList } : {};
 * ```
 */
export function echSupported(): boolean {
  return shim.jsec_ech_supported() === 1;
}

/**
 * Throws `UNSUPPORTED` unless the libssl has ECH; `what` names the caller.
 *
 * @example
 * ```ts
 * requireEch("generateEchKey");
 * ```
 */
export function requireEch(what: string): void {
  if (!echSupported()) throw new TlsError("UNSUPPORTED", `${what}: ${NO_ECH}`);
}

/**
 * The bytes of an ECHConfigList given as base64 or bytes, checked for its
 * structure (a 2-byte length, then ECHConfigs of version, length, contents);
 * throws `INVALID_OPTION` otherwise.
 *
 * @example
 * ```ts
 * const bytes = echConfigListBytes("AEb+DQBC..."); // Uint8Array
 * ```
 */
export function echConfigListBytes(list: unknown): Uint8Array {
  let bytes: Uint8Array;
  if (list instanceof Uint8Array) bytes = list;
  else if (typeof list === "string" && /^[A-Za-z0-9+/]+={0,2}$/.test(list.trim())) {
    bytes = new Uint8Array(Buffer.from(list.trim(), "base64"));
  } else invalid("echConfigList", "an ECHConfigList, base64 or bytes", list);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let wellFormed = bytes.length >= 6 && view.getUint16(0) === bytes.length - 2;
  for (let at = 2; wellFormed && at < bytes.length; at += 4 + view.getUint16(at + 2)) {
    wellFormed = at + 4 <= bytes.length && at + 4 + view.getUint16(at + 2) <= bytes.length;
  }
  if (!wellFormed) {
    throw new TlsError("INVALID_OPTION", "`echConfigList` is not an ECHConfigList (RFC 9849 §4)");
  }
  return bytes;
}

/**
 * Throws `INVALID_OPTION` / `INVALID_PEM` for bad ECH options, then
 * `UNSUPPORTED` when they are given and the libssl has no ECH.
 *
 * @example
 * ```ts
 * checkEchOptions({ echConfigList }, false, false);
 * ```
 */
export function checkEchOptions(o: EchOptions, isServer: boolean, datagram: boolean): void {
  // `echGrease: false` asks for nothing: no libssl needs ECH for it.
  const given = (["echConfigList", "echGrease", "echKeys"] as const).filter((k) =>
    o[k] !== undefined && o[k] !== false
  );
  if (given.length === 0) return;
  if (datagram) throw new TlsError("INVALID_OPTION", `\`${given[0]}\` is for TLS; DTLS has no ECH`);
  if (isServer && given.some((k) => k !== "echKeys")) {
    throw new TlsError(
      "INVALID_OPTION",
      "`echConfigList` and `echGrease` are for clients; a server takes `echKeys`",
    );
  }
  if (!isServer && o.echKeys !== undefined) {
    throw new TlsError("INVALID_OPTION", "`echKeys` are for servers; a client takes `echConfigList`");
  }
  if (o.echGrease !== undefined && typeof o.echGrease !== "boolean") {
    invalid("echGrease", "a boolean", o.echGrease);
  }
  if (o.echConfigList !== undefined) echConfigListBytes(o.echConfigList);
  if (o.echKeys !== undefined) {
    checkPem("echKeys", o.echKeys, "PRIVATE KEY");
    checkPem("echKeys", o.echKeys, "ECHCONFIG");
  }
  requireEch(`\`${given[0]}\``);
}

/**
 * Gives a native context its ECH configuration (checked by {@link checkEchOptions} first).
 *
 * @example
 * ```ts
 * useEch(context.handle, { echKeys: pem });
 * ```
 */
export function useEch(context: Handle, o: EchOptions): void {
  const data = o.echKeys !== undefined
    ? cString(o.echKeys)!.subarray(0, -1)
    : o.echConfigList !== undefined
    ? echConfigListBytes(o.echConfigList)
    : null;
  if (!data && !o.echGrease) return;
  if (shim.jsec_ctx_ech(context, data, data?.length ?? 0, o.echGrease ? 1 : 0) < 0) {
    const what = o.echKeys !== undefined ? "`echKeys` are not ECH keys" : "`echConfigList` refused by libssl";
    throw new TlsError(o.echKeys !== undefined ? "INVALID_PEM" : "INVALID_OPTION", what);
  }
}

/**
 * What became of ECH in a session's handshake.
 *
 * @example
 * ```ts
 * const { status, innerServername } = echInfo(session);
 * ```
 */
export function echInfo(session: Handle): EchInfo {
  const name = (outer: number) => {
    const bytes = readBytes((b, c) => shim.jsec_ech_name(session, outer, b, c));
    return bytes?.length ? new TextDecoder().decode(bytes) : null;
  };
  return {
    status: statuses[shim.jsec_ech_status(session)] ?? "none",
    innerServername: name(0),
    outerServername: name(1),
  };
}

/**
 * An `ECH_REJECTED` error with the retry configs the server sent, if any.
 *
 * @example
 * ```ts
 * throw withRetryConfigs(error, session); // error.echRetryConfigs: connect again with them
 * ```
 */
export function withRetryConfigs(error: TlsError, session: Handle): TlsError {
  const retry = readBytes((b, c) => shim.jsec_ech_retry_configs(session, b, c));
  if (!retry?.length) return error;
  return new TlsError(error.code, `${error.message} (the server sent retry configs: \`echRetryConfigs\`)`, {
    reason: error.reason,
    echRetryConfigs: retry,
  });
}
