/**
 * A DTLS server and client in one program, for running under the Deno
 * permissions the README gives for DTLS (`test/permissions.test.ts`): serves
 * on 127.0.0.1, connects, echoes one message, prints "ok".
 *
 * @module
 */
import { connect, listen } from "../../dtls.ts";
import { createRootCa, issueCertificate } from "../../ca.ts";

const ca = createRootCa({ subject: "permission test CA" });
const leaf = issueCertificate({ issuer: ca, names: ["localhost"] });
const server = listen({ hostname: "127.0.0.1", port: 0, cert: leaf.cert, key: leaf.key });
await server.ready;
const served = (async () => {
  const conn = await server.accept();
  if (!conn) throw new Error("the listener closed before a connection");
  const message = await conn.receive();
  if (message) await conn.send(message);
  await conn.close();
})();
const client = await connect({ port: server.addr.port, caCerts: [ca.cert], servername: "localhost" });
await client.send(new TextEncoder().encode("ping"));
const reply = await client.receive();
await client.close();
await served;
server.close();
console.log(reply && new TextDecoder().decode(reply) === "ping" ? "ok" : "wrong reply");
