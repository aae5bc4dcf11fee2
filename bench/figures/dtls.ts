/**
 * DTLS 1.2, ours ↔ ours, per runtime (peer/datagram.ts):
 *
 * - handshakes per second, sequential and concurrent: a new UDP socket each,
 *   the cookie exchange and a full handshake, one byte each way, close_notify;
 * - echo messages per second: 1200-byte messages, a window of them in flight
 *   on one association, next to the same runtime's plain UDP echo
 *   (`node:dgram` under Deno, `Bun.udpSocket` under Bun) in the same rounds:
 *   the ratio is DTLS over plain UDP; the client's CPU time per message
 *   (less noisy on a shared machine than the rate), and how often the window
 *   stalled (a datagram lost).
 *
 * Both DTLS sides get `mtu: 1500` (IPv4 loopback): the default MTU, 1280,
 * is sized for IPv6 paths (see peer/datagram.ts).
 *
 * @module
 */
import { allPairs } from "../contenders.ts";
import { runFigure, type Setting } from "../figure.ts";
import type { Row } from "../results.ts";

/** Echo messages in flight at once: enough to keep both processes busy, far below a loopback socket buffer. */
export const ECHO_WINDOW = 16;
/** The echo figure's message size (the issue's: a typical CoAP / media datagram). */
export const ECHO_SIZE = 1200;

export async function dtlsFigures(opts: {
  setting: Setting;
  concurrency: number[];
  /** Seconds of handshakes per round. */
  seconds: number;
  /** Seconds of echo per round, after `warmupSeconds` untimed. */
  echoSeconds: number;
  warmupSeconds: number;
  rounds: number;
  only?: (id: string) => boolean;
  log: (line: string) => void;
}): Promise<Row[]> {
  const pairs = allPairs().filter((p) => p.in.includes("dtls") && (opts.only?.(p.id) ?? true));
  const rows: Row[] = [];
  for (const concurrency of opts.concurrency) {
    const mode = concurrency === 1 ? "sequential" : `${concurrency} concurrent`;
    opts.log(`${opts.setting.name} handshakes, ${mode}`);
    rows.push(
      ...await runFigure({
        pairs: pairs.filter((p) => p.client.stack === "dtls"),
        setting: opts.setting,
        rounds: opts.rounds,
        task: { kind: "handshakes", seconds: opts.seconds, concurrency, maxCount: 100_000 },
        timeoutMs: 60_000 + opts.seconds * 2000,
        metrics: [{
          figure: `${opts.setting.name}: handshakes/s ${mode}`,
          unit: "handshakes/s",
          better: "higher",
          pick: (r) => r.perSecond as number,
        }],
        log: opts.log,
      }),
    );
  }
  const figure = `${opts.setting.name}: echo ${ECHO_SIZE}-byte messages/s, ${ECHO_WINDOW} in flight`;
  opts.log(figure);
  rows.push(
    ...await runFigure({
      pairs,
      setting: opts.setting,
      rounds: opts.rounds,
      task: {
        kind: "echo",
        seconds: opts.echoSeconds,
        warmupSeconds: opts.warmupSeconds,
        size: ECHO_SIZE,
        window: ECHO_WINDOW,
      },
      timeoutMs: 60_000 + (opts.echoSeconds + opts.warmupSeconds) * 2000,
      metrics: [
        { figure, unit: "messages/s", better: "higher", pick: (r) => r.perSecond as number },
        {
          figure: `${figure}: client CPU per message`,
          unit: "µs",
          better: "lower",
          pick: (r) => r.cpuUs as number,
        },
        {
          figure: `${figure}: stalls (window resent after 200 ms without an echo)`,
          unit: "stalls",
          better: "lower",
          pick: (r) => r.stalls as number,
        },
      ],
      log: opts.log,
    }),
  );
  return rows;
}
