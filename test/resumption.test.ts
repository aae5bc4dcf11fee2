/**
 * Session resumption: ours ↔ ours (TLS 1.3 tickets, TLS 1.2 sessions), the
 * options that turn it off or pass a session explicitly, where a session must
 * never be used, our client against `openssl s_server`, `openssl s_client
 * -sess_out/-sess_in` against our server, client certificates, and native
 * objects. Every server here is new (a new port, new ticket keys).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  connect,
  type ConnectOptions,
  type HandshakeInfo,
  listen,
  type ListenOptions,
  type TlsConn,
  TlsError,
  type TlsVersion,
} from "../mod.ts";
import { type HeldSession, TlsContext, TlsEngine } from "../engine.ts";
import { shim } from "../ffi/mod.ts";
import { clearSharedContexts, sharedContext } from "../lib/tls/contexts.ts";
import { clientContext } from "../lib/tls/options.ts";
import { clientSessions, serverKey } from "../lib/tls/resumption.ts";
import { SessionCache } from "../lib/tls/session_cache.ts";
import { certs } from "./support/certs.ts";
import { closeConn, connectTo, subjectOf } from "./support/conn.ts";
import { handshakeInMemory } from "./support/engines.ts";
import { liveSettles } from "./support/live.ts";
import { plainServer } from "./support/net.ts";
import { readExactly, sClient, sServer } from "./support/openssl.ts";
import { echo, startServer } from "./support/server.ts";
import { test } from "./harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const VERSIONS: TlsVersion[] = ["TLSv1.3", "TLSv1.2"];
const pinned = (v: TlsVersion) => ({ minVersion: v, maxVersion: v });

async function readText(conn: TlsConn, length: number): Promise<string> {
  return dec.decode(await readExactly((p) => conn.read(p), length));
}

/** Our server: greets each connection, then echoes; keeps what each handshake said. */
function greeter(options: Partial<ListenOptions> = {}) {
  const seen: HandshakeInfo[] = [];
  const server = startServer(options, async (conn) => {
    seen.push(await conn.handshake());
    await conn.write(enc.encode("hello\n"));
    await echo(conn);
  });
  return { ...server, seen };
}

/**
 * One connection to a {@link greeter}: the greeting (TLS 1.3 tickets come
 * before it), a round trip, close. What the handshake said, and the session.
 */
async function visit(
  port: number,
  options: Partial<ConnectOptions> = {},
): Promise<{ info: HandshakeInfo; session: Uint8Array | null }> {
  const conn = await connectTo(port, options);
  try {
    const info = await conn.handshake();
    assert.equal(await readText(conn, 6), "hello\n");
    await conn.write(enc.encode("ping"));
    assert.equal(await readText(conn, 4), "ping");
    return { info, session: conn.session };
  } finally {
    await closeConn(conn);
  }
}

const resumedOf = async (visits: Promise<{ info: HandshakeInfo }>[]) =>
  (await Promise.all(visits)).map((v) => v.info.resumed);

// ---------------------------------------------------------------- ours ↔ ours

