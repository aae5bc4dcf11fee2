/**
 * Command-line options of the interop runner.
 * @module
 */

/** Parsed options. Filters are comma-separated lists matched as prefixes. */
export interface CliOptions {
  /** Peer ids or kinds, e.g. "openssl", "openssl-3.0", "gnutls". */
  peer: string[];
  /** Case ids, e.g. "tls1.3", "fail-". */
  case: string[];
  /** "deno", "bun", or with a suite: "deno-bookworm". */
  ours: string[];
  /** Our libssl suites: "bullseye", "bookworm", "trixie", "sid", "experimental". */
  suite: string[];
  /** Cells run at once. */
  jobs: number;
  /** Skip image builds (use what exists). */
  noBuild: boolean;
  /** Do not write results.json / RESULTS.md. */
  noWrite: boolean;
  /** Write them even for a filtered run (default: only full runs write). */
  write: boolean;
  help: boolean;
}

/** Usage text. */
export const USAGE = `usage: deno run -A interop/main.ts [options]
  --peer=LIST    peers to run: openssl, openssl-1.1.1, openssl-3.0, openssl-3.5, openssl-3.6, openssl-4.0,
                 gnutls, nss, node, deno-native, bun-native (prefix match, comma-separated)
  --case=LIST    cases (prefix match), e.g. tls1.3,fail-
  --ours=LIST    deno, bun, or deno-bookworm style (runtime-suite)
  --suite=LIST   our libssl suites: bullseye (1.1.1), bookworm (3.0), trixie (3.5), sid (3.6),
                 experimental (sid with experimental's 4.0)
  --jobs=N       cells at once (default 2)
  --no-build     use the images/rootfs already built
  --no-write     do not write interop/results.json and interop/RESULTS.md
  --write        write them even for a filtered run (by default only a full run writes)
Environment: JSEC_INTEROP_CACHE (default /var/cache/jsec-interop), JSEC_INTEROP_NO_DOCKER=1 (force chroot),
JSEC_INTEROP_IMAGE (tool image name, default jsec-interop; tags are the suites)`;

/** Parse `args` (Deno.args). Throws on an unknown option. */
export function parseCli(args: string[]): CliOptions {
  const o: CliOptions = {
    peer: [],
    case: [],
    ours: [],
    suite: [],
    jobs: 2,
    noBuild: false,
    noWrite: false,
    write: false,
    help: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf("=");
    const name = eq >= 0 ? a.slice(0, eq) : a;
    const value = () => (eq >= 0 ? a.slice(eq + 1) : args[++i] ?? "");
    const list = () => value().split(",").map((s) => s.trim()).filter(Boolean);
    switch (name) {
      case "--peer":
        o.peer.push(...list());
        break;
      case "--case":
        o.case.push(...list());
        break;
      case "--ours":
        o.ours.push(...list());
        break;
      case "--suite":
        o.suite.push(...list());
        break;
      case "--jobs":
        o.jobs = Math.max(1, Math.min(8, Number(value()) || 2));
        break;
      case "--no-build":
        o.noBuild = true;
        break;
      case "--no-write":
        o.noWrite = true;
        break;
      case "--write":
        o.write = true;
        break;
      case "-h":
      case "--help":
        o.help = true;
        break;
      default:
        throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  return o;
}

/** True when `value` matches the filter (empty filter = everything). */
export function matches(filter: string[], ...values: string[]): boolean {
  return filter.length === 0 || filter.some((f) => values.some((v) => v.startsWith(f)));
}
