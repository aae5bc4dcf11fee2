import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { connect as tcpConnect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { test } from "../harness.ts";
import {
  CertificateAuthority,
  createOcspRequest,
  OcspStapler,
  parseOcspResponse,
  serveOcsp,
} from "../../ca.ts";
import { openssl, rejectsWith, scratch } from "./helpers.ts";

const ocspType = { "content-type": "application/ocsp-request" };

/** Bytes this process has read through system calls so far (Linux). */
function bytesRead(): number {
  return Number(/rchar: (\d+)/.exec(readFileSync("/proc/self/io", "utf8"))![1]);
}

/** Sends `head` and then `body` on a raw connection; the first response line within `ms`, or "". */
function rawRequest(port: number, head: string, body: Uint8Array, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = tcpConnect(port, "127.0.0.1");
    let got = "";
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(got.split("\r\n")[0]);
    };
    const timer = setTimeout(done, ms);
    sock.on("data", (d: Uint8Array) => {
      got += new TextDecoder().decode(d);
      if (got.includes("\r\n")) done();
    });
    sock.on("error", done);
    sock.write(head);
    sock.write(body);
  });
}

test("ca responder: malformed requests get an OCSP error or HTTP 4xx, and it keeps serving", async () => {
  using s = scratch();
  const ca = await CertificateAuthority.init(join(s.dir, "ca"));
  const good = await ca.issue({ names: ["good.example"] });
  const request = createOcspRequest(good.cert, ca.cert);
  const responder = await serveOcsp(ca);
  const post = (body: BodyInit, headers: Record<string, string> = ocspType) =>
    fetch(responder.url, { method: "POST", body, headers });
  const ocspStatus = async (res: Response) => {
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/ocsp-response");
    return parseOcspResponse(new Uint8Array(await res.arrayBuffer())).responseStatus;
  };
  try {
    const certDer = openssl(["x509", "-outform", "DER"], good.cert).stdout;
    for (const bad of [new TextEncoder().encode("junk"), certDer, new Uint8Array([0x30, 0x82, 0xff, 0xff])]) {
      assert.equal(await ocspStatus(await post(bad as BodyInit)), "malformedRequest");
    }
    assert.equal(await ocspStatus(await post(new Uint8Array() as BodyInit)), "malformedRequest");
    for (const get of ["!!!not-base64", "AAAA", "%E0%A4%A", ""]) {
      assert.equal(await ocspStatus(await fetch(responder.url + get)), "malformedRequest", get);
    }
    const wrongType = await post(request as BodyInit, { "content-type": "text/plain" });
    assert.equal(wrongType.status, 415);
    await wrongType.body?.cancel();
    const noType = await post(request as BodyInit, {});
    assert.equal(noType.status, 415);
    await noType.body?.cancel();
    const huge = await post(new Uint8Array(10 << 20) as BodyInit);
    assert.equal(huge.status, 413);
    await huge.body?.cancel();
    const put = await fetch(responder.url, { method: "PUT", body: "x" });
    assert.equal(put.status, 405);
    await put.body?.cancel();
    // Still serving: a real request gets a signed, good answer.
    const answer = parseOcspResponse(
      new Uint8Array(await (await post(request as BodyInit)).arrayBuffer()),
      ca.cert,
    );
    assert.equal(answer.verified, true);
    assert.equal(answer.responses[0].status, "good");
  } finally {
    await responder.close();
  }
}, { timeout: 60_000 });

test(
  "ca responder: the size limit holds while reading: a body that never ends gets 413 at once",
  async () => {
    using s = scratch();
    const ca = await CertificateAuthority.init(join(s.dir, "ca"));
    const responder = await serveOcsp(ca, { maxRequestBytes: 1024 });
    try {
      const chunk = new Uint8Array(64 * 1024);
      const head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n" + chunk.length.toString(16) + "\r\n";
      // The chunk is never finished and no last chunk follows: only a reader that stops early answers.
      assert.equal(await rawRequest(responder.port, head, chunk, 5_000), "HTTP/1.1 413 Payload Too Large");
      // An announced length over the limit is refused before any byte of the body.
      const announced = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\n" +
        "Content-Length: 104857600\r\n\r\n";
      assert.match(await rawRequest(responder.port, announced, new Uint8Array(), 5_000), /^HTTP\/1\.1 413/);
      const good = await ca.issue({ names: ["still.example"] });
      const res = await fetch(responder.url, {
        method: "POST",
        body: createOcspRequest(good.cert, ca.cert) as BodyInit,
        headers: ocspType,
      });
      assert.equal(
        parseOcspResponse(new Uint8Array(await res.arrayBuffer()), ca.cert).responses[0].status,
        "good",
      );
    } finally {
      await responder.close();
    }
  },
  { timeout: 30_000 },
);

