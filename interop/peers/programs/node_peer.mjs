// Node's `tls` module as an interop peer (server or client), driven by one
// JSON argument (see task.ts). Runs under the suite's Debian nodejs.
// Status lines go to stderr, application data to stdout.
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";

const task = JSON.parse(process.argv[process.argv.length - 1]);
const read = (f) => (f ? readFileSync(f) : undefined);
const say = (s) => process.stderr.write(s + "\n");
const versions = task.version ? { minVersion: `TLSv${task.version}`, maxVersion: `TLSv${task.version}` } : {};
const pskKey = task.psk ? Buffer.from(task.psk.keyHex, "hex") : undefined;
/** PSK (pskCallback): the key by identity (server) or the one key (client); TLS 1.2 needs a PSK suite named. */
const psk = !task.psk ? {} : {
  pskCallback: task.role === "server"
    ? (_sock, identity) => (identity === task.psk.identity ? pskKey : null)
    : () => ({ psk: pskKey, identity: task.psk.identity }),
  // The key authenticates the server; Node would check names of a certificate there is none of (TLS 1.2).
  ...(task.role === "client" ? { checkServerIdentity: () => undefined } : {}),
  ...(task.version === "1.2" ? { ciphers: task.pskCipher } : {}),
};
const common = {
  cert: read(task.certFile),
  key: read(task.keyFile),
  ca: task.caFile ? [read(task.caFile)] : undefined,
  ALPNProtocols: task.alpn,
  ecdhCurve: task.groups,
  ...versions,
  ...psk,
};
const ping = `jsec-ping ${task.nonce}`;
setTimeout(() => {
  say("ERROR timeout");
  process.exit(3);
}, 60_000).unref();

/** After the handshake: the exchange for this mode. */
function talk(sock) {
  if (task.traceRecords) sock.enableTrace();
  say(`HANDSHAKE ${sock.getProtocol()} ${sock.alpnProtocol || "-"}`);
  if (sock.isSessionReused()) say("RESUMED");
  const e = task.exportKeys;
  if (e) say(`Keying material: ${sock.exportKeyingMaterial(e.length, e.label).toString("hex")}`);
  let seen = "";
  sock.on("data", (d) => {
    if (task.mode === "transfer" && task.role === "server") return void process.stdout.write(d);
    process.stdout.write(d);
    if (task.role === "server" && !seen.includes(ping)) {
      seen += d.toString("latin1");
      if (seen.includes(ping)) {
        sock.write(`jsec-pong ${task.nonce}\n`);
        if (task.serverClosesFirst) sock.end();
      }
    }
  });
  sock.on("end", () => {
    say("PEER-END");
    sock.end();
  });
  // Let the event loop drain (stdout may still hold data); do not process.exit here.
  sock.on("close", () => (process.exitCode = 0));
  sock.on("error", (e) => {
    say(`ERROR ${e.code ?? ""} ${e.message}`);
    process.exit(1);
  });
  if (task.role === "client" && task.mode !== "transfer") {
    sock.write(ping + "\n");
    let got = "";
    sock.on("data", (d) => {
      got += d.toString("latin1");
      if (got.includes(`jsec-pong ${task.nonce}`) && !task.serverClosesFirst) sock.end();
    });
  }
}

function serverContext() {
  const options = {
    ...common,
    requestCert: !!task.requireClientCert,
    rejectUnauthorized: !!task.requireClientCert,
  };
  if (task.sniName) {
    const other = tls.createSecureContext({
      ...common,
      cert: read(task.sniCertFile),
      key: read(task.sniKeyFile),
    });
    options.SNICallback = (name, cb) => cb(null, name === task.sniName ? other : undefined);
  }
  return options;
}

function fail(e) {
  say(`ERROR ${e.code ?? ""} ${e.message}`);
  process.exit(1);
}

if (task.role === "server") {
  const options = serverContext();
  if (task.mode === "smtp") {
    const srv = net.createServer((plain) => {
      srv.close();
      plain.write("220 node.test ESMTP\r\n");
      let buf = "";
      const onData = (d) => {
        buf += d.toString("latin1");
        if (/^EHLO|^HELO/im.test(buf) && !buf.includes("STARTTLS")) {
          buf = "";
          plain.write("250-node.test\r\n250 STARTTLS\r\n");
        } else if (/STARTTLS\r?\n/i.test(buf)) {
          plain.removeListener("data", onData);
          plain.write("220 2.0.0 Ready\r\n");
          const sock = new tls.TLSSocket(plain, {
            ...options,
            isServer: true,
            secureContext: tls.createSecureContext(options),
          });
          sock.on("secure", () => talk(sock));
          sock.on("error", fail);
        }
      };
      plain.on("data", onData);
    });
    srv.listen(task.port, "127.0.0.1", () => say("LISTENING"));
  } else {
    let accepted = 0;
    const srv = tls.createServer(options, (sock) => {
      if (++accepted === (task.connections ?? 1)) srv.close();
      talk(sock);
    });
    srv.on("tlsClientError", fail);
    srv.listen(task.port, "127.0.0.1", () => say("LISTENING"));
  }
} else {
  const options = { ...common, host: "127.0.0.1", port: task.port, servername: task.servername };
  if (task.mode === "smtp") {
    const plain = net.connect(task.port, "127.0.0.1");
    let buf = "";
    let step = 0;
    const onData = (d) => {
      buf += d.toString("latin1");
      if (step === 0 && /^220 /m.test(buf)) {
        step = 1;
        buf = "";
        plain.write("EHLO node.test\r\n");
      } else if (step === 1 && /^250 /m.test(buf)) {
        step = 2;
        buf = "";
        plain.write("STARTTLS\r\n");
      } else if (step === 2 && /^220 /m.test(buf)) {
        plain.removeListener("data", onData);
        const sock = tls.connect({ ...options, socket: plain }, () => talk(sock));
        sock.on("error", fail);
      }
    };
    plain.on("data", onData);
    plain.on("error", fail);
  } else {
    connectInTurn(options, task.connections ?? 1);
  }
}

/** `left` connections one after the other, each offering the session the one before got. */
function connectInTurn(options, left, session) {
  const sock = tls.connect({ ...options, session }, () => talk(sock));
  let latest;
  sock.on("session", (s) => (latest = s));
  sock.on("error", fail);
  if (left > 1) sock.on("close", () => connectInTurn(options, left - 1, latest));
}
