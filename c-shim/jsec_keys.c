/*
 * jsec_keys.c — key logging and pre-shared keys.
 *
 * Key log: OpenSSL hands each secret of a handshake to the context's key-log
 * callback as one NSS key-log line. A session that asked for them
 * (jsec_keylog_start) queues its lines here; TypeScript drains them with
 * jsec_keylog_take after each step. Nothing calls into JavaScript. The
 * callback is installed on a context only once a session wants lines, so a
 * context nobody logs costs nothing.
 *
 * PSK: a client has one identity and key; a server a table of them. OpenSSL's
 * PSK callbacks serve TLS 1.2 PSK cipher suites and, with no session callbacks
 * set, TLS 1.3 external PSKs (hash SHA-256, as `openssl s_client -psk` uses).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "jsec_internal.h"

#define KEYLOG_MAX (64 * 1024) /* a handshake logs under 1 KiB; more is never drained */

struct jsec_keylog {
  char *text; /* lines, each ending in '\n' */
  int len, cap;
};

struct jsec_psk {
  char *identity;
  unsigned char *key;
  int key_len;
  struct jsec_psk *next;
};

/* ---- key log ----------------------------------------------------------- */

static void queue_line(const SSL *ssl, const char *line) {
  jsec_session *s = SSL_get_app_data(ssl);
  struct jsec_keylog *log = s ? s->keylog : NULL;
  if (!log) return;
  int need = (int)strlen(line) + 1;
  if (log->len + need > log->cap) {
    int cap = log->cap ? log->cap : 1024;
    while (cap < log->len + need) cap *= 2;
    if (cap > KEYLOG_MAX) return;
    char *grown = realloc(log->text, (size_t)cap);
    if (!grown) return;
    log->text = grown;
    log->cap = cap;
  }
  memcpy(log->text + log->len, line, (size_t)need - 1);
  log->text[log->len + need - 1] = '\n';
  log->len += need;
}

int jsec_keylog_start(jsec_session *s, jsec_ctx *ctx) {
  if (!s->keylog && !(s->keylog = calloc(1, sizeof *s->keylog))) return jsec_fail("out of memory");
  /* A server's SNI callback may move the session to a name's context: log those too. */
  SSL_CTX_set_keylog_callback(ctx->ssl_ctx, queue_line);
  for (int i = 0; i < ctx->sni_count; i++) SSL_CTX_set_keylog_callback(ctx->sni_ctx[i]->ssl_ctx, queue_line);
  return JSEC_OK;
}

int jsec_keylog_take(jsec_session *s, uint8_t *buf, int cap) {
  struct jsec_keylog *log = s->keylog;
  if (!log || log->len == 0) return 0;
  int len = log->len;
  if (!buf || cap <= len) return len; /* room for a terminator too, as jsec_info asks */
  memcpy(buf, log->text, (size_t)len);
  log->len = 0;
  return len;
}

void jsec_keys_session_free(jsec_session *s) {
  if (!s->keylog) return;
  OPENSSL_cleanse(s->keylog->text, (size_t)s->keylog->cap);
  free(s->keylog->text);
  free(s->keylog);
  s->keylog = NULL;
}

/* ---- pre-shared keys --------------------------------------------------- */

static unsigned int client_psk(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
                               unsigned char *psk, unsigned int max_psk_len) {
  const jsec_ctx *ctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
  const struct jsec_psk *p = ctx ? ctx->psk : NULL;
  (void)hint;
  if (!p || strlen(p->identity) >= max_identity_len || (unsigned)p->key_len > max_psk_len) return 0;
  strcpy(identity, p->identity);
  memcpy(psk, p->key, (size_t)p->key_len);
  return (unsigned)p->key_len;
}

static unsigned int server_psk(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len) {
  const jsec_ctx *ctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
  for (const struct jsec_psk *p = ctx ? ctx->psk : NULL; p && identity; p = p->next) {
    if (strcmp(p->identity, identity) != 0) continue;
    if ((unsigned)p->key_len > max_psk_len) return 0;
    memcpy(psk, p->key, (size_t)p->key_len);
    return (unsigned)p->key_len;
  }
  return 0; /* unknown identity: the handshake goes on without a PSK */
}

int jsec_ctx_psk(jsec_ctx *ctx, const char *identity, const uint8_t *key, int key_len) {
  if (!identity || strlen(identity) > PSK_MAX_IDENTITY_LEN) return jsec_fail("a PSK identity is 1 to 128 bytes");
  if (!key || key_len < 1 || key_len > PSK_MAX_PSK_LEN) return jsec_fail("a PSK is 1 to 256 bytes");
  if (!ctx->server && ctx->psk) return jsec_fail("a client has one PSK");
  struct jsec_psk *p = calloc(1, sizeof *p);
  if (!p || !(p->identity = strdup(identity)) || !(p->key = malloc((size_t)key_len))) {
    if (p) free(p->identity);
    free(p);
    return jsec_fail("out of memory");
  }
  memcpy(p->key, key, (size_t)key_len);
  p->key_len = key_len;
  p->next = ctx->psk;
  ctx->psk = p;
  SSL_CTX_set_app_data(ctx->ssl_ctx, ctx);
  if (ctx->server)
    SSL_CTX_set_psk_server_callback(ctx->ssl_ctx, server_psk);
  else
    SSL_CTX_set_psk_client_callback(ctx->ssl_ctx, client_psk);
  return JSEC_OK;
}

void jsec_keys_ctx_free(jsec_ctx *ctx) {
  while (ctx->psk) {
    struct jsec_psk *p = ctx->psk;
    ctx->psk = p->next;
    OPENSSL_cleanse(p->key, (size_t)p->key_len);
    free(p->key);
    free(p->identity);
    free(p);
  }
}
