/**
 * What every peer driver provides: start the stack as a server (resolving
 * once it listens) or as a client, play its part of the exchange, and judge
 * its own side afterwards. Drivers say `n/a` (with a reason) for what their
 * stack cannot do, never a pass.
 * @module
 */
import type { CaseDef, PeerSpec } from "../lib/cases.ts";
import type { CertSet } from "../lib/certs.ts";
import type { Host } from "../lib/hosts.ts";
import type { Proc, ProcExit } from "../lib/proc.ts";
import type { PeerInstance } from "../lib/types.ts";

/** Per-cell context a driver gets. */
export interface PeerContext {
  host: Host;
  certs: CertSet;
  nonce: string;
  /** Hard limit for the peer's process. */
  deadlineMs: number;
  /** Our side's libssl version ("3.0.19"): some features depend on it. */
  ourLibssl: string;
}

/** A started peer process and its part of the conversation. */
export interface PeerSession {
  proc: Proc;
  /** Server, ping mode: the text a client gets back for `jsec-ping <nonce>`. */
  reply: string;
  /**
   * Server, transfer mode: "stdout" = the peer prints what it receives (our
   * client sends, then we hash the peer's stdout); "echo" = it sends it back.
   */
  transfer?: "stdout" | "echo";
  /** A server that keeps running after its one connection (killed once the cell is judged). */
  lingers?: boolean;
  /** The peer's interactive part, run alongside ours; rejects with a reason. */
  converse(): Promise<void>;
  /**
   * After exit: null when the peer's side is fine, else the reason. With
   * `proveCloseNotify`, the peer's own report must show it received our
   * close_notify (a TCP FIN alone must fail).
   */
  verdict(exit: ProcExit, proveCloseNotify: boolean): string | null;
}

/** One stack at one version, able to act as server and client. */
export interface PeerDriver {
  readonly instance: PeerInstance;
  /** True when the peer's client waits for the server to close first. */
  readonly clientWaitsForServerClose?: boolean;
  /** One-time setup before any cell (e.g. a certificate database). */
  prepare?(host: Host, certs: CertSet): Promise<void>;
  /**
   * For an expected-failure case: the code our side must report when this
   * peer signals the failure its own (documented) way, or null for the case's code.
   */
  failCode?(c: CaseDef, role: "client" | "server"): string | null;
  /**
   * True when this role reads a bulk transfer so slowly that its time would
   * depend on the machine: the cell sends it `SLOW_READER_BYTES` (lib/cases.ts) instead.
   */
  readsSlowly?(role: "client" | "server"): boolean;
  /** False when this role's tool does not print the keying material it exports (default: it does). */
  printsExportedKeys?(role: "client" | "server"): boolean;
  /** Reason this role cannot be played for this case, or null. */
  unsupported(c: CaseDef, role: "client" | "server", spec: PeerSpec, ourLibssl: string): string | null;
  /** Start a server on 127.0.0.1:`port`; resolves once it listens. */
  server(ctx: PeerContext, spec: PeerSpec, port: number): Promise<PeerSession>;
  /** Start a client to 127.0.0.1:`port`; `reply` is what our server answers to a ping. */
  client(ctx: PeerContext, spec: PeerSpec, port: number, reply: string): PeerSession;
}

/**
 * What every driver here shares: the instance it drives, and how its
 * processes start (in the instance's suite, labelled with its id, killed at
 * the cell's deadline).
 */
export abstract class SpawningPeer implements PeerDriver {
  readonly instance: PeerInstance;

  constructor(instance: PeerInstance) {
    this.instance = instance;
  }

  abstract unsupported(
    c: CaseDef,
    role: "client" | "server",
    spec: PeerSpec,
    ourLibssl: string,
  ): string | null;
  abstract server(ctx: PeerContext, spec: PeerSpec, port: number): Promise<PeerSession>;
  abstract client(ctx: PeerContext, spec: PeerSpec, port: number, reply: string): PeerSession;

