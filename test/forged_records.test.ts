/**
 * Hostile records from a peer, through a relay that knows the traffic secrets
 * (test/support/record_forger.ts) and seals what it forges with the sequence
 * number the receiver expects.
 *
 * After a TLS 1.3 handshake (RFC 8446 §4.6.3, §5.1, §5.2, §5.4): a malformed
 * KeyUpdate, an inner plaintext without a content type, application data inside
 * a split handshake message, an inner plaintext past 2^14 + 1 bytes, an unknown
 * inner content type.
 *
 * TLS 1.2 (RFC 5246 §6, §7.4; RFC 5746): a wrong AEAD tag, a record claiming
 * another version, a ciphertext past 2^14 + 2048 bytes, a plaintext past 2^14,
 * a ChangeCipherSpec or Finished after the handshake or in place of the peer's
 * next flight, an unknown content type; a record after close_notify (not read)
 * and a renegotiating ClientHello (refused with a warning, the connection goes on).
 *
 * Our end, client or server, through `TlsConn` and `TlsSocket`, must send the
 * right alert (read off the wire, decrypted), end with a typed `TlsError` with
 * a stable code, and free its native state.
 */
import assert from "node:assert/strict";
import { type ConnectOptions, connectSocket, listenSocket, type TlsConn, TlsError } from "../mod.ts";
import { shim } from "../ffi/mod.ts";
import { clearSharedContexts } from "../lib/tls/contexts.ts";
import { clientTo, Recorder, serverOn } from "./support/callback.ts";
import { closeConn, connectTo } from "./support/conn.ts";
import { liveSettles } from "./support/live.ts";
import {
  type Pass,
  peerOf,
  type Plaintext,
  type Protection,
  type RecordForger,
  recordForger,
  type Side,
} from "./support/record_forger.ts";
import { acceptingServer, startServer } from "./support/server.ts";
import { tls12 } from "./support/tls12_record.ts";
import { innerPlaintext, sealable, tls13 } from "./support/tls13_record.ts";
import { test } from "./harness.ts";

const HANDSHAKE = 22;
const APPLICATION_DATA = 23;
/** Alert descriptions (RFC 8446 §6). */
const alerts = { unexpected_message: 10, record_overflow: 22, illegal_parameter: 47, decode_error: 50 };

const keyUpdate = (...body: number[]) =>
  innerPlaintext(HANDSHAKE, Uint8Array.of(24, 0, 0, body.length, ...body));
const text = (s: string) => new TextEncoder().encode(s);

const cases: { name: string; inners: Uint8Array[]; alert: number }[] = [
  {
    name: "a KeyUpdate without its request_update byte",
    inners: [keyUpdate()],
    alert: alerts.decode_error,
  },
  {
    name: "a KeyUpdate two bytes long", // past the message's maximum size: libssl's answer is illegal_parameter
    inners: [keyUpdate(0, 0)],
    alert: alerts.illegal_parameter,
  },
  {
    name: "a KeyUpdate whose request_update is 2",
    inners: [keyUpdate(2)],
    alert: alerts.illegal_parameter,
  },
  {
    name: "an inner plaintext of zeros only (no content type)",
    inners: [new Uint8Array(32)],
    alert: alerts.unexpected_message,
  },
  {
    name: "application data between the records of one handshake message",
    inners: [
      innerPlaintext(HANDSHAKE, Uint8Array.of(24, 0, 0, 1)),
      innerPlaintext(APPLICATION_DATA, text("x")),
    ],
    alert: alerts.unexpected_message,
  },
  {
    name: "a ClientHello after the handshake (TLS 1.3 has no renegotiation)",
    inners: [innerPlaintext(HANDSHAKE, Uint8Array.of(1, 0, 0, 0))],
    alert: alerts.unexpected_message,
  },
  {
    name: "an inner plaintext of 2^14 + 2 bytes",
    inners: [innerPlaintext(APPLICATION_DATA, new Uint8Array(2 ** 14 + 1))],
    alert: alerts.record_overflow,
  },
  {
    name: "an inner content type TLS does not define",
    inners: [innerPlaintext(99, text("x"))],
    alert: alerts.unexpected_message,
  },
];

