/**
 * Our side of the `pkcs11` interop case: puts the task's private key into a
 * fresh SoftHSM2 token, checks that a wrong PIN and a missing token fail with
 * their codes, and returns the `pkcs11:` URI that names the key. The token
 * folder and config are the ones interop/lib/pkcs11_case.ts points
 * SOFTHSM2_CONF at for this process.
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { TlsError } from "../../mod.ts";
import { TlsContext } from "../../engine.ts";
import type { KeyPair } from "../lib/task.ts";

const PIN = "1234";
const OBJECT = "pkcs11:token=jsec;object=tls;type=private";

/** Makes the token and imports `pair.keyFile` (PKCS#8 PEM) as object "tls". */
function makeToken(keyFile: string): void {
  const conf = process.env.SOFTHSM2_CONF;
  if (!conf) throw new Error("SOFTHSM2_CONF is not set: the runner sets it for pkcs11 tasks");
  const tokens = join(dirname(conf), "tokens");
  mkdirSync(tokens, { recursive: true });
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const util = (...args: string[]) =>
    execFileSync("softhsm2-util", args, { stdio: ["ignore", "ignore", "pipe"] });
  util("--init-token", "--free", "--label", "jsec", "--pin", PIN, "--so-pin", "12345678");
  util("--import", keyFile, "--token", "jsec", "--label", "tls", "--id", "01", "--pin", PIN);
}

/** Throws unless a server context with `key` (and `passphrase`) fails with `code`. */
function mustFail(cert: string, key: string, passphrase: string | undefined, code: string): void {
  try {
    new TlsContext({ isServer: true, cert, key, passphrase }).free();
  } catch (e) {
    if (e instanceof TlsError && e.code === code) return;
    throw new Error(`${key}: expected ${code}, got ${(e as Error).message}`);
  }
  throw new Error(`${key}: expected ${code}, but the key loaded`);
}

/**
 * The token's key URI (with its PIN) for our server, after the error paths
 * were checked: a wrong PIN is BAD_PASSPHRASE (before any login succeeded, as
 * a token stays logged in), a missing token or object NOT_FOUND.
 */
export function tokenKeyUri(pair: KeyPair): string {
  makeToken(pair.keyFile);
  const cert = readFileSync(pair.certFile, "utf8");
  mustFail(cert, OBJECT, "9999", "BAD_PASSPHRASE");
  mustFail(cert, OBJECT, undefined, "BAD_PASSPHRASE");
  mustFail(cert, `pkcs11:token=jsec-none;object=tls;type=private?pin-value=${PIN}`, undefined, "NOT_FOUND");
  mustFail(cert, `pkcs11:token=jsec;object=none;type=private?pin-value=${PIN}`, undefined, "NOT_FOUND");
  return `${OBJECT}?pin-value=${PIN}`;
}
