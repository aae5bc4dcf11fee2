/*
 * jsec_sni.c — a server's asynchronous choice of context (certificate) per
 * ClientHello. A session that asks (jsec_sni_ask_start) is paused by the
 * context's client-hello callback (JSEC_WANT_SNI), as jsec_keys.c pauses for a
 * PSK: the callback copies what TypeScript needs to decide (jsec_sni_hello),
 * and returns retry. TypeScript answers (jsec_sni_answer) with a context to
 * move the session to, none (keep its own), or an alert that refuses it; the
 * next handshake step runs the callback again, which applies the answer.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "jsec_internal.h"

enum { ARMED, ASKED, ANSWERED, DONE };

struct jsec_sni_ask {
  int state;
  jsec_ctx *ctx; /* the answer: the context to move to, NULL: keep the session's */
  int alert;     /* or the alert that refuses the handshake (0: none) */
  unsigned char *hello; /* the fields copied for TypeScript: type (2), length (2), bytes; repeated */
  int hello_len;
};

/* The ClientHello extensions a choice of certificate looks at, besides the cipher suites. */
static const int fields[] = {TLSEXT_TYPE_server_name,         TLSEXT_TYPE_application_layer_protocol_negotiation,
                             TLSEXT_TYPE_supported_versions,  TLSEXT_TYPE_supported_groups,
                             TLSEXT_TYPE_signature_algorithms};

static void put(unsigned char *p, int *at, int type, const unsigned char *bytes, size_t len) {
  p[(*at)++] = (unsigned char)(type >> 8);
  p[(*at)++] = (unsigned char)type;
  p[(*at)++] = (unsigned char)(len >> 8);
  p[(*at)++] = (unsigned char)len;
  memcpy(p + *at, bytes, len);
  *at += (int)len;
}

/* Copies the cipher suites (type JSEC_HELLO_CIPHERS) and the extensions in `fields`. */
static int copy_hello(SSL *ssl, struct jsec_sni_ask *ask) {
  const unsigned char *bytes[6];
  size_t lens[6], total = 0;
  lens[0] = SSL_client_hello_get0_ciphers(ssl, &bytes[0]);
  for (int i = 0; i < 5; i++)
    if (SSL_client_hello_get0_ext(ssl, (unsigned)fields[i], &bytes[i + 1], &lens[i + 1]) != 1) lens[i + 1] = 0;
  for (int i = 0; i < 6; i++) {
    if (lens[i] > 0xffff) return 0;
    total += 4 + lens[i];
  }
  if (!(ask->hello = malloc(total))) return 0;
  ask->hello_len = 0;
  for (int i = 0; i < 6; i++)
    if (lens[i] > 0) put(ask->hello, &ask->hello_len, i == 0 ? JSEC_HELLO_CIPHERS : fields[i - 1], bytes[i], lens[i]);
  return 1;
}

int jsec_sni_client_hello(SSL *ssl, int *alert) {
  jsec_session *s = SSL_get_app_data(ssl);
  struct jsec_sni_ask *ask = s ? s->sni_ask : NULL;
  if (!ask || ask->state == DONE) return SSL_CLIENT_HELLO_SUCCESS;
  if (ask->state == ARMED) {
    if (!copy_hello(ssl, ask)) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
    ask->state = ASKED;
  }
  if (ask->state == ASKED) return SSL_CLIENT_HELLO_RETRY;
  ask->state = DONE;
  if (ask->alert) {
    *alert = ask->alert;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (ask->ctx && !SSL_set_SSL_CTX(ssl, ask->ctx->ssl_ctx)) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

int jsec_sni_waiting(jsec_session *s) { return s->sni_ask && s->sni_ask->state == ASKED; }

int jsec_sni_ask_start(jsec_session *s) {
  if (!SSL_is_server(s->ssl)) return jsec_fail("only a server chooses its certificate");
  if (!s->sni_ask && !(s->sni_ask = calloc(1, sizeof *s->sni_ask))) return jsec_fail("out of memory");
  return JSEC_OK;
}

int jsec_sni_hello(jsec_session *s, uint8_t *buf, int cap) {
  struct jsec_sni_ask *ask = s->sni_ask;
  if (!ask || ask->state != ASKED) return 0;
  if (buf && cap >= ask->hello_len) memcpy(buf, ask->hello, (size_t)ask->hello_len);
  return ask->hello_len;
}

int jsec_sni_answer(jsec_session *s, jsec_ctx *ctx, int alert) {
  struct jsec_sni_ask *ask = s->sni_ask;
  if (!ask || ask->state != ASKED) return jsec_fail("no ClientHello is waiting for an answer");
  if (ctx && (!ctx->server || ctx->datagram != SSL_is_dtls(s->ssl))) return jsec_fail("not a server context of this kind");
  if (alert < 0 || alert > 255) return jsec_fail("bad alert");
  ask->ctx = ctx;
  ask->alert = alert;
  ask->state = ANSWERED;
  free(ask->hello);
  ask->hello = NULL;
  return JSEC_OK;
}

void jsec_sni_session_free(jsec_session *s) {
  if (!s->sni_ask) return;
  free(s->sni_ask->hello);
  free(s->sni_ask);
  s->sni_ask = NULL;
}
