/**
 * Bulk: `bytes` one way over one connection, 16 KiB application writes,
 * upload (client → server) and download (server → client), MB/s.
 *
 * Each direction twice: between fresh processes, and between processes that
 * first moved as much on a connection of its own (untimed). JavaScriptCore
 * keeps compiling our hot path for most of the first GiB, taking CPU from the
 * transfer on a two-core machine: the fresh rows show that warm-up, the warm
 * rows the steady state a long-running process reaches.
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
  const runs = [["U", "upload", 0], ["D", "download", 0], ["U", "upload", 1], ["D", "download", 1]] as const;
  for (const [op, name, warm] of runs) {
    const figure = `bulk ${name} ${opts.bytes / 2 ** 20} MiB${warm ? ", warm processes" : ""}`;
    opts.log(figure);
    rows.push(
      ...await runFigure({
        pairs,
        setting: opts.setting,
        rounds: opts.rounds,
        task: { kind: "bulk", op, bytes: opts.bytes, warmup: warm ? opts.bytes : 0 },
        timeoutMs: 240_000,
        metrics: [{
          figure,
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
