/**
 * The callback sockets' STARTTLS (`upgradeSocket`, both sides), `connectError`
 * and the idle `timeout`: against `openssl s_client -starttls smtp`, a Node
 * STARTTLS server and ourselves, on real loopback sockets with real
 * certificates; failures (a refused port, a failed handshake) and no native
 * object left behind.
 */
import assert from "node:assert/strict";
import {
  connectSocket,
  listenSocket,
  TlsError,
  type TlsSocket,
  type TlsSocketHandler,
  upgradeSocket,
} from "../mod.ts";
import { clearSharedContexts } from "../lib/tls/contexts.ts";
import { shim } from "../ffi/mod.ts";
import { clientTo, echoing, Recorder, serverOn } from "./support/callback.ts";
import { certs } from "./support/certs.ts";
import { rejectsWith } from "./support/errors.ts";
import { liveSettles } from "./support/live.ts";
import { nextEvent, type NodeReport, nodeServer } from "./support/node_peer.ts";
import { freePort, pattern, sClientTo, sha256 } from "./support/openssl.ts";
import { plainConnect, plainListen, type PlainSocket } from "./support/plain.ts";
import { test } from "./harness.ts";

const isBun = "Bun" in globalThis;

/** A recorder whose handlers also log `connectError` and `timeout` (with the time since `since`). */
class FullRecorder extends Recorder {
  timeouts: number[] = [];
  connectErrors: { socket: TlsSocket | null; error: TlsError }[] = [];
  since = performance.now();
  onTimeout: ((socket: TlsSocket) => void) | null = null;

  get full(): TlsSocketHandler {
    return {
      ...this.handlers,
      connectError: (socket, error) => {
        this.connectErrors.push({ socket, error });
        this.log.events.push(`connectError ${error.code}`);
      },
      timeout: (socket) => {
        this.timeouts.push(performance.now() - this.since);
        this.log.events.push("timeout");
        this.onTimeout?.(socket);
      },
    };
  }
}

