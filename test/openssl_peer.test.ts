/**
 * Our client against `openssl s_server`, our server against `openssl s_client`:
 * versions, key types, ALPN, SNI, client certificates, KeyUpdate and
 * renegotiation from the peer, cipher and group choice, and transfers checked
 * by hash.
 *
 * Every peer, server and connection is declared with `await using`, so it is
 * closed when its block ends, whether the test passed or not.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { Buffer } from "node:buffer";
import { connect, type TlsConn, TlsError } from "../mod.ts";
import { type CertFiles, certs } from "./support/certs.ts";
import { closeConn, connectTo, subjectOf } from "./support/conn.ts";
import { rejectsWith } from "./support/errors.ts";
import { readText, receiveFromPeer, sendToPeer } from "./support/exchange.ts";
import { pattern, type Peer, readAll, readExactly, sClient, sha256, sServer } from "./support/openssl.ts";
import { ourFinishedMessages, sendHelloRequest, sServerForRenegotiation } from "./support/renegotiation.ts";
import { acceptingServer } from "./support/server.ts";
import { writeInPieces } from "./support/transfer.ts";
import { test } from "./harness.ts";

const enc = new TextEncoder();

const VERSIONS = [
  {
    flag: "-tls1_3",
    protocol: "TLSv1.3",
    ciphers: { rsa: "TLS_AES_256_GCM_SHA384", ecdsa: "TLS_AES_256_GCM_SHA384" },
  },
  {
    flag: "-tls1_2",
    protocol: "TLSv1.2",
    ciphers: { rsa: "ECDHE-RSA-AES256-GCM-SHA384", ecdsa: "ECDHE-ECDSA-AES256-GCM-SHA384" },
  },
] as const;

/** s_client flags: SNI `localhost`, and the test CA to verify our server with. */
function sniAndTestCa(): string[] {
  return ["-servername", "localhost", "-CAfile", certs().ca.certFile];
}

/** s_client flags: present `leaf` as the client certificate. */
function presenting(leaf: CertFiles): string[] {
  return ["-cert", leaf.certFile, "-key", leaf.keyFile];
}

/**
 * A KeyUpdate in an openssl peer's `-msg` trace: one it sent (`>>>`) or one it
 * got from us (`<<<`); with `requestUpdate` given, only one with that flag.
 */
function keyUpdateMessage(direction: ">>>" | "<<<", requestUpdate?: boolean): RegExp {
  const flag = requestUpdate === undefined ? "" : `\\n\\s+18 00 00 01 0${requestUpdate ? 1 : 0}`;
  return new RegExp(`${direction} TLS 1\\.3, Handshake \\[length 0005\\], KeyUpdate${flag}`);
}

/** How many times `needle` occurs in `text`. */
function occurrences(text: string, needle: RegExp | string): number {
  return text.split(needle).length - 1;
}

/**
 * The openssl peer (started with `-tls1_3 -msg`, its stdin lines taken as
 * commands) sends a KeyUpdate, asking for ours or not, while our read waits.
 * The read still returns the data behind it, and our `reply` goes out after a
 * KeyUpdate of ours (not asking for one) exactly when one was asked for.
 */
async function keyUpdateFromPeerDuringOurRead(
  peer: Peer,
  conn: TlsConn,
  requestUpdate: boolean,
  reply: string,
): Promise<void> {
  const reading = readText(conn, 15); // in flight while the KeyUpdate arrives
  await peer.write(requestUpdate ? "K\n" : "k\n");
  await peer.waitFor(keyUpdateMessage(">>>", requestUpdate), "stdout");
  await peer.write("after update 1\n");
  assert.equal(await reading, "after update 1\n");
  await sendToPeer(conn, peer, reply);
  const trace = peer.stdout;
  const ours = trace.search(keyUpdateMessage("<<<", false));
  if (requestUpdate) {
    assert.ok(ours > 0, `we sent no KeyUpdate\n${peer.transcript()}`);
    assert.ok(ours < trace.indexOf(reply), "our KeyUpdate came after our data");
  } else {
    assert.equal(ours, -1, "we sent a KeyUpdate nobody asked for");
  }
}

