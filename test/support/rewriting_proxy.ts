/**
 * A TCP proxy to 127.0.0.1:`target` that passes the server's bytes through a
 * rewrite on their way to the client: a real server's handshake, changed on
 * the wire.
 *
 * @module
 */
import net from "node:net";
import { type PlainServer, plainServer } from "./net.ts";

/** Starts the proxy; `rewrite` gets each chunk from the server (it may change it in place). */
export function rewritingProxy(
  target: number,
  rewrite: (chunk: Uint8Array) => Uint8Array,
): Promise<PlainServer> {
  return plainServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    upstream.on("error", () => client.destroy());
    upstream.on("data", (d: Uint8Array) => client.write(rewrite(new Uint8Array(d))));
    upstream.on("end", () => client.end());
    client.on("data", (d: Uint8Array) => upstream.write(d));
    client.on("end", () => upstream.end());
    client.on("close", () => upstream.destroy());
  });
}

/**
 * Finds a TLS 1.2 Certificate handshake message in `bytes` and adds one to its
 * first certificate's outer DER length (`30 82 hi lo`); true when it did.
 */
export function corruptFirstCertificateLength(bytes: Uint8Array): boolean {
  for (let i = 0; i + 14 < bytes.length; i++) {
    const u24 = (at: number) => (bytes[at] << 16) | (bytes[at + 1] << 8) | bytes[at + 2];
    // Certificate(11) length; certificate_list length = length - 3; first entry's length; DER SEQUENCE.
    if (
      bytes[i] !== 11 || u24(i + 4) !== u24(i + 1) - 3 || bytes[i + 10] !== 0x30 || bytes[i + 11] !== 0x82
    ) continue;
    const der = (bytes[i + 12] << 8) | bytes[i + 13];
    if (der + 4 !== u24(i + 7)) continue;
    bytes[i + 12] = (der + 1) >> 8;
    bytes[i + 13] = (der + 1) & 0xff;
    return true;
  }
  return false;
}
