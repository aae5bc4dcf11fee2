/**
 * CPU per handshake pair, measured directly: the process CPU time (user +
 * system, `process.cpuUsage()`) the client spends over N handshakes plus what
 * the server process spends meanwhile, divided by N. For ours, the in-memory
 * floor of the same kind, full or resumed (client and server engines in one
 * thread doing the same TLS work per connection: libssl + libcrypto + shim,
 * from `inMemoryFigures` run in the client's runtime, also in process CPU
 * time) is taken off, which leaves what our transport, the runtime and the
 * kernel cost per connection pair. The native pairs show their total: their
 * crypto cannot be split off the same way. A measurement
 * that errs (not one that is merely slow) is returned in `errors`: the run
 * counts it failed, so that the smoke run keeps the figure from rotting.
 *
 * @module
 */
import { allPairs } from "../contenders.ts";
import { peerTls, type Setting } from "../figure.ts";
import { runClient, ServerPeer } from "../procs.ts";
import type { Results } from "../results.ts";

type Ref = Results["references"][number];

const PAIRS = ["deno/ours", "bun/ours", "deno/native", "bun/native"];

export async function handshakeCpuFigures(opts: {
  settings: Setting[];
  /** Handshakes per measurement. */
  count: number;
  concurrency: number;
  /** CPU of one handshake pair in memory (ms) in that runtime, full and resumed; undefined when not measured. */
  floorMs: (runtime: "Deno" | "Bun") => { full?: number; resumed?: number };
  only?: (id: string) => boolean;
  log: (line: string) => void;
}): Promise<{ refs: Ref[]; errors: string[] }> {
  const refs: Ref[] = [];
  const errors: string[] = [];
  const pairs = allPairs().filter((p) => PAIRS.includes(p.id) && (opts.only?.(p.id) ?? true));
  for (const setting of opts.settings) {
    for (const pair of pairs) {
      opts.log(`handshake CPU ${setting.name}: ${pair.id}, ${opts.count} × ${opts.concurrency} concurrent`);
      const where = `${pair.label}, ${setting.name}, ${opts.concurrency} concurrent`;
      try {
        const server = await ServerPeer.start(pair.server, peerTls(pair, pair.server, setting));
        let client: { count: number; cpuMs: number };
        let serverMs: number;
        try {
          const before = await server.cpuMs();
          client = await runClient(pair.client, {
            tls: peerTls(pair, pair.client, setting),
            port: server.port,
            task: { kind: "handshakes", seconds: 120, concurrency: opts.concurrency, maxCount: opts.count },
          }, 180_000);
          serverMs = (await server.cpuMs()) - before;
        } finally {
          await server.stop();
        }
        const total = (client.cpuMs + serverMs) / client.count;
        const split = `client ${(client.cpuMs / client.count).toFixed(3)} ms + server ${
          (serverMs / client.count).toFixed(3)
        } ms per handshake, N = ${client.count}`;
        refs.push({ what: `CPU per handshake pair: ${where}`, value: total, unit: "ms", note: split });
        const floors = opts.floorMs(pair.client.runtime === "bun" ? "Bun" : "Deno");
        const floor = setting.resume ? floors.resumed : floors.full;
        if (pair.client.stack === "ours" && floor !== undefined) {
          refs.push({
            what: `CPU per handshake pair outside libssl: ${where}`,
            value: total - floor,
            unit: "ms",
            note: `total ${total.toFixed(3)} ms − in-memory floor ${floor.toFixed(3)} ms`,
          });
        }
      } catch (e) {
        errors.push(`${where}: ${(e as Error).message.split("\n")[0].slice(0, 200)}`);
        refs.push({
          what: `CPU per handshake pair: ${where}`,
          value: NaN,
          unit: "ms",
          note: `failed: ${(e as Error).message.split("\n")[0].slice(0, 200)}`,
        });
      }
    }
  }
  return { refs, errors };
}
