/**
 * Our client and server against the runtimes' own TLS: Node's `tls` (a `node`
 * child process, under both runtimes), Deno's (`Deno.listenTls`,
 * `Deno.connectTls`; rustls) under Deno, Bun's (`Bun.listen({tls})`,
 * `Bun.connect({tls})`, `node:tls`; BoringSSL) under Bun.
 *
 * Servers, peers and connections are declared with `using` / `await using`,
 * so each is closed when its block ends, whether the test passed or not.
 */
import assert from "node:assert/strict";
import { certs } from "./support/certs.ts";
import { bounded, connectTo, subjectOf } from "./support/conn.ts";
import { readText } from "./support/exchange.ts";
import { socketEvent } from "./support/net.ts";
import { nextEvent, nodeClient, type NodeDone, type NodeReport, nodeServer } from "./support/node_peer.ts";
import { pattern, readExactly, sha256 } from "./support/openssl.ts";
import { acceptingServer } from "./support/server.ts";
import { echoUntilEnd, joined, roundTrip } from "./support/transfer.ts";
import { test } from "./harness.ts";

const isBun = "Bun" in globalThis;
const onlyDeno = isBun ? "Deno only" : false;
const onlyBun = isBun ? false : "Bun only";
const enc = new TextEncoder();

// ---------------------------------------------------------------- Node (child process), both runtimes

for (const v of ["TLSv1.3", "TLSv1.2"] as const) {
  test(`node tls client → our server, ${v}: ALPN, SNI, 4 MiB echoed and hashed`, async () => {
    const c = certs();
    await using server = acceptingServer({
      cert: c.rsa.cert,
      key: c.rsa.key,
      alpnProtocols: ["h2", "http/1.1"],
      sni: { "other.test": { cert: c.other.cert, key: c.other.key } },
    });
    await using client = nodeClient(server.port, {
      servername: "other.test",
      ca: c.ca.cert,
      alpn: ["http/1.1", "h2"],
      maxVersion: v,
      size: 4 * 1024 * 1024,
    });
    await using conn = await server.accept();
    const info = await conn.handshake();
    assert.equal(info.protocol, v);
    assert.equal(info.alpnProtocol, "h2");
    assert.equal(info.servername, "other.test");
    const report = await nextEvent<NodeReport>(client, "secure");
    assert.equal(report.protocol, v);
    assert.equal(report.alpn, "h2");
    assert.equal(report.authorized, true, report.authorizationError ?? "");
    assert.equal(report.subject, "other.test");
    const echoed = await echoUntilEnd(conn); // until Node's close_notify
    const done = await nextEvent<NodeDone>(client, "done");
    assert.equal(done.length, 4 * 1024 * 1024);
    assert.equal(done.received, done.sent);
    assert.equal(echoed.hash, done.sent);
    await conn.closeWrite(); // our close_notify: Node sees a clean end and exits
    await nextEvent(client, "end");
    assert.equal(await client.waitExit(), 0, client.transcript());
  });
}

test("node tls client → our server: client certificate required and verified", async () => {
  const c = certs();
  await using server = acceptingServer({ requestCert: true, caCerts: [c.ca.cert] });
  await using client = nodeClient(server.port, {
    servername: "localhost",
    ca: c.ca.cert,
    cert: c.client.cert,
    key: c.client.key,
    size: 1000,
  });
  await using conn = await server.accept();
  const info = await conn.handshake();
  assert.equal(subjectOf(info), "CN=client");
  assert.equal(info.verified, true);
  const report = await nextEvent<NodeReport>(client, "secure");
  assert.equal(report.subject, "localhost");
  assert.equal(report.authorized, true);
  const echoed = await echoUntilEnd(conn);
  assert.equal(echoed.hash, (await nextEvent<NodeDone>(client, "done")).received);
});

for (const v of ["TLSv1.3", "TLSv1.2"] as const) {
  test(`our client → node tls server, ${v}: ALPN, mTLS, 4 MiB echoed and hashed`, async () => {
    const c = certs();
    await using server = await nodeServer({
      cert: c.ecdsa.cert,
      key: c.ecdsa.key,
      ca: c.ca.cert,
      requestCert: true,
      alpn: ["h2", "http/1.1"],
    });
    await using conn = await connectTo(server.port, {
      cert: c.client.cert,
      key: c.client.key,
      alpnProtocols: ["http/1.1"],
      maxVersion: v,
    });
    const info = await conn.handshake();
    assert.equal(info.protocol, v);
    assert.equal(info.alpnProtocol, "http/1.1");
    assert.equal(subjectOf(info), "CN=localhost");
    assert.equal(info.verified, true);
    await roundTrip(conn, pattern(4 * 1024 * 1024, 21));
    const report = await nextEvent<NodeReport>(server, "secure");
    assert.equal(report.protocol, v);
    assert.equal(report.servername, "localhost");
    assert.equal(report.subject, "client");
    assert.equal(report.authorized, true);
    // Our close_notify ends Node's side cleanly ("end"), and it closes back.
    await conn.closeWrite();
    await nextEvent(server, "end");
    assert.equal(await conn.read(new Uint8Array(10)), null);
    assert.equal(await server.waitExit(), 0, server.transcript());
  });
}

