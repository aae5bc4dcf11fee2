// The Node peer (Node's own `tls` and `net`), speaking bench/peer/protocol.ts.
// Plain JavaScript: Node 20 does not run TypeScript. Same command line as main.ts:
//   node peer/node.mjs server|client native|tcp '<json>'
import { readFileSync } from "node:fs";
import * as net from "node:net";
import process from "node:process";
import { createInterface } from "node:readline";
import * as tls from "node:tls";

const [role, stack, json] = process.argv.slice(2);
const config = JSON.parse(json);
const WRITE_SIZE = 16 * 1024;
const out = (v) => process.stdout.write(JSON.stringify(v) + "\n");
const now = () => performance.now();

/** A socket as a pull stream of chunks. */
function wrap(socket) {
  const chunks = [];
  let ended = false, error = null, wake = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  socket.on("data", (d) => {
    chunks.push(d);
    poke();
  });
  socket.on("end", () => {
    ended = true;
    poke();
  });
  socket.on("close", () => {
    ended = true;
    poke();
  });
  socket.on("error", (e) => {
    error = e;
    ended = true;
    poke();
  });
  return {
    async read() {
      while (!chunks.length) {
        if (error) throw error;
        if (ended) return null;
        await new Promise((r) => (wake = r));
      }
      return chunks.shift();
    },
    write(bytes) {
      return socket.write(bytes)
        ? Promise.resolve()
        : new Promise((resolve) => socket.once("drain", resolve));
    },
    close() {
      socket.end();
    },
  };
}

function reader(conn) {
  let rest = new Uint8Array(0);
  return {
    async exact(n) {
      const o = new Uint8Array(n);
      let at = 0;
      while (at < n) {
        if (!rest.length) {
          const c = await conn.read();
          if (c === null) {
            if (at === 0) return null;
            throw new Error("short");
          }
          rest = c;
        }
        const t = Math.min(n - at, rest.length);
        o.set(rest.subarray(0, t), at);
        at += t;
        rest = rest.subarray(t);
      }
      return o;
    },
    async skip(n) {
      let left = n;
      while (left > 0) {
        if (!rest.length) {
          const c = await conn.read();
          if (c === null) throw new Error("short");
          rest = c;
        }
        const t = Math.min(left, rest.length);
        left -= t;
        rest = rest.subarray(t);
      }
    },
    async drain() {
      try {
        while ((await conn.read()) !== null);
      } catch { /* reset */ }
    },
  };
}

function header(op, count) {
  const h = Buffer.alloc(9);
  h[0] = op.charCodeAt(0);
  h.writeBigUInt64BE(BigInt(count), 1);
  return h;
}

async function sendBulk(conn, n) {
  const block = Buffer.alloc(WRITE_SIZE, 0x61);
  for (let left = n; left > 0; left -= WRITE_SIZE) {
    await conn.write(left >= WRITE_SIZE ? block : block.subarray(0, left));
  }
}

async function serve(conn) {
  const r = reader(conn);
  try {
    const h = await r.exact(9);
    if (!h) return;
    const op = String.fromCharCode(h[0]);
    const count = Number(Buffer.from(h).readBigUInt64BE(1));
    const one = Buffer.from([0x6b]);
    if (op === "U") {
      await r.skip(count);
      await conn.write(one);
    } else if (op === "D") await sendBulk(conn, count);
    else if (op === "P") {
      for (let i = 0; i < count; i++) {
        await r.skip(1);
        await conn.write(one);
      }
    } else if (op === "H") await conn.write(one);
    await r.drain();
  } catch {
    /* client went away */
  } finally {
    conn.close();
  }
}

function tlsOptions() {
  const t = config.tls;
  return { minVersion: t.minVersion, maxVersion: t.maxVersion };
}

function memory() {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heap: 0, js: usage.heapUsed };
}

function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function commands(onLine) {
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (l) => onLine(l.trim()));
  rl.on("close", () => process.exit(0));
}

