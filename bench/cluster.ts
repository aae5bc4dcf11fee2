/**
 * Handshakes per second of a `reusePort` cluster with 1 and 2 worker
 * processes (test/support/ticket_worker.ts: P-256 certificate, one shared
 * ticket-key set). The load is `openssl s_time -new` (full TLS 1.3 handshakes,
 * one at a time per client process), from `clients` processes at once; each
 * figure is the handshakes the workers completed over the load's wall time.
 *
 * Run: `deno run -A --unstable-net bench/cluster.ts [seconds] [clients]` or
 * `bun bench/cluster.ts [seconds] [clients]` (the workers run in the same runtime).
 *
 * @module
 */
import process from "node:process";
import { benchCerts } from "./certs.ts";
import { freePort, Peer } from "../test/support/openssl.ts";
import { workerCommand } from "../test/support/ticket_worker.ts";

const args = process.argv.slice(2).filter((a) => /^\d+$/.test(a));
const seconds = Number(args[0] ?? 5);
const clients = Number(args[1] ?? 4);

/** Full handshakes per second that `clients` s_time processes get from `workers` workers. */
async function measure(workers: number): Promise<{ rate: number; served: number[] }> {
  const certs = benchCerts().p256;
  const port = await freePort();
  const ticketKeys = Array.from(
    crypto.getRandomValues(new Uint8Array(80)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  const running = Array.from({ length: workers }, (_, i) => {
    const [command, argv] = workerCommand({ name: `w${i}`, port, ...certs, ticketKeys });
    return new Peer(command, argv);
  });
  try {
    await Promise.all(running.map((w) => w.waitFor(/ready\n/, "stdout", 30_000)));
    const started = performance.now();
    const load = Array.from(
      { length: clients },
      () =>
        new Peer("openssl", ["s_time", "-connect", `127.0.0.1:${port}`, "-new", "-time", String(seconds)]),
    );
    await Promise.all(load.map((p) => p.waitExit((seconds + 30) * 1000)));
    const elapsed = (performance.now() - started) / 1000;
    for (const w of running) w.endInput();
    const served = await Promise.all(
      running.map(async (w) => Number((await w.waitFor(/served (\d+)/, "stdout"))[1])),
    );
    const rate = served.reduce((a, b) => a + b, 0) / elapsed;
    return { rate, served };
  } finally {
    await Promise.all(running.map((w) => w.stop()));
  }
}

const runtime = "Bun" in globalThis ? "bun" : "deno";
for (const workers of [1, 2]) {
  const { rate, served } = await measure(workers);
  console.log(
    `${runtime}: ${workers} worker(s), ${clients} s_time clients, ${seconds}s: ${
      Math.round(rate)
    } handshakes/s` +
      ` (served per worker: ${served.join(", ")})`,
  );
}
process.exit(0);