/** s_server with the RSA leaf, requiring a client certificate from the test CA. */
function sServerRequiringClientCert(versionFlag: string): Promise<Peer> {
  const c = certs();
  return sServer({
    ...c.rsa,
    args: [versionFlag, "-Verify", "1", "-CAfile", c.ca.certFile, "-verify_return_error"],
  });
}

// ---------------------------------------------------------------- our client ↔ s_server

for (const v of VERSIONS) {
  for (const kind of ["rsa", "ecdsa"] as const) {
    test(`openssl s_server: our client, ${v.protocol}, ${kind.toUpperCase()} certificate, data both ways`, async () => {
      await using server = await sServer({ ...certs()[kind], args: [v.flag] });
      await using conn = await connectTo(server.port);
      const info = await conn.handshake();
      assert.equal(info.protocol, v.protocol);
      assert.equal(info.cipher, v.ciphers[kind]);
      assert.equal(info.verified, true);
      assert.equal(subjectOf(info), "CN=localhost");
      const key = new X509Certificate(info.peerCertificates[0].pem).publicKey.asymmetricKeyType;
      assert.equal(key, kind === "rsa" ? "rsa" : "ec");
      // s_server's view of the same connection.
      await server.waitFor(new RegExp(`CIPHER is ${v.ciphers[kind]}`), "stdout");

      await sendToPeer(conn, server, "hello from jsec\n");
      await receiveFromPeer(server, conn, "hello from s_server\n");
    });
  }
}

test("openssl s_server: ALPN, the server's choice among ours", async () => {
  for (
    const [serverList, ours, expected] of [
      ["h2,http/1.1", ["http/1.1", "h2"], "h2"],
      ["h2,http/1.1", ["spdy/1", "http/1.1"], "http/1.1"],
    ] as const
  ) {
    await using server = await sServer({ ...certs().ecdsa, args: ["-alpn", serverList] });
    await using conn = await connectTo(server.port, { alpnProtocols: [...ours] });
    assert.equal((await conn.handshake()).alpnProtocol, expected, `server ${serverList}, client ${ours}`);
    await sendToPeer(conn, server, "alpn ok\n");
    await server.waitFor(new RegExp(`ALPN protocols advertised by the client: ${ours.join(", ")}`), "stdout");
  }
});

test("openssl s_server: no common ALPN protocol is ALPN_MISMATCH (no_application_protocol alert)", async () => {
  await using server = await sServer({ ...certs().ecdsa, args: ["-alpn", "h2"] });
  await rejectsWith(connectTo(server.port, { alpnProtocols: ["spdy/1"] }), "ALPN_MISMATCH");
});

test("openssl s_server: SNI picks the certificate for the name we send", async () => {
  const c = certs();
  for (const [name, subject] of [["other.test", "CN=other.test"], ["localhost", "CN=localhost"]] as const) {
    await using server = await sServer({
      ...c.ecdsa,
      args: ["-servername", "other.test", "-cert2", c.other.certFile, "-key2", c.other.keyFile],
    });
    await using conn = await connectTo(server.port, { servername: name });
    const info = await conn.handshake();
    assert.equal(subjectOf(info), subject);
    assert.equal(info.verified, true);
    await sendToPeer(conn, server, "sni ok\n");
    if (name === "other.test") await server.waitFor(/Switching server context/, "stdout");
    else assert.doesNotMatch(server.stdout, /Switching server context/);
  }
});

test("openssl s_server: the SNI certificate is still checked against the name (HOSTNAME_MISMATCH)", async () => {
  // s_server answers "wrong.test" with its default certificate, made for localhost.
  await using server = await sServer(certs().ecdsa);
  await rejectsWith(connectTo(server.port, { servername: "wrong.test" }), "HOSTNAME_MISMATCH");
});