/** Our side of a minimal SMTP dialogue up to "220 Ready to start TLS"; the bytes read past it. */
async function smtpPrelude(plain: PlainSocket): Promise<Uint8Array> {
  await plain.write("220 jsec.test ESMTP ready\r\n");
  assert.match(await plain.readLine(), /^EHLO \S+$/);
  await plain.write("250-jsec.test greets you\r\n250 STARTTLS\r\n");
  assert.equal(await plain.readLine(), "STARTTLS");
  await plain.write("220 2.0.0 Ready to start TLS\r\n");
  return plain.takeRest();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `test` every 10 ms until it holds; throws after `timeoutMs`. */
async function eventually(what: string, test: () => boolean, timeoutMs = 3_000): Promise<void> {
  for (const until = Date.now() + timeoutMs; !test();) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// ---------------------------------------------------------------- STARTTLS

for (const v of ["-tls1_3", "-tls1_2"] as const) {
  test(`upgradeSocket({isServer}): openssl s_client -starttls smtp ${v}, SMTP goes on in TLS both ways`, async () => {
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
    const server = new Recorder(true);
    const socket = await upgradeSocket(plain.raw, {
      isServer: true,
      cert: c.rsa.cert,
      key: c.rsa.key,
      head,
      listenerHandlers: plain.listenerHandlers,
      socket: server.handlers,
    });
    assert.equal(socket.readyState, "open"); // resolves once the handshake is done
    assert.equal(socket.info?.protocol, v === "-tls1_3" ? "TLSv1.3" : "TLSv1.2");
    assert.equal(socket.info?.servername, "localhost");
    await client.waitFor(/Verification: OK/, "stderr");

    await client.write("EHLO client.test\n");
    await server.until("EHLO over TLS", () => server.text().includes("\n"));
    assert.equal(server.text(), "EHLO client.test\n");
    assert.equal(socket.write("250 jsec.test now over TLS\r\n"), 28);
    await client.waitFor(/250 jsec\.test now over TLS\r?\n/, "stdout");
    client.endInput(); // close_notify: we answer and close cleanly
    await server.closed();
    assert.deepEqual(server.log.events, ["open", "handshake ok", "end", "close"]);
  });
}

test("upgradeSocket (client) after a plaintext prelude → Node STARTTLS server: 1 MiB echoed, hashed", async () => {
  const c = certs();
  await using server = await nodeServer({ starttls: true, cert: c.rsa.cert, key: c.rsa.key, alpn: ["smtp"] });
  using plain = await plainConnect(server.port);
  assert.equal(await plain.readLine(), "220 node ESMTP ready");
  await plain.write("STARTTLS\r\n");
  assert.equal(await plain.readLine(), "220 go ahead");
  const client = new Recorder();
  const data = pattern(1024 * 1024, 5);
  client.onHandshake = (s) => assert.equal(s.write(data.subarray(0, 64 * 1024)), 64 * 1024);
  let at = 64 * 1024;
  client.onDrain = (s) => {
    for (let n = 0; at < data.length && (n = s.write(data.subarray(at, at + 64 * 1024))) > 0;) at += n;
  };
  const socket = await upgradeSocket(plain.raw, {
    hostname: "localhost",
    caCerts: [c.ca.cert],
    alpnProtocols: ["smtp"],
    head: plain.takeRest(),
    socket: client.handlers,
  });
  assert.equal(socket.authorized, true);
  assert.equal(socket.alpnProtocol, "smtp");
  const report = await nextEvent<NodeReport>(server, "secure");
  assert.equal(report.servername, "localhost");
  client.onDrain(socket);
  await client.receivedAtLeast(data.length, 30_000);
  assert.equal(client.digest(), sha256(data));
  socket.end();
  await client.closed();
  assert.deepEqual(client.log.events, ["open", "handshake ok", "end", "close"]);
});

test("one plain listener, several connections: upgradeSocket on some (ours ↔ ours), the others stay plain", async () => {
  const c = certs();
  using listener = plainListen();
  const pairs: { client: PlainSocket; server: PlainSocket }[] = [];
  const open = async () => {
    const client = await plainConnect(listener.port);
    pairs.push({ client, server: await listener.accept() });
    return pairs.at(-1)!;
  };
  const talk = async ({ client, server }: { client: PlainSocket; server: PlainSocket }, text: string) => {
    await client.write(`${text}\r\n`);
    assert.equal(await server.readLine(), text);
    await server.write(`re ${text}\r\n`);
    assert.equal(await client.readLine(), `re ${text}`);
  };
  /** STARTTLS on one pair: an echoing server socket and a recording client socket. */
  const starttls = async ({ client, server }: { client: PlainSocket; server: PlainSocket }) => {
    const serverSide = echoing(new Recorder());
    const clientSide = new Recorder(true);
    const [s, k] = await Promise.all([
      upgradeSocket(server.raw, {
        isServer: true,
        ...serverOn(),
        head: server.takeRest(),
        listenerHandlers: server.listenerHandlers,
        socket: serverSide.handlers,
      }),
      upgradeSocket(client.raw, {
        hostname: "localhost",
        caCerts: [c.ca.cert],
        head: client.takeRest(),
        socket: clientSide.handlers,
      }),
    ]);
    return { server: s, client: k, serverSide, clientSide };
  };
  const echo = async (t: Awaited<ReturnType<typeof starttls>>, text: string) => {
    const before = t.clientSide.log.received;
    t.client.write(text);
    await t.clientSide.receivedAtLeast(before + text.length);
    assert.ok(t.clientSide.text().endsWith(text));
  };
  try {
    const [first, second, third] = [await open(), await open(), await open()];
    const tls1 = await starttls(first);
    await talk(second, "still plain");
    await echo(tls1, "over tls");
    const late = await open();
    await talk(late, "late and plain");
    second.client.close();
    await assert.rejects(second.server.readLine(2_000));
    if (isBun) {
      // Without the listener's handlers Bun's upgrade refuses before it touches anything.
      await rejectsWith(
        upgradeSocket(third.server.raw, { isServer: true, ...serverOn(), socket: {} }),
        "INVALID_OPTION",
      );
      await talk(third, "refused, still plain");
    }
    const tls3 = await starttls(third);
    await echo(tls3, "third over tls");
    await echo(tls1, "first still over tls");
    await talk(late, "late still plain");
    for (const t of [tls1, tls3]) {
      t.client.end();
      await t.clientSide.closed();
      await t.serverSide.closed();
      assert.deepEqual(t.clientSide.log.events, ["open", "handshake ok", "end", "close"]);
      assert.deepEqual(t.serverSide.log.events, ["open", "handshake ok", "end", "close"]);
    }
  } finally {
    for (const { client, server } of pairs) {
      client[Symbol.dispose]();
      server[Symbol.dispose]();
    }
  }
});

test("upgradeSocket: bad options throw INVALID_OPTION before the plain socket is touched", async () => {
  using listener = plainListen();
  using plain = await plainConnect(listener.port);
  using accepted = await listener.accept();
  await rejectsWith(upgradeSocket(plain.raw, { socket: { data: 1 as never } }), "INVALID_OPTION");
  await rejectsWith(upgradeSocket(plain.raw, { socket: { timeout: "x" as never } }), "INVALID_OPTION");
  await rejectsWith(upgradeSocket(plain.raw, { socket: {}, head: "x" as never }), "INVALID_OPTION");
  // Still plain and ours.
  await plain.write("still here\r\n");
  assert.equal(await accepted.readLine(), "still here");
});

// ---------------------------------------------------------------- connectError

test("connectError: a refused port calls connectError(null, CONNECTION_FAILED), and the promise rejects", async () => {
  const r = new FullRecorder();
  const port = await freePort();
  await rejectsWith(connectSocket({ ...clientTo(port), socket: r.full }), "CONNECTION_FAILED");
  assert.equal(r.connectErrors.length, 1);
  assert.equal(r.connectErrors[0].socket, null);
  assert.equal(r.connectErrors[0].error.code, "CONNECTION_FAILED");
  assert.deepEqual(r.log.events, ["connectError CONNECTION_FAILED"]); // no open, no close: there was no socket
});

test("connectError: a failed handshake goes to connectError instead of error, on both sides", async () => {
  const serverSide = new FullRecorder();
  using listener = listenSocket({ ...serverOn(), socket: serverSide.full });
  const client = new FullRecorder();
  // The client does not trust the test CA.
  await rejectsWith(
    connectSocket({ hostname: "localhost", port: listener.port, socket: client.full }),
    "CERT_UNTRUSTED",
  );
  await client.closed();
  assert.deepEqual(client.log.events, [
    "open",
    "handshake failed CERT_UNTRUSTED",
    "connectError CERT_UNTRUSTED",
    "close CERT_UNTRUSTED",
  ]);
  assert.equal(client.connectErrors[0].socket, client.log.socket);
  assert.equal(client.log.errors.length, 0);
  await serverSide.closed();
  assert.equal(serverSide.log.events[0], "open");
  assert.match(serverSide.log.events[2], /^connectError /);
  assert.equal(serverSide.log.errors.length, 0);
});

test("connectError: an upgraded client whose server is not trusted (Node STARTTLS server) gets it", async () => {
  const c = certs();
  await using server = await nodeServer({ starttls: true, cert: c.stranger.cert, key: c.stranger.key });
  using plain = await plainConnect(server.port);
  assert.equal(await plain.readLine(), "220 node ESMTP ready");
  await plain.write("STARTTLS\r\n");
  assert.equal(await plain.readLine(), "220 go ahead");
  const client = new FullRecorder();
  await rejectsWith(
    upgradeSocket(plain.raw, {
      hostname: "localhost",
      caCerts: [c.ca.cert],
      head: plain.takeRest(),
      socket: client.full,
    }),
    "CERT_UNTRUSTED",
  );
  await client.closed();
  assert.deepEqual(client.log.events.slice(1), [
    "handshake failed CERT_UNTRUSTED",
    "connectError CERT_UNTRUSTED",
    "close CERT_UNTRUSTED",
  ]);
});

test("connectError: a handshake that times out (a silent plain server) gets HANDSHAKE_TIMEOUT", async () => {
  using listener = plainListen();
  const client = new FullRecorder();
  const connecting = connectSocket({
    ...clientTo(listener.port),
    handshakeTimeout: 200,
    socket: client.full,
  });
  using _silent = await listener.accept(); // accepts, never answers the ClientHello
  await rejectsWith(connecting, "HANDSHAKE_TIMEOUT");
  await client.closed();
  assert.deepEqual(client.log.events, [
    "open",
    "handshake failed HANDSHAKE_TIMEOUT",
    "connectError HANDSHAKE_TIMEOUT",
    "close HANDSHAKE_TIMEOUT",
  ]);
});

test("connectError: after the handshake, failures go to error as before", async () => {
  using echo = listenSocket({ ...serverOn(), socket: { handshake: (s) => s.terminate() } });
  const client = new FullRecorder();
  await connectSocket({ ...clientTo(echo.port), socket: client.full });
  await client.closed();
  assert.equal(client.connectErrors.length, 0);
  assert.deepEqual(client.log.events, [
    "open",
    "handshake ok",
    "error UNEXPECTED_EOF",
    "close UNEXPECTED_EOF",
  ]);
});

// ---------------------------------------------------------------- timeout

test("timeout: fires after the idle time, again after another one, and the app ends the socket", async () => {
  const server = echoing(new Recorder());
  using listener = listenSocket({ ...serverOn(), socket: server.handlers });
  const client = new FullRecorder();
  let fired = 0;
  client.onTimeout = (s) => {
    if (++fired === 2) s.end();
  };
  const socket = await connectSocket({ ...clientTo(listener.port), socket: client.full });
  client.since = performance.now();
  socket.timeout(0.2);
  await client.closed(5_000);
  assert.equal(client.timeouts.length, 2);
  assert.ok(client.timeouts[0] >= 190, `first after ${client.timeouts[0]} ms`);
  assert.ok(client.timeouts[1] >= 390, `second after ${client.timeouts[1]} ms`);
  assert.deepEqual(client.log.events, ["open", "handshake ok", "timeout", "timeout", "end", "close"]);
});

test("timeout: does not fire while data flows one way (writes for the writer, reads for the reader); 0 turns it off", async () => {
  const server = new FullRecorder();
  server.onHandshake = (s) => s.timeout(0.3); // the server only reads
  using listener = listenSocket({ ...serverOn(), socket: server.full });
  const client = new FullRecorder();
  const socket = await connectSocket({ ...clientTo(listener.port), socket: client.full });
  socket.timeout(0.3); // the client only writes
  for (let i = 0; i < 24; i++) {
    assert.equal(socket.write("tick"), 4);
    await sleep(50);
  }
  assert.equal(server.log.received, 96);
  assert.equal(client.timeouts.length, 0, "the writer timed out while writing");
  assert.equal(server.timeouts.length, 0, "the reader timed out while reading");
  // Silence: both fire now.
  await eventually("the client's timeout", () => client.timeouts.length > 0);
  await eventually("the server's timeout", () => server.timeouts.length > 0);
  socket.timeout(0);
  const seen = client.timeouts.length;
  await sleep(700);
  assert.equal(client.timeouts.length, seen, "timeout(0) did not turn it off");
  assert.throws(
    () => socket.timeout(-1),
    (e: unknown) => e instanceof TlsError && e.code === "INVALID_OPTION",
  );
  socket.end();
  await client.closed();
  await server.closed();
});

// ---------------------------------------------------------------- resources

test("upgradeSocket, connectError and timeout leave no native object (60 upgrades, 60 failed)", async () => {
  const c = certs();
  clearSharedContexts();
  const before = await liveSettles(0);
  using listener = plainListen();
  for (let round = 0; round < 12; round++) {
    await Promise.all(Array.from({ length: 5 }, async () => {
      using plainClient = await plainConnect(listener.port);
      using plainServer = await listener.accept();
      const serverSide = echoing(new Recorder());
      const clientSide = new FullRecorder();
      clientSide.onHandshake = (s) => {
        s.timeout(0.05);
        s.write("x");
      };
      clientSide.onTimeout = (s) => s.end();
      await Promise.all([
        upgradeSocket(plainServer.raw, {
          isServer: true,
          ...serverOn(),
          listenerHandlers: plainServer.listenerHandlers,
          socket: serverSide.handlers,
        }),
        upgradeSocket(plainClient.raw, {
          hostname: "localhost",
          caCerts: [c.ca.cert],
          socket: clientSide.full,
        }),
      ]);
      await clientSide.closed();
      await serverSide.closed();
      assert.equal(clientSide.log.received, 1);
      assert.equal(clientSide.timeouts.length, 1);
    }));
    await Promise.all(Array.from({ length: 5 }, async () => {
      using plainClient = await plainConnect(listener.port);
      using plainServer = await listener.accept();
      const serverSide = new FullRecorder();
      const clientSide = new FullRecorder();
      await Promise.all([
        upgradeSocket(plainServer.raw, {
          isServer: true,
          ...serverOn(),
          listenerHandlers: plainServer.listenerHandlers,
          socket: serverSide.full,
        }).catch(() => {}),
        rejectsWith(
          upgradeSocket(plainClient.raw, { hostname: "localhost", socket: clientSide.full }),
          "CERT_UNTRUSTED",
        ),
      ]);
      await clientSide.closed();
      await serverSide.closed();
      assert.equal(clientSide.connectErrors.length, 1);
    }));
  }
  clearSharedContexts(); // and the saved sessions; each connection's newest goes with it, when collected
  assert.ok(
    await liveSettles(0, true) <= before,
    `${shim.jsec_live()} native objects left, ${before} before`,
  );
}, { timeout: 120_000 });
