/**
 * Latency: 1-byte ping-pong over an established connection; the p50 and p99
 * round trip in µs.
 *
 * @module
 */
import { allPairs } from "../contenders.ts";
import { runFigure, type Setting } from "../figure.ts";
import type { Row } from "../results.ts";

export function latencyFigures(opts: {
  setting: Setting;
  count: number;
  rounds: number;
  only?: (id: string) => boolean;
  log: (line: string) => void;
}): Promise<Row[]> {
  const pairs = allPairs().filter((p) => p.in.includes("latency") && (opts.only?.(p.id) ?? true));
  opts.log(`latency: ${opts.count} round trips`);
  return runFigure({
    pairs,
    setting: opts.setting,
    rounds: opts.rounds,
    task: { kind: "pingpong", count: opts.count, warmup: Math.ceil(opts.count / 10) },
    timeoutMs: 120_000,
    metrics: [
      { figure: "ping-pong p50", unit: "µs", better: "lower", pick: (r) => r.p50us as number },
      { figure: "ping-pong p99", unit: "µs", better: "lower", pick: (r) => r.p99us as number },
    ],
    log: opts.log,
  });
}
