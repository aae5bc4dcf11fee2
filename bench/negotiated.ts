/**
 * What a pair really negotiated, read off the wire: a one-connection TCP
 * relay between client and server that parses the server's first flight
 * (ServerHello: version, cipher suite, TLS 1.3 key_share group; TLS 1.2:
 * the ServerKeyExchange's named curve). Works for every stack alike, even
 * those that do not say.
 *
 * @module
 */
import * as net from "node:net";

const SUITES: Record<number, string> = {
  0x1301: "TLS_AES_128_GCM_SHA256",
  0x1302: "TLS_AES_256_GCM_SHA384",
  0x1303: "TLS_CHACHA20_POLY1305_SHA256",
  0xc02b: "ECDHE-ECDSA-AES128-GCM-SHA256",
  0xc02c: "ECDHE-ECDSA-AES256-GCM-SHA384",
  0xc02f: "ECDHE-RSA-AES128-GCM-SHA256",
  0xc030: "ECDHE-RSA-AES256-GCM-SHA384",
  0xcca8: "ECDHE-RSA-CHACHA20-POLY1305",
  0xcca9: "ECDHE-ECDSA-CHACHA20-POLY1305",
};

const GROUPS: Record<number, string> = {
  0x0017: "P-256",
  0x0018: "P-384",
  0x0019: "P-521",
  0x001d: "X25519",
  0x001e: "X448",
  0x11ec: "X25519MLKEM768",
  0x11eb: "SecP256r1MLKEM768",
  0x6399: "X25519Kyber768Draft00",
};

/** What the wire showed. */
export interface Negotiated {
  protocol: string;
  cipher: string;
  group: string;
  /** The server accepted a pre-shared key (a resumed, not a full, handshake). */
  resumed: boolean;
}

const hex = (n: number) => `0x${n.toString(16).padStart(4, "0")}`;

/** Parses the server's first bytes; null until enough has arrived. */
export function parseServerFlight(bytes: Uint8Array): Negotiated | null {
  // Concatenate handshake-record payloads (content type 22) while they last.
  const hs: number[] = [];
  let at = 0;
  while (at + 5 <= bytes.length && bytes[at] === 22) {
    const len = (bytes[at + 3] << 8) | bytes[at + 4];
    if (at + 5 + len > bytes.length) break;
    for (let i = 0; i < len; i++) hs.push(bytes[at + 5 + i]);
    at += 5 + len;
  }
  const b = Uint8Array.from(hs);
  if (b.length < 4 || b[0] !== 2) return null;
  const shLen = (b[1] << 16) | (b[2] << 8) | b[3];
  if (b.length < 4 + shLen) return null;
  let p = 4 + 2 + 32;
  p += 1 + b[p];
  const suite = (b[p] << 8) | b[p + 1];
  p += 3;
  let protocol = "TLSv1.2";
  let group = "";
  let resumed = false;
  const extEnd = p + 2 + ((b[p] << 8) | b[p + 1]);
  p += 2;
  while (p + 4 <= extEnd) {
    const type = (b[p] << 8) | b[p + 1];
    const len = (b[p + 2] << 8) | b[p + 3];
    if (type === 43 && ((b[p + 4] << 8) | b[p + 5]) === 0x0304) protocol = "TLSv1.3";
    if (type === 41) resumed = true; // pre_shared_key
    if (type === 51) group = GROUPS[(b[p + 4] << 8) | b[p + 5]] ?? hex((b[p + 4] << 8) | b[p + 5]);
    p += 4 + len;
  }
  if (protocol === "TLSv1.2") {
    // Walk the flight to ServerKeyExchange (type 12): curve_type 3, named_curve.
    let q = 4 + shLen;
    while (q + 4 <= b.length) {
      const type = b[q];
      const len = (b[q + 1] << 16) | (b[q + 2] << 8) | b[q + 3];
      if (type === 12 && b[q + 4] === 3) {
        group = GROUPS[(b[q + 5] << 8) | b[q + 6]] ?? hex((b[q + 5] << 8) | b[q + 6]);
        break;
      }
      q += 4 + len;
    }
    if (!group) {
      // An abbreviated (resumed) TLS 1.2 handshake has no ServerKeyExchange: ServerHello, then ChangeCipherSpec.
      if (at < bytes.length && bytes[at] === 20) {
        return { protocol, cipher: SUITES[suite] ?? hex(suite), group: "", resumed: true };
      }
      return null; // the key exchange message is still to come
    }
  }
  return { protocol, cipher: SUITES[suite] ?? hex(suite), group, resumed };
}

/**
 * Relays connections to `targetPort` on a new port; the first server flight
 * seen is parsed. `run(port)` makes one connection through it.
 */
export async function probe(
  targetPort: number,
  run: (port: number) => Promise<unknown>,
): Promise<{ first: Negotiated | null; flights: Negotiated[] }> {
  const flights: Negotiated[] = [];
  const sockets: net.Socket[] = [];
  const relay = net.createServer((client) => {
    const server = net.connect(targetPort, "127.0.0.1");
    sockets.push(client, server);
    client.setNoDelay(true);
    server.setNoDelay(true);
    let head = new Uint8Array(0);
    let seen: Negotiated | null = null;
    server.on("data", (d: Uint8Array) => {
      if (!seen && head.length < 65536) {
        const next = new Uint8Array(head.length + d.length);
        next.set(head);
        next.set(d, head.length);
        head = next;
        try {
          seen = parseServerFlight(head);
          if (seen) flights.push(seen);
        } catch {
          // not parseable yet
        }
      }
      client.write(d);
    });
    client.on("data", (d: Uint8Array) => server.write(d));
    const end = () => {
      client.destroy();
      server.destroy();
    };
    client.on("close", end).on("error", end);
    server.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  try {
    await run((relay.address() as net.AddressInfo).port);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  }
  return { first: flights[0] ?? null, flights };
}
