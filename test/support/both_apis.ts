/**
 * Our server through each of its two APIs, serving like an application
 * (echo; close on error): `listen` (`TlsConn`) and `listenSocket`
 * (`TlsSocket`), for tests that must hold through both.
 *
 * @module
 */
import { type ListenOptions, listenSocket } from "../../mod.ts";
import { serverOn } from "./callback.ts";
import { startServer } from "./server.ts";

/** A running server of either API; `using` stops it. */
export interface AnyServer extends Disposable {
  port: number;
}

/** Starts our echo server through the API `api` names, with `options` on top of the test ECDSA certificate. */
export type ServerMaker = (options?: Partial<ListenOptions>) => AnyServer;

/** Our two server APIs by name. */
export const serverApis: Record<"TlsConn" | "TlsSocket", ServerMaker> = {
  TlsConn: (options = {}) => {
    const server = startServer(options); // echo; `finally { conn.close() }`
    return { port: server.port, [Symbol.dispose]: () => server.close() };
  },
  TlsSocket: (options = {}) => {
    const listener = listenSocket({
      ...serverOn(),
      ...options,
      socket: { data: (socket, data) => void socket.write(data), error() {} },
    });
    return { port: listener.port, [Symbol.dispose]: () => listener.stop(true) };
  },
};
