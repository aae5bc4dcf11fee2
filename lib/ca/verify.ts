/**
 * Verifying a certificate chain against roots, with optional CRLs, purpose,
 * host name and time.
 *
 * @module
 */
import { isIP } from "node:net";
import { shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { bytesOf, call, first, parseLines } from "./native.ts";

/** Options of {@link verifyChain}. */
export interface VerifyOptions {
  /** The leaf first, then any intermediates, PEM (one string or several). */
  chain: string | string[];
  /** Trusted roots, PEM. */
  roots?: string | string[];
  /** Trust the system's roots as well. Default false. */
  systemRoots?: boolean;
  /** CRLs, PEM. With any, revocation is checked (see `crlCheck`). */
  crls?: string | string[];
  /** `"leaf"` checks the leaf only; `"all"` every certificate. Default `"all"` when `crls` are given. */
  crlCheck?: "leaf" | "all" | "none";
  /** What the leaf is for. */
  purpose?: "sslserver" | "sslclient" | "any" | "ocsphelper" | "smimesign" | "smimeencrypt" | "crlsign";
  /** A host name or IP address the leaf must name. */
  hostname?: string;
  /** An email address the leaf must name. */
  email?: string;
  /** Verify as of this time. Default: now. */
  time?: Date;
  /** Accept a chain that ends in a trusted intermediate (not only a self-signed root). */
  partialChain?: boolean;
}

/** The verdict of {@link verifyChain}. */
export interface VerifyResult {
  /** Whether the chain verified. */
  ok: boolean;
  /** The X509_V_* code: 0 when ok. */
  code: number;
  /** OpenSSL's text for `code` ("certificate revoked"). */
  error: string;
  /** Which certificate failed (0 = leaf), or -1. */
  depth: number;
  /** The serials of the verified chain, leaf first. */
  chainSerials: string[];
}

/**
 * Verifies a chain the way OpenSSL's TLS does. Never throws for an untrusted
 * chain: look at `ok` and `error`. Throws for malformed input.
 *
 * @example
 * ```ts
 * import { verifyChain } from "@jsec/tls/ca";
 * const r = verifyChain({ chain: [leaf, intermediate], roots: root, crls: crl, hostname: "localhost", purpose: "sslserver" });
 * if (!r.ok) console.log(r.error); // "certificate revoked"
 * ```
 */
export function verifyChain(options: VerifyOptions): VerifyResult {
  if (typeof options !== "object" || options === null) {
    throw new TlsError("INVALID_OPTION", "options must be an object");
  }
  const o = options;
  const chain = bytesOf(joined(o.chain, "chain"));
  const roots = bytesOf(joined(o.roots ?? [], "roots"));
  const crls = bytesOf(joined(o.crls ?? [], "crls"));
  if (chain.length === 0) throw new TlsError("INVALID_OPTION", "`chain` is empty");
  if (roots.length === 0 && !o.systemRoots) {
    throw new TlsError("INVALID_OPTION", "give `roots` or `systemRoots: true`");
  }
  const lines: string[] = [];
  if (o.purpose) lines.push(`purpose=${o.purpose}`);
  if (o.hostname) lines.push(isIP(o.hostname) ? `ip=${o.hostname}` : `host=${o.hostname}`);
  if (o.email) lines.push(`email=${o.email}`);
  if (o.time) {
    if (!(o.time instanceof Date) || isNaN(o.time.getTime())) {
      throw new TlsError("INVALID_OPTION", "`time` must be a valid Date");
    }
    lines.push(`time=${Math.floor(o.time.getTime() / 1000)}`);
  }
  const crlCheck = o.crlCheck ?? (crls.length ? "all" : "none");
  if (crlCheck !== "none") lines.push(`crl=${crlCheck}`);
  if (o.systemRoots) lines.push("systemRoots=1");
  if (o.partialChain) lines.push("partial=1");
  if (lines.some((l) => /[\r\n\0]/.test(l))) {
    throw new TlsError("INVALID_OPTION", "an option contains a line break");
  }
  const spec = new TextEncoder().encode(lines.join("\n") + "\0");
  const { status, out } = call(
    "cannot verify the chain",
    () =>
      shim.jsec_ca_verify(
        chain,
        chain.length,
        roots.length ? roots : null,
        roots.length,
        crls.length ? crls : null,
        crls.length,
        spec,
      ),
  );
  const result = parseLines(new TextDecoder().decode(out));
  return {
    ok: status === 0,
    code: status,
    error: first(result, "error") ?? "",
    depth: Number(first(result, "depth") ?? -1),
    chainSerials: result.filter(([n]) => n === "chain").map(([, v]) => v),
  };
}

function joined(value: string | string[], name: string): string {
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((v) => typeof v === "string")) {
    throw new TlsError("INVALID_OPTION", `\`${name}\` must be PEM strings`);
  }
  return list.join("\n");
}
