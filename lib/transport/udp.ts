/**
 * A UDP socket for DTLS, over each runtime's own UDP: `Bun.udpSocket` under
 * Bun, `node:dgram` under Deno (where it needs only `--allow-net`;
 * `Deno.listenDatagram` would also need `--unstable-net`). One datagram in,
 * one callback.
 *
 * @module
 */
import { createSocket } from "node:dgram";
import { isIP } from "node:net";
import { TlsError } from "../errors.ts";

/** A UDP address, shaped like `Deno.NetAddr`. */
export interface UdpAddr {
  /** Always `"udp"`. */
  transport: "udp";
  /** The IP address. */
  hostname: string;
  /** The UDP port. */
  port: number;
}

/** Called with each datagram and where it came from. */
export type DatagramHandler = (datagram: Uint8Array, from: UdpAddr) => void;

/** What both runtimes' sockets give us. */
interface Backend {
  readonly port: number;
  readonly address: string;
  /** Sends; `done` is called once the datagram left (or failed: an ICMP error from before, say). */
  send(datagram: Uint8Array, to: UdpAddr, done: (refused: boolean) => void): void;
  close(): void;
}

/** The slice of `Bun.udpSocket` we use. */
interface BunUdp {
  readonly port: number;
  readonly address: { address: string };
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}
type BunUdpFactory = (options: {
  hostname: string;
  port: number;
  socket: { data(socket: BunUdp, data: Uint8Array, port: number, address: string): void; error?(): void };
}) => Promise<BunUdp>;

const bunUdpSocket = (globalThis as { Bun?: { udpSocket?: BunUdpFactory } }).Bun?.udpSocket;

async function bindBun(hostname: string, port: number, onDatagram: DatagramHandler): Promise<Backend> {
  const socket = await bunUdpSocket!({
    hostname,
    port,
    socket: {
      data: (_s, data, fromPort, fromAddress) =>
        onDatagram(data, { transport: "udp", hostname: fromAddress, port: fromPort }),
      error: () => {}, // a lost datagram, as UDP loses them
    },
  });
  return {
    port: socket.port,
    address: socket.address.address,
    send(datagram, to, done) {
      try {
        socket.send(datagram, to.port, to.hostname); // false (a full buffer) loses it, as UDP may
        done(false);
      } catch (e) {
        done((e as { code?: string }).code === "ECONNREFUSED");
      }
    },
    close: () => socket.close(),
  };
}

/**
 * Deno: node:dgram reports a missing `--allow-net` for the bind address out of
 * band, as an uncaught error; asking first turns it into a TlsError naming the flag.
 */
function checkDenoNet(hostname: string, port: number): void {
  const permissions = (globalThis as { Deno?: { permissions?: Deno.Permissions } }).Deno?.permissions;
  const host = `${isIP(hostname) === 6 ? `[${hostname}]` : hostname}:${port}`;
  if (permissions && permissions.querySync({ name: "net", host }).state !== "granted") {
    throw new Error(`Deno needs --allow-net=${hostname} (or --allow-net) to bind it`);
  }
}

function bindNode(hostname: string, port: number, onDatagram: DatagramHandler): Promise<Backend> {
  checkDenoNet(hostname, port);
  const socket = createSocket({ type: isIP(hostname) === 6 ? "udp6" : "udp4" });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, hostname, () => {
      socket.removeListener("error", reject);
      socket.on("error", () => {}); // a lost datagram, as UDP loses them
      socket.on("message", (data: Uint8Array, rinfo: { address: string; port: number }) => {
        onDatagram(data, { transport: "udp", hostname: rinfo.address, port: rinfo.port });
      });
      const bound = socket.address();
      resolve({
        port: bound.port,
        address: bound.address,
        send(datagram, to, done) {
          socket.send(datagram.slice(), to.port, to.hostname, (error: Error | null) => {
            done((error as { code?: string } | null)?.code === "ECONNREFUSED");
          });
        },
        close: () => socket.close(),
      });
    });
  });
}

/**
 * One bound UDP socket.
 *
 * @example
 * ```ts
 * const socket = await UdpSocket.bind("127.0.0.1", 0, (d, from) => console.log(d.length, from));
 * socket.send(new Uint8Array([1]), { transport: "udp", hostname: "127.0.0.1", port: 4444 });
 * socket.close();
 * ```
 */
export class UdpSocket {
  readonly #backend: Backend;
  /** Whether the socket is IPv6. */
  readonly ipv6: boolean;
  /** Where it is bound. */
  readonly addr: UdpAddr;
  #closed = false;
  #sending = 0;
  #sent: Array<() => void> = [];

  private constructor(backend: Backend, ipv6: boolean) {
    this.#backend = backend;
    this.ipv6 = ipv6;
    this.addr = { transport: "udp", hostname: backend.address, port: backend.port };
  }

  /** Binds `hostname:port` (port 0: any free one); `onDatagram` gets every datagram. */
  static async bind(hostname: string, port: number, onDatagram: DatagramHandler): Promise<UdpSocket> {
    try {
      const backend = await (bunUdpSocket ? bindBun : bindNode)(hostname, port, onDatagram);
      return new UdpSocket(backend, isIP(hostname) === 6);
    } catch (e) {
      throw new TlsError(
        "CONNECTION_FAILED",
        `cannot bind UDP ${hostname}:${port}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  }

  /** Sends one datagram (`datagram` may be reused at once). */
  send(datagram: Uint8Array, to: UdpAddr): void {
    if (!this.#closed) this.#transmit(datagram, to, true);
  }

  #transmit(datagram: Uint8Array, to: UdpAddr, retry: boolean): void {
    this.#sending++;
    this.#backend.send(datagram, to, (refused) => {
      // Both runtimes report an ICMP "port unreachable" for an earlier datagram
      // (to a peer that went away) on the next send, and drop that one: send it again.
      if (refused && retry && !this.#closed) this.#transmit(datagram, to, false);
      if (--this.#sending > 0) return;
      for (const resolve of this.#sent.splice(0)) resolve();
      if (this.#closed) this.#backend.close();
    });
  }

  /**
   * Resolves once every datagram handed to {@link send} so far has left (Deno's
   * node:dgram sends on a later turn: a process that exits at once would lose them).
   */
  sent(): Promise<void> {
    return this.#sending === 0 ? Promise.resolve() : new Promise((resolve) => this.#sent.push(resolve));
  }

  /** Closes the socket once the datagrams already sent have left (a close_notify, say). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sending === 0) this.#backend.close();
  }
}

/** A stable text key for an address: `host:port`, IPv6 in brackets. */
export function addrKey(addr: UdpAddr): string {
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}
