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
import { ClientResumption, serverKey } from "./resumption.ts";

/** A client session over `stream`, checking the peer against `host`. */
export function clientConn(stream: ByteStream, context: TlsContext, host: string, o: ClientOptions): TlsConn {
  const servername = o.servername ?? host;
  const verifyHost = o.rejectUnauthorized === false ? undefined : servername;
  const key = o.resumption === false ? null : serverKey(context, host, servername, stream.remoteAddr);
  return start(
    stream,
    () => new TlsEngine(context, { servername: isIp(servername) ? "" : servername, verifyHost }),
    o,
    (engine) => new ClientResumption(engine, key, o.session),
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
  resume?: (engine: TlsEngine) => ClientResumption,
): TlsConn {
  let engine: TlsEngine | undefined;
  let resumption: ClientResumption | undefined;
  try {
    engine = makeEngine();
    resumption = resume?.(engine);
  } catch (e) {
    engine?.free();
    stream.close();
    throw e;
  }
  const limits = { timeout: handshakeTimeoutOf(o), signal: o.signal };
  return new TlsConn(new TlsPump(engine, stream), limits, resumption);
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}
