/**
 * A child process with piped stdio that the runner can watch and feed: wait for
 * a line to appear, write to stdin, close stdin, wait for exit — all bounded in
 * time. Stdout is hashed as it streams (for the 16 MiB transfer checks) and its
 * first bytes kept as text for matching.
 * @module
 */
import { createHash, type Hash } from "node:crypto";

const TEXT_LIMIT = 256 * 1024;

/** Outcome of a process that ended (or was killed at its deadline). */
export interface ProcExit {
  code: number;
  timedOut: boolean;
}

/** A running child process. */
export class Proc {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #hash: Hash = createHash("sha256");
  #stdout = "";
  #stderr = "";
  #stdoutBytes = 0;
  #waiters: Array<() => void> = [];
  #exit: Promise<ProcExit>;
  #timedOut = false;
  #stdinClosed = false;
  #exited = false;
  readonly label: string;

  /** Start `argv` with piped stdio; it is killed after `deadlineMs`. */
  constructor(argv: string[], label: string, deadlineMs: number) {
    this.label = label;
    this.#child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    const pumps = [
      this.#pump(this.#child.stdout, true),
      this.#pump(this.#child.stderr, false),
    ];
    const timer = setTimeout(() => {
      this.#timedOut = true;
      this.kill();
    }, deadlineMs);
    this.#exit = this.#child.status.then(async (s) => {
      clearTimeout(timer);
      this.#exited = true;
      await Promise.allSettled(pumps);
      this.#notify();
      return { code: s.code, timedOut: this.#timedOut };
    });
  }

  async #pump(stream: ReadableStream<Uint8Array>, isOut: boolean) {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      if (isOut) {
        this.#hash.update(chunk);
        this.#stdoutBytes += chunk.length;
        if (this.#stdout.length < TEXT_LIMIT) {
          this.#stdout += dec.decode(chunk, { stream: true });
        }
      } else if (this.#stderr.length < TEXT_LIMIT) {
        this.#stderr += dec.decode(chunk, { stream: true });
      }
      this.#notify();
    }
  }

  #notify() {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** True once the process has ended. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Captured stdout text (first 256 KiB). */
  get stdout(): string {
    return this.#stdout;
  }
  /** Captured stderr text (first 256 KiB). */
  get stderr(): string {
    return this.#stderr;
  }
  /** Both streams, for matching messages a tool prints on either. */
  get output(): string {
    return this.#stdout + "\n" + this.#stderr;
  }
  /** Total bytes seen on stdout. */
  get stdoutBytes(): number {
    return this.#stdoutBytes;
  }
  /** sha256 (hex) of everything on stdout; call after exit. */
  stdoutSha256(): string {
    return this.#hash.copy().digest("hex");
  }

  /** Resolve when `pattern` matches stdout+stderr; reject at the timeout or exit. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        reject(new Error(`${this.label}: no ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
      let exited = false;
      this.#exit.then(() => (exited = true));
      const check = () => {
        if (done) return;
        const m = this.output.match(pattern);
        if (m) {
          done = true;
          clearTimeout(timer);
          resolve(m);
        } else if (exited) {
          done = true;
          clearTimeout(timer);
          reject(new Error(`${this.label}: exited before ${pattern}`));
        } else {
          this.#waiters.push(check);
        }
      };
      this.#exit.then(() => queueMicrotask(check));
      check();
    });
  }

  /** Resolve when `pred()` holds (checked on each output chunk) or the process exits; false at the timeout. */
  async waitUntil(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
      if (pred()) return true;
      if (this.#exited) return pred();
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(200, Math.max(1, deadline - Date.now())));
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return pred();
  }

  /** Write text or bytes to stdin (ignored once stdin is closed). */
  async write(data: string | Uint8Array): Promise<void> {
    if (this.#stdinClosed) return;
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await this.#writer.write(bytes).catch(() => {});
  }

  /** Close stdin (EOF for the child). */
  async closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    await this.#writer.close().catch(() => {});
  }

  /** Wait for exit, killing the process if it outlives `timeoutMs`. */
  async wait(timeoutMs: number): Promise<ProcExit> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
    const first = await Promise.race([this.#exit, limit.then(() => null)]);
    clearTimeout(timer);
    if (first) return first;
    this.#timedOut = true;
    this.kill();
    return await this.#exit;
  }

  /** Send SIGKILL (no-op once exited). */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}
