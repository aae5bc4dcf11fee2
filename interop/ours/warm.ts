/**
 * Loads @jsec/tls once (building the shim for this suite's libssl if needed)
 * and prints the OpenSSL version the shim runs on, as one JSON line.
 * Usage: `deno run -A interop/ours/warm.ts` or `bun interop/ours/warm.ts`.
 * @module
 */
import { builtAgainst, opensslVersion } from "../../mod.ts";

console.log(JSON.stringify({ opensslVersion: opensslVersion(), builtAgainst: builtAgainst() }));
