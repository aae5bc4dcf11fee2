/**
 * The datagram figures' client tasks (datagram.ts stacks): handshakes per
 * second, and echo messages per second with a window of messages in flight.
 * Every loop is bounded in count and time.
 *
 * @module
 */
import { connectDatagram, type DatagramConn, type DatagramStack } from "./datagram.ts";
import type { TlsSettings } from "./stacks.ts";
import { cpuMs } from "./cpu.ts";

const now = () => performance.now();

/** Without an echo for this long, the messages in flight count as lost and the window is sent again. */
const STALL_MS = 200;
/** How long a handshake's one-byte echo may take before the task fails. */
const ECHO_WAIT_MS = 5000;

/** The next message, or an error after `ms` (one timer per call: for rare waits only). */
async function receiveWithin(conn: DatagramConn, ms: number): Promise<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no echo in ${ms} ms`)), ms);
  });
  try {
    const message = await Promise.race([conn.receive(), late]);
    if (message === null) throw new Error("closed before the echo");
    return message;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Handshakes per second: a new socket and association each (DTLS: the cookie
 * exchange and a full handshake), one byte each way (so the server finished
 * too), close_notify. One untimed handshake first loads the library's code paths.
 */
export async function datagramHandshakes(
  stack: DatagramStack,
  port: number,
  tls: TlsSettings,
  task: { seconds: number; concurrency: number; maxCount: number },
): Promise<unknown> {
  const hello = new Uint8Array([0x68]);
  let negotiated: string | undefined;
  const once = async () => {
    const conn = await connectDatagram(stack, port, tls);
    try {
      negotiated ??= conn.negotiated;
      await conn.send(hello);
      await receiveWithin(conn, ECHO_WAIT_MS);
    } finally {
      conn.close();
    }
  };
  await once();
  let count = 0;
  const deadline = now() + task.seconds * 1000;
  const start = now();
  const worker = async () => {
    while (now() < deadline && count < task.maxCount) {
      await once();
      count++;
    }
  };
  await Promise.all(Array.from({ length: task.concurrency }, worker));
  const seconds = (now() - start) / 1000;
  return { count, seconds, perSecond: count / seconds, negotiated };
}

/**
 * Echo: one association, `window` messages of `size` bytes in flight; each
 * echo that comes back (checked for its size) sends the next. Counted after
 * `warmupSeconds` untimed on the same association, for `seconds`. A stall (no
 * echo for {@link STALL_MS}: a message or its echo lost, as UDP may, or a
 * process descheduled) sends a new window, tagged with a new generation in its
 * first byte; late echoes of an older one count but send nothing, so the
 * window never grows. `stalls` says how often; `cpuUs` is the client's CPU
 * time per echoed message (the server does the same work, mirrored).
 */
export async function echo(
  stack: DatagramStack,
  port: number,
  tls: TlsSettings,
  task: { seconds: number; warmupSeconds: number; size: number; window: number },
): Promise<unknown> {
  const conn = await connectDatagram(stack, port, tls);
  try {
    if (conn.maxMessage < task.size) {
      throw new Error(`${task.size}-byte messages do not fit: at most ${conn.maxMessage}`);
    }
    const message = new Uint8Array(task.size).fill(0x65);
    let generation = 0, inFlight = 0, received = 0, stalls = 0, lastReceived = -1;
    const fill = async () => {
      for (; inFlight < task.window; inFlight++) await conn.send(message);
    };
    const watchdog = setInterval(() => {
      if (received === lastReceived) {
        stalls++;
        message[0] = generation = (generation + 1) & 0xff;
        inFlight = 0;
        fill().catch(() => {}); // a failing send fails the main loop's next send too
      }
      lastReceived = received;
    }, STALL_MS);
    try {
      message[0] = generation;
      await fill();
      let start = now(), cpuStart = cpuMs();
      const timedFrom = start + task.warmupSeconds * 1000;
      let timed = false;
      const deadline = timedFrom + task.seconds * 1000;
      for (let t = start; t < deadline; t = now()) {
        if (!timed && t >= timedFrom) {
          [timed, received, stalls, lastReceived, start, cpuStart] = [true, 0, 0, -1, t, cpuMs()];
        }
        const echoed = await conn.receive();
        if (echoed === null) throw new Error(`closed after ${received} echoes`);
        if (echoed.length !== task.size) {
          throw new Error(`an echo of ${echoed.length} bytes, not ${task.size}`);
        }
        received++;
        if (echoed[0] !== generation) continue; // of a window given up on
        inFlight--;
        await fill();
      }
      const seconds = (now() - start) / 1000;
      const cpuUs = (cpuMs() - cpuStart) * 1000 / received;
      // The echoes still in flight come back before the socket closes: a server never echoes to a closed port.
      clearInterval(watchdog);
      try {
        for (; inFlight > 0; inFlight--) await receiveWithin(conn, STALL_MS);
      } catch { /* lost: nothing more comes back */ }
      return { received, stalls, seconds, perSecond: received / seconds, cpuUs, negotiated: conn.negotiated };
    } finally {
      clearInterval(watchdog);
    }
  } finally {
    conn.close();
  }
}