for (const v of VERSIONS) {
  test(`openssl s_server: client certificate (mTLS), ${v.protocol}`, async () => {
    const c = certs();
    await using server = await sServerRequiringClientCert(v.flag);
    await using conn = await connectTo(server.port, { cert: c.client.cert, key: c.client.key });
    assert.equal((await conn.handshake()).protocol, v.protocol);
    await sendToPeer(conn, server, "mtls ok\n");
    // s_server saw and verified our certificate.
    await server.waitFor(/subject=CN ?= ?client/, "stdout");
    await server.waitFor(/issuer=CN ?= ?jsec test CA/, "stdout");
    await receiveFromPeer(server, conn, "welcome\n");
  });

  test(`openssl s_server: mTLS without our certificate fails with a TlsError, ${v.protocol}`, async () => {
    await using server = await sServerRequiringClientCert(v.flag);
    // TLS 1.3: our handshake completes before the server judges us; the alert comes at the first read.
    const letIn = (async () => {
      await using conn = await connectTo(server.port);
      await conn.write(enc.encode("let me in\n"));
      await readExactly((p) => conn.read(p), 1);
    })();
    // The alert is certificate_required (TLS 1.3) or handshake_failure (TLS 1.2, which has no better one).
    await rejectsWith(letIn, v.protocol === "TLSv1.3" ? "CERT_REQUIRED" : "HANDSHAKE_FAILED");
    assert.doesNotMatch(server.stdout, /let me in/);
  });
}

for (const request of [true, false]) {
  test(`openssl s_server: KeyUpdate (${request ? "update_requested" : "not requested"}) from the peer during our read`, async () => {
    await using server = await sServer({ ...certs().ecdsa, args: ["-tls1_3", "-msg"] });
    await using conn = await connectTo(server.port);
    await sendToPeer(conn, server, "before\n");
    await keyUpdateFromPeerDuringOurRead(server, conn, request, "reply after update\n");
    // A second round, both ways (one stdin line at a time: s_server takes "K\n" only as a whole read).
    await server.write("K\n");
    await server.waitUntil(
      "a second KeyUpdate",
      () => occurrences(server.stdout, keyUpdateMessage(">>>")) >= 2,
    );
    await receiveFromPeer(server, conn, "after update 2\n");
    await sendToPeer(conn, server, "still fine\n");
  });
}

test(
  "openssl s_server: 64 MiB each way, checked by SHA-256, ending with the peer's close_notify",
  async () => {
    const size = 64 * 1024 * 1024;
    const up = pattern(size, 7), down = pattern(size, 11);
    // -brief: s_server's stdout is exactly the data it received; its stdin is sent to us as is.
    await using server = await sServer({ ...certs().ecdsa, brief: true });
    await using conn = await connectTo(server.port);
    const sending = writeInPieces(conn, up);
    const feeding = server.write(down).then(() => server.endInput()); // stdin end: s_server sends close_notify
    const received = await readAll((p) => conn.read(p), size, 60_000);
    await Promise.all([sending, feeding]);
    assert.equal(received.length, size);
    assert.equal(sha256(received), sha256(down));
    const got = await server.waitForBytes(size, 60_000);
    assert.equal(got.length, size);
    assert.equal(sha256(got), sha256(up));
    await server.waitFor(/Protocol version: TLSv1\.3/, "stderr");
  },
  { timeout: 120_000 },
);

