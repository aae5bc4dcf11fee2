/**
 * The native shim: bound to the system OpenSSL (not Bun's BoringSSL), built
 * on demand, and failing with SHIM_UNAVAILABLE when it cannot be.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { TlsContext, TlsEngine } from "../engine.ts";
import { shim } from "../ffi/mod.ts";
import { builtAgainst, opensslVersion } from "../mod.ts";
import { certs } from "./support/certs.ts";
import { test } from "./harness.ts";

test("the shim runs on the system's OpenSSL, the one the openssl CLI reports", () => {
  const cli = execFileSync("openssl", ["version"], { encoding: "utf8" }); // "OpenSSL 3.0.19 27 Jan 2026 (Library: ...)"
  const library = /Library: (OpenSSL [^ ]+)/.exec(cli)?.[1] ?? cli.split(" ").slice(0, 2).join(" ");
  assert.equal(opensslVersion().split(" ").slice(0, 2).join(" "), library);
  assert.doesNotMatch(opensslVersion(), /BoringSSL/);
  assert.ok(
    builtAgainst() === "prebuilt" || opensslVersion().includes(builtAgainst()),
    `${builtAgainst()} vs ${opensslVersion()}`,
  );
});

test("once loaded, the shim's functions are the native ones, not the stubs that load it", () => {
  opensslVersion();
  for (const name of ["jsec_live", "jsec_read_from", "jsec_write_into"] as const) {
    assert.doesNotMatch(String(shim[name]), /load\(\)/, name);
  }
});

test("it negotiates what only OpenSSL offers (TLS_AES_128_CCM_SHA256, ffdhe2048): not BoringSSL", () => {
  const c = certs();
  const suite = "TLS_AES_128_CCM_SHA256";
  const server = new TlsContext({
    isServer: true,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
    ciphers: suite,
    groups: "ffdhe2048",
  });
  const client = new TlsContext({ caCerts: [c.ca.cert], ciphers: suite, groups: "ffdhe2048" });
  const a = new TlsEngine(client, { verifyHost: "localhost" }), b = new TlsEngine(server);
  const buf = new Uint8Array(65536);
  for (let i = 0; i < 10 && !(a.handshake() && b.handshake()); i++) {
    b.receive(buf.subarray(0, a.takeOutput(buf)));
    b.handshake();
    a.receive(buf.subarray(0, b.takeOutput(buf)));
  }
  assert.equal(a.info().cipher, suite);
  assert.equal(a.info().group, "ffdhe2048");
  for (const x of [a, b, client, server]) x.free();
});

/** Runs a program importing the library and then loading the shim, in a child of this runtime. */
function childLoad(env: Record<string, string>): { status: number | null; output: string } {
  const modUrl = new URL("../mod.ts", import.meta.url).href;
  const program = `const m = await import(${JSON.stringify(modUrl)}); console.log("imported");
try { m.opensslVersion(); console.log("loaded"); }
catch (e) { console.log(e.name + " " + e.code + ": " + e.message); process.exit(3); }`;
  const dir = mkdtempSync(join(tmpdir(), "jsec-child-"));
  const file = join(dir, "child.mjs");
  writeFileSync(file, `import process from "node:process";\n${program}\n`);
  const isBun = "Bun" in globalThis;
  const args = isBun ? [file] : ["run", "-A", file];
  const result = spawnSync(process.execPath, args, {
    env: { ...process.env, ...env },
    encoding: "utf8",
    cwd: fileURLToPath(new URL("..", import.meta.url)),
  });
  rmSync(dir, { recursive: true, force: true });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test("without a C compiler or OpenSSL headers, SHIM_UNAVAILABLE names the package to install", () => {
  const cache = mkdtempSync(join(tmpdir(), "jsec-cache-"));
  try {
    const r = childLoad({ JSEC_CACHE_DIR: cache, CC: "/nonexistent/cc", JSEC_SHIM: "" });
    assert.equal(r.status, 3, r.output);
    assert.match(r.output, /imported\nTlsError SHIM_UNAVAILABLE: no C compiler .*apt-get install gcc/);
    const h = childLoad({ JSEC_CACHE_DIR: cache, JSEC_OPENSSL_PREFIX: "/nonexistent", JSEC_SHIM: "" });
    assert.equal(h.status, 3, h.output);
    assert.match(
      h.output,
      /imported\nTlsError SHIM_UNAVAILABLE: no OpenSSL headers .*apt-get install libssl-dev/,
    );
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test("a cache folder that cannot be written is SHIM_UNAVAILABLE saying how to move it", () => {
  const dir = mkdtempSync(join(tmpdir(), "jsec-cache-"));
  try {
    writeFileSync(join(dir, "file"), "not a folder");
    const r = childLoad({ JSEC_CACHE_DIR: join(dir, "file", "jsec"), JSEC_SHIM: "" });
    assert.equal(r.status, 3, r.output);
    assert.match(
      r.output,
      /TlsError SHIM_UNAVAILABLE: cannot use the shim cache .*set JSEC_CACHE_DIR to a writable folder/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("JSEC_SHIM pointing nowhere is SHIM_UNAVAILABLE; a fresh cache builds and loads", () => {
  const missing = childLoad({ JSEC_SHIM: "/nonexistent/libjsec.so" });
  assert.equal(missing.status, 3, missing.output);
  assert.match(missing.output, /imported\nTlsError SHIM_UNAVAILABLE: JSEC_SHIM points at \/nonexistent/);
  const cache = mkdtempSync(join(tmpdir(), "jsec-cache-"));
  try {
    const fresh = childLoad({ JSEC_CACHE_DIR: cache, JSEC_SHIM: "" });
    assert.match(fresh.output, /loaded/);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

/**
 * A C program that dlopens a shim built from c-shim/, makes a context (which
 * initialises OpenSSL), and says which exit handlers libcrypto registered: it
 * interposes `__cxa_atexit`, through which glibc's `atexit` registers them.
 */
const EXIT_HANDLERS_PROBE = String.raw`
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
static int from_libcrypto;
int __cxa_atexit(void (*fn)(void *), void *arg, void *dso) {
  Dl_info info;
  if (dladdr((void *)fn, &info) && info.dli_fname && strstr(info.dli_fname, "libcrypto")) from_libcrypto++;
  int (*real)(void (*)(void *), void *, void *) = (int (*)(void (*)(void *), void *, void *))dlsym(RTLD_NEXT, "__cxa_atexit");
  return real(fn, arg, dso);
}
int main(int argc, char **argv) {
  void *shim = dlopen(argv[argc - 1], RTLD_NOW);
  if (!shim) { puts(dlerror()); return 2; }
  void *(*ctx_new)(int) = (void *(*)(int))dlsym(shim, "jsec_ctx_new");
  void (*ctx_free)(void *) = (void (*)(void *))dlsym(shim, "jsec_ctx_free");
  ctx_free(ctx_new(1));
  printf("libcrypto exit handlers: %d\n", from_libcrypto);
  return 0;
}
`;

test("libcrypto registers no exit handler: its cleanup would race the runtime's own teardown", () => {
  const dir = mkdtempSync(join(tmpdir(), "jsec-exit-"));
  try {
    const sources = fileURLToPath(new URL("../c-shim/", import.meta.url));
    const shimC = execFileSync("sh", ["-c", `ls ${sources}*.c`], { encoding: "utf8" }).trim().split("\n");
    execFileSync("cc", [
      "-O1",
      "-fPIC",
      "-shared",
      "-o",
      join(dir, "shim.so"),
      ...shimC,
      "-lssl",
      "-lcrypto",
    ]);
    writeFileSync(join(dir, "probe.c"), EXIT_HANDLERS_PROBE);
    execFileSync("cc", ["-rdynamic", "-o", join(dir, "probe"), join(dir, "probe.c"), "-ldl"]);
    const out = execFileSync(join(dir, "probe"), [join(dir, "shim.so")], { encoding: "utf8" });
    assert.equal(out.trim(), "libcrypto exit handlers: 0");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
