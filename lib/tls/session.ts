/**
 * Starts a {@link TlsConn} over a stream: the one path `connect`, `listen`
 * and `upgrade` share.
 *
 * @module
 */
import type { TlsContext } from "../engine/context.ts";
import { TlsEngine } from "../engine/engine.ts";
import { TlsPump } from "../transport/pump.ts";
import type { ByteStream } from "../transport/stream.ts";
import { TlsConn } from "./conn.ts";
import { type ClientOptions, handshakeTimeoutOf, type TlsOptions } from "./options.ts";

/** A client session over `stream`, checking the peer against `host`. */
export function clientConn(stream: ByteStream, context: TlsContext, host: string, o: ClientOptions): TlsConn {
  const servername = o.servername ?? host;
  const verifyHost = o.rejectUnauthorized === false ? undefined : servername;
  return start(
    stream,
    () => new TlsEngine(context, { servername: isIp(servername) ? "" : servername, verifyHost }),
    o,
  );
}

/** A server session over `stream`. */
export function serverConn(stream: ByteStream, context: TlsContext, o: TlsOptions): TlsConn {
  return start(stream, () => new TlsEngine(context), o);
}

function start(
  stream: ByteStream,
  makeEngine: () => TlsEngine,
  o: TlsOptions & { signal?: AbortSignal },
): TlsConn {
  let engine: TlsEngine;
  try {
    engine = makeEngine();
  } catch (e) {
    stream.close();
    throw e;
  }
  return new TlsConn(new TlsPump(engine, stream), { timeout: handshakeTimeoutOf(o), signal: o.signal });
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}
