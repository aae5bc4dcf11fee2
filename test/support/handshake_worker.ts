/**
 * A Web Worker for the Workers test: on a message `{ count }` it runs `count`
 * in-memory handshakes (real OpenSSL both sides) on the shim the main thread
 * loaded too, frees everything, and answers `{ done }` or `{ error }`.
 *
 * @module
 */
import { inMemoryHandshakes } from "./engines.ts";

declare const self: {
  onmessage: ((event: MessageEvent<{ count: number }>) => void) | null;
  postMessage(message: unknown): void;
};

self.onmessage = (event) => {
  try {
    self.postMessage({ done: inMemoryHandshakes(event.data.count) });
  } catch (e) {
    self.postMessage({ error: String(e) });
  }
};
