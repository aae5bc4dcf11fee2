/*
 * jsec_ech.c — Encrypted Client Hello (RFC 9849), where libssl has it (OpenSSL 4.0 on).
 *
 * A client context holds the ECHConfigList it encrypts its inner ClientHello
 * to; a server context holds ECH keys (the PEM `openssl ech` writes: a private
 * key and its ECHConfig), offered as retry configs too. Both live in an
 * OSSL_ECHSTORE handed to the SSL_CTX, which copies what it needs. After a
 * handshake jsec_ech_status() says what came of it and jsec_ech_name() gives
 * the inner and outer server names. Against an older libssl every call fails
 * with a clear error and jsec_ech_supported() says 0, so that TypeScript
 * refuses ECH options before any I/O.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "jsec_ca_util.h"
#include "jsec_internal.h"

#if OPENSSL_VERSION_NUMBER >= 0x40000000L && !defined(OPENSSL_NO_ECH)
#define JSEC_HAS_ECH 1
#include <openssl/ech.h>
#endif

#define NO_ECH "ECH needs libssl 4.0 or later"

int jsec_ech_supported(void) {
#ifdef JSEC_HAS_ECH
  return 1;
#else
  return 0;
#endif
}

#ifdef JSEC_HAS_ECH

/* A store read from `data`: an ECHConfigList (binary or base64) for a client, ECH PEM for a server. */
static OSSL_ECHSTORE *read_store(int server, const uint8_t *data, int len) {
  OSSL_ECHSTORE *es = OSSL_ECHSTORE_new(NULL, NULL);
  BIO *in = BIO_new_mem_buf(data, len);
  int ok = es && in &&
           (server ? OSSL_ECHSTORE_read_pem(es, in, OSSL_ECH_FOR_RETRY) : OSSL_ECHSTORE_read_echconfiglist(es, in));
  BIO_free(in);
  if (!ok) {
    OSSL_ECHSTORE_free(es);
    return NULL;
  }
  return es;
}

int jsec_ctx_ech(jsec_ctx *ctx, const uint8_t *data, int len, int grease) {
  ERR_clear_error();
  if (grease) {
    if (ctx->server) return jsec_fail("ECH GREASE is a client's");
    SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_ECH_GREASE);
  }
  if (len <= 0) return JSEC_OK;
  OSSL_ECHSTORE *es = read_store(ctx->server, data, len);
  if (!es) return jsec_fail(ctx->server ? "not ECH keys (PEM as `openssl ech` writes)" : "not an ECHConfigList");
  int ok = SSL_CTX_set1_echstore(ctx->ssl_ctx, es);
  OSSL_ECHSTORE_free(es);
  return ok == 1 ? JSEC_OK : jsec_fail("cannot use the ECH configuration");
}

/* SSL_ech_get1_status, leaving the error queue as it was (it queues errors for some statuses). */
static int ech_status(SSL *ssl, char **inner, char **outer) {
  ERR_set_mark();
  int status = SSL_ech_get1_status(ssl, inner, outer);
  ERR_pop_to_mark();
  return status;
}

int jsec_ech_status(jsec_session *s) {
  char *inner = NULL, *outer = NULL;
  int status = ech_status(s->ssl, &inner, &outer);
  OPENSSL_free(inner);
  OPENSSL_free(outer);
  switch (status) {
  case SSL_ECH_STATUS_SUCCESS: return JSEC_ECH_ACCEPTED;
  case SSL_ECH_STATUS_GREASE:
  case SSL_ECH_STATUS_GREASE_ECH: return JSEC_ECH_GREASE;
  case SSL_ECH_STATUS_FAILED:
  case SSL_ECH_STATUS_BAD_NAME:
  case SSL_ECH_STATUS_FAILED_ECH:
  case SSL_ECH_STATUS_FAILED_ECH_BAD_NAME: return JSEC_ECH_REJECTED;
  default: return JSEC_ECH_NONE;
  }
}

int jsec_ech_name(jsec_session *s, int outer_name, char *buf, int cap) {
  char *inner = NULL, *outer = NULL;
  ech_status(s->ssl, &inner, &outer);
  const char *name = outer_name ? outer : inner;
  int len = name ? jsec_copy_out(name, buf, cap) : -1;
  OPENSSL_free(inner);
  OPENSSL_free(outer);
  return len;
}

int jsec_ech_retry_configs(jsec_session *s, uint8_t *buf, int cap) {
  unsigned char *list = NULL;
  size_t len = 0;
  ERR_set_mark();
  int got = SSL_ech_get1_retry_config(s->ssl, &list, &len);
  ERR_pop_to_mark(); /* a handshake's failure stays the last error */
  if (got != 1 || !list || len == 0) {
    OPENSSL_free(list);
    return 0;
  }
  if (buf && (size_t)cap >= len) memcpy(buf, list, len);
  OPENSSL_free(list);
  return (int)len;
}

int jsec_ech_generate(const char *public_name) {
  OSSL_HPKE_SUITE suite = OSSL_HPKE_SUITE_DEFAULT;
  OSSL_ECHSTORE *es = OSSL_ECHSTORE_new(NULL, NULL);
  BIO *out = ca_out();
  if (!public_name || !*public_name || strlen(public_name) > OSSL_ECH_MAX_PUBLICNAME) {
    BIO_free(out);
    OSSL_ECHSTORE_free(es);
    return ca_fail(JSEC_CA_BAD_SPEC, "a public name is 1 to 255 bytes");
  }
  if (!es || !out || OSSL_ECHSTORE_new_config(es, OSSL_ECH_CURRENT_VERSION, 0, public_name, suite) != 1 ||
      OSSL_ECHSTORE_write_pem(es, 0, out) != 1) {
    BIO_free(out);
    OSSL_ECHSTORE_free(es);
    return ca_fail(JSEC_ERROR, "cannot generate an ECH key");
  }
  OSSL_ECHSTORE_free(es);
  return ca_finish(out);
}

#else /* no ECH in this libssl */

int jsec_ctx_ech(jsec_ctx *ctx, const uint8_t *data, int len, int grease) {
  (void)ctx, (void)data, (void)len, (void)grease;
  return jsec_fail(NO_ECH);
}

int jsec_ech_status(jsec_session *s) {
  (void)s;
  return JSEC_ECH_NONE;
}

int jsec_ech_name(jsec_session *s, int outer_name, char *buf, int cap) {
  (void)s, (void)outer_name, (void)buf, (void)cap;
  return -1;
}

int jsec_ech_retry_configs(jsec_session *s, uint8_t *buf, int cap) {
  (void)s, (void)buf, (void)cap;
  return 0;
}

int jsec_ech_generate(const char *public_name) {
  (void)public_name;
  return ca_fail(JSEC_ERROR, NO_ECH);
}

#endif
