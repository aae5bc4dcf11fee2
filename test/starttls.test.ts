/**
 * STARTTLS both ways against real peers: `openssl s_client -starttls smtp`,
 * Node `tls` (child process) and the runtime's own TLS talk plaintext to us or
 * let us talk plaintext to them, then switch to TLS with `upgrade()` on our
 * side. No byte that came before or during the switch may be lost.
 *
 * Listeners, sockets, peers and connections are declared with `using` /
 * `await using`, so each is closed when its block ends (a plaintext socket
 * handed to `upgrade()` belongs to the TLS connection from then on).
 */
import assert from "node:assert/strict";
import { type TlsConn, upgrade } from "../mod.ts";
import { certs } from "./support/certs.ts";
import { nextEvent, nodeClient, type NodeDone, type NodeReport, nodeServer } from "./support/node_peer.ts";
import { pattern, readExactly, sClientTo, sha256 } from "./support/openssl.ts";
import { plainConnect, plainListen, type PlainSocket } from "./support/plain.ts";
import { bounded } from "./support/conn.ts";
import { socketEvent } from "./support/net.ts";
import { echoUntilEnd, joined, roundTrip } from "./support/transfer.ts";
import { test } from "./harness.ts";

const isBun = "Bun" in globalThis;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads one CRLF-terminated line over TLS (bounded). */
async function tlsLine(conn: TlsConn): Promise<string> {
  let line = "";
  const one = new Uint8Array(1);
  for (let i = 0; i < 4096; i++) {
    const got = await readExactly((p) => conn.read(p), 1);
    if (got.length === 0) throw new Error(`end of stream after ${JSON.stringify(line)}`);
    one.set(got);
    if (one[0] === 10) return line.replace(/\r$/, "");
    line += String.fromCharCode(one[0]);
  }
  throw new Error("line too long");
}

/** Our side of a minimal SMTP dialogue up to "220 Ready to start TLS"; the bytes read past it. */
async function smtpPrelude(plain: PlainSocket): Promise<Uint8Array> {
  await plain.write("220 jsec.test ESMTP ready\r\n");
  const ehlo = await plain.readLine();
  assert.match(ehlo, /^EHLO \S+$/);
  await plain.write("250-jsec.test greets you\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
  assert.equal(await plain.readLine(), "STARTTLS");
  await plain.write("220 2.0.0 Ready to start TLS\r\n");
  return plain.takeRest();
}

/** The client's side of the Node server's prelude: its greeting, our STARTTLS, its go-ahead. */
async function startTlsWithNodeServer(plain: PlainSocket): Promise<void> {
  assert.equal(await plain.readLine(), "220 node ESMTP ready");
  await plain.write("STARTTLS\r\n");
  assert.equal(await plain.readLine(), "220 go ahead");
}

// ---------------------------------------------------------------- our server upgrades

for (const v of ["-tls1_3", "-tls1_2"] as const) {
  test(`openssl s_client -starttls smtp ${v} → our plain server, upgraded with upgrade({isServer})`, async () => {
    const c = certs();
    using listener = plainListen();
    await using client = sClientTo(listener.port, [
      "-starttls",
      "smtp",
      "-name",
      "client.test",
      v,
      "-verify_return_error",
      "-brief",
    ]);
    using plain = await listener.accept();
    const head = await smtpPrelude(plain);
    await using conn = await upgrade(plain.raw, {
      isServer: true,
      cert: c.rsa.cert,
      key: c.rsa.key,
      head,
      listenerHandlers: plain.listenerHandlers,
    });
    const info = await conn.handshake();
    assert.equal(info.protocol, v === "-tls1_3" ? "TLSv1.3" : "TLSv1.2");
    assert.equal(info.servername, "localhost");
    await client.waitFor(/Verification: OK/, "stderr");
    await client.waitFor(/Peer certificate: CN ?= ?localhost/, "stderr");

    // SMTP goes on inside TLS, both ways.
    await client.write("EHLO client.test\n");
    assert.equal(await tlsLine(conn), "EHLO client.test");
    await conn.write(enc.encode("250 jsec.test now over TLS\r\n"));
    await client.waitFor(/250 jsec\.test now over TLS\r?\n/, "stdout");
    // s_client's end of input sends close_notify; we see a clean end.
    client.endInput();
    assert.equal(await bounded(conn.read(new Uint8Array(16)), 10_000, "close_notify"), null);
  });
}

test("STARTTLS and the ClientHello in one segment (node client): the bytes read with the line go to upgrade({head})", async () => {
  const c = certs();
  using listener = plainListen();
  const size = 2 * 1024 * 1024;
  await using client = nodeClient(listener.port, {
    starttls: true,
    pipeline: true,
    servername: "localhost",
    ca: c.ca.cert,
    alpn: ["smtp"],
    size,
  });
  using plain = await listener.accept();
  await plain.write("220 jsec.test ESMTP ready\r\n");
  // Let "STARTTLS\r\n" and the ClientHello both arrive before we read the line.
  await nextEvent(client, "greeting");
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await plain.readLine(), "STARTTLS");
  const head = plain.takeRest();
  assert.ok(head.length > 0, "the ClientHello did not arrive with the command: nothing to test");
  assert.equal(head[0], 0x16, "head does not start with a handshake record");
  await using conn = await upgrade(plain.raw, {
    listenerHandlers: plain.listenerHandlers,
    isServer: true,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
    alpnProtocols: ["smtp"],
    head,
  });
  const info = await conn.handshake();
  assert.equal(info.alpnProtocol, "smtp");
  const report = await nextEvent<NodeReport>(client, "secure");
  assert.equal(report.authorized, true, report.authorizationError ?? "");
  assert.equal(report.protocol, info.protocol);
  // Echo everything until Node's close_notify, then check it by hash on both sides.
  const echoed = await echoUntilEnd(conn);
  const done = await nextEvent<NodeDone>(client, "done");
  assert.equal(done.length, size);
  assert.equal(done.received, done.sent);
  assert.equal(echoed.hash, done.sent);
});

