import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { connect as tlsConnect, createServer } from "node:tls";
import { join } from "node:path";
import process from "node:process";
import { test } from "../harness.ts";
import { cli, cliPath, opensslAsync, opensslCsr, scratch, verifyWithCrl, waitFor } from "./helpers.ts";

test(
  "ca cli: init + issue localhost 127.0.0.1 give files that openssl verify and TLS handshakes accept",
  async () => {
    using s = scratch();
    const env = { JSEC_CA_DIR: join(s.dir, "ca") };
    const init = await cli(["init"], env);
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stdout, /ca\.pem/);
    const issue = await cli(["issue", "localhost", "127.0.0.1", "--out", s.dir], env);
    assert.equal(issue.status, 0, issue.stderr);
    const certPath = join(s.dir, "localhost.pem"),
      keyPath = join(s.dir, "localhost-key.pem"),
      caPath = join(s.dir, "ca", "ca.pem");
    assert.ok(issue.stdout.includes(certPath) && issue.stdout.includes(keyPath), issue.stdout);
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    const v = await opensslAsync([
      "verify",
      "-CAfile",
      caPath,
      "-purpose",
      "sslserver",
      "-verify_hostname",
      "localhost",
      certPath,
    ]);
    assert.equal(v.status, 0, v.out);
    const ip = await opensslAsync(["verify", "-CAfile", caPath, "-verify_ip", "127.0.0.1", certPath]);
    assert.equal(ip.status, 0, ip.out);

    // Our certificate in the runtime's own TLS server, openssl s_client as the client.
    const cert = readFileSync(certPath, "utf8"),
      key = readFileSync(keyPath, "utf8"),
      ca = readFileSync(caPath, "utf8");
    const server = createServer({ cert, key }, (sock) => sock.end("hello from the runtime\n"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const c = await opensslAsync([
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-CAfile",
        caPath,
        "-verify_hostname",
        "localhost",
        "-verify_return_error",
        "-brief",
      ], "");
      assert.match(c.out, /Verification: OK/, c.out);
    } finally {
      await new Promise((r) => server.close(r));
    }

    // openssl s_server with our certificate, the runtime's own TLS client trusting our CA.
    const sserver = spawn("openssl", [
      "s_server",
      "-accept",
      "127.0.0.1:0",
      "-cert",
      certPath,
      "-key",
      keyPath,
      "-www",
      "-naccept",
      "1",
    ]);
    try {
      const sport = Number((await waitFor(sserver, /ACCEPT 127\.0\.0\.1:(\d+)/))[1]);
      const text = await new Promise<string>((resolve, reject) => {
        const sock = tlsConnect(
          { host: "127.0.0.1", port: sport, servername: "localhost", ca },
          () => sock.write("GET / HTTP/1.0\r\n\r\n"),
        );
        let data = "";
        sock.on("data", (d: Uint8Array) => (data += new TextDecoder().decode(d)));
        sock.on("end", () => resolve(data));
        sock.on("close", () => resolve(data));
        sock.on("error", reject);
      });
      assert.match(text, /HTTP\/1\.0 200 ok/);
    } finally {
      sserver.kill();
    }

    // revoke + crl: openssl verify -crl_check rejects; list/show see it.
    const revoke = await cli(["revoke", certPath, "--reason", "keyCompromise"], env);
    assert.equal(revoke.status, 0, revoke.stderr);
    const crl = await cli(["crl"], env);
    assert.match(crl.stdout, /BEGIN X509 CRL/);
    const crlPath = s.put("ca.crl", crl.stdout);
    const rejected = await opensslAsync(verifyWithCrl(caPath, crlPath, certPath));
    assert.notEqual(rejected.status, 0);
    assert.match(rejected.out, /certificate revoked/);
    const list = await cli(["list"], env);
    assert.match(list.stdout, /revoked .*DNS:localhost IP:127\.0\.0\.1/);
    const serial = list.stdout.split(" ")[0];
    const show = await cli(["show", serial], env);
    assert.match(show.stdout, /status +revoked/);
  },
  { timeout: 60_000 },
);

