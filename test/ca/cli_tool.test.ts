import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { test } from "../harness.ts";
import { cli, opensslCsr, scratch } from "./helpers.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const commands = ["init", "issue", "sign", "revoke", "crl", "ocsp", "ech", "list", "show"];

/** An environment with no CA folder of its own choosing: the defaults apply. */
const noCaDir = { JSEC_CA_DIR: "", INIT_CWD: "", npm_config_local_prefix: "" };

test("ca cli: --help works on every command, and `ca help COMMAND` too", async () => {
  const runs = await Promise.all(
    commands.flatMap((c) => [cli([c, "--help"]), cli(["help", c]), cli(["ca", c, "-h"])]),
  );
  runs.forEach((r, i) => {
    const command = commands[Math.floor(i / 3)];
    assert.equal(r.status, 0, `${command}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: ca ${command}`), r.stdout);
    assert.match(r.stdout, /--dir DIR, --passphrase-file FILE, --help/);
  });
  const top = await cli(["--help"]);
  assert.equal(top.status, 0);
  for (const c of commands) assert.match(top.stdout, new RegExp(`\\n  ${c} `));
}, { timeout: 60_000 });

test(
  "ca cli: relative paths are the user's working directory's; --dir defaults to $JSEC_CA_DIR, else a per-user folder",
  async () => {
    using s = scratch();
    const work = join(s.dir, "work");
    mkdirSync(join(work, "out"), { recursive: true });
    s.put("work/pw.txt", "s3cret\n");
    const init = await cli(["init", "--dir", "myca", "--passphrase-file", "pw.txt"], noCaDir, work);
    assert.equal(init.status, 0, init.stderr);
    assert.ok(existsSync(join(work, "myca", "ca.pem")));
    const common = ["--dir", "myca", "--passphrase-file", "pw.txt"];
    const issue = await cli(["issue", "rel.test", "--out", "out", ...common], noCaDir, work);
    assert.equal(issue.status, 0, issue.stderr);
    assert.ok(
      existsSync(join(work, "out", "rel.test.pem")) && existsSync(join(work, "out", "rel.test-key.pem")),
    );
    s.put("work/r.csr", opensslCsr(s.dir, "/CN=x", "DNS:csr.test"));
    const sign = await cli(["sign", "r.csr", "--copy-sans", "--out", "signed.pem", ...common], noCaDir, work);
    assert.equal(sign.status, 0, sign.stderr);
    assert.ok(existsSync(join(work, "signed.pem")));
    assert.equal((await cli(["revoke", "signed.pem", ...common], noCaDir, work)).status, 0);
    assert.equal((await cli(["crl", "--out", "ca.crl", ...common], noCaDir, work)).status, 0);
    assert.ok(existsSync(join(work, "ca.crl")));
    assert.match((await cli(["show", "out/rel.test.pem"], noCaDir, work)).stdout, /DNS:rel\.test/);

    // $JSEC_CA_DIR, relative to the working directory too.
    const viaEnv = await cli(
      ["list", "--passphrase-file", "pw.txt"],
      { ...noCaDir, JSEC_CA_DIR: "myca" },
      work,
    );
    assert.equal(viaEnv.status, 0, viaEnv.stderr);
    assert.match(viaEnv.stdout, /revoked .*DNS:csr\.test/);

    // Neither: the per-user data folder ($XDG_DATA_HOME, else ~/.local/share).
    const home = join(s.dir, "home");
    mkdirSync(home);
    const byHome = await cli(["init"], { ...noCaDir, HOME: home, XDG_DATA_HOME: "" }, work);
    assert.equal(byHome.status, 0, byHome.stderr);
    assert.ok(existsSync(join(home, ".local", "share", "jsec-ca", "ca.pem")), byHome.stdout);
    const xdg = join(s.dir, "xdg");
    const byXdg = await cli(["init"], { ...noCaDir, HOME: home, XDG_DATA_HOME: xdg }, work);
    assert.equal(byXdg.status, 0, byXdg.stderr);
    assert.ok(existsSync(join(xdg, "jsec-ca", "ca.pem")));
    const help = await cli(["--help"], { ...noCaDir, HOME: home, XDG_DATA_HOME: xdg }, work);
    assert.ok(help.stdout.includes(`else ${join(xdg, "jsec-ca")})`), help.stdout);
  },
  { timeout: 90_000 },
);

test(
  "ca cli: $INIT_CWD (deno task, npm run) counts only when the CLI runs in its own package root",
  async () => {
    using s = scratch();
    const user = join(s.dir, "user"), other = join(s.dir, "other");
    mkdirSync(user);
    mkdirSync(other);
    const env = { ...noCaDir, JSEC_CA_DIR: join(s.dir, "ca") };
    assert.equal((await cli(["init"], env)).status, 0);
    const fromRoot = await cli(["issue", "a.test"], { ...env, INIT_CWD: user }, root);
    assert.equal(fromRoot.status, 0, fromRoot.stderr);
    assert.ok(existsSync(join(user, "a.test.pem")), fromRoot.stdout);
    const bunStyle = await cli(["issue", "b.test"], { ...env, npm_config_local_prefix: user }, root);
    assert.equal(bunStyle.status, 0, bunStyle.stderr);
    assert.ok(existsSync(join(user, "b.test.pem")), bunStyle.stdout);
    // Elsewhere (a user's own script in its own folder), the working directory wins.
    const elsewhere = await cli(["issue", "c.test"], { ...env, INIT_CWD: user }, other);
    assert.equal(elsewhere.status, 0, elsewhere.stderr);
    assert.ok(existsSync(join(other, "c.test.pem")) && !existsSync(join(user, "c.test.pem")));
  },
  { timeout: 60_000 },
);

/** Runs `command args` in `cwd`, as from a shell (no task runner's variables); its exit status and output. */
function run(command: string, args: string[], cwd: string, env: Record<string, string>) {
  const shellEnv: Record<string, string | undefined> = { ...process.env, ...env };
  delete shellEnv.INIT_CWD; // a task runner sets it only when it is not set yet
  delete shellEnv.npm_config_local_prefix;
  return new Promise<{ status: number; out: string }>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: shellEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
    child.stderr.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? -1, out }));
  });
}

test(
  "ca cli: `deno task ca` and `bun run ca` write where the user ran them, not in the package root",
  async () => {
    using s = scratch();
    // A folder inside the checkout, as a user who works in a subfolder has.
    const sub = mkdtempSync(join(root, ".ca-cli-test-"));
    try {
      const env = { ...noCaDir, JSEC_CA_DIR: join(s.dir, "ca") };
      assert.equal((await cli(["init"], env)).status, 0);
      const bin = join(root, "node_modules", ".bin");
      const runners: Array<[string, string[]]> = [
        [join(bin, "deno"), ["task", "ca", "issue", "deno-task.test"]],
        [join(bin, "bun"), ["run", "ca", "issue", "bun-run.test"]],
      ];
      for (const [command, args] of runners) {
        const r = await run(command, args, sub, env);
        assert.equal(r.status, 0, r.out);
        const name = args[args.length - 1];
        assert.ok(existsSync(join(sub, `${name}.pem`)), `${args.join(" ")}: ${r.out}`);
        assert.ok(!existsSync(join(root, `${name}.pem`)), "nothing lands in the package root");
      }
    } finally {
      rmSync(sub, { recursive: true, force: true });
    }
  },
  { timeout: 120_000 },
);
