/**
 * The client's OCSP rules, through `TlsConn` and the callback sockets, over
 * TLS 1.2 and 1.3, against our server stapling responses made by our CA code:
 * a stapled revocation always fails the handshake (`CERT_REVOKED`), a stale
 * response is never "current", and a resumed session keeps the verdict of
 * the full handshake it came from.
 */
import assert from "node:assert/strict";
import { connect, type ConnectOptions, connectSocket, type HandshakeInfo, type TlsVersion } from "../mod.ts";
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
