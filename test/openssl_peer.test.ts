/**
 * Our client against `openssl s_server`, our server against `openssl s_client`:
 * versions, key types, ALPN, SNI, client certificates, KeyUpdate from the
 * peer during a read, and transfers checked by hash.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { Buffer } from "node:buffer";
import { connect, type ConnectOptions, listen, type TlsConn, TlsError, type TlsListener } from "../mod.ts";
import { type CertFiles, certs } from "./support/certs.ts";
import { pattern, readAll, readExactly, sClient, sha256, sServer } from "./support/openssl.ts";
import { test } from "./harness.ts";
import { closeConn, subjectOf } from "./support/conn.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Our client to a peer on 127.0.0.1 that presents a certificate for `localhost` from the test CA. */
function connectTo(port: number, options: Partial<ConnectOptions> = {}): Promise<TlsConn> {
  return connect({
    hostname: "127.0.0.1",
    port,
    servername: "localhost",
    caCerts: [certs().ca.cert],
    ...options,
  });
}

/** Makes s_server (started with `-msg`) start a TLS 1.2 renegotiation, and waits until it sent the HelloRequest. */
async function sendHelloRequest(server: Awaited<ReturnType<typeof sServer>>): Promise<void> {
  await server.write("r\n");
  await server.waitFor(/>>> TLS 1\.2, Handshake \[length 0004\], HelloRequest/, "stdout");
}

async function readText(conn: TlsConn, length: number): Promise<string> {
  return dec.decode(await readExactly((p) => conn.read(p), length));
}

async function closeServer(server: TlsListener): Promise<void> {
  server.close();
  await new Promise((r) => setTimeout(r, 0));
}

