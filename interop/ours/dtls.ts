/**
 * Our side of a DTLS cell (`task.dtls`): @jsec/tls/dtls as client or server,
 * one message per datagram. Ping: the client sends `jsec-ping <nonce>` and
 * waits for the reply token; the server answers it with `jsec-pong <nonce>`.
 * Every wait is bounded by the task's deadline.
 * @module
 */
import { readFileSync } from "node:fs";
import { connect, type DtlsConn, listen } from "../../dtls.ts";
import { DTLS_SRTP_KEYS } from "../lib/dtls_cases.ts";
import type { OursEvent, OursInfo, OursTask } from "../lib/task.ts";

type Result = Extract<OursEvent, { event: "result" }>;

const pem = (f: string | undefined) => (f ? readFileSync(f, "utf8") : undefined);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** The next message, or null at the peer's close_notify or the deadline. */
async function receiveBefore(conn: DtlsConn, deadline: number): Promise<Uint8Array | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((
    r,
  ) => (timer = setTimeout(() => r(null), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([conn.receive(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Receives messages until their text contains `token`; false at close_notify or the deadline. */
async function receiveUntil(conn: DtlsConn, token: string, deadline: number): Promise<boolean> {
  const dec = new TextDecoder();
  let seen = "";
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    const m = await receiveBefore(conn, deadline);
    if (m === null) return false;
    seen += dec.decode(m);
    if (seen.includes(token)) return true;
  }
  return false;
}

function options(task: OursTask) {
  return {
    caCerts: task.caFile ? [pem(task.caFile)!] : undefined,
    cert: pem(task.pair?.certFile),
    key: pem(task.pair?.keyFile),
    alpnProtocols: task.alpnProtocols,
    srtpProfiles: task.srtpProfiles,
    handshakeTimeout: Math.min(20_000, task.timeoutMs),
  };
}

/** The handshake, reported. */
async function handshake(conn: DtlsConn, emit: (e: OursEvent) => void): Promise<OursInfo> {
  const i = await conn.handshake();
  const info: OursInfo = {
    protocol: i.protocol,
    cipher: i.cipher,
    alpnProtocol: i.alpnProtocol,
    servername: i.servername,
    peerCertCount: i.peerCertificates.length,
    verified: i.verified,
    resumed: i.resumed,
    srtpProfile: i.srtpProfile,
    ...(i.srtpProfile
      ? { srtpKeys: hex(conn.exportKeyingMaterial(DTLS_SRTP_KEYS.length, DTLS_SRTP_KEYS.label)) }
      : {}),
  };
  emit({ event: "handshake", info });
  return info;
}

async function clientOnce(task: OursTask, emit: (e: OursEvent) => void, session?: Uint8Array) {
  const conn = await connect({
    ...options(task),
    hostname: "127.0.0.1",
    port: task.port,
    servername: task.servername,
    ...(session ? { session } : {}),
  });
  try {
    const info = await handshake(conn, emit);
    if (task.mode === "fail") {
      return { result: { event: "result", ok: false, info, message: "handshake succeeded" } as Result };
    }
    await conn.send(new TextEncoder().encode(`jsec-ping ${task.nonce}\n`));
    const deadline = Date.now() + task.timeoutMs;
    const replied = await receiveUntil(conn, task.expectReply ?? `jsec-pong ${task.nonce}`, deadline);
    return { result: { event: "result", ok: replied, info, replied } as Result, saved: conn.session };
  } finally {
    await conn.close(); // resolves once the close_notify has left
  }
}

/** `task.connections` client connections in turn, each offering the previous one's session. */
async function runClient(task: OursTask, emit: (e: OursEvent) => void): Promise<Result> {
  let last = await clientOnce(task, emit);
  for (let i = 1; i < (task.connections ?? 1) && last.result.ok; i++) {
    last = await clientOnce(task, emit, last.saved ?? undefined);
  }
  return last.result;
}

/** Answers one connection's ping; closes first when the task says so, else after the peer's close_notify. */
async function serveOne(conn: DtlsConn, task: OursTask, emit: (e: OursEvent) => void): Promise<Result> {
  try {
    const info = await handshake(conn, emit);
    if (task.mode === "fail") return { event: "result", ok: false, info, message: "handshake succeeded" };
    const deadline = Date.now() + task.timeoutMs;
    const replied = await receiveUntil(conn, `jsec-ping ${task.nonce}`, deadline);
    if (replied) await conn.send(new TextEncoder().encode(`jsec-pong ${task.nonce}\n`));
    if (!task.closeFirst) {
      for (let i = 0; i < 1000 && (await receiveBefore(conn, deadline)) !== null; i++);
    }
    return { event: "result", ok: replied, info, replied };
  } finally {
    await conn.close();
  }
}

async function runServer(task: OursTask, emit: (e: OursEvent) => void): Promise<Result> {
  let handshakeFailed: (e: unknown) => void = () => {};
  const failure = new Promise<never>((_, reject) => (handshakeFailed = reject));
  const listener = listen({
    ...options(task),
    requestCert: task.requestCert,
    hostname: "127.0.0.1",
    port: task.port,
    onHandshakeError: handshakeFailed,
  });
  try {
    await listener.ready;
    emit({ event: "listening", port: listener.addr.port });
    let result: Result = { event: "result", ok: false, message: "listener closed before a connection" };
    // Of `task.connections` in turn, the last is reported; the earlier ones only had to complete
    // their handshake (a client may resume before it sends anything).
    for (let i = 0; i < (task.connections ?? 1); i++) {
      const conn = await Promise.race([listener.accept(), failure]);
      if (!conn) break;
      result = await serveOne(conn, task, emit);
    }
    return result;
  } finally {
    listener.close();
  }
}

/** Plays a DTLS task; resolves with its result event (a thrown TlsError is the caller's to report). */
export function runDtls(task: OursTask, emit: (e: OursEvent) => void): Promise<Result> {
  return task.role === "client" ? runClient(task, emit) : runServer(task, emit);
}
