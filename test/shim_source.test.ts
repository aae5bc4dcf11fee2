/**
 * `ffi/shim_source.ts` carries exactly the C sources in `c-shim/`: the build
 * compiles those texts, not the files, wherever the library is installed from.
 */
import assert from "node:assert/strict";
import { shimSources } from "../ffi/shim_source.ts";
import { readShimSources, renderShimSource } from "../scripts/shim_source.ts";
import { readFileSync } from "node:fs";
import { test } from "./harness.ts";

const fix = "rerun: deno run --allow-read=c-shim --allow-write=ffi/shim_source.ts scripts/shim_source.ts";

test("ffi/shim_source.ts holds every c-shim/*.c and *.h, byte for byte", () => {
  const onDisk = readShimSources(new URL("../c-shim/", import.meta.url));
  assert.deepEqual(Object.keys(shimSources), Object.keys(onDisk), fix);
  for (const [name, text] of Object.entries(onDisk)) assert.equal(shimSources[name], text, `${name}: ${fix}`);
  const generated = readFileSync(new URL("../ffi/shim_source.ts", import.meta.url), "utf8");
  assert.equal(generated, renderShimSource(onDisk), fix);
});
