/**
 * Reusable contexts: `createSecureContext` and its checks; the one context
 * shared by `connect`, `listen`, `upgrade`, the callback sockets and DTLS;
 * server-side STARTTLS upgrades that resume each other's sessions (`openssl
 * s_client -starttls smtp -sess_out/-sess_in` and our client); and
 * `setSecureContext` swapping the certificate of a running listener while
 * the connections already open keep theirs. No native object outlives them.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import {
  connect,
  connectSocket,
  createSecureContext,
  listen,
  listenSocket,
  type SecureContext,
  type TlsConn,
  TlsError,
  upgrade,
} from "../mod.ts";
import * as dtls from "../dtls.ts";
import { shim } from "../ffi/mod.ts";
import { certs } from "./support/certs.ts";
import { bounded, closeConn, connectTo } from "./support/conn.ts";
import { readExactly, sClientTo } from "./support/openssl.ts";
import { plainListen, type PlainSocket } from "./support/plain.ts";
import { echo, startServer } from "./support/server.ts";
import { liveSettles } from "./support/live.ts";
import { clearSharedContexts } from "../lib/tls/contexts.ts";
import { rejectsWith } from "./support/errors.ts";
import { test } from "./harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
const serverContext = (pair = certs().ecdsa) =>
  createSecureContext({ isServer: true, cert: pair.cert, key: pair.key });

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TlsError, `not a TlsError: ${e}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

/** A write and its echo over `conn`. */
async function roundTrip(conn: TlsConn, text: string): Promise<void> {
  await conn.write(enc.encode(text));
  const got = await bounded(readExactly((p) => conn.read(p), text.length), 10_000, "echo");
  assert.equal(dec.decode(got), text);
}

test("createSecureContext: bad options throw at the call, with stable codes", async () => {
  const c = certs();
  throwsCode(
    () => createSecureContext({ isServer: "yes" as unknown as boolean }),
    "INVALID_OPTION",
    /isServer/,
  );
  throwsCode(() => createSecureContext({ isServer: true }), "INVALID_OPTION", /needs `cert` and `key`/);
  throwsCode(() => createSecureContext({ isServer: true, cert: "nope", key: c.ecdsa.key }), "INVALID_PEM");
  throwsCode(
    () => createSecureContext({ isServer: true, cert: c.rsa.cert, key: c.ecdsa.key }),
    "KEY_MISMATCH",
  );
  throwsCode(
    () => createSecureContext({ srtpProfiles: ["SRTP_AEAD_AES_128_GCM"] }),
    "INVALID_OPTION",
    /DTLS/,
  );
  const client = createSecureContext({ caCerts: [c.ca.cert] });
  assert.equal(client.isServer, false);
  throwsCode(() => listen({ port: 0, secureContext: client }), "INVALID_OPTION", /TLS server secureContext/);
  const server = serverContext();
  assert.match(
    (await rejectsWith(connect({ port: 1, secureContext: server }), "INVALID_OPTION")).message,
    /TLS client secureContext/,
  );
  throwsCode(() => dtls.listen({ port: 0, secureContext: server }), "INVALID_OPTION", /DTLS server/);
  throwsCode(
    () => listen({ port: 0, secureContext: server, cert: c.rsa.cert, key: c.rsa.key }),
    "INVALID_OPTION",
    /`cert` belongs to the context/,
  );
  throwsCode(
    () => listen({ port: 0, secureContext: {} as SecureContext }),
    "INVALID_OPTION",
    /SecureContext from createSecureContext/,
  );
  using listener = listenSocket({ hostname: "127.0.0.1", port: 0, secureContext: server, socket: {} });
  throwsCode(() => listener.setSecureContext(client), "INVALID_OPTION", /setSecureContext needs/);
  client.free();
  server.free();
});

test("secureContext: one client context for connect and connectSocket to our listen() given a server context", async () => {
  const before = await liveSettles(shim.jsec_live(), true);
  {
    const server = serverContext();
    const client = createSecureContext({ caCerts: [certs().ca.cert], alpnProtocols: ["echo"] });
    const serverWithAlpn = createSecureContext({
      isServer: true,
      cert: certs().ecdsa.cert,
      key: certs().ecdsa.key,
      alpnProtocols: ["echo"],
    });
    using s = startServer({ cert: undefined, key: undefined, secureContext: serverWithAlpn });
    const target = { hostname: "127.0.0.1", port: s.port, servername: "localhost", secureContext: client };
    const conn = await connect(target);
    assert.equal((await conn.handshake()).alpnProtocol, "echo");
    await roundTrip(conn, "ping");
    await closeConn(conn);
    const opened = Promise.withResolvers<string>();
    const socket = await connectSocket({
      ...target,
      socket: { handshake: (sock, ok) => opened.resolve(`${ok} ${sock.info?.alpnProtocol}`) },
    });
    assert.equal(await opened.promise, "true echo");
    socket.end();
    s.close();
    for (const context of [server, client, serverWithAlpn]) context.free(); // and the client's cached sessions
  }
  const left = await liveSettles(before, true); // the collector may free an earlier test's late, never ours
  assert.ok(left <= before, `a native object outlived its context: ${left} live, ${before} before`);
});

