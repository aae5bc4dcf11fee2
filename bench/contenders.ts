/**
 * Who runs against whom. A pair is a client and a server, each a runtime and
 * a stack, in separate processes. Every pair has a reference: the runtime's
 * own TLS pair, whose figure in the same round is the ratio's denominator
 * (DTLS pairs: the runtime's plain UDP).
 *
 * @module
 */

import type { DatagramStack } from "./peer/datagram.ts";

export type Runtime = "deno" | "bun" | "node";
export type Stack = "ours" | "native" | "tcp" | DatagramStack;

export interface Side {
  runtime: Runtime;
  stack: Stack;
}

export interface Pair {
  /** Stable id, e.g. "bun/ours", "deno/ours→native" (client→server). */
  id: string;
  /** Human label for the table. */
  label: string;
  client: Side;
  server: Side;
  /** The id of the pair this one is compared against (null: none). */
  reference: string | null;
  /** Which figures this pair runs in. */
  in: Array<"bulk" | "handshakes" | "latency" | "memory" | "dtls">;
}

const ALL: Pair["in"] = ["bulk", "handshakes", "latency", "memory"];

function runtimePairs(rt: "deno" | "bun", name: string): Pair[] {
  const native = `${rt}/native`;
  const side = (stack: Stack): Side => ({ runtime: rt, stack });
  return [
    {
      id: `${rt}/ours`,
      label: `${name}: ours ↔ ours`,
      client: side("ours"),
      server: side("ours"),
      reference: native,
      in: ALL,
    },
    {
      id: native,
      label: `${name}: native ↔ native`,
      client: side("native"),
      server: side("native"),
      reference: native,
      in: ALL,
    },
    {
      id: `${rt}/ours→native`,
      label: `${name}: ours client → native server`,
      client: side("ours"),
      server: side("native"),
      reference: native,
      in: ["bulk", "handshakes", "latency"],
    },
    {
      id: `${rt}/native→ours`,
      label: `${name}: native client → ours server`,
      client: side("native"),
      server: side("ours"),
      reference: native,
      in: ["bulk", "handshakes", "latency"],
    },
    {
      id: `${rt}/tcp`,
      label: `${name}: plain TCP`,
      client: side("tcp"),
      server: side("tcp"),
      reference: native,
      in: ["bulk", "latency", "memory"],
    },
    {
      id: `${rt}/dtls`,
      label: `${name}: DTLS ours ↔ ours`,
      client: side("dtls"),
      server: side("dtls"),
      reference: `${rt}/udp`,
      in: ["dtls"],
    },
    {
      id: `${rt}/udp`,
      label: `${name}: plain UDP (${rt === "bun" ? "Bun.udpSocket" : "node:dgram"})`,
      client: side("udp"),
      server: side("udp"),
      reference: `${rt}/udp`,
      in: ["dtls"],
    },
  ];
}

/** Every pair, grouped by runtime (the order rounds run them in). */
export function allPairs(): Pair[] {
  const node = (stack: Stack): Side => ({ runtime: "node", stack });
  return [
    ...runtimePairs("deno", "Deno"),
    ...runtimePairs("bun", "Bun"),
    {
      id: "node/native",
      label: "Node: tls ↔ tls",
      client: node("native"),
      server: node("native"),
      reference: "node/native",
      in: ["bulk", "handshakes", "latency", "memory"],
    },
    {
      id: "node/tcp",
      label: "Node: plain TCP",
      client: node("tcp"),
      server: node("tcp"),
      reference: "node/native",
      in: ["bulk", "latency"],
    },
  ];
}

/**
 * The cipher list our side uses in each runtime, chosen to match what that
 * runtime's own TLS negotiates with itself (rustls prefers AES-256-GCM,
 * BoringSSL AES-128-GCM), so that bulk compares like with like.
 */
export function oursCiphers(rt: Runtime): string | undefined {
  if (rt === "bun") return "TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
  if (rt === "deno") {
    return "TLS_AES_256_GCM_SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
  }
  return undefined;
}

/**
 * Key-exchange groups for our side, first choice first, to match what the
 * runtime's own TLS negotiates with itself: rustls (Deno) X25519, BoringSSL
 * (Bun) X25519MLKEM768, which OpenSSL has only from 3.5 on — below that, X25519.
 * P-256 stays on the list: in TLS 1.2 a P-256 ECDSA certificate is usable
 * only when the client lists its curve.
 */
export function oursGroups(rt: Runtime): string[] | undefined {
  if (rt === "bun") return ["X25519MLKEM768:X25519:P-256", "X25519:P-256"];
  if (rt === "deno") return ["X25519:P-256"];
  return undefined;
}
