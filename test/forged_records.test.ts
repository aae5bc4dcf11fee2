/**
 * Hostile encrypted records after a TLS 1.3 handshake (RFC 8446 §4.6.3, §5.1,
 * §5.2, §5.4): a relay that knows the traffic secrets (test/support/record_forger.ts)
 * forges records a real peer could send — a malformed KeyUpdate, an inner
 * plaintext without a content type, application data inside a split handshake
 * message, an inner plaintext past 2^14 + 1 bytes, an unknown inner content
 * type — and seals them with the sequence number the receiver expects. Our end,
 * client or server, through `TlsConn` and `TlsSocket`, must send the right fatal
 * alert (decrypted off the wire), end with a typed `TlsError`, and free its
 * native state.
 */
import assert from "node:assert/strict";
import { connectSocket, listenSocket, TlsError } from "../mod.ts";
import { shim } from "../ffi/mod.ts";
import { clearSharedContexts } from "../lib/tls/contexts.ts";
import { clientTo, Recorder, serverOn } from "./support/callback.ts";
import { closeConn, connectTo } from "./support/conn.ts";
import { liveSettles } from "./support/live.ts";
import { type RecordForger, recordForger } from "./support/record_forger.ts";
import { acceptingServer, startServer } from "./support/server.ts";
import { innerPlaintext, sealable } from "./support/tls13_record.ts";
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

/** Our end under attack, connected through a forger to a TLS 1.3 peer that logs its keys. */
interface Target extends AsyncDisposable {
  forger: RecordForger;
  /** The error our end ended with. */
  failure(): Promise<TlsError>;
  /** The first bytes our end read, as text. */
  firstData(): Promise<string>;
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

/** A TlsConn's error: the read that fails. */
async function readFailure(conn: { read(b: Uint8Array): Promise<number | null> }): Promise<TlsError> {
  const buf = new Uint8Array(65536);
  try {
    while ((await conn.read(buf)) !== null) { /* the peer's echo, if any */ }
  } catch (e) {
    if (e instanceof TlsError) return e;
    throw e;
  }
  throw new Error("the connection ended cleanly");
}

/** A TlsSocket's error: the one its `error` handler got. */
async function socketFailure(recorder: Recorder): Promise<TlsError> {
  await recorder.until("an error", () => recorder.log.errors.length > 0);
  await recorder.closed();
  const error = recorder.log.errors[0];
  if (error instanceof TlsError) return error;
  throw error;
}

const tls13 = { minVersion: "TLSv1.3" } as const;
/**
 * The TLS 1.3 suites the forger seals with (those whose AEAD this runtime's
 * node:crypto has: Bun's lacks ChaCha20-Poly1305); the peer that logs its keys
 * offers one, so it is the one used.
 */
const suites = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"].filter(
  sealable,
);

/** Our echo server (TLS 1.3, `ciphers` only) behind a forger that gets its key log. */
async function forgedServer(ciphers: string) {
  const sinks: ((line: string) => void)[] = [];
  const server = startServer({ ...tls13, ciphers, keyLog: (line) => sinks.forEach((sink) => sink(line)) });
  const forger = await recordForger(server.port);
  sinks.push(forger.keyLog);
  return { server, forger };
}

const targets: Record<string, (ciphers: string) => Promise<Target>> = {
  "server, TlsConn": async (ciphers) => {
    const server = acceptingServer();
    const forger = await recordForger(server.port);
    const peer = await connectTo(forger.port, { ...tls13, ciphers, keyLog: forger.keyLog });
    const conn = await server.accept();
    return {
      forger,
      failure: () => readFailure(conn),
      firstData: () => firstRead(conn),
      async [Symbol.asyncDispose]() {
        await closeConn(conn);
        await closeConn(peer);
        await server[Symbol.asyncDispose]();
        await forger[Symbol.asyncDispose]();
      },
    };
  },
  "server, TlsSocket": async (ciphers) => {
    const recorder = new Recorder(true);
    const listener = listenSocket({ ...serverOn(), socket: recorder.handlers });
    const forger = await recordForger(listener.port);
    const peer = await connectTo(forger.port, { ...tls13, ciphers, keyLog: forger.keyLog });
    await recorder.until("the handshake", () => recorder.log.events.includes("handshake ok"));
    return {
      forger,
      failure: () => socketFailure(recorder),
      firstData: () => firstChunk(recorder),
      async [Symbol.asyncDispose]() {
        await closeConn(peer);
        listener.stop(true);
        await forger[Symbol.asyncDispose]();
      },
    };
  },
  "client, TlsConn": async (ciphers) => {
    const { server, forger } = await forgedServer(ciphers);
    const conn = await connectTo(forger.port, tls13);
    await conn.handshake();
    return {
      forger,
      failure: () => readFailure(conn),
      firstData: () => firstRead(conn),
      async [Symbol.asyncDispose]() {
        await closeConn(conn);
        server.close();
        await forger[Symbol.asyncDispose]();
      },
    };
  },
  "client, TlsSocket": async (ciphers) => {
    const { server, forger } = await forgedServer(ciphers);
    const recorder = new Recorder(true);
    connectSocket({ ...clientTo(forger.port), ...tls13, socket: recorder.handlers });
    await recorder.until("the handshake", () => recorder.log.events.includes("handshake ok"));
    return {
      forger,
      failure: () => socketFailure(recorder),
      firstData: () => firstChunk(recorder),
      async [Symbol.asyncDispose]() {
        recorder.log.socket?.end();
        server.close();
        await forger[Symbol.asyncDispose]();
      },
    };
  },
};

for (const [where, makeTarget] of Object.entries(targets)) {
  const side = where.startsWith("server") ? "server" : "client";
  for (const [i, { name, inners, alert }] of cases.entries()) {
    const ciphers = suites[i % suites.length];
    test(`${where}, ${ciphers}: ${name} gets alert ${alert} and a PROTOCOL_ERROR`, async () => {
      clearSharedContexts(); // count from a clean slate
      const before = await liveSettles(0, true);
      {
        await using target = await makeTarget(ciphers);
        target.forger.inject(side, inners);
        const error = await target.failure();
        assert.equal(error.code, "PROTOCOL_ERROR", error.message);
        assert.equal(await target.forger.alertFrom(side), alert, error.message);
      }
      clearSharedContexts();
      assert.ok(
        await liveSettles(before, true) <= before,
        `${shim.jsec_live()} native objects left, ${before} before`,
      );
    });
  }
}

for (const where of Object.keys(targets)) {
  for (const ciphers of suites) {
    test(`${where}, ${ciphers}: a well-formed forged record is read as data (the forger seals right)`, async () => {
      await using target = await targets[where](ciphers);
      target.forger.inject(where.startsWith("server") ? "server" : "client", [
        innerPlaintext(APPLICATION_DATA, text("forged")),
      ]);
      assert.equal(await target.firstData(), "forged");
    });
  }
}
