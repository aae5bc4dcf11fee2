/**
 * Session ticket keys: the options and their checks, rotation by hand and on a
 * schedule (a ticket under the previous key resumes and is re-issued, one from
 * an unknown key set gets a full handshake), `openssl s_client -sess_out /
 * -sess_in` resuming across a rotation, `sni` contexts and server-side
 * `upgrade()` calls sharing a key set, and a `reusePort` cluster of two worker
 * processes sharing one port and one key set.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  connect,
  type ConnectOptions,
  type HandshakeInfo,
  listen,
  type ListenOptions,
  TlsError,
  upgrade,
} from "../mod.ts";
import { TlsContext } from "../engine.ts";
import { certs } from "./support/certs.ts";
import { closeConn, connectTo } from "./support/conn.ts";
import { freePort, Peer, readExactly, sClientTo } from "./support/openssl.ts";
import { plainListen } from "./support/plain.ts";
import { listenForTest } from "./support/server.ts";
import { workerCommand } from "./support/ticket_worker.ts";
import { test } from "./harness.ts";

const KEY = 80;
const enc = new TextEncoder();
const dec = new TextDecoder();
const randomKeys = (n = 1) => crypto.getRandomValues(new Uint8Array(n * KEY));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Our server (ECDSA certificate): each connection gets "hi\n" and is closed; keeps each handshake and failure. */
function greeter(options: Partial<ListenOptions> = {}) {
  const seen: HandshakeInfo[] = [];
  const errors: TlsError[] = [];
  const { listener, port } = listenForTest(options, (e) => errors.push(e));
  (async () => {
    for await (const conn of listener) {
      seen.push(await conn.handshake());
      await conn.write(enc.encode("hi\n")).catch(() => {});
      await closeConn(conn);
    }
  })();
  return {
    listener,
    port,
    seen,
    errors,
    [Symbol.asyncDispose]: () => listener[Symbol.asyncDispose](),
  };
}

/** One visit: the greeting read (TLS 1.3 tickets come before it); whether it resumed; the new session. */
async function visit(port: number, options: Partial<ConnectOptions> = {}) {
  const conn = await connectTo(port, options);
  try {
    const info = await conn.handshake();
    const text = dec.decode(await readExactly((p) => conn.read(p), 3));
    return { resumed: info.resumed, session: conn.session, text };
  } finally {
    await closeConn(conn);
  }
}

function assertInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e) => e instanceof TlsError && e.code === "INVALID_OPTION" && pattern.test(e.message));
}

test("ticket keys: bad ticketKeys, ticketKeyRotation or setTicketKeys input is INVALID_OPTION", async () => {
  const c = certs();
  const server = { isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key };
  for (const bad of [new Uint8Array(79), new Uint8Array(81), new Uint8Array(240), "k".repeat(80), [1, 2]]) {
    assertInvalid(() => new TlsContext({ ...server, ticketKeys: bad as Uint8Array }), /ticketKeys/);
  }
  for (const bad of [-1, 1.5, "60", 2 ** 31]) {
    assertInvalid(() => new TlsContext({ ...server, ticketKeyRotation: bad as number }), /ticketKeyRotation/);
  }
  assertInvalid(() => new TlsContext({ ticketKeys: randomKeys() }), /ticketKeys/); // a client
  assertInvalid(
    () => new TlsContext({ ...server, resumption: false, ticketKeys: randomKeys() }),
    /ticketKeys/,
  );
  await using s = greeter();
  assertInvalid(() => s.listener.setTicketKeys(new Uint8Array(48)), /keys/);
  const noTickets = new TlsContext({ ...server, resumption: false });
  assert.equal(noTickets.getTicketKeys().length, 0);
  assertInvalid(() => noTickets.setTicketKeys(randomKeys()), /resumes/);
  noTickets.free();
});

