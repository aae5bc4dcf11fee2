/*
 * jsec_revocation.h — revocation in TLS: OCSP stapling (server), asking for,
 * reading and requiring a stapled response (client), and CRL checks during
 * certificate verification (both). Compiles against OpenSSL 1.1.1 and 3.x.
 */
#ifndef JSEC_REVOCATION_H
#define JSEC_REVOCATION_H

#include <stdint.h>

#include "jsec.h"

/* jsec_ctx_ocsp() modes (client). */
#define JSEC_OCSP_REQUEST 1 /* ask for a stapled response (jsec_ocsp_response() gives it); fail on a verified "revoked" */
#define JSEC_OCSP_REQUIRE 2 /* and fail the handshake unless it is a verified, current "good" one */
/* "Current": thisUpdate at most 10 days old (1 day without nextUpdate), nextUpdate not passed (5 min skew).
   A resumed session keeps the verdict of the full handshake it came from. */

/* Server: the DER OCSP response to staple when a client asks (copied; len 0 stops stapling).
   Call again to replace it, e.g. before its nextUpdate. */
int jsec_ctx_staple(jsec_ctx *ctx, const uint8_t *der, int len);
/* Client: request (and maybe require) a stapled OCSP response. */
int jsec_ctx_ocsp(jsec_ctx *ctx, int mode);
/* Check these CRLs (PEM, one or more) when verifying the peer: its leaf (all 0) or whole chain (all 1). */
int jsec_ctx_crl(jsec_ctx *ctx, const uint8_t *pem, int len, int all);
/* The stapled OCSP response of a session (DER; the one received, or for a server the one sent); -1 if none. */
int jsec_ocsp_response(jsec_session *s, uint8_t *buf, int cap);

#endif