  /** Starts `argv` in the peer's suite. */
  protected spawn(ctx: PeerContext, argv: string[], env?: Record<string, string>): Proc {
    return ctx.host.spawn(this.instance.suite, argv, {
      label: this.instance.id,
      deadlineMs: ctx.deadlineMs,
      ...(env ? { env } : {}),
    });
  }

  /** Starts the server `argv` and resolves once something listens on `port` (UDP: is bound to it). */
  protected async spawnListening(
    ctx: PeerContext,
    argv: string[],
    port: number,
    timeoutMs: number,
    udp = false,
  ): Promise<Proc> {
    const proc = this.spawn(ctx, argv);
    await waitListening(port, timeoutMs, proc, udp);
    return proc;
  }
}

/**
 * The session of a server that plays its whole part by itself (it answers a
 * ping line with that line) and keeps running after its one connection.
 */
export function selfServingSession(proc: Proc, nonce: string, transfer?: "echo"): PeerSession {
  return {
    proc,
    reply: `jsec-ping ${nonce}`,
    ...(transfer ? { transfer } : {}),
    lingers: true,
    converse: async () => {},
    verdict: () => null,
  };
}

/** Matches once `text` (a regular expression) has appeared `times` times. */
export function seenTimes(text: string, times: number): RegExp {
  return new RegExp(`(?:${text}[\\s\\S]*?){${times}}`);
}

/** `ping` line a client sends and the default reply token of a server. */
export const pingLine = (nonce: string): string => `jsec-ping ${nonce}\n`;
/** The reply our server (and runner-driven peers) send. */
export const pongToken = (nonce: string): string => `jsec-pong ${nonce}`;

/** True when libssl `version` ("3.5.4", "1.1.1w") is at least major.minor. */
export function atLeast(version: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/**
 * Resolve once something listens on TCP `port` (host network namespace), or
 * with `udp`, once a UDP socket is bound to it unconnected (state 07, a server's).
 */
export async function waitListening(
  port: number,
  timeoutMs: number,
  proc?: Proc,
  udp = false,
): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")} `;
  const [files, state] = udp
    ? [["/proc/net/udp", "/proc/net/udp6"], "07"]
    : [["/proc/net/tcp", "/proc/net/tcp6"], "0A"];
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    for (const f of files) {
      const text = await Deno.readTextFile(f).catch(() => "");
      for (const line of text.split("\n")) {
        const cols = line.trim().split(/\s+/);
        if (cols[1]?.endsWith(hex.trim()) && cols[3] === state) return;
      }
    }
    if (proc && proc.exited) throw new Error(`${proc.label} exited before listening: ${tail(proc.output)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `nothing listens on port ${port} after ${timeoutMs} ms${proc ? ": " + tail(proc.output) : ""}`,
  );
}

/**
 * Wrap a long-running server so that it ends when its stdin closes (the
 * runner closes it, or the `docker exec` client goes away).
 */
export function endOnStdinEof(argv: string[]): string[] {
  return ["sh", "-c", '"$@" </dev/null & p=$!; cat >/dev/null; kill $p 2>/dev/null; wait $p', "sh", ...argv];
}

/**
 * Wrap a client that reads stdin but lingers (and spins) once stdin has ended:
 * stdin is passed through a FIFO, and the client is stopped one second after it ends.
 */
export function stopAfterStdinEof(argv: string[]): string[] {
  const script =
    'f=$(mktemp -u); mkfifo "$f"; "$@" <"$f" & p=$!; cat >"$f"; sleep 1; kill $p 2>/dev/null; wait $p; s=$?; rm -f "$f"; exit $s';
  return ["sh", "-c", script, "sh", ...argv];
}

/** Last lines of a tool's output, for reasons. */
export function tail(text: string, lines = 3): string {
  return text.trim().split("\n").slice(-lines).join(" | ").slice(0, 400);
}
