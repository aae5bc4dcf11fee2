/**
 * Our side of one interop cell: drives @jsec/tls as client or server under
 * Deno or Bun, inside a suite's container, and reports JSON lines on stdout
 * (see interop/lib/task.ts). Usage: `deno run -A interop/ours/cell.ts '<task json>'`
 * or `bun interop/ours/cell.ts '<task json>'`.
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { connect, createSecureContext, listen } from "../../mod.ts";
import type { OursEvent, OursInfo, OursTask } from "../lib/task.ts";
import { type Duplex, readToEof, readUntil, receiveBytes, sendPattern } from "./io.ts";
import { smtpClient, smtpServer } from "./smtp.ts";
import { runDtls } from "./dtls.ts";
import { echConfigListOf } from "../lib/ech_cases.ts";
import { tokenKeyUri } from "./pkcs11.ts";
import { featureInfo, featureOptions, rotateTicketKeys } from "./features.ts";

const task = JSON.parse(process.argv[process.argv.length - 1]) as OursTask;
const pem = (f: string | undefined) => (f ? readFileSync(f, "utf8") : undefined);

function emit(e: OursEvent): void {
  process.stdout.write(JSON.stringify(e) + "\n");
}

/** The handshake facts we report, from the core's HandshakeInfo. */
interface CoreInfo {
  protocol: string;
  cipher: string;
  group: string | null;
  alpnProtocol: string | null;
  servername: string | null;
  peerCertificates: unknown[];
  verified: boolean;
  resumed: boolean;
  ech: NonNullable<OursInfo["ech"]>;
  pskIdentity?: string | null;
}
function summarize(i: CoreInfo): OursInfo {
  return {
    protocol: i.protocol,
    cipher: i.cipher,
    group: i.group ?? undefined,
    alpnProtocol: i.alpnProtocol,
    servername: i.servername,
    peerCertCount: i.peerCertificates.length,
    verified: i.verified,
    resumed: i.resumed,
    ech: i.ech,
  };
}

/** A connection as this program uses it (the core's TlsConn has more). */
interface Conn extends Duplex {
  handshake(): Promise<CoreInfo>;
  exportKeyingMaterial(length: number, label: string): Uint8Array;
  close(): void;
}

function tlsOptions() {
  return {
    caCerts: task.caFile ? [pem(task.caFile)!] : undefined,
    cert: pem(task.pair?.certFile),
    key: task.pkcs11 ? tokenKeyUri(task.pair!) : pem(task.pair?.keyFile),
    alpnProtocols: task.alpnProtocols,
    minVersion: task.minVersion,
    maxVersion: task.maxVersion,
    groups: task.groups,
    handshakeTimeout: Math.min(20_000, task.timeoutMs),
    ...featureOptions(task),
  };
}

/** After the handshake: the exchange the mode asks for. */
async function exchange(conn: Conn, info: OursInfo, isClient: boolean): Promise<Result> {
  const deadline = Date.now() + task.timeoutMs;
  if (task.mode === "send") {
    const sentSha256 = await sendPattern(conn, task.transferBytes ?? 0);
    await conn.closeWrite();
    if (task.fullClose) return { event: "result", ok: true, info, sentSha256 };
    const rest = await readToEof(conn, deadline);
    return { event: "result", ok: true, info, sentSha256, cleanEof: rest.cleanEof };
  }
  if (task.mode === "echo") {
    const n = task.transferBytes ?? 0;
    const [sentSha256, got] = await Promise.all([sendPattern(conn, n), receiveBytes(conn, n, deadline)]);
    await conn.closeWrite();
    const rest = await readToEof(conn, deadline);
    return {
      event: "result",
      ok: true,
      info,
      sentSha256,
      receivedSha256: got.sha256,
      receivedBytes: got.bytes,
      cleanEof: rest.cleanEof,
    };
  }
  // ping (also after STARTTLS)
  if (isClient) {
    // The blank line ends a "request" for servers that wait for one (NSS selfserv).
    await conn.write(new TextEncoder().encode(`jsec-ping ${task.nonce}\r\n\r\n`));
    const replied = await readUntil(conn, task.expectReply ?? `jsec-pong ${task.nonce}`, deadline);
    await conn.closeWrite();
    const rest = await readToEof(conn, deadline);
    return { event: "result", ok: replied, info, replied, cleanEof: rest.cleanEof };
  }
  const ping = `jsec-ping ${task.nonce}`;
  const replied = await readUntil(conn, ping, deadline);
  if (replied) await conn.write(new TextEncoder().encode(`jsec-pong ${task.nonce}\n`));
  if (task.closeFirst) await conn.closeWrite();
  if (task.fullClose) return { event: "result", ok: replied, info, replied };
  const rest = await readToEof(conn, deadline);
  if (!task.closeFirst) await conn.closeWrite().catch(() => {});
  return { event: "result", ok: replied, info, replied, cleanEof: rest.cleanEof };
}

