/**
 * The committed interop and bench results describe the library code beside
 * them: each records the hash of the library it exercised, and that hash must
 * be the current tree's. Stale or unlabelled results fail (never skip): the
 * README quotes them as current. Regenerate them as interop/README.md and the
 * README's benchmark section say.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { libraryFiles, libraryHash, type Provenance } from "../interop/lib/provenance.ts";
import { test } from "./harness.ts";

const root = fileURLToPath(new URL("../", import.meta.url));

for (const file of ["interop/results.json", "bench/results.json"]) {
  test(`${file} was produced from the library code in this tree`, () => {
    const results = JSON.parse(readFileSync(join(root, file), "utf8")) as { provenance?: Provenance };
    assert.ok(results.provenance, `${file} records no provenance: regenerate it`);
    assert.match(results.provenance.commit, /^[0-9a-f]{40}$/, `${file}: commit`);
    assert.equal(
      results.provenance.libraryHash,
      libraryHash(root),
      `${file} describes other library code (commit ${results.provenance.commit}): regenerate it`,
    );
  });
}

test("the library hash covers the entry points, lib/, ffi/ and c-shim/, and nothing else", () => {
  const dir = mkdtempSync(join(tmpdir(), "jsec-provenance-"));
  try {
    for (const d of ["lib/tls", "ffi", "c-shim", "interop", "test"]) {
      mkdirSync(join(dir, d), { recursive: true });
    }
    const files: Record<string, string> = {
      "mod.ts": "export {};\n",
      "lib/tls/conn.ts": "export const a = 1;\n",
      "ffi/mod.ts": "export const b = 2;\n",
      "c-shim/jsec.c": "int x;\n",
      "c-shim/libjsec.so": "binary",
      "interop/main.ts": "harness\n",
      "test/a.test.ts": "test\n",
      "README.md": "readme\n",
    };
    for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
    assert.deepEqual(libraryFiles(dir), ["c-shim/jsec.c", "ffi/mod.ts", "lib/tls/conn.ts", "mod.ts"]);
    const before = libraryHash(dir);
    assert.match(before, /^sha256:[0-9a-f]{64}$/);
    for (const path of ["interop/main.ts", "test/a.test.ts", "README.md", "c-shim/libjsec.so"]) {
      writeFileSync(join(dir, path), "changed\n");
    }
    assert.equal(libraryHash(dir), before, "files outside the library leave the hash alone");
    for (const path of ["mod.ts", "lib/tls/conn.ts", "ffi/mod.ts", "c-shim/jsec.c"]) {
      const original = files[path];
      writeFileSync(join(dir, path), original + " ");
      assert.notEqual(libraryHash(dir), before, `a change to ${path} changes the hash`);
      writeFileSync(join(dir, path), original);
    }
    writeFileSync(join(dir, "lib/tls/new.ts"), "");
    assert.notEqual(libraryHash(dir), before, "a new library file changes the hash");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
