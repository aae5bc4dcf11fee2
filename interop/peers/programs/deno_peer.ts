/**
 * Deno's native TLS (rustls: Deno.listenTls / Deno.connectTls / Deno.startTls)
 * as an interop peer, driven by one JSON argument (see task.ts).
 * Status lines go to stderr, application data to stdout.
 * @module
 */
import type { ProgramTask } from "./task.ts";

const task = JSON.parse(Deno.args[Deno.args.length - 1]) as ProgramTask;
const text = (f?: string) => (f ? Deno.readTextFileSync(f) : undefined);
const say = (s: string) => console.error(s);
const enc = new TextEncoder();
const ping = `jsec-ping ${task.nonce}`;
setTimeout(() => {
  say("ERROR timeout");
  Deno.exit(3);
}, 60_000);

async function writeAll(c: Deno.Conn, b: Uint8Array) {
  for (let off = 0, i = 0; off < b.length && i < 100_000; i++) off += await c.write(b.subarray(off));
}

/** After the handshake: echo pong (server) or ping (client), copy data to stdout, close cleanly. */
async function talk(conn: Deno.TlsConn) {
  const hs = await conn.handshake();
  say(`HANDSHAKE ? ${hs.alpnProtocol ?? "-"}`);
  if (task.role === "client" && task.mode !== "transfer") await writeAll(conn, enc.encode(ping + "\n"));
  const buf = new Uint8Array(64 * 1024);
  let seen = "";
  const dec = new TextDecoder();
  for (let i = 0; i < 1_000_000; i++) {
    const n = await conn.read(buf);
    if (n === null) {
      say("PEER-END");
      break;
    }
    await writeAll(Deno.stdout as unknown as Deno.Conn, buf.subarray(0, n));
    if (task.mode === "transfer") continue;
    seen += dec.decode(buf.subarray(0, n));
    if (task.role === "server" && seen.includes(ping)) {
      seen = "";
      await writeAll(conn, enc.encode(`jsec-pong ${task.nonce}\n`));
      if (task.serverClosesFirst) await conn.closeWrite();
    } else if (task.role === "client" && seen.includes(`jsec-pong ${task.nonce}`)) {
      seen = "";
      if (!task.serverClosesFirst) await conn.closeWrite();
    }
  }
  try {
    await conn.closeWrite();
  } catch { /* already closed */ }
  conn.close();
}

async function smtpPrelude(c: Deno.Conn) {
  const buf = new Uint8Array(4096);
  const dec = new TextDecoder();
  const expect = async (re: RegExp) => {
    let got = "";
    for (let i = 0; i < 20 && !re.test(got); i++) {
      const n = await c.read(buf);
      if (n === null) throw new Error("SMTP: EOF");
      got += dec.decode(buf.subarray(0, n));
    }
  };
  await expect(/^220 /m);
  await writeAll(c, enc.encode("EHLO deno.test\r\n"));
  await expect(/^250 /m);
  await writeAll(c, enc.encode("STARTTLS\r\n"));
  await expect(/^220 /m);
}

try {
  if (task.role === "server") {
    const l = Deno.listenTls({
      hostname: "127.0.0.1",
      port: task.port,
      cert: text(task.certFile)!,
      key: text(task.keyFile)!,
      alpnProtocols: task.alpn,
    });
    say("LISTENING");
    for (let i = 0; i < (task.connections ?? 1); i++) await talk(await l.accept());
    l.close();
  } else {
    const caCerts = task.caFile ? [text(task.caFile)!] : undefined;
    const name = task.servername ?? "localhost";
    let conn: Deno.TlsConn;
    if (task.certFile) {
      // Client certificates need connectTls, whose hostname is also the SNI/verified name.
      conn = await Deno.connectTls({
        hostname: name,
        port: task.port,
        caCerts,
        alpnProtocols: task.alpn,
        cert: text(task.certFile),
        key: text(task.keyFile),
      });
    } else {
      const plain = await Deno.connect({ hostname: "127.0.0.1", port: task.port });
      if (task.mode === "smtp") await smtpPrelude(plain);
      conn = await Deno.startTls(plain, { hostname: name, caCerts, alpnProtocols: task.alpn });
    }
    await talk(conn);
  }
  Deno.exit(0);
} catch (e) {
  say(`ERROR ${(e as Error).name} ${(e as Error).message}`);
  Deno.exit(1);
}