for (const v of VERSIONS) {
  test(`resumption: ours ↔ ours, ${v}: the next connections resume, both sides say so, data flows`, async () => {
    const server = greeter(pinned(v));
    try {
      const first = await visit(server.port);
      assert.equal(first.info.resumed, false);
      for (const n of [2, 3]) {
        const again = await visit(server.port);
        assert.equal(again.info.resumed, true, `connection ${n}`);
        assert.equal(again.info.protocol, v);
        assert.equal(again.info.verified, true); // the first handshake's verification, kept
        assert.equal(subjectOf(again.info), "CN=localhost");
      }
      assert.deepEqual(server.seen.map((i) => i.resumed), [false, true, true]);
    } finally {
      server.close();
    }
  });

  test(`resumption: \`resumption: false\` on the client, ${v}: full handshakes, and nothing is kept`, async () => {
    const server = greeter(pinned(v));
    try {
      const off = { resumption: false };
      assert.deepEqual(await resumedOf([visit(server.port, off)]), [false]);
      assert.deepEqual(await resumedOf([visit(server.port, off)]), [false]);
      // Those kept nothing for the cache: the first default connection is full, the next resumes.
      assert.deepEqual(await resumedOf([visit(server.port)]), [false]);
      assert.deepEqual(await resumedOf([visit(server.port)]), [true]);
    } finally {
      server.close();
    }
  });

  test(`resumption: \`resumption: false\` on the server, ${v}: no session to keep, full handshakes`, async () => {
    const server = greeter({ ...pinned(v), resumption: false });
    try {
      const first = await visit(server.port);
      assert.equal(first.session, null); // no ticket, no session id
      assert.deepEqual(await resumedOf([visit(server.port), visit(server.port)]), [false, false]);
      assert.deepEqual(server.seen.map((i) => i.resumed), [false, false, false]);
    } finally {
      server.close();
    }
  });

  test(`resumption: a saved session round trip, ${v}: conn.session → connect({ session })`, async () => {
    const server = greeter(pinned(v));
    try {
      const off = { resumption: false }; // the cache stays out of it
      const first = await visit(server.port, off);
      assert.ok(first.session instanceof Uint8Array && first.session.length > 0, "no session to save");
      const again = await visit(server.port, { ...off, session: first.session });
      assert.equal(again.info.resumed, true);
      assert.equal(again.info.verified, true);
      assert.ok(again.session, "a resumed connection gives a session too");
      assert.equal((await visit(server.port, { ...off, session: again.session })).info.resumed, true);
      assert.equal((await visit(server.port, off)).info.resumed, false);
    } finally {
      server.close();
    }
  });

  test(`resumption: client certificates (mTLS), ${v}: resumed, and the server still knows who`, async () => {
    const c = certs();
    const server = greeter({ ...pinned(v), requestCert: true, caCerts: [c.ca.cert] });
    try {
      const mine = { cert: c.client.cert, key: c.client.key };
      assert.deepEqual(await resumedOf([visit(server.port, mine)]), [false]);
      assert.deepEqual(await resumedOf([visit(server.port, mine)]), [true]);
      const [full, resumed] = server.seen;
      for (const info of [full, resumed]) {
        assert.equal(subjectOf(info), "CN=client");
        assert.equal(info.verified, true);
      }
      assert.equal(resumed.resumed, true);
    } finally {
      server.close();
    }
  });
}

test("resumption: a TLS 1.3 ticket offered by hand is not offered again from the cache", async () => {
  const server = greeter(pinned("TLSv1.3"));
  try {
    const first = await visit(server.port); // its session is also in the cache
    const again = await visit(server.port, { session: first.session! });
    assert.equal(again.info.resumed, true);
    const context = sharedContext(clientContext({ caCerts: [certs().ca.cert] }));
    const key = serverKey(context, "127.0.0.1", "localhost", {
      transport: "tcp",
      hostname: "127.0.0.1",
      port: server.port,
    });
    const cached: Uint8Array[] = [];
    for (let s; (s = clientSessions.take(key)) !== null;) {
      cached.push(s.session.der);
      s.session.release();
    }
    const offeredAgain = cached.some((der) =>
      der.length === first.session!.length && der.every((b, i) => b === first.session![i])
    );
    assert.equal(offeredAgain, false, "the hand-offered ticket is still in the cache");
    assert.ok(cached.length > 0, "the other tickets stay");
  } finally {
    server.close();
  }
});

// ---------------------------------------------------------------- bad input

test("resumption: a corrupt `session` is INVALID_OPTION at the call, before any I/O", async () => {
  const server = greeter();
  let accepted = 0;
  const plain = await plainServer((socket) => {
    accepted++;
    socket.destroy();
  });
  try {
    const { session } = await visit(server.port, { resumption: false });
    assert.ok(session);
    const notDer = readFileSync(join(certs().dir, "ca.pem"));
    const bad: unknown[] = [
      session.subarray(0, session.length - 1), // truncated
      Uint8Array.from([...session, 0]), // trailing garbage
      enc.encode("not a session"),
      new Uint8Array(notDer), // PEM of a certificate
      new Uint8Array(0),
      "a string",
    ];
    for (const candidate of bad) {
      await assert.rejects(
        connect({ hostname: "127.0.0.1", port: plain.port, session: candidate as Uint8Array }),
        (e: unknown) => e instanceof TlsError && e.code === "INVALID_OPTION" && /`session`/.test(e.message),
      );
    }
    assert.equal(accepted, 0, "a connection was opened before the check");
  } finally {
    await plain.close();
    server.close();
  }
});

