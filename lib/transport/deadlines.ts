/**
 * Deadlines for many connections on few runtime timers. Every connection
 * bounds its handshake (and its closing drain) by a deadline that is almost
 * always cancelled; a runtime timer each (`setTimeout` + `clearTimeout`, ~1 µs
 * and a timer object on Deno) was a cost per connection. Here deadlines of one
 * duration share a queue (they expire in the order they were set) and the
 * queue one runtime timer, armed for its oldest live deadline. Cancelling is a
 * flag; the queue drops cancelled deadlines as it goes, and its timer is
 * cleared once no deadline in it is live, so nothing keeps the process up.
 *
 * @module
 */

/** Deadlines of one duration, oldest first. */
class Queue {
  readonly ms: number;
  entries: Deadline[] = [];
  /** Index of the oldest entry still in {@link entries}. */
  head = 0;
  live = 0;
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.ms = ms;
  }

  /** Fires what expired, then arms the timer for the oldest live deadline left. */
  run(): void {
    this.timer = undefined;
    armed--;
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
    this.#settle();
  }

  /** A live deadline was added or removed: arm, compact or drop the queue. */
  #settle(): void {
    if (this.live === 0) {
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
        armed--;
      }
      if (queues.get(this.ms) === this) queues.delete(this.ms);
      return;
    }
    const waiting = this.entries.length - this.head;
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    if (waiting - this.live > 64 && waiting > this.live * 2) { // mostly cancelled: keep the live ones
      this.entries = this.entries.slice(this.head).filter((e) => e.fire !== null);
      this.head = 0;
    }
    if (this.timer === undefined) {
      let oldest = this.entries[this.head];
      while (oldest.fire === null) oldest = this.entries[++this.head];
      const run = () => this.run();
      this.timer = setTimeout(run, Math.max(0, Math.ceil(oldest.at - performance.now())));
      armed++;
    }
  }

  add(entry: Deadline): void {
    this.entries.push(entry);
    this.live++;
    this.#settle();
  }

  cancel(): void {
    this.live--;
    if (this.live === 0 || this.entries.length - this.head - this.live > 64) this.#settle();
  }
}

const queues = new Map<number, Queue>();
/** Runtime timers armed for deadlines now. */
let armed = 0;

/**
 * @internal How many runtime timers the deadlines hold now: 0 once none is live.
 *
 * @example
 * ```ts
 * new Deadline(1000, () => {}).cancel();
 * console.log(armedDeadlineTimers()); // 0
 * ```
 */
export function armedDeadlineTimers(): number {
  return armed;
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
