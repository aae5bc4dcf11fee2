/**
 * DTLS against GnuTLS (`gnutls-serv --udp --echo` and `gnutls-cli --udp`):
 * another implementation entirely, over real UDP on loopback. Skipped, with
 * the reason shown, where `gnutls-bin` is not installed.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { connect, listen } from "../dtls.ts";
import { UdpSocket } from "../lib/transport/udp.ts";
import { certs } from "./support/certs.ts";
import { Peer } from "./support/openssl.ts";
import { test } from "./harness.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

function hasGnutls(): boolean {
  try {
    execFileSync("gnutls-cli", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const skip = hasGnutls() ? false : "gnutls-bin is not installed (apt-get install gnutls-bin)";

/** A UDP port free right now on every address (bound and released). */
async function freeUdpPort(): Promise<number> {
  const socket = await UdpSocket.bind("0.0.0.0", 0, () => {});
  const port = socket.addr.port;
  socket.close();
  await new Promise((r) => setTimeout(r, 20)); // the close is asynchronous
  return port;
}

/** Starts `gnutls-serv --udp --echo` on a free port; another try when a port is taken in between. */
async function gnutlsServer(certFile: string, keyFile: string): Promise<Peer> {
  for (let attempt = 0;; attempt++) {
    const port = await freeUdpPort();
    const args = [
      "--udp",
      "--echo",
      "-p",
      String(port),
      "--x509certfile",
      certFile,
      "--x509keyfile",
      keyFile,
    ];
    const server = new Peer("gnutls-serv", args);
    server.port = port;
    const m = await server.waitFor(/listening on IPv4 .* port \d+\.\.\.(done|bind\(\) failed)/);
    if (m[1] === "done") return server;
    await server.stop();
    if (attempt === 3) throw new Error(`gnutls-serv could not bind a port\n${server.transcript()}`);
  }
}

test("dtls × gnutls-serv --udp: handshake and echo", async () => {
  const c = certs();
  await using server = await gnutlsServer(c.ecdsa.certFile, c.ecdsa.keyFile);
  const port = server.port;
  await using conn = await connect({ port, caCerts: [c.ca.cert], servername: "localhost" });
  assert.equal((await conn.handshake()).protocol, "DTLSv1.2");
  for (const text of ["one", "two", "three"]) {
    await conn.send(enc(text));
    assert.equal(dec(await conn.receive()), text);
  }
}, { skip });

test(
  "dtls × gnutls-cli --udp: our listener with its cookie exchange, messages both ways, close_notify",
  async () => {
    const c = certs();
    await using listener = listen({ hostname: "127.0.0.1", port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key });
    await listener.ready;
    const accepted = listener.accept();
    await using client = new Peer("gnutls-cli", [
      "--udp",
      "-p",
      String(listener.addr.port),
      "--x509cafile",
      c.ca.certFile,
      "127.0.0.1",
    ]);
    const conn = (await accepted)!;
    assert.equal((await conn.handshake()).protocol, "DTLSv1.2");
    await client.waitFor(/Handshake was completed/);
    await client.write("hello from gnutls\n");
    assert.equal(dec(await conn.receive()), "hello from gnutls\n");
    await conn.send(enc("hello from jsec\n"));
    await client.waitFor(/hello from jsec/, "stdout");
    assert.equal(listener.stats.cookiesSent, 1);
    client.endInput(); // gnutls-cli sends close_notify at the end of its input
    assert.equal(await conn.receive(), null);
  },
  { skip },
);
