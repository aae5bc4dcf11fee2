/**
 * The stacks a Deno or Bun peer can speak: `ours` (@jsec/tls), `native`
 * (Deno's rustls or Bun's BoringSSL) and `tcp` (no TLS: the transport limit).
 *
 * @module
 */
import type { ConnectOptions, TlsConn } from "../../mod.ts";
import { readFileSync } from "node:fs";
import { BunConn, handlers } from "./bun_conn.ts";
import { noDelayOnListener } from "./nodelay.ts";
import type { BenchConn } from "./protocol.ts";
import { PushConn, pushHandlers } from "./push_conn.ts";

export type Stack = "ours" | "native" | "tcp";

/**
 * How ours is driven: `pull` is `TlsConn` (`await conn.read(buf)`, a read
 * buffer per connection), `push` the callback API (`connectSocket` /
 * `listenSocket`: data pushed through handlers, no read buffer).
 */
export type Api = "pull" | "push";

/** TLS settings shared by every stack that takes them. */
export interface TlsSettings {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** OpenSSL cipher string for ours (`TLS_*` names are TLS 1.3 suites). */
  ciphers?: string;
  /** Group lists for ours, tried in turn: the first one the libssl accepts. */
  groups?: string[];
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /** Ours as client: resume sessions (its default); otherwise every handshake is a full one. */
  resume?: boolean;
}

/** @jsec/tls, loaded only by peers that run it (so native peers never load libssl). */
let ours: typeof import("../../mod.ts") | undefined;
let oursEngine: typeof import("../../engine.ts") | undefined;

/** Loads what `stack` needs; call once before {@link listenStack} / {@link connectStack}. */
export async function loadStack(stack: Stack): Promise<void> {
  if (stack === "ours") {
    ours = await import("../../mod.ts");
    oursEngine = await import("../../engine.ts");
  }
}

export interface Listening {
  port: number;
  close(): void;
}

const isBun = "Bun" in globalThis;
// deno-lint-ignore no-explicit-any
const Bun = (globalThis as any).Bun;
const readFile = (path: string): string => readFileSync(path, "utf8");

/**
 * The read buffer a careful user keeps per connection: 16 KiB, doubled (up
 * to 64 KiB) whenever a read fills it — small for idle connections, big for
 * bulk. Used alike for ours and for Deno's own connections.
 */
class ReadBuffer {
  #buf = new Uint8Array(16 * 1024);
  async read(from: (into: Uint8Array) => Promise<number | null>): Promise<Uint8Array | null> {
    const buf = this.#buf;
    const n = await from(buf);
    if (n === buf.length && n < 64 * 1024) this.#buf = new Uint8Array(n * 2);
    return n === null ? null : buf.subarray(0, n);
  }
}

function oursConn(conn: TlsConn): BenchConn {
  const buffer = new ReadBuffer();
  return {
    read: () => buffer.read((b) => conn.read(b)),
    async write(bytes) {
      await conn.write(bytes);
    },
    close: () => conn.close(),
    async info() {
      const i = await conn.handshake();
      return { protocol: i.protocol, cipher: i.cipher, group: i.group };
    },
  };
}

function denoConn(conn: Deno.Conn): BenchConn {
  const buffer = new ReadBuffer();
  return {
    read: () => buffer.read((b) => conn.read(b)),
    async write(bytes) {
      for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
    },
    close: () => {
      try {
        conn.close();
      } catch { /* already closed */ }
    },
  };
}

/** Listens on 127.0.0.1 with `stack`, handing each connection to `onConn`. */
export function listenStack(
  stack: Stack,
  tls: TlsSettings,
  onConn: (c: BenchConn) => void,
  api: Api = "pull",
): Listening {
  const cert = readFile(tls.certFile), key = readFile(tls.keyFile);
  const oursServer = (groups: string | string[] | undefined) => ({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
    ciphers: tls.ciphers,
    groups,
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
  });
  if (stack === "ours" && api === "push") {
    const server = firstAccepted(tls.groups, (groups) =>
      ours!.listenSocket<PushConn | undefined>({
        ...oursServer(groups),
        socket: {
          ...pushHandlers,
          handshake(s, ok) {
            if (!ok) return;
            s.data = new PushConn(s);
            onConn(s.data);
          },
        },
      }));
    return { port: server.port, close: () => server.stop(true) };
  }
  if (stack === "ours") {
    const server = firstAccepted(tls.groups, (groups) => ours!.listen(oursServer(groups)));
    (async () => {
      for await (const conn of server) onConn(oursConn(conn));
    })();
    return { port: (server.addr as { port: number }).port, close: () => server.close() };
  }
  if (isBun) {
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      ...(stack === "native" ? { tls: { cert, key, secureOptions: noTls13(tls) } } : {}),
      socket: {
        ...handlers,
        open(s: { data: BunConn; setNoDelay(b: boolean): void }) {
          s.setNoDelay(true);
          s.data = new BunConn(s);
          onConn(s.data);
        },
      },
    });
    return { port: listener.port, close: () => listener.stop(true) };
  }
  const listener = stack === "native"
    ? Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key })
    : Deno.listen({ hostname: "127.0.0.1", port: 0 });
  if (stack === "native" && !noDelayOnListener((listener.addr as Deno.NetAddr).port)) {
    throw new Error("cannot set TCP_NODELAY on the Deno.listenTls socket");
  }
  (async () => {
    for await (const conn of listener) {
      (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
      onConn(denoConn(conn));
    }
  })().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, close: () => listener.close() };
}

