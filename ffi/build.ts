/**
 * Finds the shim's shared library, or builds it with the system C compiler.
 *
 * A build is cached under a key of (shim source hash, OpenSSL version,
 * runtime), so editing the shim or upgrading OpenSSL rebuilds it. Set
 * `JSEC_SHIM` to use a prebuilt library, `JSEC_OPENSSL_PREFIX` to build
 * against another OpenSSL, `JSEC_CACHE_DIR` to move the cache.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { TlsError } from "../lib/errors.ts";

const sourceDir = fileURLToPath(new URL("../c-shim/", import.meta.url));

/** Where the shim's library is, and what it was built against. */
export interface ShimLocation {
  path: string;
  /** The OpenSSL version of the headers it was built with ("3.0.19"), or "prebuilt". */
  opensslVersion: string;
}

/**
 * Returns the path of a usable shim library, building it first if needed.
 * Throws `TlsError("SHIM_UNAVAILABLE")` naming what is missing.
 */
export function locateShim(runtime: "deno" | "bun"): ShimLocation {
  const prebuilt = process.env.JSEC_SHIM;
  if (prebuilt) {
    if (!existsSync(prebuilt)) unavailable(`JSEC_SHIM points at ${prebuilt}, which does not exist`);
    return { path: prebuilt, opensslVersion: "prebuilt" };
  }
  const prefix = process.env.JSEC_OPENSSL_PREFIX;
  const sources = readdirSync(sourceDir).filter((f) => /\.[ch]$/.test(f)).sort();
  const hash = createHash("sha256");
  for (const f of sources) hash.update(f).update(readFileSync(join(sourceDir, f)));
  const version = opensslHeaderVersion(prefix);
  const key = `${hash.digest("hex").slice(0, 16)}-openssl${version}-${runtime}${
    prefix ? "-" + hashOf(prefix) : ""
  }`;
  const dir = process.env.JSEC_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "jsec");
  const path = join(dir, `libjsec-${key}.so`);
  if (!existsSync(path)) build(sources, path, prefix);
  return { path, opensslVersion: version };
}

function build(sources: string[], path: string, prefix: string | undefined): void {
  const dir = join(path, "..");
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const args = ["-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-o", tmp];
  if (prefix) args.push(`-I${prefix}/include`, `-L${prefix}/lib`, `-Wl,-rpath,${prefix}/lib`);
  args.push(...sources.filter((f) => f.endsWith(".c")).map((f) => join(sourceDir, f)), "-lssl", "-lcrypto");
  const cc = process.env.CC ?? "cc";
  try {
    execFileSync(cc, args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { code?: string; stderr?: Uint8Array };
    if (err.code === "ENOENT") {
      unavailable(`no C compiler (${cc}) to build the shim: install one (Debian: apt-get install gcc)`);
    }
    const stderr = new TextDecoder().decode(err.stderr ?? new Uint8Array());
    unavailable(`building the shim failed:\n${stderr}`);
  }
  renameSync(tmp, path); // atomic: a concurrent loader sees no half-written library
}

/** The version in the OpenSSL headers we would compile against. */
function opensslHeaderVersion(prefix: string | undefined): string {
  const dirs = prefix ? [`${prefix}/include`] : ["/usr/include", "/usr/local/include"];
  for (const dir of dirs) {
    const file = join(dir, "openssl", "opensslv.h");
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    const m = /OPENSSL_VERSION_STR\s+"([^"]+)"/.exec(text) ??
      /OPENSSL_VERSION_TEXT\s+"OpenSSL ([^ "]+)/.exec(text);
    if (m) return m[1];
  }
  return unavailable(
    `no OpenSSL headers in ${dirs.join(" or ")}: install them (Debian: apt-get install libssl-dev)` +
      " or set JSEC_SHIM to a prebuilt shim",
  );
}

function hashOf(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

function unavailable(message: string): never {
  throw new TlsError("SHIM_UNAVAILABLE", message);
}
