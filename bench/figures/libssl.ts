/**
 * Per libssl: the bulk and handshake figures again, inside the interop
 * images (interop/setup: Debian bullseye 1.1.1, bookworm 3.0, trixie 3.5,
 * sid 3.6), where the shim builds against and loads that suite's OpenSSL.
 * The runtimes' own TLS does not use libssl, so each suite's run has its own
 * native reference, measured in the same run.
 *
 * @module
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { failedRow, type Results, type Row } from "../results.ts";

const SUITES = [["bullseye", "1.1.1"], ["bookworm", "3.0"], ["trixie", "3.5"], ["sid", "3.6"]] as const;
const root = fileURLToPath(new URL("../../", import.meta.url));

function imageExists(tag: string): boolean {
  try {
    execFileSync("docker", ["image", "inspect", tag], { stdio: "pipe", timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

export async function libsslFigures(opts: {
  rounds: number;
  smoke: boolean;
  bulkMiB: number;
  log: (line: string) => void;
  notes: string[];
}): Promise<Row[]> {
  try {
    execFileSync("docker", ["info"], { stdio: "pipe", timeout: 20_000 });
  } catch {
    opts.notes.push(
      "Per-libssl figures skipped: no Docker engine answers (start dockerd, build the images with interop/setup/images.sh).",
    );
    return [];
  }
  const rows: Row[] = [];
  for (const [suite, line] of SUITES) {
    const image = `jsec-interop:${suite}`;
    if (!imageExists(image)) {
      opts.notes.push(
        `Per-libssl: no image ${image} (interop/setup/images.sh builds it); OpenSSL ${line} skipped.`,
      );
      continue;
    }
    const out = mkdtempSync(join(tmpdir(), `jsec-bench-${suite}-`));
    opts.log(`libssl ${line} (${image})`);
    const args = [
      "run",
      "--rm",
      "--init",
      "--network",
      "host",
      "-v",
      `${root}:${root}`,
      "-v",
      `${out}:/out`,
      "-w",
      root,
      "-e",
      "JSEC_CACHE_DIR=/tmp/jsec-cache",
      image,
      `${root}node_modules/.bin/deno`,
      "run",
      "-A",
      "bench/main.ts",
      "--only",
      "bulk,handshakes",
      "--pairs",
      "deno/ours,deno/native,bun/ours,bun/native",
      "--rounds",
      String(opts.rounds),
      "--bulk-mib",
      String(opts.bulkMiB),
      "--hs",
      "p256",
      "--out",
      "/out/",
      ...(opts.smoke ? ["--smoke"] : []),
    ];
    // The inner run exits 1 when a contender erred, after writing its rows (the erred ones
    // carry their error and fail this run too); a run that wrote nothing is one failed row.
    const failure = await new Promise<string | null>((resolve) => {
      execFile("docker", args, { timeout: 1_200_000, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
        resolve(err ? `${err.message}\n${stderr.slice(-2000)}`.split("\n").slice(0, 4).join(" ") : null);
      });
    });
    try {
      const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
      const version = res.versions.shim ?? res.versions.openssl;
      for (const r of res.rows) {
        rows.push({ ...r, figure: `libssl ${line}: ${r.figure}`, label: `${r.label} [${version}]` });
      }
    } catch {
      rows.push(failedRow(`libssl ${line}`, `the run in ${image}`, failure ?? "it wrote no results"));
    }
  }
  return rows;
}