test("ticket keys: given keys are held as given; one new key rotates, two replace both", async () => {
  const first = randomKeys(), second = randomKeys(), pair = randomKeys(2);
  await using s = greeter({ ticketKeys: first });
  assert.deepEqual(s.listener.getTicketKeys(), first);
  s.listener.setTicketKeys(second);
  assert.deepEqual(s.listener.getTicketKeys(), new Uint8Array([...second, ...first]));
  s.listener.setTicketKeys(pair);
  assert.deepEqual(s.listener.getTicketKeys(), pair);
  // A server's own keys: one random key until the first rotation.
  await using own = greeter();
  assert.equal(own.listener.getTicketKeys().length, KEY);
  assert.notDeepEqual(own.listener.getTicketKeys(), first);
});

for (const version of ["TLSv1.3", "TLSv1.2"] as const) {
  test(`ticket keys, ${version}: a ticket under the previous key resumes; after two rotations, a full handshake`, async () => {
    const server = greeter({ ticketKeys: randomKeys(), minVersion: version, maxVersion: version });
    await using _ = server;
    const first = await visit(server.port);
    assert.equal(first.resumed, false);
    assert.ok(first.session);
    server.listener.setTicketKeys(randomKeys()); // the key of `first.session` is now the previous one
    const second = await visit(server.port, { session: first.session! });
    assert.equal(second.resumed, true);
    server.listener.setTicketKeys(randomKeys());
    server.listener.setTicketKeys(randomKeys()); // `first`'s key is gone
    const stale = await visit(server.port, { session: first.session! });
    assert.equal(stale.resumed, false);
    assert.equal(stale.text, "hi\n");
    assert.deepEqual(server.seen.map((i) => i.resumed), [false, true, false]);
    assert.deepEqual(server.errors, []);
  });
}

test("ticket keys, TLSv1.3: the resumed client gets a ticket under the new key, valid after one more rotation", async () => {
  const server = greeter({ ticketKeys: randomKeys() });
  await using _ = server;
  const first = await visit(server.port);
  server.listener.setTicketKeys(randomKeys());
  const second = await visit(server.port, { session: first.session! });
  assert.equal(second.resumed, true);
  assert.ok(second.session);
  server.listener.setTicketKeys(randomKeys()); // `first`'s key is gone; `second`'s ticket is under the previous
  assert.equal((await visit(server.port, { session: second.session! })).resumed, true);
  assert.equal((await visit(server.port, { session: first.session! })).resumed, false);
});

test("ticket keys: a ticket from another key set gets a full handshake, no error; the same set resumes", async () => {
  const shared = randomKeys();
  const a = greeter({ ticketKeys: shared });
  const b = greeter({ ticketKeys: shared });
  const foreign = greeter(); // keys of its own
  await using _a = a, _b = b, _f = foreign;
  const { session } = await visit(a.port);
  assert.equal((await visit(b.port, { session: session! })).resumed, true);
  const full = await visit(foreign.port, { session: session! });
  assert.equal(full.resumed, false);
  assert.equal(full.text, "hi\n");
  assert.deepEqual(foreign.errors, []);
});

test(
  "ticket keys: own keys rotate every ticketKeyRotation seconds; a ticket outlives one rotation, not two",
  async () => {
    const server = greeter({ ticketKeyRotation: 1 });
    await using _ = server;
    const before = server.listener.getTicketKeys();
    const { session } = await visit(server.port);
    await new Promise((r) => setTimeout(r, 1100));
    const after = server.listener.getTicketKeys();
    assert.equal(after.length, 2 * KEY);
    assert.deepEqual(after.subarray(KEY), before, "the old current key is the previous one");
    assert.equal((await visit(server.port, { session: session! })).resumed, true);
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal((await visit(server.port, { session: session! })).resumed, false);
  },
  { timeout: 20_000 },
);

