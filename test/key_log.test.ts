/**
 * keyLog: the NSS key-log lines we give out are the very ones an independent
 * implementation derives for the same connection — `openssl s_client` /
 * `s_server -keylogfile` on the other side writes the same set — in TLS 1.3
 * and 1.2, as client and server; `"SSLKEYLOGFILE"` writes them to that file
 * only when asked.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { connect, listen, TlsError, upgrade } from "../mod.ts";
import { certs } from "./support/certs.ts";
import { closeConn, connectTo } from "./support/conn.ts";
import { sClient, sServer } from "./support/openssl.ts";
import { plainConnect } from "./support/plain.ts";
import { acceptingServer } from "./support/server.ts";
import { test } from "./harness.ts";

const VERSIONS = [
  { flag: "-tls1_3", lines: 5 }, // handshake and traffic secrets both ways, the exporter secret
  { flag: "-tls1_2", lines: 1 }, // CLIENT_RANDOM
] as const;

/** The key-log lines of the file an openssl peer writes, once it holds `count` (bounded wait). */
async function peerLines(file: string, count: number): Promise<Set<string>> {
  const until = Date.now() + 10_000;
  for (;;) {
    const lines = existsSync(file)
      ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "" && !l.startsWith("#"))
      : [];
    if (lines.length >= count) return new Set(lines);
    if (Date.now() > until) assert.fail(`the peer's key log has ${lines.length} of ${count} lines`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function tempDir(): string & Disposable {
  const dir = mkdtempSync(join(tmpdir(), "jsec-keylog-"));
  return Object.assign(dir, { [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) });
}

/** Labels and client randoms as `openssl` writes them: `LABEL <64 hex> <hex secret>`. */
const nssLine = /^(CLIENT_RANDOM|[A-Z_]+_SECRET(_0)?) [0-9a-f]{64} [0-9a-f]{64,}$/;

for (const { flag, lines: count } of VERSIONS) {
  test(`keyLog ${flag}: our server logs the lines openssl s_client logs`, async () => {
    using dir = tempDir();
    const file = join(String(dir), "client.keys");
    const ours: string[] = [];
    await using server = acceptingServer({ keyLog: (line) => ours.push(line) });
    await using peer = sClient(server.port, [flag, "-keylogfile", file]);
    const conn = await server.accept();
    await conn.handshake();
    const theirs = await peerLines(file, count);
    assert.equal(ours.length, count, ours.join("\n"));
    assert.ok(ours.every((l) => nssLine.test(l)), ours.join("\n"));
    assert.deepEqual(new Set(ours), theirs);
    await closeConn(conn);
    await peer.stop();
  });

  test(`keyLog ${flag}: our client logs the lines openssl s_server logs`, async () => {
    using dir = tempDir();
    const file = join(String(dir), "server.keys");
    await using peer = await sServer({ ...certs().ecdsa, args: [flag, "-keylogfile", file] });
    const ours: string[] = [];
    const conn = await connectTo(peer.port, { keyLog: (line) => ours.push(line), resumption: false });
    await conn.handshake();
    const theirs = await peerLines(file, count);
    assert.equal(ours.length, count, ours.join("\n"));
    assert.deepEqual(new Set(ours), theirs);
    await closeConn(conn);
  });
}

test("keyLog: a server whose SNI picks another certificate still logs the connection's lines", async () => {
  using dir = tempDir();
  const file = join(String(dir), "sni.keys");
  const ours: string[] = [];
  const c = certs();
  await using server = acceptingServer({
    sni: { localhost: { cert: c.rsa.cert, key: c.rsa.key } },
    keyLog: (line) => ours.push(line),
  });
  await using peer = sClient(server.port, ["-servername", "localhost", "-keylogfile", file]);
  const conn = await server.accept();
  const info = await conn.handshake();
  assert.equal(info.servername, "localhost");
  assert.deepEqual(new Set(ours), await peerLines(file, 5));
  await closeConn(conn);
  await peer.stop();
});

test("keyLog through upgrade(): a plain socket upgraded to TLS logs the server's lines", async () => {
  const serverLines: string[] = [];
  await using server = acceptingServer({ keyLog: (line) => serverLines.push(line) });
  const plain = await plainConnect(server.port);
  const clientLines: string[] = [];
  plain.takeRest(); // the socket is upgrade()'s from here on
  const conn = await upgrade(plain.raw, {
    hostname: "localhost",
    caCerts: [certs().ca.cert],
    keyLog: (line) => clientLines.push(line),
    resumption: false,
  });
  await conn.handshake();
  const accepted = await server.accept();
  await accepted.handshake();
  assert.equal(clientLines.length, 5);
  assert.deepEqual(new Set(clientLines), new Set(serverLines));
  await closeConn(conn);
  await closeConn(accepted);
});

test("keyLog: a throwing function loses its lines, not the connection", async () => {
  await using server = acceptingServer();
  const conn = await connectTo(server.port, {
    keyLog: () => {
      throw new Error("sink failed");
    },
    resumption: false,
  });
  await conn.handshake();
  const accepted = await server.accept();
  await closeConn(conn);
  await closeConn(accepted);
});

test('keyLog: "SSLKEYLOGFILE" appends to that file only when asked', async () => {
  using dir = tempDir();
  const file = join(String(dir), "sslkeylog.txt");
  const saved = process.env.SSLKEYLOGFILE;
  process.env.SSLKEYLOGFILE = file;
  try {
    const serverLines: string[] = [];
    await using server = acceptingServer({ keyLog: (line) => serverLines.push(line) });
    const plain = await connectTo(server.port, { resumption: false });
    await plain.handshake();
    await closeConn(plain);
    await closeConn(await server.accept());
    assert.equal(existsSync(file), false, "the environment variable alone must not log secrets");
    serverLines.length = 0;

    const logged = await connectTo(server.port, { keyLog: "SSLKEYLOGFILE", resumption: false });
    await logged.handshake();
    const accepted = await server.accept();
    await accepted.handshake();
    const written = readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
    assert.equal(written.length, 5);
    assert.deepEqual(new Set(written), new Set(serverLines));
    await closeConn(logged);
    await closeConn(accepted);
  } finally {
    if (saved === undefined) delete process.env.SSLKEYLOGFILE;
    else process.env.SSLKEYLOGFILE = saved;
  }
});

test('keyLog: anything but a function or "SSLKEYLOGFILE" is INVALID_OPTION before any I/O', () => {
  for (const keyLog of ["/tmp/keys.txt", 1, {}]) {
    assert.throws(
      () => listen({ hostname: "127.0.0.1", port: 0, ...certs().ecdsa, keyLog: keyLog as never }),
      (e) => e instanceof TlsError && e.code === "INVALID_OPTION",
    );
  }
  return connect({ hostname: "127.0.0.1", port: 1, keyLog: "yes" as never }).then(
    () => assert.fail("connect accepted a bad keyLog"),
    (e) => assert.ok(e instanceof TlsError && e.code === "INVALID_OPTION", String(e)),
  );
});
