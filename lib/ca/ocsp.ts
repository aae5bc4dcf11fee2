/**
 * OCSP messages (RFC 6960): requests, signed responses, error responses, and
 * parsing both.
 *
 * @module
 */
import { cString, shim } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";
import { type Issuer, seconds } from "./build.ts";
import { keyBytes } from "./keys.ts";
import { all, call, callLines, first, type PemOrDer, spec } from "./native.ts";
import { certificateDer } from "./parse.ts";
import { reasonCode, reasonName, type RevocationReason } from "./revocation.ts";

/** The status of one certificate. */
export type CertStatus = "good" | "revoked" | "unknown";

/** A parsed OCSP request. */
export interface OcspRequestInfo {
  /** The requested certificates: hex serial, and whether the given issuer issued them. */
  certs: Array<{ serial: string; issuerMatches: boolean }>;
  /** The nonce (hex), when the client sent one. */
  nonce?: string;
}

/** What to answer for one requested certificate. */
export interface OcspAnswer {
  /** The certificate's status. */
  status: CertStatus;
  /** For `revoked`. */
  revokedAt?: Date;
  /** For `revoked`: the reason, if any. */
  reason?: RevocationReason;
}

/** Options of {@link createOcspResponse}. */
export interface OcspResponseOptions {
  /** The DER request being answered; its CertIDs are echoed, and its nonce. */
  request: Uint8Array;
  /** Who signs: the CA itself (or a responder certificate it issued with OCSPSigning). */
  signer: Issuer;
  /** One answer per requested certificate, in request order. */
  answers: OcspAnswer[];
  /** Default: now. */
  thisUpdate?: Date;
  /** Default: `thisUpdate` plus one day. Pass `null` for none. */
  nextUpdate?: Date | null;
  /** The signature digest (ignored for Ed25519). Default sha256. */
  digest?: "sha256" | "sha384" | "sha512";
}

/** One SingleResponse. */
export interface OcspSingle {
  /** The certificate's hex serial. */
  serial: string;
  /** Its status. */
  status: CertStatus;
  /** When the status was known to be right. */
  thisUpdate: Date;
  /** When newer information will be available. */
  nextUpdate?: Date;
  /** For `revoked`: when. */
  revokedAt?: Date;
  /** For `revoked`: why, if the responder said. */
  reason?: RevocationReason;
}

/** A parsed OCSP response. */
export interface OcspResponseInfo {
  /** "successful", or the error status ("malformedRequest", "unauthorized", ...). */
  responseStatus: OcspResponseStatus;
  /** When the responder signed it. */
  producedAt?: Date;
  /** The nonce (hex), when the response carries one. */
  nonce?: string;
  /** One entry per certificate asked about. */
  responses: OcspSingle[];
  /** With an issuer given to {@link parseOcspResponse}: whether the issuer (or its delegate) signed it. */
  verified?: boolean;
  /** Why verification failed. */
  verifyError?: string;
}

/** OCSPResponseStatus names (RFC 6960 4.2.1). */
export type OcspResponseStatus =
  | "successful"
  | "malformedRequest"
  | "internalError"
  | "tryLater"
  | "sigRequired"
  | "unauthorized";

const responseStatuses: Record<OcspResponseStatus, number> = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
};

/**
 * Creates a DER OCSP request for `cert`, issued by `issuer`, with a random nonce by default.
 *
 * @example
 * ```ts
 * import { createOcspRequest } from "@jsec/tls/ca";
 * const der = createOcspRequest(leafPem, caPem);
 * const res = await fetch("http://127.0.0.1:8888/", { method: "POST", body: der, headers: { "content-type": "application/ocsp-request" } });
 * ```
 */
export function createOcspRequest(
  cert: PemOrDer,
  issuer: PemOrDer,
  options: { nonce?: boolean } = {},
): Uint8Array {
  const c = certificateDer(cert), i = certificateDer(issuer, "issuer");
  return call(
    "cannot create the OCSP request",
    () => shim.jsec_ca_ocsp_request(c, c.length, i, i.length, options.nonce === false ? 0 : 1),
  ).out;
}

/**
 * Parses a DER OCSP request. With `issuer`, says which requested certificates it issued.
 *
 * @example
 * ```ts
 * import { parseOcspRequest } from "@jsec/tls/ca";
 * const req = parseOcspRequest(body, caPem);
 * for (const c of req.certs) console.log(c.serial, c.issuerMatches);
 * ```
 */
export function parseOcspRequest(der: Uint8Array, issuer?: PemOrDer): OcspRequestInfo {
  if (!(der instanceof Uint8Array)) throw new TlsError("INVALID_OPTION", "an OCSP request must be DER bytes");
  const i = issuer === undefined ? null : certificateDer(issuer, "issuer");
  const lines = callLines(
    "cannot parse the OCSP request",
    () => shim.jsec_ca_ocsp_request_parse(der, der.length, i, i?.length ?? 0),
  );
  const info: OcspRequestInfo = {
    certs: all(lines, "id").map((v) => {
      const [serial, match] = v.split(" ");
      return { serial, issuerMatches: match === "1" };
    }),
  };
  const nonce = first(lines, "nonce");
  if (nonce) info.nonce = nonce;
  return info;
}

