/**
 * `openssl s_server` starting TLS 1.2 renegotiations on demand, for the
 * tests of our client following (or refusing) them.
 *
 * @module
 */
import { certs } from "./certs.ts";
import { type Peer, sServer } from "./openssl.ts";

/** s_server for renegotiation: TLS 1.2, `-msg` trace, stdin lines taken as commands. */
export function sServerForRenegotiation(): Promise<Peer> {
  return sServer({ ...certs().ecdsa, args: ["-tls1_2", "-msg"] });
}

/** Makes s_server start a TLS 1.2 renegotiation, and waits until it sent the HelloRequest (the `nth`, from 1). */
export async function sendHelloRequest(server: Peer, nth = 1): Promise<void> {
  await server.write("r\n");
  await server.waitUntil(
    `HelloRequest #${nth}`,
    () => server.stdout.split(">>> TLS 1.2, Handshake [length 0004], HelloRequest").length - 1 >= nth,
  );
}

/** How many of our Finished messages s_server's `-msg` trace shows: 2 after one renegotiation. */
export function ourFinishedMessages(server: Peer): number {
  return server.stdout.split("<<< TLS 1.2, Handshake [length 0010], Finished").length - 1;
}
