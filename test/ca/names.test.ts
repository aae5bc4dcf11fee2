import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../harness.ts";
import { connect } from "../../mod.ts";
import {
  CertificateAuthority,
  createCertificate,
  createRootCa,
  generateKey,
  parseCertificate,
  verifyChain,
} from "../../ca.ts";
import { cli, openssl, opensslAsync, opensslCsr, rejectsWith, scratch, sServer } from "./helpers.ts";

test("ca names: `ca sign` certifies only names the operator approves, never the CSR's CN", async () => {
  using s = scratch();
  const dir = join(s.dir, "ca");
  const ca = await CertificateAuthority.init(dir);
  const caPath = s.put("ca.pem", ca.cert);
  const env = { JSEC_CA_DIR: dir };
  const cnOnly = s.put("victim.csr", opensslCsr(s.dir, "/CN=victim.example"));

  // No name approved: refused, by the CLI (one line saying what to do) and by the API.
  const refused = await cli(["sign", cnOnly], env);
  assert.notEqual(refused.status, 0);
  assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
  assert.match(refused.stderr, /--copy-sans.*--san/);
  assert.equal(refused.stdout, "");
  await rejectsWith("INVALID_OPTION", () => ca.sign(opensslCsr(s.dir, "/CN=victim.example")));
  await rejectsWith(
    "INVALID_OPTION",
    () => ca.sign(opensslCsr(s.dir, "/CN=victim.example"), { copySans: true }),
  );
  assert.equal(ca.list().length, 0);

  // A name the operator gives: the certificate carries it, and nothing of the CSR's subject.
  const signed = await cli(["sign", cnOnly, "--san", "app.example", "--out", join(s.dir, "app.pem")], env);
  assert.equal(signed.status, 0, signed.stderr);
  const app = readFileSync(join(s.dir, "app.pem"), "utf8");
  const info = parseCertificate(app);
  assert.equal(info.subject.text, "CN=app.example");
  assert.deepEqual(info.sans, [{ type: "DNS", value: "app.example" }]);
  const appPath = join(s.dir, "app.pem");
  const verifyAs = (host: string) =>
    openssl(["verify", "-CAfile", caPath, "-verify_hostname", host, appPath]);
  assert.equal(verifyAs("app.example").status, 0);
  assert.notEqual(verifyAs("victim.example").status, 0, "openssl must not accept the CSR's CN");

  // --copy-sans copies the requested SANs, still not the subject; --subject sets it.
  const both = opensslCsr(s.dir, "/CN=victim.example", "DNS:api.example");
  const copied = parseCertificate((await ca.sign(both, { copySans: true })).cert);
  assert.equal(copied.subject.text, "CN=api.example");
  assert.deepEqual(copied.sans, [{ type: "DNS", value: "api.example" }]);
  const named = await cli(
    ["sign", s.put("both.csr", both), "--copy-sans", "--subject", "CN=API, O=Example"],
    env,
  );
  assert.equal(named.status, 0, named.stderr);
  assert.equal(parseCertificate(named.stdout).subject.text, "O=Example,CN=API");
}, { timeout: 60_000 });

test(
  "ca names: a certificate whose only name is its CN matches no host (verifyChain; our client against s_server)",
  async () => {
    using s = scratch();
    const root = createRootCa();
    const key = generateKey();
    // The kind of certificate OpenSSL's default host check accepts through the CN.
    const cnOnly = createCertificate({
      key,
      issuer: root,
      subject: "victim.example",
      extKeyUsage: ["serverAuth"],
    });
    assert.deepEqual(parseCertificate(cnOnly).sans, []);
    const rootPath = s.put("root.pem", root.cert), leafPath = s.put("leaf.pem", cnOnly);
    assert.equal(
      openssl(["verify", "-CAfile", rootPath, "-verify_hostname", "victim.example", leafPath]).status,
      0,
    );

    const checked = verifyChain({ chain: cnOnly, roots: root.cert, hostname: "victim.example" });
    assert.equal(checked.ok, false);
    assert.equal(checked.code, 62); // X509_V_ERR_HOSTNAME_MISMATCH
    assert.equal(verifyChain({ chain: cnOnly, roots: root.cert }).ok, true); // trusted, just names no host

    // verifyChain matches as our TLS client does: no partial wildcards ("w*.example.com" for www.example.com).
    const rootKeyPath = s.put("root-key.pem", root.key),
      ext = s.put("ext.cnf", "subjectAltName=DNS:w*.example.com\n");
    const csrPath = s.put("w.csr", "");
    assert.equal(
      openssl(["req", "-new", "-key", s.put("w-key.pem", key), "-subj", "/O=x", "-out", csrPath]).status,
      0,
    );
    const partial = openssl([
      "x509",
      "-req",
      "-in",
      csrPath,
      "-CA",
      rootPath,
      "-CAkey",
      rootKeyPath,
      "-days",
      "1",
      "-extfile",
      ext,
    ]).out;
    const partialLeaf = partial.slice(partial.indexOf("-----BEGIN CERTIFICATE"));
    assert.equal(
      openssl([
        "verify",
        "-CAfile",
        rootPath,
        "-verify_hostname",
        "www.example.com",
        s.put("w.pem", partialLeaf),
      ])
        .status,
      0,
      "openssl's default accepts the partial wildcard",
    );
    assert.equal(verifyChain({ chain: partialLeaf, roots: root.cert, hostname: "www.example.com" }).code, 62);

    const withSan = createCertificate({
      key,
      issuer: root,
      names: ["victim.example"],
      extKeyUsage: ["serverAuth"],
    });
    const servers = await Promise.all(
      [cnOnly, withSan].map((cert) =>
        sServer(["-cert", s.put(`${Math.random()}.pem`, cert), "-key", s.put("k.pem", key), "-www"])
      ),
    );
    const base = { hostname: "127.0.0.1", servername: "victim.example", caCerts: [root.cert] };
    try {
      const err = await rejectsWith(
        "HOSTNAME_MISMATCH",
        async () => (await connect({ ...base, port: servers[0].port })).handshake(),
      );
      assert.match(err.message, /hostname mismatch/i);
      const ok = await connect({ ...base, port: servers[1].port }); // the control: the same name as a SAN
      assert.equal((await ok.handshake()).verified, true);
      ok.close();
      // The peer is real: openssl s_client (which falls back to the CN) accepts the CN-only server.
      const c = await opensslAsync([
        "s_client",
        "-connect",
        `127.0.0.1:${servers[0].port}`,
        "-CAfile",
        rootPath,
        "-verify_hostname",
        "victim.example",
        "-verify_return_error",
        "-brief",
      ], "");
      assert.match(c.out, /Verification: OK/, c.out);
    } finally {
      for (const server of servers) server.stop();
    }
  },
  { timeout: 60_000 },
);
