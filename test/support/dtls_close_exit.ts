/**
 * A DTLS client that exits the moment `close()` resolves: it connects to
 * 127.0.0.1:<port> trusting <ca file>, sends one message, awaits `close()`,
 * then exits. The close_notify must already be on the wire
 * (`test/dtls_openssl.test.ts`).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { connect } from "../../dtls.ts";

const [port, caFile] = process.argv.slice(2);
const conn = await connect({
  port: Number(port),
  caCerts: [readFileSync(caFile, "utf8")],
  servername: "localhost",
});
await conn.send(new TextEncoder().encode("bye\n"));
await conn.close();
process.exit(0);
