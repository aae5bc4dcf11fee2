/**
 * Runs one figure over a set of pairs: starts one server per distinct
 * server side, reads what each pair negotiates (through the wire probe),
 * then measures every pair once per round, interleaved.
 *
 * @module
 */
import type { CertSet } from "./certs.ts";
import { oursCiphers, oursGroups, type Pair, type Side, type Stack } from "./contenders.ts";
import { probe } from "./negotiated.ts";
import { type PeerTls, runClient, ServerPeer } from "./procs.ts";
import { type Row, rowsOf } from "./results.ts";
import { interleave } from "./rounds.ts";

/** TLS settings of one figure: certificate type and version range. */
export interface Setting {
  name: string;
  certs: CertSet;
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /** Our client resumes sessions; the other stacks do what they do by default. */
  resume?: boolean;
}

/** One number a task's result yields, and how to name it. */
export interface Metric {
  figure: string;
  unit: string;
  better: "higher" | "lower";
  pick: (result: Record<string, unknown>) => number;
}

/** The TLS settings a peer of `pair` on `side` gets. */
export function peerTls(pair: Pair, side: Side, setting: Setting): PeerTls {
  return {
    ...setting.certs,
    ciphers: side.stack === "ours" ? oursCiphers(pair.client.runtime) : undefined,
    groups: side.stack === "ours" ? oursGroups(pair.client.runtime) : undefined,
    minVersion: setting.minVersion,
    maxVersion: setting.maxVersion,
    resume: setting.resume,
  };
}

/** Whether the pair can run with `setting` (Deno's own TLS cannot be held to TLS 1.2). */
export function canRun(pair: Pair, setting: Setting): boolean {
  if (setting.maxVersion !== "TLSv1.2") return true;
  return !(pair.server.runtime === "deno" && pair.server.stack === "native");
}

/** Stacks the wire probe (negotiated.ts) can read: TLS over TCP. */
const probed = (stack: Stack) => stack === "ours" || stack === "native";

const negotiatedCache = new Map<string, string>();
let probing = true;

/** Turns the wire probe of what each pair negotiates on or off. */
export function setProbing(on: boolean): void {
  probing = on;
}

/** Runs `task` for every pair over `rounds` rounds; rows for each metric. */
export async function runFigure(opts: {
  pairs: Pair[];
  setting: Setting;
  rounds: number;
  task: Record<string, unknown>;
  timeoutMs: number;
  metrics: Metric[];
  log: (line: string) => void;
}): Promise<Row[]> {
  const { setting, log } = opts;
  const pairs = opts.pairs.filter((p) => canRun(p, setting));
  const servers = new Map<string, ServerPeer>();
  const serverKey = (p: Pair) => `${p.server.runtime}/${p.server.stack}/${oursCiphers(p.client.runtime)}`;
  const errors = new Map<string, string>();
  const negotiated = new Map<string, string>();
  try {
    for (const pair of pairs) {
      const key = serverKey(pair);
      if (servers.has(key)) continue;
      try {
        servers.set(key, await ServerPeer.start(pair.server, peerTls(pair, pair.server, setting)));
      } catch (e) {
        errors.set(pair.id, `server: ${(e as Error).message.slice(0, 200)}`);
      }
    }
    for (const pair of pairs) {
      const server = servers.get(serverKey(pair));
      if (!server || !probed(pair.client.stack)) continue;
      const cacheKey = `${pair.id}/${setting.name}`;
      if (probing && !negotiatedCache.has(cacheKey)) {
        try {
          const seen = await probe(server.port, (port) =>
            runClient(pair.client, {
              tls: peerTls(pair, pair.client, setting),
              port,
              task: { kind: "handshakes", seconds: 5, concurrency: 1, maxCount: 3 },
            }, 30_000));
          const first = seen.first;
          const resumed = seen.flights.filter((f) => f.resumed).length;
          // Where resumption is the point, say so even when nothing resumed.
          const note = resumed || setting.resume ? ` (resumed ${resumed} of ${seen.flights.length})` : "";
          if (first) negotiatedCache.set(cacheKey, `${first.protocol} ${first.cipher} ${first.group}${note}`);
        } catch (e) {
          log(`  probe ${pair.id}: ${(e as Error).message.split("\n")[0]}`);
        }
      }
      const n = negotiatedCache.get(cacheKey);
      if (n) negotiated.set(pair.id, n);
    }
    const runnable = pairs.filter((p) => servers.has(serverKey(p)));
    const { samples, errors: runErrors } = await interleave(
      runnable.map((p) => p.id),
      opts.rounds,
      async (id) => {
        const pair = runnable.find((p) => p.id === id)!;
        const result = await runClient<Record<string, unknown>>(pair.client, {
          tls: peerTls(pair, pair.client, setting),
          port: servers.get(serverKey(pair))!.port,
          task: opts.task,
        }, opts.timeoutMs);
        return { value: opts.metrics[0].pick(result), info: result };
      },
      log,
    );
    for (const [k, v] of runErrors) errors.set(k, v);
    // Stacks the probe cannot read (DTLS) say what they negotiated in their result.
    for (const [id, list] of samples) {
      const said = (list[0]?.info as { negotiated?: unknown } | undefined)?.negotiated;
      if (!negotiated.has(id) && typeof said === "string") negotiated.set(id, said);
    }
    return opts.metrics.flatMap((m) => {
      const picked = new Map(
        [...samples].map(([id, list]) => [
          id,
          list.map((s) => ({ ...s, value: m.pick(s.info as Record<string, unknown>) })),
        ]),
      );
      return rowsOf(m.figure, m.unit, m.better, pairs, picked, errors, negotiated);
    });
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()));
  }
}
