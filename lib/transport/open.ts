/**
 * Opens, wraps and accepts {@link ByteStream}s with the running runtime's own
 * sockets: `Deno.connect` / `Deno.listen` or `Bun.connect` / `Bun.listen`.
 *
 * @module
 */
import { TlsError } from "../errors.ts";
import { bun, type BunHandlers, type BunSocket } from "./bun_api.ts";
import { BunStream, bunStreamHandlers } from "./bun_stream.ts";
import { DenoStream } from "./deno_stream.ts";
import type { Addr, ByteStream } from "./stream.ts";

const isBun = "Bun" in globalThis;

/** Where to connect: TCP host and port, or a Unix socket path. */
export type Endpoint = { hostname: string; port: number } | { path: string };

/** Connects to `endpoint`; `CONNECTION_FAILED` when it cannot. */
export async function openStream(endpoint: Endpoint): Promise<ByteStream> {
  try {
    if (isBun) {
      const where = "path" in endpoint ? { unix: endpoint.path } : endpoint;
      const unixPath = "path" in endpoint ? endpoint.path : undefined;
      let stream: BunStream | undefined;
      const socket = await bun().connect<BunStream>({
        ...where,
        socket: {
          ...bunStreamHandlers,
          open: (s) => {
            stream = s.data = new BunStream(s, { unixPath });
          },
        },
      });
      return stream ?? (socket.data = new BunStream(socket, { unixPath }));
    }
    const conn = "path" in endpoint
      ? await Deno.connect({ transport: "unix", path: endpoint.path })
      : await Deno.connect({ hostname: endpoint.hostname, port: endpoint.port });
    return new DenoStream(conn);
  } catch (e) {
    const where = "path" in endpoint ? endpoint.path : `${endpoint.hostname}:${endpoint.port}`;
    throw new TlsError("CONNECTION_FAILED", `cannot connect to ${where}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * A connected socket from `Bun.connect` / `Bun.listen`, typed by the one
 * method we rely on so that this module needs no Bun types.
 */
export interface BunTcpSocket {
  /** Replaces the socket's callbacks (we install ours). */
  reload(handlers: never): void;
}

/** A plain connection of the runtime: a `Deno.Conn` or a Bun socket. */
export type PlainConn = Deno.Conn | BunTcpSocket;

/**
 * Takes over a connected plain socket. `head` is bytes already read from it
 * that belong to what follows. On Bun the socket's handlers are replaced; a
 * socket accepted by `Bun.listen` shares them with every socket of its
 * listener, so `listenerHandlers` (the ones that listener was given) must keep
 * serving the others: `INVALID_OPTION` without them.
 */
export function wrapStream(conn: PlainConn, head?: Uint8Array, listenerHandlers?: object): ByteStream {
  if (isBun && "reload" in conn) {
    const socket = conn as unknown as BunSocket<BunStream>;
    const shared = socket.listener !== undefined;
    if (shared && (typeof listenerHandlers !== "object" || listenerHandlers === null)) {
      throw new TlsError(
        "INVALID_OPTION",
        "upgrade() of a socket accepted by Bun.listen needs `listenerHandlers`: the `socket` handlers given " +
          "to Bun.listen (Bun shares them among all the listener's sockets, so they must keep serving the others)",
      );
    }
    const stream = new BunStream(socket, { head });
    socket.data = stream;
    socket.reload({ socket: shared ? routing(listenerHandlers as BunHandlers<unknown>) : bunStreamHandlers });
    return stream;
  }
  if (typeof (conn as Deno.Conn).read !== "function") {
    throw new TlsError("INVALID_OPTION", "upgrade() needs a Deno.Conn or a Bun socket");
  }
  return new DenoStream(conn as Deno.Conn, head);
}

const handlerNames = ["open", "data", "drain", "end", "close", "error", "timeout"] as const;

/**
 * Handlers for a whole Bun listener: a socket upgraded to TLS (its `data` is
 * a {@link BunStream}) goes to the stream, every other one to the
 * application's own handlers, as before.
 */
function routing(app: BunHandlers<unknown>): BunHandlers<unknown> {
  const routed: Record<string, (socket: BunSocket<unknown>, ...args: unknown[]) => void> = {};
  for (const name of handlerNames) {
    const ours = (bunStreamHandlers as Record<string, ((...a: unknown[]) => void) | undefined>)[name];
    const theirs = (app as Record<string, ((...a: unknown[]) => void) | undefined>)[name];
    if (!ours && !theirs) continue;
    routed[name] = (socket, ...args) => {
      if (socket.data instanceof BunStream) ours?.(socket, ...args);
      else theirs?.call(app, socket, ...args);
    };
  }
  return routed as BunHandlers<unknown>;
}

/** A source of accepted streams. */
export interface StreamListener {
  readonly addr: Addr;
  /** The next accepted stream, or null once closed. */
  accept(): Promise<ByteStream | null>;
  close(): void;
  ref(): void;
  unref(): void;
}

/**
 * Whether this runtime lets sockets share a port (`reusePort`): Bun does;
 * Deno only with `--unstable-net` (without it, `Deno.listen({ reusePort })`
 * ends the process). That flag is what exposes `Deno.listenDatagram`.
 */
export function reusePortAvailable(): boolean {
  return isBun || typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram === "function";
}

/** The first and the longest wait after a failed accept (doubling in between). */
const ACCEPT_RETRY_MIN_MS = 10;
const ACCEPT_RETRY_MAX_MS = 1_000;

/**
 * Listens on TCP `hostname:port` (port 0 picks a free one) or a Unix socket
 * `path`. `onAcceptError` hears each failed accept (e.g. EMFILE: no file
 * descriptor left), after which the listener waits before it tries again.
 */
export function listenStreams(
  where: { hostname: string; port: number; reusePort?: boolean } | { path: string },
  onAcceptError?: (error: TlsError) => void,
): StreamListener {
  return isBun ? listenBun(where) : listenDeno(where, onAcceptError);
}

function listenDeno(
  where: { hostname: string; port: number; reusePort?: boolean } | { path: string },
  onAcceptError?: (error: TlsError) => void,
): StreamListener {
  const listener = "path" in where
    ? Deno.listen({ transport: "unix", path: where.path })
    : Deno.listen({ hostname: where.hostname, port: where.port, reusePort: where.reusePort });
  let closed = false;
  let retryMs = 0;
  let wakeRetry: (() => void) | null = null;
  return {
    addr: listener.addr as Addr,
    async accept() {
      for (;;) {
        if (closed) return null;
        try {
          const conn = await listener.accept();
          retryMs = 0;
          return new DenoStream(conn);
        } catch (e) {
          if (closed || e instanceof Deno.errors.BadResource) return null;
          // A connection that died in the accept queue must not stop the listener, and an error
          // that persists (EMFILE) must not spin: the pending connection fails every accept at once.
          retryMs = Math.min(retryMs * 2 || ACCEPT_RETRY_MIN_MS, ACCEPT_RETRY_MAX_MS);
          const why = `cannot accept a connection: ${(e as Error).message}; retrying in ${retryMs} ms`;
          try {
            onAcceptError?.(new TlsError("CONNECTION_FAILED", why, { cause: e }));
          } catch {
            // the listener goes on whatever the callback does
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, retryMs);
            wakeRetry = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wakeRetry = null;
        }
      }
    },
    close() {
      if (closed) return;
      closed = true;
      listener.close();
      wakeRetry?.();
    },
    ref: () => listener.ref(),
    unref: () => listener.unref(),
  };
}

function listenBun(
  where: { hostname: string; port: number; reusePort?: boolean } | { path: string },
): StreamListener {
  const queue: ByteStream[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  const listener = bun().listen<BunStream>({
    ...("path" in where ? { unix: where.path } : where),
    socket: {
      ...bunStreamHandlers,
      open: (socket) => {
        socket.data = new BunStream(socket, { unixPath: "path" in where ? where.path : undefined });
        queue.push(socket.data);
        wake?.();
      },
    },
  });
  const addr: Addr = "path" in where
    ? { transport: "unix", path: where.path }
    : { transport: "tcp", hostname: listener.hostname, port: listener.port };
  return {
    addr,
    async accept() {
      while (queue.length === 0) {
        if (closed) return null;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
      return queue.shift()!;
    },
    close() {
      if (closed) return;
      closed = true;
      listener.stop(false);
      for (const stream of queue.splice(0)) stream.close();
      wake?.();
    },
    ref: () => listener.ref(),
    unref: () => listener.unref(),
  };
}
