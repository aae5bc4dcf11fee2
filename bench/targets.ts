/**
 * The targets, checked against the ratios of one run.
 *
 * @module
 */
import type { Row } from "./results.ts";

export interface Target {
  target: string;
  value: string;
  met: boolean | null;
}

function check(
  rows: Row[],
  match: (r: Row) => boolean,
  name: string,
  ok: (ratio: number) => boolean,
): Target[] {
  return rows.filter(match).map((r) => ({
    target: `${name}: ${r.figure}, ${r.label}`,
    value: r.ratio === null ? "no ratio" : `${r.ratio.toFixed(2)}×`,
    met: r.ratio === null ? null : ok(r.ratio),
  }));
}

/** Targets for ours ↔ ours in Deno and Bun (libssl of the host). */
export function targetsOf(rows: Row[]): Target[] {
  const ours = (r: Row) =>
    (r.contender === "deno/ours" || r.contender === "bun/ours") && !r.figure.includes("libssl");
  return [
    ...check(rows, (r) => ours(r) && r.figure.startsWith("bulk"), "bulk ≥ 1.00× native", (x) => x >= 1.0),
    ...check(
      rows,
      (r) => ours(r) && r.figure.startsWith("handshakes") && full(r),
      "handshakes ≥ 0.8× native",
      (x) => x >= 0.8,
    ),
    ...check(
      rows,
      (r) => ours(r) && r.figure === "ping-pong p50",
      "latency p50 ≤ 1.1× native",
      (x) => x <= 1.1,
    ),
    ...check(
      rows,
      (r) => likeNative(r) && r.figure.startsWith("memory") && r.figure.includes("RSS"),
      "memory ≤ native",
      (x) => x <= 1.0,
    ),
    ...check(
      rows,
      (r) => oursAny(r) && r.figure.startsWith("libssl 3.0: handshakes") && full(r),
      "handshakes ≥ 0.8× native (libssl 3.0 image)",
      (x) => x >= 0.8,
    ),
    ...fastestLibssl(rows),
    ...check(
      rows,
      (r) => (r.contender === "deno/dtls" || r.contender === "bun/dtls") && r.unit === "messages/s",
      "DTLS echo ≥ 0.6× plain UDP",
      (x) => x >= 0.6,
    ),
  ];
}

/**
 * Memory is compared like with like: Deno's own TLS is read with `read()`, as
 * ours through `TlsConn` is; Bun's own pushes its data, as our callback sockets do.
 */
const likeNative = (r: Row) => r.contender === "deno/ours" || r.contender === "bun/ours-push";
const oursAny = (r: Row) => r.contender === "deno/ours" || r.contender === "bun/ours";
/** The handshake targets are for full handshakes; resumed ones are a figure, not a target. */
const full = (r: Row) => !r.figure.includes("resumed");

/** Handshakes ≥ 1.0× native with the libssl that does best, per runtime and mode. */
function fastestLibssl(rows: Row[]): Target[] {
  const out: Target[] = [];
  const lib = rows.filter((r) =>
    oursAny(r) && /^libssl [\d.]+: handshakes/.test(r.figure) && full(r) && r.ratio !== null
  );
  const groups = new Map<string, Row[]>();
  for (const r of lib) {
    const key = `${r.contender} ${r.figure.replace(/^libssl [\d.]+: /, "")}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [key, list] of groups) {
    const best = list.reduce((a, b) => (b.ratio! > a.ratio! ? b : a));
    out.push({
      target: `handshakes ≥ 1.0× native with the fastest libssl: ${key} (best: ${best.figure.split(":")[0]})`,
      value: `${best.ratio!.toFixed(2)}×`,
      met: best.ratio! >= 1.0,
    });
  }
  return out;
}