test(`${isBun ? "Bun node:tls" : "Deno.startTls"} client → our plain server, upgraded after a prelude`, async () => {
  const c = certs();
  using listener = plainListen();
  let cleanupClient = () => {};
  try {
    // The native client: plaintext greeting, STARTTLS, answer, then TLS with the runtime's own stack.
    const clientSide =
      (async (): Promise<{ send(b: Uint8Array): Promise<void>; receive(n: number): Promise<Uint8Array> }> => {
        if (isBun) {
          const net = await import("node:net");
          const tls = await import("node:tls");
          const raw = net.connect(listener.port, "127.0.0.1");
          cleanupClient = () => raw.destroy();
          let text = "";
          await bounded(
            new Promise<void>((resolve, reject) => {
              const onData = (d: Uint8Array) => {
                text += dec.decode(d);
                if (text.includes("220 go ahead\r\n")) {
                  raw.off("data", onData);
                  raw.pause();
                  resolve();
                } else if (text.includes("ready\r\n") && !text.includes("STARTTLS-sent")) {
                  text += "STARTTLS-sent";
                  raw.write("STARTTLS\r\n");
                }
              };
              raw.on("data", onData);
              raw.once("error", reject);
            }),
            10_000,
            "plaintext prelude",
          );
          const secure = tls.connect({ socket: raw, servername: "localhost", ca: c.ca.cert });
          cleanupClient = () => secure.destroy();
          await socketEvent(secure, "secureConnect");
          assert.equal(secure.authorized, true);
          const received: Uint8Array[] = [];
          let length = 0;
          let wake: (() => void) | null = null;
          secure.on("data", (d: Uint8Array) => {
            received.push(new Uint8Array(d));
            length += d.length;
            wake?.();
          });
          return {
            send: (b) => new Promise<void>((resolve) => secure.write(b, () => resolve())),
            async receive(n) {
              for (let i = 0; i < 100_000 && length < n; i++) {
                await bounded(new Promise<void>((r) => (wake = r)), 10_000, "Bun's data");
              }
              return joined(received);
            },
          };
        }
        const raw = await Deno.connect({ hostname: "127.0.0.1", port: listener.port });
        cleanupClient = () => raw[Symbol.dispose](); // closes unless closed already
        const buf = new Uint8Array(256);
        let text = "";
        for (let i = 0; i < 100 && !text.includes("ready\r\n"); i++) {
          text += dec.decode(buf.subarray(0, (await raw.read(buf)) ?? 0));
        }
        await raw.write(enc.encode("STARTTLS\r\n"));
        for (let i = 0; i < 100 && !text.includes("220 go ahead\r\n"); i++) {
          text += dec.decode(buf.subarray(0, (await raw.read(buf)) ?? 0));
        }
        const secure = await Deno.startTls(raw, { hostname: "localhost", caCerts: [c.ca.cert] });
        cleanupClient = () => secure[Symbol.dispose](); // closes unless closed already
        await secure.handshake();
        return {
          async send(b) {
            for (let at = 0; at < b.length;) at += await secure.write(b.subarray(at));
          },
          receive: (n) => readExactly((p) => secure.read(p), n, 30_000),
        };
      })();
    clientSide.catch(() => {});

    using plain = await listener.accept();
    await plain.write("220 jsec.test ready\r\n");
    assert.equal(await plain.readLine(), "STARTTLS");
    await plain.write("220 go ahead\r\n");
    await using conn = await upgrade(plain.raw, {
      isServer: true,
      cert: c.ecdsa.cert,
      key: c.ecdsa.key,
      head: plain.takeRest(),
      listenerHandlers: plain.listenerHandlers,
    });
    const native = await bounded(clientSide, 10_000, "the native client");
    assert.equal((await conn.handshake()).servername, "localhost");

    const data = pattern(2 * 1024 * 1024, 31);
    const sending = native.send(data);
    const got = await readExactly((p) => conn.read(p), data.length, 30_000);
    await sending;
    assert.equal(sha256(got), sha256(data));
    await conn.write(data);
    const back = await native.receive(data.length);
    assert.equal(sha256(back), sha256(data));
  } finally {
    cleanupClient();
  }
});

