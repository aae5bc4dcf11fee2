/**
 * A client follows TLS 1.2 renegotiations the server starts, at most 3 per
 * 10 minutes (Node's limit), and `handshake()` / `info` describe the latest
 * handshake. The 4th HelloRequest gets a no_renegotiation warning; an OpenSSL
 * server then gives up with a handshake_failure alert. Against
 * `openssl s_server`, through both client APIs.
 */
import assert from "node:assert/strict";
import { connectSocket, type HandshakeInfo, type TlsError } from "../mod.ts";
import { clientTo, Recorder, sendAll } from "./support/callback.ts";
import { bounded, connectTo } from "./support/conn.ts";
import { readText, sendToPeer } from "./support/exchange.ts";
import type { Peer } from "./support/openssl.ts";
import { ourFinishedMessages, sendHelloRequest, sServerForRenegotiation } from "./support/renegotiation.ts";
import { test } from "./harness.ts";

const enc = new TextEncoder();

/** One client connection, whichever API: read text, write text, what was negotiated. */
interface Client extends AsyncDisposable {
  /** The next `text.length` bytes; rejects with the connection's error. */
  receive(length: number): Promise<string>;
  send(text: string): Promise<void>;
  info(): Promise<HandshakeInfo>;
}

const clients: Record<string, (server: Peer) => Promise<Client>> = {
  TlsConn: async (server) => {
    const conn = await connectTo(server.port);
    return {
      receive: (length) => readText(conn, length),
      send: (text) => sendToPeer(conn, server, text),
      info: () => conn.handshake(),
      [Symbol.asyncDispose]: async () => {
        conn.close();
        await conn.closed;
      },
    };
  },
  TlsSocket: async (server) => {
    const recorder = new Recorder(true);
    const socket = await connectSocket({ ...clientTo(server.port), socket: recorder.handlers });
    await recorder.until("the handshake", () => socket.info !== null || recorder.log.closed);
    let taken = 0;
    return {
      async receive(length) {
        await recorder.until(
          `${length} bytes`,
          () => recorder.log.received >= taken + length || recorder.log.errors.length > 0,
        );
        if (recorder.log.received < taken + length) throw recorder.log.errors[0];
        const text = recorder.text().slice(taken, taken + length);
        taken += length;
        return text;
      },
      async send(text) {
        await bounded(
          sendAll(socket, recorder, enc.encode(text)),
          10_000,
          `sending ${JSON.stringify(text)}; events: ${recorder.log.events}`,
        ); // drain ends a renegotiation
        await server.waitUntil(`${JSON.stringify(text)} on stdout`, () => server.stdout.includes(text));
      },
      info: () => Promise.resolve(socket.info!),
      [Symbol.asyncDispose]: async () => {
        socket.terminate();
        await socket.closed;
      },
    };
  },
};

for (const [api, connect] of Object.entries(clients)) {
  test(`${api}: follows 3 server renegotiations with fresh info, refuses the 4th (no_renegotiation)`, async () => {
    await using server = await sServerForRenegotiation();
    await using client = await connect(server);
    assert.equal((await client.info()).renegotiations, 0);
    for (let i = 1; i <= 3; i++) {
      await sendHelloRequest(server, i);
      await server.write(`data ${i}\n`);
      assert.equal(await client.receive(7), `data ${i}\n`); // this read answers the HelloRequest
      await client.send(`ack ${i}\n`); // and this write waits for the renegotiation's end
      assert.equal(ourFinishedMessages(server), 1 + i);
      const info = await client.info();
      assert.equal(info.renegotiations, i);
      assert.equal(info.protocol, "TLSv1.2");
    }
    await sendHelloRequest(server, 4);
    await server.write("data 4\n");
    assert.equal(await client.receive(7), "data 4\n"); // sent before the server heard our refusal
    const refused = await client.receive(1).then(
      () => assert.fail("the 4th renegotiation was followed"),
      (e: TlsError) => e,
    );
    await server.waitFor(/<<< TLS 1\.2, Alert \[length 0002\], warning no_renegotiation/, "stdout");
    assert.equal(refused.code, "HANDSHAKE_FAILED", refused.message); // s_server gives up on a refusal
    assert.equal(ourFinishedMessages(server), 4);
  });
}
