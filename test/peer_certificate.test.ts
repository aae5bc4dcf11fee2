/**
 * A peer's malformed certificate is the peer's fault, not a local PEM
 * problem: our client reports a certificate code (never `INVALID_PEM`) and
 * tells the server with an alert (decode_error / bad_certificate). The
 * server is real (ours, TLS 1.2, where the Certificate is in the clear); a
 * proxy changes the leaf's outer DER length on the wire. Through both client APIs.
 */
import assert from "node:assert/strict";
import { connect, connectSocket, type TlsError } from "../mod.ts";
import { clientTo } from "./support/callback.ts";
import { corruptFirstCertificateLength, rewritingProxy } from "./support/rewriting_proxy.ts";
import { startServer } from "./support/server.ts";
import { bounded } from "./support/conn.ts";
import { test } from "./harness.ts";

const clients: Record<string, (port: number) => Promise<TlsError>> = {
  TlsConn: async (port) => {
    try {
      (await connect(clientTo(port))).close();
    } catch (e) {
      return e as TlsError;
    }
    throw new Error("the handshake succeeded with a corrupt certificate");
  },
  TlsSocket: (port) =>
    bounded(
      new Promise<TlsError>((resolve, reject) => {
        connectSocket({
          ...clientTo(port),
          socket: {
            handshake: (_socket, ok, error) =>
              ok ? reject(new Error("the handshake succeeded")) : resolve(error as TlsError),
            error() {},
          },
        }).catch((e) => resolve(e as TlsError));
      }),
      10_000,
      "the callback client's handshake",
    ),
};

for (const [api, run] of Object.entries(clients)) {
  test(`${api}: a server certificate with a corrupt DER length is a certificate error, and the server hears decode_error`, async () => {
    using server = startServer({ maxVersion: "TLSv1.2" });
    let corrupted = false;
    await using proxy = await rewritingProxy(server.port, (chunk) => {
      if (!corrupted) corrupted = corruptFirstCertificateLength(chunk);
      return chunk;
    });
    const heard = server.nextError();
    const error = await run(proxy.port);
    assert.ok(corrupted, "the proxy found no Certificate message");
    assert.equal(error.code, "CERT_INVALID", `${error.code}: ${error.message}`);
    assert.match((await heard).message, /alert (decode error|bad certificate)/);
  });
}