/** How the relayed connection is set up: the version's protection, the peer's options, the relay's hold-backs. */
interface Setup<P> {
  protection: Protection<P>;
  /** Options of the real peer (versions, suites); our end under attack keeps its defaults. */
  peer: Pick<ConnectOptions, "minVersion" | "maxVersion" | "ciphers">;
  /** When given, the forging happens during the handshake: the relay passes on only this many records of each end. */
  pass?: Pass;
}

/** Our end under attack, connected through a forger to a peer that logs its keys. */
interface Target<P> extends AsyncDisposable {
  forger: RecordForger<P>;
  /** The error our end ended with (in the handshake, or in a read after it). */
  failure(): Promise<TlsError>;
  /** The first bytes our end read, as text. */
  firstData(): Promise<string>;
  /** Whether our end's reads ended cleanly (no error), once it closed. */
  cleanEnd(): Promise<boolean>;
}

/** `e` if it is a TlsError; rethrown otherwise. */
function tlsError(e: unknown): TlsError {
  if (e instanceof TlsError) return e;
  throw e;
}

/** The first bytes a TlsConn reads, as text. */
async function firstRead(conn: { read(b: Uint8Array): Promise<number | null> }): Promise<string> {
  const buf = new Uint8Array(65536);
  return new TextDecoder().decode(buf.subarray(0, (await conn.read(buf)) ?? 0));
}

/** The first bytes a TlsSocket got, as text (its recorder keeps them). */
async function firstChunk(recorder: Recorder): Promise<string> {
  await recorder.receivedAtLeast(1);
  return recorder.text();
}

/** Reads a TlsConn until it ends: null when it ended cleanly, else its error. */
async function readToEnd(conn: { read(b: Uint8Array): Promise<number | null> }): Promise<TlsError | null> {
  const buf = new Uint8Array(65536);
  try {
    while ((await conn.read(buf)) !== null) { /* the peer's echo, if any */ }
    return null;
  } catch (e) {
    return tlsError(e);
  }
}

/** A TlsConn's error: the read that fails. */
async function readFailure(conn: { read(b: Uint8Array): Promise<number | null> }): Promise<TlsError> {
  const error = await readToEnd(conn);
  if (error) return error;
  throw new Error("the connection ended cleanly");
}

/** A TlsSocket's error: the one its `error` handler got. */
async function socketFailure(recorder: Recorder): Promise<TlsError> {
  await recorder.until("an error", () => recorder.log.errors.length > 0);
  await recorder.closed();
  return tlsError(recorder.log.errors[0]);
}

/** Whether a TlsConn's reads ended without an error; then closes it, as an application would. */
async function connCleanEnd(conn: TlsConn): Promise<boolean> {
  const clean = await readToEnd(conn) === null;
  await closeConn(conn);
  return clean;
}

/** Whether a TlsSocket closed without an error (it closes itself at the peer's end). */
async function socketCleanEnd(recorder: Recorder): Promise<boolean> {
  await recorder.until("its end", () => recorder.log.closed || recorder.log.errors.length > 0);
  return recorder.log.errors.length === 0;
}

/** Our echo server (the peer) behind a forger that gets its key log. */
async function forgedServer<P>({ protection, peer, pass }: Setup<P>) {
  const sinks: ((line: string) => void)[] = [];
  const server = startServer({ ...peer, keyLog: (line) => sinks.forEach((sink) => sink(line)) });
  const forger = await recordForger(server.port, protection, pass);
  sinks.push(forger.keyLog);
  return { server, forger };
}

/** A connect the forging may fail: its failure is awaited apart (or is the peer's, not under test). */
function quietly<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/**
 * A TlsSocket under attack, read through its recorder: once its handshake is
 * done (unless the forging happens during it), with `dispose` to let it go.
 */
