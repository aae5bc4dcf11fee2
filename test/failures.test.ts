/**
 * Every way a connection can fail ends in a TlsError with a documented code.
 *
 * Servers are declared with `using` / `await using`, so each is closed when
 * its test ends, whether it passed or not.
 */
import assert from "node:assert/strict";
import { connect } from "../mod.ts";
import { certs } from "./support/certs.ts";
import { rejectsWith } from "./support/errors.ts";
import { cuttingProxy, plainServer } from "./support/net.ts";
import { startServer } from "./support/server.ts";
import { test } from "./harness.ts";

test("a certificate from an unknown CA is CERT_UNTRUSTED, and the server hears why", async () => {
  const c = certs();
  using server = startServer({ cert: c.stranger.cert, key: c.stranger.key });
  const refused = server.nextError();
  const e = await rejectsWith(
    connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert] }),
    "CERT_UNTRUSTED",
  );
  assert.equal(e.verifyResult, 20); // X509_V_ERR_UNABLE_TO_GET_LOCAL_ISSUER_CERT
  assert.equal((await refused).code, "CERT_REJECTED"); // our client sent "unknown ca"
});

test("an expired certificate is CERT_EXPIRED", async () => {
  const c = certs();
  using server = startServer({ cert: c.expired.cert, key: c.expired.key });
  await rejectsWith(
    connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert] }),
    "CERT_EXPIRED",
  );
});

test("a certificate for another name is HOSTNAME_MISMATCH; for another IP too", async () => {
  const c = certs();
  using server = startServer();
  await rejectsWith(
    connect({ hostname: "127.0.0.1", servername: "wrong.test", port: server.port, caCerts: [c.ca.cert] }),
    "HOSTNAME_MISMATCH",
  );
  await rejectsWith(
    connect({ hostname: "127.0.0.1", servername: "127.0.0.9", port: server.port, caCerts: [c.ca.cert] }),
    "HOSTNAME_MISMATCH",
  );
  // The same certificate passes for the names it does carry.
  const ok = await connect({ hostname: "127.0.0.1", port: server.port, caCerts: [c.ca.cert] });
  assert.equal((await ok.handshake()).verified, true);
  ok.close();
});

test("rejectUnauthorized: false accepts an untrusted certificate but says it is not verified", async () => {
  const c = certs();
  using server = startServer({ cert: c.stranger.cert, key: c.stranger.key });
  const conn = await connect({ hostname: "localhost", port: server.port, rejectUnauthorized: false });
  const info = await conn.handshake();
  assert.equal(info.verified, false);
  assert.equal(info.verifyResult, 20);
  assert.equal(info.peerCertificates.length, 1);
  conn.close();
});

test("no common protocol version is PROTOCOL_VERSION on both sides", async () => {
  const c = certs();
  using server = startServer({ minVersion: "TLSv1.3" });
  const serverSide = server.nextError();
  await rejectsWith(
    connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert], maxVersion: "TLSv1.2" }),
    "PROTOCOL_VERSION",
  );
  assert.equal((await serverSide).code, "PROTOCOL_VERSION");
});

test("no common ALPN protocol is ALPN_MISMATCH", async () => {
  const c = certs();
  using server = startServer({ alpnProtocols: ["h2"] });
  await rejectsWith(
    connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert], alpnProtocols: ["smtp"] }),
    "ALPN_MISMATCH",
  );
});

test("garbage instead of a handshake is PROTOCOL_ERROR, and our server keeps serving", async () => {
  const c = certs();
  await using garbage = await plainServer((socket) =>
    socket.end("HTTP/1.1 400 Bad Request\r\n\r\nnot TLS at all\r\n")
  );
  using server = startServer();
  await rejectsWith(
    connect({ hostname: "localhost", port: garbage.port, caCerts: [c.ca.cert] }),
    "PROTOCOL_ERROR",
  );
  // A client that sends garbage to our server: the listener reports it and goes on.
  const serverSide = server.nextError();
  const { connect: tcpConnect } = await import("node:net");
  const raw = tcpConnect(server.port, "127.0.0.1", () => raw.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  raw.on("error", () => {});
  assert.equal((await serverSide).code, "PROTOCOL_ERROR");
  raw.destroy();
  const conn = await connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert] });
  await conn.write(new TextEncoder().encode("still here"));
  const buf = new Uint8Array(32);
  assert.equal(new TextDecoder().decode(buf.subarray(0, (await conn.read(buf))!)), "still here");
  conn.close();
});

test("a peer that closes mid-handshake is UNEXPECTED_EOF", async () => {
  const c = certs();
  await using quitter = await plainServer((socket) => socket.once("data", () => socket.end()));
  await rejectsWith(
    connect({ hostname: "localhost", port: quitter.port, caCerts: [c.ca.cert] }),
    "UNEXPECTED_EOF",
  );
});

