/**
 * A TCP relay to 127.0.0.1:`target` that delivers each chunk, both ways, in
 * three pieces (one byte, then up to half, then the rest) with a pause before
 * each: TLS records arrive split across the receiver's waits for its peer.
 *
 * @module
 */
import net from "node:net";
import { type PlainServer, plainServer } from "./net.ts";

/** The pause before each piece, in ms: long enough for the receiver to wait again. */
const PIECE_GAP_MS = 15;

/**
 * Starts the relay.
 *
 * @example
 * ```ts
 * await using relay = await dribblingRelay(server.port);
 * const conn = await connectTo(relay.port);
 * ```
 */
export function dribblingRelay(target: number): Promise<PlainServer> {
  return plainServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    upstream.on("error", () => client.destroy());
    dribble(client, upstream);
    dribble(upstream, client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
}

/** Forwards `from`'s bytes to `to` in order, each chunk in pieces with a pause before each. */
function dribble(from: net.Socket, to: net.Socket): void {
  let chain = Promise.resolve();
  const pause = () => new Promise<void>((resolve) => setTimeout(resolve, PIECE_GAP_MS));
  from.on("data", (d: Uint8Array) => {
    const chunk = new Uint8Array(d);
    const half = Math.max(1, chunk.length >>> 1);
    const cuts = [0, 1, half, chunk.length].filter((c, i, all) => i === 0 || c > all[i - 1]);
    for (let i = 1; i < cuts.length; i++) {
      const piece = chunk.subarray(cuts[i - 1], cuts[i]);
      chain = chain.then(pause).then(() => void (to.destroyed || to.write(piece)));
    }
  });
  from.on("end", () => void (chain = chain.then(() => void to.end())));
}