test("resumption: `resumption` must be a boolean, and a client context takes none", async () => {
  const c = certs();
  const invalidOption = (e: unknown) => e instanceof TlsError && e.code === "INVALID_OPTION";
  await assert.rejects(connect({ port: 1, resumption: "no" as unknown as boolean }), invalidOption);
  assert.throws(
    () => listen({ port: 0, cert: c.ecdsa.cert, key: c.ecdsa.key, resumption: 0 as unknown as boolean }),
    invalidOption,
  );
  assert.throws(() => new TlsContext({ resumption: false }), invalidOption);
});

// ---------------------------------------------------------------- where a session must not go

test("resumption: a session goes only to the server (port, name) it came from; elsewhere a verified full handshake", async () => {
  const c = certs();
  const sni = { "other.test": { cert: c.other.cert, key: c.other.key } };
  const a = greeter({ sni }), b = greeter({ sni });
  try {
    await visit(a.port);
    const fromA = await visit(a.port);
    assert.equal(fromA.info.resumed, true);
    // The cache offers nothing for another port or another name.
    const atB = await visit(b.port);
    const otherName = await visit(a.port, { servername: "other.test" });
    for (const { info } of [atB, otherName]) {
      assert.equal(info.resumed, false);
      assert.equal(info.verified, true);
    }
    assert.equal(subjectOf(otherName.info), "CN=other.test");
    // Given explicitly: B cannot resume A's session; under another name ours is not offered
    // (RFC 8446 4.6.1: the session's certificate is for localhost, not other.test).
    const off = { resumption: false, session: fromA.session! };
    const explicitAtB = await visit(b.port, off);
    const explicitOtherName = await visit(a.port, { ...off, servername: "other.test" });
    for (const { info } of [explicitAtB, explicitOtherName]) {
      assert.equal(info.resumed, false);
      assert.equal(info.verified, true);
    }
    assert.equal(subjectOf(explicitOtherName.info), "CN=other.test");
    assert.equal((await visit(a.port, off)).info.resumed, true); // the session itself was good
  } finally {
    a.close();
    b.close();
  }
});

test("resumption: another client context (trust, client certificate, verification) never reuses a session", async () => {
  const c = certs();
  const server = greeter({ requestCert: true, rejectUnauthorized: false, caCerts: [c.ca.cert] });
  try {
    await visit(server.port);
    assert.equal((await visit(server.port)).info.resumed, true);
    for (
      const other of [
        { caCerts: [c.ca.cert, c.stranger.cert] },
        { cert: c.client.cert, key: c.client.key },
        { rejectUnauthorized: false },
      ]
    ) {
      const { info } = await visit(server.port, other);
      assert.equal(info.resumed, false, JSON.stringify(Object.keys(other)));
    }
    assert.equal((await visit(server.port)).info.resumed, true);
  } finally {
    server.close();
  }
});

test("resumption: a session whose certificate failed verification is not resumed where it is verified", async () => {
  const c = certs();
  const untrusted = greeter({ cert: c.stranger.cert, key: c.stranger.key });
  try {
    const lax = { rejectUnauthorized: false, resumption: false };
    const { info, session } = await visit(untrusted.port, lax);
    assert.equal(info.verified, false);
    assert.equal((await visit(untrusted.port, { ...lax, session: session! })).info.resumed, true);
    await assert.rejects(
      visit(untrusted.port, { resumption: false, session: session! }),
      (e: unknown) => e instanceof TlsError && e.code === "CERT_UNTRUSTED",
    );
  } finally {
    untrusted.close();
  }
});

// ---------------------------------------------------------------- the engine and the cache

