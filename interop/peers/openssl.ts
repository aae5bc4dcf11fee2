/**
 * OpenSSL's `s_server` / `s_client` as peers (1.1.1, 3.0, 3.5, 3.6: one per suite).
 * Ping replies and KeyUpdates are driven through their stdin commands
 * ("k" = KeyUpdate with update_requested); transfers use `-quiet`, where the
 * tools print exactly the application data on stdout.
 * @module
 */
import type { CaseDef, PeerSpec } from "../lib/cases.ts";
import { SNI_NAME } from "../lib/certs.ts";
import type { PeerInstance } from "../lib/types.ts";
import {
  atLeast,
  type PeerContext,
  type PeerDriver,
  type PeerSession,
  pingLine,
  pongToken,
  tail,
  waitListening,
} from "./peer.ts";

const STEP_MS = 8000;
/** What s_server prints after its "k" command (1.1.1 and 3.x). */
const SERVER_KEYUPDATE = /KEYUPDATE|SSL_do_handshake -> 1/;

function versionFlags(spec: PeerSpec): string[] {
  return spec.version === "1.2" ? ["-tls1_2"] : spec.version === "1.3" ? ["-tls1_3"] : [];
}

function common(spec: PeerSpec): string[] {
  return [
    ...versionFlags(spec),
    ...(spec.alpn ? ["-alpn", spec.alpn.join(",")] : []),
    ...(spec.groups ? ["-groups", spec.groups] : []),
    ...(spec.mode === "transfer" ? ["-quiet"] : []),
  ];
}

/** A driver for the `openssl` CLI of one suite. */
export class OpensslPeer implements PeerDriver {
  readonly instance: PeerInstance;
  constructor(instance: PeerInstance) {
    this.instance = instance;
  }

  unsupported(c: CaseDef, role: "client" | "server", spec: PeerSpec): string | null {
    if (spec.mode === "smtp" && role === "server") return "s_server has no server-side STARTTLS";
    if (c.id === "close-notify" && role === "server" && !atLeast(this.instance.version, 3, 0)) {
      return "s_server 1.1.1 closes without answering close_notify (it marks shutdown sent without sending)";
    }
    if (c.mlkem && !atLeast(this.instance.version, 3, 5)) {
      return `OpenSSL ${this.instance.version} has no X25519MLKEM768`;
    }
    return null;
  }

  async server(ctx: PeerContext, spec: PeerSpec, port: number): Promise<PeerSession> {
    const argv = ["openssl", "s_server", "-accept", `127.0.0.1:${port}`, "-naccept", "1"];
    if (spec.pair) argv.push("-cert", spec.pair.certFile, "-key", spec.pair.keyFile);
    if (spec.sniPair) {
      argv.push("-servername", SNI_NAME, "-cert2", spec.sniPair.certFile, "-key2", spec.sniPair.keyFile);
    }
    if (spec.caFile) argv.push("-CAfile", spec.caFile);
    if (spec.requireClientCert) argv.push("-Verify", "1", "-verify_return_error");
    argv.push(...common(spec));
    const proc = ctx.host.spawn(this.instance.suite, argv, {
      label: this.instance.id,
      deadlineMs: ctx.deadlineMs,
    });
    await waitListening(port, STEP_MS, proc);
    const reply = pongToken(ctx.nonce);
    return {
      proc,
      reply,
      transfer: "stdout",
      converse: async () => {
        if (spec.mode !== "ping") return;
        await proc.waitFor(new RegExp(`jsec-ping ${ctx.nonce}`), STEP_MS);
        if (spec.keyUpdate) {
          // s_server's report of the KeyUpdate is buffered: give the command its own read.
          await proc.write("k\n");
          await new Promise((r) => setTimeout(r, 300));
        }
        await proc.write(reply + "\n");
      },
      verdict: (exit, strict) => {
        if (spec.keyUpdate && !SERVER_KEYUPDATE.test(proc.output)) return "s_server did not send a KeyUpdate";
        if (strict && !/\nDONE\n/.test(proc.output)) {
          return `s_server saw no close_notify: ${tail(proc.output)}`;
        }
        if (strict && /unexpected eof|ERROR/i.test(proc.stderr)) return `s_server: ${tail(proc.stderr)}`;
        return spec.mode === "fail" || exit.code === 0
          ? null
          : `s_server exit ${exit.code}: ${tail(proc.output)}`;
      },
    };
  }

  client(ctx: PeerContext, spec: PeerSpec, port: number, reply: string): PeerSession {
    const argv = ["openssl", "s_client", "-connect", `127.0.0.1:${port}`];
    if (spec.servername) {
      argv.push("-servername", spec.servername, "-verify_hostname", spec.servername);
    }
    if (spec.caFile) argv.push("-CAfile", spec.caFile, "-verify_return_error");
    if (spec.pair) argv.push("-cert", spec.pair.certFile, "-key", spec.pair.keyFile);
    if (spec.mode === "smtp") argv.push("-starttls", "smtp");
    argv.push(...common(spec));
    const proc = ctx.host.spawn(this.instance.suite, argv, {
      label: this.instance.id,
      deadlineMs: ctx.deadlineMs,
    });
    return {
      proc,
      reply,
      converse: async () => {
        if (spec.mode === "transfer" || spec.mode === "fail") {
          await proc.closeStdin();
          return;
        }
        await proc.waitFor(/Verify return code/, STEP_MS);
        if (spec.keyUpdate) {
          await proc.write("k\n");
          await proc.waitFor(/KEYUPDATE/, STEP_MS);
        }
        await proc.write(pingLine(ctx.nonce));
        await proc.waitFor(new RegExp(reply), STEP_MS);
        if (!spec.serverClosesFirst) await proc.closeStdin();
      },
      verdict: (exit, strict) => {
        if (spec.mode === "fail" || spec.mode === "transfer") return null;
        if (strict && exit.code !== 0) return `s_client exit ${exit.code}: ${tail(proc.output)}`;
        if (strict && /unexpected eof/i.test(proc.output)) return `s_client: ${tail(proc.output)}`;
        return null;
      },
    };
  }
}
