/**
 * A CA that lives in a directory: its certificate, its key (mode 0600,
 * optionally encrypted), and an index of every certificate it issued and
 * revoked, with the serial counter and CRL number. Changes take a lock and
 * replace the index atomically, so no record is ever lost and no serial is
 * ever reused.
 *
 * Layout: `ca.pem`, `ca-key.pem`, `index.json`, `certs/<serial>.pem`.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { TlsError } from "../errors.ts";
import { writeFileAtomic } from "./atomic.ts";
import {
  type CertifiedKey,
  checkSerial,
  createCertificate,
  createRootCa,
  extKeyUsageFor,
  type Issuer,
  randomSerial,
} from "./build.ts";
import { createCrl } from "./crl.ts";
import { requestedSans, signCsr } from "./csr.ts";
import { exportKey, generateKey, keyInfo, type KeySpec, publicKeyOf } from "./keys.ts";
import { withLock } from "./lock.ts";
import type { NameInput } from "./names.ts";
import { type CertStatus, createOcspResponse, ocspErrorResponse, parseOcspRequest } from "./ocsp.ts";
import { type CertificateInfo, parseCertificate, parseCsr } from "./parse.ts";
import { reasonCode, type RevocationReason } from "./revocation.ts";

const FORMAT = "jsec-ca/1";

/** One certificate the CA issued. */
export interface IssuedCertificate {
  /** Hex serial. */
  serial: string;
  /** RFC 2253 subject. */
  subject: string;
  /** Its SANs, as `TYPE:value`. */
  names: string[];
  /** Start of validity, ISO 8601. */
  notBefore: string;
  /** End of validity, ISO 8601. */
  notAfter: string;
  /** When the CA issued it, ISO 8601. */
  issuedAt: string;
  /** Whether it was revoked. */
  status: "valid" | "revoked";
  /** When it was revoked, ISO 8601. */
  revokedAt?: string;
  /** Why it was revoked. */
  reason?: RevocationReason;
  /** SHA-256 fingerprint. */
  fingerprint: string;
  /** The certificate, PEM. */
  pem: string;
}

interface Index {
  format: typeof FORMAT;
  /** SHA-256 fingerprint of ca.pem: catches a swapped certificate. */
  ca: string;
  crlNumber: number;
  certs: IssuedCertificate[];
}

/** Options of {@link CertificateAuthority.init}. */
export interface InitOptions {
  /** Default `"jsec development CA"`. */
  subject?: NameInput;
  /** Default EC P-256. */
  keyType?: KeySpec;
  /** Default 3650. */
  days?: number;
  /** Encrypt the CA key on disk with this passphrase. */
  passphrase?: string;
  /** How many intermediate CAs may follow. Default: unlimited. */
  pathLength?: number;
}

/** Options of {@link CertificateAuthority.issue}. */
export interface IssueOptions {
  /** Host names, IPs, emails, URIs. */
  names: string[];
  /** The subject. Default: the first name, as CN. */
  subject?: NameInput;
  /** Default `"server"`. */
  usage?: "server" | "client" | "both";
  /** Default 397. */
  days?: number;
  /** What key to generate. Default EC P-256. */
  keyType?: KeySpec;
  /** Certify this key (private or public) instead of generating one. */
  key?: string;
  /** An OCSP responder URL to put in the certificate. */
  ocspUrl?: string;
  /** A CRL URL to put in the certificate. */
  crlUrl?: string;
}

/** Options of {@link CertificateAuthority.sign}. */
export interface SignOptions {
  /** Copy the CSR's SANs. Default false. */
  copySans?: boolean;
  /** Names to put in the certificate (besides copied ones). */
  names?: string[];
  /** The subject. Default: the first name, as CN (never the CSR's subject). */
  subject?: NameInput;
  /** Sets extKeyUsage. Default `"server"`. */
  usage?: "server" | "client" | "both";
  /** Validity in days. Default 397. */
  days?: number;
  /** An OCSP responder URL to put in the certificate. */
  ocspUrl?: string;
  /** A CRL URL to put in the certificate. */
  crlUrl?: string;
}

