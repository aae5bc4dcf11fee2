/**
 * OpenSSL's `s_server` / `s_client` as peers (1.1.1, 3.0, 3.5, 3.6, 4.0: one per suite).
 * Ping replies and KeyUpdates are driven through their stdin commands
 * ("k" = KeyUpdate with update_requested); transfers use `-quiet`, where the
 * tools print exactly the application data on stdout.
 * @module
 */
import type { CaseDef, PeerSpec } from "../lib/cases.ts";
import { SNI_NAME } from "../lib/certs.ts";
import { DTLS_SRTP_KEYS } from "../lib/dtls_cases.ts";
import { ECH_PUBLIC_NAME, echConfigListOf, echKeyFile, NO_ECH } from "../lib/ech_cases.ts";
import type { CertSet } from "../lib/certs.ts";
import type { Host } from "../lib/hosts.ts";
import { PSK_TLS12_CIPHER } from "../lib/feature_cases.ts";
import type { KeyPair } from "../lib/task.ts";
import { flagsFor, type FlagTable } from "./flags.ts";
import {
  atLeast,
  type PeerContext,
  type PeerSession,
  pingLine,
  pongToken,
  seenTimes,
  SpawningPeer,
  tail,
} from "./peer.ts";

const STEP_MS = 8000;
/** What s_server prints after its "k" command (1.1.1 and 3.x). */
const SERVER_KEYUPDATE = /KEYUPDATE|SSL_do_handshake -> 1/;

const certAndKey = (pair: KeyPair) => ["-cert", pair.certFile, "-key", pair.keyFile];

/**
 * s_client `argv` run `times` times in a row, each sending `line` and staying
 * until the server closes (-ign_eof, which also lets TLS 1.3 tickets arrive);
 * the first saves its session (-sess_out), the next ones offer it (-sess_in).
 */
function resumingClients(argv: string[], times: number, line: string): string[] {
  const script = `n=$1 line=$2; shift 2; f=$(mktemp); i=0; s=0
while [ $i -lt $n ]; do
  if [ $i = 0 ]; then o=-sess_out; else o=-sess_in; fi
  printf '%s' "$line" | "$@" -ign_eof $o "$f" || { s=$?; break; }
  i=$((i + 1))
done
rm -f "$f"; exit $s`;
  return ["sh", "-c", script, "sh", String(times), line, ...argv];
}

/** The options s_server and s_client spell alike. */
const COMMON_FLAGS: FlagTable = {
  dtls: () => ["-dtls1_2"],
  srtpProfile: (profile) => [
    "-use_srtp",
    profile,
    "-keymatexport",
    DTLS_SRTP_KEYS.label,
    "-keymatexportlen",
    String(DTLS_SRTP_KEYS.length),
  ],
  version: (version) => [version === "1.2" ? "-tls1_2" : "-tls1_3"],
  alpn: (protocols) => ["-alpn", protocols.join(",")],
  groups: (groups) => ["-groups", groups],
  psk: (psk, spec) => [
    "-psk",
    psk.keyHex,
    "-psk_identity",
    psk.identity,
    ...(spec.version === "1.2" ? ["-cipher", PSK_TLS12_CIPHER] : []),
  ],
  exportKeys: (e) => ["-keymatexport", e.label, "-keymatexportlen", String(e.length)],
};

/** s_server's spelling of the options. */
const SERVER_FLAGS: FlagTable = {
  pair: certAndKey,
  sniPair: (pair) => ["-servername", SNI_NAME, "-cert2", pair.certFile, "-key2", pair.keyFile],
  caFile: (file) => ["-CAfile", file],
  requireClientCert: () => ["-Verify", "1", "-verify_return_error"],
  ...COMMON_FLAGS,
  psk: (psk, spec) => ["-nocert", ...COMMON_FLAGS.psk!(psk, spec)],
  mode: (mode) => (mode === "transfer" ? ["-quiet"] : []),
  echKeyFile: (file) => ["-ech_key", file],
};

/** s_client's spelling of the options. */
const CLIENT_FLAGS: FlagTable = {
  servername: (name) => ["-servername", name, "-verify_hostname", name],
  caFile: (file) => ["-CAfile", file, "-verify_return_error"],
  pair: certAndKey,
  mode: (mode) => (mode === "smtp" ? ["-starttls", "smtp"] : mode === "transfer" ? ["-quiet"] : []),
  ...COMMON_FLAGS,
  echConfigFile: (file) => ["-ech_config_list", echConfigListOf(Deno.readTextFileSync(file))],
  echGrease: () => ["-ech_grease"],
};

