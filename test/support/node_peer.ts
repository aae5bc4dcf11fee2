/**
 * Node.js `tls` peers, run as `node` child processes (so they are the same
 * under Deno and Bun): an echo client and an echo server, each optionally
 * behind a plaintext STARTTLS prelude. They report as JSON lines on stdout.
 *
 * @module
 */
import { nodePeer, type Peer } from "./openssl.ts";

/** What a Node peer reports about its TLS side. */
export interface NodeReport {
  event: "secure";
  protocol: string;
  cipher: string;
  alpn: string | null;
  servername?: string | null;
  authorized: boolean;
  authorizationError: string | null;
  /** CN of the peer certificate, or null. */
  subject: string | null;
}

/** The end of a Node client's echo round: hashes of what it sent and got back. */
export interface NodeDone {
  event: "done";
  sent: string;
  received: string;
  length: number;
}

const COMMON = `
import tls from "node:tls";
import net from "node:net";
import crypto from "node:crypto";
const cfg = JSON.parse(process.argv.at(-1));
const out = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
const hash = (b) => crypto.createHash("sha256").update(b).digest("hex");
function report(s, extra = {}) {
  const cert = s.getPeerCertificate();
  out({
    event: "secure",
    protocol: s.getProtocol(),
    cipher: s.getCipher().name,
    alpn: s.alpnProtocol || null,
    authorized: s.authorized,
    authorizationError: s.authorizationError ? String(s.authorizationError) : null,
    subject: cert && cert.subject ? cert.subject.CN : null,
    ...extra,
  });
}
/** Calls back with one plaintext line, leaving the socket paused with nothing buffered past it. */
function readLine(sock, cb) {
  let buf = "";
  const onData = (chunk) => {
    buf += chunk.toString("latin1");
    const nl = buf.indexOf("\\n");
    if (nl < 0) return;
    sock.off("data", onData);
    sock.pause();
    if (nl + 1 !== buf.length) out({ event: "error", message: "bytes past the line: " + JSON.stringify(buf) });
    cb(buf.slice(0, nl).replace(/\\r$/, ""));
  };
  sock.on("data", onData);
}
setTimeout(() => { out({ event: "error", message: "node peer timed out" }); process.exit(3); }, cfg.timeout ?? 20000).unref();
`;

const CLIENT = COMMON + `
const data = crypto.randomBytes(cfg.size ?? 0);
const options = {
  host: "127.0.0.1", port: cfg.port, servername: cfg.servername, ca: cfg.ca, cert: cfg.cert, key: cfg.key,
  ALPNProtocols: cfg.alpn, minVersion: cfg.minVersion, maxVersion: cfg.maxVersion,
};
function run(s) {
  const received = [];
  let got = 0;
  const finish = () => {
    out({ event: "done", sent: hash(data), received: hash(Buffer.concat(received)), length: got });
    s.end(); // close_notify, then FIN
  };
  s.on("secureConnect", () => {
    report(s);
    if (data.length === 0) return finish();
    s.write(data);
  });
  s.on("data", (c) => {
    received.push(c);
    got += c.length;
    if (got === data.length) finish();
  });
  s.on("end", () => out({ event: "end" }));
  s.on("error", (e) => { out({ event: "error", code: e.code ?? null, message: e.message }); process.exitCode = 1; });
}
if (!cfg.starttls) {
  run(tls.connect(options));
} else {
  const plain = net.connect({ host: "127.0.0.1", port: cfg.port }, () => {
    readLine(plain, (greeting) => {
      out({ event: "greeting", line: greeting });
      if (cfg.pipeline) {
        // STARTTLS and the ClientHello back to back, without waiting for an answer.
        plain.write("STARTTLS\\r\\n");
        run(tls.connect({ ...options, socket: plain }));
      } else {
        plain.write("STARTTLS\\r\\n");
        readLine(plain, (answer) => {
          out({ event: "answer", line: answer });
          run(tls.connect({ ...options, socket: plain }));
        });
      }
    });
  });
  plain.on("error", (e) => { out({ event: "error", code: e.code ?? null, message: e.message }); process.exitCode = 1; });
}
`;

const SERVER = COMMON + `
const context = { cert: cfg.cert, key: cfg.key, ca: cfg.ca, requestCert: !!cfg.requestCert,
  rejectUnauthorized: !!cfg.requestCert, ALPNProtocols: cfg.alpn, minVersion: cfg.minVersion, maxVersion: cfg.maxVersion };
function serve(s, server) {
  s.on("data", (c) => s.write(c));
  s.on("end", () => { out({ event: "end" }); s.end(); });
  s.on("close", () => server.close());
  s.on("error", (e) => out({ event: "error", code: e.code ?? null, message: e.message }));
}
if (!cfg.starttls) {
  const server = tls.createServer(context, (s) => {
    report(s, { servername: s.servername || null });
    serve(s, server);
  });
  server.on("tlsClientError", (e) => { out({ event: "error", code: e.code ?? null, message: e.message }); server.close(); });
  server.listen(0, "127.0.0.1", () => out({ event: "listening", port: server.address().port }));
} else {
  const server = net.createServer((plain) => {
    plain.write("220 node ESMTP ready\\r\\n");
    readLine(plain, (line) => {
      out({ event: "command", line });
      plain.write("220 go ahead\\r\\n");
      const s = new tls.TLSSocket(plain, { isServer: true, secureContext: tls.createSecureContext(context),
        requestCert: context.requestCert, rejectUnauthorized: context.rejectUnauthorized, ALPNProtocols: cfg.alpn });
      s.on("secure", () => report(s, { servername: s.servername || null }));
      serve(s, server);
      plain.resume();
    });
  });
  server.listen(0, "127.0.0.1", () => out({ event: "listening", port: server.address().port }));
}
`;

/** Options of the Node peers. */
export interface NodeOptions {
  ca?: string;
  cert?: string;
  key?: string;
  alpn?: string[];
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /** Plaintext prelude: greeting, `STARTTLS`, answer; then TLS. */
  starttls?: boolean;
}

/** The JSON lines a Node peer printed so far. */
export function events(peer: Peer): Array<Record<string, unknown>> {
  return peer.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** Waits for the first event of `kind`; rejects at once on an `error` event. */
export function nextEvent<T = Record<string, unknown>>(
  peer: Peer,
  kind: string,
  timeoutMs?: number,
): Promise<T> {
  return peer.waitUntil(`a "${kind}" event`, () => {
    const all = events(peer);
    const error = all.find((e) => e.event === "error");
    if (error && kind !== "error") {
      throw new Error(`node peer error: ${JSON.stringify(error)}\n${peer.transcript()}`);
    }
    return all.find((e) => e.event === kind) as T | undefined;
  }, timeoutMs);
}

/**
 * A Node TLS echo client of `size` random bytes to 127.0.0.1:`port`; it reports
 * `secure`, then `done` with the hashes, then sends close_notify.
 */
export function nodeClient(
  port: number,
  o: NodeOptions & { servername?: string; size?: number; pipeline?: boolean },
): Peer {
  return nodePeer(CLIENT, { port, ...o });
}

/** A Node TLS echo server for one connection; resolves once it listens (its port in `peer.port`). */
export async function nodeServer(o: NodeOptions & { requestCert?: boolean }): Promise<Peer> {
  const peer = nodePeer(SERVER, o);
  try {
    const { port } = await nextEvent<{ port: number }>(peer, "listening");
    peer.port = port;
  } catch (e) {
    await peer.stop();
    throw e;
  }
  return peer;
}