/** Runs `s_client` and accepts its connection on `server`, bounded. */
async function acceptWithin(server: TlsListener, ms = 10_000): Promise<TlsConn> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      server.accept(),
      new Promise<never>((
        _,
        reject,
      ) => (timer = setTimeout(() => reject(new Error("no connection accepted")), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- our client ↔ s_server

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

for (const v of VERSIONS) {
  for (const kind of ["rsa", "ecdsa"] as const) {
    test(`openssl s_server: our client, ${v.protocol}, ${kind.toUpperCase()} certificate, data both ways`, async () => {
      const c = certs();
      const leaf: CertFiles = c[kind];
      const server = await sServer({ certFile: leaf.certFile, keyFile: leaf.keyFile, args: [v.flag] });
      let conn: TlsConn | undefined;
      try {
        conn = await connectTo(server.port);
        const info = await conn.handshake();
        assert.equal(info.protocol, v.protocol);
        assert.equal(info.cipher, v.ciphers[kind]);
        assert.equal(info.verified, true);
        assert.equal(subjectOf(info), "CN=localhost");
        const key = new X509Certificate(info.peerCertificates[0].pem).publicKey.asymmetricKeyType;
        assert.equal(key, kind === "rsa" ? "rsa" : "ec");
        // s_server's view of the same connection.
        await server.waitFor(new RegExp(`CIPHER is ${v.ciphers[kind]}`), "stdout");

        await conn.write(enc.encode("hello from jsec\n"));
        await server.waitFor(/hello from jsec\n/, "stdout");
        await server.write("hello from s_server\n");
        assert.equal(await readText(conn, 20), "hello from s_server\n");
      } finally {
        await closeConn(conn);
        await server.stop();
      }
    });
  }
}

test("openssl s_server: ALPN, the server's choice among ours", async () => {
  const c = certs();
  for (
    const [serverList, ours, expected] of [
      ["h2,http/1.1", ["http/1.1", "h2"], "h2"],
      ["h2,http/1.1", ["spdy/1", "http/1.1"], "http/1.1"],
    ] as const
  ) {
    const server = await sServer({
      certFile: c.ecdsa.certFile,
      keyFile: c.ecdsa.keyFile,
      args: ["-alpn", serverList],
    });
    let conn: TlsConn | undefined;
    try {
      conn = await connectTo(server.port, { alpnProtocols: [...ours] });
      assert.equal((await conn.handshake()).alpnProtocol, expected, `server ${serverList}, client ${ours}`);
      await conn.write(enc.encode("alpn ok\n"));
      await server.waitFor(/alpn ok\n/, "stdout");
      await server.waitFor(
        new RegExp(`ALPN protocols advertised by the client: ${ours.join(", ")}`),
        "stdout",
      );
    } finally {
      await closeConn(conn);
      await server.stop();
    }
  }
});

test("openssl s_server: no common ALPN protocol is ALPN_MISMATCH (no_application_protocol alert)", async () => {
  const c = certs();
  const server = await sServer({
    certFile: c.ecdsa.certFile,
    keyFile: c.ecdsa.keyFile,
    args: ["-alpn", "h2"],
  });
  try {
    await assert.rejects(
      connectTo(server.port, { alpnProtocols: ["spdy/1"] }),
      (e: unknown) => e instanceof TlsError && e.code === "ALPN_MISMATCH",
    );
  } finally {
    await server.stop();
  }
});

test("openssl s_server: SNI picks the certificate for the name we send", async () => {
  const c = certs();
  for (const [name, subject] of [["other.test", "CN=other.test"], ["localhost", "CN=localhost"]] as const) {
    const server = await sServer({
      certFile: c.ecdsa.certFile,
      keyFile: c.ecdsa.keyFile,
      args: ["-servername", "other.test", "-cert2", c.other.certFile, "-key2", c.other.keyFile],
    });
    let conn: TlsConn | undefined;
    try {
      conn = await connectTo(server.port, { servername: name });
      const info = await conn.handshake();
      assert.equal(subjectOf(info), subject);
      assert.equal(info.verified, true);
      await conn.write(enc.encode("sni ok\n"));
      await server.waitFor(/sni ok\n/, "stdout");
      if (name === "other.test") await server.waitFor(/Switching server context/, "stdout");
      else assert.doesNotMatch(server.stdout, /Switching server context/);
    } finally {
      await closeConn(conn);
      await server.stop();
    }
  }
});

test("openssl s_server: the SNI certificate is still checked against the name (HOSTNAME_MISMATCH)", async () => {
  const c = certs();
  // s_server answers "wrong.test" with its default certificate, made for localhost.
  const server = await sServer({ certFile: c.ecdsa.certFile, keyFile: c.ecdsa.keyFile });
  try {
    await assert.rejects(
      connect({ hostname: "127.0.0.1", port: server.port, servername: "wrong.test", caCerts: [c.ca.cert] }),
      (e: unknown) => e instanceof TlsError && e.code === "HOSTNAME_MISMATCH",
    );
  } finally {
    await server.stop();
  }
});

for (const v of VERSIONS) {
  test(`openssl s_server: client certificate (mTLS), ${v.protocol}`, async () => {
    const c = certs();
    const args = [v.flag, "-Verify", "1", "-CAfile", c.ca.certFile, "-verify_return_error"];
    const server = await sServer({ certFile: c.rsa.certFile, keyFile: c.rsa.keyFile, args });
    let conn: TlsConn | undefined;
    try {
      conn = await connectTo(server.port, { cert: c.client.cert, key: c.client.key });
      assert.equal((await conn.handshake()).protocol, v.protocol);
      await conn.write(enc.encode("mtls ok\n"));
      await server.waitFor(/mtls ok\n/, "stdout");
      // s_server saw and verified our certificate.
      await server.waitFor(/subject=CN ?= ?client/, "stdout");
      await server.waitFor(/issuer=CN ?= ?jsec test CA/, "stdout");
      await server.write("welcome\n");
      assert.equal(await readText(conn, 8), "welcome\n");
    } finally {
      await closeConn(conn);
      await server.stop();
    }
  });

  test(`openssl s_server: mTLS without our certificate fails with a TlsError, ${v.protocol}`, async () => {
    const c = certs();
    const args = [v.flag, "-Verify", "1", "-CAfile", c.ca.certFile, "-verify_return_error"];
    const server = await sServer({ certFile: c.rsa.certFile, keyFile: c.rsa.keyFile, args });
    let conn: TlsConn | undefined;
    try {
      // TLS 1.3: our handshake completes before the server judges us; the alert comes at the first read.
      const error = await (async () => {
        try {
          conn = await connectTo(server.port);
          await conn.write(enc.encode("let me in\n"));
          await readExactly((p) => conn!.read(p), 1);
        } catch (e) {
          return e;
        }
        assert.fail("the server let us in without a certificate");
      })();
      assert.ok(error instanceof TlsError, `not a TlsError: ${error}`);
      // The alert is certificate_required (TLS 1.3) or handshake_failure (TLS 1.2, which has no better one).
      assert.equal(
        error.code,
        v.protocol === "TLSv1.3" ? "CERT_REQUIRED" : "HANDSHAKE_FAILED",
        error.message,
      );
      assert.doesNotMatch(server.stdout, /let me in/);
    } finally {
      await closeConn(conn);
      await server.stop();
    }
  });
}

for (const request of [true, false]) {
  test(`openssl s_server: KeyUpdate (${request ? "update_requested" : "not requested"}) from the peer during our read`, async () => {
    const c = certs();
    const server = await sServer({
      certFile: c.ecdsa.certFile,
      keyFile: c.ecdsa.keyFile,
      args: ["-tls1_3", "-msg"],
    });
    let conn: TlsConn | undefined;
    try {
      conn = await connectTo(server.port);
      await conn.write(enc.encode("before\n"));
      await server.waitFor(/before\n/, "stdout");
      const reading = readText(conn, 15); // in flight while the KeyUpdate arrives
      await server.write(request ? "K\n" : "k\n");
      // s_server's -msg trace: the KeyUpdate it sent (request_update 1 or 0).
      await server.waitFor(
        new RegExp(
          `>>> TLS 1\\.3, Handshake \\[length 0005\\], KeyUpdate\\n\\s+18 00 00 01 0${request ? 1 : 0}`,
        ),
        "stdout",
      );
      await server.write("after update 1\n");
      assert.equal(await reading, "after update 1\n");
      // Our next record goes out under new keys; when asked, our own KeyUpdate (not requesting) precedes it.
      await conn.write(enc.encode("reply after update\n"));
      await server.waitFor(/reply after update\n/, "stdout");
      const out = server.stdout;
      const ours = out.search(/<<< TLS 1\.3, Handshake \[length 0005\], KeyUpdate\n\s+18 00 00 01 00/);
      if (request) {
        assert.ok(ours > 0, `we sent no KeyUpdate\n${server.transcript()}`);
        assert.ok(ours < out.indexOf("reply after update"), "our KeyUpdate came after our data");
      } else {
        assert.equal(ours, -1, "we sent a KeyUpdate nobody asked for");
      }
      // A second round, both ways (one stdin line at a time: s_server takes "K\n" only as a whole read).
      await server.write("K\n");
      await server.waitUntil(
        "a second KeyUpdate",
        () => server.stdout.split(">>> TLS 1.3, Handshake [length 0005], KeyUpdate").length > 2,
      );
      await server.write("after update 2\n");
      assert.equal(await readText(conn, 15), "after update 2\n");
      await conn.write(enc.encode("still fine\n"));
      await server.waitFor(/still fine\n/, "stdout");
    } finally {
      await closeConn(conn);
      await server.stop();
    }
  });
}

test(
  "openssl s_server: 64 MiB each way, checked by SHA-256, ending with the peer's close_notify",
  async () => {
    const c = certs();
    const size = 64 * 1024 * 1024;
    const up = pattern(size, 7), down = pattern(size, 11);
    // -brief: s_server's stdout is exactly the data it received; its stdin is sent to us as is.
    const server = await sServer({ certFile: c.ecdsa.certFile, keyFile: c.ecdsa.keyFile, brief: true });
    let conn: TlsConn | undefined;
    try {
      conn = await connectTo(server.port);
      const tls = conn;
      const sending = (async () => {
        for (let at = 0; at < size; at += 1 << 20) await tls.write(up.subarray(at, at + (1 << 20)));
      })();
      const feeding = server.write(down).then(() => server.endInput()); // stdin end: s_server sends close_notify
      const received = await readAll((p) => tls.read(p), size, 60_000);
      await Promise.all([sending, feeding]);
      assert.equal(received.length, size);
      assert.equal(sha256(received), sha256(down));
      const got = await server.waitForBytes(size, 60_000);
      assert.equal(got.length, size);
      assert.equal(sha256(got), sha256(up));
      await server.waitFor(/Protocol version: TLSv1\.3/, "stderr");
    } finally {
      await closeConn(conn);
      await server.stop();
    }
  },
  { timeout: 120_000 },
);

// ---------------------------------------------------------------- our server ↔ s_client

for (const v of VERSIONS) {
  for (const kind of ["rsa", "ecdsa"] as const) {
    test(`openssl s_client: our server, ${v.protocol}, ${kind.toUpperCase()} certificate, data both ways`, async () => {
      const c = certs();
      const server = listen({ hostname: "127.0.0.1", port: 0, cert: c[kind].cert, key: c[kind].key });
      const port = (server.addr as { port: number }).port;
      const client = sClient(port, [
        v.flag,
        "-servername",
        "localhost",
        "-CAfile",
        c.ca.certFile,
        "-verify_return_error",
        "-brief",
      ]);
      let conn: TlsConn | undefined;
      try {
        conn = await acceptWithin(server);
        const info = await conn.handshake();
        assert.equal(info.protocol, v.protocol);
        assert.equal(info.cipher, v.ciphers[kind]);
        assert.equal(info.servername, "localhost");
        assert.deepEqual(info.peerCertificates, []);
        await client.waitFor(new RegExp(`Protocol version: ${v.protocol.replace(".", "\\.")}`), "stderr");
        await client.waitFor(new RegExp(`Ciphersuite: ${v.ciphers[kind]}`), "stderr");
        await client.waitFor(/Peer certificate: CN ?= ?localhost/, "stderr");
        await client.waitFor(/Verification: OK/, "stderr");

        await client.write("ping from s_client\n");
        assert.equal(await readText(conn, 19), "ping from s_client\n");
        await conn.write(enc.encode("pong from jsec\n"));
        await client.waitFor(/pong from jsec\n/, "stdout");
      } finally {
        await closeConn(conn);
        await client.stop();
        await closeServer(server);
      }
    });
  }
}

test("openssl s_client: ALPN, our server picks by its own preference", async () => {
  const c = certs();
  const server = listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
    alpnProtocols: ["h2", "http/1.1"],
  });
  const port = (server.addr as { port: number }).port;
  try {
    for (const [offered, expected] of [["http/1.1,h2", "h2"], ["http/1.1", "http/1.1"]] as const) {
      const client = sClient(port, ["-alpn", offered, "-servername", "localhost", "-CAfile", c.ca.certFile]);
      let conn: TlsConn | undefined;
      try {
        conn = await acceptWithin(server);
        assert.equal((await conn.handshake()).alpnProtocol, expected);
        await client.waitFor(new RegExp(`ALPN protocol: ${expected}\\n`), "stdout");
      } finally {
        await closeConn(conn);
        await client.stop();
      }
    }
  } finally {
    await closeServer(server);
  }
});

test("openssl s_client: a client offering only protocols we lack fails with a no_application_protocol alert", async () => {
  const c = certs();
  const errors: TlsError[] = [];
  const server = listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
    alpnProtocols: ["h2"],
    onHandshakeError: (e) => errors.push(e),
  });
  const port = (server.addr as { port: number }).port;
  const client = sClient(port, [
    "-alpn",
    "spdy/1",
    "-servername",
    "localhost",
    "-CAfile",
    c.ca.certFile,
    "-brief",
  ]);
  try {
    const code = await client.waitExit();
    assert.notEqual(code, 0);
    assert.match(client.stderr, /no application protocol|alert number 120/i);
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(errors[0]?.code, "ALPN_MISMATCH", errors[0]?.message);
  } finally {
    await client.stop();
    await closeServer(server);
  }
});

