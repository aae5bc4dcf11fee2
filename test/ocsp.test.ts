/**
 * The client's OCSP rules, through `TlsConn` and the callback sockets, over
 * TLS 1.2 and 1.3, against our server stapling responses made by our CA code:
 * a stapled revocation always fails the handshake (`CERT_REVOKED`), a stale
 * response is never "current", and a resumed session keeps the verdict of
 * the full handshake it came from.
 */
import assert from "node:assert/strict";
import {
  connect,
  type ConnectOptions,
  connectSocket,
  type HandshakeInfo,
  listen,
  listenSocket,
  TlsListener,
  type TlsVersion,
} from "../mod.ts";
import { TlsContext } from "../engine.ts";
import { createOcspRequest, createOcspResponse } from "../ca.ts";
import { Recorder } from "./support/callback.ts";
import { certs } from "./support/certs.ts";
import { rejectsWith } from "./support/errors.ts";
import { echo, startServer } from "./support/server.ts";
import { test } from "./harness.ts";

const VERSIONS: TlsVersion[] = ["TLSv1.3", "TLSv1.2"];
const HOUR = 3_600_000;

/** A response about the ECDSA test leaf (what our test server presents), signed by the test CA. */
function staple(status: "good" | "revoked", thisUpdate = new Date(), nextUpdate?: Date | null): Uint8Array {
  const c = certs();
  return createOcspResponse({
    request: createOcspRequest(c.ecdsa.cert, c.ca.cert, { nonce: false }),
    signer: { cert: c.ca.cert, key: c.ca.key },
    answers: [{ status }],
    thisUpdate,
    nextUpdate,
  });
}

/** Our server stapling `der` and greeting each client with "hello\n". */
function stapling(der: Uint8Array, version: TlsVersion) {
  return startServer({ ocspStaple: der, minVersion: version, maxVersion: version }, async (conn) => {
    await conn.write(new TextEncoder().encode("hello\n"));
    await echo(conn);
  });
}

const client = (port: number, more: Partial<ConnectOptions>) => ({
  hostname: "127.0.0.1",
  servername: "localhost",
  port,
  caCerts: [certs().ca.cert],
  ...more,
});

/** One `TlsConn` visit: the handshake's info once the greeting (and TLS 1.3 tickets before it) arrived. */
async function viaConn(port: number, more: Partial<ConnectOptions>): Promise<HandshakeInfo> {
  const conn = await connect(client(port, more));
  try {
    const info = await conn.handshake();
    const greeting = new Uint8Array(6);
    let got = 0;
    while (got < 6) got += (await conn.read(greeting.subarray(got))) ?? 6;
    return info;
  } finally {
    conn.close();
  }
}

/** One callback-socket visit; rejects with the socket's error. */
async function viaSocket(port: number, more: Partial<ConnectOptions>): Promise<HandshakeInfo> {
  const recorder = new Recorder();
  const socket = await connectSocket({ ...client(port, more), socket: recorder.handlers });
  await recorder.until("the greeting or a failure", () => recorder.log.received >= 6 || recorder.log.closed);
  if (recorder.log.errors.length > 0) throw recorder.log.errors[0];
  const info = socket.info!;
  socket.end();
  await recorder.closed();
  return info;
}

const apis = [["TlsConn", viaConn], ["TlsSocket", viaSocket]] as const;

