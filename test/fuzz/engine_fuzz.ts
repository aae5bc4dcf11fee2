/**
 * The engine fuzzer: a real client and server engine (OpenSSL both sides,
 * in memory) run a whole exchange — handshake, data each way, close_notify —
 * while one delivery between them, chosen by a seed, is mutated or replaced
 * by garbage. Every run must end `ok` (the exchange completed, data intact)
 * or as a `typed` error (a TlsError); anything else is a defect:
 * `other` (another exception, or data that changed without an error), `hang`
 * (no progress, not even after both transports ended). A `crash` kills the
 * process: the runner (main.ts) sees it from outside. Deterministic: a seed
 * gives the same run every time.
 *
 * @module
 */
import { TlsContext, TlsEngine, TlsError } from "../../engine.ts";
import { certs } from "../support/certs.ts";

/** How one run ended. */
export type Outcome = "ok" | "typed" | "other" | "hang";

/** One run's result; `detail` says what went wrong for `other` and `hang`. */
export interface RunResult {
  seed: number;
  outcome: Outcome;
  mutation: string;
  detail?: string;
}

/** A small, fast, seedable PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Mutator = (bytes: Uint8Array, rand: () => number) => Uint8Array;
const int = (rand: () => number, n: number) => Math.floor(rand() * n);
const randomBytes = (rand: () => number, n: number) => Uint8Array.from({ length: n }, () => int(rand, 256));
const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};

/** The mutations, by name. Each returns new bytes (never changes its input). */
const mutators: Record<string, Mutator> = {
  flipBit: (b, r) => {
    const c = b.slice();
    c[int(r, c.length)] ^= 1 << int(r, 8);
    return c;
  },
  randomByte: (b, r) => {
    const c = b.slice();
    c[int(r, c.length)] = int(r, 256);
    return c;
  },
  truncate: (b, r) => b.slice(0, int(r, b.length)),
  insert: (b, r) => {
    const at = int(r, b.length + 1);
    return join(b.subarray(0, at), randomBytes(r, 1 + int(r, 32)), b.subarray(at));
  },
  garbage: (_b, r) => randomBytes(r, 1 + int(r, 2048)),
  duplicate: (b) => join(b, b),
  drop: () => new Uint8Array(0),
  contentType: (b) => {
    const c = b.slice();
    c[0] = [0, 1, 19, 20, 21, 22, 23, 24, 25, 255][c[1] % 10];
    return c;
  },
  recordLength: (b, r) => {
    const c = b.slice();
    const length = [0, 1, 16384, 16385, 16640, 16641, 18432, 18433, 65535][int(r, 9)];
    if (c.length >= 5) [c[3], c[4]] = [length >> 8, length & 0xff];
    return c;
  },
  extraRecord: (b, r) => {
    const body = randomBytes(r, int(r, 300));
    const header = Uint8Array.of(20 + int(r, 5), 3, 3, body.length >> 8, body.length & 0xff);
    return int(r, 2) ? join(b, header, body) : join(header, body, b);
  },
};
const mutatorNames = Object.keys(mutators);

/** Contexts are reused across runs (they only hold configuration). */
let contexts: { server: TlsContext; client13: TlsContext; client12: TlsContext } | null = null;

function sharedContexts() {
  if (contexts) return contexts;
  const c = certs();
  return contexts = {
    server: new TlsContext({ isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key }),
    client13: new TlsContext({ caCerts: [c.ca.cert] }),
    client12: new TlsContext({ caCerts: [c.ca.cert], maxVersion: "TLSv1.2" }),
  };
}

/** Frees the shared contexts (at the end of a batch). */
export function freeContexts(): void {
  if (!contexts) return;
  for (const context of Object.values(contexts)) context.free();
  contexts = null;
}

class Hang extends Error {}

const scratch = new Uint8Array(1 << 17);
const enc = new TextEncoder();

/** Runs the seeded exchange once. */
export function runOne(seed: number): RunResult {
  const rand = prng(seed);
  const ctx = sharedContexts();
  const mutation = mutatorNames[int(rand, mutatorNames.length)];
  const victim = int(rand, 10); // which delivery (in order) gets mutated
  const client = new TlsEngine(rand() < 0.5 ? ctx.client13 : ctx.client12, { verifyHost: "localhost" });
  const server = new TlsEngine(ctx.server);
  let deliveries = 0;
  const transfer = (from: TlsEngine, to: TlsEngine): number => {
    let moved = 0;
    for (let n; (n = from.takeOutput(scratch)) > 0;) {
      let bytes: Uint8Array = scratch.subarray(0, n);
      if (deliveries++ === victim) bytes = mutators[mutation](bytes, rand);
      moved += n; // progress, even when the mutation dropped it
      if (bytes.length > 0) to.receive(bytes);
    }
    return moved;
  };
  let ended = false;
  /** Moves bytes both ways until `done()`; once nothing moves, ends both transports; then a hang. */
  const drive = (what: string, done: () => boolean) => {
    for (let i = 0; i < 100; i++) {
      if (done()) return;
      if (transfer(client, server) + transfer(server, client) > 0) continue;
      if (ended) throw new Hang(`no progress in ${what} after both transports ended`);
      client.end();
      server.end();
      ended = true;
    }
    throw new Hang(`${what}: 100 rounds`);
  };
  /** Reads exactly `expected` from `engine`; data that differs is a defect. */
  const receiveExactly = (engine: TlsEngine, expected: Uint8Array, what: string) => {
    const got: number[] = [];
    drive(what, () => {
      for (let n; (n = engine.read(scratch)) !== 0;) {
        if (n === null) throw new Error(`${what}: a clean end before the data`);
        got.push(...scratch.subarray(0, n));
      }
      return got.length >= expected.length;
    });
    if (got.length !== expected.length || got.some((b, i) => b !== expected[i])) {
      throw new Error(`${what}: the data changed without an error`);
    }
  };
  try {
    drive("the handshake", () => {
      const a = client.handshake(), b = server.handshake(); // both, every round
      return a && b;
    });
    const up = enc.encode(`request ${seed}`), down = enc.encode(`response ${seed}`.repeat(50));
    client.write(up);
    receiveExactly(server, up, "client → server data");
    server.write(down);
    receiveExactly(client, down, "server → client data");
    client.close();
    drive("the client's close_notify", () => server.read(scratch) === null);
    server.close();
    drive("the server's close_notify", () => client.read(scratch) === null);
    return { seed, outcome: "ok", mutation };
  } catch (e) {
    if (e instanceof TlsError) return { seed, outcome: "typed", mutation, detail: e.code };
    return { seed, outcome: e instanceof Hang ? "hang" : "other", mutation, detail: String(e) };
  } finally {
    client.free();
    server.free();
  }
}

/** Tallies of a batch: outcomes, typed error codes, and the runs that were defects. */
export interface Tally {
  runs: number;
  outcomes: Record<Outcome, number>;
  codes: Record<string, number>;
  defects: RunResult[];
}

/** Runs seeds `from` … `from + count - 1`. */
export function runMany(from: number, count: number): Tally {
  const tally: Tally = { runs: 0, outcomes: { ok: 0, typed: 0, other: 0, hang: 0 }, codes: {}, defects: [] };
  for (let seed = from; seed < from + count; seed++) {
    const result = runOne(seed);
    tally.runs++;
    tally.outcomes[result.outcome]++;
    if (result.outcome === "typed") tally.codes[result.detail!] = (tally.codes[result.detail!] ?? 0) + 1;
    if (result.outcome === "other" || result.outcome === "hang") tally.defects.push(result);
  }
  freeContexts();
  return tally;
}
