/**
 * DTLS `connect`: a client over its own UDP socket.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { DtlsEngine } from "../engine/dtls_engine.ts";
import { TlsError } from "../errors.ts";
import { sharedContext, validated } from "../tls/contexts.ts";
import { givenContext } from "../tls/secure_context.ts";
import { checkClient, handshakeTimeoutOf } from "../tls/options.ts";
import { addrKey, type UdpAddr, UdpSocket } from "../transport/udp.ts";
import { DtlsConn } from "./conn.ts";
import { checkDtls, dtlsClientContext, type DtlsConnectOptions } from "./options.ts";
import { DtlsSession } from "./session.ts";
import { DeadlineTimer } from "./timer.ts";

/**
 * Opens a UDP socket, runs the DTLS handshake with the server and resolves
 * with the connection. Rejects with a {@link TlsError}: `HANDSHAKE_TIMEOUT`
 * when no server answers within `handshakeTimeout`, the certificate codes of
 * TLS when verification fails, `ABORTED` on `signal`.
 *
 * @example
 * ```ts
 * import { connect } from "@jsec/tls/dtls";
 * const conn = await connect({ hostname: "127.0.0.1", port: 5684, caCerts: [caPem], servername: "localhost" });
 * await conn.send(new TextEncoder().encode("ping"));
 * console.log(await conn.receive());
 * conn.close();
 * ```
 */
export async function connect(options: DtlsConnectOptions): Promise<DtlsConn> {
  checkClient(options);
  const given = givenContext(options, { isServer: false, datagram: true, call: "dtls.connect" });
  if (given) checkDtls(options);
  const context = given?.engineContext ?? sharedContext(validated(dtlsClientContext(options)));
  const signal = options.signal;
  if (signal?.aborted) throw new TlsError("ABORTED", "aborted before connecting", { cause: signal.reason });
  const hostname = options.hostname ?? "127.0.0.1";
  const address = isIP(hostname) ? hostname : await resolve(hostname);
  const peer: UdpAddr = { transport: "udp", hostname: address, port: options.port };
  const ipv6 = isIP(address) === 6;

  let session: DtlsSession | null = null;
  const socket = await UdpSocket.bind(ipv6 ? "::" : "0.0.0.0", 0, (datagram, from) => {
    if (session && addrKey(from) === addrKey(peer)) session.input(datagram); // anything else is not our peer
  });
  const timer = new DeadlineTimer((now) => {
    session!.tick(now);
    return session!.deadline;
  });
  const closeAll = () => {
    timer.stop();
    socket.close();
  };
  try {
    const engine = new DtlsEngine(context, {
      // Checked even with `rejectUnauthorized: false`: a mismatch then shows in `verified`, as in TLS.
      verifyHost: options.servername ?? hostname,
      servername: options.servername ?? (isIP(hostname) ? "" : hostname),
      mtu: options.mtu,
      ipv6,
    });
    if (options.session) engine.offerSession(options.session);
    session = new DtlsSession(
      engine,
      peer,
      {
        sendDatagram: (d, to) => socket.send(d, to),
        rescheduled: (s) => timer.schedule(s.deadline),
        ended: closeAll,
      },
      handshakeTimeoutOf(options),
      0,
    );
  } catch (e) {
    closeAll();
    throw e;
  }
  const onAbort = () => session!.close();
  signal?.addEventListener("abort", onAbort, { once: true });
  session.start();
  timer.schedule(session.deadline);
  try {
    await session.handshake;
  } catch (e) {
    closeAll();
    if (signal?.aborted) {
      throw new TlsError("ABORTED", "the DTLS handshake was aborted", { cause: signal.reason });
    }
    throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return new DtlsConn(session, socket, closeAll);
}

async function resolve(hostname: string): Promise<string> {
  try {
    return (await lookup(hostname)).address;
  } catch (e) {
    throw new TlsError("CONNECTION_FAILED", `cannot resolve ${hostname}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
