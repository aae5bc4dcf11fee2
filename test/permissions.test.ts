/**
 * Deno permissions, exactly as the README states them: a client and a server
 * run under the first-run flags (building the shim into an empty cache) and
 * under the later-run flags, and nothing more; importing needs no permission;
 * a missing flag is a TlsError that names it. Both runtimes run these tests
 * (they spawn Deno: permissions are Deno's).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { readmeFlags } from "../scripts/readme_flags.ts";
import { test } from "./harness.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const deno = join(root, "node_modules", ".bin", "deno");

/**
 * Runs `deno run --no-prompt <flags> <file>` with a bare environment whose HOME is `home`. The shim's
 * variables are set empty (meaning unset): under Deno, a child's `env` does not hide the parent's.
 */
function denoRun(home: string, flags: string[], file: string): { status: number | null; output: string } {
  const unset = { JSEC_SHIM: "", JSEC_CACHE_DIR: "", JSEC_OPENSSL_PREFIX: "", XDG_CACHE_HOME: "" };
  const env: Record<string, string> = { ...unset, HOME: home, PATH: process.env.PATH ?? "/usr/bin:/bin" };
  const r = spawnSync(deno, ["run", "--no-prompt", ...flags, file], { env, cwd: root, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test("a client and a server run under exactly the README's first-run flags, then its later-run flags", () => {
  const home = mkdtempSync(join(tmpdir(), "jsec-home-"));
  try {
    const flags = readmeFlags(home);
    const app = join(root, "test", "support", "permission_app.ts");
    const first = denoRun(home, flags.firstRun, app);
    assert.equal(first.output.trim(), "ok", first.output);
    assert.equal(readdirSync(join(home, ".cache", "jsec")).filter((f) => f.endsWith("-deno.so")).length, 1);
    const later = denoRun(home, flags.laterRun, app);
    assert.equal(later.output.trim(), "ok", later.output);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}, { timeout: 120_000 });

test("importing every entry point needs no permission and builds nothing", () => {
  const home = mkdtempSync(join(tmpdir(), "jsec-home-"));
  try {
    const program = join(home, "imports.ts");
    const entries = ["mod.ts", "engine.ts", "ca.ts", "cli.ts"].map((f) => JSON.stringify(join(root, f)));
    writeFileSync(
      program,
      `${entries.map((e, i) => `import * as m${i} from ${e};`).join("\n")}
console.log([m0, m1, m2, m3].map((m) => Object.keys(m).length > 0).join(","));`,
    );
    const r = denoRun(home, [], program);
    assert.equal(r.output.trim(), "true,true,true,true", r.output);
    assert.equal(existsSync(join(home, ".cache", "jsec")), false);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}, { timeout: 60_000 });

test("each missing flag is a TlsError(SHIM_UNAVAILABLE) that names it", () => {
  const home = mkdtempSync(join(tmpdir(), "jsec-home-"));
  try {
    const { firstRun, laterRun } = readmeFlags(home);
    const app = join(root, "test", "support", "permission_app.ts");
    const cache = join(home, ".cache", "jsec");
    const without = (flags: string[], prefix: string) => flags.filter((f) => !f.startsWith(prefix));
    const noRun = denoRun(home, without(firstRun, "--allow-run"), app);
    assert.match(noRun.output, /TlsError: Deno needs --allow-run=cc to build the shim/);
    assert.equal(denoRun(home, firstRun, app).output.trim(), "ok");
    const noFfi = denoRun(home, without(laterRun, "--allow-ffi"), app);
    assert.match(noFfi.output, new RegExp(`TlsError: Deno needs --allow-ffi=${cache} to load the shim`));
    const noEnv = denoRun(home, without(laterRun, "--allow-env"), app);
    assert.match(noEnv.output, /TlsError: Deno needs --allow-env=JSEC_SHIM to find the shim/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}, { timeout: 120_000 });

test(
  "DTLS runs under the later-run flags with --allow-net for the server and the client's wildcard bind",
  () => {
    const home = mkdtempSync(join(tmpdir(), "jsec-home-"));
    try {
      const { firstRun, laterRun } = readmeFlags(home);
      const app = join(root, "test", "support", "permission_dtls_app.ts");
      const net = (hosts: string) =>
        laterRun.map((f) => f.startsWith("--allow-net") ? `--allow-net=${hosts}` : f);
      assert.equal(
        denoRun(home, firstRun, join(root, "test", "support", "permission_app.ts")).output.trim(),
        "ok",
      );
      const noWildcard = denoRun(home, net("127.0.0.1"), app);
      assert.match(
        noWildcard.output,
        /TlsError: cannot bind UDP 0\.0\.0\.0:0: Deno needs --allow-net=0\.0\.0\.0/,
      );
      const r = denoRun(home, net("127.0.0.1,0.0.0.0"), app);
      assert.equal(r.output.trim(), "ok", r.output);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  },
  { timeout: 120_000 },
);
