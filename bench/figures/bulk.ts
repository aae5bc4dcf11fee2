/**
 * Bulk: `bytes` one way over one connection, 16 KiB application writes,
 * upload (client → server) and download (server → client), MB/s.
 *
 * @module
 */
import { allPairs } from "../contenders.ts";
import { runFigure, type Setting } from "../figure.ts";
import type { Row } from "../results.ts";

export async function bulkFigures(opts: {
  setting: Setting;
  bytes: number;
  rounds: number;
  only?: (id: string) => boolean;
  log: (line: string) => void;
}): Promise<Row[]> {
  const pairs = allPairs().filter((p) => p.in.includes("bulk") && (opts.only?.(p.id) ?? true));
  const rows: Row[] = [];
  for (const [op, name] of [["U", "upload"], ["D", "download"]] as const) {
    opts.log(`bulk ${name}: ${opts.bytes / 2 ** 20} MiB`);
    rows.push(
      ...await runFigure({
        pairs,
        setting: opts.setting,
        rounds: opts.rounds,
        task: { kind: "bulk", op, bytes: opts.bytes },
        timeoutMs: 120_000,
        metrics: [{
          figure: `bulk ${name} ${opts.bytes / 2 ** 20} MiB`,
          unit: "MB/s",
          better: "higher",
          pick: (r) => r.mbps as number,
        }],
        log: opts.log,
      }),
    );
  }
  return rows;
}