for (const [api, visit] of apis) {
  test(`ocsp (${api}): a stapled revocation fails the handshake with CERT_REVOKED, also when only requested`, async () => {
    for (const version of VERSIONS) {
      using server = stapling(staple("revoked"), version);
      for (const asked of [{ requestOcsp: true }, { requireOcsp: true }]) {
        const e = await rejectsWith(visit(server.port, asked), "CERT_REVOKED");
        assert.equal(e.verifyResult, 23, `${version} ${JSON.stringify(asked)}`); // X509_V_ERR_CERT_REVOKED
      }
    }
  });

  test(`ocsp (${api}): a response without nextUpdate is current for a day, any response for ten`, async () => {
    const now = Date.now();
    const cases: [string, Uint8Array, boolean][] = [
      ["an hour old, no nextUpdate", staple("good", new Date(now - HOUR), null), true],
      ["two days old, no nextUpdate", staple("good", new Date(now - 48 * HOUR), null), false],
      ["five years old, no nextUpdate", staple("good", new Date(now - 5 * 365 * 24 * HOUR), null), false],
      [
        "eleven days old, nextUpdate ahead",
        staple("good", new Date(now - 11 * 24 * HOUR), new Date(now + HOUR)),
        false,
      ],
      [
        "two days old, nextUpdate ahead",
        staple("good", new Date(now - 48 * HOUR), new Date(now + HOUR)),
        true,
      ],
      ["nextUpdate passed", staple("good", new Date(now - 3 * HOUR), new Date(now - HOUR)), false],
    ];
    for (const [what, der, current] of cases) {
      using server = stapling(der, "TLSv1.3");
      if (current) assert.equal((await visit(server.port, { requireOcsp: true })).verified, true, what);
      else await rejectsWith(visit(server.port, { requireOcsp: true }), "CERT_INVALID");
      // Merely requested, a stale "good" is no failure: it is just not proof.
      assert.ok((await visit(server.port, { requestOcsp: true })).ocspResponse, what);
    }
  });

  test(`ocsp (${api}): with requireOcsp a session resumes, keeping its full handshake's verdict, TLS 1.2 and 1.3`, async () => {
    for (const version of VERSIONS) {
      using server = stapling(staple("good"), version);
      const first = await visit(server.port, { requireOcsp: true });
      assert.equal(first.resumed, false);
      assert.ok(first.ocspResponse);
      const second = await visit(server.port, { requireOcsp: true });
      assert.equal(second.resumed, true, version);
      assert.equal(second.verified, true, version);
    }
  });
}

/** A staple source the test publishes to by hand (what `OcspStapler` does on each refresh). */
function handSource(first: Uint8Array) {
  const listeners = new Set<(der: Uint8Array) => void>();
  return {
    response: first as Uint8Array | null,
    subscribe(listener: (der: Uint8Array) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    publish(der: Uint8Array) {
      this.response = der;
      for (const listener of listeners) listener(der);
    },
    get subscribers() {
      return listeners.size;
    },
  };
}

test("ocsp: a listening server follows its staple source, and stops following it once closed (listen, listenSocket)", async () => {
  const c = certs();
  for (const api of ["listen", "listenSocket"] as const) {
    const source = handSource(staple("good"));
    const options = {
      hostname: "127.0.0.1",
      port: 0,
      cert: c.ecdsa.cert,
      key: c.ecdsa.key,
      ocspStaple: source,
    };
    const server = api === "listen"
      ? listen(options)
      : listenSocket({ ...options, socket: { data: (s, d) => void s.write(d) } });
    const port = (server.addr as { port: number }).port;
    if (server instanceof TlsListener) {
      (async () => {
        for await (const conn of server) conn.handshake().then(() => conn.close(), () => {});
      })();
    }
    try {
      assert.equal(source.subscribers, 1, api);
      const ok = await connect(client(port, { requireOcsp: true }));
      assert.equal((await ok.handshake()).verified, true);
      ok.close();
      source.publish(staple("revoked")); // the next handshakes staple the new response
      await rejectsWith(connect(client(port, { requestOcsp: true, resumption: false })), "CERT_REVOKED");
    } finally {
      if (server instanceof TlsListener) server.close();
      else server.stop();
    }
    assert.equal(source.subscribers, 0, `${api}: still subscribed after close`);
  }
});

test("ocsp: the engine's context takes DER only; setOcspStaple replaces it", () => {
  const c = certs();
  const base = { isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key };
  assert.throws(() => new TlsContext({ ...base, ocspStaple: handSource(staple("good")) as never }), {
    code: "INVALID_OPTION",
  });
  const context = new TlsContext({ ...base, ocspStaple: staple("good") });
  context.setOcspStaple(staple("revoked"));
  context.setOcspStaple(null);
  assert.throws(() => context.setOcspStaple("x" as never), { code: "INVALID_OPTION" });
  context.free();
});
