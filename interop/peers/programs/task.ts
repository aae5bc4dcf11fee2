/**
 * The task the runtime peer programs (node_peer.mjs, deno_peer.ts,
 * bun_peer.ts) take as their one JSON argument. They print "LISTENING",
 * "HANDSHAKE <protocol> <alpn>", "RESUMED" (where the runtime can say), "PEER-END"
 * (the stream ended: a close_notify, or for Node and Bun a bare TCP FIN too) and "ERROR <message>" on
 * stderr, and application data on stdout.
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
  /** Node: print OpenSSL's record trace on stderr (`enableTrace`), the proof of a received close_notify. */
  traceRecords?: boolean;
  /** Connections in a row (default 1); a client offers the first one's session on the next. */
  connections?: number;
  /** Node: a pre-shared key (pskCallback), with the TLS 1.2 PSK suite to name when pinned to 1.2. */
  psk?: { identity: string; keyHex: string };
  pskCipher?: string;
  /** Node: print "Keying material: <hex>" of this export after the handshake. */
  exportKeys?: { label: string; length: number };
}
