/**
 * Real peers for tests: `openssl s_server` / `s_client` and `node` child
 * processes, spawned with `node:child_process` so the same code runs under
 * Deno and Bun. Every wait is bounded; every process is killed by
 * {@link Peer.stop} (and, as a last resort, when this process exits).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import process from "node:process";
import { certs } from "./certs.ts";

/** How long a peer may take to become ready or to print what we wait for. */
export const PEER_WAIT_MS = 10_000;

const latin1 = new TextDecoder("latin1");
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** A spawned peer process whose output we collect. */
export class Peer {
  readonly child: ChildProcess;
  readonly name: string;
  #out: Uint8Array[] = [];
  #outLength = 0;
  #outText = "";
  #err = "";
  #exit: number | null | undefined = undefined;
  #exited: Promise<number | null>;
  #waiters = new Set<() => void>();
  /** Port the peer listens on, once known. */
  port = 0;

  constructor(command: string, args: string[], options: { env?: Record<string, string> } = {}) {
    this.name = `${command} ${args.slice(0, 2).join(" ")}`;
    this.child = spawn(command, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    live.add(this.child);
    this.child.stdout!.on("data", (chunk: Uint8Array) => {
      this.#out.push(new Uint8Array(chunk));
      this.#outLength += chunk.length;
      this.#outText += latin1.decode(chunk);
      this.#notify();
    });
    this.child.stderr!.on("data", (chunk: Uint8Array) => {
      this.#err += new TextDecoder().decode(chunk);
      this.#notify();
    });
    this.child.stdin!.on("error", () => {}); // the peer may exit before reading all we wrote
    this.#exited = new Promise((resolve) => {
      const done = (code: number | null) => {
        if (this.#exit !== undefined) return;
        this.#exit = code;
        live.delete(this.child);
        this.#notify();
        resolve(code);
      };
      this.child.on("exit", (code) => {
        // Let the last output arrive before we say it ended.
        if (this.child.stdout!.readableEnded && this.child.stderr!.readableEnded) done(code);
        else {
          let ends = 0;
          const check = () => ++ends === 2 && done(code);
          if (this.child.stdout!.readableEnded) ends++;
          else this.child.stdout!.once("close", check);
          if (this.child.stderr!.readableEnded) ends++;
          else this.child.stderr!.once("close", check);
          if (ends === 2) done(code);
          setTimeout(() => done(code), 1000);
        }
      });
      this.child.on("error", () => done(null));
    });
  }

