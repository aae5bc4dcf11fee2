/**
 * `sni` as a function: a server chooses its certificate per connection by
 * what the client offered (its server name, ALPN, versions, suites, groups,
 * signature algorithms), at once or after an `await` — a certificate store,
 * an ACME client, a per-client RSA or ECDSA chain.
 *
 * @module
 */
import type { ClientHello, ContextChooser } from "../engine/client_hello.ts";
import { type KeyPair, TlsContext } from "../engine/context.ts";
import { invalid } from "../engine/validate.ts";
import { serverContext, type ServerOptions } from "./options.ts";
import { SecureContext } from "./secure_context.ts";

/**
 * What a server's `sni` function answers: a certificate and key (a context
 * with the server's other options is built once per pair object and freed with the server), a server
 * `SecureContext`, `undefined` for the server's own certificate, or null to
 * refuse the connection with an `unrecognized_name` alert.
 */
export type SniAnswer = KeyPair | SecureContext | null | undefined;

/**
 * Chooses a server's certificate per connection: given the server name the
 * client asked for (null when it sent none) and its whole ClientHello. A
 * promise makes the handshake wait, within `handshakeTimeout`; a throw or a
 * rejection fails that handshake (`HANDSHAKE_FAILED` on the server,
 * `internal_error` to the client).
 */
export type SniCallback = (servername: string | null, hello: ClientHello) => SniAnswer | Promise<SniAnswer>;

/** Contexts built for the key pairs an `sni` function answered, per server context (which frees them). */
const built = new WeakMap<TlsContext, WeakMap<KeyPair, TlsContext>>();

/**
 * The engine's chooser for a server whose `sni` is a function (else
 * undefined): `own` is the session's context, for an `undefined` answer.
 *
 * @example
 * ```ts
 * const engine = new TlsEngine(context, { chooseContext: sniChooser(options, context) });
 * ```
 */
export function sniChooser(o: ServerOptions, own: TlsContext): ContextChooser | undefined {
  const sni = o.sni;
  if (typeof sni !== "function") return undefined;
  const contextOf = (answer: SniAnswer): TlsContext | null => {
    if (answer === undefined) return own;
    if (answer === null) return null;
    if (answer instanceof SecureContext) return answer.engineContext;
    if (typeof answer !== "object" || typeof answer.cert !== "string" || typeof answer.key !== "string") {
      invalid("sni answer", "{ cert, key }, a SecureContext, undefined or null", answer);
    }
    let pairs = built.get(own);
    if (!pairs) built.set(own, pairs = new WeakMap());
    let context = pairs.get(answer);
    if (!context) {
      context = new TlsContext(serverContext({ ...o, sni: undefined, ocspStaple: undefined, ...answer }));
      pairs.set(answer, context);
      own.adopt(context);
    }
    return context;
  };
  return (hello) => {
    const answer = sni(hello.servername, hello);
    return answer instanceof Promise ? answer.then(contextOf) : contextOf(answer);
  };
}
