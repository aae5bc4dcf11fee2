/**
 * Items by deadline: a binary min-heap that holds each item once and knows
 * where it is, so an item's deadline changes, and an item leaves, in
 * O(log n). The DTLS listener keeps its sessions here: its timer wakes for the
 * earliest deadline and touches only the sessions that are due, however many
 * are idle.
 *
 * @module
 */

/**
 * @internal A min-heap of items keyed by a deadline (ms since the epoch).
 *
 * @example
 * ```ts
 * const heap = new DeadlineHeap<string>();
 * heap.set("a", Date.now() + 1000);
 * heap.set("b", Date.now() + 10);
 * heap.takeDue(Date.now() + 20); // ["b"]
 * heap.earliest; // a's deadline
 * ```
 */
export class DeadlineHeap<T> {
  readonly #items: T[] = [];
  readonly #at: number[] = [];
  readonly #index = new Map<T, number>();

  /** How many items are held. */
  get size(): number {
    return this.#items.length;
  }

  /** The earliest deadline held; Infinity when empty. */
  get earliest(): number {
    return this.#items.length > 0 ? this.#at[0] : Infinity;
  }

  /** Puts `item` in at deadline `at`, or moves it there; an infinite deadline takes it out. */
  set(item: T, at: number): void {
    if (at === Infinity) return this.delete(item);
    const i = this.#index.get(item);
    if (i === undefined) {
      this.#items.push(item);
      this.#at.push(at);
      this.#index.set(item, this.#items.length - 1);
      return this.#up(this.#items.length - 1);
    }
    const before = this.#at[i];
    this.#at[i] = at;
    if (at < before) this.#up(i);
    else this.#down(i);
  }

  /** Takes `item` out, if it is held. */
  delete(item: T): void {
    const i = this.#index.get(item);
    if (i === undefined) return;
    const last = this.#items.length - 1;
    this.#swap(i, last);
    this.#items.pop();
    this.#at.pop();
    this.#index.delete(item);
    if (i < last) {
      this.#up(i);
      this.#down(i);
    }
  }

  /** Takes out and returns every item whose deadline is at or before `now`, earliest first. */
  takeDue(now: number): T[] {
    const due: T[] = [];
    while (this.#items.length > 0 && this.#at[0] <= now) {
      const item = this.#items[0];
      due.push(item);
      this.delete(item);
    }
    return due;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#at[parent] <= this.#at[i]) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    for (;;) {
      const left = 2 * i + 1;
      let least = i;
      if (left < this.#items.length && this.#at[left] < this.#at[least]) least = left;
      if (left + 1 < this.#items.length && this.#at[left + 1] < this.#at[least]) least = left + 1;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }

  #swap(i: number, j: number): void {
    if (i === j) return;
    [this.#items[i], this.#items[j]] = [this.#items[j], this.#items[i]];
    [this.#at[i], this.#at[j]] = [this.#at[j], this.#at[i]];
    this.#index.set(this.#items[i], i);
    this.#index.set(this.#items[j], j);
  }
}
