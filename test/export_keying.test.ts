/**
 * Keying-material export (RFC 5705 / RFC 8446 §7.5) through `TlsConn` and
 * `TlsSocket`: our bytes equal what `openssl s_server`/`s_client -keymatexport`
 * print for the same connection, TLS 1.3 and 1.2, and bad arguments are typed
 * errors.
 */
import assert from "node:assert/strict";
import { connectSocket, TlsError, type TlsSocket } from "../mod.ts";
import { certs } from "./support/certs.ts";
import { clientTo } from "./support/callback.ts";
import { closeConn, connectTo } from "./support/conn.ts";
import { sClient, sServer } from "./support/openssl.ts";
import { acceptingServer } from "./support/server.ts";
import { test } from "./harness.ts";

const LABEL = "EXPORTER-jsec-test";
const exportArgs = ["-keymatexport", LABEL, "-keymatexportlen", "48"];
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("").toUpperCase();
const theirs = /Keying material: ([0-9A-F]+)/;

for (const [version, flag] of [["TLS 1.3", "-tls1_3"], ["TLS 1.2", "-tls1_2"]]) {
  test(`exportKeyingMaterial ${version}: our TlsConn client and openssl s_server agree`, async () => {
    await using server = await sServer({ ...certs().ecdsa, args: [flag, ...exportArgs] });
    const conn = await connectTo(server.port);
    try {
      const m = await server.waitFor(theirs);
      assert.equal(hex(conn.exportKeyingMaterial(48, LABEL)), m[1]);
      assert.notEqual(hex(conn.exportKeyingMaterial(48, "EXPORTER-other")), m[1]);
    } finally {
      await closeConn(conn);
    }
  });

  test(`exportKeyingMaterial ${version}: our TlsConn server and openssl s_client agree`, async () => {
    await using server = acceptingServer();
    await using peer = sClient(server.port, [flag, "-servername", "localhost", ...exportArgs]);
    const conn = await server.accept();
    try {
      const m = await peer.waitFor(theirs);
      assert.equal(hex(conn.exportKeyingMaterial(48, LABEL)), m[1]);
    } finally {
      await closeConn(conn);
    }
  });
}

test("exportKeyingMaterial through a callback TlsSocket equals openssl's; bad arguments and a closed socket are typed errors", async () => {
  await using server = await sServer({ ...certs().ecdsa, args: exportArgs });
  let opened!: (s: TlsSocket) => void;
  const ready = new Promise<TlsSocket>((r) => (opened = r));
  await connectSocket({ ...clientTo(server.port), socket: { handshake: (s) => opened(s), data() {} } });
  const socket = await ready;
  assert.equal(hex(socket.exportKeyingMaterial(48, LABEL)), (await server.waitFor(theirs))[1]);
  for (
    const bad of [() => socket.exportKeyingMaterial(0, LABEL), () => socket.exportKeyingMaterial(48, "")]
  ) {
    assert.throws(bad, (e) => e instanceof TlsError && e.code === "INVALID_OPTION");
  }
  socket.close();
  assert.throws(
    () => socket.exportKeyingMaterial(48, LABEL),
    (e) => e instanceof TlsError && e.code === "CLOSED",
  );
});
