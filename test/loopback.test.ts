/**
 * Our client against our server over real loopback sockets: bulk data, half
 * close, streams, Unix sockets, IPv6, SNI.
 */
import assert from "node:assert/strict";
import { createHash, randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, listen, type TlsConn } from "../mod.ts";
import { certs } from "./support/certs.ts";
import { startServer } from "./support/server.ts";
import { test } from "./harness.ts";

const MiB = 1 << 20;

/** 1 MiB of random bytes, sent `mib` times, each copy with its index stamped in. */
function pattern(mib: number) {
  const block = randomFillSync(new Uint8Array(MiB));
  const hash = createHash("sha256");
  const chunk = (i: number) => {
    block[0] = i & 0xff;
    return block;
  };
  for (let i = 0; i < mib; i++) hash.update(chunk(i));
  return { chunk, digest: hash.digest("hex") };
}

async function sendPattern(conn: TlsConn, p: ReturnType<typeof pattern>, mib: number): Promise<void> {
  for (let i = 0; i < mib; i++) {
    const block = p.chunk(i);
    for (let at = 0; at < MiB; at += 16384) await conn.write(block.subarray(at, at + 16384));
  }
}

async function hashUntilEnd(conn: TlsConn, bytes: number): Promise<string> {
  const hash = createHash("sha256");
  const buf = new Uint8Array(64 * 1024);
  let total = 0;
  while (total < bytes) {
    const n = await conn.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
    total += n;
  }
  assert.equal(total, bytes);
  return hash.digest("hex");
}

test("64 MiB each way arrive intact (SHA-256), 16 KiB writes", async () => {
  const c = certs();
  const mib = 64;
  const up = pattern(mib), down = pattern(mib);
  let serverSaw = "";
  using server = startServer({}, async (conn) => {
    serverSaw = await hashUntilEnd(conn, mib * MiB);
    await sendPattern(conn, down, mib);
    await conn.closeWrite();
    conn.close();
  });
  const conn = await connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert] });
  await sendPattern(conn, up, mib);
  assert.equal(await hashUntilEnd(conn, mib * MiB), down.digest);
  assert.equal(serverSaw, up.digest);
  assert.equal(await conn.read(new Uint8Array(1)), null); // clean close_notify
  conn.close();
}, { timeout: 120_000 });

test("half-close: closeWrite sends close_notify, and the peer can still answer", async () => {
  const c = certs();
  using server = startServer({}, async (conn) => {
    const buf = new Uint8Array(1024);
    let got = "";
    for (let n; (n = await conn.read(buf)) !== null;) got += new TextDecoder().decode(buf.subarray(0, n));
    await conn.write(new TextEncoder().encode(`you said: ${got}`));
    conn.close();
  });
  const conn = await connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert] });
  await conn.write(new TextEncoder().encode("question"));
  await conn.closeWrite();
  const reply = await new Response(conn.readable).text();
  assert.equal(reply, "you said: question");
  conn.close();
});

test("readable and writable streams pipe through", async () => {
  const c = certs();
  using server = startServer();
  const conn = await connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert] });
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join("");
  const sent = new Blob([lines]).stream().pipeTo(conn.writable);
  const received = await new Response(conn.readable).text();
  await sent;
  assert.equal(received, lines);
  conn.close();
});

test("a Unix socket works as well as TCP", async () => {
  const c = certs();
  const dir = mkdtempSync(join(tmpdir(), "jsec-unix-"));
  const path = join(dir, "tls.sock");
  const server = listen({ path, cert: c.ecdsa.cert, key: c.ecdsa.key });
  try {
    const accepted = server.accept();
    const conn = await connect({ path, servername: "localhost", caCerts: [c.ca.cert] });
    const peer = await accepted;
    await peer.write(new TextEncoder().encode("over unix"));
    const buf = new Uint8Array(32);
    assert.equal(new TextDecoder().decode(buf.subarray(0, (await conn.read(buf))!)), "over unix");
    assert.equal(conn.remoteAddr.transport, "unix");
    peer.close();
    conn.close();
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("IPv6 loopback, verified against the certificate's IP SAN", async () => {
  const c = certs();
  const server = listen({ hostname: "::1", port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key });
  try {
    const accepted = server.accept();
    const port = (server.addr as { port: number }).port;
    const conn = await connect({ hostname: "::1", port, caCerts: [c.ca.cert] });
    assert.equal((await conn.handshake()).verified, true);
    assert.equal((await conn.handshake()).servername, null); // no SNI for an IP address
    (await accepted).close();
    conn.close();
  } finally {
    server.close();
  }
});

test("SNI picks the certificate for the name the client asks for", async () => {
  const c = certs();
  const names: (string | null)[] = [];
  using server = startServer(
    { sni: { "other.test": { cert: c.other.cert, key: c.other.key } } },
    async (conn) => {
      names.push((await conn.handshake()).servername);
      conn.close();
    },
  );
  for (const servername of ["other.test", "localhost"]) {
    const conn = await connect({
      hostname: "127.0.0.1",
      port: server.port,
      servername,
      caCerts: [c.ca.cert],
    });
    const info = await conn.handshake();
    assert.equal(info.verified, true);
    assert.equal(info.peerCertificates[0].pem, servername === "other.test" ? c.other.cert : c.ecdsa.cert);
    await conn.read(new Uint8Array(1));
    conn.close();
  }
  assert.deepEqual(names, ["other.test", "localhost"]);
});

test("protocol version, ciphers and groups are what we asked for", async () => {
  const c = certs();
  using server = startServer({ cert: c.rsa.cert, key: c.rsa.key, alpnProtocols: ["h2", "http/1.1"] });
  const cases = [
    { maxVersion: "TLSv1.2", ciphers: "ECDHE-RSA-CHACHA20-POLY1305", groups: "P-384" },
    { minVersion: "TLSv1.3", ciphers: "TLS_CHACHA20_POLY1305_SHA256", groups: "X25519" },
  ] as const;
  const seen = [];
  for (const options of cases) {
    const conn = await connect({
      hostname: "localhost",
      port: server.port,
      caCerts: [c.ca.cert],
      alpnProtocols: ["http/1.1"],
      ...options,
    });
    const { protocol, cipher, group, alpnProtocol } = await conn.handshake();
    seen.push({ protocol, cipher, group, alpnProtocol });
    conn.close();
  }
  assert.deepEqual(seen, [
    {
      protocol: "TLSv1.2",
      cipher: "ECDHE-RSA-CHACHA20-POLY1305",
      group: "P-384",
      alpnProtocol: "http/1.1",
    },
    {
      protocol: "TLSv1.3",
      cipher: "TLS_CHACHA20_POLY1305_SHA256",
      group: "X25519",
      alpnProtocol: "http/1.1",
    },
  ]);
});

test("a listener accepts concurrent handshakes and serves each", async () => {
  const c = certs();
  using server = startServer();
  const clients = await Promise.all(
    Array.from(
      { length: 20 },
      () => connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert] }),
    ),
  );
  const replies = await Promise.all(clients.map(async (conn, i) => {
    await conn.write(new TextEncoder().encode(`client ${i}`));
    const buf = new Uint8Array(32);
    const n = await conn.read(buf);
    conn.close();
    return new TextDecoder().decode(buf.subarray(0, n!));
  }));
  assert.deepEqual(replies, clients.map((_, i) => `client ${i}`));
});
