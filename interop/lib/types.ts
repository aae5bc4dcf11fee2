/**
 * Shared vocabulary of the interop matrix: who talks to whom, about what, and
 * how a cell ended. Field names of {@link CellResult} are the results.json format.
 * @module
 */
import type { Provenance } from "./provenance.ts";

/** Our runtime: the library under test runs inside Deno or Bun. */
export type Ours = "deno" | "bun";

/** Debian suites we build images for; each ships one OpenSSL line ("experimental": sid with OpenSSL 4.0). */
export type Suite = "bullseye" | "bookworm" | "trixie" | "sid" | "experimental";

/** The TLS stack on the other end. */
export type PeerKind =
  | "openssl"
  | "gnutls"
  | "nss"
  | "node"
  | "deno-native"
  | "bun-native";

/** Which side our library plays. */
export type Direction = "ours-client" | "ours-server";

/** How a cell ended. `n/a` always carries a reason. */
export type Status = "pass" | "fail" | "n/a";

/** One row of results.json (exactly the format issue 3 asks for). */
export interface CellResult {
  ours: Ours;
  ourLibssl: string;
  peer: PeerKind;
  peerVersion: string;
  case: string;
  direction: Direction;
  status: Status;
  reason: string;
  ms: number;
}

/** The whole results.json file. */
export interface ResultsFile {
  generated: string;
  /** The code the run exercised (interop/lib/provenance.ts). */
  provenance: Provenance;
  cells: CellResult[];
}

/** A concrete peer: a stack, where it runs, and its version string. */
export interface PeerInstance {
  kind: PeerKind;
  /** Suite whose container (or chroot) runs the peer. */
  suite: Suite;
  /** Short id used in filters and logs, e.g. "openssl-3.0". */
  id: string;
  version: string;
  /** Optional capabilities found when the version was read (e.g. "mlkem"). */
  features?: string[];
}
