/**
 * Provenance of a results file: the commit it was produced at, whether the
 * work tree was dirty, and a content hash of the library code it exercised.
 * The hash, not the commit, is what a test compares with the current tree:
 * committing the results moves HEAD, but leaves the library's hash alone.
 *
 * The library code is the entry points (`mod.ts`, `engine.ts`, `ca.ts`,
 * `dtls.ts`, `cli.ts`, where present) and everything under `lib/`, `ffi/` and
 * `c-shim/`, except build outputs (`*.so`). Runs under Deno, Bun and Node.
 * @module
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** What a results file records about the code it describes. */
export interface Provenance {
  /** `git rev-parse HEAD` when the run started, or "unknown" outside a git checkout. */
  commit: string;
  /** True when tracked files had uncommitted changes when the run started. */
  dirty: boolean;
  /** {@link libraryHash} of the tree the run exercised. */
  libraryHash: string;
}

const ENTRY_POINTS = ["mod.ts", "engine.ts", "ca.ts", "dtls.ts", "cli.ts"];
const FOLDERS = ["lib", "ffi", "c-shim"];
const SKIP = /\.so$/;

/**
 * The library's files under `root`, as sorted repository-relative paths.
 * @example
 * ```ts
 * import { libraryFiles } from "./provenance.ts";
 * console.log(libraryFiles(".").length);
 * ```
 */
export function libraryFiles(root: string): string[] {
  const out = ENTRY_POINTS.filter((f) => existsSync(join(root, f)));
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = `${rel}/${name}`;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (!SKIP.test(name)) out.push(path);
    }
  };
  for (const dir of FOLDERS) if (existsSync(join(root, dir))) walk(dir);
  return out.sort();
}

/**
 * sha256 over the library's files (each path and its bytes), as "sha256:<hex>".
 * @example
 * ```ts
 * import { libraryHash } from "./provenance.ts";
 * console.log(libraryHash(".")); // "sha256:…"
 * ```
 */
export function libraryHash(root: string): string {
  const h = createHash("sha256");
  for (const path of libraryFiles(root)) {
    const bytes = readFileSync(join(root, path));
    h.update(`${path}\0${bytes.length}\0`);
    h.update(bytes);
  }
  return `sha256:${h.digest("hex")}`;
}

function git(root: string, args: string[]): string | null {
  try {
    return execFileSync("git", ["-C", root, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    })
      .trim();
  } catch {
    return null;
  }
}

/**
 * The provenance of a run starting now in the checkout at `root`.
 * @example
 * ```ts
 * import { provenance } from "./provenance.ts";
 * const p = provenance(".");
 * console.log(p.commit, p.dirty, p.libraryHash);
 * ```
 */
export function provenance(root: string): Provenance {
  const status = git(root, ["status", "--porcelain", "--untracked-files=no"]);
  return {
    commit: git(root, ["rev-parse", "HEAD"]) ?? "unknown",
    dirty: status === null ? true : status.length > 0,
    libraryHash: libraryHash(root),
  };
}
