/**
 * Our callback API (`connectSocket` / `listenSocket`, data pushed through
 * handlers) as a bench connection, wrapped as Bun's own sockets are
 * (pushed_conn.ts). The `data` handler's bytes are only valid during the
 * call, so they are copied.
 *
 * @module
 */
import type { TlsSocket, TlsSocketHandler } from "../../mod.ts";
import { PushedConn } from "./pushed_conn.ts";

/** One callback socket as a {@link BenchConn}; install {@link pushHandlers} with it as `socket.data`. */
export class PushConn extends PushedConn {
  readonly socket: TlsSocket<PushConn | undefined>;

  constructor(socket: TlsSocket<PushConn | undefined>) {
    super();
    this.socket = socket;
  }

  override onData(chunk: Uint8Array): void {
    super.onData(chunk.slice()); // the socket reuses the view once the handler returns
  }

  protected writeSome(bytes: Uint8Array): number {
    return this.socket.write(bytes); // encrypts (copies) what it takes
  }

  close(): void {
    this.socket.close();
  }

  info(): Promise<Record<string, string | null>> {
    const i = this.socket.info;
    const info: Record<string, string | null> = i
      ? { protocol: i.protocol, cipher: i.cipher, group: i.group }
      : {};
    return Promise.resolve(info);
  }
}

/** The handlers feeding a {@link PushConn} stored as `socket.data`. */
export const pushHandlers: TlsSocketHandler<PushConn | undefined> = {
  data: (s, chunk) => s.data?.onData(chunk),
  drain: (s) => s.data?.onDrain(),
  end: (s) => s.data?.onEnd(),
  close: (s, e) => s.data?.onEnd(e),
};
