/**
 * The `pkcs11` case: our server's private key lives in a SoftHSM2 token and
 * `key` is its `pkcs11:` URI, loaded through OpenSSL's pkcs11-provider; the
 * peer client verifies the chain as in any ping. Our side builds the token
 * (interop/ours/pkcs11.ts); the runner gives that process the environment
 * below. Suites before trixie package no pkcs11-provider: n/a there.
 * @module
 */
import type { CaseDef } from "./cases.ts";
import type { OursTask } from "./task.ts";
import type { Suite } from "./types.ts";

/** Our suites whose images carry softhsm2 and pkcs11-provider (Dockerfile.interop, setup/common.sh). */
const PKCS11_SUITES: readonly Suite[] = ["trixie", "sid", "experimental"];

/** Why our side in `suite` cannot run the case, or null when it can. */
export function pkcs11Unsupported(suite: Suite): string | null {
  return PKCS11_SUITES.includes(suite) ? null : `${suite} packages no pkcs11-provider (trixie and later do)`;
}

/**
 * The environment of our process for a pkcs11 task: its own SoftHSM2 config
 * (a token folder per cell, so cells never share a token) and the PKCS#11
 * module pkcs11-provider loads.
 */
export function pkcs11Env(task: OursTask): Record<string, string> {
  if (!task.pkcs11) return {};
  return {
    SOFTHSM2_CONF: `/tmp/jsec-p11-${task.nonce}/softhsm2.conf`,
    PKCS11_PROVIDER_MODULE: "/usr/lib/softhsm/libsofthsm2.so",
  };
}

/** The case: ours-server only (a client key in a token takes the same path). */
export const PKCS11_CASE: CaseDef = {
  id: "pkcs11",
  title: "our server's key in a PKCS#11 token (SoftHSM2, pkcs11-provider)",
  pkcs11: true,
  side: (d, c) =>
    d === "ours-client"
      ? "the key URI is exercised on our server; a client certificate's key loads the same way"
      : {
        peer: { mode: "ping", caFile: c.caFile, servername: "localhost" },
        ours: { mode: "ping", pair: c.ecdsa, pkcs11: true },
      },
};
