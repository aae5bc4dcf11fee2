/**
 * Short text between our connection and a peer process that sends its stdin
 * as data and prints what it receives on stdout (`openssl s_server`,
 * `s_client`): each helper is one step of a conversation, checked.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { TlsConn } from "../../mod.ts";
import { type Peer, readExactly } from "./openssl.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The next `length` bytes from `conn` as text (fewer if the stream ends first); bounded. */
export async function readText(conn: TlsConn, length: number): Promise<string> {
  return dec.decode(await readExactly((p) => conn.read(p), length));
}

/** We send `text`; resolves once the peer printed it. */
export async function sendToPeer(conn: TlsConn, peer: Peer, text: string): Promise<void> {
  await conn.write(enc.encode(text));
  await peer.waitUntil(`${JSON.stringify(text)} on stdout`, () => peer.stdout.includes(text));
}

/** The peer sends `text`; we read exactly that. */
export async function receiveFromPeer(peer: Peer, conn: TlsConn, text: string): Promise<void> {
  await peer.write(text);
  assert.equal(await readText(conn, enc.encode(text).length), text);
}
