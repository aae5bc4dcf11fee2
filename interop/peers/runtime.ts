/**
 * The runtimes' own TLS as peers: Node `tls`, Deno native (rustls) and Bun
 * native (BoringSSL), each through a small program in peers/programs/ that
 * plays its whole part by itself (ping/pong, transfer to stdout, close).
 * What a runtime's API cannot express is `n/a`, with the reason.
 * @module
 */
import type { CaseDef, PeerSpec } from "../lib/cases.ts";
import { SNI_NAME } from "../lib/certs.ts";
import { PSK_TLS12_CIPHER } from "../lib/feature_cases.ts";
import type { PeerInstance } from "../lib/types.ts";
import {
  type PeerContext,
  type PeerSession,
  pongToken,
  seenTimes,
  SpawningPeer,
  tail,
  waitListening,
} from "./peer.ts";
import type { ProgramTask } from "./programs/task.ts";

/** Which side the peer plays. */
export type Role = "client" | "server";

/** Limits of one runtime's TLS API, as n/a reasons keyed by what is asked. */
interface Limits {
  keyUpdate: string;
  psk?: string;
  version?: string;
  groups?: string;
  sniServer?: string;
  clientCertServer?: string;
  smtpServer?: string;
  alpnServer?: string;
  resumeClient?: string;
  /** Why the runtime cannot tell a received close_notify from a TCP FIN (absent: it can). */
  closeNotify?: string;
}

const LIMITS: Record<"node" | "deno-native" | "bun-native", Limits> = {
  node: {
    keyUpdate: "Node's tls has no API to send a KeyUpdate",
  },
  "deno-native": {
    keyUpdate: "Deno's TLS API cannot send a KeyUpdate",
    psk: "Deno's TLS API has no pre-shared keys",
    version: "Deno.connectTls/listenTls cannot pin a TLS version",
    groups: "Deno's TLS API cannot choose key-exchange groups",
    sniServer: "Deno.listenTls serves a single certificate (no SNI selection)",
    clientCertServer: "Deno.listenTls cannot request client certificates",
    smtpServer: "Deno has no server-side STARTTLS (Deno.startTls is client-only)",
    resumeClient: "Deno.connectTls/startTls keep no session to offer on a later connection",
  },
  "bun-native": {
    keyUpdate: "Bun's TLS API cannot send a KeyUpdate",
    psk: "Bun's TLS API has no pre-shared keys",
    groups: "Bun.listen/Bun.connect cannot choose key-exchange groups",
    sniServer: "Bun.listen takes one certificate here (no SNI selection)",
    smtpServer: "Bun.listen has no server-side STARTTLS",
    closeNotify: "Bun's TLS socket reports a TCP FIN and a close_notify alike (its `end` handler)",
  },
};

/** The alert line of OpenSSL's trace (`tlsSocket.enableTrace()`) for a close_notify, sent or received. */
const CLOSE_NOTIFY_ALERT = /^[ \t]+Level=\w+\(\d+\), description=close notify/m;

const SCRIPTS = {
  node: ["node", "interop/peers/programs/node_peer.mjs"],
  "deno-native": ["deno", "run", "-A", "--quiet", "interop/peers/programs/deno_peer.ts"],
  "bun-native": ["bun", "interop/peers/programs/bun_peer.ts"],
};

/** A driver for one runtime's native TLS. */
export class RuntimePeer extends SpawningPeer {
  readonly #kind: "node" | "deno-native" | "bun-native";
  constructor(instance: PeerInstance) {
    super(instance);
    this.#kind = instance.kind as "node" | "deno-native" | "bun-native";
  }

  /** Node's program prints the keying material it exports (RFC 5705); Deno's TLS exports none, Bun's returns none. */
  printsExportedKeys(): boolean {
    return this.#kind === "node";
  }