test("resumption: engine: sessions to take, offered only where the certificate fits, freed when left", async () => {
  const c = certs();
  clearSharedContexts();
  const before = await liveSettles(0);
  const serverContext = new TlsContext({ isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key });
  const clientContext = new TlsContext({ caCerts: [c.ca.cert] });
  const engines: TlsEngine[] = [];
  const client = (verifyHost: string) =>
    engines[engines.push(new TlsEngine(clientContext, { verifyHost })) - 1];
  const connectTo = (engine: TlsEngine) => {
    const server = engines[engines.push(new TlsEngine(serverContext)) - 1];
    handshakeInMemory(engine, server);
    engine.read(new Uint8Array(1)); // takes in the TLS 1.3 tickets
    return server;
  };
  const first = client("localhost");
  connectTo(first);
  assert.equal(first.pendingSessions, 2); // OpenSSL servers send two tickets
  const saved = first.takeSession()!;
  assert.equal(first.pendingSessions, 1);
  assert.equal(shim.jsec_session_check(saved, saved.length), 0x0304);
  assert.equal(client("other.test").offerSession(saved), false); // its certificate names localhost
  const again = client("localhost");
  assert.equal(again.offerSession(saved), true);
  const server = connectTo(again);
  assert.equal(again.info().resumed, true);
  assert.equal(server.info().resumed, true);
  assert.throws(() => again.offerSession(saved), (e: TlsError) => e.code === "INVALID_OPTION");
  assert.throws(
    () => client("localhost").offerSession(enc.encode("junk")),
    (e: TlsError) => e.code === "INVALID_OPTION",
  );
  // Held natively: offered as well, under the same rule, and still good after its engine
  // ended without close_notify (OpenSSL would mark the very session unresumable).
  const held = first.takeHeldSession()!;
  assert.equal(first.pendingSessions, 0);
  first.free();
  assert.equal(client("other.test").offerHeldSession(held), false);
  const third = client("localhost");
  assert.equal(third.offerHeldSession(held), true);
  held.release(); // the engine holds its own reference
  connectTo(third);
  assert.equal(third.info().resumed, true);
  assert.throws(() => held.handle, (e: TlsError) => e.code === "CLOSED");
  // Sessions nobody took are freed with their engine.
  for (const engine of engines) engine.free();
  serverContext.free();
  clientContext.free();
  assert.equal(await liveSettles(before, true), before);
});

/** `count` sessions held natively (and the live count without them), from in-memory TLS 1.3 handshakes. */
function heldSessions(count: number): { held: HeldSession[]; without: number } {
  const c = certs();
  const serverContext = new TlsContext({ isServer: true, cert: c.ecdsa.cert, key: c.ecdsa.key });
  const clientContext = new TlsContext({ caCerts: [c.ca.cert] });
  const held: HeldSession[] = [];
  while (held.length < count) {
    const client = new TlsEngine(clientContext, { verifyHost: "localhost" }),
      server = new TlsEngine(serverContext);
    handshakeInMemory(client, server);
    client.read(new Uint8Array(1)); // takes in the TLS 1.3 tickets
    for (let h; (h = client.takeHeldSession()) !== null;) held.push(h);
    client.free();
    server.free();
  }
  serverContext.free();
  clientContext.free();
  return { held, without: shim.jsec_live() - held.length };
}