test("a connection cut after data without close_notify is UNEXPECTED_EOF, after the data", async () => {
  const c = certs();
  const payload = new TextEncoder().encode("last words");
  using server = startServer({}, async (conn) => {
    await conn.write(payload);
    // never closes: the proxy cuts the connection under it
    await conn.read(new Uint8Array(16)).catch(() => null);
    conn.close();
  });
  await using proxy = await cuttingProxy(server.port);
  const conn = await connect({ hostname: "localhost", port: proxy.port, caCerts: [c.ca.cert] });
  const buf = new Uint8Array(64);
  const n = await conn.read(buf);
  assert.deepEqual(buf.subarray(0, n!), payload);
  proxy.cut();
  await rejectsWith(conn.read(buf), "UNEXPECTED_EOF");
  await rejectsWith(conn.read(buf), "UNEXPECTED_EOF"); // and it stays so
  conn.close();
});

test("a silent peer is HANDSHAKE_TIMEOUT, for clients and for our server", async () => {
  const c = certs();
  await using silent = await plainServer(() => {});
  using server = startServer({ handshakeTimeout: 300 });
  const started = Date.now();
  await rejectsWith(
    connect({ hostname: "localhost", port: silent.port, caCerts: [c.ca.cert], handshakeTimeout: 300 }),
    "HANDSHAKE_TIMEOUT",
  );
  assert.ok(Date.now() - started < 5000);
  const serverSide = server.nextError();
  const { connect: tcpConnect } = await import("node:net");
  const mute = tcpConnect(server.port, "127.0.0.1");
  mute.on("error", () => {});
  assert.equal((await serverSide).code, "HANDSHAKE_TIMEOUT");
  mute.destroy();
});

test("an AbortSignal aborts the handshake with ABORTED", async () => {
  const c = certs();
  await using silent = await plainServer(() => {});
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  await rejectsWith(
    connect({ hostname: "localhost", port: silent.port, caCerts: [c.ca.cert], signal: controller.signal }),
    "ABORTED",
  );
  await rejectsWith(
    connect({ hostname: "localhost", port: silent.port, signal: AbortSignal.abort() }),
    "ABORTED",
  );
});

test("a refused connection is CONNECTION_FAILED", async () => {
  const closed = await plainServer(() => {});
  const port = closed.port;
  await closed.close();
  await rejectsWith(connect({ hostname: "127.0.0.1", port }), "CONNECTION_FAILED");
});

test("a client without a certificate is refused by a server that requires one", async () => {
  const c = certs();
  using server = startServer({ requestCert: true, caCerts: [c.ca.cert] });
  const serverSide = server.nextError();
  // TLS 1.3: the client finishes first, then hears the server's alert on its first read.
  const conn = await connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert] });
  await rejectsWith(conn.read(new Uint8Array(16)), "CERT_REQUIRED"); // the certificate_required alert
  assert.equal((await serverSide).code, "CERT_REQUIRED");
  conn.close();
  // With the client certificate it works, and the server sees who we are.
  const seen: string[] = [];
  const mtls = startServer({ requestCert: true, caCerts: [c.ca.cert] }, async (conn) => {
    const info = await conn.handshake();
    seen.push(`${info.verified} ${info.peerCertificates[0].pem === c.client.cert}`);
    conn.close();
  });
  const ok = await connect({
    hostname: "localhost",
    port: mtls.port,
    caCerts: [c.ca.cert],
    cert: c.client.cert,
    key: c.client.key,
  });
  assert.equal(await ok.read(new Uint8Array(16)), null);
  assert.deepEqual(seen, ["true true"]);
  ok.close();
  mtls.close();
});

test("a second concurrent read is BUSY and leaves the connection intact", async () => {
  const c = certs();
  using server = startServer();
  const conn = await connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert] });
  const buf = new Uint8Array(16);
  const first = conn.read(buf);
  await rejectsWith(conn.read(new Uint8Array(16)), "BUSY");
  await conn.write(new TextEncoder().encode("ok"));
  assert.equal(await first, 2);
  assert.equal(new TextDecoder().decode(buf.subarray(0, 2)), "ok");
  // A write that waits for the socket (past the high-water mark) makes a second one BUSY.
  const big = conn.write(new Uint8Array(1 << 20));
  await rejectsWith(conn.write(new Uint8Array(1)), "BUSY");
  assert.equal(await big, 1 << 20);
  conn.close();
  await rejectsWith(conn.read(buf), "CLOSED");
  await rejectsWith(conn.write(buf), "CLOSED");
});