test("one plain listener, several connections: upgrading some leaves the others plain and the listener working", async () => {
  const c = certs();
  using listener = plainListen();
  const pairs: { client: PlainSocket; server: PlainSocket }[] = [];
  const open = async () => {
    const client = await plainConnect(listener.port);
    pairs.push({ client, server: await listener.accept() }); // accepted: the listener's `open` ran
    return pairs.at(-1)!;
  };
  const starttls = ({ client, server }: { client: PlainSocket; server: PlainSocket }) =>
    Promise.all([
      upgrade(server.raw, {
        isServer: true,
        cert: c.ecdsa.cert,
        key: c.ecdsa.key,
        head: server.takeRest(),
        listenerHandlers: server.listenerHandlers,
      }),
      upgrade(client.raw, { hostname: "localhost", caCerts: [c.ca.cert], head: client.takeRest() }),
    ]);
  const talk = async ({ client, server }: { client: PlainSocket; server: PlainSocket }, text: string) => {
    await client.write(`${text}\r\n`);
    assert.equal(await server.readLine(), text);
    await server.write(`re ${text}\r\n`);
    assert.equal(await client.readLine(), `re ${text}`);
  };
  const tlsTalk = async ([server, client]: TlsConn[], text: string) => {
    await client.write(enc.encode(text));
    assert.equal(dec.decode(await readExactly((p) => server.read(p), text.length)), text);
  };
  try {
    const [first, second, third] = [await open(), await open(), await open()];
    const tls1 = await starttls(first);
    await talk(second, "still plain"); // its data still reaches the listener's handlers
    await tlsTalk(tls1, "over tls");
    const late = await open(); // a connection opened after the upgrade is accepted and plain
    await talk(late, "late and plain");
    second.client.close(); // a plain connection ending: the listener's `close`, no crash
    await assert.rejects(second.server.readLine(2_000));
    if (isBun) {
      // Without the listener's handlers, Bun's upgrade() refuses before it touches anything.
      await assert.rejects(
        upgrade(third.server.raw, { isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key }),
        {
          code: "INVALID_OPTION",
        },
      );
      await talk(third, "refused, still plain");
    }
    const tls3 = await starttls(third);
    await tlsTalk(tls3, "third over tls");
    await tlsTalk(tls1, "first still over tls");
    await talk(late, "late still plain");
    for (const conn of [...tls1, ...tls3]) conn.close();
  } finally {
    for (const { client, server } of pairs) {
      client[Symbol.dispose](); // closes what was not handed to upgrade()
      server[Symbol.dispose]();
    }
  }
});

// ---------------------------------------------------------------- our client upgrades

test("our client after a plaintext prelude → node tls server (STARTTLS): 4 MiB both ways, hashed", async () => {
  const c = certs();
  await using server = await nodeServer({ starttls: true, cert: c.rsa.cert, key: c.rsa.key, alpn: ["smtp"] });
  using plain = await plainConnect(server.port);
  await startTlsWithNodeServer(plain);
  const head = plain.takeRest();
  assert.equal(head.length, 0); // the server waits for our ClientHello
  await using conn = await upgrade(plain.raw, {
    hostname: "localhost",
    caCerts: [c.ca.cert],
    alpnProtocols: ["smtp"],
    head,
  });
  const info = await conn.handshake();
  assert.equal(info.verified, true);
  assert.equal(info.alpnProtocol, "smtp");
  const report = await nextEvent<NodeReport>(server, "secure");
  assert.equal(report.protocol, info.protocol);
  assert.equal(report.servername, "localhost");
  assert.equal(report.alpn, "smtp");
  await roundTrip(conn, pattern(4 * 1024 * 1024, 41));
  await conn.closeWrite();
  await nextEvent(server, "end");
  assert.equal(await bounded(conn.read(new Uint8Array(8)), 10_000, "the server's close_notify"), null);
});

test("our client after a plaintext prelude → node tls server: a wrong CA still fails the upgrade (CERT_UNTRUSTED)", async () => {
  const c = certs();
  await using server = await nodeServer({ starttls: true, cert: c.stranger.cert, key: c.stranger.key });
  using plain = await plainConnect(server.port);
  await startTlsWithNodeServer(plain);
  await assert.rejects(
    upgrade(plain.raw, { hostname: "localhost", caCerts: [c.ca.cert], head: plain.takeRest() }),
    (e: unknown) => (e as { code?: string }).code === "CERT_UNTRUSTED",
  );
});
