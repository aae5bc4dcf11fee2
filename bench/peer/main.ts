/**
 * One benchmark peer process (Deno or Bun):
 *
 *   peer/main.ts server <stack> '<json settings>'   prints {"port":N}; stdin "mem" → {"rss","heap"};
 *                                                    stdin "cpu" → {"cpuMs"}: process CPU so far (user + system)
 *   peer/main.ts client <stack> '<json task>'       runs one task, prints its result as JSON
 *
 * Stacks: `ours`, `native`, `tcp` (stacks.ts) and the datagram ones, `dtls`, `udp` (datagram.ts).
 *
 * Every loop is bounded in count and time.
 *
 * @module
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { type BenchConn, header, Reader, sendBulk, serve } from "./protocol.ts";
import type { PeerMemory } from "../procs.ts";
import { type Api, connectStack, listenStack, loadStack, type Stack, type TlsSettings } from "./stacks.ts";
import { isDatagramStack, listenDatagram, loadDatagramStack } from "./datagram.ts";
import { datagramHandshakes, echo } from "./datagram_tasks.ts";
import { cpuMs } from "./cpu.ts";

/** What a client is asked to do. */
export type Task =
  /** `warmup`: bytes moved first, untimed, on a connection of their own (JIT tiers and buffers warm up). */
  | { kind: "bulk"; op: "U" | "D"; bytes: number; warmup?: number }
  | { kind: "handshakes"; seconds: number; concurrency: number; maxCount: number }
  | { kind: "pingpong"; count: number; warmup: number }
  | { kind: "idle"; count: number; settleMs?: number }
  /** Datagram stacks only: `size`-byte messages echoed, `window` of them in flight. */
  | { kind: "echo"; seconds: number; warmupSeconds: number; size: number; window: number };

export interface PeerConfig {
  tls: TlsSettings;
  port?: number;
  task?: Task;
  /** Path of the heap helper library (bench/native/heap.c), for the memory figure. */
  heapLib?: string;
  /** How ours is driven (default `pull`: `TlsConn`; `push`: the callback API). */
  api?: Api;
}

const isBun = "Bun" in globalThis;
const [role, stack, json] = process.argv.slice(2);
const config = JSON.parse(json) as PeerConfig;
const api: Api = config.api ?? "pull";
/** The datagram stack this peer speaks, if it is one. */
const datagram = isDatagramStack(stack) ? stack : null;
if (datagram) await loadDatagramStack(datagram);
else await loadStack(stack as Stack);

function out(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + "\n");
}

let heapBytes: () => number = () => 0;
if (config.heapLib) {
  if (isBun) {
    const specifier = "bun:ffi";
    const ffi = await import(specifier);
    const lib = ffi.dlopen(config.heapLib, { bench_heap_bytes: { args: [], returns: "i64" } });
    heapBytes = () => Number(lib.symbols.bench_heap_bytes());
  } else {
    const lib = Deno.dlopen(config.heapLib, { bench_heap_bytes: { parameters: [], result: "i64" } });
    heapBytes = () => Number(lib.symbols.bench_heap_bytes());
  }
}

async function memory(): Promise<PeerMemory> {
  for (let i = 0; i < 3; i++) {
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    if (isBun) g.Bun.gc(true);
    else g.gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
  const usage = process.memoryUsage();
  return { rss: usage.rss, heap: heapBytes(), js: usage.heapUsed };
}

/** Lines from stdin; the process exits when stdin closes. */
function commands(onLine: (line: string) => void): void {
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => onLine(line.trim()));
  rl.on("close", () => process.exit(0));
}

async function server(): Promise<void> {
  const listening = datagram
    ? await listenDatagram(datagram, config.tls)
    : listenStack(stack as Stack, config.tls, (conn) => void serve(conn), api);
  out({ port: listening.port });
  commands(async (line) => {
    if (line === "mem") out(await memory());
    if (line === "cpu") out({ cpuMs: cpuMs() });
    if (line === "quit") process.exit(0);
  });
}

const now = () => performance.now();

