/**
 * Test certificates, made by our own CA code (lib/ca): a CA and leaves it
 * signed, an expired leaf, a client certificate, and an unrelated CA. Made
 * once per process and also written to a temporary folder for CLI peers.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type CertifiedKey, createRootCa, issueCertificate } from "../../lib/ca/build.ts";
import { exportKey } from "../../lib/ca/keys.ts";

/** A certificate and its key, PEM, plus where they are on disk (for CLI peers). */
export interface CertFiles {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

/** All the certificates the tests use. */
export interface TestCerts {
  dir: string;
  ca: CertFiles;
  /** RSA-2048 leaf for localhost and 127.0.0.1. */
  rsa: CertFiles;
  /** ECDSA P-256 leaf for localhost, 127.0.0.1 and ::1. */
  ecdsa: CertFiles;
  /** Ed25519 leaf for localhost and 127.0.0.1. */
  ed25519: CertFiles;
  /** Leaf for other.test (SNI). */
  other: CertFiles;
  /** Leaf whose validity ended in 2020. */
  expired: CertFiles;
  /** Client certificate (CN=client). */
  client: CertFiles;
  /** The ECDSA leaf's key encrypted with the passphrase "secret". */
  encryptedKey: string;
  /** A leaf from a CA nobody trusts. */
  stranger: CertFiles;
}

function make(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "jsec-certs-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const save = (name: string, pair: CertifiedKey): CertFiles => {
    const certFile = join(dir, `${name}.pem`), keyFile = join(dir, `${name}.key`);
    writeFileSync(certFile, pair.cert);
    writeFileSync(keyFile, pair.key, { mode: 0o600 });
    return { ...pair, certFile, keyFile };
  };
  const ca = createRootCa({ subject: "jsec test CA", days: 30 });
  const stranger = createRootCa({ subject: "stranger CA", days: 30 });
  const local = ["localhost", "127.0.0.1"];
  const leaf = (names: string[], more: Partial<Parameters<typeof issueCertificate>[0]> = {}) =>
    issueCertificate({ issuer: ca, names, days: 30, usage: "both", ...more });
  const ecdsa = leaf([...local, "::1"]);
  return {
    dir,
    ca: save("ca", ca),
    rsa: save("rsa", leaf(local, { keyType: { type: "rsa", bits: 2048 } })),
    ecdsa: save("ecdsa", ecdsa),
    ed25519: save("ed25519", leaf(local, { keyType: { type: "ed25519" } })),
    other: save("other", leaf(["other.test"])),
    expired: save(
      "expired",
      leaf(local, {
        notBefore: new Date("2020-01-01T00:00:00Z"),
        notAfter: new Date("2020-02-01T00:00:00Z"),
      }),
    ),
    client: save(
      "client",
      issueCertificate({ issuer: ca, subject: "client", names: [], days: 30, usage: "client" }),
    ),
    encryptedKey: exportKey(ecdsa.key, { newPassphrase: "secret" }),
    stranger: save("stranger", issueCertificate({ issuer: stranger, names: local, days: 30 })),
  };
}

let made: TestCerts | undefined;

/** The test certificates (made on first use). */
export function certs(): TestCerts {
  return made ??= make();
}