async function socketTarget<P>(
  recorder: Recorder,
  forger: RecordForger<P>,
  setup: Setup<P>,
  dispose: () => Promise<void>,
): Promise<Target<P>> {
  if (!setup.pass) {
    await recorder.until("the handshake", () => recorder.log.events.includes("handshake ok"));
  }
  return {
    forger,
    failure: () => socketFailure(recorder),
    firstData: () => firstChunk(recorder),
    cleanEnd: () => socketCleanEnd(recorder),
    [Symbol.asyncDispose]: dispose,
  };
}

const targets: Record<string, <P>(setup: Setup<P>) => Promise<Target<P>>> = {
  "server, TlsConn": async (setup) => {
    const server = acceptingServer();
    const forger = await recordForger(server.port, setup.protection, setup.pass);
    const peer = quietly(connectTo(forger.port, { ...setup.peer, keyLog: forger.keyLog }));
    const conn = setup.pass ? undefined : (await peer, await server.accept());
    return {
      forger,
      failure: () => conn ? readFailure(conn) : server.handshakeError(),
      firstData: () => firstRead(conn!),
      cleanEnd: () => connCleanEnd(conn!),
      async [Symbol.asyncDispose]() {
        await closeConn(conn);
        if (!setup.pass) await closeConn(await peer);
        await server[Symbol.asyncDispose]();
        await forger[Symbol.asyncDispose]();
        await peer.catch(() => {});
      },
    };
  },
  "server, TlsSocket": async (setup) => {
    const recorder = new Recorder(true);
    const listener = listenSocket({ ...serverOn(), socket: recorder.handlers });
    const forger = await recordForger(listener.port, setup.protection, setup.pass);
    const peer = quietly(connectTo(forger.port, { ...setup.peer, keyLog: forger.keyLog }));
    return await socketTarget(recorder, forger, setup, async () => {
      if (!setup.pass) await closeConn(await peer);
      listener.stop(true);
      await forger[Symbol.asyncDispose]();
      await peer.catch(() => {});
    });
  },
  "client, TlsConn": async (setup) => {
    const { server, forger } = await forgedServer(setup);
    const connecting = quietly(connectTo(forger.port));
    const conn = setup.pass ? undefined : await connecting;
    return {
      forger,
      failure: () =>
        conn ? readFailure(conn) : connecting.then(() => assert.fail("the handshake succeeded"), tlsError),
      firstData: () => firstRead(conn!),
      cleanEnd: () => connCleanEnd(conn!),
      async [Symbol.asyncDispose]() {
        await closeConn(conn);
        server.close();
        await forger[Symbol.asyncDispose]();
      },
    };
  },
  "client, TlsSocket": async (setup) => {
    const { server, forger } = await forgedServer(setup);
    const recorder = new Recorder(true);
    quietly(connectSocket({ ...clientTo(forger.port), socket: recorder.handlers }));
    return await socketTarget(recorder, forger, setup, async () => {
      recorder.log.socket?.end();
      server.close();
      await forger[Symbol.asyncDispose]();
    });
  },
};

/** Where the test runs: "server" or "client", from a target's name. */
const sideOf = (where: string): Side => where.startsWith("server") ? "server" : "client";

/**
 * Runs `attack` against a fresh target and checks that no native object
 * outlives it.
 */
async function withoutLeaks<P>(where: string, setup: Setup<P>, attack: (target: Target<P>) => Promise<void>) {
  clearSharedContexts(); // count from a clean slate
  const before = await liveSettles(0, true);
  {
    await using target = await targets[where](setup);
    await attack(target);
  }
  clearSharedContexts();
  assert.ok(
    await liveSettles(before, true) <= before,
    `${shim.jsec_live()} native objects left, ${before} before`,
  );
}

/** Asserts that our end failed with a PROTOCOL_ERROR and sent `alert`. */
async function assertRefused<P>(target: Target<P>, side: Side, alert: number) {
  const error = await target.failure();
  assert.equal(error.code, "PROTOCOL_ERROR", error.message);
  assert.equal(await target.forger.alertFrom(side), alert, error.message);
}

// TLS 1.3

