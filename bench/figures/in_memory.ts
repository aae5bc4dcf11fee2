/**
 * Our ceiling without sockets: two engines (`@jsec/tls/engine`) in this one
 * thread, client and server, passing ciphertext by hand. What this costs is
 * libssl, libcrypto and the shim alone; any pair over loopback can only be
 * slower, so it is the floor the transport figures stand on. A handshake here
 * does the TLS work of one connection of the handshakes figure: the
 * handshake, a byte each way (the client reads the server's tickets with its
 * byte and takes them, as `TlsConn` does), close_notify both ways. Rates are
 * per second of this process's CPU time, so that a loaded machine's waits do
 * not count (the handshake-CPU figure takes this floor off process CPU time).
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type HeldSession, TlsContext, TlsEngine } from "../../engine.ts";
import { deliver, handshakeInMemory } from "../../test/support/engines.ts";
import type { CertSet } from "../certs.ts";
import { cpuMs } from "../peer/cpu.ts";
import type { Results } from "../results.ts";

type Ref = Results["references"][number];

const runtime = "Bun" in globalThis ? "Bun" : "Deno";

/** Runs `step` for about `ms`, returning its rate per second of this process's CPU time. */
function rate(ms: number, step: () => void): number {
  let count = 0;
  const start = performance.now();
  const cpuStart = cpuMs();
  while (performance.now() - start < ms) {
    step();
    count++;
  }
  return count / ((cpuMs() - cpuStart) / 1000);
}

/** `one` from the client to the server and back, each read into `buf`. */
function roundTrip(c: TlsEngine, s: TlsEngine, one: Uint8Array, buf: Uint8Array): void {
  c.write(one);
  deliver(c, s);
  s.read(buf);
  s.write(one);
  deliver(s, c);
  c.read(buf);
}

/**
 * The rest of a connection of the handshakes figure, after its handshake: a
 * byte each way (the server's tickets come with its byte; the client takes
 * them, natively, as its cache does: `keep`), then close_notify both ways;
 * both engines are freed.
 */
function exchange(
  c: TlsEngine,
  s: TlsEngine,
  buf: Uint8Array,
  keep: (held: HeldSession) => void = (held) => held.release(),
): void {
  roundTrip(c, s, buf.subarray(0, 1), buf);
  for (let held; (held = c.takeHeldSession()) !== null;) keep(held);
  c.close();
  deliver(c, s);
  s.read(buf);
  s.close();
  deliver(s, c);
  c.read(buf);
  c.free();
  s.free();
}

export function inMemoryFigures(
  opts: { certs: CertSet; smoke: boolean; log: (line: string) => void },
): Ref[] {
  const read = (path: string) => readFileSync(path, "utf8");
  const server = new TlsContext({
    isServer: true,
    cert: read(opts.certs.certFile),
    key: read(opts.certs.keyFile),
    minVersion: "TLSv1.3",
  });
  const client = new TlsContext({ caCerts: [read(opts.certs.caFile)], minVersion: "TLSv1.3" });
  const buf = new Uint8Array(64 * 1024);
  const ms = opts.smoke ? 300 : 2000;
  const note = `${runtime}, client and server engines in one thread: libssl + libcrypto + shim, no sockets`;
  const refs: Ref[] = [];
  const handshake = () => {
    const c = new TlsEngine(client, { verifyHost: "localhost" });
    const s = new TlsEngine(server);
    handshakeInMemory(c, s);
    return [c, s] as const;
  };
  try {
    opts.log(`in memory, ${runtime}: full handshakes, engine ↔ engine`);
    const perSecond = rate(ms, () => exchange(...handshake(), buf));
    refs.push({
      what: `ours in memory, ${runtime}: full TLS 1.3 P-256 handshakes (client + server CPU)`,
      value: perSecond,
      unit: "handshakes/s",
      note,
    });

    opts.log(`in memory, ${runtime}: resumed handshakes, engine ↔ engine`);
    // As the client's cache does: each TLS 1.3 ticket is offered once (OpenSSL updates the
    // session it resumes with), and the next comes with the server's first data.
    let saved: HeldSession | null = null;
    const resume = () => {
      const c = new TlsEngine(client, { verifyHost: "localhost" });
      if (saved) c.offerHeldSession(saved);
      const s = new TlsEngine(server);
      handshakeInMemory(c, s);
      return [c, s] as const;
    };
    // Each connection keeps its newest ticket for the next, released when replaced.
    const keep = (held: HeldSession) => {
      saved?.release();
      saved = held;
    };
    for (let i = 0; i < 2; i++) {
      const [c, s] = resume();
      const resumed = c.info().resumed;
      exchange(c, s, buf, keep);
      if (i === 1 && !resumed) throw new Error("in memory: the saved session did not resume");
    }
    const resumedPerSecond = rate(ms, () => exchange(...resume(), buf, keep));
    (saved as HeldSession | null)?.release();
    refs.push({
      what: `ours in memory, ${runtime}: resumed TLS 1.3 P-256 handshakes (client + server CPU)`,
      value: resumedPerSecond,
      unit: "handshakes/s",
      note,
    });

    const [c, s] = handshake();
    const one = new Uint8Array(1);
    opts.log(`in memory, ${runtime}: 1-byte round trips`);
    const trips = rate(ms, () => roundTrip(c, s, one, buf));
    refs.push({
      what: `ours in memory, ${runtime}: 1-byte round trip (4 records sealed and opened)`,
      value: 1e6 / trips,
      unit: "µs",
      note,
    });

    opts.log(`in memory, ${runtime}: 16 KiB records, encrypt and decrypt`);
    const record = new Uint8Array(16 * 1024);
    const records = rate(ms, () => {
      c.write(record);
      deliver(c, s);
      while (s.read(buf)) { /* drain */ }
    });
    refs.push({
      what: `ours in memory, ${runtime}: 16 KiB writes, sealed and opened (one core)`,
      value: (records * record.length) / 1e6,
      unit: "MB/s",
      note,
    });
    c.free();
    s.free();
  } finally {
    client.free();
    server.free();
  }
  return refs;
}

/**
 * The same figures measured in a Bun process (`bench/in_memory_floor.ts`):
 * the floor that Bun's handshake-CPU rows stand on.
 */
export function inMemoryFiguresInBun(
  opts: { certs: CertSet; smoke: boolean; log: (line: string) => void },
): Ref[] {
  opts.log("in memory, Bun: full and resumed handshakes, round trips, records (a Bun process)");
  const path = (p: string) => fileURLToPath(new URL(p, import.meta.url));
  const out = execFileSync(
    path("../../node_modules/.bin/bun"),
    [path("../in_memory_floor.ts"), JSON.stringify(opts.certs), ...(opts.smoke ? ["--smoke"] : [])],
    { timeout: 120_000, maxBuffer: 1 << 20, stdio: ["ignore", "pipe", "inherit"] },
  );
  return JSON.parse(new TextDecoder().decode(out).trim().split("\n").pop()!) as Ref[];
}
