/**
 * A failed handshake still knows who the client was: `onHandshakeError`'s
 * address and the callback socket's `remoteAddress` / `remotePort` are the
 * client's, under Bun as under Deno (Bun forgets a socket's address once it
 * closed).
 */
import assert from "node:assert/strict";
import net from "node:net";
import { type Addr, listen, listenSocket, type TlsError } from "../mod.ts";
import { Recorder, serverOn } from "./support/callback.ts";
import { bounded } from "./support/conn.ts";
import { socketEvent } from "./support/net.ts";
import { test } from "./harness.ts";

/** Connects in plaintext, sends what is not a ClientHello, and returns our local port. */
async function garbageClient(port: number): Promise<{ port: number; done: () => void }> {
  const raw = net.connect(port, "127.0.0.1");
  raw.on("error", () => {});
  await socketEvent(raw, "connect");
  raw.write("GET / HTTP/1.1\r\n\r\n");
  return { port: raw.localPort!, done: () => raw.destroy() };
}

test("a failed handshake reports the client's address to onHandshakeError (TlsConn)", async () => {
  let failed!: (seen: { error: TlsError; addr: Addr }) => void;
  const seen = new Promise<{ error: TlsError; addr: Addr }>((resolve) => (failed = resolve));
  const server = listen({ ...serverOn(), onHandshakeError: (error, addr) => failed({ error, addr }) });
  try {
    const client = await garbageClient((server.addr as { port: number }).port);
    const { addr } = await bounded(seen, 10_000, "no handshake error");
    client.done();
    assert.deepEqual({ ...addr }, { transport: "tcp", hostname: "127.0.0.1", port: client.port });
  } finally {
    server.close();
  }
});

test("a failed handshake keeps the client's address on the callback socket (TlsSocket)", async () => {
  const server = new Recorder();
  let port = -1, address = "";
  using listener = listenSocket({
    ...serverOn(),
    socket: {
      ...server.handlers,
      error(socket, error) {
        port = socket.remotePort;
        address = socket.remoteAddress;
        server.handlers.error!(socket, error);
      },
    },
  });
  const client = await garbageClient(listener.port);
  await server.closed();
  client.done();
  assert.equal(server.log.errors.length, 1);
  assert.equal(port, client.port);
  assert.equal(address, "127.0.0.1");
  assert.equal(server.log.socket?.remotePort, client.port); // and after the close
});