  #notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Everything the peer wrote to stdout so far. */
  get stdoutBytes(): Uint8Array {
    if (this.#out.length > 1) {
      const all = new Uint8Array(this.#outLength);
      let at = 0;
      for (const c of this.#out) all.set(c, (at += c.length) - c.length);
      this.#out = [all];
    }
    return this.#out[0] ?? new Uint8Array();
  }

  /** Stdout so far as text (one character per byte; for matching text). */
  get stdout(): string {
    return this.#outText;
  }

  /** Stderr so far. */
  get stderr(): string {
    return this.#err;
  }

  /** The exit code (null when killed by a signal), once the process ended. */
  get exited(): Promise<number | null> {
    return this.#exited;
  }

  /** Whether the process has ended. */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /**
   * Waits until `test` (given stdout and stderr) returns something truthy;
   * rejects after `timeoutMs` or when the peer exits first.
   */
  waitUntil<T>(
    what: string,
    test: () => T | undefined | null | false,
    timeoutMs = PEER_WAIT_MS,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.transcript()}`))
          ),
        timeoutMs,
      );
      const finish = (f: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        f();
      };
      const check = () => {
        let hit: T | undefined | null | false;
        try {
          hit = test();
        } catch (e) {
          return finish(() => reject(e));
        }
        if (hit) return finish(() => resolve(hit));
        if (this.#exit !== undefined) {
          finish(() =>
            reject(new Error(`${this.name} exited (${this.#exit}) before ${what}\n${this.transcript()}`))
          );
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Waits until stdout or stderr matches `pattern`; resolves with the match. */
  waitFor(
    pattern: RegExp,
    where: "stdout" | "stderr" | "any" = "any",
    timeoutMs = PEER_WAIT_MS,
  ): Promise<RegExpMatchArray> {
    return this.waitUntil(String(pattern), () =>
      (where !== "stderr" ? this.#outText.match(pattern) : null) ??
        (where !== "stdout" ? this.#err.match(pattern) : null), timeoutMs);
  }

  /** Waits until stdout holds at least `length` bytes. */
  waitForBytes(length: number, timeoutMs = PEER_WAIT_MS): Promise<Uint8Array> {
    return this.waitUntil(
      `${length} bytes on stdout`,
      () => this.#outLength >= length && this.stdoutBytes,
      timeoutMs,
    );
  }

  /** Writes to the peer's stdin; resolves once the pipe took it. */
  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.running || this.child.stdin!.destroyed) {
        return reject(new Error(`${this.name} is not running`));
      }
      this.child.stdin!.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Closes the peer's stdin. */
  endInput(): void {
    this.child.stdin!.end();
  }

  /** Waits (bounded) for the process to exit by itself; the exit code, or undefined on timeout. */
  async waitExit(timeoutMs = PEER_WAIT_MS): Promise<number | null | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((
      resolve,
    ) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    try {
      return await Promise.race([this.#exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process (TERM, then KILL) and waits until it is gone and its pipes are closed. */
  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill("SIGTERM");
      if ((await this.waitExit(2000)) === undefined && this.running) {
        this.child.kill("SIGKILL");
        await this.waitExit(2000);
      }
    }
    this.child.stdin!.destroy();
    this.child.stdout!.destroy();
    this.child.stderr!.destroy();
  }

  /** Both output streams, for failure messages (long binary output is elided). */
  transcript(): string {
    const out = this.#outLength > 4000 ? `(${this.#outLength} bytes)` : this.stdout;
    return `--- ${this.name} stdout:\n${out}\n--- stderr:\n${this.#err}`;
  }

  /** For `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** A free TCP port on 127.0.0.1 (bound and released; used at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something listens on 127.0.0.1:`port` (Linux: /proc/net/tcp). */
function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  try {
    return readFileSync("/proc/net/tcp", "utf8").split("\n").some((line) => {
      const f = line.trim().split(/\s+/);
      return f[1] === `0100007F:${hex}` && f[3] === "0A";
    });
  } catch {
    return false;
  }
}

/** Options of {@link sServer}. */
export interface SServerOptions {
  /** Certificate and key files (a test leaf's `CertFiles` fits as it is: `sServer({ ...c.ecdsa, args })`). */
  certFile: string;
  keyFile: string;
  /**
   * `-brief`: stdout carries only the application data received (byte-exact),
   * connection details go to stderr, stdin is sent as data (no commands) and
   * its end sends close_notify. Without it, stdin lines such as `K` are commands
   * and stdout mixes diagnostics with data.
   */
  brief?: boolean;
  /** More s_server arguments (`-tls1_2`, `-alpn`, `-Verify 1`, …). */
  args?: string[];
  /** Listen on ::1 instead of 127.0.0.1 (not with `brief`). */
  ipv6?: boolean;
}

/**
 * Starts `openssl s_server` on a loopback port for one connection and waits
 * until it listens.
 */
export async function sServer(o: SServerOptions): Promise<Peer> {
  const base = ["s_server", "-cert", o.certFile, "-key", o.keyFile, "-naccept", "1", ...(o.args ?? [])];
  if (!o.brief) {
    const peer = new Peer("openssl", [...base, "-accept", o.ipv6 ? "[::1]:0" : "127.0.0.1:0"]);
    try {
      const m = await peer.waitFor(/ACCEPT (?:127\.0\.0\.1|\[::1\]):(\d+)/, "stdout");
      peer.port = Number(m[1]);
    } catch (e) {
      await peer.stop();
      throw e;
    }
    return peer;
  }
  // -brief prints nothing until a client comes: wait for the port to listen.
  const port = await freePort();
  const peer = new Peer("openssl", [...base, "-brief", "-accept", `127.0.0.1:${port}`]);
  peer.port = port;
  const until = Date.now() + PEER_WAIT_MS;
  while (!listening(port)) {
    if (!peer.running || Date.now() > until) {
      await peer.stop();
      throw new Error(`s_server did not listen on ${port}\n${peer.transcript()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return peer;
}

/** Starts `openssl s_client -connect 127.0.0.1:port` (or `[::1]:port`) with `args`. */
export function sClient(port: number, args: string[], host: "127.0.0.1" | "::1" = "127.0.0.1"): Peer {
  return new Peer("openssl", [
    "s_client",
    "-connect",
    host === "::1" ? `[::1]:${port}` : `127.0.0.1:${port}`,
    ...args,
  ]);
}

/** `openssl s_client` to our server on 127.0.0.1:`port`, checking it as `localhost` against the test CA. */
export function sClientTo(port: number, args: string[]): Peer {
  return sClient(port, ["-servername", "localhost", "-CAfile", certs().ca.certFile, ...args]);
}

/** Runs `source` (an ES module) with `node`; `config` arrives as JSON in `process.argv[2]`. */
export function nodePeer(source: string, config: unknown): Peer {
  return new Peer("node", ["--input-type=module", "-e", source, JSON.stringify(config)]);
}

/** The SHA-256 of `bytes`, hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** `size` pseudo-random bytes (fast, deterministic per seed). */
export function pattern(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, size >>> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = i & 0xff;
  return out;
}

/** Reads from `read` until `length` bytes came or the stream ended; bounded by `timeoutMs`. */
export async function readExactly(
  read: (p: Uint8Array) => Promise<number | null>,
  length: number,
  timeoutMs = PEER_WAIT_MS,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let got = 0;
  const until = Date.now() + timeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    while (got < length) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms with ${got} of ${length} bytes`);
      const n = await Promise.race([
        read(out.subarray(got)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`timed out after ${timeoutMs} ms with ${got} of ${length} bytes`)),
            left,
          );
        }),
      ]);
      clearTimeout(timer);
      if (n === null) break;
      got += n;
    }
  } finally {
    clearTimeout(timer);
  }
  return out.subarray(0, got);
}

/** Reads until end of stream (null), at most `max` bytes, bounded by `timeoutMs`. */
export async function readAll(
  read: (p: Uint8Array) => Promise<number | null>,
  max: number,
  timeoutMs = PEER_WAIT_MS,
): Promise<Uint8Array> {
  const got = await readExactly(read, max + 1, timeoutMs);
  if (got.length > max) throw new Error(`more than ${max} bytes before the end of stream`);
  return got;
}
