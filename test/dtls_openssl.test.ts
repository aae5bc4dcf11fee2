/**
 * DTLS against `openssl s_server -dtls1_2` and `openssl s_client -dtls1_2`
 * over real UDP on loopback: handshake, messages both ways, close_notify,
 * ALPN, the cookie exchange with a real client, and DTLS-SRTP keys compared
 * with what OpenSSL's own exporter prints.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { connect, listen } from "../dtls.ts";
import { certs } from "./support/certs.ts";
import { sClient, sServer } from "./support/openssl.ts";
import { test } from "./harness.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("").toUpperCase();
const SRTP_EXPORT = ["-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", "60"];

test("dtls × openssl s_server: handshake, messages both ways, SRTP keys agree, close_notify", async () => {
  const c = certs();
  await using server = await sServer({
    ...c.ecdsa,
    args: ["-dtls1_2", "-use_srtp", "SRTP_AES128_CM_SHA1_80", "-alpn", "coap", ...SRTP_EXPORT],
  });
  const conn = await connect({
    port: server.port,
    caCerts: [c.ca.cert],
    servername: "localhost",
    srtpProfiles: ["SRTP_AES128_CM_SHA1_80"],
    alpnProtocols: ["coap"],
  });
  const info = await conn.handshake();
  assert.equal(info.protocol, "DTLSv1.2");
  assert.equal(info.srtpProfile, "SRTP_AES128_CM_SHA1_80");
  assert.equal(info.alpnProtocol, "coap");
  const keys = await server.waitFor(/Keying material: ([0-9A-F]+)/);
  assert.equal(hex(conn.exportKeyingMaterial(60, "EXTRACTOR-dtls_srtp")), keys[1]);
  await conn.send(enc("from jsec\n"));
  await server.waitFor(/from jsec/, "stdout");
  await server.write("from openssl\n");
  assert.equal(dec(await conn.receive()), "from openssl\n");
  conn.close();
  await server.waitFor(/shutting down SSL|CONNECTION CLOSED|DONE/);
});

test("dtls × openssl s_client: our listener's cookie exchange, messages both ways, SRTP keys agree", async () => {
  const c = certs();
  await using listener = listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
    srtpProfiles: ["SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"],
  });
  await listener.ready;
  const accepted = listener.accept();
  await using client = sClient(listener.addr.port, [
    "-dtls1_2",
    "-CAfile",
    c.ca.certFile,
    "-servername",
    "localhost",
    "-verify_return_error",
    "-use_srtp",
    "SRTP_AES128_CM_SHA1_80",
    ...SRTP_EXPORT,
  ]);
  const conn = (await accepted)!;
  const info = await conn.handshake();
  assert.equal(info.srtpProfile, "SRTP_AES128_CM_SHA1_80");
  const keys = await client.waitFor(/Keying material: ([0-9A-F]+)/);
  assert.equal(hex(conn.exportKeyingMaterial(60, "EXTRACTOR-dtls_srtp")), keys[1]);
  await client.waitFor(/SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_80/);
  await client.write("hello from s_client\n");
  assert.equal(dec(await conn.receive()), "hello from s_client\n");
  await conn.send(enc("hello from jsec\n"));
  await client.waitFor(/hello from jsec/, "stdout");
  assert.equal(listener.stats.cookiesSent, 1, "s_client went through HelloVerifyRequest");
  client.endInput(); // s_client sends close_notify at the end of its input
  assert.equal(await conn.receive(), null);
});

test("dtls × openssl s_server over IPv6 (::1)", async () => {
  const c = certs();
  await using server = await sServer({ ...c.ecdsa, ipv6: true, args: ["-dtls1_2"] });
  await using conn = await connect({
    hostname: "::1",
    port: server.port,
    caCerts: [c.ca.cert],
    servername: "localhost",
  });
  assert.equal(conn.remoteAddr.hostname, "::1");
  assert.ok(conn.maxMessageSize > 1100 && conn.maxMessageSize < 1280 - 48, `${conn.maxMessageSize}`);
  await conn.send(enc("over v6\n"));
  await server.waitFor(/over v6/, "stdout");
});

test("dtls × openssl s_server: the close_notify has left when close() resolves, even if the process exits at once", async () => {
  const c = certs();
  await using server = await sServer({ ...c.ecdsa, args: ["-dtls1_2"] });
  const child = fileURLToPath(new URL("./support/dtls_close_exit.ts", import.meta.url));
  const args = [...("Bun" in globalThis ? [] : ["run", "-A"]), child, String(server.port), c.ca.certFile];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  await server.waitFor(/bye/, "stdout");
  await server.waitFor(/shutting down SSL|CONNECTION CLOSED|DONE/);
});
