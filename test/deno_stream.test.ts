/**
 * Deno's socket adapter: its receive buffer grows for a transfer and goes
 * back to 4 KiB once reads are small again, so a connection idle after a
 * transfer does not pin 128 KiB in its pending read.
 */
import assert from "node:assert/strict";
import type net from "node:net";
import { DenoStream } from "../lib/transport/deno_stream.ts";
import { plainServer } from "./support/net.ts";
import { test } from "./harness.ts";

const isDeno = "Deno" in globalThis && !("Bun" in globalThis);

test(
  "DenoStream: the receive buffer grows for a burst and shrinks back to 4 KiB when reads are small",
  async () => {
    let peer: net.Socket | undefined;
    const connected = Promise.withResolvers<void>();
    await using server = await plainServer((socket) => {
      peer = socket;
      connected.resolve();
    });
    const stream = new DenoStream(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    try {
      await connected.promise;
      const burst = 512 * 1024;
      peer!.write(new Uint8Array(burst).fill(1));
      let got = 0, largest = 0;
      while (got < burst) {
        const view = (await stream.receive())!;
        got += view.length;
        largest = Math.max(largest, view.buffer.byteLength);
      }
      assert.ok(largest > 4096, `the buffer grew during the burst (largest ${largest} B)`);
      const sizes: number[] = [];
      for (const text of ["small", "again"]) {
        peer!.write(text);
        const view = (await stream.receive())!;
        assert.equal(new TextDecoder().decode(view), text);
        sizes.push(view.buffer.byteLength);
      }
      assert.equal(
        sizes[1],
        4096,
        `after a small read the next one uses 4 KiB (buffers: ${sizes.join(", ")} B)`,
      );
    } finally {
      stream.close();
    }
  },
  { skip: isDeno ? false : "DenoStream is Deno's adapter; Bun pushes chunks and pins no receive buffer" },
);