/** The revocation status of one serial. */
export interface SerialStatus {
  /** good, revoked or unknown. */
  status: CertStatus;
  /** For `revoked`: when. */
  revokedAt?: Date;
  /** Why it was revoked. */
  reason?: RevocationReason;
}

/**
 * A certificate authority kept in a directory.
 *
 * @example
 * ```ts
 * import { CertificateAuthority } from "@jsec/tls/ca";
 * const ca = await CertificateAuthority.init("./my-ca");            // or .open("./my-ca")
 * const { cert, key, serial } = await ca.issue({ names: ["localhost", "127.0.0.1"] });
 * await ca.revoke(serial, "keyCompromise");
 * const crl = await ca.crl();
 * ```
 */
export class CertificateAuthority {
  /** The CA directory (absolute). */
  readonly dir: string;
  /** The CA certificate, PEM (what clients trust). */
  readonly cert: string;
  /** The parsed CA certificate. */
  readonly info: CertificateInfo;
  readonly #passphrase: string | undefined;

  private constructor(dir: string, cert: string, passphrase: string | undefined) {
    this.dir = dir;
    this.cert = cert;
    this.info = parseCertificate(cert);
    this.#passphrase = passphrase;
  }

  /**
   * Creates a new CA in `dir` (created if missing; must not already hold a CA).
   *
   * @example
   * ```ts
   * const ca = await CertificateAuthority.init("./ca", { subject: "Example Dev CA", passphrase: "s3cret" });
   * ```
   */
  static async init(dir: string, options: InitOptions = {}): Promise<CertificateAuthority> {
    const path = resolve(dir);
    mkdirSync(join(path, "certs"), { recursive: true, mode: 0o700 });
    return await withLock(path, () => {
      // Checked under the lock: two inits racing never both write a key.
      if (existsSync(join(path, "index.json")) || existsSync(join(path, "ca.pem"))) {
        throw new TlsError(
          "CA_EXISTS",
          `${path} already holds a CA (ca.pem / index.json); use another --dir`,
        );
      }
      const key = generateKey(options.keyType);
      const root = createRootCa({
        key,
        subject: options.subject,
        days: options.days,
        pathLength: options.pathLength,
      });
      const stored = options.passphrase === undefined
        ? key
        : exportKey(key, { newPassphrase: options.passphrase });
      writeFileAtomic(join(path, "ca-key.pem"), stored, 0o600);
      writeFileAtomic(join(path, "ca.pem"), root.cert, 0o644);
      const index: Index = {
        format: FORMAT,
        ca: parseCertificate(root.cert).fingerprints.sha256,
        crlNumber: 0,
        certs: [],
      };
      writeIndex(path, index);
      return new CertificateAuthority(path, root.cert, options.passphrase);
    });
  }

  /**
   * Opens the CA in `dir`. Throws `CA_CORRUPT` for a directory that is not a
   * (complete, consistent) jsec CA, `BAD_PASSPHRASE` for a wrong passphrase.
   *
   * @example
   * ```ts
   * const ca = await CertificateAuthority.open(process.env.JSEC_CA_DIR!, { passphrase });
   * ```
   */
  static open(dir: string, options: { passphrase?: string } = {}): Promise<CertificateAuthority> {
    const path = resolve(dir);
    if (!existsSync(path)) {
      return Promise.reject(
        new TlsError("NOT_FOUND", `no CA at ${path}: run \`ca init\` first (or pass --dir)`),
      );
    }
    if (!existsSync(join(path, "index.json")) && !existsSync(join(path, "ca.pem"))) {
      return Promise.reject(
        new TlsError(
          "CA_CORRUPT",
          `${path} holds no CA (no index.json, no ca.pem): run \`ca init\` there, or pass another --dir`,
        ),
      );
    }
    try {
      const index = readIndex(path);
      const cert = readCaFile(path, "ca.pem");
      const info = parseCertificate(cert);
      if (info.fingerprints.sha256 !== index.ca) {
        corrupt(path, "ca.pem is not the certificate this CA was created with");
      }
      const key = readCaFile(path, "ca-key.pem");
      if (publicKeyOf(key, options.passphrase) !== info.publicKey.pem) {
        corrupt(path, "ca-key.pem does not belong to ca.pem");
      }
      return Promise.resolve(new CertificateAuthority(path, cert, options.passphrase));
    } catch (e) {
      if (e instanceof TlsError && e.code === "INVALID_PEM") {
        return Promise.reject(new TlsError("CA_CORRUPT", `${path}: ${e.message}`, { cause: e }));
      }
      return Promise.reject(e);
    }
  }

