/**
 * Turns a runtime's socket error into a {@link TlsError}.
 *
 * @module
 */
import { TlsError } from "../errors.ts";

/** A transport failure: reset, broken pipe, or a socket closed under us. */
export function socketError(e: unknown): TlsError {
  if (e instanceof TlsError) return e;
  // Deno names the error (`Interrupted`: a read cancelled by close()) and gives its errno as `code` (EINTR).
  const { name = "", code = "" } = (e ?? {}) as { name?: string; code?: string };
  if (/BadResource|Interrupted|ERR_SOCKET_CLOSED|EBADF/.test(`${name} ${code}`)) {
    return new TlsError("CLOSED", "the connection is closed", { cause: e });
  }
  return new TlsError("CONNECTION_RESET", `the connection failed: ${(e as Error)?.message ?? e}`, {
    cause: e,
  });
}
