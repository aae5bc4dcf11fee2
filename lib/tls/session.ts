/**
 * Starts a session over a stream — engine, pump, handshake limits and, for a
 * client, resumption: the one path `connect`, `listen`, `upgrade` and the
 * callback sockets share.
 *
 * @module
 */
import type { TlsContext } from "../engine/context.ts";
import { TlsEngine } from "../engine/engine.ts";
import { TlsPump } from "../transport/pump.ts";
import type { ByteStream } from "../transport/stream.ts";
import type { HandshakeLimits } from "./handshake.ts";
import { keyLogSink } from "./key_log_option.ts";
import { type ClientOptions, handshakeTimeoutOf, type ServerOptions, type TlsOptions } from "./options.ts";
import { ClientResumption, serverKey } from "./resumption.ts";
import { sniChooser } from "./sni.ts";

/** A session ready to run: a connection class drives it. */
export interface Session {
  pump: TlsPump;
  limits: HandshakeLimits;
  /** A client's resumption (absent on a server). */
  resumption?: ClientResumption;
}

/**
 * A client session over `stream`, checking the peer against `host`.
 *
 * @example
 * ```ts
 * const conn = new TlsConn(clientSession(stream, context, "example.com", options));
 * ```
 */
export function clientSession(
  stream: ByteStream,
  context: TlsContext,
  host: string,
  o: ClientOptions,
): Session {
  const servername = o.servername ?? host;
  // A PSK client keeps no tickets: its handshakes are certificate-free already.
  const key = o.resumption === false || o.psk
    ? null
    : serverKey(context, host, servername, stream.remoteAddr);
  return start(
    stream,
    // The name is checked even with `rejectUnauthorized: false`: a mismatch then does
    // not abort, but it shows in `verified` and `verifyResult`.
    () => new TlsEngine(context, { verifyHost: servername, keyLog: keyLogSink(o.keyLog) }),
    o,
    (engine) => new ClientResumption(engine, context, key, o.session),
  );
}

/**
 * A server session over `stream`.
 *
 * @example
 * ```ts
 * const conn = new TlsConn(serverSession(stream, context, options));
 * ```
 */
export function serverSession(stream: ByteStream, context: TlsContext, o: ServerOptions): Session {
  const engineOptions = {
    keyLog: keyLogSink(o.keyLog),
    onPskIdentity: o.onPskIdentity,
    chooseContext: sniChooser(o, context),
  };
  return start(stream, () => new TlsEngine(context, engineOptions), o);
}

function start(
  stream: ByteStream,
  makeEngine: () => TlsEngine,
  o: TlsOptions & { signal?: AbortSignal },
  resume?: (engine: TlsEngine) => ClientResumption,
): Session {
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
  return {
    pump: new TlsPump(engine, stream),
    limits: { timeout: handshakeTimeoutOf(o), signal: o.signal },
    resumption,
  };
}
