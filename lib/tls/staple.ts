/**
 * OCSP stapling that follows a source of fresh responses (e.g. `OcspStapler`
 * from `@jsec/tls/ca`): the server's workflow, on top of the engine's
 * `TlsContext.setOcspStaple`.
 *
 * @module
 */
import type { TlsContext } from "../engine/context.ts";

/** Something that holds a current OCSP response and says when it changes. */
export interface OcspStapleSource {
  /** The current DER response, or null while there is none. */
  readonly response: Uint8Array | null;
  /** Calls `listener` with each new response; returns a function that stops that. */
  subscribe(listener: (response: Uint8Array) => void): () => void;
}

/**
 * Whether `value` is an {@link OcspStapleSource}.
 *
 * @example
 * ```ts
 * if (isStapleSource(options.ocspStaple)) console.log(options.ocspStaple.response);
 * ```
 */
export function isStapleSource(value: unknown): value is OcspStapleSource {
  return typeof value === "object" && value !== null && "subscribe" in value &&
    typeof (value as OcspStapleSource).subscribe === "function";
}

/** The response to staple now: the bytes given, or the source's current one. */
export function currentStaple(staple: Uint8Array | OcspStapleSource | undefined): Uint8Array | undefined {
  return isStapleSource(staple) ? staple.response ?? undefined : staple;
}

/**
 * Staples each new response of `staple` on `context` from now on (nothing to
 * follow for plain bytes); returns what stops it.
 *
 * @example
 * ```ts
 * const stop = followStaple(context, stapler);
 * // … serve …
 * stop();
 * ```
 */
export function followStaple(
  context: TlsContext,
  staple: Uint8Array | OcspStapleSource | undefined,
): () => void {
  if (!isStapleSource(staple)) return () => {};
  return staple.subscribe((der) => context.setOcspStaple(der));
}