/** `openssl s_client` to our server: its stdout once it read the greeting and ended. */
async function sClientVisit(port: number, args: string[]): Promise<string> {
  const client = sClientTo(port, args);
  try {
    await client.waitFor(/hi\n/, "stdout");
    client.endInput();
    await client.waitExit();
    return client.stdout;
  } finally {
    await client.stop();
  }
}

test("ticket keys: openssl s_client -sess_out/-sess_in resumes across a rotation, TLS 1.3; the new ticket outlives the next", async () => {
  const server = greeter({ ticketKeys: randomKeys() });
  await using _ = server;
  const file = join(certs().dir, "ticket-tls13.pem"), renewed = join(certs().dir, "ticket-tls13-renewed.pem");
  assert.match(await sClientVisit(server.port, ["-tls1_3", "-sess_out", file]), /New, TLSv1\.3/);
  server.listener.setTicketKeys(randomKeys()); // the ticket's key is now the previous one
  assert.match(
    await sClientVisit(server.port, ["-tls1_3", "-sess_in", file, "-sess_out", renewed]),
    /Reused, TLSv1\.3/,
  );
  server.listener.setTicketKeys(randomKeys()); // the first key is gone; the new ticket's is now the previous
  assert.match(await sClientVisit(server.port, ["-tls1_3", "-sess_in", renewed]), /Reused, TLSv1\.3/);
  assert.match(
    await sClientVisit(server.port, ["-tls1_3", "-sess_in", file]),
    /New, TLSv1\.3/,
    "a dropped key",
  );
  assert.deepEqual(server.seen.map((i) => i.resumed), [false, true, true, false]);
  assert.deepEqual(server.errors, []);
});

test("ticket keys: openssl s_client -sess_out/-sess_in resumes across a rotation, TLS 1.2, and is sent a renewed ticket", async () => {
  const server = greeter({ ticketKeys: randomKeys() });
  await using _ = server;
  const file = join(certs().dir, "ticket-tls12.pem");
  const args = ["-tls1_2", "-msg"];
  const ticketSent = /<<< [^\n]*NewSessionTicket/;
  assert.match(await sClientVisit(server.port, [...args, "-sess_out", file]), /New, TLSv1\.2/);
  const current = await sClientVisit(server.port, [...args, "-sess_in", file]);
  assert.match(current, /Reused, TLSv1\.2/);
  assert.doesNotMatch(current, ticketSent, "a ticket under the current key is not renewed");
  server.listener.setTicketKeys(randomKeys());
  const previous = await sClientVisit(server.port, [...args, "-sess_in", file]);
  assert.match(previous, /Reused, TLSv1\.2/);
  assert.match(previous, ticketSent, "a ticket under the previous key is renewed (RFC 5077 3.3)");
  server.listener.setTicketKeys(randomKeys());
  assert.match(
    await sClientVisit(server.port, [...args, "-sess_in", file]),
    /New, TLSv1\.2/,
    "a dropped key",
  );
  assert.deepEqual(server.seen.map((i) => i.resumed), [false, true, true, false]);
  assert.deepEqual(server.errors, []);
});

test(
  "reusePort cluster: 2 worker processes share a port and ticket keys; the other worker resumes",
  async () => {
    const c = certs();
    const port = await freePort();
    const ticketKeys = hex(randomKeys());
    const workers = ["worker-a", "worker-b"].map((name) => {
      const [command, args] = workerCommand({
        name,
        port,
        certFile: c.ecdsa.certFile,
        keyFile: c.ecdsa.keyFile,
        ticketKeys,
      });
      return new Peer(command, args);
    });
    try {
      await Promise.all(workers.map((w) => w.waitFor(/ready\n/, "stdout", 20_000)));
      const first = await visit8(port);
      assert.equal(first.resumed, false);
      let other: Awaited<ReturnType<typeof visit8>> | null = null;
      for (let i = 0; i < 40 && other === null; i++) {
        const next = await visit8(port, first.session!);
        if (next.text !== first.text) other = next;
      }
      assert.ok(other, "40 connections all landed on one worker");
      assert.equal(other.resumed, true, `${other.text.trim()} resumed ${first.text.trim()}'s session`);
    } finally {
      for (const w of workers) w.endInput();
      await Promise.all(workers.map((w) => w.stop()));
    }
  },
  { timeout: 60_000 },
);