// ---------------------------------------------------------------- Deno's own TLS (rustls)

test("Deno.listenTls → our client: TLS 1.3 and 1.2, RSA and ECDSA, ALPN, 8 MiB echoed", async () => {
  const c = certs();
  for (const kind of ["rsa", "ecdsa"] as const) {
    for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
      using native = Deno.listenTls({
        hostname: "127.0.0.1",
        port: 0,
        cert: c[kind].cert,
        key: c[kind].key,
        alpnProtocols: ["h2", "http/1.1"],
      });
      const accepted = native.accept();
      await using conn = await connectTo((native.addr as Deno.NetAddr).port, {
        alpnProtocols: ["http/1.1", "h2"],
        maxVersion,
      });
      using peer = await bounded(accepted, 10_000, "accept");
      const info = await conn.handshake();
      assert.equal(info.protocol, maxVersion);
      assert.equal(info.alpnProtocol, "h2");
      assert.equal(subjectOf(info), "CN=localhost");
      assert.equal(info.verified, true);
      assert.equal((await peer.handshake()).alpnProtocol, "h2");
      const echoing = (async () => {
        const buf = new Uint8Array(64 * 1024);
        for (let i = 0; i < 100_000; i++) {
          const n = await peer.read(buf);
          if (n === null) break;
          for (let done = 0; done < n;) done += await peer.write(buf.subarray(done, n));
        }
      })();
      await roundTrip(conn, pattern(8 * 1024 * 1024, kind === "rsa" ? 1 : 2));
      await conn.closeWrite();
      await bounded(echoing, 10_000, "the native server seeing our close_notify");
    }
  }
}, { skip: onlyDeno, timeout: 60_000 });

test("Deno.connectTls → our server: ALPN, mTLS, 8 MiB echoed", async () => {
  const c = certs();
  await using server = acceptingServer({
    alpnProtocols: ["h2"],
    requestCert: true,
    caCerts: [c.ca.cert],
    sni: { "other.test": { cert: c.other.cert, key: c.other.key } },
  });
  using native = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [c.ca.cert],
    alpnProtocols: ["h2"],
    cert: c.client.cert,
    key: c.client.key,
  });
  await using conn = await server.accept();
  assert.equal((await native.handshake()).alpnProtocol, "h2");
  const info = await conn.handshake();
  assert.equal(info.protocol, "TLSv1.3");
  assert.equal(info.alpnProtocol, "h2");
  assert.equal(subjectOf(info), "CN=client");
  assert.equal(info.verified, true);
  const echoing = echoUntilEnd(conn);
  const data = pattern(8 * 1024 * 1024, 9);
  const writing = (async () => {
    for (let at = 0; at < data.length;) at += await native.write(data.subarray(at, at + (1 << 20)));
  })();
  const back = await readExactly((p) => native.read(p), data.length, 30_000);
  await writing;
  assert.equal(sha256(back), sha256(data));
  await native.closeWrite();
  assert.equal((await echoing).hash, sha256(data));
}, { skip: onlyDeno, timeout: 60_000 });

test(
  "Deno.startTls → our server: rustls sends SNI, gets and verifies the certificate we chose for it",
  async () => {
    const c = certs();
    await using server = acceptingServer({ sni: { "other.test": { cert: c.other.cert, key: c.other.key } } });
    for (const name of ["other.test", "localhost"]) {
      const plain = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      using native = await Deno.startTls(plain, { hostname: name, caCerts: [c.ca.cert] });
      await native.handshake(); // rejects unless the certificate names `name`
      await using conn = await server.accept();
      assert.equal((await conn.handshake()).servername, name);
      await native.write(enc.encode("sni"));
      assert.equal(await readText(conn, 3), "sni");
    }
  },
  { skip: onlyDeno },
);

// ---------------------------------------------------------------- the runtime's own TLS server

