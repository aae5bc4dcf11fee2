/**
 * Bun's native TLS (BoringSSL: Bun.listen / Bun.connect with `tls`) as an
 * interop peer, driven by one JSON argument (see task.ts).
 * Status lines go to stderr, application data to stdout.
 * @module
 */
import { readFileSync, writeSync } from "node:fs";
import process from "node:process";
import type { ProgramTask } from "./task.ts";

interface Sock {
  write(b: string | Uint8Array): number;
  end(): void;
  alpnProtocol?: string | false | null;
  getTLSVersion?(): string;
  getSession?(): unknown;
  setSession?(session: unknown): void;
  isSessionReused?(): boolean;
}
/** A plain socket that can start TLS on itself (Bun 1.4's `upgradeTLS`). */
interface PlainSock extends Sock {
  upgradeTLS(o: unknown): [Sock, Sock];
}
interface BunTls {
  listen(o: unknown): { stop(): void };
  connect(o: unknown): Promise<PlainSock>;
}
const bun = (globalThis as unknown as { Bun: BunTls }).Bun;

const task = JSON.parse(process.argv[process.argv.length - 1]) as ProgramTask;
const text = (f?: string) => (f ? readFileSync(f, "utf8") : undefined);
const say = (s: string) => process.stderr.write(s + "\n");
const ping = `jsec-ping ${task.nonce}`;
setTimeout(() => {
  say("ERROR timeout");
  process.exit(3);
}, 60_000);

/** Pending bytes when a write was partial (Bun's write may take part of a buffer). */
const pending: Uint8Array[] = [];
function send(s: Sock, data: Uint8Array) {
  if (pending.length) return void pending.push(data);
  const n = s.write(data);
  if (n < data.length) pending.push(data.subarray(Math.max(0, n)));
}

/** Write to stdout synchronously, so nothing is lost at exit (retrying a full pipe). */
function writeOut(d: Uint8Array) {
  let off = 0;
  for (let i = 0; off < d.length && i < 100_000; i++) {
    try {
      off += writeSync(1, d, off, d.length - off);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
}

let seen = "";
let endAfterFlush = false;
const connections = task.connections ?? 1;
let closed = 0;
/** Client: the session of the last connection, offered on the next. */
let session: unknown;
const handlers = {
  handshake(s: Sock, ok: boolean, err: Error | null) {
    if (!ok) {
      say(`ERROR handshake ${err?.message ?? ""}`);
      process.exit(1);
    }
    say(`HANDSHAKE ${s.getTLSVersion?.() ?? "?"} ${s.alpnProtocol || "-"}`);
    if (s.isSessionReused?.()) say("RESUMED");
    if (task.role === "client" && task.mode !== "transfer") send(s, new TextEncoder().encode(ping + "\n"));
  },
  data(s: Sock, d: Uint8Array) {
    writeOut(d);
    if (task.mode === "transfer") return;
    seen += new TextDecoder().decode(d);
    if (task.role === "server" && seen.includes(ping)) {
      seen = "";
      send(s, new TextEncoder().encode(`jsec-pong ${task.nonce}\n`));
      if (task.serverClosesFirst) s.end();
    } else if (task.role === "client" && seen.includes(`jsec-pong ${task.nonce}`)) {
      seen = "";
      session = s.getSession?.() ?? session; // TLS 1.3 tickets came before the pong
      if (!task.serverClosesFirst) s.end();
    }
  },
  drain(s: Sock) {
    while (pending.length) {
      const head = pending[0];
      const n = s.write(head);
      if (n < head.length) {
        pending[0] = head.subarray(Math.max(0, n));
        return;
      }
      pending.shift();
    }
    if (endAfterFlush) s.end();
  },
  end(s: Sock) {
    say("PEER-END");
    if (pending.length) endAfterFlush = true;
    else s.end();
  },
  close() {
    if (++closed === connections) process.exit(0);
    if (task.role === "client") {
      connectNext().catch((e: Error) => {
        say(`ERROR connect ${e.message}`);
        process.exit(1);
      });
    }
  },
  error(_s: Sock, e: Error) {
    say(`ERROR ${e.message}`);
    process.exit(1);
  },
  connectError(_s: Sock, e: Error) {
    say(`ERROR connect ${e.message}`);
    process.exit(1);
  },
};

/** ALPN list in wire format (length-prefixed names), which Bun's options take. */
function alpnWire(list?: string[]): ArrayBuffer | undefined {
  if (!list?.length) return undefined;
  const parts = list.map((p) => new TextEncoder().encode(p));
  const out = new Uint8Array(parts.reduce((n, p) => n + 1 + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out[off++] = p.length;
    out.set(p, off);
    off += p.length;
  }
  return out.buffer;
}

/** BoringSSL's SSL_OP_NO_TLSv1_* bits: Bun pins a version through `secureOptions`. */
const NO_TLS = { v1: 0x04000000, v1_1: 0x10000000, v1_2: 0x08000000, v1_3: 0x20000000 };
const secureOptions = task.version === "1.2"
  ? NO_TLS.v1_3
  : task.version === "1.3"
  ? NO_TLS.v1 | NO_TLS.v1_1 | NO_TLS.v1_2
  : 0;

const tls = {
  cert: text(task.certFile),
  key: text(task.keyFile),
  ca: task.caFile ? [text(task.caFile)!] : undefined,
  ALPNProtocols: alpnWire(task.alpn),
  secureOptions,
};
const clientTls = { ...tls, serverName: task.servername ?? "localhost", rejectUnauthorized: true };

try {
  if (task.role === "server") {
    let opened = 0;
    const server = bun.listen({
      hostname: "127.0.0.1",
      port: task.port,
      tls: { ...tls, requestCert: !!task.requireClientCert, rejectUnauthorized: !!task.requireClientCert },
      socket: {
        ...handlers,
        open: () => {
          if (++opened === connections) server.stop();
        },
      },
    });
    say("LISTENING");
  } else if (task.mode === "smtp") {
    await smtpClient();
  } else {
    await connectNext();
  }
} catch (e) {
  say(`ERROR ${(e as Error).message}`);
  process.exit(1);
}

/** Client: the next connection, offering the last one's session (Bun takes it in `open`). */
async function connectNext() {
  await bun.connect({
    hostname: "127.0.0.1",
    port: task.port,
    tls: clientTls,
    socket: { ...handlers, open: (s: Sock) => session && s.setSession?.(session) },
  });
}

/** Client STARTTLS: EHLO, STARTTLS in plain text, then TLS on the same socket (`upgradeTLS`). */
async function smtpClient() {
  let buf = "";
  let step = 0;
  await bun.connect({
    hostname: "127.0.0.1",
    port: task.port,
    socket: {
      data(s: PlainSock, d: Uint8Array) {
        buf += new TextDecoder().decode(d);
        if (step === 0 && /^220 /m.test(buf)) {
          [step, buf] = [1, ""];
          s.write("EHLO bun.test\r\n");
        } else if (step === 1 && /^250 /m.test(buf)) {
          [step, buf] = [2, ""];
          s.write("STARTTLS\r\n");
        } else if (step === 2 && /^220 /m.test(buf)) {
          step = 3;
          s.upgradeTLS({ tls: clientTls, socket: handlers });
        }
      },
      close() {
        if (step < 3) {
          say("ERROR SMTP: closed before STARTTLS");
          process.exit(1);
        }
      },
      error: handlers.error,
      connectError: handlers.connectError,
    },
  });
}
