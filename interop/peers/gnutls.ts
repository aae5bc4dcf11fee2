/**
 * GnuTLS's `gnutls-serv` (echo mode) and `gnutls-cli` as peers. The client's
 * informational messages go to stderr (`--logfile`), so stdout is exactly the
 * application data; KeyUpdate is its inline command `^rekey1^`.
 * @module
 */
import type { CaseDef, PeerSpec } from "../lib/cases.ts";
import { DTLS_SRTP_KEYS } from "../lib/dtls_cases.ts";
import type { KeyPair, PskSpec } from "../lib/task.ts";
import { flagsFor, type FlagTable } from "./flags.ts";
import {
  endOnStdinEof,
  type PeerContext,
  type PeerSession,
  pingLine,
  selfServingSession,
  SpawningPeer,
} from "./peer.ts";

const STEP_MS = 8000;

/** GnuTLS pins versions and groups in one option, its priority string. */
function priority(spec: PeerSpec): string[] {
  let p = "NORMAL";
  if (spec.version === "1.2") p += ":-VERS-ALL:+VERS-TLS1.2";
  if (spec.version === "1.3") p += ":-VERS-ALL:+VERS-TLS1.3";
  if (spec.groups === "X25519MLKEM768") p += ":-GROUP-ALL:+GROUP-X25519-MLKEM768";
  if (spec.psk) p += ":+ECDHE-PSK:+DHE-PSK:+PSK";
  return p === "NORMAL" ? [] : [`--priority=${p}`];
}

const certAndKey = (pair: KeyPair) => [`--x509certfile=${pair.certFile}`, `--x509keyfile=${pair.keyFile}`];
const alpn = (protocols: string[]) => protocols.map((a) => `--alpn=${a}`);
/** GnuTLS's names of the DTLS-SRTP profiles the cases use. */
const SRTP_NAMES: Record<string, string> = { SRTP_AES128_CM_SHA1_80: "SRTP_AES128_CM_HMAC_SHA1_80" };
/** DTLS over UDP, and DTLS-SRTP with the exported keys printed (both tools spell them alike). */
const DTLS_FLAGS: FlagTable = {
  dtls: () => ["--udp"],
  srtpProfile: (profile) => [
    `--srtp-profiles=${SRTP_NAMES[profile] ?? profile}`,
    `--keymatexport=${DTLS_SRTP_KEYS.label}`,
    `--keymatexportsize=${DTLS_SRTP_KEYS.length}`,
  ],
};

/** gnutls-serv's spelling of the options (versions and groups: {@link priority}). */
const SERVER_FLAGS: FlagTable = {
  pair: certAndKey,
  sniPair: certAndKey,
  caFile: (file) => [`--x509cafile=${file}`],
  requireClientCert: () => ["--require-client-cert", "--verify-client-cert"],
  alpn,
  ...DTLS_FLAGS,
};

/** gnutls-cli's spelling of the options (versions and groups: {@link priority}). */
const CLIENT_FLAGS: FlagTable = {
  servername: (name) => [`--sni-hostname=${name}`, `--verify-hostname=${name}`],
  caFile: (file) => [`--x509cafile=${file}`],
  pair: certAndKey,
  mode: (mode) => (mode === "smtp" ? ["--starttls-proto=smtp"] : []),
  keyUpdate: () => ["--inline-commands"],
  // A second connection resumes the first's session (after waiting for a TLS 1.3 ticket);
  // the first sends no data.
  connections: (n) => (n > 1 ? ["--resume", "--waitresumption"] : []),
  psk: (psk) => [`--pskusername=${psk.identity}`, `--pskkey=${psk.keyHex}`],
  exportKeys: (e) => [`--keymatexport=${e.label}`, `--keymatexportsize=${e.length}`],
  alpn,
  ...DTLS_FLAGS,
};

/**
 * gnutls-serv's PSK file (`identity:hexkey`) for `psk`, written beside the
 * certificates; its path. One per port: a cell running alongside never sees it half-written.
 */
async function pskPasswd(dir: string, psk: PskSpec, port: number): Promise<string> {
  const file = `${dir}/gnutls-psk-${port}.passwd`;
  await Deno.writeTextFile(file, `${psk.identity}:${psk.keyHex}\n`);
  return file;
}

/** A driver for GnuTLS's command-line tools. */
export class GnutlsPeer extends SpawningPeer {
  /** gnutls-cli reads ~0.5 MB/s here whatever the server (Deno's own listenTls too), slower on a slower machine. */
  readsSlowly(role: "client" | "server"): boolean {
    return role === "client";
  }

  /** gnutls-serv takes --keymatexport but prints nothing of it (3.8.9); gnutls-cli prints "- Key material: …". */
  printsExportedKeys(role: "client" | "server"): boolean {
    return role === "client";
  }

  unsupported(c: CaseDef, role: "client" | "server", spec: PeerSpec): string | null {
    if (spec.mode === "smtp" && role === "server") return "gnutls-serv has no server-side STARTTLS";
    if (spec.keyUpdate && role === "server") return "gnutls-serv has no command to send a KeyUpdate";
    if (spec.proveCloseNotify) {
      return `the runner reads no report from ${
        role === "client" ? "gnutls-cli" : "gnutls-serv --echo"
      } that tells our close_notify from a TCP FIN`;
    }
    if (c.id === "close-notify-in" && role === "client") {
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
    const argv = [
      "gnutls-serv",
      ...(spec.psk ? [`--pskpasswd=${await pskPasswd(ctx.certs.dir, spec.psk, port)}`] : []),
      "--echo",
      `--port=${port}`,
      ...flagsFor(spec, SERVER_FLAGS),
      ...priority(spec),
    ];
    const proc = await this.spawnListening(ctx, endOnStdinEof(argv), port, STEP_MS, spec.dtls);
    return selfServingSession(proc, ctx.nonce, "echo");
  }

  client(ctx: PeerContext, spec: PeerSpec, port: number, reply: string): PeerSession {
    const flags = [...flagsFor(spec, CLIENT_FLAGS), ...priority(spec)];
    const proc = this.spawn(ctx, [
      "gnutls-cli",
      `--port=${port}`,
      "--logfile=/dev/stderr",
      ...flags,
      "127.0.0.1",
    ]);
    return {
      proc,
      reply,
      converse: async () => {
        if (spec.mode === "fail") return await proc.closeStdin();
        if (spec.mode === "transfer") {
          // Keep stdin open until everything arrived (EOF on stdin makes it say
          // goodbye); it does not exit on the server's close_notify by itself.
          const total = spec.transferBytes ?? 0;
          // gnutls-cli reads slowly (readsSlowly: the cell sends it 1 MiB); the bound is a wide margin.
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
      verdict: () => {
        if (spec.mode === "fail" || spec.mode === "transfer") return null;
        if (spec.keyUpdate && !/Rekey was completed/.test(proc.output)) {
          return "gnutls-cli did not complete the KeyUpdate";
        }
        if ((spec.connections ?? 1) > 1 && !/This is a resumed session/.test(proc.output)) {
          return "gnutls-cli did not resume its session";
        }
        return null;
      },
    };
  }
}