/**
 * The TLS 1.3 suites the forger seals with (those whose AEAD this runtime's
 * node:crypto has: Bun's lacks ChaCha20-Poly1305); the peer that logs its keys
 * offers one, so it is the one used.
 */
const suites = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"].filter(
  sealable,
);

const tls13Setup = (ciphers: string): Setup<Uint8Array> => ({
  protection: tls13,
  peer: { minVersion: "TLSv1.3", ciphers },
});

for (const where of Object.keys(targets)) {
  for (const [i, { name, inners, alert }] of cases.entries()) {
    const ciphers = suites[i % suites.length];
    test(`${where}, ${ciphers}: ${name} gets alert ${alert} and a PROTOCOL_ERROR`, () =>
      withoutLeaks(where, tls13Setup(ciphers), async (target) => {
        target.forger.inject(sideOf(where), inners);
        await assertRefused(target, sideOf(where), alert);
      }));
  }
}

for (const where of Object.keys(targets)) {
  for (const ciphers of suites) {
    test(`${where}, ${ciphers}: a well-formed forged record is read as data (the forger seals right)`, async () => {
      await using target = await targets[where](tls13Setup(ciphers));
      target.forger.inject(sideOf(where), [innerPlaintext(APPLICATION_DATA, text("forged"))]);
      assert.equal(await target.firstData(), "forged");
    });
  }
}

// TLS 1.2

const CHANGE_CIPHER_SPEC = 20;
const ALERT = 21;
/** TLS 1.2 alert descriptions (RFC 5246 §7.2). */
const alerts12 = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  record_overflow: 22,
  protocol_version: 70,
  no_renegotiation: 100,
};

/** The TLS 1.2 suites (for the test's ECDSA certificate) the forger seals with, as for TLS 1.3. */
const suites12 = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
]
  .filter(sealable);

const tls12Setup = (ciphers: string, pass?: Pass): Setup<Plaintext> => ({
  protection: tls12,
  peer: { maxVersion: "TLSv1.2", ciphers },
  pass,
});

/** A record in the clear. */
const clear = (type: number, content: Uint8Array) =>
  Uint8Array.of(type, 3, 3, content.length >> 8, content.length & 0xff, ...content);
/** A handshake message: type, 24-bit length, body. */
const message = (type: number, body: Uint8Array) =>
  Uint8Array.of(type, 0, body.length >> 8, body.length & 0xff, ...body);
const finished = message(20, new Uint8Array(12));
const changeCipherSpec = Uint8Array.of(1);

/** One application data record sealed in the name of `to`'s peer, for a test to spoil. */
const sealedData = (f: RecordForger<Plaintext>, to: Side) =>
  f.seal(peerOf(to), [{ type: APPLICATION_DATA, content: text("x") }]);
/** `record` with its last byte (the AEAD tag's) flipped. */
const badTag = (record: Uint8Array) => record.map((b, i) => i === record.length - 1 ? b ^ 1 : b);
/** `record` claiming version 3.`minor` in its header (3.1 is TLS 1.0). */
const withVersion = (record: Uint8Array, minor: number) => record.map((b, i) => i === 2 ? minor : b);

const cases12: {
  name: string;
  /** Forges toward `to` in its peer's name. */
  forge(forger: RecordForger<Plaintext>, to: Side): void;
  alert: number;
}[] = [
  {
    name: "an application data record whose tag is wrong",
    forge: (f, to) => f.send(to, sealedData(f, to).map(badTag)),
    alert: alerts12.bad_record_mac,
  },
  {
    name: "a record claiming TLS 1.0 after a TLS 1.2 handshake",
    forge: (f, to) => f.send(to, sealedData(f, to).map((r) => withVersion(r, 1))),
    alert: alerts12.protocol_version,
  },
  {
    name: "a record header over 2^14 + 2048 bytes",
    forge: (f, to) => f.send(to, [clear(APPLICATION_DATA, new Uint8Array(2 ** 14 + 2049))]),
    alert: alerts12.record_overflow,
  },
  {
    name: "a plaintext of 2^14 + 1 bytes",
    forge: (f, to) => f.inject(to, [{ type: APPLICATION_DATA, content: new Uint8Array(2 ** 14 + 1) }]),
    alert: alerts12.record_overflow,
  },
  {
    name: "a ChangeCipherSpec after the handshake",
    forge: (f, to) => f.inject(to, [{ type: CHANGE_CIPHER_SPEC, content: changeCipherSpec }]),
    alert: alerts12.unexpected_message,
  },
  {
    name: "a Finished after the handshake",
    forge: (f, to) => f.inject(to, [{ type: HANDSHAKE, content: finished }]),
    alert: alerts12.unexpected_message,
  },
  {
    name: "a content type TLS does not define",
    forge: (f, to) => f.inject(to, [{ type: 99, content: text("x") }]),
    alert: alerts12.unexpected_message,
  },
];

