/**
 * A UDP socket for DTLS, over `node:dgram`: the same code under Deno (where
 * it needs only `--allow-net`; `Deno.listenDatagram` also needs
 * `--unstable-net`) and Bun. One datagram in, one callback.
 *
 * @module
 */
import { createSocket, type Socket } from "node:dgram";
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
  readonly #socket: Socket;
  /** Whether the socket is IPv6. */
  readonly ipv6: boolean;
  /** Where it is bound. */
  readonly addr: UdpAddr;
  #closed = false;
  #sending = 0;

  private constructor(socket: Socket, ipv6: boolean, addr: UdpAddr) {
    this.#socket = socket;
    this.ipv6 = ipv6;
    this.addr = addr;
  }

  /** Binds `hostname:port` (port 0: any free one); `onDatagram` gets every datagram. */
  static bind(hostname: string, port: number, onDatagram: DatagramHandler): Promise<UdpSocket> {
    const ipv6 = isIP(hostname) === 6;
    const socket = createSocket({ type: ipv6 ? "udp6" : "udp4" });
    return new Promise((resolve, reject) => {
      socket.once("error", (e: Error) => {
        socket.close();
        reject(
          new TlsError("CONNECTION_FAILED", `cannot bind UDP ${hostname}:${port}: ${e.message}`, {
            cause: e,
          }),
        );
      });
      socket.bind(port, hostname, () => {
        socket.removeAllListeners("error");
        socket.on("error", () => {}); // send errors (ICMP unreachable) lose a datagram, as UDP does
        const bound = socket.address();
        const udp = new UdpSocket(socket, ipv6, {
          transport: "udp",
          hostname: bound.address,
          port: bound.port,
        });
        socket.on("message", (data: Uint8Array, rinfo: { address: string; port: number }) => {
          onDatagram(data, { transport: "udp", hostname: rinfo.address, port: rinfo.port });
        });
        resolve(udp);
      });
    });
  }

  /** Sends one datagram (a copy is taken: `datagram` may be reused at once). */
  send(datagram: Uint8Array, to: UdpAddr): void {
    if (this.#closed) return;
    this.#transmit(datagram.slice(), to, true);
  }

  #transmit(datagram: Uint8Array, to: UdpAddr, retry: boolean): void {
    this.#sending++;
    this.#socket.send(datagram, to.port, to.hostname, (error: Error | null) => {
      // Bun reports an ICMP "port unreachable" for an earlier datagram (to a peer
      // that went away) on the next send, and drops that one: send it again.
      if (retry && (error as { code?: string } | null)?.code === "ECONNREFUSED" && !this.#closed) {
        this.#transmit(datagram, to, false);
      }
      if (--this.#sending === 0 && this.#closed) this.#socket.close();
    });
  }

  /** Closes the socket once the datagrams already sent have left (a close_notify, say). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sending === 0) this.#socket.close();
  }
}

/** A stable text key for an address: `host:port`, IPv6 in brackets. */
export function addrKey(addr: UdpAddr): string {
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}
