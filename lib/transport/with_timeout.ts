/**
 * Waits for a promise, but no longer than a deadline.
 *
 * @module
 */

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
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.then(() => {}, () => {}),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]).finally(() => clearTimeout(timer));
}