test("openssl s_client: SNI selects our per-name certificate", async () => {
  const c = certs();
  const server = listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
    sni: { "other.test": { cert: c.other.cert, key: c.other.key } },
  });
  const port = (server.addr as { port: number }).port;
  try {
    for (const [name, cn] of [["other.test", "other.test"], ["localhost", "localhost"]] as const) {
      const client = sClient(port, [
        "-servername",
        name,
        "-CAfile",
        c.ca.certFile,
        "-verify_return_error",
        "-brief",
      ]);
      let conn: TlsConn | undefined;
      try {
        conn = await acceptWithin(server);
        assert.equal((await conn.handshake()).servername, name);
        await client.waitFor(new RegExp(`Peer certificate: CN ?= ?${cn.replace(".", "\\.")}`), "stderr");
        await client.waitFor(/Verification: OK/, "stderr");
      } finally {
        await closeConn(conn);
        await client.stop();
      }
    }
  } finally {
    await closeServer(server);
  }
});

test("openssl s_client: client certificates required by our server (mTLS)", async () => {
  const c = certs();
  const errors: TlsError[] = [];
  const server = listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: c.ecdsa.cert,
    key: c.ecdsa.key,
    requestCert: true,
    caCerts: [c.ca.cert],
    onHandshakeError: (e) => errors.push(e),
  });
  const port = (server.addr as { port: number }).port;
  try {
    // With a certificate from our CA: accepted, and we see who it is.
    const good = sClient(port, [
      "-servername",
      "localhost",
      "-CAfile",
      c.ca.certFile,
      "-brief",
      "-cert",
      c.client.certFile,
      "-key",
      c.client.keyFile,
    ]);
    let conn: TlsConn | undefined;
    try {
      conn = await acceptWithin(server);
      const info = await conn.handshake();
      assert.equal(subjectOf(info), "CN=client");
      assert.equal(info.verified, true);
      await good.write("authenticated\n");
      assert.equal(await readText(conn, 14), "authenticated\n");
    } finally {
      await closeConn(conn);
      await good.stop();
    }

    // Without one: refused, and the listener says why.
    const bare = sClient(port, ["-servername", "localhost", "-CAfile", c.ca.certFile, "-brief"]);
    try {
      await bare.waitExit();
      for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(errors[0]?.code, "CERT_REQUIRED");
    } finally {
      await bare.stop();
    }

    // With a certificate from a CA we do not trust: refused too.
    const stranger = sClient(port, [
      "-servername",
      "localhost",
      "-CAfile",
      c.ca.certFile,
      "-brief",
      "-cert",
      c.stranger.certFile,
      "-key",
      c.stranger.keyFile,
    ]);
    try {
      await stranger.waitExit();
      for (let i = 0; i < 100 && errors.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(errors[1]?.code, "CERT_UNTRUSTED");
    } finally {
      await stranger.stop();
    }
  } finally {
    await closeServer(server);
  }
});

