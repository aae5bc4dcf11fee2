/**
 * The benchmark's certificates: the test suite's CA with a P-256 and an
 * RSA-2048 leaf for localhost (see test/support/certs.ts), as files for the
 * peer processes.
 *
 * @module
 */
import { certs } from "../test/support/certs.ts";

/** Files a peer needs for one key type. */
export interface CertSet {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** The P-256 and RSA-2048 certificate sets, made on first use (removed at exit). */
export function benchCerts(): { p256: CertSet; rsa: CertSet; dir: string } {
  const c = certs();
  return {
    dir: c.dir,
    p256: { certFile: c.ecdsa.certFile, keyFile: c.ecdsa.keyFile, caFile: c.ca.certFile },
    rsa: { certFile: c.rsa.certFile, keyFile: c.rsa.keyFile, caFile: c.ca.certFile },
  };
}