/** BoringSSL's SSL_OP_NO_TLSv1_3, the one way to cap Bun's TLS at 1.2. */
const noTls13 = (tls: TlsSettings) => tls.maxVersion === "TLSv1.2" ? 0x20000000 : 0;

let caPem: string | undefined;
let groupsFor: string | undefined;
let groupsChosen = false;

/** Calls `make` with each group list in turn until one is accepted (none given: once, with none). */
function firstAccepted<T>(lists: string[] | undefined, make: (groups: string | undefined) => T): T {
  if (!lists?.length) return make(undefined);
  for (let i = 0;; i++) {
    try {
      return make(lists[i]);
    } catch (e) {
      if (i === lists.length - 1) throw e;
    }
  }
}

/** Connects to 127.0.0.1:`port` with `stack`; resolves once the handshake is done. */
export async function connectStack(
  stack: Stack,
  port: number,
  tls: TlsSettings,
  api: Api = "pull",
): Promise<BenchConn> {
  caPem ??= readFile(tls.caFile);
  if (stack === "ours") {
    if (!groupsChosen) {
      groupsFor = firstAccepted(tls.groups, (groups) => {
        if (groups) new oursEngine!.TlsContext({ groups }).free(); // throws INVALID_OPTION for a group this libssl lacks
        return groups;
      });
      groupsChosen = true;
    }
    const options = {
      hostname: "127.0.0.1",
      port,
      servername: "localhost",
      caCerts: [caPem],
      ciphers: tls.ciphers,
      groups: groupsFor,
      minVersion: tls.minVersion,
      maxVersion: tls.maxVersion,
      resumption: tls.resume ?? false,
    };
    if (api === "push") return await connectPush(options);
    return oursConn(await ours!.connect(options));
  }
  if (isBun) {
    let conn: BunConn | undefined;
    let handshaken: () => void;
    let failed: (e: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      handshaken = resolve;
      failed = reject;
    });
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      ...(stack === "native"
        ? { tls: { ca: caPem, serverName: "localhost", secureOptions: noTls13(tls) } }
        : {}),
      socket: {
        ...handlers,
        open(s: { data: BunConn; setNoDelay(b: boolean): void }) {
          s.setNoDelay(true);
          conn = s.data = new BunConn(s);
          if (stack !== "native") handshaken();
        },
        handshake(_s: unknown, success: boolean, error: Error) {
          if (success) handshaken();
          else failed(error ?? new Error("handshake failed"));
        },
        connectError: (_s: unknown, e: Error) => failed(e),
        close(s: { data?: BunConn }, e?: Error) {
          failed(e ?? new Error("closed before the handshake")); // no-op once it succeeded
          s.data?.onEnd(e);
        },
      },
    });
    await ready;
    return conn ?? (socket.data = new BunConn(socket));
  }
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  tcp.setNoDelay(true);
  if (stack === "tcp") return denoConn(tcp);
  const conn = await Deno.startTls(tcp, { hostname: "localhost", caCerts: [caPem] });
  await conn.handshake();
  return denoConn(conn);
}

/** Ours through the callback API; resolves once the handshake succeeded. */
function connectPush(options: ConnectOptions): Promise<BenchConn> {
  return new Promise<BenchConn>((resolve, reject) => {
    ours!.connectSocket<PushConn | undefined>({
      ...options,
      socket: {
        ...pushHandlers,
        handshake(s, ok, error) {
          if (!ok) return reject(error);
          s.data = new PushConn(s);
          resolve(s.data);
        },
        close(s, e) {
          reject(e ?? new Error("closed before the handshake")); // no-op once it succeeded
          s.data?.onEnd(e);
        },
      },
    }).catch(reject);
  });
}
