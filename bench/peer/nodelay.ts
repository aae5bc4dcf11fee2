/**
 * TCP_NODELAY for a Deno listener whose connections cannot take it:
 * `Deno.listenTls` hands out `TlsConn`s without `setNoDelay`. Linux copies
 * TCP_NODELAY from a listening socket to the sockets it accepts, so we set it
 * on the listener's file descriptor, found through /proc, with libc's
 * `setsockopt`. Benchmark-only: without it Nagle's algorithm and delayed ACKs
 * hold the server's reply after its session tickets for ~40 ms.
 *
 * @module
 */

/** Sets TCP_NODELAY on the listening socket bound to 127.0.0.1:`port`; false when it cannot. */
export function noDelayOnListener(port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === "0A") inodes.add(f[9]);
    }
  }
  const libc = Deno.dlopen("libc.so.6", {
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  });
  let done = false;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    let target = "";
    try {
      target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && inodes.has(m[1])) {
      const one = new Int32Array([1]);
      // IPPROTO_TCP = 6, TCP_NODELAY = 1
      done = libc.symbols.setsockopt(Number(entry.name), 6, 1, new Uint8Array(one.buffer), 4) === 0 || done;
    }
  }
  libc.close();
  return done;
}
