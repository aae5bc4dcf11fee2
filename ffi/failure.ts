/**
 * How `ffi/` reports that the shim cannot be found, built or loaded, without
 * knowing the library's error type (the layers above own that): it throws
 * {@link ShimUnavailable} unless a layer above has installed its own error
 * with {@link onShimUnavailable} (`lib/errors.ts` installs
 * `TlsError("SHIM_UNAVAILABLE")`).
 *
 * @module
 */

/**
 * The bottom layer's own error, thrown when no layer above installed one.
 *
 * @example
 * ```ts
 * import { ShimUnavailable } from "./failure.ts";
 * const e = new ShimUnavailable("no C compiler");
 * console.log(e.code); // "SHIM_UNAVAILABLE"
 * ```
 */
export class ShimUnavailable extends Error {
  /** Always `"SHIM_UNAVAILABLE"`, the code `TlsError` uses for the same failure. */
  readonly code = "SHIM_UNAVAILABLE";
  /** Makes the error; `cause` is the runtime's error, when there is one. */
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "ShimUnavailable";
  }
}

/** Makes the error thrown when the shim is unavailable. */
export type ShimFailureFactory = (message: string, cause?: unknown) => Error;

let makeError: ShimFailureFactory = (message, cause) => new ShimUnavailable(message, cause);

/**
 * Installs the error thrown from now on when the shim is unavailable.
 *
 * @example
 * ```ts
 * import { onShimUnavailable } from "./failure.ts";
 * onShimUnavailable((message, cause) => new Error(`shim: ${message}`, { cause }));
 * ```
 */
export function onShimUnavailable(factory: ShimFailureFactory): void {
  makeError = factory;
}

/**
 * Throws the installed error with `message`.
 *
 * @example
 * ```ts
 * import { shimUnavailable } from "./failure.ts";
 * try { shimUnavailable("no OpenSSL headers"); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export function shimUnavailable(message: string, cause?: unknown): never {
  throw makeError(message, cause);
}

/**
 * Runs `fn`; a missing Deno permission becomes the installed error naming the
 * exact flag (`flag`) and what it is for (`purpose`).
 *
 * @example
 * ```ts
 * import { withPermission } from "./failure.ts";
 * const home = withPermission("--allow-env=HOME", "to find the shim cache", () => Deno.env.get("HOME"));
 * ```
 */
export function withPermission<T>(flag: string, purpose: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const name = (e as Error)?.name;
    if (name === "NotCapable" || name === "PermissionDenied") {
      shimUnavailable(`Deno needs ${flag} ${purpose}: run again with it (${(e as Error).message})`, e);
    }
    throw e;
  }
}