test("openssl s_server: a TLS 1.2 renegotiation from the peer; our write during it waits for its end", async () => {
  await using server = await sServerForRenegotiation();
  await using conn = await connectTo(server.port);
  // The HelloRequest and then data wait in our socket, unread.
  await sendHelloRequest(server);
  await server.write("during\n");
  await new Promise((r) => setTimeout(r, 100));
  // Our read answers the HelloRequest with a ClientHello and returns the data behind it...
  assert.equal(await readText(conn, 7), "during\n");
  // ...so this write comes while our renegotiation waits for the server's answer, and a
  // read waits for the same bytes at the same time.
  const next = readText(conn, 6);
  await sendToPeer(conn, server, "reply in the middle\n");
  assert.equal(ourFinishedMessages(server), 2, "the renegotiation did not complete");
  // And on it goes, both ways.
  await server.write("after\n");
  assert.equal(await next, "after\n");
  await sendToPeer(conn, server, "still here\n");
});

test("openssl s_server: data the peer sends during its renegotiation, before its handshake answer, waits for our next read", async () => {
  await using server = await sServerForRenegotiation();
  await using conn = await connectTo(server.port);
  await sendHelloRequest(server);
  await server.write("one\n");
  await new Promise((r) => setTimeout(r, 100));
  await server.write("two\n"); // sent before s_server sees our ClientHello: it lies ahead of the ServerHello
  await new Promise((r) => setTimeout(r, 100));
  // This read answers the HelloRequest and takes "one" only; "two" stays behind.
  assert.equal(await readText(conn, 4), "one\n");
  // The write must finish the renegotiation by reading: "two" is kept, not fatal ("unexpected record").
  await sendToPeer(conn, server, "written past two\n");
  assert.equal(ourFinishedMessages(server), 2);
  assert.equal(await readText(conn, 4), "two\n");
  await receiveFromPeer(server, conn, "three\n");
});

test("openssl s_server: our ciphers and groups are what gets negotiated", async () => {
  const cases = [
    {
      args: ["-tls1_3"],
      options: { ciphers: "TLS_CHACHA20_POLY1305_SHA256", groups: ["P-384"] },
      protocol: "TLSv1.3",
      cipher: "TLS_CHACHA20_POLY1305_SHA256",
      group: "P-384",
      offered: "secp384r1",
    },
    {
      // TLS 1.2: the groups also bound the server certificate's curve (P-256), so offer it too.
      args: ["-tls1_2"],
      options: {
        ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305",
        groups: "P-384:P-256",
        maxVersion: "TLSv1.2" as const,
      },
      protocol: "TLSv1.2",
      cipher: "ECDHE-ECDSA-CHACHA20-POLY1305",
      group: "P-384",
      offered: "secp384r1:secp256r1",
    },
  ];
  for (const k of cases) {
    await using server = await sServer({ ...certs().ecdsa, args: k.args });
    await using conn = await connectTo(server.port, k.options);
    const info = await conn.handshake();
    assert.equal(info.protocol, k.protocol);
    assert.equal(info.cipher, k.cipher);
    assert.equal(info.group, k.group);
    await sendToPeer(conn, server, "chosen\n");
    await server.waitFor(new RegExp(`Supported groups: ${k.offered}\\n`), "stdout");
    await server.waitFor(new RegExp(`CIPHER is ${k.cipher}\\n`), "stdout");
  }
});