async function connectOne() {
  const t = config.tls;
  if (stack === "tcp") {
    const s = net.connect({ host: "127.0.0.1", port: config.port, noDelay: true });
    await new Promise((res, rej) => s.once("connect", res).once("error", rej));
    return wrap(s);
  }
  const s = tls.connect({
    host: "127.0.0.1",
    port: config.port,
    servername: "localhost",
    ca: readFileSync(t.caFile),
    noDelay: true,
    ...tlsOptions(),
  });
  await new Promise((res, rej) => s.once("secureConnect", res).once("error", rej));
  return wrap(s);
}

if (role === "server") {
  const t = config.tls;
  const onConn = (s) => {
    s.setNoDelay(true);
    serve(wrap(s));
  };
  const server = stack === "tcp" ? net.createServer(onConn) : tls.createServer(
    { cert: readFileSync(t.certFile), key: readFileSync(t.keyFile), ...tlsOptions() },
    onConn,
  );
  server.listen(0, "127.0.0.1", () => out({ port: server.address().port }));
  commands((line) => {
    if (line === "mem") out(memory());
    if (line === "cpu") out({ cpuMs: cpuMs() });
    if (line === "quit") process.exit(0);
  });
} else {
  const task = config.task;
  const watchdog = setTimeout(() => process.exit(3), 300_000);
  let result;
  if (task.kind === "bulk") {
    const conn = await connectOne();
    const r = reader(conn);
    const start = now();
    await conn.write(header(task.op, task.bytes));
    if (task.op === "U") {
      await sendBulk(conn, task.bytes);
      await r.skip(1);
    } else await r.skip(task.bytes);
    const ms = now() - start;
    conn.close();
    result = { ms, mbps: task.bytes / 1e6 / (ms / 1000) };
  } else if (task.kind === "handshakes") {
    let count = 0;
    const deadline = now() + task.seconds * 1000, start = now(), hdr = header("H", 0), cpuStart = cpuMs();
    const worker = async () => {
      while (now() < deadline && count < task.maxCount) {
        const conn = await connectOne();
        await conn.write(hdr);
        await reader(conn).skip(1);
        conn.close();
        count++;
      }
    };
    await Promise.all(Array.from({ length: task.concurrency }, worker));
    const seconds = (now() - start) / 1000;
    result = { count, seconds, perSecond: count / seconds, cpuMs: cpuMs() - cpuStart };
  } else if (task.kind === "pingpong") {
    const conn = await connectOne();
    const r = reader(conn), one = Buffer.from([0x70]), total = task.count + task.warmup;
    await conn.write(header("P", total));
    const rtts = new Float64Array(task.count);
    for (let i = 0; i < total; i++) {
      const t0 = now();
      await conn.write(one);
      await r.skip(1);
      if (i >= task.warmup) rtts[i - task.warmup] = now() - t0;
    }
    conn.close();
    rtts.sort();
    const q = (p) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] * 1000;
    result = { p50us: q(0.5), p99us: q(0.99) };
  } else if (task.kind === "idle") {
    clearTimeout(watchdog);
    const hdr = header("I", 0);
    const warm = await connectOne();
    await warm.write(hdr);
    warm.close();
    await new Promise((r) => setTimeout(r, 100));
    const before = memory();
    const conns = [];
    let next = 0;
    const worker = async () => {
      while (next < task.count) {
        next++;
        const c = await connectOne();
        await c.write(hdr);
        conns.push(c);
        reader(c).drain();
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    await new Promise((r) => setTimeout(r, task.settleMs ?? 1500));
    out({ ready: true, count: conns.length, before, after: memory() });
    commands((line) => {
      if (line === "quit") {
        for (const c of conns) c.close();
        setTimeout(() => process.exit(0), 50);
      }
    });
  }
  if (result) {
    clearTimeout(watchdog);
    out(result);
    setTimeout(() => process.exit(0), 20);
  }
}