  /** The issuer (certificate and key) for signing. */
  #issuer(): Issuer {
    return { cert: this.cert, key: readCaFile(this.dir, "ca-key.pem"), passphrase: this.#passphrase };
  }

  /**
   * Issues a leaf certificate for `names`; records it; returns it with its key.
   *
   * @example
   * ```ts
   * const { cert, key, serial } = await ca.issue({ names: ["localhost", "127.0.0.1", "::1"] });
   * ```
   */
  issue(options: IssueOptions): Promise<CertifiedKey & { serial: string }> {
    if (!options || !Array.isArray(options.names) || options.names.length === 0) {
      return Promise.reject(new TlsError("INVALID_OPTION", "`names` must list at least one name"));
    }
    return this.#record((serial) => {
      const key = options.key ?? generateKey(options.keyType);
      const cert = createCertificate({
        ...leafFields(options),
        key,
        issuer: this.#issuer(),
        serial,
        names: options.names,
        subject: options.subject,
      });
      return { cert, key: keyInfo(key).isPrivate ? key : "" };
    });
  }

  /**
   * Signs a CSR (its signature is checked); records it. The certificate names
   * only what the caller approves: the CSR's SANs with `copySans`, and
   * `names`. Neither the CSR's subject nor its CN is ever copied; with no name
   * approved it throws `INVALID_OPTION`.
   *
   * @example
   * ```ts
   * const { cert } = await ca.sign(csrPem, { copySans: true });
   * ```
   */
  sign(csr: string | Uint8Array, options: SignOptions = {}): Promise<{ cert: string; serial: string }> {
    try {
      const requested = requestedSans(parseCsr(csr));
      const names = [...(options.copySans ? requested : []), ...(options.names ?? [])];
      if (names.length === 0) {
        throw new TlsError(
          "INVALID_OPTION",
          `no name approved for the certificate (the CSR asks for ${requested.join(", ") || "none"}): ` +
            "copy the CSR's names with `copySans` (ca sign --copy-sans) or give them (ca sign --san NAME)",
        );
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#record((serial) => {
      const cert = signCsr({
        ...leafFields(options),
        csr,
        issuer: this.#issuer(),
        serial,
        copySans: options.copySans,
        names: options.names,
        subject: options.subject,
      });
      return { cert };
    });
  }

  /** Picks a fresh random serial, builds the certificate, and records it, all under the lock. */
  #record<T extends { cert: string }>(build: (serial: string) => T): Promise<T & { serial: string }> {
    return withLock(this.dir, () => {
      const index = readIndex(this.dir);
      const made = build(uniqueSerial(new Set(index.certs.map((c) => c.serial))));
      const info = parseCertificate(made.cert);
      index.certs.push({
        serial: info.serial,
        subject: info.subject.text,
        names: info.sans.map((s) => `${s.type}:${s.value}`),
        notBefore: info.notBefore.toISOString(),
        notAfter: info.notAfter.toISOString(),
        issuedAt: new Date().toISOString(),
        status: "valid",
        fingerprint: info.fingerprints.sha256,
        pem: made.cert,
      });
      writeIndex(this.dir, index);
      writeFileAtomic(join(this.dir, "certs", `${info.serial}.pem`), made.cert);
      return { ...made, serial: info.serial };
    });
  }

  /**
   * Revokes a certificate by serial or by the certificate itself (PEM).
   * Throws `NOT_FOUND` for a serial this CA never issued. Revoking twice keeps the first record.
   *
   * @example
   * ```ts
   * await ca.revoke("7A3F00000001", "keyCompromise");
   * await ca.revoke(await Deno.readTextFile("old.pem"));
   * ```
   */
  revoke(certOrSerial: string, reason: RevocationReason = "unspecified"): Promise<IssuedCertificate> {
    let serial: string;
    try {
      reasonCode(reason);
      serial = this.#serialOf(certOrSerial);
    } catch (e) {
      return Promise.reject(e);
    }
    return withLock(this.dir, () => {
      const index = readIndex(this.dir);
      const entry = index.certs.find((c) => c.serial === serial);
      if (!entry) throw new TlsError("NOT_FOUND", `this CA issued no certificate with serial ${serial}`);
      if (entry.status === "revoked") return entry;
      entry.status = "revoked";
      entry.revokedAt = new Date().toISOString();
      entry.reason = reason;
      writeIndex(this.dir, index);
      return entry;
    });
  }

  #serialOf(certOrSerial: string): string {
    if (typeof certOrSerial !== "string") {
      throw new TlsError("INVALID_OPTION", "give a serial or a PEM certificate");
    }
    if (!certOrSerial.includes("-----BEGIN")) return checkSerial(certOrSerial);
    const info = parseCertificate(certOrSerial);
    if (
      info.issuer.text !== this.info.subject.text ||
      (info.authorityKeyId && info.authorityKeyId !== this.info.subjectKeyId)
    ) {
      throw new TlsError("NOT_FOUND", `that certificate was issued by "${info.issuer.text}", not by this CA`);
    }
    return info.serial;
  }

  /**
   * A fresh signed CRL of every revoked certificate (the CRL number goes up by one each time).
   *
   * @example
   * ```ts
   * await Deno.writeTextFile("ca.crl", await ca.crl({ days: 7 }));
   * ```
   */
  crl(options: { days?: number } = {}): Promise<string> {
    return withLock(this.dir, () => {
      const index = readIndex(this.dir);
      index.crlNumber++;
      const crl = createCrl({
        issuer: this.#issuer(),
        number: index.crlNumber,
        days: options.days ?? 7,
        revoked: index.certs.filter((c) => c.status === "revoked").map((c) => ({
          serial: c.serial,
          revokedAt: new Date(c.revokedAt!),
          reason: c.reason === "unspecified" ? undefined : c.reason,
        })),
      });
      writeIndex(this.dir, index);
      return crl;
    });
  }

  /**
   * Every certificate this CA issued, oldest first.
   *
   * @example
   * ```ts
   * for (const c of ca.list()) console.log(c.serial, c.status, c.names.join(" "));
   * ```
   */
  list(): IssuedCertificate[] {
    return readIndex(this.dir).certs;
  }

  /**
   * The record of one serial; throws `NOT_FOUND`.
   *
   * @example
   * ```ts
   * console.log(ca.get("7A3F00000001").pem);
   * ```
   */
  get(serial: string): IssuedCertificate {
    const s = checkSerial(serial);
    const entry = readIndex(this.dir).certs.find((c) => c.serial === s);
    if (!entry) throw new TlsError("NOT_FOUND", `this CA issued no certificate with serial ${s}`);
    return entry;
  }

  /**
   * The status of a serial: good, revoked, or unknown (never issued here).
   *
   * @example
   * ```ts
   * ca.status("7A3F00000001"); // { status: "revoked", revokedAt, reason: "keyCompromise" }
   * ```
   */
  status(serial: string): SerialStatus {
    return statusOf(readIndex(this.dir).certs.find((c) => c.serial === serial));
  }

  /**
   * Answers a DER OCSP request from the index, signed by the CA; a malformed
   * request gets a `malformedRequest` response.
   *
   * @example
   * ```ts
   * const der = ca.respond(new Uint8Array(await request.arrayBuffer()));
   * ```
   */
  respond(request: Uint8Array, options: { validity?: number } = {}): Uint8Array {
    let parsed;
    try {
      parsed = parseOcspRequest(request, this.cert);
    } catch {
      return ocspErrorResponse("malformedRequest");
    }
    if (parsed.certs.length === 0) return ocspErrorResponse("malformedRequest");
    const issued = new Map(readIndex(this.dir).certs.map((c) => [c.serial, c])); // one read per request
    const now = new Date();
    return createOcspResponse({
      request,
      signer: this.#issuer(),
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + (options.validity ?? 3600) * 1000),
      answers: parsed.certs.map((c) =>
        c.issuerMatches ? statusOf(issued.get(c.serial)) : { status: "unknown" as const }
      ),
    });
  }
}

