/**
 * `groups` written for a newer OpenSSL works on an older one: names this
 * libssl does not know are skipped (as OpenSSL ≥ 3.5 does for `?name`), and
 * only a list with no usable group fails, naming the unknown ones.
 */
import assert from "node:assert/strict";
import { connect, opensslVersion, TlsError } from "../mod.ts";
import { TlsContext } from "../engine.ts";
import { certs } from "./support/certs.ts";
import { startServer } from "./support/server.ts";
import { test } from "./harness.ts";

/** Whether this libssl knows `group` on its own. */
function knows(group: string): boolean {
  try {
    new TlsContext({ groups: group }).free();
    return true;
  } catch {
    return false;
  }
}

test('the README\'s `groups: "X25519MLKEM768:X25519"` connects on any OpenSSL; unknown names are skipped', async () => {
  const c = certs();
  using server = startServer({ groups: "X25519MLKEM768:X25519" });
  for (
    const groups of ["X25519MLKEM768:X25519", "NoSuchGroup:X25519", ["NoSuchGroup", "?AlsoUnknown", "X25519"]]
  ) {
    const conn = await connect({ hostname: "localhost", port: server.port, caCerts: [c.ca.cert], groups });
    try {
      const { group } = await conn.handshake();
      const expected = knows("X25519MLKEM768") && String(groups).startsWith("X25519MLKEM768")
        ? "X25519MLKEM768"
        : "X25519";
      assert.equal(group, expected, `${groups} on ${opensslVersion()}`);
    } finally {
      conn.close();
    }
  }
});

test("a groups list with no usable group is INVALID_OPTION naming each unknown group", () => {
  let error: unknown;
  try {
    new TlsContext({ groups: "NoSuchGroup:Other-Unknown" });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof TlsError, String(error));
  assert.equal(error.code, "INVALID_OPTION");
  assert.match(error.message, /NoSuchGroup:Other-Unknown/);
});