for (const request of [true, false]) {
  test(`openssl s_client: KeyUpdate (${request ? "update_requested" : "not requested"}) from the peer during our server's read`, async () => {
    const c = certs();
    const server = listen({ hostname: "127.0.0.1", port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key });
    const port = (server.addr as { port: number }).port;
    // No -brief / -quiet: stdin lines "k" / "K" are commands.
    const client = sClient(port, ["-tls1_3", "-servername", "localhost", "-CAfile", c.ca.certFile, "-msg"]);
    let conn: TlsConn | undefined;
    try {
      conn = await acceptWithin(server);
      await client.waitFor(/Verify return code: 0/, "stdout");
      const reading = readText(conn, 15);
      await client.write(request ? "K\n" : "k\n");
      await client.waitFor(
        new RegExp(
          `>>> TLS 1\\.3, Handshake \\[length 0005\\], KeyUpdate\\n\\s+18 00 00 01 0${request ? 1 : 0}`,
        ),
        "stdout",
      );
      await client.write("after update 1\n");
      assert.equal(await reading, "after update 1\n");
      await conn.write(enc.encode("server reply\n"));
      await client.waitFor(/server reply\n/, "stdout");
      const out = client.stdout;
      const ours = out.search(/<<< TLS 1\.3, Handshake \[length 0005\], KeyUpdate\n\s+18 00 00 01 00/);
      if (request) {
        assert.ok(ours > 0, `we sent no KeyUpdate\n${client.transcript()}`);
        assert.ok(ours < out.lastIndexOf("server reply"), "our KeyUpdate came after our data");
      } else {
        assert.equal(ours, -1, "we sent a KeyUpdate nobody asked for");
      }
    } finally {
      await closeConn(conn);
      await client.stop();
      await closeServer(server);
    }
  });
}

