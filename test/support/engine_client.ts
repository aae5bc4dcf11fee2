/**
 * Our sans-I/O engine as a TLS client over a plain `node:net` socket, so a
 * test can send a real client's records changed on purpose (a flipped byte,
 * a rewritten length) and decrypt whatever the server answers.
 *
 * @module
 */
import net from "node:net";
import { type ContextOptions, TlsContext, TlsEngine, TlsError } from "../../engine.ts";
import { certs } from "./certs.ts";

/** A node:net socket as a pull-based byte source, with bounded waits. */
export class SocketPipe {
  readonly socket: net.Socket;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (d: Uint8Array) => {
      this.#chunks.push(new Uint8Array(d));
      this.#wake?.();
    });
    const end = () => {
      this.#ended = true;
      this.#wake?.();
    };
    socket.on("end", end);
    socket.on("error", end);
    socket.on("close", end);
  }

  /** The next bytes, or null at the end; rejects after `ms`. */
  async next(ms = 10_000): Promise<Uint8Array | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      while (this.#chunks.length === 0) {
        if (this.#ended) return null;
        await new Promise<void>((resolve, reject) => {
          this.#wake = resolve;
          timer = setTimeout(() => reject(new Error("timed out waiting for the peer")), ms);
        });
        clearTimeout(timer);
        this.#wake = null;
      }
      return this.#chunks.shift()!;
    } finally {
      clearTimeout(timer);
    }
  }

  send(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (e) => (e ? reject(e) : resolve())));
  }
}

/** Sends every byte of ciphertext the engine has pending. */
export async function drain(engine: TlsEngine, pipe: SocketPipe): Promise<void> {
  const out = new Uint8Array(64 * 1024);
  for (let i = 0; i < 10_000 && engine.pendingOutput > 0; i++) {
    await pipe.send(out.slice(0, engine.takeOutput(out)));
  }
}

/** A connected, handshaken engine client; `await using` frees it. */
export interface EngineClient extends AsyncDisposable {
  engine: TlsEngine;
  pipe: SocketPipe;
  /** The ciphertext of `data` as records, taken out of the engine instead of sent. */
  seal(data: Uint8Array): Uint8Array;
  /**
   * Reads (and discards) what the server sends until it fails or ends: the
   * client's error, whose reason names the alert the server sent
   * ("… alert bad record mac"), or `UNEXPECTED_EOF` when none came.
   */
  failure(ms?: number): Promise<TlsError>;
}

/** Connects our engine to 127.0.0.1:`port` (a server with the test CA's `localhost` certificate) and runs the handshake. */
export async function engineClient(port: number, options: ContextOptions = {}): Promise<EngineClient> {
  const context = new TlsContext({ caCerts: [certs().ca.cert], ...options });
  const socket = net.connect(port, "127.0.0.1");
  const pipe = new SocketPipe(socket);
  const engine = new TlsEngine(context, { verifyHost: "localhost" });
  const dispose = () => {
    engine.free();
    context.free();
    socket.destroy();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    for (let i = 0; i < 20 && !engine.handshake(); i++) {
      await drain(engine, pipe);
      const bytes = await pipe.next();
      if (bytes === null) engine.end();
      else engine.receive(bytes);
    }
    await drain(engine, pipe);
  } catch (e) {
    dispose();
    throw e;
  }
  return {
    engine,
    pipe,
    seal(data) {
      engine.write(data);
      const out = new Uint8Array(engine.pendingOutput);
      engine.takeOutput(out);
      return out;
    },
    async failure(ms = 10_000) {
      const sink = new Uint8Array(65536);
      for (let i = 0; i < 1000; i++) {
        try {
          while (engine.read(sink)) { /* discard */ }
        } catch (e) {
          if (e instanceof TlsError) return e;
          throw e;
        }
        const bytes = await pipe.next(ms);
        if (bytes === null) engine.end();
        else engine.receive(bytes);
      }
      throw new Error("the server neither failed nor ended");
    },
    [Symbol.asyncDispose]: () => Promise.resolve(dispose()),
  };
}