async function bulk(task: { op: "U" | "D"; bytes: number; warmup?: number }): Promise<unknown> {
  if (task.warmup) await bulk({ op: task.op, bytes: task.warmup });
  const conn = await connectStack(stack as Stack, config.port!, config.tls, api);
  const info = await conn.info?.();
  const reader = new Reader(conn);
  const start = now();
  await conn.write(header(task.op, task.bytes));
  if (task.op === "U") {
    await sendBulk(conn, task.bytes);
    await reader.skip(1);
  } else {
    await reader.skip(task.bytes);
  }
  const ms = now() - start;
  conn.close();
  return { ms, mbps: task.bytes / 1e6 / (ms / 1000), info };
}

async function handshakes(
  task: { seconds: number; concurrency: number; maxCount: number },
): Promise<unknown> {
  let count = 0;
  let info: unknown;
  const hdr = header("H", 0);
  const deadline = now() + task.seconds * 1000;
  const start = now();
  const cpuStart = cpuMs();
  const worker = async () => {
    while (now() < deadline && count < task.maxCount) {
      const conn = await connectStack(stack as Stack, config.port!, config.tls, api);
      info ??= await conn.info?.();
      await conn.write(hdr);
      await new Reader(conn).skip(1);
      conn.close();
      count++;
    }
  };
  await Promise.all(Array.from({ length: task.concurrency }, worker));
  const seconds = (now() - start) / 1000;
  return { count, seconds, perSecond: count / seconds, cpuMs: cpuMs() - cpuStart, info };
}

async function pingpong(task: { count: number; warmup: number }): Promise<unknown> {
  const conn = await connectStack(stack as Stack, config.port!, config.tls, api);
  const info = await conn.info?.();
  const reader = new Reader(conn);
  const one = new Uint8Array([0x70]);
  const total = task.count + task.warmup;
  await conn.write(header("P", total));
  const rtts = new Float64Array(task.count);
  for (let i = 0; i < total; i++) {
    const t = now();
    await conn.write(one);
    await reader.skip(1);
    if (i >= task.warmup) rtts[i - task.warmup] = now() - t;
  }
  conn.close();
  rtts.sort();
  const q = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] * 1000;
  return { p50us: q(0.5), p99us: q(0.99), info };
}

async function idle(task: { count: number; settleMs?: number }): Promise<void> {
  const hdr = header("I", 0);
  // Warm up (code paths, contexts), then measure the baseline.
  const warm = await connectStack(stack as Stack, config.port!, config.tls, api);
  await warm.write(hdr);
  warm.close();
  await new Promise((r) => setTimeout(r, 100));
  const before = await memory();
  const conns: BenchConn[] = [];
  let next = 0;
  const worker = async () => {
    while (next < task.count) {
      next++;
      const conn = await connectStack(stack as Stack, config.port!, config.tls, api);
      await conn.write(hdr);
      conns.push(conn);
      void new Reader(conn).drain(); // a read pending, as an application would have
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  // Settled: late tickets and the runtimes' deferred frees are through before memory is read.
  await new Promise((r) => setTimeout(r, task.settleMs ?? 1500));
  const after = await memory();
  out({ ready: true, count: conns.length, before, after });
  commands((line) => {
    if (line === "quit") {
      for (const c of conns) c.close();
      setTimeout(() => process.exit(0), 50);
    }
  });
}

async function client(): Promise<void> {
  const task = config.task!;
  const watchdog = setTimeout(() => {
    process.stderr.write("peer: task took more than 300 s\n");
    process.exit(3);
  }, 300_000);
  if (task.kind === "idle") {
    clearTimeout(watchdog);
    await idle(task);
    return;
  }
  const result = datagram
    ? await (task.kind === "handshakes"
      ? datagramHandshakes(datagram, config.port!, config.tls, task)
      : task.kind === "echo"
      ? echo(datagram, config.port!, config.tls, task)
      : Promise.reject(new Error(`no ${task.kind} task over ${stack}`)))
    : task.kind === "bulk"
    ? await bulk(task)
    : task.kind === "handshakes"
    ? await handshakes(task)
    : task.kind === "pingpong"
    ? await pingpong(task)
    : await Promise.reject(new Error(`no ${task.kind} task over ${stack}`));
  clearTimeout(watchdog);
  out(result);
  // Let closes reach the peer, then leave.
  setTimeout(() => process.exit(0), 20);
}

if (role === "server") await server();
else await client();
