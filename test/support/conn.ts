/**
 * Small helpers the peer tests share: our client to a local peer, a bounded
 * wait, a full close, and the subject of the peer's certificate.
 *
 * @module
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { connect, type ConnectOptions, type TlsConn } from "../../mod.ts";
import { certs } from "./certs.ts";

/** Our client to a peer on 127.0.0.1 that presents a certificate for `localhost` from the test CA. */
export function connectTo(port: number, options: Partial<ConnectOptions> = {}): Promise<TlsConn> {
  return connect({
    hostname: "127.0.0.1",
    port,
    servername: "localhost",
    caCerts: [certs().ca.cert],
    ...options,
  });
}

/** `p`, or a rejection naming `what` after `ms` milliseconds. */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Closes `conn` (if any) and waits until its transport is closed. */
export async function closeConn(conn: TlsConn | undefined): Promise<void> {
  if (!conn) return;
  conn.close();
  await conn.closed;
}

/** The subject of the peer's leaf certificate, as node:crypto prints it. */
export function subjectOf(info: { peerCertificates: { pem: string }[] }): string {
  assert.ok(info.peerCertificates.length > 0, "no peer certificate");
  return new X509Certificate(info.peerCertificates[0].pem).subject;
}
