/**
 * Encrypted Client Hello (RFC 9849). With libssl < 4.0 (the host's 3.0) every
 * ECH option and `generateEchKey` throw `UNSUPPORTED` at the call, before any
 * I/O; with 4.0 (run this file in the `experimental` interop image) ours ↔
 * ours accepts ECH over loopback and in memory, with the inner and outer
 * names on both sides, and GREASE shows as such. Malformed or misplaced
 * options are `INVALID_OPTION` on every libssl. Interop with `openssl
 * s_server -ech_key` / `s_client -ech_config_list` is in the matrix
 * (`interop/lib/ech_cases.ts`).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { connect, echSupported, listen } from "../mod.ts";
import { connect as dtlsConnect } from "../dtls.ts";
import { TlsContext, TlsEngine } from "../engine.ts";
import { createRootCa, generateEchKey, issueCertificate } from "../ca.ts";
import { echConfigListBytes } from "../lib/engine/ech.ts";
import { cli, scratch } from "./ca/helpers.ts";
import { certs } from "./support/certs.ts";
import { handshakeInMemory } from "./support/engines.ts";
import { connectTo } from "./support/conn.ts";
import { rejectsWith } from "./support/errors.ts";
import { acceptingServer } from "./support/server.ts";
import { test } from "./harness.ts";

/** A well-formed ECHConfigList (public name "public.test"): public data, no key needed to check options. */
const LIST = "AD7+DQA64QAgACBLHbk+cxBTWa9fJbi562bSPXDVunMD9PmXCjN/5AIMGAAEAAEAAQALcHVibGljLnRlc3QAAA==";
/** ECH PEM in form only: enough to reach the libssl check on a libssl without ECH. */
const FORM_ONLY_KEYS = `-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n` +
  `-----BEGIN ECHCONFIG-----\n${LIST}\n-----END ECHCONFIG-----\n`;
const CLOSED_PORT = 1; // nothing listens: a connection attempt would fail with CONNECTION_FAILED

const supported = echSupported();
const onlyWithEch = supported ? false : "libssl < 4.0 has no ECH";
const onlyWithoutEch = supported ? "this libssl has ECH" : false;

test("ech: a handshake without ECH reports status none", async () => {
  await using server = acceptingServer();
  const conn = await connectTo(server.port);
  const info = await conn.handshake();
  assert.deepEqual(info.ech, { status: "none", innerServername: null, outerServername: null });
  conn.close();
});

test("ech: malformed echConfigList is INVALID_OPTION, before any I/O", async () => {
  const bad: unknown[] = [
    "not base64!",
    "",
    "AAAA", // too short
    LIST.slice(0, 40), // truncated: its length says more
    new Uint8Array([0, 4, 0xfe, 0x0d, 0, 9]), // an ECHConfig longer than the list
    42,
  ];
  for (const echConfigList of bad) {
    await rejectsWith(
      connect({ port: CLOSED_PORT, echConfigList: echConfigList as string }),
      "INVALID_OPTION",
    );
  }
});

test("ech: misplaced ECH options are INVALID_OPTION", async () => {
  const invalid = (fn: () => unknown) => assert.throws(fn, { code: "INVALID_OPTION" });
  invalid(() => new TlsContext({ echKeys: FORM_ONLY_KEYS }));
  invalid(() => new TlsContext({ isServer: true, echConfigList: LIST }));
  invalid(() => new TlsContext({ isServer: true, echGrease: true }));
  invalid(() => new TlsContext({ echGrease: "yes" as unknown as boolean }));
  invalid(() => generateEchKey({ publicName: "" }));
  new TlsContext({ echGrease: false }).free(); // asks for nothing, on any libssl
  await rejectsWith(dtlsConnect({ port: CLOSED_PORT, echConfigList: LIST } as never), "INVALID_OPTION");
  assert.throws(() => new TlsContext({ isServer: true, echKeys: "no PEM" }), { code: "INVALID_PEM" });
});

test("ech: libssl < 4.0 refuses every ECH option with UNSUPPORTED, before any I/O", async () => {
  const unsupported = (fn: () => unknown) => assert.throws(fn, { code: "UNSUPPORTED" });
  await rejectsWith(connect({ port: CLOSED_PORT, echConfigList: LIST }), "UNSUPPORTED");
  await rejectsWith(
    connect({ port: CLOSED_PORT, echConfigList: Uint8Array.from(atob(LIST), (c) => c.charCodeAt(0)) }),
    "UNSUPPORTED",
  );
  await rejectsWith(connect({ port: CLOSED_PORT, echGrease: true }), "UNSUPPORTED");
  unsupported(() =>
    listen({ port: 0, cert: certs().ecdsa.cert, key: certs().ecdsa.key, echKeys: FORM_ONLY_KEYS })
  );
  unsupported(() => new TlsContext({ echConfigList: LIST }));
  unsupported(() => generateEchKey({ publicName: "public.test" }));
}, { skip: onlyWithoutEch });

