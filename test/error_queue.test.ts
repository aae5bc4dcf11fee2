/**
 * Every shim entry point that can fail clears OpenSSL's (per-thread) error
 * queue first, so a reason left there by some earlier call never shows up in
 * a later, unrelated message. The stale reason is planted through libcrypto
 * itself (a failed `BIO_new_file`), called over FFI on the same thread.
 */
import assert from "node:assert/strict";
import { cString, lastError, opensslVersion, shim } from "../ffi/mod.ts";
import { test } from "./harness.ts";

/** Leaves "no such file" (and a system error) on this thread's OpenSSL error queue. */
const plantStaleError: () => void = await (async () => {
  const major = /OpenSSL (\d+)\.(\d+)/.exec(opensslVersion())!;
  const library = major[1] === "1" ? "libcrypto.so.1.1" : `libcrypto.so.${major[1]}`;
  const path = cString("/nonexistent/jsec-test")!, mode = cString("r")!;
  if ("Bun" in globalThis) {
    const specifier = "bun:ffi";
    const { dlopen } = await import(specifier);
    const lib = dlopen(library, { BIO_new_file: { args: ["ptr", "ptr"], returns: "ptr" } });
    return () => void lib.symbols.BIO_new_file(path, mode);
  }
  const lib = Deno.dlopen(library, { BIO_new_file: { parameters: ["buffer", "buffer"], result: "pointer" } });
  return () => void lib.symbols.BIO_new_file(path, mode);
})();

test("a failing entry point reports its own reason, never one left on the error queue before", () => {
  const client = shim.jsec_ctx_new(0), server = shim.jsec_ctx_new(1);
  try {
    const failures: [string, () => number, RegExp][] = [
      ["jsec_ctx_alpn", () => shim.jsec_ctx_alpn(client, new Uint8Array([9, 1]), 2), /^bad ALPN list$/],
      ["jsec_ctx_ocsp", () => shim.jsec_ctx_ocsp(client, 7), /^unknown OCSP mode$/],
      ["jsec_ctx_resumption", () => shim.jsec_ctx_resumption(client, 1), /^a client resumes/],
      ["jsec_ctx_crl", () => shim.jsec_ctx_crl(server, new Uint8Array(1), 0, 0), /^no CRL given$/],
    ];
    for (const [name, fail, reason] of failures) {
      plantStaleError();
      assert.ok(fail() < 0, `${name} did not fail`);
      const text = lastError();
      assert.match(text, reason, name);
      assert.doesNotMatch(text, /no such file|system lib/i, `${name} reported a stale reason`);
    }
  } finally {
    shim.jsec_ctx_free(client);
    shim.jsec_ctx_free(server);
  }
});
