/**
 * Runs one cell: our side against one peer, one case, one direction. Starts
 * the server side first, then the client, lets the peer play its part,
 * and judges the outcome from both sides. Never passes what it did not check.
 * @module
 */
import { type CaseDef, type CaseSide, SLOW_READER_BYTES } from "./cases.ts";
import type { CertSet } from "./certs.ts";
import { NO_ECH } from "./ech_cases.ts";
import type { Host } from "./hosts.ts";
import { pkcs11Unsupported } from "./pkcs11_case.ts";
import { type OursEnv, oursListening, oursResult, startOurs } from "./ours.ts";
import type { Proc, ProcExit } from "./proc.ts";
import type { OursEvent, OursTask } from "./task.ts";
import type { CellResult, Direction, Ours, Suite } from "./types.ts";
import { atLeast, type PeerContext, type PeerDriver, type PeerSession, pongToken } from "../peers/peer.ts";

/** Everything a cell needs. */
export interface CellParams {
  host: Host;
  env: OursEnv;
  certs: CertSet;
  ours: Ours;
  ourSuite: Suite;
  ourLibssl: string;
  peer: PeerDriver;
  caseDef: CaseDef;
  direction: Direction;
  nextPort: () => number;
}

type Result = Extract<OursEvent, { event: "result" }>;

function timeoutFor(c: CaseDef): number {
  return c.id.startsWith("transfer") ? 90_000 : 20_000;
}

/** The reason this cell cannot run, or a side to run. */
export function planCell(p: CellParams): CaseSide | string {
  const side = p.caseDef.side(p.direction, p.certs);
  if (typeof side === "string") return side;
  if (p.caseDef.ech && !atLeast(p.ourLibssl, 4, 0)) return NO_ECH;
  if (p.caseDef.ech && p.peer.instance.kind !== "openssl") return "the matrix drives ECH with openssl only";
  if (p.caseDef.mlkem && !atLeast(p.ourLibssl, 3, 5)) {
    return `our libssl ${p.ourLibssl} has no X25519MLKEM768 (needs 3.5)`;
  }
  const noToken = p.caseDef.pkcs11 ? pkcs11Unsupported(p.ourSuite) : null;
  if (noToken) return noToken;
  const role = p.direction === "ours-client" ? "server" : "client";
  if (side.peer.exportKeys && p.peer.printsExportedKeys?.(role) === false) {
    return `this peer's ${role} prints no keying material it exports: nothing to compare ours with`;
  }
  return p.peer.unsupported(p.caseDef, role, side.peer, p.ourLibssl) ?? sized(side, p.peer, role);
}

/** A bulk transfer into a slow reader is cut to SLOW_READER_BYTES, so that its time does not depend on the machine. */
function sized(side: CaseSide, peer: PeerDriver, role: "client" | "server"): CaseSide {
  if (side.peer.transferBytes === undefined || !peer.readsSlowly?.(role)) return side;
  return {
    ...side,
    peer: { ...side.peer, transferBytes: SLOW_READER_BYTES },
    ours: { ...side.ours, transferBytes: SLOW_READER_BYTES },
  };
}

/** The results.json row of this cell. */
export function resultRow(
  p: CellParams,
  status: CellResult["status"],
  reason: string,
  ms: number,
): CellResult {
  return {
    ours: p.ours,
    ourLibssl: p.ourLibssl,
    peer: p.peer.instance.kind,
    peerVersion: p.peer.instance.version,
    case: p.caseDef.id,
    direction: p.direction,
    status,
    reason,
    ms,
  };
}

/**
 * Run the cell; a failed cell is run once more (a loaded machine can starve a
 * process start), and a pass on the second attempt says so in its reason.
 */
export async function runCell(p: CellParams): Promise<CellResult> {
  const first = await attempt(p);
  if (first.status !== "fail") return first;
  const second = await attempt(p);
  if (second.status !== "pass") return second;
  return { ...second, reason: `passed on the 2nd attempt; 1st: ${first.reason}`, ms: first.ms + second.ms };
}

async function attempt(p: CellParams): Promise<CellResult> {
  const t0 = Date.now();
  const row = (status: CellResult["status"], reason: string) => resultRow(p, status, reason, Date.now() - t0);
  const plan = planCell(p);
  if (typeof plan === "string") return row("n/a", plan);
  const procs: Proc[] = [];
  try {
    const reason = p.direction === "ours-client"
      ? await asClient(p, plan, procs)
      : await asServer(p, plan, procs);
    const debug = Deno.env.get("JSEC_INTEROP_DEBUG");
    if ((reason && debug) || debug === "all") {
      for (const proc of procs) console.error(`--- ${proc.label}\n${proc.output.trim().slice(-3000)}`);
    }
    return reason ? row("fail", reason) : row("pass", "");
  } catch (e) {
    return row("fail", (e as Error).message ?? String(e));
  } finally {
    for (const proc of procs) proc.kill();
  }
}

/** What the peer driver gets for this cell's run of our `task`. */
function peerContext(p: CellParams, task: OursTask): PeerContext {
  return {
    host: p.host,
    certs: p.certs,
    nonce: task.nonce,
    deadlineMs: task.timeoutMs + 10_000,
    ourLibssl: p.ourLibssl,
  };
}

