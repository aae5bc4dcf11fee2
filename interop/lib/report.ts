/**
 * Writing the results: `interop/results.json` (the format of issue 3) and
 * `interop/RESULTS.md`, a table per our runtime × libssl with one column per
 * peer and one row per case; each cell shows both directions (client/server).
 * @module
 */
import type { Provenance } from "./provenance.ts";
import type { CellResult, ResultsFile } from "./types.ts";

const MARK: Record<CellResult["status"], string> = { pass: "✅", fail: "❌", "n/a": "➖" };

/** Counts by status. */
export function tally(cells: CellResult[]): { pass: number; fail: number; na: number } {
  return {
    pass: cells.filter((c) => c.status === "pass").length,
    fail: cells.filter((c) => c.status === "fail").length,
    na: cells.filter((c) => c.status === "n/a").length,
  };
}

/** Write results.json: valid JSON with one cell per line, so diffs between runs stay readable. */
export async function writeJson(
  path: string,
  cells: CellResult[],
  provenance: Provenance,
  generated = new Date().toISOString(),
): Promise<void> {
  const file: ResultsFile = { generated, provenance, cells };
  const rows = file.cells.map((c) => "    " + JSON.stringify(c)).join(",\n");
  await Deno.writeTextFile(
    path,
    `{\n  "generated": ${JSON.stringify(file.generated)},\n  "provenance": ${
      JSON.stringify(file.provenance)
    },\n  "cells": [\n${rows}\n  ]\n}\n`,
  );
}

const peerLabel = (c: CellResult) => `${c.peer} ${c.peerVersion}`;

/**
 * One row per our side (runtime × libssl), one column per peer: cells passed
 * of those that apply, both directions together (the README's table).
 */
export function summaryTable(cells: CellResult[]): string[] {
  const column = (c: CellResult) => `${c.peer} ${c.peerVersion.replace(/ \(.*\)$/, "")}`;
  const peers = [...new Set(cells.map(column))];
  const sides = [...new Set(cells.map((c) => `${c.ours} on ${c.ourLibssl}`))];
  const rows = sides.map((side) => {
    const mine = cells.filter((c) => `${c.ours} on ${c.ourLibssl}` === side);
    return [
      side,
      ...peers.map((p) => {
        const t = tally(mine.filter((c) => column(c) === p));
        return `${t.pass}/${t.pass + t.fail}`;
      }),
    ];
  });
  return [
    `| our side | ${peers.join(" | ")} |`,
    `|---|${peers.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

/** Render the markdown report. */
export function renderMarkdown(cells: CellResult[], header: string[]): string {
  const t = tally(cells);
  const out: string[] = [
    ...header,
    "",
    `**${t.pass} passed, ${t.fail} failed, ${t.na} n/a** (${cells.length} cells).`,
    "",
  ];
  out.push(
    "Cells passed of those that apply (n/a not counted), ours as client and as server together:",
    "",
    ...summaryTable(cells),
    "",
    "Each cell below: our side as client / our side as server. ✅ pass, ❌ fail, ➖ n/a (reason below).",
    "",
  );
  const groups = new Map<string, CellResult[]>();
  for (const c of cells) {
    const k = `${c.ours} on libssl ${c.ourLibssl}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  for (const [title, group] of groups) {
    const peers = [...new Set(group.map(peerLabel))];
    const cases = [...new Set(group.map((c) => c.case))];
    out.push(
      `### ${title}`,
      "",
      `| case | ${peers.join(" | ")} |`,
      `|---|${peers.map(() => "---").join("|")}|`,
    );
    for (const cs of cases) {
      const row = peers.map((pl) => {
        const pick = (d: string) =>
          group.find((c) => c.case === cs && peerLabel(c) === pl && c.direction === d);
        const m = (c: CellResult | undefined) => (c ? MARK[c.status] : " ");
        return `${m(pick("ours-client"))}/${m(pick("ours-server"))}`;
      });
      out.push(`| ${cs} | ${row.join(" | ")} |`);
    }
    out.push("");
  }
  const fails = cells.filter((c) => c.status === "fail");
  if (fails.length) {
    out.push("### Failures", "");
    for (const c of fails) {
      out.push(
        `- ${c.ours}/${c.ourLibssl} ${c.direction} × ${peerLabel(c)}, ${c.case}: ${
          c.reason.replaceAll("|", "\\|")
        }`,
      );
    }
    out.push("");
  }
  // n/a reasons, one line per case × peer, each reason once with the directions it covers.
  const reasons = new Map<string, Map<string, Set<string>>>();
  for (const c of cells.filter((c) => c.status === "n/a")) {
    const k = `${c.case} × ${c.peer}`;
    const byReason = reasons.get(k) ?? new Map<string, Set<string>>();
    byReason.set(c.reason, (byReason.get(c.reason) ?? new Set()).add(c.direction));
    reasons.set(k, byReason);
  }
  if (reasons.size) {
    out.push("### Not applicable", "");
    for (const [k, byReason] of reasons) {
      const parts = [...byReason].map(([r, dirs]) => `${r} (${[...dirs].join(", ")})`);
      out.push(`- ${k}: ${parts.join("; ")}`);
    }
    out.push("");
  }
  return out.join("\n");
}
