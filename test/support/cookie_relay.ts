/**
 * A UDP relay between one DTLS client and a listener that sees the cookie
 * exchange (RFC 6347 §4.2.1): it notes the type of each handshake message the
 * listener sends, can run a hook just before it passes on the first
 * HelloVerifyRequest (e.g. to rotate the cookie secret while the client holds
 * a cookie), and can alter the cookie of the next ClientHello that returns one.
 *
 * @module
 */
import { type UdpAddr, UdpSocket } from "../../lib/transport/udp.ts";

/** Handshake message types (RFC 6347 §4.3.2). */
export const HELLO_VERIFY_REQUEST = 3;
export const SERVER_HELLO = 2;

/** The handshake message type of a plaintext (epoch 0) handshake record, or -1. */
function messageType(datagram: Uint8Array): number {
  const epoch = (datagram[3] << 8) | datagram[4];
  return datagram.length > 13 && datagram[0] === 22 && epoch === 0 ? datagram[13] : -1;
}

/** Where a ClientHello's cookie starts (its length byte), or -1 when it is not a ClientHello. */
function cookieAt(datagram: Uint8Array): number {
  if (messageType(datagram) !== 1) return -1;
  const sessionId = 13 + 12 + 2 + 32; // record header, handshake header, client_version, random
  return sessionId + 1 + datagram[sessionId];
}

/** The relay; `close()` stops it. */
export class CookieRelay {
  /** The handshake message types the listener sent, in order (its first message of each datagram). */
  readonly fromServer: number[] = [];
  /** The length of the cookie each ClientHello carried, in order. */
  readonly cookieLengths: number[] = [];
  /** Runs once, before the first HelloVerifyRequest goes on to the client. */
  beforeHelloVerify: (() => void) | null = null;
  /** Flip a bit of the next cookie a ClientHello returns. */
  alterNextCookie = false;
  #front!: UdpSocket;
  #back!: UdpSocket;
  #client: UdpAddr | null = null;

  private constructor(readonly target: UdpAddr) {}

  /** Starts a relay to `target` on a free loopback port. */
  static async start(target: UdpAddr): Promise<CookieRelay> {
    const relay = new CookieRelay(target);
    relay.#front = await UdpSocket.bind("127.0.0.1", 0, (d, from) => {
      relay.#client = from;
      relay.#back.send(relay.#toServer(d.slice()), target);
    });
    relay.#back = await UdpSocket.bind("127.0.0.1", 0, (d) => {
      const type = messageType(d);
      if (type >= 0) relay.fromServer.push(type);
      if (type === HELLO_VERIFY_REQUEST && relay.beforeHelloVerify) {
        relay.beforeHelloVerify();
        relay.beforeHelloVerify = null;
      }
      if (relay.#client) relay.#front.send(d.slice(), relay.#client);
    });
    return relay;
  }

  #toServer(datagram: Uint8Array): Uint8Array {
    const at = cookieAt(datagram);
    if (at < 0 || at >= datagram.length) return datagram;
    const length = datagram[at];
    this.cookieLengths.push(length);
    if (length > 0 && this.alterNextCookie) {
      this.alterNextCookie = false;
      datagram[at + 1 + (length >> 1)] ^= 0x01;
    }
    return datagram;
  }

  /** Where the client sends. */
  get addr(): UdpAddr {
    return this.#front.addr;
  }

  /** Stops relaying. */
  close(): void {
    this.#front.close();
    this.#back.close();
  }
}
