/**
 * Handshakes per second: a new TCP connection each (TCP_NODELAY on), the
 * handshake, one byte each way (so the server finished too), close.
 * Sequential and 16 concurrent, for TLS 1.3 P-256, TLS 1.3 RSA-2048, TLS 1.2 P-256:
 * full handshakes (our client with `resumption: false`); and TLS 1.3 P-256
 * "resumed", where our client resumes the sessions it keeps and the runtimes'
 * own clients do what they do by default (the negotiated column says how many
 * of the probe's connections resumed).
 *
 * @module
 */
import { allPairs } from "../contenders.ts";
import { runFigure, type Setting } from "../figure.ts";
import type { Row } from "../results.ts";

export async function handshakeFigures(opts: {
  settings: Setting[];
  concurrency: number[];
  seconds: number;
  rounds: number;
  only?: (id: string) => boolean;
  log: (line: string) => void;
}): Promise<Row[]> {
  const pairs = allPairs().filter((p) => p.in.includes("handshakes") && (opts.only?.(p.id) ?? true));
  const rows: Row[] = [];
  for (const setting of opts.settings) {
    for (const concurrency of opts.concurrency) {
      const mode = concurrency === 1 ? "sequential" : `${concurrency} concurrent`;
      opts.log(`handshakes ${setting.name}, ${mode}`);
      rows.push(
        ...await runFigure({
          pairs,
          setting,
          rounds: opts.rounds,
          task: { kind: "handshakes", seconds: opts.seconds, concurrency, maxCount: 100_000 },
          timeoutMs: 60_000 + opts.seconds * 2000,
          metrics: [{
            figure: `handshakes/s ${setting.name} ${mode}`,
            unit: "handshakes/s",
            better: "higher",
            pick: (r) => r.perSecond as number,
          }],
          log: opts.log,
        }),
      );
    }
  }
  return rows;
}
