/**
 * The callback API (`connectSocket`, `listenSocket`, `TlsSocket`): data
 * pushed through one shared buffer, backpressure through `write`'s count and
 * `drain`, close_notify both ways, failures as TlsErrors to `error`, handlers
 * that throw, and interop with `TlsConn`, `openssl s_server` and the
 * runtime's own TLS (`node:tls`). Real sockets on loopback, real certificates.
 */
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { connect, connectSocket, listenSocket, TlsError, type TlsSocket } from "../mod.ts";
import { clearSharedContexts } from "../lib/tls/contexts.ts";
import { shim } from "../ffi/mod.ts";
import { clientTo, echoing, Recorder, sendAll, serverOn } from "./support/callback.ts";
import { certs } from "./support/certs.ts";
import { bounded } from "./support/conn.ts";
import { rejectsWith } from "./support/errors.ts";
import { readText } from "./support/exchange.ts";
import { acceptingServer } from "./support/server.ts";
import { liveSettles } from "./support/live.ts";
import { cuttingProxy, plainServer, socketEvent } from "./support/net.ts";
import { pattern, readExactly, sha256, sServer } from "./support/openssl.ts";
import { test } from "./harness.ts";

const MiB = 1 << 20;
const enc = new TextEncoder();

/** Our echo server: every accepted socket gets a fresh recorder that echoes. */
function echoServer(options: Record<string, unknown> = {}) {
  const recorders: Recorder[] = [];
  const server = listenSocket({
    ...serverOn(),
    ...options,
    socket: {
      open(socket) {
        const r = echoing(new Recorder());
        recorders.push(r);
        (socket as TlsSocket<unknown>).data = r;
        r.handlers.open!(socket);
      },
      handshake: (s, ok, e) => rec(s).handlers.handshake!(s, ok, e),
      data: (s, d) => rec(s).handlers.data!(s, d),
      drain: (s) => rec(s).handlers.drain!(s),
      end: (s) => rec(s).handlers.end!(s),
      error: (s, e) => rec(s).handlers.error!(s, e),
      close: (s, e) => rec(s).handlers.close!(s, e),
    },
  });
  return { server, recorders, [Symbol.dispose]: () => server.stop(true) };
}

function rec(socket: TlsSocket): Recorder {
  return (socket as TlsSocket<unknown>).data as Recorder;
}

test(
  "callback: 8 MiB echoed through our server, in order (SHA-256), with backpressure both ways",
  async () => {
    using echo = echoServer();
    const client = new Recorder();
    const socket = await connectSocket({ ...clientTo(echo.server.port), socket: client.handlers });
    assert.equal(socket.readyState, "open"); // connectSocket resolves once the handshake is done
    const data = pattern(8 * MiB, 7);
    const sent = await sendAll(socket, client, data);
    await client.receivedAtLeast(data.length, 30_000);
    assert.equal(client.log.received, data.length);
    assert.equal(client.digest(), sha256(data));
    assert.ok(sent.partialWrites > 0, "a 256 KiB write should have waited for drain at least once");
    assert.ok(client.log.drains > 0);
    assert.equal(socket.readyState, "open");
    assert.equal(socket.authorized, true);
    assert.equal(socket.info?.protocol, "TLSv1.3");
    socket.end();
    assert.equal(socket.write("late"), -1);
    await client.closed();
    const server = echo.recorders[0];
    await server.closed();
    assert.deepEqual(client.log.events, ["open", "handshake ok", "end", "close"]);
    assert.deepEqual(server.log.events, ["open", "handshake ok", "end", "close"]);
    assert.equal(server.log.received, data.length);
    await socket.closed;
  },
  { timeout: 60_000 },
);

