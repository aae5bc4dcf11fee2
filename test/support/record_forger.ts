/**
 * A TCP relay between a real TLS client and server that can forge records:
 * given the key log of either end (`keyLog`) and the version's record
 * protection (`tls12` or `tls13`), it reads both directions, counts the
 * records it passed on (so a forged record gets the sequence number the
 * receiver expects), seals records whose plaintext the test chose, and reads
 * what the receiver answers (its alert). The relay forwards whole records
 * only, so an injection never lands inside one.
 *
 * @module
 */
import net from "node:net";
import { type PlainServer, plainServer } from "./net.ts";

/** One end of the relayed connection. */
export type Side = "client" | "server";

/** A record's real content type and content, once opened. */
export interface Plaintext {
  type: number;
  content: Uint8Array;
}

/** One end's records read so far, and how to seal more in its name. */
export interface Reading<P> {
  /** The plaintexts of its records, in order, as far as they open. */
  plaintexts: Plaintext[];
  /** Whether a record could not be read because a secret is not in the key log yet (the logging end may lag). */
  stalled: boolean;
  /** The sequence number its next protected record takes. */
  next: number;
  /** A record carrying `payload` at `seq`; throws when its keys are not known. */
  seal(payload: P, seq: number): Uint8Array;
}

/** A TLS version's record protection; `P` is what a test gives to seal (an inner plaintext, or a type and content). */
export interface Protection<P> {
  /** Reads `side`'s records, given every record each end passed on and the key log's `label → secret`. */
  read(side: Side, records: Record<Side, Uint8Array[]>, secrets: Map<string, string>): Reading<P>;
}

/** What one end sent, as the relay saw it. */
interface Flow {
  /** Bytes of a record not complete yet. */
  pending: Uint8Array;
  /** Its complete records, in order (passed on, or held back). */
  records: Uint8Array[];
  /** How many of its records are passed on (later ones are held back: forged over, or by the test's choice). */
  limit: number;
  /** How many records the relay forged in its name. */
  forged: number;
  ended: boolean;
  /** Writes toward the other end. */
  sink: net.Socket | null;
}

/** The relay; `await using` closes it and its connection. */
export interface RecordForger<P> extends AsyncDisposable {
  /** Where the client connects. */
  readonly port: number;
  /** The key-log sink to give the client or the server (either one: both log every secret). */
  readonly keyLog: (line: string) => void;
  /**
   * Records carrying `payloads` in `from`'s name, sealed under its current
   * keys at its next sequence numbers (which they take).
   */
  seal(from: Side, payloads: P[]): Uint8Array[];
  /**
   * Writes `records` to `to`, in one write, as if its peer sent them; the
   * peer's own later records are held back (their sequence numbers are taken).
   */
  send(to: Side, records: Uint8Array[]): void;
  /** `send(to, seal(peer, payloads))`. */
  inject(to: Side, payloads: P[]): void;
  /** Resolves once `from` sent `count` records, waiting up to `ms`. */
  recordsFrom(from: Side, count: number, ms?: number): Promise<void>;
  /**
   * The description of the first alert `from` sends (opened), waiting up to
   * `ms`; null when it closed the connection without sending one.
   */
  alertFrom(from: Side, ms?: number): Promise<number | null>;
}

/** How many of each end's first records to pass on; the rest are held back. Unlimited by default. */
export type Pass = Partial<Record<Side, number>>;

/** The end across from `side`. */
export const peerOf = (side: Side): Side => side === "client" ? "server" : "client";

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

/**
 * Starts a relay to our (or any) TLS server on 127.0.0.1:`target`, for one
 * connection, reading and sealing records with `protection`.
 */
export async function recordForger<P>(
  target: number,
  protection: Protection<P>,
  pass: Pass = {},
): Promise<RecordForger<P>> {
  const secrets = new Map<string, string>();
  const flow = (side: Side): Flow => ({
    pending: new Uint8Array(0),
    records: [],
    limit: pass[side] ?? Infinity,
    forged: 0,
    ended: false,
    sink: null,
  });
  const flows: Record<Side, Flow> = { client: flow("client"), server: flow("server") };
  const wakers = new Set<() => void>();
  const wake = () => [...wakers].forEach((w) => w());

  const relay = (from: Side, socket: net.Socket) => {
    const flow = flows[from];
    socket.on("data", (bytes: Uint8Array) => {
      for (const record of addBytes(flow, new Uint8Array(bytes))) {
        if (flow.records.push(record) <= flow.limit) flow.sink?.write(record);
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

  /** `side`'s records as its peer got them (those passed on; the forged ones are counted apart). */
  const read = (side: Side) =>
    protection.read(side, {
      client: flows.client.records.slice(0, flows.client.limit),
      server: flows.server.records.slice(0, flows.server.limit),
    }, secrets);

  /** Resolves once `done()` holds, waking on every relayed record or key-log line; false after `ms`. */
  const until = async (done: () => boolean, ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() >= deadline) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(woken, Math.max(1, deadline - Date.now()));
        function woken() {
          clearTimeout(timer);
          wakers.delete(woken);
          resolve();
        }
        wakers.add(woken);
      });
    }
    return true;
  };

  const forger: RecordForger<P> = {
    port: server.port,
    keyLog: (line) => {
      const [label, , secret] = line.split(" ");
      if (label && secret) secrets.set(label, secret);
      wake();
    },
    seal(from, payloads) {
      const reading = read(from);
      return payloads.map((payload) => reading.seal(payload, reading.next + flows[from].forged++));
    },
    send(to, records) {
      const from = flows[peerOf(to)];
      from.limit = Math.min(from.limit, from.records.length);
      const all = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
      records.reduce((at, r) => (all.set(r, at), at + r.length), 0);
      from.sink!.write(all);
    },
    inject(to, payloads) {
      forger.send(to, forger.seal(peerOf(to), payloads));
    },
    async recordsFrom(from, count, ms = 10_000) {
      if (!await until(() => flows[from].records.length >= count, ms)) {
        throw new Error(`timed out waiting for ${count} records from the ${from}`);
      }
    },
    async alertFrom(from, ms = 10_000) {
      let alert: number | null | undefined;
      const found = () => {
        const { plaintexts, stalled } = read(from);
        const record = plaintexts.find((p) => p.type === 21);
        if (record) alert = record.content[1];
        else if (!stalled && flows[from].ended) alert = null;
        return alert !== undefined;
      };
      if (!await until(found, ms)) throw new Error(`timed out waiting for the ${from}'s alert`);
      return alert!;
    },
    [Symbol.asyncDispose]: () => server.close(),
  };
  return forger;
}