test("resumption: the cache is bounded per server and in servers, offers each TLS 1.3 ticket once, frees what leaves", async () => {
  clearSharedContexts();
  const before = await liveSettles(0);
  const { held, without } = heldSessions(10);
  assert.equal(without, before, "only the held sessions are left");
  const left = (n: number) => assert.equal(shim.jsec_live(), before + held.length - n, `${n} freed`);
  const cache = new SessionCache(2, 3);
  for (const h of held.slice(0, 4)) cache.store("a", h, true); // the cache owns them now
  left(1); // the oldest of four tickets
  const offers = [cache.take("a"), cache.take("a"), cache.take("a"), cache.take("a")];
  assert.deepEqual(offers.map((o) => o && [o.session, o.tls13]), [
    [held[3], true],
    [held[2], true],
    [held[1], true],
    null,
  ]);
  for (const o of offers) o?.session.release(); // a taker's reference
  left(4);
  const tls12 = held[4];
  cache.store("b", tls12, false);
  const b = [cache.take("b"), cache.take("b")];
  assert.deepEqual(b.map((o) => o && [o.session, o.tls13]), [[tls12, false], [tls12, false]]); // TLS 1.2: kept
  for (const o of b) o!.session.release();
  left(4); // the cache still holds it
  cache.forget("b", tls12);
  assert.equal(cache.take("b"), null);
  left(5);
  for (const h of [held[5], held[6]]) cache.store("c", h, true);
  cache.spend("c", held[6].der.slice()); // the bytes it gave out, in another array: offered by hand, so not again
  const c = cache.take("c");
  assert.equal(c?.session, held[5]);
  c!.session.release();
  assert.equal(cache.take("c"), null);
  left(7);
  for (const [i, key] of ["x", "y", "z"].entries()) cache.store(key, held[7 + i], false);
  left(8);
  assert.equal(cache.take("x"), null); // the least recently used went
  const yz = [cache.take("y"), cache.take("z")];
  assert.ok(yz[0] && yz[1]);
  for (const o of yz) o!.session.release();
  cache.clear();
  assert.equal(shim.jsec_live(), before, "clearing the cache freed the rest");
});

/** `count` connections to `port`, each past its greeting (TLS 1.3 tickets come before it), then closed. */
async function resumedVisits(port: number, count: number): Promise<void> {
  const conns: TlsConn[] = [];
  for (let i = 0; i < count; i++) {
    const conn = await connectTo(port);
    conns.push(conn);
    assert.equal(await readText(conn, 6), "hello\n");
    assert.equal((await conn.handshake()).resumed, i > 0);
  }
  for (const conn of conns) await closeConn(conn);
}

/** What the cache would offer to localhost at `port` next, taken out and released (so that nothing here holds it). */
function takeCached(port: number): { tls13: boolean; encoded: Uint8Array | null } | null {
  const context = sharedContext(clientContext({ caCerts: [certs().ca.cert] }));
  const addr = { transport: "tcp", hostname: "127.0.0.1", port } as const;
  const cached = clientSessions.take(serverKey(context, "127.0.0.1", "localhost", addr));
  cached?.session.release();
  return cached && { tls13: cached.tls13, encoded: cached.session.encoded };
}

test("resumption: the cache keeps sessions native: offered again without encoding or parsing, freed on clear", async () => {
  const server = greeter(pinned("TLSv1.3"));
  try {
    await resumedVisits(server.port, 4);
    // The newest ticket was encoded once, when its connection closed (TlsConn.session stays readable
    // without a native object); the one the server sent before it never went through DER.
    assert.equal(takeCached(server.port)?.tls13, true);
    assert.deepEqual(takeCached(server.port), { tls13: true, encoded: null }, "a cached session was encoded");
    await resumedVisits(server.port, 2);
    // The cache holds the only reference to the tickets no connection offered or kept as its newest.
    const live = shim.jsec_live();
    clientSessions.clear();
    assert.ok(shim.jsec_live() < live, "clearing the cache freed the sessions only it held, at once");
  } finally {
    server.close();
  }
});

test("resumption: a held session for one name is not offered under another, even from that name's cache entry", async () => {
  const c = certs();
  const sni = { "other.test": { cert: c.other.cert, key: c.other.key } };
  const a = greeter({ ...pinned("TLSv1.3"), sni });
  try {
    await visit(a.port);
    const context = sharedContext(clientContext({ caCerts: [c.ca.cert] }));
    const addr = { transport: "tcp", hostname: "127.0.0.1", port: a.port } as const;
    const forLocalhost = clientSessions.take(serverKey(context, "127.0.0.1", "localhost", addr))!;
    // Planted under other.test's key: the shim still checks the session's certificate names the host.
    clientSessions.store(serverKey(context, "127.0.0.1", "other.test", addr), forLocalhost.session, true);
    const other = await visit(a.port, { servername: "other.test" });
    assert.equal(other.info.resumed, false);
    assert.equal(other.info.verified, true);
    assert.equal(subjectOf(other.info), "CN=other.test");
  } finally {
    a.close();
  }
});