/** A visit to a worker: its name ("worker-a\n") instead of "hi\n". */
async function visit8(port: number, session?: Uint8Array) {
  const conn = await connect({
    hostname: "127.0.0.1",
    port,
    servername: "localhost",
    caCerts: [certs().ca.cert],
    session,
  });
  try {
    const info = await conn.handshake();
    const text = dec.decode(await readExactly((p) => conn.read(p), 9));
    return { resumed: info.resumed, session: conn.session ?? session ?? null, text };
  } finally {
    await closeConn(conn);
  }
}

test(
  "reusePort: not a boolean is INVALID_OPTION; Deno without --unstable-net is INVALID_OPTION, not an exit",
  async () => {
    const c = certs();
    assert.throws(
      () => listen({ port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key, reusePort: "yes" as unknown as boolean }),
      (e) => e instanceof TlsError && e.code === "INVALID_OPTION",
    );
    const mod = new URL("../mod.ts", import.meta.url).href;
    const script = `import { listen } from "${mod}";
    try { listen({ hostname: "127.0.0.1", port: 0, reusePort: true, cert: ${JSON.stringify(c.ecdsa.cert)},
      key: ${JSON.stringify(c.ecdsa.key)} }); console.log("listened"); }
    catch (e) { console.log("refused", e.code); }`;
    const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
    const peer = new Peer(deno, ["eval", "--ext=ts", script]); // all permissions: `deno eval` has them
    try {
      assert.equal(await peer.waitExit(30_000), 0, peer.stderr);
      assert.match(peer.stdout, /refused INVALID_OPTION/);
    } finally {
      await peer.stop();
    }
  },
  { timeout: 40_000 },
);

test("ticket keys: a server's `sni` certificates share its key set", async () => {
  const c = certs();
  const keys = randomKeys();
  const a = greeter({ ticketKeys: keys, sni: { "other.test": { cert: c.other.cert, key: c.other.key } } });
  const b = greeter({ ticketKeys: keys, sni: { "other.test": { cert: c.other.cert, key: c.other.key } } });
  await using _a = a, _b = b;
  const first = await visit(a.port, { servername: "other.test" });
  assert.ok(first.session);
  a.listener.setTicketKeys(randomKeys()); // rotates the `sni` context's keys too
  assert.deepEqual(a.listener.getTicketKeys().subarray(KEY), keys);
  assert.equal((await visit(b.port, { servername: "other.test", session: first.session! })).resumed, true);
  assert.equal((await visit(a.port, { servername: "other.test", session: first.session! })).resumed, true);
});

test("ticket keys: server-side upgrade() calls with the same ticketKeys resume each other's sessions", async () => {
  const c = certs();
  const ticketKeys = randomKeys();
  using listener = plainListen();
  const serveOne = async () => {
    const plain = await listener.accept();
    const conn = await upgrade(plain.raw, {
      isServer: true,
      cert: c.ecdsa.cert,
      key: c.ecdsa.key,
      ticketKeys,
      head: plain.takeRest(),
      listenerHandlers: plain.listenerHandlers,
    });
    const info = await conn.handshake();
    await conn.write(enc.encode("hi\n"));
    await closeConn(conn);
    return info.resumed;
  };
  const [firstServer, first] = await Promise.all([serveOne(), visit(listener.port)]);
  assert.equal(firstServer, false);
  const [againServer, again] = await Promise.all([
    serveOne(),
    visit(listener.port, { session: first.session! }),
  ]);
  assert.equal(again.resumed, true);
  assert.equal(againServer, true);
});
