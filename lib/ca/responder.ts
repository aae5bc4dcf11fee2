/**
 * An OCSP responder over HTTP (RFC 6960 appendix A): POST with an
 * `application/ocsp-request` body, or GET `/<base64 of the DER request>`.
 * Runs on `Deno.serve` or `Bun.serve`. A malformed request gets a
 * `malformedRequest` OCSP response; a POST of another content type HTTP 415;
 * a body over the limit HTTP 413, as soon as the limit is passed.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { TlsError } from "../errors.ts";
import { readLimited } from "./body.ts";
import { ocspErrorResponse } from "./ocsp.ts";

/** Answers one DER request with one DER response. */
export type OcspHandler = (request: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** Options of {@link serveOcsp}. */
export interface OcspServeOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default "127.0.0.1". */
  hostname?: string;
  /** Largest accepted request body in bytes. Default 64 KiB. */
  maxRequestBytes?: number;
}

/** A running responder. */
export interface OcspResponder {
  /** The base URL to put in certificates (`authorityInfoAccess`). */
  url: string;
  /** The address it listens on. */
  hostname: string;
  /** The port it listens on. */
  port: number;
  /** Stops listening. */
  close(): Promise<void>;
}

/**
 * Serves OCSP. Pass a {@link CertificateAuthority} (anything with `respond`) or a handler.
 *
 * @example
 * ```ts
 * import { CertificateAuthority, serveOcsp } from "@jsec/tls/ca";
 * const ca = await CertificateAuthority.open("./ca");
 * const responder = await serveOcsp(ca, { port: 8888 });
 * console.log(responder.url); // http://127.0.0.1:8888/
 * ```
 */
export async function serveOcsp(
  source: { respond: OcspHandler } | OcspHandler,
  options: OcspServeOptions = {},
): Promise<OcspResponder> {
  const respond: OcspHandler = typeof source === "function" ? source : (der) => source.respond(der);
  const hostname = options.hostname ?? "127.0.0.1";
  const max = options.maxRequestBytes ?? 65536;
  const handler = async (req: Request): Promise<Response> => {
    let der: Uint8Array | undefined;
    if (req.method === "POST") {
      const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "application/ocsp-request") {
        return plain(415, "OCSP: POST a body of type application/ocsp-request\n");
      }
      const declared = Number(req.headers.get("content-length") ?? 0);
      const body = declared > max ? undefined : await readLimited(req.body, max);
      if (!body) return plain(413, `OCSP: requests are at most ${max} bytes\n`);
      if (body.length > 0) der = body;
    } else if (req.method === "GET") {
      der = fromGetPath(new URL(req.url).pathname, max);
    } else {
      return plain(405, "OCSP: use GET or POST\n", { allow: "GET, POST" });
    }
    let out: Uint8Array;
    try {
      out = der ? await respond(der) : ocspErrorResponse("malformedRequest");
    } catch {
      out = ocspErrorResponse("internalError");
    }
    return new Response(out as BodyInit, {
      status: 200,
      headers: { "content-type": "application/ocsp-response" },
    });
  };
  let listening: Listening;
  try {
    listening = await listen(hostname, options.port ?? 0, handler);
  } catch (e) {
    throw new TlsError(
      "INVALID_OPTION",
      `cannot serve OCSP on ${hostname}:${options.port ?? 0}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const { port, stop } = listening;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return { url: `http://${host}:${port}/`, hostname, port, close: stop };
}

function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain", ...headers } });
}

/** The DER request of a GET path: the last segment, URL-decoded base64. */
function fromGetPath(pathname: string, max: number): Uint8Array | undefined {
  const segment = pathname.replace(/^\/+/, "");
  if (!segment) return undefined;
  let b64: string;
  try {
    b64 = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  if (!/^[A-Za-z0-9+/=_-]+$/.test(b64)) return undefined;
  const der = new Uint8Array(Buffer.from(b64, "base64"));
  return der.length > 0 && der.length <= max ? der : undefined;
}

type Listening = { port: number; stop: () => Promise<void> };

async function listen(
  hostname: string,
  port: number,
  fetch: (r: Request) => Promise<Response>,
): Promise<Listening> {
  if ("Bun" in globalThis) {
    const bun = (globalThis as unknown as { Bun: BunServe }).Bun;
    const server = bun.serve({ hostname, port, fetch });
    return { port: server.port, stop: () => Promise.resolve(server.stop(true)) };
  }
  const deno = (globalThis as unknown as { Deno: DenoServe }).Deno;
  let onListen!: (addr: { port: number }) => void;
  const listening = new Promise<{ port: number }>((r) => (onListen = r));
  const server = deno.serve({ hostname, port, onListen }, fetch);
  const addr = await listening;
  return { port: addr.port, stop: () => server.shutdown() };
}

interface BunServe {
  serve(o: { hostname: string; port: number; fetch: (r: Request) => Promise<Response> }): {
    port: number;
    stop(closeActive?: boolean): void;
  };
}

interface DenoServe {
  serve(
    o: { hostname: string; port: number; onListen: (addr: { port: number }) => void },
    handler: (r: Request) => Promise<Response>,
  ): { shutdown(): Promise<void> };
}
