/**
 * One worker of a `reusePort` cluster, for tests and the cluster benchmark:
 * listens on the given port beside its siblings with the given ticket keys,
 * writes its name to each client, then closes. Prints `ready` once it listens
 * and, when its stdin ends, the number of handshakes it served, then exits.
 *
 * Run: `deno run -A --unstable-net ticket_worker.ts '<json>'` or
 * `bun ticket_worker.ts '<json>'`, the JSON a {@link WorkerConfig}.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { listen } from "../../mod.ts";

/** What a worker is told. */
export interface WorkerConfig {
  /** Its name, written to each client (tells the workers apart). */
  name: string;
  port: number;
  certFile: string;
  keyFile: string;
  /** The cluster's ticket keys, hex. */
  ticketKeys: string;
}

/** The command line that runs this program in the current runtime with `config`. */
export function workerCommand(config: WorkerConfig): [string, string[]] {
  const file = fileURLToPath(import.meta.url);
  const json = JSON.stringify(config);
  return "Bun" in globalThis
    ? [process.execPath, [file, json]]
    : [process.execPath, ["run", "-A", "--unstable-net", file, json]];
}

async function serve(config: WorkerConfig): Promise<void> {
  const server = listen({
    hostname: "127.0.0.1",
    port: config.port,
    reusePort: true,
    cert: readFileSync(config.certFile, "utf8"),
    key: readFileSync(config.keyFile, "utf8"),
    ticketKeys: Uint8Array.from(config.ticketKeys.match(/../g)!, (h) => parseInt(h, 16)),
  });
  const greeting = new TextEncoder().encode(`${config.name}\n`);
  let served = 0;
  process.stdin.on("data", () => {});
  process.stdin.on("end", () => {
    server.close();
    process.stdout.write(`served ${served}\n`, () => process.exit(0));
  });
  process.stdout.write("ready\n");
  for await (const conn of server) {
    served++;
    conn.write(greeting).then(() => conn.close(), () => conn.close());
  }
}

if (import.meta.main) await serve(JSON.parse(process.argv[process.argv.length - 1]));