/**
 * Creates a signed DER OCSP response answering `request`.
 *
 * @example
 * ```ts
 * import { createOcspResponse } from "@jsec/tls/ca";
 * const der = createOcspResponse({ request, signer: root, answers: [{ status: "good" }] });
 * ```
 */
export function createOcspResponse(options: OcspResponseOptions): Uint8Array {
  if (typeof options !== "object" || options === null) {
    throw new TlsError("INVALID_OPTION", "options must be an object");
  }
  const o = options;
  const thisUpdate = o.thisUpdate ?? new Date();
  const nextUpdate = o.nextUpdate === undefined ? new Date(thisUpdate.getTime() + 86_400_000) : o.nextUpdate;
  const lines: Array<[string, string]> = [["thisUpdate", seconds(thisUpdate)]];
  if (nextUpdate) lines.push(["nextUpdate", seconds(nextUpdate)]);
  for (const a of o.answers) {
    if (a.status === "revoked") {
      lines.push([
        "status",
        `revoked ${seconds(a.revokedAt ?? thisUpdate)} ${a.reason === undefined ? -1 : reasonCode(a.reason)}`,
      ]);
    } else if (a.status === "good" || a.status === "unknown") lines.push(["status", a.status]);
    else throw new TlsError("INVALID_OPTION", "an answer's status must be good, revoked or unknown");
  }
  if (o.digest) lines.push(["md", o.digest]);
  const text = spec(lines);
  const cert = certificateDer(o.signer.cert, "signer.cert");
  const key = keyBytes(o.signer.key, "signer.key");
  return call(
    "cannot create the OCSP response",
    () =>
      shim.jsec_ca_ocsp_respond(
        text,
        o.request,
        o.request.length,
        cert,
        cert.length,
        key,
        key.length,
        cString(o.signer.passphrase),
      ),
    "INVALID_OPTION",
  ).out;
}

/**
 * An unsigned OCSP error response (`malformedRequest`, `internalError`, `tryLater`, `sigRequired`, `unauthorized`).
 *
 * @example
 * ```ts
 * import { ocspErrorResponse } from "@jsec/tls/ca";
 * const der = ocspErrorResponse("malformedRequest");
 * ```
 */
export function ocspErrorResponse(status: Exclude<OcspResponseStatus, "successful">): Uint8Array {
  const code = responseStatuses[status];
  if (!code) throw new TlsError("INVALID_OPTION", `unknown OCSP error status "${status}"`);
  return call("cannot create the OCSP response", () => shim.jsec_ca_ocsp_error(code)).out;
}

/**
 * Parses a DER OCSP response. With `issuer`, also verifies its signature.
 *
 * @example
 * ```ts
 * import { parseOcspResponse } from "@jsec/tls/ca";
 * const r = parseOcspResponse(der, caPem);
 * if (r.verified && r.responses[0]?.status === "good") console.log("good until", r.responses[0].nextUpdate);
 * ```
 */
export function parseOcspResponse(der: Uint8Array, issuer?: PemOrDer): OcspResponseInfo {
  if (!(der instanceof Uint8Array)) {
    throw new TlsError("INVALID_OPTION", "an OCSP response must be DER bytes");
  }
  const i = issuer === undefined ? null : certificateDer(issuer, "issuer");
  const lines = callLines(
    "cannot parse the OCSP response",
    () => shim.jsec_ca_ocsp_response_parse(der, der.length, i, i?.length ?? 0),
  );
  const status = Number(first(lines, "responseStatus"));
  const info: OcspResponseInfo = {
    responseStatus: (Object.entries(responseStatuses).find(([, c]) => c === status)?.[0] ??
      "internalError") as OcspResponseStatus,
    responses: all(lines, "single").map(single),
  };
  const produced = first(lines, "producedAt"),
    nonce = first(lines, "nonce"),
    verified = first(lines, "verified");
  if (produced !== undefined) info.producedAt = new Date(Number(produced) * 1000);
  if (nonce) info.nonce = nonce;
  if (verified !== undefined) info.verified = verified === "1";
  const verifyError = first(lines, "verifyError");
  if (verifyError) info.verifyError = verifyError;
  return info;
}

function single(v: string): OcspSingle {
  const [serial, status, thisUpdate, nextUpdate, revokedAt, reason] = v.split(" ");
  const s: OcspSingle = {
    serial,
    status: status as CertStatus,
    thisUpdate: new Date(Number(thisUpdate) * 1000),
  };
  if (nextUpdate !== "-1") s.nextUpdate = new Date(Number(nextUpdate) * 1000);
  if (revokedAt !== "-1") s.revokedAt = new Date(Number(revokedAt) * 1000);
  const name = reasonName(Number(reason));
  if (name) s.reason = name;
  return s;
}
