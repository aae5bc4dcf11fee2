/**
 * Memory per idle established connection: a client opens `count`
 * connections to a fresh server and leaves them idle; both processes report
 * RSS, the C heap (glibc malloc in use: where OpenSSL keeps its state) and
 * the live JavaScript heap, after a GC, before and after. Bytes per
 * connection = delta / count.
 *
 * Ours runs twice per runtime: through `TlsConn` (`read()`-style, a 16 KiB
 * read pending per connection, as an application has) and through the
 * callback API (`connectSocket` / `listenSocket`: data pushed, no read
 * buffer), the way Bun's own TLS is measured.
 *
 * @module
 */
import { allPairs, type Pair } from "../contenders.ts";
import { peerTls, type Setting } from "../figure.ts";
import { type PeerMemory, runClient, ServerPeer, startClient } from "../procs.ts";
import { type Row, rowsOf } from "../results.ts";
import { interleave } from "../rounds.ts";

export async function memoryFigures(opts: {
  setting: Setting;
  count: number;
  rounds: number;
  heapLib: string | null;
  /** How long connections sit idle before memory is read (default 1500 ms). */
  settleMs?: number;
  only?: (id: string) => boolean;
  log: (line: string) => void;
}): Promise<Row[]> {
  const pairs = memoryPairs().filter((p) => opts.only?.(p.id) ?? true);
  opts.log(`memory: ${opts.count} idle connections`);
  const extra = opts.heapLib ? { heapLib: opts.heapLib } : {};
  const { samples, errors } = await interleave(pairs.map((p) => p.id), opts.rounds, async (id) => {
    const pair = pairs.find((p) => p.id === id)!;
    const api = { ...extra, api: PUSH.has(pair.id) ? "push" : "pull" };
    const server = await ServerPeer.start(pair.server, peerTls(pair, pair.server, opts.setting), api);
    try {
      const tls = peerTls(pair, pair.client, opts.setting);
      // Warm the server up (code paths, first-connection allocations) before its baseline.
      await runClient(pair.client, {
        tls,
        port: server.port,
        api: api.api,
        task: { kind: "handshakes", seconds: 5, concurrency: 1, maxCount: 2 },
      }, 30_000);
      await new Promise((r) => setTimeout(r, 200));
      const before = await server.memory();
      const client = await startClient(pair.client, {
        tls,
        port: server.port,
        task: { kind: "idle", count: opts.count, settleMs: opts.settleMs },
        ...api,
      }, 120_000);
      try {
        const after = await server.memory();
        const c = client.first as { count: number; before: PeerMemory; after: PeerMemory };
        if (c.count !== opts.count) throw new Error(`only ${c.count} of ${opts.count} connections`);
        const per = (a: number, b: number) => (a - b) / opts.count;
        const result = {
          serverRss: per(after.rss, before.rss),
          clientRss: per(c.after.rss, c.before.rss),
          serverHeap: per(after.heap, before.heap),
          clientHeap: per(c.after.heap, c.before.heap),
          serverJs: per(after.js, before.js),
          clientJs: per(c.after.js, c.before.js),
        };
        return { value: result.serverRss + result.clientRss, info: result };
      } finally {
        await client.stop();
      }
    } finally {
      await server.stop();
    }
  }, opts.log);
  const metric = (figure: string, key: string, forPairs = pairs) => {
    const picked = new Map([...samples].map(([id, list]) => [
      id,
      list.map((s) => ({ ...s, value: (s.info as Record<string, number>)[key] })),
    ]));
    return rowsOf(figure, "B/conn", "lower", forPairs, picked, errors, new Map());
  };
  const withHeap = pairs.filter((p) => p.client.runtime !== "node");
  return [
    ...metric(`memory per idle connection (${opts.count}): server RSS`, "serverRss"),
    ...metric(`memory per idle connection (${opts.count}): client RSS`, "clientRss"),
    ...(opts.heapLib
      ? [
        // Node's peer has no heap probe.
        ...metric(`memory per idle connection (${opts.count}): server C heap`, "serverHeap", withHeap),
        ...metric(`memory per idle connection (${opts.count}): client C heap`, "clientHeap", withHeap),
      ]
      : []),
    ...metric(`memory per idle connection (${opts.count}): server JS heap`, "serverJs"),
    ...metric(`memory per idle connection (${opts.count}): client JS heap`, "clientJs"),
  ];
}

/** The ids of the pairs that drive ours through the callback API. */
const PUSH = new Set(["deno/ours-push", "bun/ours-push"]);

/**
 * The pairs of this figure: the memory pairs, with ours through `TlsConn`
 * labelled as such, each followed by ours through the callback API.
 */
function memoryPairs(): Pair[] {
  const out: Pair[] = [];
  for (const pair of allPairs().filter((p) => p.in.includes("memory"))) {
    const rt = pair.client.runtime;
    if (pair.id !== `${rt}/ours`) {
      out.push(pair);
      continue;
    }
    out.push({ ...pair, label: `${pair.label}, read() (TlsConn)` });
    out.push({ ...pair, id: `${rt}/ours-push`, label: `${pair.label}, callbacks (TlsSocket)` });
  }
  return out;
}