/** The revocation status of an index record (none: unknown). */
function statusOf(entry: IssuedCertificate | undefined): SerialStatus {
  if (!entry) return { status: "unknown" };
  if (entry.status === "valid") return { status: "good" };
  const s: SerialStatus = { status: "revoked", revokedAt: new Date(entry.revokedAt!) };
  if (entry.reason && entry.reason !== "unspecified") s.reason = entry.reason;
  return s;
}

/** What issuing and signing share: validity, URLs and extended key usage. */
function leafFields(o: SignOptions | IssueOptions) {
  if (o.usage !== undefined && !["server", "client", "both"].includes(o.usage)) {
    throw new TlsError("INVALID_OPTION", '`usage` must be "server", "client" or "both"');
  }
  return {
    days: o.days,
    ocspUrl: o.ocspUrl,
    crlUrl: o.crlUrl,
    extKeyUsage: extKeyUsageFor(o.usage ?? "server"),
  };
}

/**
 * A serial none of `taken` has: 126 bits from the CSPRNG (CA/Browser Forum
 * baseline requirements ask for at least 64), drawn again on the
 * (astronomically unlikely) collision.
 *
 * @example
 * ```ts
 * const serial = uniqueSerial(new Set(ca.list().map((c) => c.serial)));
 * ```
 */