/** Our plain server for STARTTLS: each connection gets the SMTP dialogue, then `upgrade({ isServer })`. */
async function smtpServerSide(plain: PlainSocket, options: Parameters<typeof upgrade>[1]) {
  await plain.write("220 jsec.test ESMTP ready\r\n");
  assert.match(await plain.readLine(), /^EHLO \S+$/);
  await plain.write("250-jsec.test\r\n250 STARTTLS\r\n");
  assert.equal(await plain.readLine(), "STARTTLS");
  await plain.write("220 2.0.0 Ready to start TLS\r\n");
  return await upgradeAndSay(plain, options, "250 hi\r\n");
}

/** Upgrades `plain` as a server, says `line` over TLS and closes; whether the handshake resumed. */
async function upgradeAndSay(plain: PlainSocket, options: Parameters<typeof upgrade>[1], line: string) {
  const conn = await upgrade(plain.raw, {
    isServer: true,
    head: plain.takeRest(),
    listenerHandlers: plain.listenerHandlers,
    ...options,
  });
  const info = await conn.handshake();
  await conn.write(enc.encode(line));
  await closeConn(conn);
  return info.resumed;
}

for (const version of ["-tls1_3", "-tls1_2"] as const) {
  test(
    `secureContext: STARTTLS upgrades sharing one context resume (openssl s_client -starttls smtp -sess_out/-sess_in ${version})`,
    async () => {
      const secureContext = serverContext();
      using listener = plainListen();
      const file = join(certs().dir, `starttls-${version}-${Math.random().toString(36).slice(2)}.sess`);
      const visit = async (args: string[]) => {
        const client = sClientTo(listener.port, [
          "-starttls",
          "smtp",
          "-name",
          "client.test",
          version,
          ...args,
        ]);
        try {
          const [resumed] = await Promise.all([
            listener.accept().then((plain) => smtpServerSide(plain, { secureContext })),
            client.waitFor(/250 hi/, "stdout"),
          ]);
          client.endInput();
          await client.waitExit();
          return { resumed, stdout: client.stdout };
        } finally {
          await client.stop();
        }
      };
      const first = await visit(["-sess_out", file]);
      assert.equal(first.resumed, false);
      assert.match(first.stdout, /\nNew, TLSv1\.[23]/);
      const second = await visit(["-sess_in", file]);
      assert.equal(second.resumed, true);
      assert.match(second.stdout, /\nReused, TLSv1\.[23]/);
      secureContext.free();
    },
    { timeout: 30_000 },
  );
}

test("secureContext: server-side upgrade() with a shared context resumes our client; a context per call does not", async () => {
  const c = certs();
  using listener = plainListen();
  const serveOne = async (options: Parameters<typeof upgrade>[1]) =>
    upgradeAndSay(await listener.accept(), options, "hi\n");
  const visit = async (session?: Uint8Array) => {
    const conn = await connectTo(listener.port, { session });
    await readExactly((p) => conn.read(p), 3); // TLS 1.3 tickets arrive before it
    const saved = conn.session;
    await closeConn(conn);
    return saved;
  };
  const secureContext = serverContext();
  const [, session] = await Promise.all([serveOne({ secureContext }), visit()]);
  const [resumed] = await Promise.all([serveOne({ secureContext }), visit(session!)]);
  assert.equal(resumed, true);
  const own = { cert: c.ecdsa.cert, key: c.ecdsa.key };
  const [, other] = await Promise.all([serveOne(own), visit()]);
  const [again] = await Promise.all([serveOne(own), visit(other!)]);
  assert.equal(again, false, "two contexts built per call resumed each other's sessions");
  secureContext.free();
});

test("setSecureContext on listen(): new connections get the new certificate, the open one keeps its own and works", async () => {
  const c = certs();
  const before = await liveSettles(shim.jsec_live(), true);
  {
    using server = startServer({ cert: c.ecdsa.cert, key: c.ecdsa.key }, echo);
    const first = await connectTo(server.port);
    assert.equal(fingerprint((await first.handshake()).peerCertificates[0].pem), fingerprint(c.ecdsa.cert));
    await roundTrip(first, "before");
    const renewed = serverContext(c.rsa);
    server.listener.setSecureContext(renewed);
    const second = await connectTo(server.port);
    assert.equal(fingerprint((await second.handshake()).peerCertificates[0].pem), fingerprint(c.rsa.cert));
    await roundTrip(first, "after the swap");
    await roundTrip(second, "new");
    await closeConn(first);
    await closeConn(second);
    server.close();
    throwsCode(() => server.listener.setSecureContext(renewed), "CLOSED");
    renewed.free();
  }
  clearSharedContexts(); // our clients' contexts and the sessions they cached
  const left = await liveSettles(before, true);
  assert.ok(left <= before, `the replaced context was not freed: ${left} live, ${before} before`);
});

