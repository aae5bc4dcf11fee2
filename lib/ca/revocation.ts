/**
 * Revocation reasons (RFC 5280 section 5.3.1), shared by CRLs, OCSP and the CA store.
 *
 * @module
 */
import { TlsError } from "../errors.ts";

/** The CRLReason codes by name; 7 is unused. */
export const revocationReasons = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

/** A revocation reason name. */
export type RevocationReason = keyof typeof revocationReasons;

/**
 * The RFC 5280 code of a reason name; throws `INVALID_OPTION` for an unknown one.
 *
 * @example
 * ```ts
 * reasonCode("keyCompromise"); // 1
 * ```
 */
export function reasonCode(reason: RevocationReason): number {
  const code = (revocationReasons as Record<string, number>)[reason];
  if (code === undefined) {
    throw new TlsError(
      "INVALID_OPTION",
      `unknown revocation reason "${reason}"; use one of ${Object.keys(revocationReasons).join(", ")}`,
    );
  }
  return code;
}

/**
 * The name of an RFC 5280 reason code, or undefined for -1 (none given).
 *
 * @example
 * ```ts
 * reasonName(1); // "keyCompromise"
 * ```
 */
export function reasonName(code: number): RevocationReason | undefined {
  return (Object.entries(revocationReasons).find(([, c]) => c === code)?.[0]) as RevocationReason | undefined;
}
