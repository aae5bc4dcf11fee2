/**
 * A fatal error on an established connection sends its alert (RFC 8446 §6,
 * RFC 5246 §7.2) before the TCP close, with what preceded it (TLS 1.3
 * tickets): our server, through `TlsConn` (the ordinary `catch { close() }`)
 * and `TlsSocket`, driven by a real client whose records we change on the
 * wire. The client decrypts the server's answer, so the alert's description
 * is read from the wire, not guessed.
 */
import assert from "node:assert/strict";
import type { TlsVersion } from "../mod.ts";
import { serverApis } from "./support/both_apis.ts";
import { engineClient } from "./support/engine_client.ts";
import { test } from "./harness.ts";

const enc = new TextEncoder();

/** Flips the last byte of the first record: its authentication tag. */
function flipTag(records: Uint8Array): Uint8Array {
  const length = (records[3] << 8) | records[4];
  records[5 + length - 1] ^= 0x55;
  return records;
}

/** Claims a record length no TLS version allows (the body never comes). */
function overlongLength(records: Uint8Array): Uint8Array {
  records[3] = 0xff;
  records[4] = 0xff;
  return records;
}

/** A ChangeCipherSpec record, in the clear, after the handshake (RFC 8446 §5: only during it). */
const lateChangeCipherSpec = () => Uint8Array.of(20, 3, 3, 0, 1, 1);

/** Gives the sealed record a content type TLS does not define. */
function unknownContentType(records: Uint8Array): Uint8Array {
  records[0] = 99;
  return records;
}

const cases = [
  {
    name: "a record that fails authentication gets bad_record_mac",
    tamper: flipTag,
    alert: /alert bad record mac/,
  },
  {
    name: "a record length past the limit gets record_overflow",
    tamper: overlongLength,
    alert: /alert record overflow/,
  },
  {
    name: "a ChangeCipherSpec after the handshake gets unexpected_message",
    tamper: lateChangeCipherSpec,
    alert: /alert unexpected message/,
    only: "TLSv1.3", // libssl answers TLS 1.2's with internal_error
  },
  {
    name: "a record of an unknown content type gets unexpected_message",
    tamper: unknownContentType,
    alert: /alert unexpected message/,
    only: "TLSv1.3", // TLS 1.2 decrypts it first: bad_record_mac
  },
];

for (const [api, serve] of Object.entries(serverApis)) {
  for (const version of ["TLSv1.3", "TLSv1.2"] as TlsVersion[]) {
    for (const { name, tamper, alert, only } of cases) {
      if (only && only !== version) continue;
      test(`${api}, ${version}: ${name}, sent before the close`, async () => {
        using server = serve();
        await using client = await engineClient(server.port, { maxVersion: version });
        // A good record first: the server is established and answering.
        await client.pipe.send(client.seal(enc.encode("ping")));
        await client.pipe.send(tamper(client.seal(enc.encode("x".repeat(100)))));
        const error = await client.failure();
        assert.match(error.reason ?? error.message, alert);
        if (version === "TLSv1.3") assert.ok(client.engine.pendingSessions > 0, "the tickets arrived too");
      });
    }
  }
}