/** A CA and a server certificate for both the inner and the public name. */
function echServer() {
  const root = createRootCa({ subject: "ECH test root", days: 2 });
  const leaf = issueCertificate({ issuer: root, names: ["inner.test", "public.test"] });
  const ech = generateEchKey({ publicName: "public.test" });
  return { root: root.cert, cert: leaf.cert, key: leaf.key, ...ech };
}

test("ech: generateEchKey gives ECH PEM and its ECHConfigList", () => {
  const { pem, echConfigList } = generateEchKey({ publicName: "public.test" });
  assert.match(pem, /-----BEGIN PRIVATE KEY-----[\s\S]+-----BEGIN ECHCONFIG-----/);
  const bytes = Uint8Array.from(atob(echConfigList), (c) => c.charCodeAt(0));
  assert.equal((bytes[0] << 8 | bytes[1]) + 2, bytes.length);
  assert.equal(bytes[2] << 8 | bytes[3], 0xfe0d); // RFC 9849's ECHConfig version
  assert.ok(new TextDecoder().decode(bytes).includes("public.test"));
}, { skip: onlyWithEch });

test("ech: ours ↔ ours over loopback: accepted, inner name inside, public name outside", async () => {
  const s = echServer();
  await using server = acceptingServer({ cert: s.cert, key: s.key, echKeys: s.pem });
  const conn = await connect({
    hostname: "127.0.0.1",
    port: server.port,
    servername: "inner.test",
    caCerts: [s.root],
    echConfigList: s.echConfigList,
  });
  const info = await conn.handshake();
  assert.deepEqual(info.ech, {
    status: "accepted",
    innerServername: "inner.test",
    outerServername: "public.test",
  });
  assert.equal(info.servername, "inner.test");
  const accepted = await server.accept();
  const serverInfo = await accepted.handshake();
  assert.equal(serverInfo.ech.status, "accepted");
  assert.equal(serverInfo.ech.innerServername, "inner.test");
  assert.equal(serverInfo.servername, "inner.test");
  conn.close();
  accepted.close();
}, { skip: onlyWithEch });

test("ech: in memory, bytes list; GREASE shows as grease and the server sees no ECH", () => {
  const s = echServer();
  const server = new TlsContext({ isServer: true, cert: s.cert, key: s.key, echKeys: s.pem });
  const bytes = Uint8Array.from(atob(s.echConfigList), (c) => c.charCodeAt(0));
  const client = new TlsContext({ caCerts: [s.root], echConfigList: bytes });
  const a = new TlsEngine(client, { servername: "inner.test" });
  const b = new TlsEngine(server);
  handshakeInMemory(a, b);
  assert.equal(a.info().ech.status, "accepted");
  assert.equal(b.info().ech.innerServername, "inner.test");

  const greaser = new TlsContext({ caCerts: [s.root], echGrease: true });
  const c = new TlsEngine(greaser, { servername: "public.test" });
  const d = new TlsEngine(server);
  handshakeInMemory(c, d);
  assert.equal(c.info().ech.status, "grease");
  assert.notEqual(d.info().ech.status, "accepted");
  for (const e of [a, b, c, d]) e.free();
  for (const ctx of [server, client, greaser]) ctx.free();
}, { skip: onlyWithEch });

test(
  "ech: a stale echConfigList is ECH_REJECTED with the server's retry configs, which then work",
  async () => {
    const s = echServer();
    const stale = generateEchKey({ publicName: "public.test" });
    await using server = acceptingServer({ cert: s.cert, key: s.key, echKeys: s.pem });
    const options = { hostname: "127.0.0.1", port: server.port, servername: "inner.test", caCerts: [s.root] };
    const error = await rejectsWith(
      connect({ ...options, echConfigList: stale.echConfigList }),
      "ECH_REJECTED",
    );
    assert.ok(error.echRetryConfigs instanceof Uint8Array, "no retry configs");
    assert.equal(btoa(String.fromCharCode(...error.echRetryConfigs)), s.echConfigList);
    const conn = await connect({ ...options, echConfigList: error.echRetryConfigs });
    assert.equal((await conn.handshake()).ech.status, "accepted");
    conn.close();
    (await server.accept()).close();
  },
  { skip: onlyWithEch },
);

test("ech: `ca ech` writes the key (0600) and prints the ECHConfigList; UNSUPPORTED before libssl 4.0", async () => {
  using s = scratch();
  const file = join(s.dir, "ech.pem");
  const missing = await cli(["ech"]);
  assert.equal(missing.status, 2, missing.stderr);
  const run = await cli(["ech", "--public-name", "public.test", "--out", file]);
  if (!supported) {
    assert.equal(run.status, 1);
    assert.match(run.stderr, /ECH needs libssl >= 4\.0/);
    assert.equal(existsSync(file), false);
    return;
  }
  assert.equal(run.status, 0, run.stderr);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const list = /ECHConfigList: (\S+)/.exec(run.stdout)?.[1];
  assert.ok(list && readFileSync(file, "utf8").replace(/\s+/g, "").includes(list), run.stdout);
  assert.equal(echConfigListBytes(list).length > 0, true);
});
