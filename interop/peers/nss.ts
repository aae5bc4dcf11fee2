/**
 * NSS's test tools as peers: `selfserv` (server) and `tstclnt` (client),
 * with a certificate database made once per run from the PEM/PKCS#12 files.
 * selfserv answers a request ending in a blank line with an HTTP-ish page
 * that echoes it; tstclnt sends stdin and prints what it receives, and
 * waits for the server to close.
 * @module
 */
import type { CaseDef, PeerSpec } from "../lib/cases.ts";
import type { CertSet } from "../lib/certs.ts";
import { SNI_NAME } from "../lib/certs.ts";
import type { Host } from "../lib/hosts.ts";
import type { KeyPair } from "../lib/task.ts";
import { flagsFor, type FlagTable } from "./flags.ts";
import {
  endOnStdinEof,
  type PeerContext,
  type PeerSession,
  pingLine,
  selfServingSession,
  SpawningPeer,
  stopAfterStdinEof,
  tail,
} from "./peer.ts";

const STEP_MS = 8000;

/** The nickname NSS gives a leaf: its PKCS#12 friendly name (the file's base name). */
function nickname(pair: KeyPair): string {
  const base = pair.certFile.split("/").pop()!.replace(/\.pem$/, "");
  return base === "sni" ? SNI_NAME : base;
}

/** The version range: the one pinned, or both. */
function versions(spec: PeerSpec): string[] {
  return spec.version ? ["-V", `tls${spec.version}:tls${spec.version}`] : ["-V", "tls1.2:tls1.3"];
}

const groups = (names: string) => (names === "X25519MLKEM768" ? ["-I", "mlkem768x25519"] : []);

/** selfserv's spelling of the options (versions: {@link versions}). */
const SERVER_FLAGS: FlagTable = {
  groups,
  pair: (pair) => ["-n", nickname(pair)],
  sniPair: () => ["-a", SNI_NAME],
  requireClientCert: () => ["-r", "-r"],
  connections: (n) => (n > 1 ? ["-u"] : []), // session tickets, which TLS 1.3 resumption needs
};

/** tstclnt's spelling of the options (versions: {@link versions}). */
const CLIENT_FLAGS: FlagTable = {
  groups,
  servername: (name) => ["-a", name],
  pair: (pair) => ["-n", nickname(pair)],
};

/** A driver for NSS's selfserv/tstclnt. */
export class NssPeer extends SpawningPeer {
  #db = "";

  /** Build the certificate database: trusted CA, and every leaf with its key. */
  async prepare(host: Host, certs: CertSet): Promise<void> {
    this.#db = `${certs.dir}/nssdb`;
    const script = [
      "set -e",
      `rm -rf ${this.#db}`,
      `mkdir -p ${this.#db}`,
      `certutil -N -d sql:${this.#db} --empty-password`,
      `certutil -A -d sql:${this.#db} -n ca -t CT,C,C -a -i ${certs.caFile}`,
      ...["rsa", "ecdsa", "sni", "client", "badClient"].map((n) =>
        `pk12util -i ${certs.p12(n as "rsa")} -d sql:${this.#db} -W '' >/dev/null`
      ),
    ].join("\n");
    const p = host.spawn(this.instance.suite, ["bash", "-c", script], {
      label: "nss-db",
      deadlineMs: 30_000,
    });
    await p.closeStdin();
    const exit = await p.wait(35_000);
    if (exit.code !== 0) throw new Error(`NSS database: ${tail(p.output)}`);
  }

  /** selfserv and tstclnt export no keying material (RFC 5705) the runner could read. */
  printsExportedKeys(): boolean {
    return false;
  }

  unsupported(c: CaseDef, role: "client" | "server", spec: PeerSpec): string | null {
    const tool = role === "server" ? "selfserv" : "tstclnt";
    if (spec.psk) return `${tool} has no option for an external pre-shared key`;
    if (c.dtls) {
      return role === "server"
        ? "no DTLS: selfserv serves TLS over TCP only"
        : "no DTLS here: the matrix does not drive tstclnt's DTLS mode";
    }
    if (c.id === "ed25519") {
      return `NSS ${this.instance.version} cannot load an Ed25519 key (pk12util refuses it)`;
    }
    if (spec.keyUpdate) return `${tool} has no command to send a KeyUpdate`;
    if (spec.mode === "smtp") return `${tool} has no STARTTLS`;
    if (spec.alpn) {
      return role === "server" ? "selfserv's only ALPN option offers http/1.1" : "tstclnt has no ALPN option";
    }
    if (spec.mode === "transfer" && role === "server") {
      return "selfserv can neither sink nor echo a bulk stream";
    }
    if (spec.proveCloseNotify) {
      return `${
        role === "client" ? "tstclnt" : "selfserv"
      } prints nothing the runner can read that tells our close_notify from a TCP FIN`;
    }
    if (c.id === "close-notify-in" && role === "client") {
      return "tstclnt does not answer close_notify (it waits for the TCP close)";
    }
    if ((spec.connections ?? 1) > 1 && role === "client") {
      return "tstclnt makes one connection (its -r renegotiates within it)";
    }
    return null;
  }

  async server(ctx: PeerContext, spec: PeerSpec, port: number): Promise<PeerSession> {
    const argv = ["selfserv", "-d", `sql:${this.#db}`, "-p", String(port), ...versions(spec)];
    const proc = await this.spawnListening(
      ctx,
      endOnStdinEof([...argv, ...flagsFor(spec, SERVER_FLAGS)]),
      port,
      STEP_MS,
    );
    return selfServingSession(proc, ctx.nonce);
  }

  client(ctx: PeerContext, spec: PeerSpec, port: number, reply: string): PeerSession {
    const argv = [
      "tstclnt",
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-d",
      `sql:${this.#db}`,
      ...versions(spec),
    ];
    const proc = this.spawn(ctx, stopAfterStdinEof([...argv, ...flagsFor(spec, CLIENT_FLAGS)]));
    return {
      proc,
      reply,
      converse: async () => {
        if (spec.mode === "fail") return;
        if (spec.mode === "transfer") {
          await proc.waitUntil(() => proc.stdoutBytes >= (spec.transferBytes ?? 0), 60_000);
        } else {
          await proc.write(pingLine(ctx.nonce));
          await proc.waitFor(new RegExp(reply), STEP_MS);
        }
        // It exits once both the server has closed and its stdin has ended.
        await proc.closeStdin();
      },
      // Its side is judged by our side's view only (proveCloseNotify is n/a for it).
      verdict: () => null,
    };
  }

  /** tstclnt waits for the server to close the connection: our server closes first, fully. */
  readonly clientWaitsForServerClose = true;
}
