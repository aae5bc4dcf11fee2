/**
 * Bun's own sockets (`Bun.connect` / `Bun.listen`, plain or with `tls`) as
 * bench connections (pushed_conn.ts): `data` chunks are handed out as they are (no copy), a
 * partial `write` waits for `drain`.
 *
 * @module
 */
import { PushedConn } from "./pushed_conn.ts";

// deno-lint-ignore no-explicit-any
type Socket = any;

/** One Bun socket as a bench connection; install {@link handlers} with it as `socket.data`. */
export class BunConn extends PushedConn {
  #socket: Socket;

  constructor(socket: Socket) {
    super();
    this.#socket = socket;
  }

  protected writeSome(bytes: Uint8Array): number {
    return this.#socket.write(bytes);
  }

  close(): void {
    this.#socket.end();
  }
}

/** The socket callbacks feeding a {@link BunConn} stored as `socket.data`. */
export const handlers = {
  data: (s: Socket, chunk: Uint8Array) => s.data?.onData(chunk),
  drain: (s: Socket) => s.data?.onDrain(),
  end: (s: Socket) => s.data?.onEnd(),
  close: (s: Socket, e?: Error) => s.data?.onEnd(e),
  error: (s: Socket, e: Error) => s.data?.onEnd(e),
};
