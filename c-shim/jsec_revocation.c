/*
 * jsec_revocation.c — OCSP stapling and CRL checks for jsec contexts.
 *
 * Per-context state (the staple, the client's OCSP mode) lives in
 * jsec_ctx.revocation and is freed by jsec_ctx_free.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "jsec_internal.h"
#include "jsec_revocation.h"

struct jsec_revocation {
  unsigned char *staple;
  int staple_len;
  int mode; /* JSEC_OCSP_* (client) */
};

/* The context's revocation state, created on first use and handed to the status callback as its arg.
   (Not SSL_CTX ex_data: a free callback registered in libcrypto would outlive an unloaded shim.) */
static struct jsec_revocation *state_of(jsec_ctx *ctx) {
  if (!ctx->revocation) {
    ctx->revocation = calloc(1, sizeof *ctx->revocation);
    if (ctx->revocation) SSL_CTX_set_tlsext_status_arg(ctx->ssl_ctx, ctx->revocation);
  }
  return ctx->revocation;
}

void jsec_revocation_free(jsec_ctx *ctx) {
  if (!ctx->revocation) return;
  free(ctx->revocation->staple);
  free(ctx->revocation);
  ctx->revocation = NULL;
}

/* How far the clocks of the responder and ours may disagree. */
#define STAPLE_CLOCK_SKEW (5L * 60)
/* The age (since thisUpdate) past which no response is taken: the most a
 * publicly trusted CA may give one (CA/Browser Forum Baseline Requirements). */
#define STAPLE_MAX_AGE (10L * 24 * 60 * 60)
/* The same for a response without nextUpdate, which says newer information is
 * always available (RFC 6960 4.2.2.1): a day, as for a typical nextUpdate. */
#define STAPLE_MAX_AGE_OPEN (24L * 60 * 60)

enum staple_verdict { STAPLE_NONE, STAPLE_GOOD, STAPLE_REVOKED, STAPLE_BAD };

/* What the stapled response says of the verified peer leaf: GOOD or REVOKED
 * only when it is signed for the leaf's issuer and current; BAD otherwise. */
static enum staple_verdict staple_verdict(SSL *ssl) {
  const unsigned char *p = NULL;
  long len = SSL_get_tlsext_status_ocsp_resp(ssl, &p);
  STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
  OCSP_RESPONSE *resp = NULL;
  OCSP_BASICRESP *bs = NULL;
  OCSP_CERTID *id = NULL;
  ASN1_GENERALIZEDTIME *this_update = NULL, *next_update = NULL, *revoked_at = NULL;
  int status = -1, reason = 0;
  enum staple_verdict verdict = STAPLE_BAD;
  if (len <= 0 || !p) return STAPLE_NONE;
  if (!chain || sk_X509_num(chain) < 2) return STAPLE_BAD;
  resp = d2i_OCSP_RESPONSE(NULL, &p, len);
  if (!resp || OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) goto done;
  if (!(bs = OCSP_response_get1_basic(resp))) goto done;
  if (OCSP_basic_verify(bs, chain, SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl)), 0) <= 0) goto done;
  id = OCSP_cert_to_id(NULL, sk_X509_value(chain, 0), sk_X509_value(chain, 1));
  if (!id || !OCSP_resp_find_status(bs, id, &status, &reason, &revoked_at, &this_update, &next_update)) goto done;
  if (!OCSP_check_validity(this_update, next_update, STAPLE_CLOCK_SKEW,
                           next_update ? STAPLE_MAX_AGE : STAPLE_MAX_AGE_OPEN))
    goto done;
  if (status == V_OCSP_CERTSTATUS_REVOKED) {
    SSL_set_verify_result(ssl, X509_V_ERR_CERT_REVOKED);
    verdict = STAPLE_REVOKED;
  } else if (status == V_OCSP_CERTSTATUS_GOOD) {
    verdict = STAPLE_GOOD;
  }
done:
  OCSP_CERTID_free(id);
  OCSP_BASICRESP_free(bs);
  OCSP_RESPONSE_free(resp);
  ERR_clear_error();
  return verdict;
}

