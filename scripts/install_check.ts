/**
 * Installs @jsec/tls the ways users do, on this machine, and uses it:
 *
 * - JSR: serves exactly the files `deno publish --dry-run` lists over a local
 *   HTTP server (TypeScript media types, as JSR does); runs the CA tool from
 *   `http://…/cli.ts` and a client from `http://…/mod.ts` against
 *   `openssl s_server`, under the README's flags, with an empty shim cache.
 * - npm: `npm pack`, `bun add` of the tarball into an empty project, the CA
 *   tool through `bunx`, and a Bun server that `openssl s_client` talks to.
 *
 * Ends with "install: N passed, N failed". Run by `scripts/install_check.sh`.
 *
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readmeFlags } from "./readme_flags.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "node_modules", ".bin");
const work = mkdtempSync(join(tmpdir(), "jsec-install-"));
const basePath = `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`;
let passed = 0, failed = 0;

/** Runs one check; a throw is a failure with its message. */
async function check(name: string, fn: () => Promise<string | void>): Promise<void> {
  const started = performance.now();
  try {
    const note = await fn();
    passed++;
    console.log(
      `ok   ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)${note ? `: ${note}` : ""}`,
    );
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${(e as Error).message}`);
  }
}

/** Runs a program to completion (bounded) with only PATH and HOME set; returns its output. */
async function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; home: string; ok?: boolean },
): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    clearEnv: true,
    env: { PATH: basePath, HOME: opts.home },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(180_000),
  }).spawn();
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  if (code !== 0 && opts.ok !== false) throw new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${text}`);
  // deno-lint-ignore no-control-regex -- strips ANSI colour codes
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

function dir(...parts: string[]): string {
  const path = join(work, ...parts);
  mkdirSync(path, { recursive: true });
  return path;
}

function assert(ok: unknown, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

/** Serves `site` on 127.0.0.1 with JSR's media types; returns the port and a stop function. */
function serve(site: string): { port: number; stop: () => Promise<void> } {
  const types: Record<string, string> = { ts: "application/typescript", json: "application/json" };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    const file = join(site, path);
    if (path.includes("..") || !existsSync(file) || !statSync(file).isFile()) {
      return new Response("not found", { status: 404 });
    }
    const type = types[path.split(".").pop() ?? ""] ?? "text/plain";
    return new Response(readFileSync(file), { headers: { "content-type": type } });
  });
  return { port: server.addr.port, stop: () => server.shutdown() };
}