function baseTask(p: CellParams, side: CaseSide, role: "client" | "server", port: number): OursTask {
  return {
    ...side.ours,
    role,
    port,
    nonce: crypto.randomUUID().slice(0, 8),
    timeoutMs: timeoutFor(p.caseDef),
  };
}

async function asClient(p: CellParams, side: CaseSide, procs: Proc[]): Promise<string | null> {
  const port = p.nextPort();
  const task = baseTask(p, side, "client", port);
  let session: PeerSession;
  try {
    session = await p.peer.server(peerContext(p, task), side.peer, port);
  } catch (e) {
    return `peer server did not start: ${(e as Error).message}`;
  }
  procs.push(session.proc);
  task.expectReply = session.reply;
  if (task.mode === "send" && session.transfer === "echo") task.mode = "echo";
  const ours = startOurs(p.host, p.env, p.ours, p.ourSuite, task);
  procs.push(ours);
  return await finish(p, side, task, session, ours, "client");
}

async function asServer(p: CellParams, side: CaseSide, procs: Proc[]): Promise<string | null> {
  const task = baseTask(p, side, "server", 0);
  if (side.peer.serverClosesFirst) task.closeFirst = true;
  if (p.peer.clientWaitsForServerClose) task.closeFirst = task.fullClose = true;
  const ours = startOurs(p.host, p.env, p.ours, p.ourSuite, task);
  procs.push(ours);
  let port: number;
  try {
    port = await oursListening(ours, 20_000);
  } catch {
    await ours.wait(2000);
    return `our server did not listen: ${describe(oursResult(ours))}`;
  }
  const session = p.peer.client(peerContext(p, task), side.peer, port, pongToken(task.nonce));
  procs.push(session.proc);
  return await finish(p, side, task, session, ours, "server");
}

/** Both sides are running: lets them talk, waits for both, and judges the cell. */
async function finish(
  p: CellParams,
  side: CaseSide,
  task: ReturnType<typeof baseTask>,
  session: PeerSession,
  ours: Proc,
  role: "client" | "server",
): Promise<string | null> {
  const talk = session.converse().then(() => null, (e: Error) => e.message);
  await ours.wait(task.timeoutMs + 15_000);
  const result = oursResult(ours);
  const talkErr = await settle(talk, task.mode === "send" || task.mode === "echo" ? 60_000 : 10_000);
  const exit = await peerExit(session, side, result);
  const verdict = session.verdict(exit, !!side.peer.proveCloseNotify);
  const failCode = p.peer.failCode?.(p.caseDef, role === "client" ? "server" : "client") ?? null;
  return judge(side, task, result, talkErr, verdict, session, p.peer, role, failCode);
}

/** Let the peer end by itself (briefly, for one that lingers by design) before it is killed. */
async function peerExit(session: PeerSession, side: CaseSide, result: Result): Promise<ProcExit> {
  if (session.lingers) {
    await session.proc.closeStdin();
    return await session.proc.wait(300);
  }
  return await session.proc.wait(side.peer.mode === "fail" || !result.ok ? 1000 : 5000);
}

async function settle(p: Promise<string | null>, ms: number): Promise<string | null> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    p,
    new Promise<string>((res) => (t = setTimeout(() => res("peer step timed out"), ms))),
  ]);
  clearTimeout(t);
  return r;
}

function describe(r: Result): string {
  return [r.code, r.message].filter(Boolean).join(": ").slice(0, 400) || "failed";
}

function judge(
  side: CaseSide,
  task: OursTask,
  r: Result,
  talkErr: string | null,
  verdict: string | null,
  session: PeerSession,
  peer: PeerDriver,
  ourRole: "client" | "server",
  expected: string | null,
): string | null {
  if (side.peer.mode === "fail") {
    const want = expected ?? side.expectCode;
    if (r.ok || !r.code) return `expected ${want}, but ${describe(r)}`;
    return r.code === want ? null : `expected ${want}, got ${describe(r)}`;
  }
  if (!r.ok) return `ours: ${describe(r)}${talkErr ? ` (peer: ${talkErr})` : ""}`;
  if (talkErr) return `peer: ${talkErr}`;
  const printsExportedKeys = peer.printsExportedKeys?.(ourRole === "client" ? "server" : "client") ?? true;
  const bad = r.info && side.check?.(r.info, { output: session.proc.output, printsExportedKeys });
  if (bad) return bad;
  if (verdict) return verdict;
  if (side.oursSeesCloseNotify && !r.cleanEof) return "our side did not see the peer's close_notify";
  if (task.mode === "echo") {
    if (r.receivedBytes !== task.transferBytes || r.receivedSha256 !== r.sentSha256) {
      return `echoed ${r.receivedBytes} bytes, sha256 ${
        r.receivedSha256 === r.sentSha256 ? "equal" : "differs"
      }`;
    }
  } else if (task.mode === "send") {
    const proc = session.proc;
    if (proc.stdoutBytes !== task.transferBytes || proc.stdoutSha256() !== r.sentSha256) {
      const who = ourRole === "client" ? "peer server" : "peer client";
      return `${who} received ${proc.stdoutBytes} of ${task.transferBytes} bytes` +
        (proc.stdoutBytes === task.transferBytes ? ", sha256 differs" : "");
    }
  }
  return null;
}
