/**
 * GnuTLS's `gnutls-serv` (echo mode) and `gnutls-cli` as peers. The client's
 * informational messages go to stderr (`--logfile`), so stdout is exactly the
 * application data; KeyUpdate is its inline command `^rekey1^`.
 * @module
 */
import type { CaseDef, PeerSpec } from "../lib/cases.ts";
import type { PeerInstance } from "../lib/types.ts";
import {
  endOnStdinEof,
  type PeerContext,
  type PeerDriver,
  type PeerSession,
  pingLine,
  tail,
  waitListening,
} from "./peer.ts";

const STEP_MS = 8000;

function priority(spec: PeerSpec): string[] {
  let p = "NORMAL";
  if (spec.version === "1.2") p += ":-VERS-ALL:+VERS-TLS1.2";
  if (spec.version === "1.3") p += ":-VERS-ALL:+VERS-TLS1.3";
  if (spec.groups === "X25519MLKEM768") p += ":-GROUP-ALL:+GROUP-X25519-MLKEM768";
  return p === "NORMAL" ? [] : [`--priority=${p}`];
}

const alpn = (spec: PeerSpec) => (spec.alpn ?? []).map((a) => `--alpn=${a}`);

/** A driver for GnuTLS's command-line tools. */
export class GnutlsPeer implements PeerDriver {
  readonly instance: PeerInstance;
  constructor(instance: PeerInstance) {
    this.instance = instance;
  }

  unsupported(c: CaseDef, role: "client" | "server", spec: PeerSpec): string | null {
    if (spec.mode === "smtp" && role === "server") return "gnutls-serv has no server-side STARTTLS";
    if (spec.keyUpdate && role === "server") return "gnutls-serv has no command to send a KeyUpdate";
    if (c.id === "close-notify" && role === "client") {
      return "gnutls-cli exits on the server's close_notify without answering it";
    }
    if (c.mlkem && !this.instance.features?.includes("mlkem")) {
      return `this GnuTLS ${this.instance.version} build lists no X25519-MLKEM768 group`;
    }
    return null;
  }

  failCode(c: CaseDef, role: "client" | "server"): string | null {
    // A TLS 1.3-only gnutls-serv answers a TLS 1.2 ClientHello with handshake_failure.
    return c.id === "fail-version" && role === "server" ? "HANDSHAKE_FAILED" : null;
  }

  async server(ctx: PeerContext, spec: PeerSpec, port: number): Promise<PeerSession> {
    const argv = ["gnutls-serv", "--echo", `--port=${port}`];
    if (spec.pair) argv.push(`--x509certfile=${spec.pair.certFile}`, `--x509keyfile=${spec.pair.keyFile}`);
    if (spec.sniPair) {
      argv.push(`--x509certfile=${spec.sniPair.certFile}`, `--x509keyfile=${spec.sniPair.keyFile}`);
    }
    if (spec.caFile) argv.push(`--x509cafile=${spec.caFile}`);
    if (spec.requireClientCert) argv.push("--require-client-cert", "--verify-client-cert");
    argv.push(...alpn(spec), ...priority(spec));
    const proc = ctx.host.spawn(this.instance.suite, endOnStdinEof(argv), {
      label: this.instance.id,
      deadlineMs: ctx.deadlineMs,
    });
    await waitListening(port, STEP_MS, proc);
    return {
      proc,
      reply: `jsec-ping ${ctx.nonce}`,
      transfer: "echo",
      lingers: true,
      converse: async () => {},
      verdict: () => null,
    };
  }

  client(ctx: PeerContext, spec: PeerSpec, port: number, reply: string): PeerSession {
    const argv = ["gnutls-cli", `--port=${port}`, "--logfile=/dev/stderr"];
    if (spec.servername) {
      argv.push(`--sni-hostname=${spec.servername}`, `--verify-hostname=${spec.servername}`);
    }
    if (spec.caFile) argv.push(`--x509cafile=${spec.caFile}`);
    if (spec.pair) argv.push(`--x509certfile=${spec.pair.certFile}`, `--x509keyfile=${spec.pair.keyFile}`);
    if (spec.mode === "smtp") argv.push("--starttls-proto=smtp");
    if (spec.keyUpdate) argv.push("--inline-commands");
    argv.push(...alpn(spec), ...priority(spec), "127.0.0.1");
    const proc = ctx.host.spawn(this.instance.suite, argv, {
      label: this.instance.id,
      deadlineMs: ctx.deadlineMs,
    });
    return {
      proc,
      reply,
      converse: async () => {
        if (spec.mode === "fail") return await proc.closeStdin();
        if (spec.mode === "transfer") {
          // Keep stdin open until everything arrived (EOF on stdin makes it say
          // goodbye); it does not exit on the server's close_notify by itself.
          const total = spec.transferBytes ?? 0;
          // gnutls-cli reads slowly (under 1 MB/s through its select loop): allow for it.
          await proc.waitUntil(() => proc.stdoutBytes >= total, 80_000);
          return await proc.closeStdin();
        }
        // Its status lines are block-buffered, so do not wait for them: stdin is
        // only read once the handshake is done anyway.
        if (spec.keyUpdate) {
          await proc.write("^rekey1^\n");
          await new Promise((r) => setTimeout(r, 300));
        }
        await proc.write(pingLine(ctx.nonce));
        await proc.waitFor(new RegExp(reply), STEP_MS);
        if (!spec.serverClosesFirst) await proc.closeStdin();
      },
      verdict: (exit, strict) => {
        if (spec.mode === "fail" || spec.mode === "transfer") return null;
        if (spec.keyUpdate && !/Rekey was completed/.test(proc.output)) {
          return "gnutls-cli did not complete the KeyUpdate";
        }
        if (strict && exit.code !== 0) return `gnutls-cli exit ${exit.code}: ${tail(proc.output)}`;
        if (strict && /unexpected|premature|error/i.test(proc.stderr)) {
          return `gnutls-cli: ${tail(proc.stderr)}`;
        }
        return null;
      },
    };
  }
}
