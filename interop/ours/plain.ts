/**
 * A plain TCP socket of the running runtime (Deno.Conn, or a Bun socket),
 * with just enough read/write for a plain-text prelude such as SMTP before
 * STARTTLS. `raw` is what the core's `upgrade()` takes.
 * @module
 */

/** A plain connection with pull-style reads. */
export interface PlainConn {
  read(buf: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  raw: unknown;
  /** Bun, accepted side: the handlers given to `Bun.listen`, which a server-side `upgrade()` needs. */
  listenerHandlers?: object;
}

interface BunSock {
  write(b: Uint8Array): number;
}
interface BunLike {
  connect(o: unknown): Promise<BunSock>;
  listen(o: unknown): { port: number; stop(): void };
}
const bunGlobal = (globalThis as { Bun?: BunLike }).Bun;

/** Connect (port > 0, no `listening`) or accept one connection (with `listening`). */
export async function openPlain(port: number, listening?: (port: number) => void): Promise<PlainConn> {
  return bunGlobal ? await openBun(bunGlobal, port, listening) : await openDeno(port, listening);
}

async function openDeno(port: number, listening?: (port: number) => void): Promise<PlainConn> {
  let conn: Deno.TcpConn;
  if (listening) {
    const l = Deno.listen({ hostname: "127.0.0.1", port });
    listening((l.addr as Deno.NetAddr).port);
    conn = (await l.accept()) as Deno.TcpConn;
    l.close();
  } else {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  }
  conn.setNoDelay(true);
  return { read: (b) => conn.read(b), write: (d) => conn.write(d), raw: conn };
}

/** Queue of received chunks for a Bun socket, read pull-style. */
class Inbox {
  chunks: Uint8Array[] = [];
  ended = false;
  wake: (() => void) | null = null;
  push(c: Uint8Array | null) {
    if (c) this.chunks.push(c.slice());
    else this.ended = true;
    const w = this.wake;
    this.wake = null;
    w?.();
  }
  async read(buf: Uint8Array): Promise<number | null> {
    for (let i = 0; i < 1000 && !this.chunks.length && !this.ended; i++) {
      await new Promise<void>((r) => (this.wake = r));
    }
    const c = this.chunks.shift();
    if (!c) return null;
    const n = Math.min(c.length, buf.length);
    buf.set(c.subarray(0, n));
    if (n < c.length) this.chunks.unshift(c.subarray(n));
    return n;
  }
}

async function openBun(bun: BunLike, port: number, listening?: (port: number) => void): Promise<PlainConn> {
  const inbox = new Inbox();
  const socket = {
    data: (_s: unknown, c: Uint8Array) => inbox.push(c),
    end: () => inbox.push(null),
    close: () => inbox.push(null),
  };
  let sock: BunSock;
  let listenerHandlers: object | undefined;
  if (listening) {
    let opened: (s: BunSock) => void = () => {};
    const first = new Promise<BunSock>((r) => (opened = r));
    listenerHandlers = { ...socket, open: (s: BunSock) => opened(s) };
    const server = bun.listen({ hostname: "127.0.0.1", port, socket: listenerHandlers });
    listening(server.port);
    sock = await first;
    server.stop();
  } else {
    sock = await bun.connect({ hostname: "127.0.0.1", port, socket });
  }
  return {
    read: (b) => inbox.read(b),
    write: (d) => Promise.resolve(sock.write(d)),
    raw: sock,
    listenerHandlers,
  };
}