  unsupported(c: CaseDef, role: Role, spec: PeerSpec, _ourLibssl: string): string | null {
    const l = LIMITS[this.#kind];
    if (c.dtls) {
      return `no DTLS: ${
        this.#kind === "node" ? "Node's tls" : this.#kind === "deno-native" ? "Deno's TLS" : "Bun's TLS"
      } is TCP only`;
    }
    if (spec.keyUpdate) return l.keyUpdate;
    if (spec.psk && l.psk) return l.psk;
    if (spec.proveCloseNotify && l.closeNotify) return l.closeNotify;
    if (spec.version && !spec.versionOptional && l.version) return l.version;
    // Our side offers only the group under test, so a peer that cannot choose
    // groups runs with its defaults and the negotiated group is checked.
    if (spec.sniPair && role === "server" && l.sniServer) return l.sniServer;
    if (spec.requireClientCert && role === "server" && l.clientCertServer) return l.clientCertServer;
    if (spec.mode === "smtp" && role === "server" && l.smtpServer) return l.smtpServer;
    if (spec.alpn && role === "server" && l.alpnServer) return l.alpnServer;
    if ((spec.connections ?? 1) > 1 && role === "client" && l.resumeClient) return l.resumeClient;
    if (c.mlkem && this.#kind === "node" && !this.instance.features?.includes("mlkem")) {
      return `Node ${this.instance.version}'s OpenSSL has no X25519MLKEM768`;
    }
    return null;
  }

  #task(ctx: PeerContext, spec: PeerSpec, role: Role, port: number): ProgramTask {
    return {
      role,
      port,
      nonce: ctx.nonce,
      mode: spec.mode,
      certFile: spec.pair?.certFile,
      keyFile: spec.pair?.keyFile,
      sniName: spec.sniPair ? SNI_NAME : undefined,
      sniCertFile: spec.sniPair?.certFile,
      sniKeyFile: spec.sniPair?.keyFile,
      caFile: spec.caFile,
      requireClientCert: spec.requireClientCert,
      servername: spec.servername,
      alpn: spec.alpn,
      version: LIMITS[this.#kind].version ? undefined : spec.version,
      groups: LIMITS[this.#kind].groups ? undefined : spec.groups,
      serverClosesFirst: spec.serverClosesFirst,
      transferBytes: spec.transferBytes,
      connections: spec.connections,
      traceRecords: spec.proveCloseNotify && this.#kind === "node",
      psk: spec.psk,
      pskCipher: spec.psk && PSK_TLS12_CIPHER,
      exportKeys: spec.exportKeys,
    };
  }

  #session(ctx: PeerContext, spec: PeerSpec, role: Role, port: number): PeerSession {
    const argv = [...SCRIPTS[this.#kind], JSON.stringify(this.#task(ctx, spec, role, port))];
    const connections = spec.connections ?? 1;
    const proc = this.spawn(ctx, argv, { NO_COLOR: "1" });
    return {
      proc,
      reply: pongToken(ctx.nonce),
      transfer: "stdout",
      converse: async () => {
        if (spec.mode === "fail" || spec.mode === "transfer") return;
        const line = role === "client" ? pongToken(ctx.nonce) : `jsec-ping ${ctx.nonce}`;
        await proc.waitFor(seenTimes(line, connections), 15_000 * connections);
      },
      verdict: (exit, prove) => {
        if (spec.mode === "fail") return null;
        if (/^ERROR/m.test(proc.stderr)) return `${this.instance.id}: ${tail(proc.stderr)}`;
        if (exit.code !== 0) return `${this.instance.id} exit ${exit.code}: ${tail(proc.output)}`;
        if (prove && !this.#sawCloseNotify(proc.stderr)) {
          return `${this.instance.id} received no close_notify from our side: ${tail(proc.stderr)}`;
        }
        // Deno's TLS cannot say; the others print RESUMED for a resumed connection.
        if (connections > 1 && this.#kind !== "deno-native" && !/^RESUMED/m.test(proc.stderr)) {
          return `${this.instance.id} resumed no session`;
        }
        return null;
      },
    };
  }

  /**
   * Deno (rustls) reads EOF (PEER-END) only after a close_notify: a bare FIN is an
   * UnexpectedEof error. Node's `end` fires on a bare FIN too, so its proof is
   * OpenSSL's trace: a close_notify alert traced before PEER-END, when Node has
   * sent none yet (it answers in its `end` handler; stderr is a synchronous pipe,
   * so the order holds). Some builds label records "Received"/"Sent", some do not.
   */
  #sawCloseNotify(stderr: string): boolean {
    const end = stderr.search(/^PEER-END$/m);
    if (end < 0) return false;
    return this.#kind === "node" ? CLOSE_NOTIFY_ALERT.test(stderr.slice(0, end)) : true;
  }

  async server(ctx: PeerContext, spec: PeerSpec, port: number): Promise<PeerSession> {
    const s = this.#session(ctx, spec, "server", port);
    await waitListening(port, 15_000, s.proc);
    return s;
  }

  client(ctx: PeerContext, spec: PeerSpec, port: number, _reply: string): PeerSession {
    return this.#session(ctx, spec, "client", port);
  }
}
