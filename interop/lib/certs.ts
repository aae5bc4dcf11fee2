/**
 * Test certificates made with the `openssl` CLI: a trusted CA, an untrusted
 * CA, server leaves (RSA, ECDSA P-256, Ed25519) for localhost, a second name
 * for SNI, a client certificate for mTLS and one from the untrusted CA.
 * Leaves are CA:FALSE (rustls refuses a CA certificate as an end entity).
 * @module
 */
import type { KeyPair } from "./task.ts";

/** Every file the matrix uses, by role. */
export interface CertSet {
  dir: string;
  caFile: string;
  otherCaFile: string;
  rsa: KeyPair;
  ecdsa: KeyPair;
  ed25519: KeyPair;
  /** ECDSA leaf for the SNI name `other.test`. */
  sni: KeyPair;
  /** Client certificate issued by the trusted CA. */
  client: KeyPair;
  /** Client certificate issued by the untrusted CA. */
  badClient: KeyPair;
  /** PKCS#12 (empty password) of a pair, for NSS. */
  p12(name: LeafName): string;
}

/** Names of the leaf certificates. */
export type LeafName = "rsa" | "ecdsa" | "ed25519" | "sni" | "client" | "badClient";

/** The SNI name served by the second certificate. */
export const SNI_NAME = "other.test";

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

function keyArgs(alg: "rsa" | "ec" | "ed25519"): string[] {
  if (alg === "rsa") return ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
  if (alg === "ec") return ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
  return ["-algorithm", "ED25519"];
}

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl(["genpkey", ...keyArgs("ec"), "-out", `${name}.key`], dir);
  await Deno.writeTextFile(
    `${dir}/${name}.ext`,
    [
      "basicConstraints=critical,CA:TRUE",
      "keyUsage=critical,keyCertSign,cRLSign",
      "subjectKeyIdentifier=hash",
    ].join("\n") + "\n",
  );
  await openssl(["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`], dir);
  await openssl([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-signkey",
    `${name}.key`,
    "-days",
    "30",
    "-sha256",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ], dir);
}

interface LeafSpec {
  name: LeafName;
  alg: "rsa" | "ec" | "ed25519";
  cn: string;
  san: string;
  usage: "serverAuth" | "clientAuth";
  ca: "ca" | "other-ca";
}

async function makeLeaf(dir: string, s: LeafSpec): Promise<void> {
  await openssl(["genpkey", ...keyArgs(s.alg), "-out", `${s.name}.key`], dir);
  const ku = s.alg === "rsa" ? "digitalSignature,keyEncipherment" : "digitalSignature";
  await Deno.writeTextFile(
    `${dir}/${s.name}.ext`,
    [
      "basicConstraints=critical,CA:FALSE",
      `keyUsage=critical,${ku}`,
      `extendedKeyUsage=${s.usage}`,
      `subjectAltName=${s.san}`,
      "subjectKeyIdentifier=hash",
      "authorityKeyIdentifier=keyid",
    ].join("\n") + "\n",
  );
  // A distinct subject per leaf: NSS gives certificates with one subject one nickname.
  const subj = `/O=jsec ${s.name}/CN=${s.cn}`;
  await openssl(["req", "-new", "-key", `${s.name}.key`, "-subj", subj, "-out", `${s.name}.csr`], dir);
  const sha = s.alg === "ed25519" ? [] : ["-sha256"];
  await openssl([
    "x509",
    "-req",
    "-in",
    `${s.name}.csr`,
    "-CA",
    `${s.ca}.pem`,
    "-CAkey",
    `${s.ca}.key`,
    "-set_serial",
    "0x" +
    crypto.getRandomValues(new Uint8Array(8)).reduce((h, b) => h + b.toString(16).padStart(2, "0"), "1"),
    "-days",
    "30",
    ...sha,
    "-extfile",
    `${s.name}.ext`,
    "-out",
    `${s.name}.pem`,
  ], dir);
  await openssl([
    "pkcs12",
    "-export",
    "-in",
    `${s.name}.pem`,
    "-inkey",
    `${s.name}.key`,
    "-certfile",
    `${s.ca}.pem`,
    "-name",
    s.name === "sni" ? SNI_NAME : s.name, // NSS selfserv picks the SNI certificate by nickname
    "-passout",
    "pass:",
    "-out",
    `${s.name}.p12`,
  ], dir).catch(() => {}); // Ed25519 in PKCS#12 is fine on 3.x; NSS skips Ed25519 anyway
}

/** Create a fresh certificate set in `dir` (replacing what was there). */
export async function makeCerts(dir: string): Promise<CertSet> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  await makeCa(dir, "ca", "jsec interop CA");
  await makeCa(dir, "other-ca", "jsec untrusted CA");
  const local = "DNS:localhost,IP:127.0.0.1";
  const leaves: LeafSpec[] = [
    { name: "rsa", alg: "rsa", cn: "localhost", san: local, usage: "serverAuth", ca: "ca" },
    { name: "ecdsa", alg: "ec", cn: "localhost", san: local, usage: "serverAuth", ca: "ca" },
    { name: "ed25519", alg: "ed25519", cn: "localhost", san: local, usage: "serverAuth", ca: "ca" },
    { name: "sni", alg: "ec", cn: SNI_NAME, san: `DNS:${SNI_NAME}`, usage: "serverAuth", ca: "ca" },
    { name: "client", alg: "ec", cn: "jsec client", san: "DNS:client.test", usage: "clientAuth", ca: "ca" },
    {
      name: "badClient",
      alg: "ec",
      cn: "jsec untrusted client",
      san: "DNS:bad.test",
      usage: "clientAuth",
      ca: "other-ca",
    },
  ];
  await Promise.all(leaves.map((l) => makeLeaf(dir, l)));
  const pair = (n: string): KeyPair => ({ certFile: `${dir}/${n}.pem`, keyFile: `${dir}/${n}.key` });
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    otherCaFile: `${dir}/other-ca.pem`,
    rsa: pair("rsa"),
    ecdsa: pair("ecdsa"),
    ed25519: pair("ed25519"),
    sni: pair("sni"),
    client: pair("client"),
    badClient: pair("badClient"),
    p12: (n) => `${dir}/${n}.p12`,
  };
}
