/**
 * Finds the shim's shared library, or builds it with the system C compiler
 * from the sources in `shim_source.ts`, so that it builds the same from a
 * checkout, an https/JSR URL or an npm install.
 *
 * A build is cached under a key of (shim source hash, OpenSSL version,
 * runtime), so editing the shim or upgrading OpenSSL rebuilds it. Set
 * `JSEC_SHIM` to use a prebuilt library, `JSEC_OPENSSL_PREFIX` to build
 * against another OpenSSL, `JSEC_CACHE_DIR` to move the cache (default
 * `$XDG_CACHE_HOME/jsec`, else `$HOME/.cache/jsec`), `CC` for another
 * compiler. Nothing runs until the first call: importing costs nothing.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { compile } from "./compile.ts";
import { shimUnavailable, withPermission } from "./failure.ts";
import { shimSources } from "./shim_source.ts";

/** Where the shim's library is, and what it was built against. */
export interface ShimLocation {
  path: string;
  /** The OpenSSL version of the headers it was built with ("3.0.19"), or "prebuilt". */
  opensslVersion: string;
}

/**
 * Returns the path of a usable shim library, building it first if needed.
 * Throws the shim-unavailable error (see `failure.ts`) naming what is missing.
 *
 * @example
 * ```ts
 * import { locateShim } from "./build.ts";
 * console.log(locateShim("deno").path); // ~/.cache/jsec/libjsec-<key>-deno.so
 * ```
 */
export function locateShim(runtime: "deno" | "bun"): ShimLocation {
  const prebuilt = env("JSEC_SHIM");
  if (prebuilt) {
    if (!exists(prebuilt)) shimUnavailable(`JSEC_SHIM points at ${prebuilt}, which does not exist`);
    return { path: prebuilt, opensslVersion: "prebuilt" };
  }
  const prefix = env("JSEC_OPENSSL_PREFIX");
  const version = opensslHeaderVersion(prefix);
  const key = `${sourceHash()}-openssl${version}-${runtime}${prefix ? "-" + hashOf(prefix) : ""}`;
  const dir = cacheDir();
  const path = join(dir, `libjsec-${key}.so`);
  if (!exists(path, dir)) build(runtime, path, prefix);
  return { path, opensslVersion: version };
}

/** The cache folder: `$JSEC_CACHE_DIR`, else `$XDG_CACHE_HOME/jsec`, else `$HOME/.cache/jsec`. */
function cacheDir(): string {
  const explicit = env("JSEC_CACHE_DIR");
  if (explicit) return explicit;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "jsec");
  const home = env("HOME");
  if (!home) return shimUnavailable("neither HOME nor XDG_CACHE_HOME is set: set JSEC_CACHE_DIR to a folder");
  return join(home, ".cache", "jsec");
}

/** Writes the sources into a fresh folder beside `path`, compiles them there, and moves the result in. */
function build(runtime: "deno" | "bun", path: string, prefix: string | undefined): void {
  const dir = join(path, "..");
  const work = `${path}.${process.pid}.src`;
  const tmp = `${path}.${process.pid}.tmp`;
  inCache(dir, `--allow-write=${dir}`, "to build the shim into its cache", () => {
    mkdirSync(work, { recursive: true });
    for (const [name, text] of Object.entries(shimSources)) writeFileSync(join(work, name), text);
  });
  try {
    const args = ["-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-o", tmp];
    if (prefix) args.push(`-I${prefix}/include`, `-L${prefix}/lib`, `-Wl,-rpath,${prefix}/lib`);
    const units = Object.keys(shimSources).filter((f) => f.endsWith(".c")).map((f) => join(work, f));
    compile(runtime, env("CC") ?? "cc", [...args, ...units, "-lssl", "-lcrypto"]);
    // atomic: a concurrent loader sees no half-written library
    inCache(dir, `--allow-write=${dir}`, "to build the shim into its cache", () => renameSync(tmp, path));
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(tmp, { force: true });
  }
}

/** The version in the OpenSSL headers we would compile against. */
function opensslHeaderVersion(prefix: string | undefined): string {
  const dirs = prefix ? [`${prefix}/include`] : ["/usr/include", "/usr/local/include"];
  for (const dir of dirs) {
    const file = join(dir, "openssl", "opensslv.h");
    if (!exists(file)) continue;
    const text = withPermission(
      `--allow-read=${file}`,
      "to read the OpenSSL version",
      () => readFileSync(file, "utf8"),
    );
    const m = /OPENSSL_VERSION_STR\s+"([^"]+)"/.exec(text) ??
      /OPENSSL_VERSION_TEXT\s+"OpenSSL ([^ "]+)/.exec(text);
    if (m) return m[1];
  }
  return shimUnavailable(
    `no OpenSSL headers in ${dirs.join(" or ")}: install them (Debian: apt-get install libssl-dev)` +
      " or set JSEC_SHIM to a prebuilt shim",
  );
}

/** An environment variable, "" counting as unset. */
function env(name: string): string | undefined {
  return withPermission(`--allow-env=${name}`, "to find the shim", () => process.env[name]) || undefined;
}

/**
 * Runs a file-system step of the build; a missing Deno permission names `flag`, any other failure
 * (read-only folder, a file where a folder should be) says how to move the cache.
 */
function inCache<T>(dir: string, flag: string, purpose: string, fn: () => T): T {
  try {
    return withPermission(flag, purpose, fn);
  } catch (e) {
    if ((e as { code?: string }).code === "SHIM_UNAVAILABLE") throw e;
    return shimUnavailable(
      `cannot use the shim cache ${dir} (${(e as Error).message}): set JSEC_CACHE_DIR to a writable folder` +
        " or JSEC_SHIM to a prebuilt shim",
      e,
    );
  }
}

/** Whether `path` exists; a missing read permission names `--allow-read=<scope>`. */
function exists(path: string, scope = path): boolean {
  return inCache(scope, `--allow-read=${scope}`, "to find the shim", () => {
    try {
      statSync(path);
      return true;
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT" || (e as { code?: string }).code === "ENOTDIR") {
        return false;
      }
      throw e;
    }
  });
}

let sourceKey: string | undefined;

/** A short hash over the sources' names and texts. */
function sourceHash(): string {
  if (sourceKey === undefined) {
    const hash = createHash("sha256");
    for (const [name, text] of Object.entries(shimSources)) hash.update(name).update(text);
    sourceKey = hash.digest("hex").slice(0, 16);
  }
  return sourceKey;
}

function hashOf(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 8);
}
