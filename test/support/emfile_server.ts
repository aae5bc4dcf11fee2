/**
 * A child process for the accept-error test (arguments: `conn` or `socket`,
 * then the certificate and key files to serve): our server (`listen()`, or
 * `listenSocket()` for `socket`) that then
 * uses up every file descriptor its RLIMIT_NOFILE allows, so that accepting
 * fails with EMFILE. A second later it frees them and reports what the
 * listener did meanwhile, then serves one handshake and exits.
 *
 * stdout, one JSON line each: `{"port"}`, `{"held"}` (descriptors taken),
 * `{"acceptErrors","cpuMs","codes"}`, then `{"served"}`.
 *
 * @module
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import process from "node:process";
import { listen, listenSocket, type TlsError, TlsListener } from "../../mod.ts";

const [api, certFile, keyFile] = process.argv.slice(-3);
const errors: TlsError[] = [];
const say = (o: unknown) => process.stdout.write(JSON.stringify(o) + "\n");
const options = {
  hostname: "127.0.0.1",
  port: 0,
  cert: readFileSync(certFile, "utf8"),
  key: readFileSync(keyFile, "utf8"),
  onAcceptError: (e: TlsError) => errors.push(e),
};
let resolveServed!: () => void;
const served = new Promise<void>((resolve) => (resolveServed = resolve));
const server = api === "socket"
  ? listenSocket({ ...options, socket: { data() {}, handshake: (_socket, ok) => ok && resolveServed() } })
  : listen(options);
if (server instanceof TlsListener) server.accept().then((conn) => conn.handshake()).then(resolveServed);
say({ port: (server.addr as { port: number }).port }); // before the descriptors run out: Deno needs some to write
// Deno sets up its signal handling lazily, with descriptors of its own, and panics when none is
// left: set it up now (any signal will do).
if ("Deno" in globalThis) Deno.addSignalListener("SIGUSR2", () => {});
const held: number[] = [];
for (let i = 0; i < 100_000; i++) {
  try {
    held.push(openSync("/dev/null", "r"));
  } catch {
    break; // EMFILE: no descriptor left
  }
}
const cpuBefore = process.cpuUsage();
say({ held: held.length });
setTimeout(async () => {
  const cpu = process.cpuUsage(cpuBefore);
  const acceptErrors = errors.length;
  for (const fd of held.splice(0)) closeSync(fd);
  say({
    acceptErrors,
    cpuMs: (cpu.user + cpu.system) / 1000,
    codes: [...new Set(errors.map((e) => e.code))],
  });
  await served;
  say({ served: true });
  process.exit(0);
}, 1_000);