/** A driver for the `openssl` CLI of one suite. */
export class OpensslPeer extends SpawningPeer {
  /** OpenSSL 4.0 and later: the run's ECH key (`openssl ech`), for the `ech*` cases. */
  async prepare(host: Host, certs: CertSet): Promise<void> {
    if (!atLeast(this.instance.version, 4, 0)) return;
    const argv = ["openssl", "ech", "-public_name", ECH_PUBLIC_NAME, "-out", echKeyFile(certs)];
    const p = host.spawn(this.instance.suite, argv, { label: "openssl-ech", deadlineMs: 30_000 });
    await p.closeStdin();
    const exit = await p.wait(35_000);
    if (exit.code !== 0) throw new Error(`openssl ech: ${tail(p.output)}`);
  }

  unsupported(c: CaseDef, role: "client" | "server", spec: PeerSpec): string | null {
    if (c.ech && !atLeast(this.instance.version, 4, 0)) return NO_ECH;
    if (spec.mode === "smtp" && role === "server") return "s_server has no server-side STARTTLS";
    if (c.id === "close-notify-in" && role === "server" && !atLeast(this.instance.version, 3, 0)) {
      return "s_server 1.1.1 closes without answering close_notify (it marks shutdown sent without sending)";
    }
    if (c.mlkem && !atLeast(this.instance.version, 3, 5)) {
      return `OpenSSL ${this.instance.version} has no X25519MLKEM768`;
    }
    return null;
  }

  async server(ctx: PeerContext, spec: PeerSpec, port: number): Promise<PeerSession> {
    const connections = spec.connections ?? 1;
    const argv = ["openssl", "s_server", "-accept", `127.0.0.1:${port}`, "-naccept", String(connections)];
    const flags = flagsFor(spec, SERVER_FLAGS);
    const proc = await this.spawnListening(ctx, [...argv, ...flags], port, STEP_MS, spec.dtls);
    const reply = pongToken(ctx.nonce);
    return {
      proc,
      reply,
      transfer: "stdout",
      converse: async () => {
        if (spec.mode !== "ping") return;
        for (let n = 1; n <= connections; n++) {
          await proc.waitFor(seenTimes(`jsec-ping ${ctx.nonce}`, n), STEP_MS);
          if (spec.keyUpdate) {
            // s_server's report of the KeyUpdate is buffered: give the command its own read.
            await proc.write("k\n");
            await new Promise((r) => setTimeout(r, 300));
          }
          await proc.write(reply + "\n");
        }
      },
      verdict: (exit, prove) => {
        if (spec.keyUpdate && !SERVER_KEYUPDATE.test(proc.output)) return "s_server did not send a KeyUpdate";
        if (connections > 1 && !/Reused session-id/.test(proc.output)) return "s_server resumed no session";
        // s_server prints DONE only for SSL_ERROR_ZERO_RETURN (close_notify); a bare FIN is an ERROR.
        if (prove && !/\nDONE\n/.test(proc.output)) {
          return `s_server saw no close_notify: ${tail(proc.output)}`;
        }
        if (prove && /unexpected eof|ERROR/i.test(proc.stderr)) return `s_server: ${tail(proc.stderr)}`;
        return spec.mode === "fail" || exit.code === 0
          ? null
          : `s_server exit ${exit.code}: ${tail(proc.output)}`;
      },
    };
  }

  client(ctx: PeerContext, spec: PeerSpec, port: number, reply: string): PeerSession {
    const argv = ["openssl", "s_client", "-connect", `127.0.0.1:${port}`, ...flagsFor(spec, CLIENT_FLAGS)];
    const connections = spec.connections ?? 1;
    if (connections > 1) {
      const proc = this.spawn(ctx, resumingClients(argv, connections, pingLine(ctx.nonce)));
      return {
        proc,
        reply,
        converse: () => proc.waitFor(seenTimes(reply, connections), STEP_MS * connections).then(() => {}),
        verdict: (exit) => {
          if (exit.code !== 0) return `s_client exit ${exit.code}: ${tail(proc.output)}`;
          // DTLS too: the version printed is the cipher's (TLSv1.2).
          return /Reused, TLSv1\.[23]/.test(proc.output) ? null : "s_client resumed no session";
        },
      };
    }
    const proc = this.spawn(ctx, argv);
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
      verdict: (exit, prove) => {
        if (spec.mode === "fail" || spec.mode === "transfer" || !prove) return null;
        if (exit.code !== 0) return `s_client exit ${exit.code}: ${tail(proc.output)}`;
        // s_client prints "closed" only for SSL_ERROR_ZERO_RETURN (close_notify), not for a bare FIN.
        if (!/^closed$/m.test(proc.stdout)) return `s_client saw no close_notify: ${tail(proc.output)}`;
        if (/unexpected eof/i.test(proc.output)) return `s_client: ${tail(proc.output)}`;
        return null;
      },
    };
  }
}
