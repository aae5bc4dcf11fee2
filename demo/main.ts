/**
 * The demo: makes a CA and a server certificate, starts our TLS server and
 * our client on loopback, exchanges data, and shows what was negotiated.
 *
 *   deno run -A demo/main.ts      bun demo/main.ts
 *
 * @module
 */
import { connect, listen, opensslVersion } from "../mod.ts";
import { createRootCa, issueCertificate, parseCertificate } from "../ca.ts";

const runtime = "Bun" in globalThis
  ? `Bun ${(globalThis as { Bun?: { version: string } }).Bun!.version}`
  : `Deno ${Deno.version.deno}`;
console.log(`@jsec/tls demo on ${runtime}, ${opensslVersion()}\n`);

// 1. Certificates: a throwaway CA and a leaf for localhost, made by our own CA code.
const ca = createRootCa({ subject: { CN: "jsec demo CA", O: "jsec" } });
const leaf = issueCertificate({ issuer: ca, names: ["localhost", "127.0.0.1", "::1"] });

// 2. A server that answers each line with its length, and a client that checks it.
const server = listen({
  hostname: "127.0.0.1",
  port: 0,
  cert: leaf.cert,
  key: leaf.key,
  alpnProtocols: ["demo/1"],
});
const port = (server.addr as { port: number }).port;
(async () => {
  for await (const conn of server) {
    const buf = new Uint8Array(65536);
    let received = 0;
    for (let n; (n = await conn.read(buf)) !== null;) received += n;
    await conn.write(new TextEncoder().encode(`server received ${received} bytes`));
    conn.close();
  }
})();

const started = performance.now();
const conn = await connect({ hostname: "localhost", port, caCerts: [ca.cert], alpnProtocols: ["demo/1"] });
const handshakeMs = performance.now() - started;
const info = await conn.handshake();

const payload = new Uint8Array(8 << 20).fill(0x2a);
const sendStart = performance.now();
for (let at = 0; at < payload.length; at += 16384) await conn.write(payload.subarray(at, at + 16384));
await conn.closeWrite();
const reply = await new Response(conn.readable).text();
const sendMs = performance.now() - sendStart;
conn.close();
server.close();

const peer = parseCertificate(info.peerCertificates[0].der);
const rows: [string, string][] = [
  ["protocol", info.protocol],
  ["cipher", info.cipher],
  ["key exchange", info.group ?? "(not reported by this libssl)"],
  ["ALPN", info.alpnProtocol ?? "(none)"],
  ["server subject", peer.subject.text],
  ["server SANs", peer.sans.map((s) => `${s.type}:${s.value}`).join(", ")],
  ["issuer", peer.issuer.text],
  ["verified", info.verified ? "yes (chain and host name)" : `no (X.509 error ${info.verifyResult})`],
  ["handshake", `${handshakeMs.toFixed(1)} ms (including TCP connect)`],
  [
    "sent",
    `${payload.length} bytes in ${sendMs.toFixed(1)} ms (${
      (payload.length / 1e6 / (sendMs / 1000)).toFixed(0)
    } MB/s)`,
  ],
  ["reply", reply],
];
for (const [name, value] of rows) console.log(`${name.padEnd(15)} ${value}`);
