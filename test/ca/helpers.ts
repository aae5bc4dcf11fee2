/**
 * Shared by the CA tests: a scratch folder and the real `openssl` CLI.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** A fresh folder; `using` removes it (and all in it) at the end of its block. */
export interface Scratch extends Disposable {
  dir: string;
  /** Writes a file into the folder; its path. */
  put: (name: string, data: string | Uint8Array) => string;
}

/** Makes a {@link Scratch} folder. */
export function scratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), "jsec-ca-test-"));
  return {
    dir,
    put: (name, data) => {
      const path = join(dir, name);
      writeFileSync(path, data);
      return path;
    },
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `openssl verify` arguments that check `certPath` against the CA and its CRL. */
export function verifyWithCrl(caPath: string, crlPath: string, certPath: string): string[] {
  return ["verify", "-crl_check", "-CAfile", caPath, "-CRLfile", crlPath, certPath];
}

/** Runs `openssl` with `args`; returns its exit status and output (stdout + stderr). */
export function openssl(
  args: string[],
  input?: string | Uint8Array,
): { status: number; out: string; stdout: Uint8Array } {
  const r = spawnSync("openssl", args, { input, timeout: 30_000 });
  return {
    status: r.status ?? -1,
    out: `${r.stdout?.toString() ?? ""}${r.stderr?.toString() ?? ""}`,
    stdout: new Uint8Array(r.stdout ?? []),
  };
}

/**
 * Like {@link openssl}, without blocking the event loop: for talking to a
 * server that runs in this process.
 */
export function opensslAsync(args: string[], input?: string): Promise<{ status: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => child.kill(), 30_000);
    child.stdout.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
    child.stderr.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, out });
    });
    child.stdin.end(input ?? "");
  });
}

/** Asserts that `fn` throws a TlsError with `code`. */
export async function rejectsWith(code: string, fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if ((e as { code?: string }).code !== code) {
      throw new Error(`expected ${code}, got ${(e as { code?: string }).code}: ${(e as Error).message}`);
    }
    return e as Error;
  }
  throw new Error(`expected a ${code} error, but nothing was thrown`);
}

/** A running `openssl s_server` on 127.0.0.1 and a free port. */
export interface SServer {
  port: number;
  stop(): void;
}

/** Starts `openssl s_server -accept 127.0.0.1:0 ...args` and waits until it listens. */
export function sServer(args: string[]): Promise<SServer> {
  const child = spawn("openssl", ["s_server", "-accept", "127.0.0.1:0", ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`s_server did not start: ${out}`));
    }, 10_000);
    const seen = (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      const m = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), stop: () => child.kill("SIGKILL") });
      }
    };
    child.stdout.on("data", seen);
    child.stderr.on("data", seen);
    child.on("close", () => {
      clearTimeout(timer);
      reject(new Error(`s_server exited: ${out}`));
    });
  });
}

/** The CLI's entry point. */
export const cliPath = fileURLToPath(new URL("../../lib/ca/cli.ts", import.meta.url));

/** Runs the CLI in a child process of the current runtime (deno run / bun), in `cwd` if given. */
export function cli(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<{ status: number; stdout: string; stderr: string }> {
  const runtime = process.execPath;
  const argv = "Bun" in globalThis ? [cliPath, ...args] : ["run", "-A", cliPath, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(runtime, argv, {
      env: { ...process.env, ...env },
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d: Uint8Array) => (stdout += new TextDecoder().decode(d)));
    child.stderr.on("data", (d: Uint8Array) => (stderr += new TextDecoder().decode(d)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

/** Waits for a child's stdout to print `pattern`; returns the match. */
export function waitFor(child: ReturnType<typeof spawn>, pattern: RegExp): Promise<RegExpMatchArray> {
  let out = "", err = "";
  child.stderr?.on("data", (d: Uint8Array) => (err += new TextDecoder().decode(d)));
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      const m = out.match(pattern);
      if (m) resolve(m);
    });
    child.on("close", (code) => reject(new Error(`${child.spawnargs.join(" ")} exited (${code}): ${err}`)));
  });
}

/** A CSR made by `openssl req` for `subj`, with `san` requested if given. */
export function opensslCsr(dir: string, subj: string, san?: string): string {
  const r = openssl([
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    join(dir, `${Math.random()}-k.pem`),
    "-subj",
    subj,
    ...(san ? ["-addext", `subjectAltName=${san}`] : []),
  ]);
  return r.out.slice(r.out.indexOf("-----BEGIN CERTIFICATE REQUEST"));
}