export function uniqueSerial(taken: ReadonlySet<string>, draw: () => string = randomSerial): string {
  for (let attempt = 0; attempt < 8; attempt++) {
    const serial = draw();
    if (!taken.has(serial)) return serial;
  }
  throw new TlsError(
    "INTERNAL",
    "could not draw an unused serial in 8 attempts: is the random source broken?",
  );
}

function corrupt(dir: string, why: string): never {
  throw new TlsError("CA_CORRUPT", `${dir} is not a usable jsec CA: ${why}`);
}

function readCaFile(dir: string, name: string): string {
  try {
    return readFileSync(join(dir, name), "utf8");
  } catch (e) {
    return corrupt(dir, `cannot read ${name} (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
}

function readIndex(dir: string): Index {
  const text = readCaFile(dir, "index.json");
  let index: Index;
  try {
    index = JSON.parse(text);
  } catch {
    return corrupt(dir, "index.json is not valid JSON");
  }
  if (typeof index !== "object" || index === null || index.format !== FORMAT) {
    corrupt(dir, `index.json is not a ${FORMAT} index`);
  }
  if (!Number.isInteger(index.crlNumber)) corrupt(dir, "index.json has a bad CRL number");
  if (typeof index.ca !== "string") corrupt(dir, "index.json has no CA fingerprint");
  if (
    !Array.isArray(index.certs) ||
    !index.certs.every((c) => typeof c?.serial === "string" && typeof c?.pem === "string")
  ) {
    corrupt(dir, "index.json has a bad certificate list");
  }
  return index;
}

function writeIndex(dir: string, index: Index): void {
  writeFileAtomic(join(dir, "index.json"), JSON.stringify(index, null, 1) + "\n", 0o600);
}