test("openssl s_client: 64 MiB each way through our server, checked by SHA-256", async () => {
  const c = certs();
  const size = 64 * 1024 * 1024;
  const up = pattern(size, 3), down = pattern(size, 5);
  const server = listen({ hostname: "127.0.0.1", port: 0, cert: c.rsa.cert, key: c.rsa.key });
  const port = (server.addr as { port: number }).port;
  // -quiet: stdout is exactly what we send; stdin goes to us as is (its end is ignored).
  const client = sClient(port, [
    "-servername",
    "localhost",
    "-CAfile",
    c.ca.certFile,
    "-verify_return_error",
    "-quiet",
  ]);
  let conn: TlsConn | undefined;
  try {
    conn = await acceptWithin(server);
    const tls = conn;
    const feeding = client.write(up);
    const sending = (async () => {
      for (let at = 0; at < size; at += 1 << 20) await tls.write(down.subarray(at, at + (1 << 20)));
    })();
    const received = await readExactly((p) => tls.read(p), size, 60_000);
    await Promise.all([feeding, sending]);
    assert.equal(sha256(received), sha256(up));
    const got = await client.waitForBytes(size, 60_000);
    assert.equal(got.length, size);
    assert.equal(sha256(got), sha256(down));
    // Our close_notify ends s_client cleanly.
    await tls.closeWrite();
    assert.equal(await client.waitExit(), 0, client.transcript());
  } finally {
    await closeConn(conn);
    await client.stop();
    await closeServer(server);
  }
}, { timeout: 120_000 });