test("callback: many small writes arrive in order; writes during the handshake are queued", async () => {
  using echo = echoServer();
  const client = new Recorder(true);
  let expected = "";
  const lines: string[] = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`);
  client.onHandshake = (socket) => {
    for (const line of lines.slice(10)) assert.equal(socket.write(line), line.length);
  };
  const socket = await connectSocket({
    ...clientTo(echo.server.port),
    socket: {
      ...client.handlers,
      open(s) {
        client.handlers.open!(s);
        for (const line of lines.slice(0, 10)) assert.equal(s.write(line), line.length); // before the handshake
      },
    },
  });
  expected = lines.join("");
  await client.receivedAtLeast(expected.length);
  assert.equal(client.text(), expected);
  socket.end();
  await client.closed();
});

test(
  "callback: 16 MiB from our server to the client (bigger than the shared buffer), paced by drain",
  async () => {
    const data = pattern(16 * MiB, 3);
    const server = new Recorder();
    const done = new Promise<{ partialWrites: number }>((resolve, reject) => {
      server.onHandshake = (socket) => sendAll(socket, server, data).then(resolve, reject);
    });
    using listener = listenSocket({ ...serverOn(), socket: server.handlers });
    const client = new Recorder();
    const socket = await connectSocket({ ...clientTo(listener.port), socket: client.handlers });
    await client.receivedAtLeast(data.length, 30_000);
    assert.ok((await done).partialWrites > 0);
    assert.equal(client.digest(), sha256(data));
    socket.end();
    await client.closed();
    await server.closed();
    assert.deepEqual(server.log.events, ["open", "handshake ok", "end", "close"]);
  },
  { timeout: 60_000 },
);

test("callback: allowHalfOpen keeps the server writing after the client's close_notify", async () => {
  const server = new Recorder(true);
  using listener = listenSocket({
    ...serverOn(),
    allowHalfOpen: true,
    socket: {
      ...server.handlers,
      end(s) {
        server.handlers.end!(s);
        assert.equal(s.write(`you said: ${server.text()}`), 10 + server.log.received);
        s.end();
      },
    },
  });
  const client = new Recorder(true);
  const socket = await connectSocket({ ...clientTo(listener.port), socket: client.handlers });
  socket.write("question");
  socket.end();
  await client.closed();
  assert.equal(client.text(), "you said: question");
  assert.deepEqual(client.log.events, ["open", "handshake ok", "end", "close"]);
  await server.closed();
  assert.deepEqual(server.log.events, ["open", "handshake ok", "end", "close"]);
});

test("callback: pause() stops data until resume(), which never delivers from inside itself", async () => {
  await using listener = acceptingServer();
  const accepted = listener.accept();
  const client = new Recorder(true);
  const socket = await connectSocket({ ...clientTo(listener.port), socket: client.handlers });
  await using conn = await accepted;
  socket.pause();
  await conn.write(enc.encode("while paused"));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(client.log.received, 0);
  socket.resume();
  assert.equal(client.log.received, 0); // not synchronously
  await client.receivedAtLeast(12);
  assert.equal(client.text(), "while paused");
  socket.close();
  await client.closed();
  assert.equal(client.log.closeError, null);
});

test("callback: a bad certificate is CERT_UNTRUSTED to error and close; the server hears CERT_REJECTED", async () => {
  const c = certs();
  const server = new Recorder();
  using listener = listenSocket({
    ...serverOn(),
    cert: c.stranger.cert,
    key: c.stranger.key,
    socket: server.handlers,
  });
  const client = new Recorder();
  const rejected = await rejectsWith(
    connectSocket({
      ...clientTo(listener.port),
      socket: {
        ...client.handlers,
        open(socket) {
          client.handlers.open!(socket);
          assert.equal(socket.write("secret"), 6); // queued: never sent to an unverified server
        },
      },
    }),
    "CERT_UNTRUSTED",
  );
  const socket = client.log.socket!;
  await client.closed();
  assert.deepEqual(client.log.events, [
    "open",
    "handshake failed CERT_UNTRUSTED",
    "error CERT_UNTRUSTED",
    "close CERT_UNTRUSTED",
  ]);
  const error = client.log.errors[0] as TlsError;
  assert.ok(error instanceof TlsError);
  assert.equal(error, rejected); // the promise rejects with what the handlers got
  assert.equal(error.verifyResult, 20);
  assert.equal(socket.readyState, "closed");
  assert.equal(socket.write("more"), -1);
  await server.closed();
  assert.deepEqual(server.log.events, [
    "open",
    "handshake failed CERT_REJECTED",
    "error CERT_REJECTED",
    "close CERT_REJECTED",
  ]);
  assert.equal(server.log.received, 0);
});

test("callback: a host name mismatch is HOSTNAME_MISMATCH", async () => {
  using listener = listenSocket({ ...serverOn(), socket: {} });
  const client = new Recorder();
  await rejectsWith(
    connectSocket({ ...clientTo(listener.port), servername: "wrong.test", socket: client.handlers }),
    "HOSTNAME_MISMATCH",
  );
  await client.closed();
  assert.deepEqual(client.log.errors.map((e) => (e as TlsError).code), ["HOSTNAME_MISMATCH"]);
});

test("callback: a peer that vanishes mid-handshake is UNEXPECTED_EOF, client and server side", async () => {
  await using quitter = await plainServer((s) => s.once("data", () => s.end()));
  const client = new Recorder();
  await rejectsWith(connectSocket({ ...clientTo(quitter.port), socket: client.handlers }), "UNEXPECTED_EOF");
  await client.closed();
  assert.deepEqual(client.log.events, [
    "open",
    "handshake failed UNEXPECTED_EOF",
    "error UNEXPECTED_EOF",
    "close UNEXPECTED_EOF",
  ]);

  const server = new Recorder();
  using listener = listenSocket({ ...serverOn(), socket: server.handlers });
  const raw = net.connect(listener.port, "127.0.0.1");
  raw.on("error", () => {});
  await socketEvent(raw, "connect");
  raw.end(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])); // the start of a ClientHello, then FIN
  await server.closed();
  assert.equal((server.log.closeError as TlsError).code, "UNEXPECTED_EOF");
  raw.destroy();
});

test("callback: a silent server is HANDSHAKE_TIMEOUT; no timer is left behind", async () => {
  await using silent = await plainServer(() => {});
  const client = new Recorder();
  const started = Date.now();
  await rejectsWith(
    connectSocket({ ...clientTo(silent.port), handshakeTimeout: 200, socket: client.handlers }),
    "HANDSHAKE_TIMEOUT",
  );
  await client.closed();
  assert.equal((client.log.closeError as TlsError).code, "HANDSHAKE_TIMEOUT");
  assert.ok(Date.now() - started < 5000);
});

test("callback: a connection cut after data without close_notify is UNEXPECTED_EOF, after the data", async () => {
  await using listener = acceptingServer();
  const accepted = listener.accept();
  await using proxy = await cuttingProxy(listener.port);
  const client = new Recorder(true);
  await connectSocket({ ...clientTo(proxy.port), socket: client.handlers });
  await using conn = await accepted;
  await conn.write(enc.encode("last words"));
  await client.receivedAtLeast(10);
  proxy.cut(); // FIN without close_notify
  await client.closed();
  assert.equal(client.text(), "last words");
  assert.deepEqual(client.log.events, [
    "open",
    "handshake ok",
    "error UNEXPECTED_EOF",
    "close UNEXPECTED_EOF",
  ]);
});

test("callback: a handler that throws ends that connection (error, then close), not the server", async () => {
  const boom = new Error("handler bug");
  const server = new Recorder();
  let sockets = 0;
  using listener = listenSocket({
    ...serverOn(),
    socket: {
      ...server.handlers,
      open(s) {
        sockets++;
        server.handlers.open!(s);
      },
      data(s, d) {
        if (new TextDecoder().decode(d) === "throw") throw boom;
        s.write(d);
      },
    },
  });
  const conn = await connect(clientTo(listener.port));
  await conn.write(enc.encode("throw"));
  await server.closed();
  assert.deepEqual(server.log.events, ["open", "handshake ok", "error handler bug", "close handler bug"]);
  assert.equal(server.log.errors[0], boom);
  await rejectsWith(conn.read(new Uint8Array(8)), "UNEXPECTED_EOF"); // terminated: no close_notify
  conn.close();
  // The listener goes on.
  const again = await connect(clientTo(listener.port));
  await again.write(enc.encode("echo"));
  assert.equal(await readText(again, 4), "echo");
  again.close();
  assert.equal(sockets, 2);
});

test("callback: our TlsConn server ↔ callback client, and callback server ↔ TlsConn client", async () => {
  // Callback client → TlsConn server.
  await using plain = acceptingServer({ alpnProtocols: ["x/1"] });
  const accepted = plain.accept();
  const client = new Recorder(true);
  const socket = await connectSocket({
    ...clientTo(plain.port),
    alpnProtocols: ["x/1"],
    socket: client.handlers,
  });
  const conn = await accepted;
  socket.write("to conn");
  assert.equal(await readText(conn, 7), "to conn");
  await conn.write(enc.encode("to socket"));
  await client.receivedAtLeast(9);
  assert.equal(client.text(), "to socket");
  assert.equal(socket.alpnProtocol, "x/1");
  await conn.closeWrite(); // close_notify: the socket answers with its own and closes
  await client.closed();
  assert.deepEqual(client.log.events, ["open", "handshake ok", "end", "close"]);
  assert.equal(await conn.read(new Uint8Array(1)), null);
  conn.close();

  // TlsConn client → callback server (echo), 4 MiB.
  using echo = echoServer();
  const c2 = await connect(clientTo(echo.server.port));
  const data = pattern(4 * MiB, 5);
  const writing = (async () => {
    for (let at = 0; at < data.length; at += MiB) await c2.write(data.subarray(at, at + MiB));
  })();
  const back = await readExactly((p) => c2.read(p), data.length, 30_000);
  await writing;
  assert.equal(sha256(back), sha256(data));
  await c2.closeWrite();
  assert.equal(await c2.read(new Uint8Array(1)), null); // the server answered close_notify
  c2.close();
  await echo.recorders[0].closed();
  assert.equal(echo.recorders[0].log.closeError, null);
}, { timeout: 60_000 });

test("callback: openssl s_server ↔ callback client: data both ways, the peer's close_notify is `end`", async () => {
  const c = certs();
  await using peer = await sServer({ ...c.ecdsa, brief: true });
  const client = new Recorder(true);
  const socket = await connectSocket({ ...clientTo(peer.port), socket: client.handlers });
  await client.until("handshake", () => client.log.events.includes("handshake ok"));
  socket.write("hello s_server\n");
  await peer.waitUntil("our line", () => peer.stdout.includes("hello s_server"));
  await peer.write("hello jsec\n");
  await client.receivedAtLeast(11);
  assert.equal(client.text(), "hello jsec\n");
  peer.endInput(); // s_server sends close_notify
  await client.closed();
  assert.deepEqual(client.log.events, ["open", "handshake ok", "end", "close"]);
});

test("callback: node:tls (the runtime's own TLS) ↔ our callback server, 4 MiB echoed", async () => {
  const c = certs();
  using echo = echoServer({ alpnProtocols: ["echo/1"] });
  const peer = tls.connect({
    host: "127.0.0.1",
    port: echo.server.port,
    servername: "localhost",
    ca: c.ca.cert,
    ALPNProtocols: ["echo/1"],
  });
  peer.on("error", () => {});
  try {
    await socketEvent(peer, "secureConnect");
    assert.equal(peer.alpnProtocol, "echo/1");
    const data = pattern(4 * MiB, 9);
    const chunks: Uint8Array[] = [];
    let got = 0;
    const all = new Promise<void>((resolve) => {
      peer.on("data", (d: Uint8Array) => {
        chunks.push(new Uint8Array(d));
        got += d.length;
        if (got >= data.length) resolve();
      });
    });
    peer.write(data);
    await bounded(all, 30_000, "the echo");
    const back = new Uint8Array(got);
    let at = 0;
    for (const ch of chunks) back.set(ch, (at += ch.length) - ch.length);
    assert.equal(sha256(back), sha256(data));
  } finally {
    peer.end();
  }
  await echo.recorders[0].closed(10_000);
  // node:tls's end() sends close_notify: a clean end.
  assert.deepEqual(echo.recorders[0].log.events, ["open", "handshake ok", "end", "close"]);
}, { timeout: 60_000 });

test("callback: wrong options and handlers are INVALID_OPTION at the call", async () => {
  await rejectsWith(connectSocket({ port: 1, socket: null as never }), "INVALID_OPTION");
  await rejectsWith(connectSocket({ port: 1, socket: { data: 5 as never } }), "INVALID_OPTION");
  await rejectsWith(connectSocket({ port: 1, socket: {}, allowHalfOpen: "yes" as never }), "INVALID_OPTION");
  assert.throws(() => listenSocket({ ...serverOn(), socket: { open: "x" as never } }), {
    code: "INVALID_OPTION",
  });
  assert.throws(() => listenSocket({ port: 0, socket: {} }), { code: "INVALID_OPTION" }); // no cert
  const refused = await plainServer(() => {});
  const port = refused.port;
  await refused.close();
  await rejectsWith(connectSocket({ ...clientTo(port), socket: {} }), "CONNECTION_FAILED");
  using listener = listenSocket({ ...serverOn(), socket: {} });
  const socket = await connectSocket({ ...clientTo(listener.port), socket: {} });
  assert.throws(() => socket.write(42 as never), { code: "INVALID_OPTION" });
  socket.terminate();
  await socket.closed;
});

test("callback: a failed handshake rejects connectSocket's promise, even with no handlers at all", async () => {
  using listener = listenSocket({ ...serverOn(), socket: {} });
  await rejectsWith(
    connectSocket({ hostname: "localhost", port: listener.port, socket: {} }),
    "CERT_UNTRUSTED",
  );
  // A success resolves once the handshake is done.
  const socket = await connectSocket({ ...clientTo(listener.port), socket: {} });
  assert.equal(socket.readyState, "open");
  assert.equal(socket.authorized, true);
  socket.terminate();
  await socket.closed;
});

test("callback: stop(true) closes the listener's open sockets", async () => {
  const server = new Recorder();
  const listener = listenSocket({ ...serverOn(), socket: server.handlers });
  const client = new Recorder();
  await connectSocket({ ...clientTo(listener.port), socket: client.handlers });
  await server.until("handshake", () => server.log.events.includes("handshake ok"));
  listener.stop(true);
  await server.closed();
  await client.closed();
  assert.deepEqual(client.log.events, ["open", "handshake ok", "end", "close"]); // close() sent close_notify
});

test("callback: 300 connections and 300 failed handshakes leave no native object", async () => {
  const c = certs();
  clearSharedContexts();
  const before = await liveSettles(0);
  const listener = listenSocket({ ...serverOn(), socket: { data: (s, d) => void s.write(d) } });
  try {
    for (let round = 0; round < 30; round++) {
      await Promise.all(Array.from({ length: 10 }, async () => {
        const r = new Recorder();
        r.onHandshake = (s) => s.write("x");
        r.onData = (s) => s.end();
        await connectSocket({ ...clientTo(listener.port), socket: r.handlers });
        await r.closed();
        assert.equal(r.log.closeError, null, r.log.events.join(", "));
        await r.log.socket!.closed;
      }));
      await Promise.all(Array.from({ length: 10 }, async () => {
        const r = new Recorder();
        // no caCerts
        await rejectsWith(
          connectSocket({ hostname: "localhost", port: listener.port, socket: r.handlers }),
          "CERT_UNTRUSTED",
        );
        await r.closed();
        assert.equal((r.log.closeError as TlsError).code, "CERT_UNTRUSTED");
        await r.log.socket!.closed;
      }));
    }
  } finally {
    listener.stop(true);
  }
  clearSharedContexts(); // and the saved sessions; each connection's newest goes with it, when collected
  assert.ok(
    await liveSettles(0, true) <= before,
    `${shim.jsec_live()} native objects left, ${before} before`,
  );
  void c;
}, { timeout: 120_000 });

test(
  "callback: a throw with no `error` handler is reported as uncaught (reportError), never silent",
  async () => {
    const reported: unknown[] = [];
    const onError = (e: ErrorEvent) => {
      reported.push(e.error);
      e.preventDefault();
    };
    globalThis.addEventListener("error", onError);
    try {
      const closed = new Recorder();
      using listener = listenSocket({
        ...serverOn(),
        socket: {
          handshake() {
            throw new Error("no error handler");
          },
          close: closed.handlers.close,
        },
      });
      const client = new Recorder();
      await connectSocket({ ...clientTo(listener.port), socket: client.handlers });
      await closed.closed();
      assert.equal((closed.log.closeError as Error).message, "no error handler");
      assert.deepEqual(reported.map((e) => (e as Error).message), ["no error handler"]);
      await client.closed();
    } finally {
      globalThis.removeEventListener("error", onError);
    }
  },
  { skip: "Bun" in globalThis ? "Deno only: Bun's reportError cannot be caught, it fails the run" : false },
);
