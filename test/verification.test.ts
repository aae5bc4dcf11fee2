/**
 * What `verified` / `authorized` mean when verification is not enforced
 * (`rejectUnauthorized: false`), on clients and servers, through `TlsConn`
 * and the callback sockets: never true for a certificate that does not name
 * the host, and never mixed into errors that are not about verification.
 */
import assert from "node:assert/strict";
import { connect, connectSocket, listenSocket, TlsError } from "../mod.ts";
import { clientTo, Recorder, serverOn } from "./support/callback.ts";
import { certs } from "./support/certs.ts";
import { rejectsWith } from "./support/errors.ts";
import { cuttingProxy } from "./support/net.ts";
import { acceptingServer, startServer } from "./support/server.ts";
import { test } from "./harness.ts";

const HOSTNAME_MISMATCH = 62; // X509_V_ERR_HOSTNAME_MISMATCH

test("rejectUnauthorized: false and a trusted certificate for another host: verified is false (TlsConn)", async () => {
  const c = certs();
  using server = startServer({ cert: c.other.cert, key: c.other.key }); // names other.test only
  const conn = await connect({
    hostname: "localhost",
    port: server.port,
    caCerts: [c.ca.cert],
    rejectUnauthorized: false,
  });
  const info = await conn.handshake();
  conn.close();
  assert.equal(info.verified, false);
  assert.equal(info.verifyResult, HOSTNAME_MISMATCH);
  // The same certificate reached by its own name verifies.
  const named = await connect({
    hostname: "127.0.0.1",
    servername: "other.test",
    port: server.port,
    caCerts: [c.ca.cert],
    rejectUnauthorized: false,
  });
  assert.equal((await named.handshake()).verified, true);
  named.close();
});

test("rejectUnauthorized: false and a certificate for another host: authorized is false, with the reason (TlsSocket)", async () => {
  const c = certs();
  using listener = listenSocket({ ...serverOn(), cert: c.other.cert, key: c.other.key, socket: {} });
  const seen: { authorized: boolean; error: TlsError | null }[] = [];
  const client = new Recorder();
  await connectSocket({
    ...clientTo(listener.port),
    rejectUnauthorized: false,
    socket: {
      ...client.handlers,
      handshake(socket, ok, error) {
        seen.push({ authorized: socket.authorized, error });
        client.handlers.handshake!(socket, ok, error);
        socket.end();
      },
    },
  });
  await client.closed();
  assert.equal(seen.length, 1);
  assert.equal(seen[0].authorized, false);
  assert.equal(seen[0].error?.code, "HOSTNAME_MISMATCH");
  assert.equal(seen[0].error?.verifyResult, HOSTNAME_MISMATCH);
  assert.equal(client.log.socket?.authorizationError?.code, "HOSTNAME_MISMATCH");
  assert.deepEqual(client.log.errors, []);
});

test("after rejectUnauthorized: false, a connection cut after the handshake is UNEXPECTED_EOF (TlsConn)", async () => {
  const c = certs();
  using server = startServer({ cert: c.stranger.cert, key: c.stranger.key }, async (conn) => {
    await conn.write(new TextEncoder().encode("hi"));
    await conn.read(new Uint8Array(16)).catch(() => null); // the proxy cuts the connection under it
    conn.close();
  });
  await using proxy = await cuttingProxy(server.port);
  const conn = await connect({ hostname: "localhost", port: proxy.port, rejectUnauthorized: false });
  const buf = new Uint8Array(16);
  assert.equal(await conn.read(buf), 2);
  assert.equal((await conn.handshake()).verified, false);
  proxy.cut();
  const e = await rejectsWith(conn.read(buf), "UNEXPECTED_EOF");
  assert.equal(e.verifyResult, undefined); // the handshake's verify result is no part of it
  conn.close();
});

test("after rejectUnauthorized: false, a connection cut after the handshake is UNEXPECTED_EOF (TlsSocket)", async () => {
  const c = certs();
  await using listener = acceptingServer({ cert: c.stranger.cert, key: c.stranger.key });
  const accepted = listener.accept();
  await using proxy = await cuttingProxy(listener.port);
  const client = new Recorder();
  await connectSocket({
    hostname: "127.0.0.1",
    port: proxy.port,
    rejectUnauthorized: false,
    socket: client.handlers,
  });
  await using conn = await accepted;
  await conn.write(new TextEncoder().encode("hi"));
  await client.receivedAtLeast(2);
  assert.equal(client.log.socket?.authorized, false);
  proxy.cut();
  await client.closed();
  assert.deepEqual(client.log.events, [
    "open",
    "handshake ok",
    "error UNEXPECTED_EOF",
    "close UNEXPECTED_EOF",
  ]);
});

test("requestCert with rejectUnauthorized: false accepts an untrusted client certificate, unverified (TlsConn)", async () => {
  const c = certs();
  await using server = acceptingServer({
    requestCert: true,
    rejectUnauthorized: false,
    caCerts: [c.ca.cert],
  });
  const options = { hostname: "localhost", port: server.port, caCerts: [c.ca.cert] };
  const stranger = await connect({ ...options, cert: c.stranger.cert, key: c.stranger.key });
  await stranger.handshake();
  const unverified = await (await server.accept()).handshake();
  stranger.close();
  assert.equal(unverified.verified, false);
  assert.notEqual(unverified.verifyResult, 0);
  assert.equal(unverified.peerCertificates.length, 1);
  // A trusted client certificate verifies; no certificate at all is let in too.
  const trusted = await connect({ ...options, cert: c.client.cert, key: c.client.key });
  await trusted.handshake();
  assert.equal((await (await server.accept()).handshake()).verified, true);
  trusted.close();
  const anonymous = await connect(options);
  await anonymous.handshake();
  const none = await (await server.accept()).handshake();
  anonymous.close();
  assert.equal(none.verified, false);
  assert.equal(none.peerCertificates.length, 0);
});

test("requestCert with rejectUnauthorized: false accepts an untrusted client certificate, unverified (TlsSocket)", async () => {
  const c = certs();
  const server = new Recorder();
  using listener = listenSocket({
    ...serverOn(),
    requestCert: true,
    rejectUnauthorized: false,
    caCerts: [c.ca.cert],
    socket: server.handlers,
  });
  const client = new Recorder();
  await connectSocket({
    ...clientTo(listener.port),
    cert: c.stranger.cert,
    key: c.stranger.key,
    socket: client.handlers,
  });
  await server.until("the handshake", () => server.log.events.includes("handshake ok"));
  const accepted = server.log.socket!;
  assert.equal(accepted.authorized, false);
  assert.ok(accepted.authorizationError instanceof TlsError);
  assert.equal(accepted.info?.peerCertificates.length, 1);
  accepted.end();
  await client.closed();
  assert.deepEqual(client.log.errors, []);
});
