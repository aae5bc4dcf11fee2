/**
 * A UDP relay that loses, duplicates, delays and so reorders datagrams, from
 * a seeded generator: what a bad network does, made repeatable. One client at
 * a time: datagrams from it go to `target`, the target's answers back to it.
 *
 * @module
 */
import { type UdpAddr, UdpSocket } from "../../lib/transport/udp.ts";

/** How bad the path is; each a probability per datagram. */
export interface Impairment {
  loss: number;
  duplicate: number;
  /** Probability that a datagram is held back for up to `maxDelayMs` (reordering it). */
  delay: number;
  maxDelayMs: number;
}

/** Counters of what the relay did. */
export interface RelayStats {
  forwarded: number;
  lost: number;
  duplicated: number;
  delayed: number;
}

/** A small seeded PRNG (mulberry32). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The relay: connect clients to `addr`. */
export class LossyRelay {
  readonly stats: RelayStats = { forwarded: 0, lost: 0, duplicated: 0, delayed: 0 };
  #front!: UdpSocket;
  #back!: UdpSocket;
  #client: UdpAddr | null = null;
  #timers = new Set<ReturnType<typeof setTimeout>>();

  private constructor(
    readonly target: UdpAddr,
    readonly impairment: Impairment,
    readonly next: () => number,
  ) {}

  /** Starts a relay to `target` on a free loopback port. */
  static async start(target: UdpAddr, impairment: Impairment, seed: number): Promise<LossyRelay> {
    const relay = new LossyRelay(target, impairment, random(seed));
    relay.#front = await UdpSocket.bind("127.0.0.1", 0, (d, from) => {
      relay.#client = from;
      relay.#pass(d, relay.#back, target);
    });
    relay.#back = await UdpSocket.bind("127.0.0.1", 0, (d) => {
      if (relay.#client) relay.#pass(d, relay.#front, relay.#client);
    });
    return relay;
  }

  /** Where clients send. */
  get addr(): UdpAddr {
    return this.#front.addr;
  }

  #pass(datagram: Uint8Array, out: UdpSocket, to: UdpAddr): void {
    const { loss, duplicate, delay, maxDelayMs } = this.impairment;
    if (this.next() < loss) {
      this.stats.lost++;
      return;
    }
    const copies = this.next() < duplicate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    const bytes = datagram.slice();
    for (let i = 0; i < copies; i++) {
      if (this.next() < delay) {
        this.stats.delayed++;
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          out.send(bytes, to);
        }, Math.floor(this.next() * maxDelayMs));
        this.#timers.add(timer);
      } else {
        out.send(bytes, to);
      }
      this.stats.forwarded++;
    }
  }

  /** Stops relaying. */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#front.close();
    this.#back.close();
  }
}