/** Handshake messages forged in the clear in place of the peer's next flight (ClientKeyExchange, or ServerHello). */
const handshakeCases12: { name: string; record: Uint8Array; alert: number }[] = [
  {
    name: "a ChangeCipherSpec in place of the peer's next flight",
    record: clear(CHANGE_CIPHER_SPEC, changeCipherSpec),
    alert: alerts12.unexpected_message,
  },
  {
    name: "a Finished in place of the peer's next flight",
    record: clear(HANDSHAKE, finished),
    alert: alerts12.unexpected_message,
  },
];

for (const where of Object.keys(targets)) {
  const side = sideOf(where);
  for (const [i, { name, forge, alert }] of cases12.entries()) {
    const ciphers = suites12[i % suites12.length];
    test(`${where}, TLS 1.2 ${ciphers}: ${name} gets alert ${alert} and a PROTOCOL_ERROR`, () =>
      withoutLeaks(where, tls12Setup(ciphers), async (target) => {
        forge(target.forger, side);
        await assertRefused(target, side, alert);
      }));
  }
  for (const { name, record, alert } of handshakeCases12) {
    // The relay passes on the ClientHello only: our server answers it, our client waits for the answer.
    const pass = side === "server" ? { client: 1 } : { server: 0 };
    test(`${where}, TLS 1.2 handshake: ${name} gets alert ${alert} and a PROTOCOL_ERROR`, () =>
      withoutLeaks(where, tls12Setup(suites12[0], pass), async (target) => {
        await target.forger.recordsFrom(side, 1);
        target.forger.send(side, [record]);
        await assertRefused(target, side, alert);
      }));
  }
  for (const ciphers of suites12) {
    test(`${where}, TLS 1.2 ${ciphers}: a well-formed forged record is read as data (the forger seals right)`, async () => {
      await using target = await targets[where](tls12Setup(ciphers));
      target.forger.inject(side, [{ type: APPLICATION_DATA, content: text("forged") }]);
      assert.equal(await target.firstData(), "forged");
    });
  }
  test(`${where}, TLS 1.2: a handshake record after close_notify is not read (a clean end)`, () =>
    withoutLeaks(where, tls12Setup(suites12[0]), async (target) => {
      target.forger.inject(side, [
        { type: ALERT, content: Uint8Array.of(1, alerts12.close_notify) },
        { type: HANDSHAKE, content: finished },
      ]);
      assert.ok(await target.cleanEnd(), "the connection failed");
      assert.equal(await target.forger.alertFrom(side), alerts12.close_notify);
    }));
}

for (const where of Object.keys(targets).filter((w) => sideOf(w) === "server")) {
  test(`${where}, TLS 1.2: a renegotiating ClientHello gets a no_renegotiation warning, the connection goes on`, () =>
    withoutLeaks(where, tls12Setup(suites12[0]), async (target) => {
      target.forger.inject("server", [
        { type: HANDSHAKE, content: message(1, new Uint8Array(38)) },
        { type: APPLICATION_DATA, content: text("still here") },
      ]);
      assert.equal(await target.firstData(), "still here");
      assert.equal(await target.forger.alertFrom("server"), alerts12.no_renegotiation);
    }));
}
