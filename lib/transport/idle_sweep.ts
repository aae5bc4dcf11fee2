/**
 * Lets sessions that wait long for their peer free their record buffers
 * (~70 KiB each on OpenSSL), so idle connections stay small while busy ones
 * keep theirs (no malloc per record). A sweep every IDLE_SWEEP_MS trims the
 * sessions that have waited through a whole interval, once per wait.
 *
 * @module
 */
import { clearInterval, setInterval } from "node:timers";
import type { TlsEngine } from "../engine/engine.ts";

const IDLE_SWEEP_MS = 500;

/** Engines waiting for their peer, with the sweep in which each wait began. */
const waiting = new Map<TlsEngine, number>();
let sweeps = 0;
let sweeper: ReturnType<typeof setInterval> | null = null;

/** `engine` starts waiting for the peer's bytes. */
export function idleStarts(engine: TlsEngine): void {
  waiting.set(engine, sweeps);
  if (sweeper === null) {
    sweeper = setInterval(sweep, IDLE_SWEEP_MS);
    (sweeper as { unref?: () => void }).unref?.(); // never keeps the process alive
  }
}

/** `engine` got the peer's bytes (or gave up waiting). */
export function idleEnds(engine: TlsEngine): void {
  waiting.delete(engine);
}

function sweep(): void {
  sweeps++;
  for (const [engine, since] of waiting) {
    if (since < sweeps - 1) {
      engine.idle();
      waiting.delete(engine);
    }
  }
  if (waiting.size === 0 && sweeper !== null) {
    clearInterval(sweeper);
    sweeper = null;
  }
}
