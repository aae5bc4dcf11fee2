/**
 * Peer processes: the command line of each runtime, servers that stay up
 * while a figure runs, and clients that run one task and print its result.
 * Every wait is bounded.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { Runtime, Side, Stack } from "./contenders.ts";

/** What a peer reports of its memory (bytes): RSS, the C heap in use (glibc malloc) and the live JavaScript heap. */
export type PeerMemory = { rss: number; heap: number; js: number };
import type { TlsSettings } from "./peer/stacks.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const bin = (name: string) => `${root}node_modules/.bin/${name}`;

/** TLS settings handed to a peer: the ones its stack takes (see peer/stacks.ts). */
export type PeerTls = TlsSettings;

/** Extra arguments before the script, e.g. a profiler wrapper. */
export interface Wrap {
  /** Command and arguments put in front of the runtime (e.g. ["perf", "record", …, "--"]). */
  prefix?: string[];
  /** Extra runtime flags (after `run` for Deno). */
  flags?: string[];
  env?: Record<string, string>;
  /** Working directory (default: the repository); profilers drop files there. */
  cwd?: string;
}

/** The command that runs a peer of `runtime`. */
export function peerCommand(runtime: Runtime, args: string[], wrap: Wrap = {}): string[] {
  const flags = wrap.flags ?? [];
  const cmd = runtime === "deno"
    ? [bin("deno"), "run", "-A", "--v8-flags=--expose-gc", ...flags, `${root}bench/peer/main.ts`, ...args]
    : runtime === "bun"
    ? [bin("bun"), ...flags, `${root}bench/peer/main.ts`, ...args]
    : ["node", "--expose-gc", ...flags, `${root}bench/peer/node.mjs`, ...args];
  return [...(wrap.prefix ?? []), ...cmd];
}

function start(cmd: string[], wrap: Wrap): ChildProcess {
  return spawn(cmd[0], cmd.slice(1), {
    cwd: wrap.cwd ?? root,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", ...wrap.env },
  });
}

/** Lines of a child's stdout, one at a time, each wait bounded. */
class Lines {
  #queue: string[] = [];
  #wake: (() => void) | null = null;
  #closed = false;
  stderr = "";

  constructor(child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (l) => {
      this.#queue.push(l);
      this.#wake?.();
    });
    child.stderr!.on("data", (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    child.on("exit", () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  async next(timeoutMs: number, what: string): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      if (this.#closed) throw new Error(`${what}: the peer exited\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`${what}: no answer in ${timeoutMs} ms\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = null;
    }
    return this.#queue.shift()!;
  }
}

/** A running server peer. */
export class ServerPeer {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #lines: Lines;

  private constructor(child: ChildProcess, lines: Lines, port: number) {
    this.#child = child;
    this.#lines = lines;
    this.port = port;
  }

  static async start(
    side: Side,
    tls: PeerTls,
    extra: Record<string, unknown> = {},
    wrap: Wrap = {},
  ): Promise<ServerPeer> {
    const child = start(
      peerCommand(side.runtime, ["server", side.stack, JSON.stringify({ tls, ...extra })], wrap),
      wrap,
    );
    const lines = new Lines(child);
    try {
      const { port } = JSON.parse(await lines.next(30_000, `${side.runtime}/${side.stack} server`));
      return new ServerPeer(child, lines, port);
    } catch (e) {
      child.kill("SIGKILL");
      throw e;
    }
  }

  /** The server's memory, after a GC. */
  async memory(): Promise<PeerMemory> {
    this.#child.stdin!.write("mem\n");
    return JSON.parse(await this.#lines.next(30_000, "server memory"));
  }

  /** The server's process CPU time so far (user + system), in ms. */
  async cpuMs(): Promise<number> {
    this.#child.stdin!.write("cpu\n");
    return (JSON.parse(await this.#lines.next(30_000, "server cpu")) as { cpuMs: number }).cpuMs;
  }

  /** Stops the server: stdin closes (it exits), SIGKILL after a grace period. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Runs a client task to its end; resolves with the JSON it printed. */
export async function runClient<T>(
  side: { runtime: Runtime; stack: Stack },
  config: Record<string, unknown>,
  timeoutMs: number,
  wrap: Wrap = {},
): Promise<T> {
  const child = start(peerCommand(side.runtime, ["client", side.stack, JSON.stringify(config)], wrap), wrap);
  const lines = new Lines(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    return JSON.parse(await lines.next(timeoutMs, `${side.runtime}/${side.stack} client`)) as T;
  } finally {
    child.stdin!.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Starts a client that stays up (the memory figure): its first line, and a way to stop it. */
export async function startClient(
  side: Side,
  config: Record<string, unknown>,
  timeoutMs: number,
): Promise<{ first: unknown; stop: () => Promise<void> }> {
  const child = start(peerCommand(side.runtime, ["client", side.stack, JSON.stringify(config)]), {});
  const lines = new Lines(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.stdin!.write("quit\n");
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    return { first: JSON.parse(await lines.next(timeoutMs, `${side.runtime}/${side.stack} client`)), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
