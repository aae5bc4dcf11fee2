/**
 * The peers of the matrix: which stack runs in which suite, its version as
 * the container reports it, and its driver.
 * @module
 */
import type { Host } from "../lib/hosts.ts";
import type { PeerKind, Suite } from "../lib/types.ts";
import { GnutlsPeer } from "./gnutls.ts";
import { NssPeer } from "./nss.ts";
import { OpensslPeer } from "./openssl.ts";
import { RuntimePeer } from "./runtime.ts";
import type { PeerDriver } from "./peer.ts";

/** Suite that runs the non-OpenSSL stacks (GnuTLS, NSS, Node, Deno, Bun). */
export const OTHER_STACKS_SUITE: Suite = "trixie";

/** A peer the matrix may use, before its version is known. */
export interface PeerChoice {
  id: string;
  kind: PeerKind;
  suite: Suite;
}

/** Every peer, in table order. */
export const PEERS: PeerChoice[] = [
  { id: "openssl-1.1.1", kind: "openssl", suite: "bullseye" },
  { id: "openssl-3.0", kind: "openssl", suite: "bookworm" },
  { id: "openssl-3.5", kind: "openssl", suite: "trixie" },
  { id: "openssl-3.6", kind: "openssl", suite: "sid" },
  { id: "openssl-4.0", kind: "openssl", suite: "experimental" },
  { id: "gnutls", kind: "gnutls", suite: OTHER_STACKS_SUITE },
  { id: "nss", kind: "nss", suite: OTHER_STACKS_SUITE },
  { id: "node", kind: "node", suite: OTHER_STACKS_SUITE },
  { id: "deno-native", kind: "deno-native", suite: OTHER_STACKS_SUITE },
  { id: "bun-native", kind: "bun-native", suite: OTHER_STACKS_SUITE },
];

async function capture(host: Host, suite: Suite, argv: string[]): Promise<string> {
  const p = host.spawn(suite, argv, { label: argv[0], deadlineMs: 20_000 });
  await p.closeStdin();
  const exit = await p.wait(25_000);
  if (exit.code !== 0) {
    throw new Error(`${argv.join(" ")} in ${suite}: exit ${exit.code}: ${p.output.trim()}`);
  }
  return p.stdout.trim();
}

/** Ask the container for the peer's version (and capabilities that vary by build). */
export async function peerVersion(
  host: Host,
  c: PeerChoice,
): Promise<{ version: string; features: string[] }> {
  const first = (s: string) => s.split("\n")[0].trim();
  switch (c.kind) {
    case "openssl": {
      const out = await capture(host, c.suite, ["openssl", "version"]);
      return { version: /OpenSSL (\S+)/.exec(out)?.[1] ?? out, features: [] };
    }
    case "gnutls": {
      const out = await capture(host, c.suite, ["gnutls-cli", "--version"]);
      const list = await capture(host, c.suite, ["gnutls-cli", "--list"]);
      return {
        version: /gnutls-cli (\S+)/.exec(out)?.[1] ?? first(out),
        features: /MLKEM768/i.test(list) ? ["mlkem"] : [],
      };
    }
    case "nss": {
      const v = await capture(host, c.suite, ["dpkg-query", "-W", "-f", "${Version}", "libnss3"]);
      return { version: /^(?:\d+:)?([\d.]+)/.exec(v)?.[1] ?? v, features: [] };
    }
    case "node": {
      const v = await capture(host, c.suite, [
        "node",
        "-p",
        "process.versions.node + ' ' + process.versions.openssl",
      ]);
      const [node, ssl] = v.split(" ");
      const mlkem = /^(\d+)\.(\d+)/.exec(ssl ?? "");
      const has = !!mlkem && (Number(mlkem[1]) > 3 || (Number(mlkem[1]) === 3 && Number(mlkem[2]) >= 5));
      return { version: `${node} (OpenSSL ${ssl})`, features: has ? ["mlkem"] : [] };
    }
    case "deno-native": {
      const v = await capture(host, c.suite, ["deno", "--version"]);
      return { version: `${/deno (\S+)/.exec(v)?.[1] ?? first(v)} (rustls)`, features: [] };
    }
    case "bun-native": {
      const v = await capture(host, c.suite, ["bun", "--version"]);
      return { version: `${first(v)} (BoringSSL)`, features: [] };
    }
    default:
      return { version: "unknown", features: [] };
  }
}

/** The driver for a peer at a known version. */
export function makeDriver(c: PeerChoice, found: { version: string; features: string[] }): PeerDriver {
  const instance = { ...c, ...found };
  switch (c.kind) {
    case "openssl":
      return new OpensslPeer(instance);
    case "gnutls":
      return new GnutlsPeer(instance);
    case "nss":
      return new NssPeer(instance);
    case "node":
    case "deno-native":
    case "bun-native":
      return new RuntimePeer(instance);
    default:
      throw new Error(`no driver for ${c.kind}`);
  }
}
