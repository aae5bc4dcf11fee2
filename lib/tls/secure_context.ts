/**
 * `createSecureContext`: a context built once — certificates parsed, trust
 * loaded, ticket keys made — and given to any number of `connect`, `listen`,
 * `upgrade`, callback sockets and DTLS calls as `{ secureContext }`. Servers
 * that share one resume each other's sessions; `setSecureContext` on a
 * listener swaps in a new one (a renewed certificate) without a restart.
 *
 * @module
 */
import { type ContextOptions, TlsContext } from "../engine/context.ts";
import { invalid } from "../engine/validate.ts";
import { TlsError } from "../errors.ts";
import {
  checkCommon,
  clientContext,
  type ClientOptions,
  contextKeys,
  serverContext,
  type ServerOptions,
} from "./options.ts";
import { followStaple } from "./staple.ts";
import { forgetSessionsOf } from "./resumption.ts";

/** Options of {@link createSecureContext}: those that shape a context, and its role. */
export interface SecureContextOptions
  extends
    Omit<ServerOptions, "handshakeTimeout" | "keyLog" | "onPskIdentity" | "secureContext">,
    Pick<ClientOptions, "requestOcsp" | "requireOcsp"> {
  /** A server context (for `listen`, `upgrade({ isServer })`, `setSecureContext`). Default false: a client one. */
  isServer?: boolean;
  /** A DTLS context (for `@jsec/tls/dtls`). Default false: TLS. */
  datagram?: boolean;
  /** DTLS: the DTLS-SRTP profiles to offer or accept. */
  srtpProfiles?: string[];
}

/**
 * A TLS (or DTLS) configuration built once and shared: what
 * {@link createSecureContext} returns. Pass it as `secureContext` instead of
 * the options that made it.
 *
 * @example
 * ```ts
 * import { createSecureContext, listen } from "@jsec/tls";
 * const context = createSecureContext({ isServer: true, cert, key });
 * const server = listen({ port: 8443, secureContext: context });
 * ```
 */
export class SecureContext {
  /** Whether this is a server context. */
  readonly isServer: boolean;
  /** Whether this is a DTLS context. */
  readonly isDatagram: boolean;
  readonly #context: TlsContext;
  readonly #stopStapling: () => void;

  /** @internal Use {@link createSecureContext}. */
  constructor(options: ContextOptions, staple: ServerOptions["ocspStaple"]) {
    this.#context = new TlsContext(options);
    this.isServer = this.#context.isServer;
    this.isDatagram = this.#context.isDatagram;
    this.#stopStapling = followStaple(this.#context, staple);
  }

  /**
   * The engine's context, for `TlsEngine` / `DtlsEngine` over a transport of your own.
   *
   * @example
   * ```ts
   * const engine = new TlsEngine(secureContext.engineContext, { servername: "example.com" });
   * ```
   */
  get engineContext(): TlsContext {
    return this.#context;
  }

  /**
   * Server: the session ticket keys (80 bytes each, current then previous).
   *
   * @example
   * ```ts
   * const keys = context.getTicketKeys(); // give them to the next context to keep resumption across a swap
   * ```
   */
  getTicketKeys(): Uint8Array {
    return this.#context.getTicketKeys();
  }

  /**
   * Server: new session ticket keys (see `TlsListener.setTicketKeys`).
   *
   * @example
   * ```ts
   * context.setTicketKeys(crypto.getRandomValues(new Uint8Array(80)));
   * ```
   */
  setTicketKeys(keys: Uint8Array): void {
    this.#context.setTicketKeys(keys);
  }