/** A free loopback port (closed again before it is used). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

// --- JSR ---------------------------------------------------------------------------------------------
let published: string[] = [];
await check("deno publish --dry-run: the library only, no warnings", async () => {
  const out = await run(join(bin, "deno"), ["publish", "--dry-run", "--allow-dirty"], {
    cwd: root,
    home: Deno.env.get("HOME")!,
  });
  assert(!/warn/i.test(out), `warnings:\n${out}`);
  published = [...out.matchAll(/file:\/\/\/\S+/g)].map((m) => fileURLToPath(m[0]).slice(root.length));
  for (
    const must of ["mod.ts", "engine.ts", "ca.ts", "cli.ts", "README.md", "LICENSE", "ffi/shim_source.ts"]
  ) {
    assert(published.includes(must), `${must} is not published`);
  }
  const stray = published.filter((f) =>
    /^(test|bench|interop|c-shim|scripts|demo)\/|results\.json$|\.test\.ts$|package-lock\.json$/.test(f)
  );
  assert(stray.length === 0, `published but should not be: ${stray.join(", ")}`);
  const bytes = published.reduce((sum, f) => sum + statSync(join(root, f)).size, 0);
  return `${published.length} files, ${(bytes / 1024).toFixed(0)} KiB`;
});

const site = dir("jsr-site");
for (const f of published) {
  mkdirSync(dirname(join(site, f)), { recursive: true });
  writeFileSync(join(site, f), readFileSync(join(root, f)));
}
const http = serve(site);
const base = `http://127.0.0.1:${http.port}`;
const cliHome = dir("jsr-cli-home"), cliCwd = dir("jsr-cli");
await check(
  "JSR: the CA tool from /cli.ts under the README's flags (ca init, ca issue localhost)",
  async () => {
    const flags = [...readmeFlags(cliHome).cli, `--allow-import=127.0.0.1:${http.port}`];
    await run(join(bin, "deno"), ["run", "--no-prompt", ...flags, `${base}/cli.ts`, "ca", "init"], {
      cwd: cliCwd,
      home: cliHome,
    });
    await run(join(bin, "deno"), [
      "run",
      "--no-prompt",
      ...flags,
      `${base}/cli.ts`,
      "ca",
      "issue",
      "localhost",
    ], {
      cwd: cliCwd,
      home: cliHome,
    });
    assert(existsSync(join(cliCwd, "localhost.pem")), "ca issue wrote no ./localhost.pem");
  },
);

const caPem = join(cliHome, ".local", "share", "jsec-ca", "ca.pem");
const sPort = freePort();
const sServer = new Deno.Command("openssl", {
  args: [
    "s_server",
    "-accept",
    `${sPort}`,
    "-cert",
    join(cliCwd, "localhost.pem"),
    "-key",
    join(cliCwd, "localhost-key.pem"),
    "-www",
  ],
  stdin: "null",
  stdout: "null",
  stderr: "null",
}).spawn();
const clientHome = dir("jsr-client-home"), clientDir = dir("jsr-client");
const client = join(clientDir, "main.ts");
writeFileSync(
  client,
  `import { connect } from "${base}/mod.ts";
const conn = await connect({ hostname: "localhost", port: ${sPort}, caCerts: [${
    JSON.stringify(existsSync(caPem) ? readFileSync(caPem, "utf8") : "")
  }] });
await conn.write(new TextEncoder().encode("GET / HTTP/1.0\\r\\n\\r\\n"));
const text = await new Response(conn.readable).text();
console.log(/^HTTP\\/1.0 200 ok/.test(text) ? "connected" : text.slice(0, 300));
`,
);
await new Promise((r) => setTimeout(r, 500)); // s_server binds
for (const [name, key] of [["first-run", "firstRun"], ["later-run", "laterRun"]] as const) {
  await check(
    `JSR: ${base}/mod.ts connects to openssl s_server under the README's ${name} flags`,
    async () => {
      const flags = [...readmeFlags(clientHome)[key], `--allow-import=127.0.0.1:${http.port}`];
      const out = await run(join(bin, "deno"), ["run", "--no-prompt", ...flags, client], {
        cwd: clientDir,
        home: clientHome,
      });
      assert(out.split("\n").includes("connected"), out);
      if (key === "firstRun") {
        assert(existsSync(join(clientHome, ".cache", "jsec")), "no shim was built into the empty cache");
      }
    },
  );
}
sServer.kill("SIGKILL");
await sServer.status;
await http.stop();

// --- npm + Bun ---------------------------------------------------------------------------------------
const bunHome = dir("bun-home"), app = dir("bun-app");
let tarball = "";
await check("npm pack, then bun add the tarball into an empty project", async () => {
  const out = await run("npm", ["pack", "--pack-destination", work, "--loglevel=error"], {
    cwd: root,
    home: bunHome,
  });
  tarball = join(work, out.split("\n").find((l) => /^jsec-tls-.*\.tgz$/.test(l.trim()))?.trim() ?? "");
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await run(join(bin, "bun"), ["add", tarball], { cwd: app, home: bunHome });
  assert(existsSync(join(app, "node_modules", "@jsec", "tls", "mod.ts")), "not installed");
  return `${tarball.split("/").pop()}, ${(statSync(tarball).size / 1024).toFixed(0)} KiB`;
});

await check("bunx @jsec/tls ca init / ca issue localhost, paths relative to the project", async () => {
  await run(join(bin, "bunx"), ["@jsec/tls", "ca", "init", "--dir", "ca"], { cwd: app, home: bunHome });
  await run(join(bin, "bunx"), ["@jsec/tls", "ca", "issue", "localhost", "--dir", "ca"], {
    cwd: app,
    home: bunHome,
  });
  assert(
    existsSync(join(app, "ca", "ca.pem")) && existsSync(join(app, "localhost.pem")),
    "no ca/ca.pem or ./localhost.pem",
  );
});

await check("Bun: import @jsec/tls, listen, and serve openssl s_client", async () => {
  writeFileSync(
    join(app, "server.ts"),
    `import { listen } from "@jsec/tls";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
const server = listen({ hostname: "127.0.0.1", port: 0, cert: readFileSync("localhost.pem", "utf8"), key: readFileSync("localhost-key.pem", "utf8") });
(async () => {
  const conn = await server.accept();
  await conn.read(new Uint8Array(64));
  await conn.write(new TextEncoder().encode("hello from bun\\n"));
  await conn.closeWrite();
  conn.close();
})();
const peer = spawn("openssl", ["s_client", "-connect", "127.0.0.1:" + server.addr.port, "-servername", "localhost",
  "-CAfile", "ca/ca.pem", "-verify_return_error", "-brief"], { stdio: ["pipe", "pipe", "pipe"] });
let out = "";
peer.stdout.on("data", (d) => out += d);
peer.stderr.on("data", (d) => out += d);
peer.stdin.write("ping\\n");
const timer = setTimeout(() => peer.kill(), 15000);
const code = await new Promise((r) => peer.on("close", r));
clearTimeout(timer);
server.close();
console.log(code === 0 && out.includes("hello from bun") && /Verification: OK/.test(out) ? "served" : out);
`,
  );
  const out = await run(join(bin, "bun"), ["server.ts"], { cwd: app, home: bunHome });
  assert(out.split("\n").includes("served"), out);
});

rmSync(work, { recursive: true, force: true });
console.log(`install: ${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
