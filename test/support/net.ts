/**
 * Plain TCP peers for tests, on `node:net` (which both runtimes provide):
 * a server that misbehaves on purpose, a proxy that can cut a connection,
 * and a bounded wait for a `node:net` / `node:tls` socket's event.
 *
 * @module
 */
import type { EventEmitter } from "node:events";
import net from "node:net";
import { bounded } from "./conn.ts";

/**
 * Resolves when `socket` emits `event` (such as "connect" or "secureConnect");
 * rejects on its "error" first, or after `timeoutMs`.
 */
export function socketEvent(socket: EventEmitter, event: string, timeoutMs = 10_000): Promise<void> {
  return bounded(
    new Promise<void>((resolve, reject) => {
      socket.once(event, () => resolve());
      socket.once("error", reject);
    }),
    timeoutMs,
    `the socket's "${event}"`,
  );
}

/** A listening plain TCP server; `await using` closes it at the end of its block. */
export interface PlainServer extends AsyncDisposable {
  port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 and hands each connection to `onConnection`. */
export async function plainServer(onConnection: (socket: net.Socket) => void): Promise<PlainServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return {
    port: (server.address() as net.AddressInfo).port,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A TCP proxy to `127.0.0.1:target` whose connections can be cut (FIN both ways, no TLS close). */
export interface CuttingProxy extends PlainServer {
  /** Bytes that went from the server to the client so far. */
  readonly toClient: number;
  /** Ends every proxied connection now, as a peer that vanished would. */
  cut(): void;
}

/** Starts a {@link CuttingProxy}. */
export async function cuttingProxy(target: number): Promise<CuttingProxy> {
  const pairs: [net.Socket, net.Socket][] = [];
  let toClient = 0;
  const server = await plainServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    upstream.on("error", () => {});
    upstream.on("data", (d: Uint8Array) => {
      toClient += d.length;
      client.write(d);
    });
    client.on("data", (d: Uint8Array) => upstream.write(d));
    pairs.push([client, upstream]);
  });
  return {
    ...server,
    get toClient() {
      return toClient;
    },
    cut() {
      for (const [client, upstream] of pairs) {
        client.end();
        upstream.destroy();
      }
    },
  };
}