test(
  "ca responder: index.json is read once per request, however many certificates it asks about",
  async () => {
    using s = scratch();
    const dir = join(s.dir, "ca");
    const ca = await CertificateAuthority.init(dir);
    await ca.issue({ names: ["real.example"] });
    // Grow the index to ~1 MB with 1000 more records, so that each extra read of it shows.
    const indexPath = join(dir, "index.json");
    const index = JSON.parse(readFileSync(indexPath, "utf8"));
    const model = index.certs[0];
    for (let i = 1; i <= 1000; i++) {
      index.certs.push({
        ...model,
        serial: `7E${i.toString(16).toUpperCase().padStart(6, "0")}`,
      });
    }
    writeFileSync(indexPath, JSON.stringify(index, null, 1));
    const indexSize = readFileSync(indexPath).length;
    const serials = index.certs.slice(1, 11).map((c: { serial: string }) => `0x${c.serial}`);
    const caPath = s.put("ca.pem", ca.cert), reqPath = join(s.dir, "ten.der");
    const made = openssl([
      "ocsp",
      "-issuer",
      caPath,
      ...serials.flatMap((x: string) => ["-serial", x]),
      "-no_nonce",
      "-reqout",
      reqPath,
    ]);
    assert.equal(made.status, 0, made.out);
    const request = new Uint8Array(readFileSync(reqPath));
    ca.respond(request); // warm up: the shim loaded, caches filled
    const before = bytesRead();
    const response = parseOcspResponse(ca.respond(request), ca.cert);
    const read = bytesRead() - before;
    assert.equal(response.responses.length, 10);
    assert.deepEqual(response.responses.map((r) => r.status), Array(10).fill("good"));
    assert.ok(read >= indexSize, `read ${read} bytes, less than the index (${indexSize})`);
    assert.ok(read < 2 * indexSize, `read ${read} bytes for a ${indexSize}-byte index: more than one read`);
  },
  { timeout: 30_000 },
);

/** A TCP server that answers every request with `answer(socket)`; closed by `using`. */
async function httpPeer(answer: (sock: Socket) => void): Promise<{ url: string } & AsyncDisposable> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on("error", () => {});
    sock.on("close", () => sockets.delete(sock));
    sock.once("data", () => answer(sock));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    [Symbol.asyncDispose]: async () => {
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

test("ca responder: the stapler's fetch is bounded in size and in time", async () => {
  using s = scratch();
  const ca = await CertificateAuthority.init(join(s.dir, "ca"));
  const leaf = await ca.issue({ names: ["staple.example"] });
  // A responder that streams an endless answer: refused after 1 MiB, not buffered to the end.
  await using endless = await httpPeer((sock) => {
    sock.write("HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nConnection: close\r\n\r\n");
    let sent = 0;
    const pump = () => {
      while (!sock.destroyed && sent < (64 << 20) && sock.write(new Uint8Array(65536))) sent += 65536;
      if (sent >= (64 << 20)) sock.end();
    };
    sock.on("drain", pump);
    pump();
  });
  const big = await rejectsWith(
    "CONNECTION_FAILED",
    () => OcspStapler.start({ cert: leaf.cert, issuer: ca.cert, url: endless.url }),
  );
  assert.match(big.message, /sent more than 1048576 bytes/);
  // A responder that never answers: given up after `timeout`.
  await using silent = await httpPeer(() => {});
  const started = Date.now();
  const slow = await rejectsWith(
    "CONNECTION_FAILED",
    () => OcspStapler.start({ cert: leaf.cert, issuer: ca.cert, url: silent.url, timeout: 300 }),
  );
  assert.match(slow.message, /did not answer within 300 ms/);
  assert.ok(Date.now() - started < 5_000);
}, { timeout: 30_000 });
