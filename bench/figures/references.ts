/**
 * Reference points outside the pairs: the crypto limit (`openssl speed` of
 * the AEADs in use, 16 KiB blocks) and C OpenSSL's own handshake rate over
 * loopback (`s_time` → `s_server`). An `s_client` → `s_server` bulk row was
 * tried and dropped: OpenSSL 3.0's s_client exits at the end of piped stdin
 * before sending it, so it measured nothing.
 *
 * @module
 */
import { execFile, spawn } from "node:child_process";
import * as net from "node:net";
import type { CertSet } from "../certs.ts";
import type { Results } from "../results.ts";

type Ref = Results["references"][number];

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${err.message} ${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, "127.0.0.1", () => {
        c.destroy();
        resolve(true);
      });
      c.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** openssl s_server for `naccept` connections (0: until killed). */
async function sServer(certs: CertSet, extra: string[] = []): Promise<{ port: number; stop: () => void }> {
  const port = await freePort();
  const child = spawn("openssl", [
    "s_server",
    "-accept",
    String(port),
    "-cert",
    certs.certFile,
    "-key",
    certs.keyFile,
    "-quiet",
    ...extra,
  ], { stdio: ["ignore", "ignore", "ignore"] });
  await waitForPort(port, 10_000);
  return { port, stop: () => child.kill("SIGKILL") };
}

export async function referenceFigures(opts: {
  certs: CertSet;
  smoke: boolean;
  log: (line: string) => void;
}): Promise<Ref[]> {
  const refs: Ref[] = [];
  const seconds = opts.smoke ? "1" : "2";
  for (const cipher of ["aes-128-gcm", "aes-256-gcm"]) {
    opts.log(`openssl speed -evp ${cipher}`);
    try {
      const out = await run(
        "openssl",
        ["speed", "-seconds", seconds, "-bytes", "16384", "-evp", cipher],
        60_000,
      );
      const line = out.split("\n").find((l) => l.toUpperCase().startsWith(cipher.toUpperCase()));
      const kBps = Number(line?.trim().split(/\s+/).pop()?.replace(/k$/, ""));
      refs.push({
        what: `openssl speed -evp ${cipher} (16 KiB blocks, one core)`,
        value: (kBps * 1000) / 1e6,
        unit: "MB/s",
        note: "the crypto limit of the system libcrypto",
      });
    } catch (e) {
      opts.log(`  failed: ${(e as Error).message.slice(0, 200)}`);
    }
  }
  // C OpenSSL full handshakes: s_time → s_server.
  opts.log("openssl s_time → s_server: full TLS 1.3 P-256 handshakes");
  const server = await sServer(opts.certs);
  try {
    const out = await run("openssl", [
      "s_time",
      "-connect",
      `127.0.0.1:${server.port}`,
      "-new",
      "-time",
      seconds,
    ], 60_000);
    const m = /(\d+) connections in ([\d.]+)s; ([\d.]+) connections\/user sec/.exec(out);
    if (m) {
      refs.push({
        what: "openssl s_time -new → s_server (TLS 1.3, P-256 leaf, sequential)",
        value: Number(m[1]) / Number(m[2]),
        unit: "handshakes/s",
        note: `${m[3]} per client user-second`,
      });
    }
  } catch (e) {
    opts.log(`  failed: ${(e as Error).message.slice(0, 200)}`);
  } finally {
    server.stop();
  }
  return refs;
}
