/**
 * The datagram stacks a Deno or Bun peer can speak: `dtls` (@jsec/tls/dtls,
 * ours ↔ ours) and `udp` (the runtime's own UDP with no security: `node:dgram`
 * under Deno, `Bun.udpSocket` under Bun — the sockets our DTLS runs on, used
 * directly, as the reference). Servers echo every message to its sender.
 *
 * @module
 */
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import type { TlsSettings } from "./stacks.ts";

export type DatagramStack = "dtls" | "udp";

/** Whether `stack` is a datagram stack (served by this file, not by stacks.ts). */
export const isDatagramStack = (stack: string): stack is DatagramStack => stack === "dtls" || stack === "udp";

/**
 * The path MTU both DTLS sides are given: the IPv4 loopback carries 1500-byte
 * packets, and the default (1280, the IPv6 minimum) leaves less than 1200
 * bytes of message on IPv6 paths; the plain UDP reference has no such limit.
 */
export const DTLS_BENCH_MTU = 1500;

/** One association as the benchmark sees it: whole messages, each one datagram. */
export interface DatagramConn {
  /** Sends one message (the caller may reuse it at once); DTLS rejects a message that does not fit. */
  send(message: Uint8Array): Promise<void> | void;
  /** The next message; null once closed. */
  receive(): Promise<Uint8Array | null>;
  close(): void;
  /** The largest message `send` takes (plain UDP: the largest datagram). */
  maxMessage: number;
  /** What was negotiated, for the table's "negotiated" column (plain UDP: nothing). */
  negotiated?: string;
}

/** A bound server, echoing. */
export interface DatagramListening {
  port: number;
  close(): void;
}

/** @jsec/tls/dtls, loaded only by the peers that run it. */
let dtls: typeof import("../../dtls.ts") | undefined;

/** Loads what `stack` needs; call once before listening or connecting. */
export async function loadDatagramStack(stack: DatagramStack): Promise<void> {
  if (stack === "dtls") dtls = await import("../../dtls.ts");
}

const readFile = (path: string): string => readFileSync(path, "utf8");
/** The `Bun.udpSocket` callbacks' socket, as far as the bench uses it. */
interface BunUdp {
  port: number;
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}
type BunUdpFactory = (options: {
  hostname: string;
  port: number;
  socket: { data(socket: BunUdp, data: Uint8Array, port: number, address: string): void; error(): void };
}) => Promise<BunUdp>;
const bunUdp = (globalThis as { Bun?: { udpSocket: BunUdpFactory } }).Bun?.udpSocket;

/** Binds a plain UDP socket on 127.0.0.1 (the runtime's own API); `onMessage` gets each datagram. */
async function bindUdp(
  port: number,
  onMessage: (data: Uint8Array, port: number, address: string) => void,
): Promise<{ port: number; send(data: Uint8Array, port: number, address: string): void; close(): void }> {
  if (bunUdp) {
    const s = await bunUdp({
      hostname: "127.0.0.1",
      port,
      // An ICMP "port unreachable" from a peer that left, reported on a later receive or send,
      // loses a datagram, as UDP may; unhandled, Bun throws it out of the event loop.
      socket: { data: (_s, d, p, a) => onMessage(d, p, a), error: () => {} },
    });
    return {
      port: s.port,
      send(d, p, a) {
        try {
          s.send(d, p, a);
        } catch { /* lost, as above */ }
      },
      close: () => s.close(),
    };
  }
  const s: Socket = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind(port, "127.0.0.1", () => resolve());
  });
  s.on("message", (d: Uint8Array, r: { port: number; address: string }) => onMessage(d, r.port, r.address));
  s.on("error", () => {}); // a lost datagram, as UDP loses them
  return { port: s.address().port, send: (d, p, a) => s.send(d, p, a), close: () => s.close() };
}

/** Listens on 127.0.0.1 with `stack`, echoing every message to its sender. */
export async function listenDatagram(stack: DatagramStack, tls: TlsSettings): Promise<DatagramListening> {
  if (stack === "udp") {
    const socket = await bindUdp(0, (data, port, address) => socket.send(data, port, address));
    return socket;
  }
  const listener = dtls!.listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: readFile(tls.certFile),
    key: readFile(tls.keyFile),
    mtu: DTLS_BENCH_MTU,
  });
  await listener.ready;
  (async () => {
    for await (const conn of listener) {
      (async () => {
        for await (const message of conn) await conn.send(message);
      })().catch(() => {}); // a peer that went away ends only its own loop
    }
  })();
  return { port: listener.addr.port, close: () => listener.close() };
}

/** Messages in arrival order, for the plain UDP client. */
class Inbox {
  #queue: Uint8Array[] = [];
  #waiters: ((m: Uint8Array | null) => void)[] = [];
  #closed = false;

  push(message: Uint8Array): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(message);
    else this.#queue.push(message);
  }

  take(): Promise<Uint8Array | null> {
    const next = this.#queue.shift();
    if (next) return Promise.resolve(next);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
  }
}

/** Connects to 127.0.0.1:`port` with `stack` (DTLS: resolves after the handshake). */
export async function connectDatagram(
  stack: DatagramStack,
  port: number,
  tls: TlsSettings,
): Promise<DatagramConn> {
  if (stack === "udp") {
    const inbox = new Inbox();
    const socket = await bindUdp(0, (data) => inbox.push(data));
    return {
      send: (message) => socket.send(message, port, "127.0.0.1"),
      receive: () => inbox.take(),
      close() {
        inbox.close();
        socket.close();
      },
      maxMessage: 65507,
    };
  }
  const conn = await dtls!.connect({
    hostname: "127.0.0.1",
    port,
    servername: "localhost",
    caCerts: [readFile(tls.caFile)],
    mtu: DTLS_BENCH_MTU,
  });
  const info = await conn.handshake();
  return {
    send: (message) => conn.send(message),
    receive: () => conn.receive(),
    close: () => conn.close(),
    maxMessage: conn.maxMessageSize,
    negotiated: `${info.protocol} ${info.cipher} ${info.group ?? "?"}, mtu ${DTLS_BENCH_MTU}`,
  };
}