/* Server: hand OpenSSL a copy of the staple. Client: refuse a stapled
 * revocation (requested or required), and with JSEC_OCSP_REQUIRE anything but
 * a current "good". A resumed session keeps the verdict of the full handshake
 * that made it (it was made only if that passed), in TLS 1.2 and 1.3 alike:
 * a resumption carries no certificate and no staple. */
static int status_cb(SSL *ssl, void *arg) {
  struct jsec_revocation *r = arg;
  if (SSL_is_server(ssl)) {
    unsigned char *copy;
    if (!r || !r->staple) return SSL_TLSEXT_ERR_NOACK;
    copy = OPENSSL_malloc((size_t)r->staple_len);
    if (!copy) return SSL_TLSEXT_ERR_NOACK;
    memcpy(copy, r->staple, (size_t)r->staple_len);
    if (!SSL_set_tlsext_status_ocsp_resp(ssl, copy, r->staple_len)) {
      OPENSSL_free(copy);
      return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
  }
  if (!r || SSL_session_reused(ssl)) return 1;
  enum staple_verdict verdict = staple_verdict(ssl);
  /* 0 fails the handshake: "invalid status response" */
  if (verdict == STAPLE_REVOKED) return 0;
  return r->mode < JSEC_OCSP_REQUIRE || verdict == STAPLE_GOOD;
}

int jsec_ctx_staple(jsec_ctx *ctx, const uint8_t *der, int len) {
  ERR_clear_error();
  struct jsec_revocation *r = state_of(ctx);
  unsigned char *copy = NULL;
  if (!r) return jsec_fail("out of memory");
  if (len > 0) {
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, len);
    if (!resp) return jsec_fail("the OCSP staple is not a DER OCSP response");
    OCSP_RESPONSE_free(resp);
    if (!(copy = malloc((size_t)len))) return jsec_fail("out of memory");
    memcpy(copy, der, (size_t)len);
  }
  free(r->staple);
  r->staple = copy;
  r->staple_len = len > 0 ? len : 0;
  SSL_CTX_set_tlsext_status_cb(ctx->ssl_ctx, status_cb);
  return JSEC_OK;
}

int jsec_ctx_ocsp(jsec_ctx *ctx, int mode) {
  ERR_clear_error();
  struct jsec_revocation *r = state_of(ctx);
  if (!r) return jsec_fail("out of memory");
  if (mode != JSEC_OCSP_REQUEST && mode != JSEC_OCSP_REQUIRE) return jsec_fail("unknown OCSP mode");
  r->mode = mode;
  if (SSL_CTX_set_tlsext_status_type(ctx->ssl_ctx, TLSEXT_STATUSTYPE_ocsp) != 1) return jsec_fail("cannot request OCSP");
  SSL_CTX_set_tlsext_status_cb(ctx->ssl_ctx, status_cb);
  return JSEC_OK;
}

int jsec_ctx_crl(jsec_ctx *ctx, const uint8_t *pem, int len, int all) {
  ERR_clear_error();
  X509_STORE *store = SSL_CTX_get_cert_store(ctx->ssl_ctx);
  BIO *in = len > 0 ? BIO_new_mem_buf(pem, len) : NULL;
  X509_CRL *crl;
  int n = 0;
  if (!in) return jsec_fail("no CRL given");
  while ((crl = PEM_read_bio_X509_CRL(in, NULL, NULL, NULL)) != NULL) {
    int added = X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    if (!added) {
      BIO_free(in);
      return jsec_fail("cannot add a CRL");
    }
    n++;
  }
  BIO_free(in);
  ERR_clear_error(); /* the read that found no more */
  if (n == 0) return jsec_fail("no CRL in PEM");
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | (all ? X509_V_FLAG_CRL_CHECK_ALL : 0));
  return n;
}

int jsec_ocsp_response(jsec_session *s, uint8_t *buf, int cap) {
  const unsigned char *p = NULL;
  long len = SSL_get_tlsext_status_ocsp_resp(s->ssl, &p);
  if (len <= 0 || !p) return -1;
  if (buf && cap >= len) memcpy(buf, p, (size_t)len);
  return (int)len;
}