test("resumption: many resumed connections leave no native object", async () => {
  clearSharedContexts();
  const before = await liveSettles(0, true); // earlier tests' connections hold their newest sessions until collected
  for (const v of VERSIONS) {
    const server = greeter(pinned(v));
    try {
      const visits = [await visit(server.port)];
      for (let i = 0; i < 4; i++) {
        visits.push(...await Promise.all(Array.from({ length: 5 }, () => visit(server.port))));
      }
      assert.ok(visits.filter((x) => x.info.resumed).length >= 15, `${v}: too few resumed`);
    } finally {
      server.close();
    }
  }
  clearSharedContexts(); // the sessions too; the connections' own are collected with them
  const left = await liveSettles(0, true); // the garbage collector may take an earlier test's late, never ours
  assert.ok(left <= before, `${left} native objects left, ${before} before`);
});

// ---------------------------------------------------------------- OpenSSL peers

for (const v of VERSIONS) {
  test(`resumption: openssl s_server, ${v}: our second connection resumes`, async () => {
    const c = certs();
    const flag = v === "TLSv1.3" ? "-tls1_3" : "-tls1_2";
    const server = await sServer({
      certFile: c.ecdsa.certFile,
      keyFile: c.ecdsa.keyFile,
      args: [flag, "-naccept", "2"],
    });
    try {
      for (const [n, resumed] of [[1, false], [2, true]] as const) {
        let conn: TlsConn | undefined;
        try {
          conn = await connect({
            hostname: "127.0.0.1",
            port: server.port,
            servername: "localhost",
            caCerts: [c.ca.cert],
          });
          const info = await conn.handshake();
          assert.equal(info.resumed, resumed, `connection ${n}`);
          assert.equal(info.verified, true);
          await conn.write(enc.encode(`from jsec ${n}\n`));
          await server.waitFor(new RegExp(`from jsec ${n}\\n`), "stdout");
          await server.write(`from s_server ${n}\n`);
          assert.equal(await readText(conn, 16), `from s_server ${n}\n`);
        } finally {
          await closeConn(conn);
        }
      }
      await server.waitFor(/Reused session-id/, "stdout");
    } finally {
      await server.stop();
    }
  });
}

const S_CLIENT_CASES = [
  { name: "TLS 1.3 tickets", args: ["-tls1_3"], protocol: "TLSv1\\.3" },
  { name: "TLS 1.2 tickets", args: ["-tls1_2"], protocol: "TLSv1\\.2" },
  { name: "TLS 1.2 session IDs", args: ["-tls1_2", "-no_ticket"], protocol: "TLSv1\\.2" },
];

for (const k of S_CLIENT_CASES) {
  test(`resumption: openssl s_client -sess_out/-sess_in against our mTLS server, ${k.name}: "Reused"`, async () => {
    const c = certs();
    const server = greeter({ requestCert: true, caCerts: [c.ca.cert] });
    const file = join(c.dir, `session-${k.name.replaceAll(" ", "-")}.pem`);
    const run = async (sessionArgs: string[]) => {
      const client = sClient(server.port, [
        ...k.args,
        ...sessionArgs,
        "-servername",
        "localhost",
        "-CAfile",
        c.ca.certFile,
        "-verify_return_error",
        "-cert",
        c.client.certFile,
        "-key",
        c.client.keyFile,
      ]);
      try {
        await client.waitFor(/hello\n/, "stdout"); // read: the TLS 1.3 tickets came before it
        client.endInput();
        await client.waitExit();
        return client.stdout;
      } finally {
        await client.stop();
      }
    };
    try {
      assert.match(await run(["-sess_out", file]), new RegExp(`New, ${k.protocol}`));
      assert.match(await run(["-sess_in", file]), new RegExp(`Reused, ${k.protocol}`));
      assert.deepEqual(server.seen.map((i) => i.resumed), [false, true]);
      assert.equal(subjectOf(server.seen[1]), "CN=client");
    } finally {
      server.close();
    }
  });
}
