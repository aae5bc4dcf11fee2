/**
 * Deadlines for many connections on few runtime timers. Every connection
 * bounds its handshake (and its closing drain) by a deadline that is almost
 * always cancelled; a runtime timer each (`setTimeout` + `clearTimeout`,
 * ~1.1 µs and a timer object on Deno) was a cost per connection. Here
 * deadlines of one duration share a queue (they expire in the order they were
 * set) and the queue one runtime timer, armed for its oldest live deadline.
 * Cancelling is a flag; the queue drops cancelled deadlines as it goes. While
 * no deadline of a queue is live its timer stays armed but unreferenced (it
 * keeps no process up, and the next deadline references it again for ~0.05
 * µs instead of arming a new one); when it fires with nothing live, it stops.
 *
 * @module
 */
import { clearTimeout, setTimeout } from "node:timers";

type Timer = ReturnType<typeof setTimeout>;

/** The longest delay a runtime timer takes; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Deadlines of one duration, oldest first. */
class Queue {
  readonly ms: number;
  entries: Deadline[] = [];
  /** Index of the oldest entry still in {@link entries}. */
  head = 0;
  live = 0;
  timer: Timer | undefined;

  constructor(ms: number) {
    this.ms = ms;
  }

  /** Fires what expired, then arms the timer for the oldest live deadline left. */
  run(): void {
    this.#disarm();
    const now = performance.now();
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head];
      if (entry.fire !== null && entry.at > now) break;
      this.head++;
      const fire = entry.fire;
      if (fire === null) continue;
      entry.fire = null;
      this.live--;
      fire();
    }
    if (this.live > 0) return this.#settle();
    this.entries = [];
    this.head = 0;
    if (this.timer === undefined && queues.get(this.ms) === this) queues.delete(this.ms);
  }

  add(entry: Deadline): void {
    this.entries.push(entry);
    if (this.live++ === 0) this.timer?.ref();
    this.#settle();
  }

  cancel(): void {
    if (--this.live === 0) this.timer?.unref();
    else if (this.entries.length - this.head - this.live > 64) this.#settle();
  }

  /** Compacts the queue and arms the timer if it is not. Only while a deadline is live. */
  #settle(): void {
    const waiting = this.entries.length - this.head;
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    if (waiting - this.live > 64 && waiting > this.live * 2) { // mostly cancelled: keep the live ones
      this.entries = this.entries.slice(this.head).filter((e) => e.fire !== null);
      this.head = 0;
    }
    if (this.timer !== undefined) return; // armed for this deadline or an older one
    let oldest = this.entries[this.head];
    while (oldest.fire === null) oldest = this.entries[++this.head];
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(oldest.at - performance.now())));
    this.timer = setTimeout(() => this.run(), wait); // past MAX_TIMER_MS, run() arms it again
    armed++;
  }

  #disarm(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    armed--;
  }
}

const queues = new Map<number, Queue>();
/** Runtime timers armed for deadlines now, referenced or not. */
let armed = 0;

/**
 * @internal The runtime timers the deadlines hold now, and how many of them
 * keep the process up (those of queues with a live deadline).
 *
 * @example
 * ```ts
 * new Deadline(1000, () => {}).cancel();
 * console.log(deadlineTimers()); // { armed: 1, referenced: 0 }
 * ```
 */
export function deadlineTimers(): { armed: number; referenced: number } {
  let referenced = 0;
  for (const queue of queues.values()) if (queue.live > 0 && queue.timer !== undefined) referenced++;
  return { armed, referenced };
}

/** One pending deadline; {@link Deadline.cancel} it once what it bounds is over. */
export class Deadline {
  /** When it expires, `performance.now()` time. */
  readonly at: number;
  /** What it calls when it expires; null once fired or cancelled. */
  fire: (() => void) | null;
  readonly #queue: Queue;

  /**
   * Calls `fire` once `ms` milliseconds passed, unless cancelled first.
   *
   * @example
   * ```ts
   * const deadline = new Deadline(30_000, () => reject(new TlsError("HANDSHAKE_TIMEOUT", "…")));
   * try { await work; } finally { deadline.cancel(); }
   * ```
   */
  constructor(ms: number, fire: () => void) {
    this.at = performance.now() + ms;
    this.fire = fire;
    let queue = queues.get(ms);
    if (queue === undefined) queues.set(ms, queue = new Queue(ms));
    this.#queue = queue;
    queue.add(this);
  }

  /** Stops it from firing. Idempotent; a no-op once it fired. */
  cancel(): void {
    if (this.fire === null) return;
    this.fire = null;
    this.#queue.cancel();
  }
}
