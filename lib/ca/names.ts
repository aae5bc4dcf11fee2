/**
 * Distinguished names and subject alternative names: from what callers write
 * to the shim's spec lines, and from the shim's description lines back.
 *
 * @module
 */
import { isIP } from "node:net";
import { TlsError } from "../errors.ts";
import type { Lines } from "./native.ts";

/**
 * A distinguished name as callers write it: `"localhost"` (a common name),
 * `"CN=api, O=Example, C=NL"` (commas inside a value escaped as `\,`), or
 * `{ CN: "api", O: "Example" }` (fields in order; an array repeats a field).
 */
export type NameInput = string | Record<string, string | string[]>;

/** A parsed distinguished name. */
export interface DistinguishedName {
  /** RFC 2253 text, most specific first: `"CN=api,O=Example"`. */
  text: string;
  /** The fields in certificate order (short names, or dotted OIDs for unknown ones). */
  entries: Array<[string, string]>;
  /** The (last) common name, if any. */
  commonName?: string;
}

/** A subject alternative name. */
export interface SubjectAltName {
  /** The kind of name. */
  type: "DNS" | "IP" | "email" | "URI" | "dirName" | "other";
  /** The name; an IP in its usual text form. */
  value: string;
}

/** The `[field, value]` pairs of a name input. */
export function nameEntries(input: NameInput | undefined, what = "subject"): Array<[string, string]> {
  if (input === undefined) return [];
  if (typeof input === "string") {
    if (!input.includes("=")) return [["CN", input]];
    return input.split(/(?<!\\),/).map((part) => {
      const eq = part.indexOf("=");
      if (eq < 1) {
        throw new TlsError("INVALID_OPTION", `\`${what}\` part "${part.trim()}" is not FIELD=value`);
      }
      return [part.slice(0, eq).trim(), part.slice(eq + 1).trim().replace(/\\,/g, ",")] as [string, string];
    });
  }
  if (typeof input !== "object" || input === null) {
    throw new TlsError("INVALID_OPTION", `\`${what}\` must be a string or an object of fields`);
  }
  return Object.entries(input).flatMap(([k, v]) =>
    (Array.isArray(v) ? v : [v]).map((x) => [k, String(x)] as [string, string])
  );
}

/** Reads a parsed name from description lines named `name`. */
export function readName(lines: Lines, name: string): DistinguishedName {
  const entries = lines.filter(([n]) => n === name).map(([, v]) => {
    const eq = v.indexOf("=");
    return [v.slice(0, eq), v.slice(eq + 1)] as [string, string];
  });
  const dn: DistinguishedName = { text: lines.find(([n]) => n === `${name}Text`)?.[1] ?? "", entries };
  const cn = entries.filter(([k]) => k === "CN").pop();
  if (cn) dn.commonName = cn[1];
  if (!dn.text) {
    dn.text = entries.map(([k, v]) => `${k}=${v.replace(/([,+"\\<>;])/g, "\\$1")}`).reverse().join(",");
  }
  return dn;
}

/**
 * Classifies a name a caller wants in a certificate: `"127.0.0.1"` and `"::1"`
 * are IPs, `"a@b.c"` an email, `"spiffe://x/y"` a URI, anything else a DNS
 * name (non-ASCII labels become punycode). A `"DNS:"`, `"IP:"`, `"email:"` or
 * `"URI:"` prefix forces the type.
 */
export function toSan(name: string): SubjectAltName {
  if (typeof name !== "string" || name.length === 0) {
    throw new TlsError("INVALID_OPTION", "a certificate name must be a non-empty string");
  }
  const forced = /^(DNS|IP|email|URI):(.+)$/.exec(name);
  const type = forced ? forced[1] as SubjectAltName["type"] : classify(name);
  const value = forced ? forced[2] : name;
  return { type, value: check(type, value) };
}

function classify(name: string): SubjectAltName["type"] {
  if (isIP(name.replace(/^\[|\]$/g, ""))) return "IP";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(name) || /^urn:/i.test(name)) return "URI";
  if (name.includes("@")) return "email";
  return "DNS";
}

function check(type: SubjectAltName["type"], value: string): string {
  const fail = (why: string): never => {
    throw new TlsError("INVALID_OPTION", `"${value}" is not a valid ${type} name: ${why}`);
  };
  if (/[\s\0]/.test(value)) fail("it contains white space");
  if (type === "IP") {
    const ip = value.replace(/^\[|\]$/g, "");
    if (!isIP(ip)) fail("not an IPv4 or IPv6 address");
    return ip;
  }
  if (type === "DNS") {
    const wildcard = value.startsWith("*.");
    let host = wildcard ? value.slice(2) : value;
    if (/[^ -~]/.test(host)) {
      try {
        host = new URL(`http://${host}`).hostname;
      } catch {
        fail("not a host name");
      }
    }
    host = host.replace(/\.$/, "");
    if (host.length > 253 || !/^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*$/i.test(host)) {
      fail("not a host name");
    }
    return (wildcard ? "*." : "") + host.toLowerCase();
  }
  if (/[^\x21-\x7e]/.test(value)) fail("only printable ASCII is allowed");
  if (type === "email" && !/^[^@]+@[^@]+$/.test(value)) fail("not an address");
  return value;
}

/** Reads the SANs from description lines. */
export function readSans(lines: Lines): SubjectAltName[] {
  return lines.filter(([n]) => n === "san").map(([, v]) => {
    const colon = v.indexOf(":");
    return { type: v.slice(0, colon) as SubjectAltName["type"], value: v.slice(colon + 1) };
  });
}
