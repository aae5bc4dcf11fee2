/**
 * Our side's part of the feature cases (interop/lib/feature_cases.ts): the
 * options for a pre-shared key and for ticket keys of our own, the rotation
 * of those keys between a server's connections, and what the handshake
 * reports of them (PSK identity, exported keying material, the rotation).
 * @module
 */
import type { OursInfo, OursTask } from "../lib/task.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const randomTicketKey = () => crypto.getRandomValues(new Uint8Array(80));

/** What these helpers read of a connection's handshake and of the connection. */
interface FeatureConn {
  exportKeyingMaterial(length: number, label: string): Uint8Array;
}

/** What these helpers use of a listener. */
interface TicketServer {
  getTicketKeys(): Uint8Array;
  setTicketKeys(keys: Uint8Array): void;
}

/** The server's first ticket key (`rotateTicketKeys`), and whether the rotation kept it as the previous. */
const tickets = { first: randomTicketKey(), rotated: undefined as boolean | undefined };

/**
 * The connect/listen options of the task's features: `psk` (one key for a
 * client, a list for a server) and, for `rotateTicketKeys`, `ticketKeys`.
 *
 * @example
 * ```ts
 * const server = listen({ ...tlsOptions(), ...featureOptions(task) });
 * ```
 */
export function featureOptions(task: OursTask) {
  const psk = task.psk && { identity: task.psk.identity, key: unhex(task.psk.keyHex) };
  return {
    ...(psk ? { psk: task.role === "server" ? [psk] : psk } : {}),
    ...(task.rotateTicketKeys ? { ticketKeys: tickets.first } : {}),
  };
}

/**
 * Between a server's connections (`rotateTicketKeys`): one new ticket key,
 * which makes the first the previous; records whether the server now holds
 * exactly the new key then the first.
 *
 * @example
 * ```ts
 * rotateTicketKeys(server, task); // after the first connection ended
 * ```
 */
export function rotateTicketKeys(server: TicketServer, task: OursTask): void {
  if (!task.rotateTicketKeys) return;
  const next = randomTicketKey();
  server.setTicketKeys(next);
  tickets.rotated = hex(server.getTicketKeys()) === hex(next) + hex(tickets.first);
}

/**
 * What the task's features add to our handshake report.
 *
 * @example
 * ```ts
 * Object.assign(info, featureInfo(conn, await conn.handshake(), task));
 * ```
 */
export function featureInfo(
  conn: FeatureConn,
  core: { pskIdentity?: string | null },
  task: OursTask,
): OursInfo {
  const e = task.exportKeys;
  return {
    ...(task.psk ? { pskIdentity: core.pskIdentity ?? null } : {}),
    ...(e ? { exportedKeys: hex(conn.exportKeyingMaterial(e.length, e.label)) } : {}),
    ...(tickets.rotated !== undefined ? { ticketKeysRotated: tickets.rotated } : {}),
  };
}
