/**
 * A TCP relay between a real TLS 1.3 client and server that can forge
 * encrypted records: given the key log of either end (`keyLog`), it knows
 * both directions' traffic secrets, counts the records it passed on (so a
 * forged record gets the sequence number the receiver expects), seals records
 * whose inner plaintext the test chose, and decrypts what the receiver answers
 * (its alert). The relay forwards whole records only, so an injection never
 * lands inside one.
 *
 * @module
 */
import net from "node:net";
import { type PlainServer, plainServer } from "./net.ts";
import { candidateKeys, openRecord, parseInner, type RecordKeys, sealRecord } from "./tls13_record.ts";

/** One end of the relayed connection. */
export type Side = "client" | "server";

/** What one end sent, as the relay saw it. */
interface Flow {
  /** Bytes of a record not complete yet. */
  pending: Uint8Array;
  /** The complete records passed on (or dropped, once forged over), in order. */
  records: Uint8Array[];
  /** Set once records were forged in this end's name: its own later records are dropped. */
  forged: boolean;
  ended: boolean;
  /** Writes toward the other end. */
  sink: net.Socket | null;
}

/** The relay; `await using` closes it and its connection. */
export interface RecordForger extends AsyncDisposable {
  /** Where the client connects. */
  readonly port: number;
  /** The key-log sink to give the client or the server (either one: both log all four secrets). */
  readonly keyLog: (line: string) => void;
  /**
   * Sends `inners` (TLSInnerPlaintexts, see `innerPlaintext`) to `to` as
   * application_data records from its peer, sealed under the peer's application
   * traffic secret at the next sequence numbers, all in one write. The peer's
   * own later records are dropped (their sequence numbers are taken).
   */
  inject(to: Side, inners: Uint8Array[]): void;
  /**
   * The description of the first alert `from` sends (decrypted), waiting up to
   * `ms`; null when it closed the connection without sending one.
   */
  alertFrom(from: Side, ms?: number): Promise<number | null>;
}

class MissingSecret extends Error {}

const other = (side: Side): Side => side === "client" ? "server" : "client";

/** Splits a flow's new bytes into records. */
function addBytes(flow: Flow, bytes: Uint8Array): Uint8Array[] {
  const all = new Uint8Array(flow.pending.length + bytes.length);
  all.set(flow.pending);
  all.set(bytes, flow.pending.length);
  const complete: Uint8Array[] = [];
  let at = 0;
  while (all.length - at >= 5) {
    const end = at + 5 + ((all[at + 3] << 8) | all[at + 4]);
    if (end > all.length) break;
    complete.push(all.slice(at, end));
    at = end;
  }
  flow.pending = all.slice(at);
  return complete;
}

/** Starts a relay to our (or any) TLS server on 127.0.0.1:`target`, for one connection. */
export async function recordForger(target: number): Promise<RecordForger> {
  const secrets = new Map<string, string>();
  const flows: Record<Side, Flow> = {
    client: { pending: new Uint8Array(0), records: [], forged: false, ended: false, sink: null },
    server: { pending: new Uint8Array(0), records: [], forged: false, ended: false, sink: null },
  };
  const wakers = new Set<() => void>();
  const wake = () => [...wakers].forEach((w) => w());

  const relay = (from: Side, socket: net.Socket) => {
    const flow = flows[from];
    socket.on("data", (bytes: Uint8Array) => {
      for (const record of addBytes(flow, new Uint8Array(bytes))) {
        flow.records.push(record);
        if (!flow.forged) flow.sink?.write(record);
      }
      wake();
    });
    const end = () => {
      flow.ended = true;
      flow.sink?.end();
      wake();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", end);
  };

  const server: PlainServer = await plainServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    flows.client.sink = upstream;
    flows.server.sink = client;
    relay("client", client);
    relay("server", upstream);
  });

  /** The record keys of `side`'s handshake and application secrets, one entry per candidate suite. */
  const keysOf = (side: Side, label: string): RecordKeys[] => {
    const hex = secrets.get(`${side.toUpperCase()}_${label}`);
    if (!hex) throw new MissingSecret(`no ${side} ${label} in the key log yet (TLS 1.3 only)`);
    return candidateKeys(hex);
  };

  /** Opens `side`'s encrypted records in order: its application keys, their next sequence number, and the inners. */
  const walk = (side: Side) => {
    const handshake = keysOf(side, "HANDSHAKE_TRAFFIC_SECRET");
    const application = keysOf(side, "TRAFFIC_SECRET_0");
    let suite = -1;
    let handshakeSeq = 0;
    let seq = 0;
    const inners: Uint8Array[] = [];
    const open = (keys: RecordKeys[], at: number, record: Uint8Array) => {
      for (let i = 0; i < keys.length; i++) {
        if (suite >= 0 && i !== suite) continue;
        const inner = openRecord(keys[i], at, record);
        if (inner) return (suite = i), inner;
      }
      return null;
    };
    for (const record of flows[side].records) {
      if (record[0] !== 23) continue; // handshake in the clear, ChangeCipherSpec
      if (seq === 0 && open(handshake, handshakeSeq, record)) {
        handshakeSeq++;
        continue;
      }
      const inner = open(application, seq, record);
      if (!inner) break; // past a KeyUpdate, or not ours to read
      inners.push(inner);
      seq++;
    }
    return { keys: application[Math.max(suite, 0)], seq, inners };
  };

  /** `side`'s application records opened so far; null while a secret is not logged yet (the logging end may lag). */
  const opened = (side: Side): Uint8Array[] | null => {
    try {
      return walk(side).inners;
    } catch (e) {
      if (e instanceof MissingSecret) return null;
      throw e;
    }
  };

  return {
    port: server.port,
    keyLog: (line) => {
      const [label, , secret] = line.split(" ");
      if (label && secret) secrets.set(label, secret);
      wake();
    },
    inject(to, inners) {
      const from = other(to);
      flows[from].forged = true;
      let { keys, seq } = walk(from);
      const records = inners.map((inner) => sealRecord(keys, seq++, inner));
      const all = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
      records.reduce((at, r) => (all.set(r, at), at + r.length), 0);
      flows[from].sink!.write(all);
    },
    async alertFrom(from, ms = 10_000) {
      const until = Date.now() + ms;
      for (;;) {
        const plain = flows[from].records.find((r) => r[0] === 21);
        if (plain) return plain[6];
        const inners = opened(from);
        const alert = inners?.map(parseInner).find((i) => i.type === 21);
        if (alert) return alert.content[1];
        if (inners && flows[from].ended) return null;
        if (Date.now() >= until) throw new Error(`timed out waiting for the ${from}'s alert`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.max(1, until - Date.now()));
          function done() {
            clearTimeout(timer);
            wakers.delete(done);
            resolve();
          }
          wakers.add(done);
        });
      }
    },
    [Symbol.asyncDispose]: () => server.close(),
  };
}