  /**
   * Stops following an OCSP staple source, releases the client sessions cached
   * through it and frees the native context once the last connection using it
   * ends. Connections and listeners started with
   * it afterwards fail with `CLOSED`. Idempotent; the garbage collector frees
   * a context nobody uses that follows no staple source.
   *
   * @example
   * ```ts
   * server.setSecureContext(renewed);
   * old.free();
   * ```
   */
  free(): void {
    this.#stopStapling();
    forgetSessionsOf(this.#context);
    this.#context.free();
  }
}

/**
 * Builds a context once for many connections: a client one (default) or,
 * with `isServer`, a server one; with `datagram`, for DTLS. Bad options, PEM
 * or a key that does not match its certificate throw here, as they would at
 * `connect`/`listen`.
 *
 * @example
 * ```ts
 * import { createSecureContext, listen, upgrade } from "@jsec/tls";
 * const context = createSecureContext({ isServer: true, cert, key, alpnProtocols: ["smtp"] });
 * const tls = await upgrade(plain, { isServer: true, secureContext: context }); // resumes earlier sessions
 * ```
 */
export function createSecureContext(options: SecureContextOptions): SecureContext {
  checkCommon(options);
  for (const name of ["isServer", "datagram"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "boolean") {
      invalid(name, "a boolean", options[name]);
    }
  }
  if (typeof options.sni === "function") {
    throw new TlsError(
      "INVALID_OPTION",
      "an `sni` function goes to listen/upgrade (beside `secureContext`), not here",
    );
  }
  const base = options.isServer ? serverContext(options) : clientContext(options);
  const context: ContextOptions = options.datagram
    ? { ...base, datagram: true, srtpProfiles: options.srtpProfiles }
    : { ...base, srtpProfiles: options.srtpProfiles };
  return new SecureContext(context, options.isServer ? options.ocspStaple : undefined);
}

/** Options that belong to a context: with `secureContext`, they go to {@link createSecureContext} instead. */
const shapingKeys = [
  ...contextKeys,
  "rejectUnauthorized",
  "requestCert",
  "sni",
  "ocspStaple",
  "dhparam",
  "ticketKeys",
  "ticketKeyRotation",
  "requestOcsp",
  "requireOcsp",
  "srtpProfiles",
] as const;

/** What a call needs of a given context. */
export interface ContextRole {
  isServer: boolean;
  datagram: boolean;
  /** The call's name, for errors. */
  call: string;
}

/**
 * `options.secureContext`, checked against `role`, or
 * undefined when the options carry none (the caller builds its own). Throws
 * `INVALID_OPTION` for a context of the wrong role, or beside options that
 * belong to it.
 *
 * @example
 * ```ts
 * const context = givenContext(options, { isServer: true, datagram: false, call: "listen" })?.engineContext ?? build();
 * ```
 */
export function givenContext(
  options: { secureContext?: SecureContext },
  role: ContextRole,
): SecureContext | undefined {
  const secure = options.secureContext;
  if (secure === undefined) return undefined;
  checkRole(secure, role);
  const record = options as Record<string, unknown>;
  const shaping = [...shapingKeys, ...(role.isServer ? ["resumption"] : [])];
  // An `sni` function chooses per connection: it may go beside a context.
  const clash = shaping.find((k) =>
    record[k] !== undefined && !(k === "sni" && typeof record[k] === "function")
  );
  if (clash !== undefined) {
    throw new TlsError(
      "INVALID_OPTION",
      `\`${clash}\` belongs to the context: give it to createSecureContext, not beside \`secureContext\``,
    );
  }
  return secure;
}

/**
 * Throws `INVALID_OPTION` unless `secure` is a {@link SecureContext} of `role`.
 *
 * @example
 * ```ts
 * checkRole(next, { isServer: true, datagram: false, call: "setSecureContext" });
 * ```
 */
export function checkRole(secure: unknown, role: ContextRole): asserts secure is SecureContext {
  if (!(secure instanceof SecureContext)) {
    invalid("secureContext", "a SecureContext from createSecureContext", secure);
  }
  if (secure.isServer !== role.isServer || secure.isDatagram !== role.datagram) {
    const want = `${role.datagram ? "DTLS" : "TLS"} ${role.isServer ? "server" : "client"}`;
    throw new TlsError(
      "INVALID_OPTION",
      `${role.call} needs a ${want} secureContext (createSecureContext({ isServer: ${role.isServer}${
        role.datagram ? ", datagram: true" : ""
      } }))`,
    );
  }
}
