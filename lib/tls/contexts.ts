/**
 * Reuses client contexts: building one parses certificates and loads trust,
 * which would otherwise cost every `connect` as much as a good part of a
 * handshake. Keyed by the options that shape the context.
 *
 * @module
 */
import { type ContextOptions, TlsContext, validateContextOptions } from "../engine/context.ts";
import { clientSessions, forgetSessionsOf } from "./resumption.ts";

const MAX_CACHED = 16;
const cache = new Map<string, TlsContext>();

/** A context for `options`, shared with earlier callers that passed the same. */
export function sharedContext(options: ContextOptions): TlsContext {
  const key = JSON.stringify(options);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key); // re-insert: most recently used last
    cache.set(key, hit);
    return hit;
  }
  const context = new TlsContext(options);
  cache.set(key, context);
  if (cache.size > MAX_CACHED) {
    const [oldestKey, oldest] = cache.entries().next().value!;
    cache.delete(oldestKey);
    forgetSessionsOf(oldest);
    oldest.free(); // frees once its last session ends
  }
  return context;
}

/**
 * Frees every cached context (each once its sessions end) and the client
 * sessions saved through any context: they are native. For tests and shutdown.
 */
export function clearSharedContexts(): void {
  for (const context of cache.values()) context.free();
  cache.clear();
  clientSessions.clear();
}

/**
 * `options`, once checked (`INVALID_OPTION` / `INVALID_PEM` before any native call).
 *
 * @example
 * ```ts
 * const context = sharedContext(validated(clientContext(options)));
 * ```
 */
export function validated(options: ContextOptions): ContextOptions {
  validateContextOptions(options);
  return options;
}
