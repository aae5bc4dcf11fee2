/**
 * The task the runtime peer programs (node_peer.mjs, deno_peer.ts,
 * bun_peer.ts) take as their one JSON argument. They print "LISTENING",
 * "HANDSHAKE <protocol> <alpn>", "RESUMED" (where the runtime can say), "PEER-END"
 * (the other side closed) and "ERROR <message>" on stderr, and application data on stdout.
 * @module
 */

/** One peer program run. */
export interface ProgramTask {
  role: "client" | "server";
  port: number;
  nonce: string;
  mode: "ping" | "transfer" | "smtp" | "fail";
  certFile?: string;
  keyFile?: string;
  /** Server: a second certificate served for `sniName`. */
  sniName?: string;
  sniCertFile?: string;
  sniKeyFile?: string;
  caFile?: string;
  requireClientCert?: boolean;
  servername?: string;
  alpn?: string[];
  version?: "1.2" | "1.3";
  groups?: string;
  serverClosesFirst?: boolean;
  transferBytes?: number;
  /** Connections in a row (default 1); a client offers the first one's session on the next. */
  connections?: number;
}
