/**
 * The sans-I/O engine (`@jsec/tls/engine`) over a transport of the caller's
 * own (a `node:net` socket) against `openssl s_server`: handshake, data both
 * ways, a KeyUpdate from our side that asks for the peer's, close_notify.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { TlsContext, TlsEngine } from "../engine.ts";
import { certs } from "./support/certs.ts";
import { drain, SocketPipe } from "./support/engine_client.ts";
import { sServer } from "./support/openssl.ts";
import { test } from "./harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads exactly `length` bytes of plaintext, feeding the engine as needed (bounded). */
async function readPlain(engine: TlsEngine, pipe: SocketPipe, length: number): Promise<string> {
  const buf = new Uint8Array(length);
  let got = 0;
  for (let i = 0; i < 1000 && got < length; i++) {
    const n = engine.read(buf.subarray(got));
    await drain(engine, pipe); // e.g. our answer to the peer's KeyUpdate
    if (n === null) break;
    if (n > 0) {
      got += n;
      continue;
    }
    const bytes = await pipe.next();
    if (bytes === null) engine.end();
    else engine.receive(bytes);
  }
  return dec.decode(buf.subarray(0, got));
}

test("engine over a node:net socket ↔ openssl s_server: handshake, data, our KeyUpdate (peer's requested), close_notify", async () => {
  const c = certs();
  const server = await sServer({
    certFile: c.ecdsa.certFile,
    keyFile: c.ecdsa.keyFile,
    args: ["-tls1_3", "-msg"],
  });
  const context = new TlsContext({ caCerts: [c.ca.cert], alpnProtocols: ["x-engine"] });
  let engine: TlsEngine | undefined;
  const socket = net.connect(server.port, "127.0.0.1");
  try {
    const pipe = new SocketPipe(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    engine = new TlsEngine(context, { servername: "localhost", verifyHost: "localhost" });
    assert.equal(engine.state, "init");
    for (let i = 0; i < 20 && !engine.handshake(); i++) {
      await drain(engine, pipe);
      const bytes = await pipe.next();
      if (bytes === null) engine.end();
      else engine.receive(bytes);
    }
    assert.equal(engine.state, "ready");
    await drain(engine, pipe);
    const info = engine.info();
    assert.equal(info.protocol, "TLSv1.3");
    assert.equal(info.verified, true);
    assert.equal(info.servername, "localhost");

    engine.write(enc.encode("hello from the engine\n"));
    await drain(engine, pipe);
    await server.waitFor(/hello from the engine\n/, "stdout");

    // Our KeyUpdate, asking for the server's; then data under our new keys.
    engine.keyUpdate(true);
    engine.write(enc.encode("after our update\n"));
    await drain(engine, pipe);
    await server.waitFor(/after our update\n/, "stdout");
    assert.match(server.stdout, /<<< TLS 1\.3, Handshake \[length 0005\], KeyUpdate\n\s+18 00 00 01 01/);
    // The server answers with its own KeyUpdate before its next data; we read through it.
    await server.write("reply under new keys\n");
    assert.equal(await readPlain(engine, pipe, 21), "reply under new keys\n");
    await server.waitFor(/>>> TLS 1\.3, Handshake \[length 0005\], KeyUpdate\n\s+18 00 00 01 00/, "stdout");

    // close_notify from us; s_server answers with its own and we see a clean end.
    assert.equal(engine.close(), false);
    await drain(engine, pipe);
    assert.equal(await readPlain(engine, pipe, 1), "");
    assert.equal(engine.state === "shutdown" || engine.state === "closed", true, engine.state);
  } finally {
    engine?.free();
    context.free();
    socket.destroy();
    await server.stop();
  }
});
