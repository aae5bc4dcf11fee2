/**
 * STARTTLS over SMTP for our side: the plain-text dialogue up to "220 Ready",
 * then the core's `upgrade()` on the same socket (client or server).
 * @module
 */
import { upgrade } from "../../mod.ts";
import { openPlain, type PlainConn } from "./plain.ts";

/** Options handed through to the core's `upgrade()`. */
export type Opts = Record<string, unknown>;

/** Read lines from a plain socket until `done(line)` is true; returns all lines. */
async function readLines(c: PlainConn, done: (line: string) => boolean, limit = 50): Promise<string[]> {
  const lines: string[] = [];
  const dec = new TextDecoder();
  let pending = "";
  const buf = new Uint8Array(4096);
  for (let i = 0; i < limit; i++) {
    const n = await c.read(buf);
    if (n === null) throw new Error(`SMTP: EOF after ${JSON.stringify(lines)}`);
    pending += dec.decode(buf.subarray(0, n));
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, "");
      pending = pending.slice(nl + 1);
      lines.push(line);
      if (done(line)) {
        if (pending) throw new Error("SMTP: data after the last line (STARTTLS injection?)");
        return lines;
      }
    }
  }
  throw new Error("SMTP: too many reads");
}

const send = (c: PlainConn, s: string) => c.write(new TextEncoder().encode(s));

/** Client: EHLO, STARTTLS, then a TLS client on the same socket. */
export async function smtpClient(port: number, opts: Opts): Promise<unknown> {
  const c = await openPlain(port);
  await readLines(c, (l) => /^220 /.test(l));
  await send(c, "EHLO jsec.test\r\n");
  const ehlo = await readLines(c, (l) => /^250 /.test(l));
  if (!ehlo.some((l) => /STARTTLS/i.test(l))) throw new Error("SMTP: server does not offer STARTTLS");
  await send(c, "STARTTLS\r\n");
  await readLines(c, (l) => /^220 /.test(l));
  return upgrade(c.raw as never, opts as never);
}

/** Server: greet, answer EHLO with STARTTLS, then a TLS server on the same socket. */
export async function smtpServer(
  port: number,
  opts: Opts,
  listening: (port: number) => void,
): Promise<unknown> {
  const c = await openPlain(port, listening);
  await send(c, "220 jsec.test ESMTP ready\r\n");
  for (let i = 0; i < 10; i++) {
    const [line] = await readLines(c, () => true);
    if (/^(EHLO|HELO)/i.test(line)) {
      await send(c, "250-jsec.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
    } else if (/^STARTTLS/i.test(line)) {
      await send(c, "220 2.0.0 Ready to start TLS\r\n");
      return upgrade(
        c.raw as never,
        { ...opts, isServer: true, listenerHandlers: c.listenerHandlers } as never,
      );
    } else {
      await send(c, "502 5.5.2 not here\r\n");
    }
  }
  throw new Error("SMTP: no STARTTLS from the client");
}