test("ca cli: ocsp serves openssl ocsp; sign; errors are one clear line and a non-zero exit", async () => {
  using s = scratch();
  const env = { JSEC_CA_DIR: join(s.dir, "ca"), JSEC_CA_PASSPHRASE: "pw" };
  assert.equal((await cli(["init", "--key-type", "rsa"], env)).status, 0);
  assert.match(readFileSync(join(s.dir, "ca", "ca-key.pem"), "utf8"), /ENCRYPTED/);
  await cli(["issue", "good.test", "--out", s.dir], env);
  await cli(["issue", "bad.test", "--out", s.dir], env);
  assert.equal((await cli(["revoke", join(s.dir, "bad.test.pem")], env)).status, 0);
  const csrPath = s.put("r.csr", opensslCsr(s.dir, "/CN=csr.test", "DNS:csr.test"));
  const signed = await cli(["sign", csrPath, "--copy-sans", "--out", join(s.dir, "csr.pem")], env);
  assert.equal(signed.status, 0, signed.stderr);
  assert.ok(existsSync(join(s.dir, "csr.pem")));

  const server = spawn(
    process.execPath,
    "Bun" in globalThis ? [cliPath, "ocsp", "--port", "0"] : ["run", "-A", cliPath, "ocsp", "--port", "0"],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  try {
    const port = Number((await waitFor(server, /http:\/\/127\.0\.0\.1:(\d+)\//))[1]);
    const caPath = join(s.dir, "ca", "ca.pem");
    const ask = (cert: string) =>
      opensslAsync([
        "ocsp",
        "-issuer",
        caPath,
        "-CAfile",
        caPath,
        "-cert",
        cert,
        "-url",
        `http://127.0.0.1:${port}/`,
      ]);
    const good = await ask(join(s.dir, "good.test.pem"));
    assert.match(good.out, /good\.test\.pem: good/);
    assert.match(good.out, /Response verify OK/);
    assert.match((await ask(join(s.dir, "bad.test.pem"))).out, /bad\.test\.pem: revoked/);
    assert.match((await ask(join(s.dir, "csr.pem"))).out, /csr\.pem: good/);
  } finally {
    server.kill("SIGTERM");
  }

  // Four processes issuing at once: every record kept, no serial reused.
  const before = (await cli(["list"], env)).stdout.trim().split("\n").length;
  const parallel = await Promise.all(
    [1, 2, 3, 4].map((i) => cli(["issue", `p${i}.test`, "--out", s.dir], env)),
  );
  for (const r of parallel) assert.equal(r.status, 0, r.stderr);
  const listed = (await cli(["list"], env)).stdout.trim().split("\n");
  assert.equal(listed.length, before + 4);
  assert.equal(new Set(listed.map((l) => l.split(" ")[0])).size, listed.length);

  // Every mistake: a non-zero exit and one line that says what to do, never a stack trace.
  const passphraseHint = /give it with --passphrase-file FILE or \$JSEC_CA_PASSPHRASE/;
  const errors: Array<[string[], Record<string, string>, RegExp]> = [
    [["issue", "x.test"], { JSEC_CA_DIR: join(s.dir, "nowhere") }, /no CA at .*run `ca init` first/],
    [["issue", "x.test"], { ...env, JSEC_CA_PASSPHRASE: "wrong" }, passphraseHint],
    [["issue", "x.test"], { ...env, JSEC_CA_PASSPHRASE: "" }, /passphrase is missing/],
    [
      ["init", "--passphrase-file", join(s.dir, "no-such-file")],
      { JSEC_CA_DIR: join(s.dir, "ca2") },
      /cannot read the passphrase file .*no-such-file: no such file .*give an existing file to --passphrase-file/,
    ],
    [["issue", "x.test", "--out", join(s.dir, "no", "such")], env, /cannot write .*no such file or folder/],
    [["sign", join(s.dir, "missing.csr"), "--copy-sans"], env, /cannot read .*missing\.csr: no such file/],
    [["revoke", "0BADBAD0"], env, /no certificate with serial/],
    [["issue", "bad name"], env, /not a valid DNS name/],
    [["issue"], env, /give at least one name.*usage: ca issue NAME/],
    [["issue", "x.test", "--days", "0"], env, /--days must be a whole number >= 1/],
    [["issue", "x.test", "--bogus"], env, /Unknown option '--bogus'.*ca issue --help/],
    [["init"], env, /already holds a CA/],
    [["sign", s.put("junk.csr", "junk"), "--copy-sans"], env, /not a PEM certificate request/],
    [["frobnicate"], env, /unknown command "frobnicate"; run `ca --help`/],
    [["show", "/dev/zero"], env, /\/dev\/zero holds more than 1 MiB/],
    [["show", s.dir], env, /cannot read .*: it is a folder \(EISDIR\)/],
    [["list"], { JSEC_CA_DIR: s.dir }, /holds no CA \(no index\.json, no ca\.pem\): run `ca init` there/],
  ];
  for (const [args, e, pattern] of errors) {
    const r = await cli(args, e);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.match(r.stderr, pattern, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, `one line: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /unexpected error|at .*\.ts:\d+/, "no stack traces");
  }
  const h = await cli(["issue", "--help"], env);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /usage: ca issue NAME/);
}, { timeout: 90_000 });

test(
  "ca cli: issued keys are 0600 even over an old 0644 file, and never written through a symlink",
  async () => {
    using s = scratch();
    const env = { JSEC_CA_DIR: join(s.dir, "ca") };
    assert.equal((await cli(["init"], env)).status, 0);
    const out = join(s.dir, "out");
    mkdirSync(out);
    // An old key left readable by others is replaced by a fresh 0600 file.
    writeFileSync(join(out, "re.test-key.pem"), "old", { mode: 0o644 });
    chmodSync(join(out, "re.test-key.pem"), 0o644);
    writeFileSync(join(out, "re.test.p12"), "old", { mode: 0o644 });
    chmodSync(join(out, "re.test.p12"), 0o644);
    const again = await cli(["issue", "re.test", "--out", out, "--p12"], env);
    assert.equal(again.status, 0, again.stderr);
    for (const file of ["re.test-key.pem", "re.test.p12"]) {
      assert.equal(statSync(join(out, file)).mode & 0o777, 0o600, file);
    }
    assert.match(readFileSync(join(out, "re.test-key.pem"), "utf8"), /BEGIN PRIVATE KEY/);
    // A planted symlink is replaced, not followed: the file it pointed to keeps its contents.
    const victim = s.put("victim.txt", "victim");
    symlinkSync(victim, join(out, "sym.test-key.pem"));
    symlinkSync(victim, join(out, "sym.test.pem"));
    const planted = await cli(["issue", "sym.test", "--out", out], env);
    assert.equal(planted.status, 0, planted.stderr);
    assert.equal(readFileSync(victim, "utf8"), "victim");
    const key = lstatSync(join(out, "sym.test-key.pem"));
    assert.ok(key.isFile() && !key.isSymbolicLink());
    assert.equal(key.mode & 0o777, 0o600);
    assert.ok(lstatSync(join(out, "sym.test.pem")).isFile());
    assert.deepEqual(readdirSync(out).filter((f) => f.endsWith(".tmp")), [], "no temporary files left");
  },
  { timeout: 60_000 },
);