test("openssl s_server: no common version is PROTOCOL_VERSION; no common cipher is the peer's HANDSHAKE_FAILED", async () => {
  const cases = [
    { args: ["-tls1_2"], options: { minVersion: "TLSv1.3" as const }, code: "PROTOCOL_VERSION" as const },
    { args: ["-tls1_3"], options: { maxVersion: "TLSv1.2" as const }, code: "PROTOCOL_VERSION" as const },
    {
      args: ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
      options: { maxVersion: "TLSv1.2" as const, ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305" },
      // s_server answers "no shared cipher" with a handshake_failure alert: that is all we learn.
      code: "HANDSHAKE_FAILED" as const,
    },
  ];
  for (const k of cases) {
    await using server = await sServer({ ...certs().ecdsa, args: k.args });
    await rejectsWith(connectTo(server.port, k.options), k.code);
  }
});

// ---------------------------------------------------------------- our server ↔ s_client

for (const v of VERSIONS) {
  for (const kind of ["rsa", "ecdsa"] as const) {
    test(`openssl s_client: our server, ${v.protocol}, ${kind.toUpperCase()} certificate, data both ways`, async () => {
      const c = certs();
      await using server = acceptingServer({ cert: c[kind].cert, key: c[kind].key });
      await using client = sClient(server.port, [
        v.flag,
        ...sniAndTestCa(),
        "-verify_return_error",
        "-brief",
      ]);
      await using conn = await server.accept();
      const info = await conn.handshake();
      assert.equal(info.protocol, v.protocol);
      assert.equal(info.cipher, v.ciphers[kind]);
      assert.equal(info.servername, "localhost");
      assert.deepEqual(info.peerCertificates, []);
      await client.waitFor(new RegExp(`Protocol version: ${v.protocol.replace(".", "\\.")}`), "stderr");
      await client.waitFor(new RegExp(`Ciphersuite: ${v.ciphers[kind]}`), "stderr");
      await client.waitFor(/Peer certificate: CN ?= ?localhost/, "stderr");
      await client.waitFor(/Verification: OK/, "stderr");

      await receiveFromPeer(client, conn, "ping from s_client\n");
      await sendToPeer(conn, client, "pong from jsec\n");
    });
  }
}

test("openssl s_client: ALPN, our server picks by its own preference", async () => {
  await using server = acceptingServer({ alpnProtocols: ["h2", "http/1.1"] });
  for (const [offered, expected] of [["http/1.1,h2", "h2"], ["http/1.1", "http/1.1"]] as const) {
    await using client = sClient(server.port, ["-alpn", offered, ...sniAndTestCa()]);
    await using conn = await server.accept();
    assert.equal((await conn.handshake()).alpnProtocol, expected);
    await client.waitFor(new RegExp(`ALPN protocol: ${expected}\\n`), "stdout");
  }
});

test("openssl s_client: a client offering only protocols we lack fails with a no_application_protocol alert", async () => {
  await using server = acceptingServer({ alpnProtocols: ["h2"] });
  await using client = sClient(server.port, ["-alpn", "spdy/1", ...sniAndTestCa(), "-brief"]);
  assert.notEqual(await client.waitExit(), 0);
  assert.match(client.stderr, /no application protocol|alert number 120/i);
  const refused = await server.handshakeError();
  assert.equal(refused.code, "ALPN_MISMATCH", refused.message);
});

test("openssl s_client: SNI selects our per-name certificate", async () => {
  const c = certs();
  await using server = acceptingServer({ sni: { "other.test": { cert: c.other.cert, key: c.other.key } } });
  for (const [name, cn] of [["other.test", "other.test"], ["localhost", "localhost"]] as const) {
    await using client = sClient(server.port, [
      "-servername",
      name,
      "-CAfile",
      c.ca.certFile,
      "-verify_return_error",
      "-brief",
    ]);
    await using conn = await server.accept();
    assert.equal((await conn.handshake()).servername, name);
    await client.waitFor(new RegExp(`Peer certificate: CN ?= ?${cn.replace(".", "\\.")}`), "stderr");
    await client.waitFor(/Verification: OK/, "stderr");
  }
});

test("openssl s_client: client certificates required by our server (mTLS)", async () => {
  const c = certs();
  await using server = acceptingServer({ requestCert: true, caCerts: [c.ca.cert] });
  {
    // With a certificate from our CA: accepted, and we see who it is.
    await using good = sClient(server.port, [...sniAndTestCa(), "-brief", ...presenting(c.client)]);
    await using conn = await server.accept();
    const info = await conn.handshake();
    assert.equal(subjectOf(info), "CN=client");
    assert.equal(info.verified, true);
    await receiveFromPeer(good, conn, "authenticated\n");
  }
  {
    // Without one: refused, and the listener says why.
    await using bare = sClient(server.port, [...sniAndTestCa(), "-brief"]);
    await bare.waitExit();
    assert.equal((await server.handshakeError(0)).code, "CERT_REQUIRED");
  }
  {
    // With a certificate from a CA we do not trust: refused too.
    await using stranger = sClient(server.port, [...sniAndTestCa(), "-brief", ...presenting(c.stranger)]);
    await stranger.waitExit();
    assert.equal((await server.handshakeError(1)).code, "CERT_UNTRUSTED");
  }
});

for (const request of [true, false]) {
  test(`openssl s_client: KeyUpdate (${request ? "update_requested" : "not requested"}) from the peer during our server's read`, async () => {
    await using server = acceptingServer();
    // No -brief / -quiet: stdin lines "k" / "K" are commands.
    await using client = sClient(server.port, ["-tls1_3", ...sniAndTestCa(), "-msg"]);
    await using conn = await server.accept();
    await client.waitFor(/Verify return code: 0/, "stdout");
    await keyUpdateFromPeerDuringOurRead(client, conn, request, "server reply\n");
  });
}

test("openssl s_client: 64 MiB each way through our server, checked by SHA-256", async () => {
  const c = certs();
  const size = 64 * 1024 * 1024;
  const up = pattern(size, 3), down = pattern(size, 5);
  await using server = acceptingServer({ cert: c.rsa.cert, key: c.rsa.key });
  // -quiet: stdout is exactly what we send; stdin goes to us as is (its end is ignored).
  await using client = sClient(server.port, [...sniAndTestCa(), "-verify_return_error", "-quiet"]);
  await using conn = await server.accept();
  const feeding = client.write(up);
  const sending = writeInPieces(conn, down);
  const received = await readExactly((p) => conn.read(p), size, 60_000);
  await Promise.all([feeding, sending]);
  assert.equal(sha256(received), sha256(up));
  const got = await client.waitForBytes(size, 60_000);
  assert.equal(got.length, size);
  assert.equal(sha256(got), sha256(down));
  // Our close_notify ends s_client cleanly.
  await conn.closeWrite();
  assert.equal(await client.waitExit(), 0, client.transcript());
}, { timeout: 120_000 });

test(
  "openssl s_client: KeyUpdates between pieces of a 4 MiB upload; ours follow; the hash matches",
  async () => {
    await using server = acceptingServer();
    // Not -quiet: "K" alone on stdin is a command. The data is hex text so no piece starts with one.
    await using client = sClient(server.port, ["-tls1_3", ...sniAndTestCa(), "-msg"]);
    const conn = await server.accept();
    let reader: Promise<void> | undefined;
    try {
      await client.waitFor(/Verify return code: 0/, "stdout");
      const data = enc.encode(Buffer.from(pattern(2 * 1024 * 1024, 17)).toString("hex"));
      const pieces = 8, pieceSize = data.length / pieces;
      const received = new Uint8Array(data.length);
      let got = 0;
      reader = (async () => {
        while (got < data.length) {
          const n = await conn.read(received.subarray(got));
          if (n === null) throw new Error(`end of stream after ${got} bytes`);
          got += n;
        }
      })();
      reader.catch(() => {});
      for (let i = 0; i < pieces; i++) {
        await client.write(data.subarray(i * pieceSize, (i + 1) * pieceSize));
        // s_client must have read the whole piece before "K\n" goes in, or it would be data.
        for (let t = 0; got < (i + 1) * pieceSize; t++) {
          if (t > 1000) throw new Error(`stuck at ${got} bytes after piece ${i}`);
          await new Promise((r) => setTimeout(r, 10));
        }
        await sendToPeer(conn, client, `ack ${i}\n`); // after a KeyUpdate request: our KeyUpdate, then this
        if (i === pieces - 1) break;
        await client.write("K\n");
        await client.waitUntil(
          `KeyUpdate ${i + 1}`,
          () => occurrences(client.stdout, keyUpdateMessage(">>>")) > i,
        );
      }
      await reader;
      assert.equal(sha256(received), sha256(data));
      const ours = occurrences(client.stdout, keyUpdateMessage("<<<", false));
      assert.equal(ours, pieces - 1, "one KeyUpdate of ours per request");
    } finally {
      await closeConn(conn);
      await reader?.catch(() => {});
    }
  },
  { timeout: 60_000 },
);

test("openssl s_client: a TLS 1.2 renegotiation request to our server is refused; s_client gives up (HANDSHAKE_FAILED)", async () => {
  await using server = acceptingServer();
  await using client = sClient(server.port, ["-tls1_2", ...sniAndTestCa(), "-msg"]);
  await using conn = await server.accept();
  await client.waitFor(/Verify return code: 0/, "stdout");
  const reading = readExactly((p) => conn.read(p), 1).then(() => null, (e: unknown) => e);
  await client.write("R\n");
  await client.waitFor(/<<< TLS 1\.2, Alert \[length 0002\], warning no_renegotiation/, "stdout");
  const error = await reading;
  assert.ok(error instanceof TlsError, `not a TlsError: ${error}`);
  assert.equal(error.code, "HANDSHAKE_FAILED", error.message);
});

test("openssl s_client: our server with an encrypted key and a TLS 1.2 cipher list; s_client outside it is refused", async () => {
  const c = certs();
  await using server = acceptingServer({
    cert: c.ecdsa.cert,
    key: c.encryptedKey,
    passphrase: "secret",
    ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256",
    maxVersion: "TLSv1.2",
  });
  {
    await using good = sClient(server.port, [...sniAndTestCa(), "-verify_return_error", "-brief"]);
    await using conn = await server.accept();
    const info = await conn.handshake();
    assert.equal(info.protocol, "TLSv1.2");
    assert.equal(info.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
    await good.waitFor(/Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256/, "stderr");
    await good.waitFor(/Verification: OK/, "stderr");
  }
  {
    await using bad = sClient(server.port, [
      "-tls1_2",
      "-cipher",
      "ECDHE-ECDSA-CHACHA20-POLY1305",
      "-servername",
      "localhost",
      "-brief",
    ]);
    assert.notEqual(await bad.waitExit(), 0);
    const refused = await server.handshakeError();
    assert.equal(refused.code, "NO_SHARED_CIPHER", refused.message);
  }
});

// ---------------------------------------------------------------- both, over IPv6

test("openssl peers over IPv6 loopback: the certificate's IP address ::1 is verified both ways", async () => {
  const c = certs();
  {
    await using server = await sServer({ ...c.ecdsa, ipv6: true });
    await using conn = await connect({ hostname: "::1", port: server.port, caCerts: [c.ca.cert] });
    const info = await conn.handshake();
    assert.equal(info.verified, true);
    assert.equal(conn.remoteAddr.transport === "tcp" && conn.remoteAddr.hostname, "::1");
    await sendToPeer(conn, server, "over ipv6\n");
  }
  {
    // The RSA leaf names 127.0.0.1 but not ::1.
    await using rsa = await sServer({ ...c.rsa, ipv6: true });
    await rejectsWith(
      connect({ hostname: "::1", port: rsa.port, caCerts: [c.ca.cert] }),
      "HOSTNAME_MISMATCH",
    );
  }
  // Our server on ::1, s_client checking the IP.
  await using ours = acceptingServer({ hostname: "::1" });
  await using client = sClient(
    ours.port,
    ["-CAfile", c.ca.certFile, "-verify_ip", "::1", "-verify_return_error", "-brief"],
    "::1",
  );
  await using accepted = await ours.accept();
  await client.waitFor(/Verification: OK/, "stderr");
  await receiveFromPeer(client, accepted, "hello ::1\n");
});
