/**
 * One timer for many sessions: armed for the earliest deadline among them
 * (the listener keeps its sessions in a `DeadlineHeap` to find it).
 * A listener with ten thousand sessions runs one `setTimeout`, not ten thousand.
 *
 * @module
 */

/** @internal Calls `fire(now)` at the earliest scheduled time; `fire` returns the next one. */
export class DeadlineTimer {
  readonly #fire: (now: number) => number;
  #at = Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(fire: (now: number) => number) {
    this.#fire = fire;
  }

  /** Makes sure the timer fires no later than `at` (ms since the epoch). */
  schedule(at: number): void {
    if (at >= this.#at) return;
    this.#arm(at);
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = at;
    if (at === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#at = Infinity;
      this.#timer = undefined;
      this.#arm(this.#fire(Date.now()));
    }, Math.max(0, at - Date.now()));
  }

  /** Stops the timer. */
  stop(): void {
    this.#arm(Infinity);
  }
}