type Result = Extract<OursEvent, { event: "result" }>;

/** `task.connections` client connections in turn: the last one's result, or the first failure. */
async function runClient(): Promise<Result> {
  let result = await clientOnce();
  for (let i = 1; i < (task.connections ?? 1) && result.ok; i++) result = await clientOnce();
  return result;
}

async function clientOnce(): Promise<Result> {
  const opts = {
    ...tlsOptions(),
    hostname: "127.0.0.1",
    port: task.port,
    servername: task.servername,
    echConfigList: task.echConfigFile ? echConfigListOf(pem(task.echConfigFile)!) : undefined,
    echGrease: task.echGrease,
  };
  let conn: Conn;
  if (task.mode === "smtp") {
    conn = (await smtpClient(task.port, opts)) as Conn;
  } else {
    conn = (await connect(opts)) as unknown as Conn;
  }
  return await handshakeAndExchange(conn, true);
}

async function runServer(): Promise<Result> {
  const opts = {
    ...tlsOptions(),
    requestCert: task.requestCert,
    sni: sniOption(),
    echKeys: pem(task.echKeysFile),
  };
  if (task.mode === "smtp") {
    const conn = (await smtpServer(task.port, opts, (port) => emit({ event: "listening", port }))) as Conn;
    return await handshakeAndExchange(conn, false);
  }
  // The listener hands out only connections whose handshake succeeded; a failed
  // one is reported through onHandshakeError, which is what "fail" cells expect.
  let handshakeFailed: (e: unknown) => void = () => {};
  const failure = new Promise<never>((_, reject) => (handshakeFailed = reject));
  const server = listen({
    ...opts,
    port: task.port,
    hostname: "127.0.0.1",
    onHandshakeError: handshakeFailed,
  });
  const addr = server.addr;
  emit({ event: "listening", port: "port" in addr ? addr.port : 0 });
  const accepted = server[Symbol.asyncIterator]();
  const nextConn = async () => {
    const next = await Promise.race([accepted.next(), failure]);
    return next.done ? null : next.value as unknown as Conn;
  };
  try {
    // Of `task.connections` in turn, the last is reported; the earlier ones only had to complete
    // their handshake (a client may resume before it sends anything, or leave without a word).
    for (let i = 1; i < (task.connections ?? 1); i++) {
      const conn = await nextConn();
      if (conn) await handshakeAndExchange(conn, false).catch(() => {});
      rotateTicketKeys(server, task);
    }
    const conn = await nextConn();
    if (!conn) return { event: "result", ok: false, message: "listener closed before a connection" };
    return await handshakeAndExchange(conn, false);
  } finally {
    server.close();
  }
}

/** Reports the handshake, then plays the task's exchange (a "fail" task ends here: it was to fail); closes. */
async function handshakeAndExchange(conn: Conn, isClient: boolean): Promise<Result> {
  try {
    const core = await conn.handshake();
    const info = { ...summarize(core), ...featureInfo(conn, core, task) };
    emit({ event: "handshake", info });
    if (task.mode === "fail") return { event: "result", ok: false, info, message: "handshake succeeded" };
    return await exchange(conn, info, isClient);
  } finally {
    conn.close();
  }
}

/** The `sni` option: the task's pairs by name, or (`sniAsync`) a callback answering with their contexts a turn later. */
function sniOption() {
  if (!task.sni) return undefined;
  const pairs = Object.fromEntries(
    Object.entries(task.sni).map(([name, p]) => [name, { cert: pem(p.certFile)!, key: pem(p.keyFile)! }]),
  );
  if (!task.sniAsync) return pairs;
  const contexts = new Map(
    Object.entries(pairs).map(([name, pair]) => [name, createSecureContext({ isServer: true, ...pair })]),
  );
  return async (servername: string | null) => {
    await new Promise((r) => setTimeout(r, 1));
    return servername === null ? undefined : contexts.get(servername);
  };
}

function errorEvent(e: unknown): Result {
  const err = e as { code?: unknown; message?: unknown; name?: unknown };
  return {
    event: "result",
    ok: false,
    code: typeof err?.code === "string" ? err.code : String(err?.name ?? "Error"),
    message: String(err?.message ?? e),
  };
}

const timer = setTimeout(() => {
  emit({
    event: "result",
    ok: false,
    code: "CELL_TIMEOUT",
    message: `no result within ${task.timeoutMs} ms`,
  });
  process.exit(3);
}, task.timeoutMs + 2000);
let result: OursEvent;
try {
  result = task.dtls
    ? await runDtls(task, emit)
    : task.role === "client"
    ? await runClient()
    : await runServer();
} catch (e) {
  result = errorEvent(e);
}
emit(result);
clearTimeout(timer);
process.exit(0);
