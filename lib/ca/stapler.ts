/**
 * Keeps a server's stapled OCSP response fresh: fetches one from the
 * certificate's OCSP responder (or any source), checks it, and fetches the
 * next one halfway to its nextUpdate. Pass it as `ocspStaple` to `listen`.
 *
 * @module
 */
import { TlsError } from "../errors.ts";
import { readLimited } from "./body.ts";
import { createOcspRequest, parseOcspResponse } from "./ocsp.ts";
import { parseCertificate } from "./parse.ts";

/** Options of {@link OcspStapler.start}. */
export interface OcspStaplerOptions {
  /** The server's certificate, PEM (a chain: the first one). */
  cert: string;
  /** Its issuer's certificate, PEM. */
  issuer: string;
  /** The responder URL. Default: the certificate's OCSP URL (Authority Information Access). */
  url?: string;
  /** Fetches a response for a DER request; default: HTTP POST to `url`. */
  fetch?: (request: Uint8Array) => Promise<Uint8Array> | Uint8Array;
  /** Delay before retrying a failed refresh, ms. Default 60 000. */
  retryDelay?: number;
  /** How long the default fetch waits for the whole answer, ms. Default 10 000. */
  timeout?: number;
}

/** The largest OCSP response the default fetch accepts. */
const maxResponseBytes = 1 << 20;

/**
 * A stapled OCSP response that refreshes itself.
 *
 * @example
 * ```ts
 * import { listen } from "@jsec/tls";
 * import { OcspStapler } from "@jsec/tls/ca";
 * const ocspStaple = await OcspStapler.start({ cert, issuer: caPem }); // uses the cert's OCSP URL
 * const server = listen({ port: 8443, cert, key, ocspStaple });
 * // ... later
 * ocspStaple.close();
 * ```
 */
export class OcspStapler {
  #options: OcspStaplerOptions;
  #serial: string;
  #response: Uint8Array | null = null;
  #listeners = new Set<(der: Uint8Array) => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  private constructor(options: OcspStaplerOptions, serial: string) {
    this.#options = options;
    this.#serial = serial;
  }

  /** Fetches the first response (throws when it cannot) and schedules the refreshes. */
  static async start(options: OcspStaplerOptions): Promise<OcspStapler> {
    if (typeof options !== "object" || options === null) {
      throw new TlsError("INVALID_OPTION", "options must be an object");
    }
    const info = parseCertificate(options.cert);
    const url = options.url ?? info.ocspUrls[0];
    if (!options.fetch && !url) {
      throw new TlsError("INVALID_OPTION", "the certificate names no OCSP responder: pass `url` or `fetch`");
    }
    const stapler = new OcspStapler({ ...options, url }, info.serial);
    try {
      await stapler.refresh();
    } catch (e) {
      stapler.close(); // no retries for a stapler nobody holds
      throw e;
    }
    return stapler;
  }

  /** The current DER response. */
  get response(): Uint8Array | null {
    return this.#response;
  }

  /** Calls `listener` with every new response; returns the unsubscribe function. */
  subscribe(listener: (response: Uint8Array) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Fetches a new response now, checks it, publishes it and schedules the next refresh. */
  async refresh(): Promise<Uint8Array> {
    clearTimeout(this.#timer);
    const o = this.#options;
    try {
      const request = createOcspRequest(o.cert, o.issuer, { nonce: false });
      const der = o.fetch ? await o.fetch(request) : await post(o.url!, request, o.timeout ?? 10_000);
      const parsed = parseOcspResponse(der, o.issuer);
      const single = parsed.responses.find((r) => r.serial === this.#serial);
      if (parsed.responseStatus !== "successful" || !parsed.verified || !single) {
        throw new TlsError(
          "BAD_SIGNATURE",
          `the OCSP responder gave no verified answer for serial ${this.#serial} (${parsed.responseStatus}${
            parsed.verifyError ? `: ${parsed.verifyError}` : ""
          })`,
        );
      }
      if (this.#closed) return der;
      this.#response = der;
      for (const listener of this.#listeners) listener(der);
      const now = Date.now();
      const next = single.nextUpdate
        ? (single.thisUpdate.getTime() + single.nextUpdate.getTime()) / 2
        : now + 3_600_000;
      this.#schedule(Math.max(1000, next - now));
      return der;
    } catch (e) {
      this.#schedule(o.retryDelay ?? 60_000);
      throw e;
    }
  }

  /** Stops refreshing. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#listeners.clear();
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.refresh().catch(() => {}), Math.min(ms, 2 ** 31 - 1));
  }
}

/** POSTs the request; the answer must come within `timeout` ms and hold at most 1 MiB. */
async function post(url: string, request: Uint8Array, timeout: number): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(timeout);
  try {
    const res = await fetch(url, {
      method: "POST",
      body: request as BodyInit,
      headers: { "content-type": "application/ocsp-request" },
      signal,
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new TlsError("CONNECTION_FAILED", `the OCSP responder ${url} answered HTTP ${res.status}`);
    }
    const der = await readLimited(res.body, maxResponseBytes);
    if (!der) {
      throw new TlsError(
        "CONNECTION_FAILED",
        `the OCSP responder ${url} sent more than ${maxResponseBytes} bytes`,
      );
    }
    return der;
  } catch (e) {
    if (e instanceof TlsError) throw e;
    throw new TlsError(
      "CONNECTION_FAILED",
      signal.aborted
        ? `the OCSP responder ${url} did not answer within ${timeout} ms`
        : `cannot reach the OCSP responder ${url}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}
