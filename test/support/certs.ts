/**
 * Test certificates made with the `openssl` CLI: a CA and leaves signed by
 * it, an expired leaf, a client certificate, and an unrelated CA.
 * Made once per process into a temporary folder.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

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
  /** Leaf for other.test (SNI). */
  other: CertFiles;
  /** Leaf whose validity ended in 2020. */
  expired: CertFiles;
  /** Client certificate (CN=client). */
  client: CertFiles;
  /** The ECDSA leaf's key encrypted with the passphrase "secret". */
  encryptedKey: string;
  /** A CA and leaf nobody trusts. */
  stranger: CertFiles;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
}

function files(dir: string, name: string): CertFiles {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), certFile, keyFile };
}

function makeCa(dir: string, name: string, cn: string): void {
  openssl(
    dir,
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-subj",
    `/CN=${cn}`,
    "-days",
    "30",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
}

function makeLeaf(
  dir: string,
  ca: string,
  name: string,
  keyArgs: string[],
  cn: string,
  san: string,
  dates?: [string, string],
): void {
  openssl(
    dir,
    "req",
    "-new",
    ...keyArgs,
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-subj",
    `/CN=${cn}`,
    "-out",
    `${name}.csr`,
  );
  writeFileSync(
    join(dir, `${name}.ext`),
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      san ? `subjectAltName=${san}` : "",
    ].join("\n"),
  );
  if (!dates) {
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.pem`,
      "-CAkey",
      `${ca}.key`,
      "-set_serial",
      String(Date.now() % 1e9 + name.length),
      "-days",
      "30",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    );
    return;
  }
  // Dates in the past need `openssl ca`, which wants a small database.
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(
    join(dir, "ca.cnf"),
    [
      "[ca]",
      "default_ca=d",
      "[d]",
      "database=index.txt",
      `new_certs_dir=.`,
      "serial=serial.txt",
      "default_md=sha256",
      "policy=p",
      "unique_subject=no",
      "copy_extensions=none",
      "[p]",
      "commonName=supplied",
    ].join("\n"),
  );
  writeFileSync(join(dir, "serial.txt"), "1000\n");
  openssl(
    dir,
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-cert",
    `${ca}.pem`,
    "-keyfile",
    `${ca}.key`,
    "-in",
    `${name}.csr`,
    "-startdate",
    dates[0],
    "-enddate",
    dates[1],
    "-extfile",
    `${name}.ext`,
    "-notext",
    "-out",
    `${name}.pem`,
  );
}

function make(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "jsec-certs-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  makeCa(dir, "ca", "jsec test CA");
  makeCa(dir, "stranger-ca", "stranger CA");
  makeLeaf(dir, "ca", "rsa", ["-newkey", "rsa:2048"], "localhost", "DNS:localhost,IP:127.0.0.1");
  makeLeaf(dir, "ca", "ecdsa", ec, "localhost", "DNS:localhost,IP:127.0.0.1,IP:::1");
  makeLeaf(dir, "ca", "other", ec, "other.test", "DNS:other.test");
  makeLeaf(dir, "ca", "client", ec, "client", "");
  makeLeaf(dir, "ca", "expired", ec, "localhost", "DNS:localhost,IP:127.0.0.1", [
    "20200101000000Z",
    "20200201000000Z",
  ]);
  makeLeaf(dir, "stranger-ca", "stranger", ec, "localhost", "DNS:localhost,IP:127.0.0.1");
  openssl(dir, "pkey", "-in", "ecdsa.key", "-aes256", "-passout", "pass:secret", "-out", "ecdsa-enc.key");
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    ca: files(dir, "ca"),
    rsa: files(dir, "rsa"),
    ecdsa: files(dir, "ecdsa"),
    other: files(dir, "other"),
    expired: files(dir, "expired"),
    client: files(dir, "client"),
    encryptedKey: readFileSync(join(dir, "ecdsa-enc.key"), "utf8"),
    stranger: files(dir, "stranger"),
  };
}

let made: TestCerts | undefined;

/** The test certificates (made on first use). */
export function certs(): TestCerts {
  return made ??= make();
}
