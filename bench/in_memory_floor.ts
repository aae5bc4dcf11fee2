/**
 * The in-memory figures of `figures/in_memory.ts` measured in a Bun process,
 * so that Bun's CPU per handshake pair has a floor of its own runtime (the FFI
 * crossings and the engine's JavaScript differ between runtimes; libssl's
 * work does not). Prints the figures as one line of JSON.
 *
 *   bun bench/in_memory_floor.ts '{"certFile":…,"keyFile":…,"caFile":…}' [--smoke]
 * @module
 */
import type { CertSet } from "./certs.ts";
import { inMemoryFigures } from "./figures/in_memory.ts";

const certs = JSON.parse(process.argv[2]) as CertSet;
const refs = inMemoryFigures({ certs, smoke: process.argv.includes("--smoke"), log: () => {} });
console.log(JSON.stringify(refs));
