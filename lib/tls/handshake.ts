/**
 * Runs a session's handshake within its limits (a timeout, an abort signal):
 * the one path `TlsConn` and `TlsSocket` share.
 *
 * @module
 */
import type { HandshakeInfo } from "../engine/info.ts";
import { TlsError } from "../errors.ts";
import type { TlsPump } from "../transport/pump.ts";
import { Deadline } from "../transport/deadlines.ts";
import { withTimeout } from "../transport/with_timeout.ts";

/** How long a failed handshake waits for our alert to leave. */
const ALERT_DRAIN_MS = 200;

/** How a connection's handshake is bounded. */
export interface HandshakeLimits {
  /** Milliseconds before `HANDSHAKE_TIMEOUT`; 0 for none. */
  timeout: number;
  /** Aborts the handshake with `ABORTED`. */
  signal?: AbortSignal;
}

/**
 * Completes `pump`'s handshake and returns what it negotiated. Rejects with a
 * {@link TlsError}: the handshake's own failure (after letting our alert, if
 * any, reach the peer), `HANDSHAKE_TIMEOUT` or `ABORTED`.
 *
 * @example
 * ```ts
 * const info = await handshakeWithin(pump, { timeout: 30_000, signal });
 * ```
 */
export async function handshakeWithin(pump: TlsPump, limits: HandshakeLimits): Promise<HandshakeInfo> {
  let deadline: Deadline | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    if (limits.timeout > 0) {
      deadline = new Deadline(
        limits.timeout,
        () => reject(new TlsError("HANDSHAKE_TIMEOUT", `the handshake took more than ${limits.timeout} ms`)),
      );
    }
    if (limits.signal) {
      onAbort = () =>
        reject(new TlsError("ABORTED", "the handshake was aborted", { cause: limits.signal!.reason }));
      if (limits.signal.aborted) onAbort();
      else limits.signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    await Promise.race([pump.handshake(), stop]);
    return pump.engine.info();
  } catch (e) {
    await withTimeout(pump.flush(), ALERT_DRAIN_MS);
    throw asTlsError(e);
  } finally {
    deadline?.cancel();
    if (onAbort) limits.signal!.removeEventListener("abort", onAbort);
  }
}

/** `e` as a {@link TlsError}: itself, or wrapped as `INTERNAL` (a bug of ours). */
export function asTlsError(e: unknown): TlsError {
  return e instanceof TlsError ? e : new TlsError("INTERNAL", String(e), { cause: e });
}