test("setSecureContext on listenSocket(): the callback listener swaps certificates the same way", async () => {
  const c = certs();
  using server = listenSocket({
    hostname: "127.0.0.1",
    port: 0,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
    socket: { data: (socket, bytes) => void socket.write(bytes) },
  });
  const first = await connectTo(server.port);
  assert.equal(fingerprint((await first.handshake()).peerCertificates[0].pem), fingerprint(c.ecdsa.cert));
  const renewed = serverContext(c.rsa);
  server.setSecureContext(renewed);
  const second = await connectTo(server.port);
  assert.equal(fingerprint((await second.handshake()).peerCertificates[0].pem), fingerprint(c.rsa.cert));
  await roundTrip(first, "old chain still serves");
  await roundTrip(second, "new chain");
  await closeConn(first);
  await closeConn(second);
  server.stop();
  renewed.free();
});

test("setSecureContext: openssl s_client sees the renewed certificate", async () => {
  const c = certs();
  using server = startServer({ cert: c.ecdsa.cert, key: c.ecdsa.key }, echo);
  const servedCertificate = async () => {
    const client = sClientTo(server.port, ["-verify_return_error"]);
    try {
      return fingerprint(
        (await client.waitFor(/-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----/, "stdout"))[0],
      );
    } finally {
      await client.stop();
    }
  };
  assert.equal(await servedCertificate(), fingerprint(c.ecdsa.cert));
  const renewed = serverContext(c.rsa);
  server.listener.setSecureContext(renewed);
  assert.equal(await servedCertificate(), fingerprint(c.rsa.cert));
  renewed.free();
});

test("secureContext: DTLS listen and connect with contexts made once", async () => {
  const c = certs();
  const server = createSecureContext({
    isServer: true,
    datagram: true,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
  });
  const client = createSecureContext({ datagram: true, caCerts: [c.ca.cert] });
  await rejectsWith(connect({ port: 1, secureContext: client }), "INVALID_OPTION");
  await using listener = dtls.listen({ hostname: "127.0.0.1", port: 0, secureContext: server });
  await listener.ready;
  await using conn = await dtls.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
    servername: "localhost",
    secureContext: client,
  });
  assert.equal((await conn.handshake()).verified, true);
  await conn.send(enc.encode("ping"));
  const [message] = await listener.receive();
  assert.equal(dec.decode(message), "ping");
  listener.close();
  server.free();
  client.free();
});

test("setSecureContext: with the same ticketKeys, a session from before the swap resumes after it", async () => {
  const c = certs();
  const ticketKeys = crypto.getRandomValues(new Uint8Array(80));
  const before = createSecureContext({ isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key, ticketKeys });
  using server = startServer({ cert: undefined, key: undefined, secureContext: before }, echo);
  const first = await connectTo(server.port);
  await roundTrip(first, "ticket please"); // TLS 1.3 tickets come after the handshake
  const session = first.session!;
  await closeConn(first);
  const renewed = createSecureContext({ isServer: true, cert: c.rsa.cert, key: c.rsa.key, ticketKeys });
  server.listener.setSecureContext(renewed);
  before.free();
  const again = await connectTo(server.port, { session });
  assert.equal((await again.handshake()).resumed, true);
  await closeConn(again);
  const other = createSecureContext({ isServer: true, cert: c.rsa.cert, key: c.rsa.key });
  server.listener.setSecureContext(other);
  const fresh = await connectTo(server.port, { session });
  assert.equal((await fresh.handshake()).resumed, false, "other ticket keys resumed the session");
  await closeConn(fresh);
  server.close();
  renewed.free();
  other.free();
});

test("setSecureContext on a DTLS listener: the next peer gets the new certificate, the first keeps talking", async () => {
  const c = certs();
  const client = createSecureContext({ datagram: true, caCerts: [c.ca.cert] });
  await using listener = dtls.listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
  });
  await listener.ready;
  const to = {
    hostname: "127.0.0.1",
    port: listener.addr.port,
    servername: "localhost",
    secureContext: client,
  };
  await using first = await dtls.connect(to);
  assert.equal(fingerprint((await first.handshake()).peerCertificates[0].pem), fingerprint(c.ecdsa.cert));
  const renewed = createSecureContext({ isServer: true, datagram: true, cert: c.rsa.cert, key: c.rsa.key });
  throwsCode(() => listener.setSecureContext(serverContext(c.rsa)), "INVALID_OPTION", /DTLS server/);
  listener.setSecureContext(renewed);
  await using second = await dtls.connect(to);
  assert.equal(fingerprint((await second.handshake()).peerCertificates[0].pem), fingerprint(c.rsa.cert));
  for (const [conn, text] of [[first, "old"], [second, "new"]] as const) {
    await conn.send(enc.encode(text));
    const [message, from] = await listener.receive();
    assert.equal(dec.decode(message), text);
    await listener.send(enc.encode(`${text}!`), from);
    assert.equal(dec.decode((await conn.receive())!), `${text}!`);
  }
  listener.close();
  throwsCode(() => listener.setSecureContext(renewed), "CLOSED");
  renewed.free();
  client.free();
});