interface BunTlsSocket {
  write(b: Uint8Array): number;
  end(): void;
  data: { got: Uint8Array[]; length: number; wake?: () => void };
}
interface BunTlsApi {
  listen(o: unknown): { port: number; stop(closeActive?: boolean): void };
  connect(o: unknown): Promise<BunTlsSocket>;
}
const BunApi = () => (globalThis as unknown as { Bun: BunTlsApi }).Bun;

/** The runtime's own TLS echo server on 127.0.0.1 presenting `leaf`; `await using` stops it. */
interface NativeEchoServer extends AsyncDisposable {
  readonly port: number;
}

/** Bun.listen({tls}): echoes every connection, keeping what a socket did not take until `drain`. */
function bunEchoServer(leaf: { cert: string; key: string }): NativeEchoServer {
  const pendingWrites: Uint8Array[] = [];
  const native = BunApi().listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: leaf.cert, key: leaf.key },
    socket: {
      data(s: BunTlsSocket, chunk: Uint8Array) {
        // Echo; keep what the socket did not take (tests stay well under its buffer).
        const n = s.write(chunk);
        if (n < chunk.length) pendingWrites.push(chunk.slice(Math.max(0, n)));
      },
      drain(s: BunTlsSocket) {
        while (pendingWrites.length) {
          const next = pendingWrites[0];
          const n = s.write(next);
          if (n < next.length) {
            pendingWrites[0] = next.slice(Math.max(0, n));
            return;
          }
          pendingWrites.shift();
        }
      },
      error() {},
    },
  });
  return {
    port: native.port,
    [Symbol.asyncDispose]: () => Promise.resolve(native.stop(true)),
  };
}

/** Deno.listenTls: echoes its first connection (small messages only). */
function denoEchoServer(leaf: { cert: string; key: string }): NativeEchoServer {
  const native = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: leaf.cert, key: leaf.key });
  const serving = (async () => {
    using peer = await native.accept();
    const buf = new Uint8Array(1024);
    try {
      for (let i = 0; i < 100; i++) {
        const n = await peer.read(buf);
        if (n === null) break;
        await peer.write(buf.subarray(0, n));
      }
    } catch { /* closed */ }
  })();
  return {
    port: (native.addr as Deno.NetAddr).port,
    [Symbol.asyncDispose]() {
      native.close();
      serving.catch(() => {});
      return Promise.resolve();
    },
  };
}

/** TLS record content types in one chunk of bytes (stops at a partial record). */
function recordTypes(chunk: Uint8Array): number[] {
  const types: number[] = [];
  for (let i = 0; i + 5 <= chunk.length;) {
    types.push(chunk[i]);
    i += 5 + ((chunk[i + 3] << 8) | chunk[i + 4]);
  }
  return types;
}

/** A loopback TCP proxy that keeps each chunk the client sent, as the proxy received it. */
async function recordingProxy(
  target: number,
): Promise<{ port: number; chunks: Uint8Array[]; close(): Promise<void> }> {
  const net = await import("node:net");
  const chunks: Uint8Array[] = [];
  const sockets = new Set<import("node:net").Socket>();
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect(target, "127.0.0.1");
    upstream.setNoDelay(true);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    client.on("data", (d: Uint8Array) => {
      chunks.push(new Uint8Array(d));
      upstream.write(d);
    });
    upstream.on("data", (d: Uint8Array) => client.write(d));
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    chunks,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
  test(`${isBun ? "Bun.listen({tls})" : "Deno.listenTls"} → our client, ${maxVersion}: a write at once leaves with our last flight`, async () => {
    const c = certs();
    await using native = (isBun ? bunEchoServer : denoEchoServer)(c.ecdsa);
    const proxy = await recordingProxy(native.port);
    try {
      await using conn = await connectTo(proxy.port, { maxVersion });
      await conn.write(enc.encode("first")); // at once, in the same turn as the handshake's end
      assert.equal(await readText(conn, 5), "first");
      // Chunk 0 is the ClientHello; the next holds our last flight. It must carry the data too.
      const flights = proxy.chunks.map(recordTypes);
      assert.ok(flights.length >= 2, `flights ${JSON.stringify(flights)}`);
      assert.deepEqual(flights[0], [22], `flights ${JSON.stringify(flights)}`);
      const last = flights[1];
      if (maxVersion === "TLSv1.3") {
        // [change_cipher_spec,] Finished and the data, both as encrypted (23) records.
        assert.ok(
          last.filter((t) => t === 23).length >= 2,
          `our Finished went alone: ${JSON.stringify(flights)}`,
        );
      } else {
        // TLS 1.2: our Finished is not the last message (the server's comes after it), so the
        // data can only follow the server's Finished: ClientKeyExchange, ChangeCipherSpec,
        // Finished, then one data record (the 5 bytes in one record, not split).
        assert.deepEqual(last, [22, 20, 22], `flights ${JSON.stringify(flights)}`);
        assert.deepEqual(flights[2], [23], `flights ${JSON.stringify(flights)}`);
      }
    } finally {
      await proxy.close();
    }
  });
}