test(
  "openssl s_client: KeyUpdates between pieces of a 4 MiB upload; ours follow; the hash matches",
  async () => {
    const c = certs();
    const server = listen({ hostname: "127.0.0.1", port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key });
    const port = (server.addr as { port: number }).port;
    // Not -quiet: "K" alone on stdin is a command. The data is hex text so no piece starts with one.
    const client = sClient(port, ["-tls1_3", "-servername", "localhost", "-CAfile", c.ca.certFile, "-msg"]);
    let conn: TlsConn | undefined;
    let reader: Promise<void> | undefined;
    try {
      conn = await acceptWithin(server);
      await client.waitFor(/Verify return code: 0/, "stdout");
      const data = enc.encode(Buffer.from(pattern(2 * 1024 * 1024, 17)).toString("hex"));
      const pieces = 8, pieceSize = data.length / pieces;
      const received = new Uint8Array(data.length);
      let got = 0;
      const tls = conn;
      reader = (async () => {
        while (got < data.length) {
          const n = await tls.read(received.subarray(got));
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
        await tls.write(enc.encode(`ack ${i}\n`)); // after a KeyUpdate request: our KeyUpdate, then this
        await client.waitFor(new RegExp(`ack ${i}\\n`), "stdout");
        if (i === pieces - 1) break;
        await client.write("K\n");
        await client.waitUntil(
          `KeyUpdate ${i + 1}`,
          () => client.stdout.split(">>> TLS 1.3, Handshake [length 0005], KeyUpdate").length > i + 1,
        );
      }
      await reader;
      assert.equal(sha256(received), sha256(data));
      const ours =
        client.stdout.split(/<<< TLS 1\.3, Handshake \[length 0005\], KeyUpdate\n\s+18 00 00 01 00/).length -
        1;
      assert.equal(ours, pieces - 1, "one KeyUpdate of ours per request");
    } finally {
      await closeConn(conn);
      await reader?.catch(() => {});
      await client.stop();
      await closeServer(server);
    }
  },
  { timeout: 60_000 },
);

test("openssl s_server: a TLS 1.2 renegotiation from the peer; our write during it waits for its end", async () => {
  const c = certs();
  const server = await sServer({
    certFile: c.ecdsa.certFile,
    keyFile: c.ecdsa.keyFile,
    args: ["-tls1_2", "-msg"],
  });
  let conn: TlsConn | undefined;
  try {
    conn = await connectTo(server.port);
    const tls = conn;
    // The HelloRequest and then data wait in our socket, unread.
    await sendHelloRequest(server);
    await server.write("during\n");
    await new Promise((r) => setTimeout(r, 100));
    // Our read answers the HelloRequest with a ClientHello and returns the data behind it...
    assert.equal(await readText(tls, 7), "during\n");
    // ...so this write comes while our renegotiation waits for the server's answer, and a
    // read waits for the same bytes at the same time.
    const next = readText(tls, 6);
    await tls.write(enc.encode("reply in the middle\n"));
    await server.waitFor(/reply in the middle\n/, "stdout");
    const finished = server.stdout.split("<<< TLS 1.2, Handshake [length 0010], Finished").length - 1;
    assert.equal(finished, 2, "the renegotiation did not complete");
    // And on it goes, both ways.
    await server.write("after\n");
    assert.equal(await next, "after\n");
    await tls.write(enc.encode("still here\n"));
    await server.waitFor(/still here\n/, "stdout");
  } finally {
    await closeConn(conn);
    await server.stop();
  }
});

test("openssl s_client: a TLS 1.2 renegotiation request to our server is refused; s_client gives up (HANDSHAKE_FAILED)", async () => {
  const c = certs();
  const server = listen({ hostname: "127.0.0.1", port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key });
  const port = (server.addr as { port: number }).port;
  const client = sClient(port, ["-tls1_2", "-servername", "localhost", "-CAfile", c.ca.certFile, "-msg"]);
  let conn: TlsConn | undefined;
  try {
    conn = await acceptWithin(server);
    await client.waitFor(/Verify return code: 0/, "stdout");
    const tls = conn;
    const reading = readExactly((p) => tls.read(p), 1).then(() => null, (e: unknown) => e);
    await client.write("R\n");
    await client.waitFor(/<<< TLS 1\.2, Alert \[length 0002\], warning no_renegotiation/, "stdout");
    const error = await reading;
    assert.ok(error instanceof TlsError, `not a TlsError: ${error}`);
    assert.equal(error.code, "HANDSHAKE_FAILED", error.message);
  } finally {
    await closeConn(conn);
    await client.stop();
    await closeServer(server);
  }
});

test("openssl s_server: our ciphers and groups are what gets negotiated", async () => {
  const c = certs();
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
    const server = await sServer({ certFile: c.ecdsa.certFile, keyFile: c.ecdsa.keyFile, args: k.args });
    let conn: TlsConn | undefined;
    try {
      conn = await connectTo(server.port, k.options);
      const info = await conn.handshake();
      assert.equal(info.protocol, k.protocol);
      assert.equal(info.cipher, k.cipher);
      assert.equal(info.group, k.group);
      await conn.write(enc.encode("chosen\n"));
      await server.waitFor(/chosen\n/, "stdout");
      await server.waitFor(new RegExp(`Supported groups: ${k.offered}\\n`), "stdout");
      await server.waitFor(new RegExp(`CIPHER is ${k.cipher}\\n`), "stdout");
    } finally {
      await closeConn(conn);
      await server.stop();
    }
  }
});

test("openssl s_server: no common version is PROTOCOL_VERSION; no common cipher is the peer's HANDSHAKE_FAILED", async () => {
  const c = certs();
  const cases = [
    { args: ["-tls1_2"], options: { minVersion: "TLSv1.3" as const }, codes: ["PROTOCOL_VERSION"] },
    { args: ["-tls1_3"], options: { maxVersion: "TLSv1.2" as const }, codes: ["PROTOCOL_VERSION"] },
    {
      args: ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
      options: { maxVersion: "TLSv1.2" as const, ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305" },
      // s_server answers "no shared cipher" with a handshake_failure alert: that is all we learn.
      codes: ["HANDSHAKE_FAILED"],
    },
  ];
  for (const k of cases) {
    const server = await sServer({ certFile: c.ecdsa.certFile, keyFile: c.ecdsa.keyFile, args: k.args });
    try {
      await assert.rejects(
        connectTo(server.port, k.options),
        (e: unknown) => e instanceof TlsError && k.codes.includes(e.code),
      );
    } finally {
      await server.stop();
    }
  }
});

test("openssl s_client: our server with an encrypted key and a TLS 1.2 cipher list; s_client outside it is refused", async () => {
  const c = certs();
  const errors: TlsError[] = [];
  const server = listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: c.ecdsa.cert,
    key: c.encryptedKey,
    passphrase: "secret",
    ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256",
    maxVersion: "TLSv1.2",
    onHandshakeError: (e) => errors.push(e),
  });
  const port = (server.addr as { port: number }).port;
  try {
    const good = sClient(port, [
      "-servername",
      "localhost",
      "-CAfile",
      c.ca.certFile,
      "-verify_return_error",
      "-brief",
    ]);
    let conn: TlsConn | undefined;
    try {
      conn = await acceptWithin(server);
      const info = await conn.handshake();
      assert.equal(info.protocol, "TLSv1.2");
      assert.equal(info.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
      await good.waitFor(/Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256/, "stderr");
      await good.waitFor(/Verification: OK/, "stderr");
    } finally {
      await closeConn(conn);
      await good.stop();
    }
    const bad = sClient(port, [
      "-tls1_2",
      "-cipher",
      "ECDHE-ECDSA-CHACHA20-POLY1305",
      "-servername",
      "localhost",
      "-brief",
    ]);
    try {
      assert.notEqual(await bad.waitExit(), 0);
      for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(errors[0]?.code, "NO_SHARED_CIPHER", errors[0]?.message);
    } finally {
      await bad.stop();
    }
  } finally {
    await closeServer(server);
  }
});

test("openssl peers over IPv6 loopback: the certificate's IP address ::1 is verified both ways", async () => {
  const c = certs();
  const server = await sServer({ certFile: c.ecdsa.certFile, keyFile: c.ecdsa.keyFile, ipv6: true });
  let conn: TlsConn | undefined;
  try {
    conn = await connect({ hostname: "::1", port: server.port, caCerts: [c.ca.cert] });
    const info = await conn.handshake();
    assert.equal(info.verified, true);
    assert.equal(conn.remoteAddr.transport === "tcp" && conn.remoteAddr.hostname, "::1");
    await conn.write(enc.encode("over ipv6\n"));
    await server.waitFor(/over ipv6\n/, "stdout");
  } finally {
    await closeConn(conn);
    await server.stop();
  }
  // The RSA leaf names 127.0.0.1 but not ::1.
  const rsa = await sServer({ certFile: c.rsa.certFile, keyFile: c.rsa.keyFile, ipv6: true });
  try {
    await assert.rejects(
      connect({ hostname: "::1", port: rsa.port, caCerts: [c.ca.cert] }),
      (e: unknown) => e instanceof TlsError && e.code === "HOSTNAME_MISMATCH",
    );
  } finally {
    await rsa.stop();
  }
  // Our server on ::1, s_client checking the IP.
  const ours = listen({ hostname: "::1", port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key });
  const client = sClient(
    (ours.addr as { port: number }).port,
    ["-CAfile", c.ca.certFile, "-verify_ip", "::1", "-verify_return_error", "-brief"],
    "::1",
  );
  let accepted: TlsConn | undefined;
  try {
    accepted = await acceptWithin(ours);
    await client.waitFor(/Verification: OK/, "stderr");
    await client.write("hello ::1\n");
    assert.equal(await readText(accepted, 10), "hello ::1\n");
  } finally {
    await closeConn(accepted);
    await client.stop();
    await closeServer(ours);
  }
});

test("openssl s_server: data the peer sends during its renegotiation, before its handshake answer, waits for our next read", async () => {
  const c = certs();
  const server = await sServer({
    certFile: c.ecdsa.certFile,
    keyFile: c.ecdsa.keyFile,
    args: ["-tls1_2", "-msg"],
  });
  let conn: TlsConn | undefined;
  try {
    conn = await connectTo(server.port);
    const tls = conn;
    await sendHelloRequest(server);
    await server.write("one\n");
    await new Promise((r) => setTimeout(r, 100));
    await server.write("two\n"); // sent before s_server sees our ClientHello: it lies ahead of the ServerHello
    await new Promise((r) => setTimeout(r, 100));
    // This read answers the HelloRequest and takes "one" only; "two" stays behind.
    assert.equal(await readText(tls, 4), "one\n");
    // The write must finish the renegotiation by reading: "two" is kept, not fatal ("unexpected record").
    await tls.write(enc.encode("written past two\n"));
    await server.waitFor(/written past two\n/, "stdout");
    assert.equal(server.stdout.split("<<< TLS 1.2, Handshake [length 0010], Finished").length - 1, 2);
    assert.equal(await readText(tls, 4), "two\n");
    await server.write("three\n");
    assert.equal(await readText(tls, 6), "three\n");
  } finally {
    await closeConn(conn);
    await server.stop();
  }
});
