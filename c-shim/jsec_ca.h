/*
 * jsec_ca.h — the certificate-authority half of the shim: keys, certificates,
 * CSRs, CRLs, OCSP and PKCS#12, as PEM/DER in and PEM/DER (or text) out.
 *
 * Nothing here hands a native object to JavaScript: every call parses its
 * inputs, does its work and frees everything before it returns.
 *
 * Results: a call that produces something returns its length (>= 0) and
 * keeps the bytes for jsec_ca_result(), which copies them out (per thread,
 * until the next jsec_ca_* call). Descriptions ("parse" calls) are text, one
 * `name=value` per line, in which `\`, control bytes and DEL are written as
 * `\xHH`.
 *
 * Specs: builders take their settings as text, one `name=value` per line
 * (see each function). Times are Unix seconds, serials hexadecimal.
 *
 * Failures: JSEC_ERROR (text in jsec_error()) or one of the JSEC_CA_*
 * statuses below, so that callers can tell the common mistakes apart.
 *
 * Key inputs are PEM or DER, PKCS#8 (plain or encrypted), PKCS#1 or SEC1;
 * `pass` is NULL for an unencrypted key. Certificate inputs are PEM or DER.
 */
#ifndef JSEC_CA_H
#define JSEC_CA_H

#include <stdint.h>

#define JSEC_CA_BAD_PASSPHRASE (-20) /* an encrypted input and no or the wrong passphrase */
#define JSEC_CA_KEY_MISMATCH (-21)   /* a key does not belong to its certificate */
#define JSEC_CA_BAD_INPUT (-22)      /* not a valid key / certificate / CSR / CRL / OCSP message */
#define JSEC_CA_BAD_SPEC (-23)       /* a spec line has an unknown name or a bad value */
#define JSEC_CA_LOCKED (-24)         /* another holder has the lock (jsec_ca_lock) */

/* jsec_ca_key_generate() types. */
#define JSEC_KEY_RSA 1     /* param: modulus bits */
#define JSEC_KEY_EC 2      /* param: 256, 384 or 521 (NIST P curves) */
#define JSEC_KEY_ED25519 3 /* param ignored */

/* jsec_ca_key_export() formats. */
#define JSEC_KEY_PKCS8_PEM 1
#define JSEC_KEY_PKCS8_DER 2
#define JSEC_KEY_TRADITIONAL_PEM 3 /* PKCS#1 (RSA) or SEC1 (EC) */
#define JSEC_KEY_PUBLIC_PEM 4      /* SubjectPublicKeyInfo */
#define JSEC_KEY_PUBLIC_DER 5

int jsec_ca_result(uint8_t *buf, int cap);

/* Keys. Generation gives PKCS#8 PEM. Export encrypts (AES-256-CBC, PBKDF2)
   when out_pass is not NULL. Info: type, bits, curve, private (0/1). */
int jsec_ca_key_generate(int type, int param);
int jsec_ca_key_export(const uint8_t *key, int len, const char *pass, int format, const char *out_pass);
int jsec_ca_key_info(const uint8_t *key, int len, const char *pass);

/* PKCS#12: export gives DER; import gives PEM: the key (PKCS#8), then the
   certificate, then the rest of the chain. */
int jsec_ca_p12_export(const uint8_t *key, int key_len, const char *key_pass, const uint8_t *certs,
                       int certs_len, const char *p12_pass, const char *name);
int jsec_ca_p12_import(const uint8_t *der, int len, const char *pass);

/* Certificates and CSRs. Spec lines:
     serial=HEX notBefore=UNIX notAfter=UNIX md=sha256|sha384|sha512
     subject=CN=value          (repeated, in order)
     san=DNS:name | IP:addr | email:addr | URI:uri   (repeated)
     ext=name=value            (OpenSSL x509v3 syntax, added in order)
   cert_build embeds the public key of `subject_key` (private or public), and
   signs with issuer_key as issuer_cert; without issuer_cert it self-signs,
   and issuer_key must then be the subject's key. Gives PEM. */
int jsec_ca_cert_build(const char *spec, const uint8_t *subject_key, int subject_len,
                       const uint8_t *issuer_cert, int issuer_len, const uint8_t *issuer_key,
                       int issuer_key_len, const char *pass);
int jsec_ca_csr_build(const char *spec, const uint8_t *key, int key_len, const char *pass);
int jsec_ca_cert_parse(const uint8_t *cert, int len);
int jsec_ca_csr_parse(const uint8_t *csr, int len);

/* Chain verification. `certs`: the leaf, then untrusted intermediates.
   Spec lines: purpose=sslserver|sslclient|any... host= ip= email= time=UNIX
   crl=leaf|all systemRoots=1 partial=1. Returns the X509_V_* result (0 = OK);
   the result text is: code=, depth=, error=. */
int jsec_ca_verify(const uint8_t *certs, int certs_len, const uint8_t *roots, int roots_len,
                   const uint8_t *crls, int crls_len, const char *spec);

/* CRLs. Spec lines: number=HEX thisUpdate=UNIX nextUpdate=UNIX md=
   revoked=SERIAL UNIX REASON   (REASON: an RFC 5280 code, -1 for none).
   Parse: issuer=, number=, thisUpdate=, nextUpdate=, revoked=SERIAL UNIX REASON,
   and signatureValid=0/1 when issuer_cert is given. */
int jsec_ca_crl_build(const char *spec, const uint8_t *issuer_cert, int issuer_len,
                      const uint8_t *issuer_key, int key_len, const char *pass);
int jsec_ca_crl_parse(const uint8_t *crl, int len, const uint8_t *issuer_cert, int issuer_len);

/* OCSP (RFC 6960). request: DER for one certificate (SHA-1 CertID) with a
   nonce when `nonce` is 1. request_parse: nonce=HEX and, per CertID,
   id=SERIAL MATCH (MATCH 1 when its issuer is issuer_cert). respond: a signed
   DER response to a request, one status line per CertID in order:
     status=good | status=unknown | status=revoked UNIX REASON
   plus thisUpdate=UNIX nextUpdate=UNIX md=. The request's nonce is echoed.
   error: an unsigned response with that OCSPResponseStatus (1..6).
   response_parse: responseStatus=, producedAt=, nonce=, and per response
   single=SERIAL good|revoked|unknown THIS NEXT REVOKED REASON (-1 when absent);
   with `issuer`, verified=1 or verified=0 and verifyError=. */
int jsec_ca_ocsp_request(const uint8_t *cert, int cert_len, const uint8_t *issuer, int issuer_len, int nonce);
int jsec_ca_ocsp_request_parse(const uint8_t *der, int len, const uint8_t *issuer, int issuer_len);
int jsec_ca_ocsp_respond(const char *spec, const uint8_t *req, int req_len, const uint8_t *signer_cert,
                         int cert_len, const uint8_t *signer_key, int key_len, const char *pass);
int jsec_ca_ocsp_error(int status);
int jsec_ca_ocsp_response_parse(const uint8_t *der, int len, const uint8_t *issuer, int issuer_len);

/* A CA directory's lock (jsec_ca_lock.c): an exclusive, non-blocking flock(2)
   on `path` (created 0600, never through a symlink), with `holder` written
   into it as a note. Returns the descriptor to pass to jsec_ca_unlock, or
   JSEC_CA_LOCKED while another open file holds it. The kernel releases it
   when the holder dies. */
int jsec_ca_lock(const char *path, const char *holder);
int jsec_ca_unlock(int fd);

#endif