// ---------------------------------------------------------------- Bun's own TLS (BoringSSL)

test(
  "Bun.listen({tls}) → our client: TLS 1.3 and 1.2, RSA and ECDSA, data written at once, 8 MiB echoed",
  async () => {
    const c = certs();
    for (const kind of ["ecdsa", "rsa"] as const) {
      for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
        await using native = bunEchoServer(c[kind]);
        await using conn = await connectTo(native.port, { maxVersion });
        // Written at once after the handshake: it must travel with our Finished, or Bun 1.4.5 drops us.
        await conn.write(enc.encode("first"));
        assert.equal(await readText(conn, 5), "first");
        const info = await conn.handshake();
        assert.equal(info.protocol, maxVersion);
        assert.equal(subjectOf(info), "CN=localhost");
        await roundTrip(conn, pattern(8 * 1024 * 1024, 4));
      }
    }
  },
  { skip: onlyBun, timeout: 60_000 },
);

test("Bun node:tls client → our server: ALPN, SNI, mTLS, 8 MiB echoed", async () => {
  const c = certs();
  const tls = await import("node:tls");
  await using server = acceptingServer({
    alpnProtocols: ["h2", "http/1.1"],
    requestCert: true,
    caCerts: [c.ca.cert],
    sni: { "other.test": { cert: c.other.cert, key: c.other.key } },
  });
  const socket = tls.connect({
    host: "127.0.0.1",
    port: server.port,
    servername: "other.test",
    ca: c.ca.cert,
    cert: c.client.cert,
    key: c.client.key,
    ALPNProtocols: ["http/1.1"],
  });
  try {
    await socketEvent(socket, "secureConnect");
    assert.equal(socket.authorized, true, String(socket.authorizationError));
    assert.equal(socket.alpnProtocol, "http/1.1");
    assert.equal(socket.getPeerCertificate().subject.CN, "other.test");
    await using conn = await server.accept();
    const info = await conn.handshake();
    assert.equal(info.servername, "other.test");
    assert.equal(info.alpnProtocol, "http/1.1");
    assert.equal(subjectOf(info), "CN=client");
    assert.equal(info.protocol, socket.getProtocol());
    const echoing = echoUntilEnd(conn);
    const data = pattern(8 * 1024 * 1024, 13);
    const received: Uint8Array[] = [];
    let got = 0;
    const done = new Promise<void>((resolve, reject) => {
      socket.on("data", (chunk: Uint8Array) => {
        received.push(new Uint8Array(chunk));
        got += chunk.length;
        if (got >= data.length) resolve();
      });
      socket.once("error", reject);
    });
    socket.write(data);
    await bounded(done, 30_000, "the echo");
    assert.equal(sha256(joined(received)), sha256(data));
    socket.end();
    const echoed = await echoing;
    assert.equal(echoed.hash, sha256(data));
  } finally {
    socket.destroy();
  }
}, { skip: onlyBun, timeout: 60_000 });

test("Bun.connect({tls}) → our server: data both ways", async () => {
  const c = certs();
  await using server = acceptingServer({ cert: c.rsa.cert, key: c.rsa.key });
  const state = { got: [] as Uint8Array[], length: 0, wake: undefined as (() => void) | undefined };
  const socket = await BunApi().connect({
    hostname: "127.0.0.1",
    port: server.port,
    tls: { ca: c.ca.cert, serverName: "localhost", rejectUnauthorized: true },
    data: state,
    socket: {
      data(s: BunTlsSocket, chunk: Uint8Array) {
        s.data.got.push(new Uint8Array(chunk));
        s.data.length += chunk.length;
        s.data.wake?.();
      },
      error() {},
    },
  });
  try {
    await using conn = await server.accept();
    socket.write(enc.encode("hello from Bun"));
    assert.equal(await readText(conn, 14), "hello from Bun");
    await conn.write(enc.encode("hello from jsec"));
    for (let i = 0; i < 100 && state.length < 15; i++) {
      await bounded(new Promise<void>((r) => (state.wake = r)), 10_000, "Bun's data");
    }
    assert.equal(new TextDecoder().decode(joined(state.got)), "hello from jsec");
  } finally {
    socket.end();
  }
}, { skip: onlyBun });
