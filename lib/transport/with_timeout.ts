/**
 * Waits for a promise, but no longer than a deadline.
 *
 * @module
 */
import { Deadline } from "./deadlines.ts";

/**
 * Resolves when `p` settles (either way) or after `ms`, whichever is first;
 * never rejects. For best-effort waits such as letting an alert leave.
 *
 * @example
 * ```ts
 * await withTimeout(pump.flush(), 200); // the alert leaves, or we stop waiting
 * ```
 */
export function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const deadline = new Deadline(ms, resolve);
    const done = () => {
      deadline.cancel();
      resolve();
    };
    p.then(done, done);
  });
}
