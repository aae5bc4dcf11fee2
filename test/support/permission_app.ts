/**
 * A client and a server in one program, for running under exactly the Deno
 * permissions the README gives (`test/permissions.test.ts`): makes a CA and a
 * certificate, serves TLS on localhost, connects, echoes one line, prints "ok".
 *
 * @module
 */
import { connect, listen } from "../../mod.ts";
import { createRootCa, issueCertificate } from "../../ca.ts";

const ca = createRootCa({ subject: "permission test CA" });
const leaf = issueCertificate({ issuer: ca, names: ["localhost"] });
const server = listen({ hostname: "localhost", port: 0, cert: leaf.cert, key: leaf.key });
const served = (async () => {
  const conn = await server.accept();
  const buf = new Uint8Array(64);
  const n = await conn.read(buf);
  await conn.write(buf.subarray(0, n ?? 0));
  conn.close();
})();
const client = await connect({
  hostname: "localhost",
  port: (server.addr as Deno.NetAddr).port,
  caCerts: [ca.cert],
});
await client.write(new TextEncoder().encode("ping"));
const reply = new Uint8Array(64);
const n = await client.read(reply);
client.close();
await served;
server.close();
console.log(new TextDecoder().decode(reply.subarray(0, n ?? 0)) === "ping" ? "ok" : "wrong reply");
