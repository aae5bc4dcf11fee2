/**
 * The listener's cookie secret rotates (every 60 s, or at once by
 * `rotateCookieSecret()`), with a real DTLS client behind a UDP relay that
 * watches the exchange and rotates the secret, or changes the cookie, while
 * the client holds it:
 * - a cookie made under the secret just before the current one still passes,
 *   at once;
 * - one two secrets old is refused: each ClientHello that returns it gets a
 *   new HelloVerifyRequest and no session. (An OpenSSL client does not take a
 *   second HelloVerifyRequest, whose message_seq is again 0 as RFC 6347 §4.2.2
 *   has it: it keeps returning the stale cookie until its handshake times out.
 *   With the 60 s period a cookie lives at least 60 s, far past a round trip.)
 * - one altered on the way is refused the same way; the client's next copy,
 *   unaltered, passes.
 */
import assert from "node:assert/strict";
import { connect, type DtlsListener, listen, rotateCookieSecret, type TlsError } from "../dtls.ts";
import { certs } from "./support/certs.ts";
import { CookieRelay, HELLO_VERIFY_REQUEST, SERVER_HELLO } from "./support/cookie_relay.ts";
import { test } from "./harness.ts";

/** A listener with the test certificate and a relay in front of it; `await using` ends both. */
async function relayedListener() {
  const c = certs();
  const listener = listen({ hostname: "127.0.0.1", port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key });
  await listener.ready;
  const relay = await CookieRelay.start(listener.addr);
  const client = (port: number, handshakeTimeout: number) =>
    connect({ hostname: "127.0.0.1", port, caCerts: [c.ca.cert], servername: "localhost", handshakeTimeout });
  return {
    listener,
    relay,
    /** Our client through the relay (or straight to the listener). */
    connect: (through = true, handshakeTimeout = 10_000) =>
      client(through ? relay.addr.port : listener.addr.port, handshakeTimeout),
    [Symbol.asyncDispose]() {
      relay.close();
      listener.close();
      return Promise.resolve();
    },
  };
}

/** The ClientHellos' cookie lengths and the listener's answers, from the start of the exchange. */
function assertExchange(relay: CookieRelay, listener: DtlsListener, helloVerifies: number): void {
  const answers = [...Array(helloVerifies).fill(HELLO_VERIFY_REQUEST), SERVER_HELLO];
  assert.deepEqual(relay.fromServer.slice(0, answers.length), answers, "the listener's answers, in order");
  assert.deepEqual(relay.cookieLengths.slice(0, helloVerifies + 1), [0, ...Array(helloVerifies).fill(32)]);
  assert.equal(listener.stats.cookiesSent, helloVerifies);
  assert.equal(listener.stats.handshakes, 1);
}

test("dtls cookies: a cookie made under the previous secret passes", async () => {
  await using setup = await relayedListener();
  setup.relay.beforeHelloVerify = rotateCookieSecret;
  await using conn = await setup.connect();
  assert.equal((await conn.handshake()).protocol, "DTLSv1.2");
  assertExchange(setup.relay, setup.listener, 1);
});

test("dtls cookies: a cookie altered on the way is refused; the client's unaltered copy passes", async () => {
  await using setup = await relayedListener();
  setup.relay.alterNextCookie = true;
  await using conn = await setup.connect();
  assert.equal((await conn.handshake()).protocol, "DTLSv1.2");
  assertExchange(setup.relay, setup.listener, 2);
});

test("dtls cookies: a cookie two secrets old is refused every time, and makes no session", async () => {
  await using setup = await relayedListener();
  const { relay, listener } = setup;
  relay.beforeHelloVerify = () => {
    rotateCookieSecret();
    rotateCookieSecret();
  };
  await assert.rejects(setup.connect(true, 2_500), (e: TlsError) => e.code === "HANDSHAKE_TIMEOUT");
  assert.ok(relay.cookieLengths.length >= 3, "the client returned the cookie, and again");
  assert.deepEqual(relay.cookieLengths.slice(1), relay.cookieLengths.slice(1).map(() => 32));
  assert.deepEqual(
    relay.fromServer,
    relay.cookieLengths.map(() => HELLO_VERIFY_REQUEST),
    "a new cookie each time",
  );
  assert.equal(listener.stats.cookiesSent, relay.cookieLengths.length);
  assert.equal(listener.stats.sessions, 0);
  assert.equal(listener.stats.handshakes, 0);
  // A client that starts now gets a cookie under the current secret, and its session.
  await using conn = await setup.connect(false);
  assert.equal((await conn.handshake()).protocol, "DTLSv1.2");
});
