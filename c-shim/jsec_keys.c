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
 * A server session may also ask TypeScript for the key of a TLS 1.3 identity
 * its table lacks: the ClientHello callback pauses the handshake
 * (JSEC_WANT_PSK) until jsec_psk_answer() gives the key, or none.
 */
#include <stdio.h>
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

/* A server session's question about one TLS 1.3 identity, and its answer. */
struct jsec_psk_ask {
  char identity[PSK_MAX_IDENTITY_LEN + 1]; /* "" until asked */
  int answered;
  unsigned char key[PSK_MAX_PSK_LEN];
  int key_len; /* 0: no key for it */
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
  if (s->psk_ask) {
    OPENSSL_cleanse(s->psk_ask, sizeof *s->psk_ask);
    free(s->psk_ask);
    s->psk_ask = NULL;
  }
  if (!s->keylog) return;
  OPENSSL_cleanse(s->keylog->text, (size_t)s->keylog->cap);
  free(s->keylog->text);
  free(s->keylog);
  s->keylog = NULL;
}

/* ---- pre-shared keys --------------------------------------------------- */

/* Keeps the identity whose key a callback gave: the one jsec_psk_used() reports. */
static void note_psk(SSL *ssl, const char *identity) {
  jsec_session *s = SSL_get_app_data(ssl);
  if (s) snprintf(s->psk_used, sizeof s->psk_used, "%s", identity);
}

static unsigned int client_psk(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
                               unsigned char *psk, unsigned int max_psk_len) {
  const jsec_ctx *ctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
  const struct jsec_psk *p = ctx ? ctx->psk : NULL;
  (void)hint;
  if (!p || strlen(p->identity) >= max_identity_len || (unsigned)p->key_len > max_psk_len) return 0;
  strcpy(identity, p->identity);
  note_psk(ssl, p->identity);
  memcpy(psk, p->key, (size_t)p->key_len);
  return (unsigned)p->key_len;
}

static const struct jsec_psk *find(const jsec_ctx *ctx, const char *identity) {
  for (const struct jsec_psk *p = ctx ? ctx->psk : NULL; p; p = p->next)
    if (strcmp(p->identity, identity) == 0) return p;
  return NULL;
}

static unsigned int server_psk(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len) {
  const jsec_ctx *ctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
  const jsec_session *s = SSL_get_app_data(ssl);
  const struct jsec_psk_ask *ask = s ? s->psk_ask : NULL;
  if (ask && ask->answered && identity && strcmp(ask->identity, identity) == 0) {
    if ((unsigned)ask->key_len > max_psk_len) return 0;
    memcpy(psk, ask->key, (size_t)ask->key_len);
    if (ask->key_len > 0) note_psk(ssl, identity);
    return (unsigned)ask->key_len;
  }
  for (const struct jsec_psk *p = ctx ? ctx->psk : NULL; p && identity; p = p->next) {
    if (strcmp(p->identity, identity) != 0) continue;
    if ((unsigned)p->key_len > max_psk_len) return 0;
    memcpy(psk, p->key, (size_t)p->key_len);
    note_psk(ssl, identity);
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
  return jsec_default_tls12_suites(ctx);
}

/* Whether p[0..len) is UTF-8 text without NUL: what a jsec PSK identity (a string) is.
 * A session ticket, random bytes to us, practically never is. */
static int is_text(const unsigned char *p, size_t len) {
  for (size_t i = 0; i < len;) {
    unsigned char c = p[i++];
    size_t more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
    if (c == 0 || c == 0xc0 || c == 0xc1 || more == 4 || i + more > len) return 0;
    for (; more > 0; more--)
      if ((p[i++] & 0xc0) != 0x80) return 0;
  }
  return 1;
}

/* The first identity of a ClientHello's pre_shared_key extension (RFC 8446 4.2.11) into
 * `out`, when it can be an external PSK's: 1 to 128 bytes of text (not a ticket). */
static int first_identity(SSL *ssl, char *out) {
  const unsigned char *ext;
  size_t len;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &ext, &len) != 1 || len < 4) return 0;
  size_t id_len = (size_t)ext[2] << 8 | ext[3];
  if (id_len == 0 || id_len > PSK_MAX_IDENTITY_LEN || 4 + id_len > len || !is_text(ext + 4, id_len)) return 0;
  memcpy(out, ext + 4, id_len);
  out[id_len] = 0;
  return 1;
}

/* From the context's client-hello callback (jsec.c): pauses the handshake of a
 * session that asks, once, for an identity the table of `arg` (the jsec_ctx) lacks. */
int jsec_psk_client_hello(SSL *ssl, int *alert, void *arg) {
  jsec_session *s = SSL_get_app_data(ssl);
  struct jsec_psk_ask *ask = s ? s->psk_ask : NULL;
  (void)alert;
  if (!ask || ask->identity[0] || !first_identity(ssl, ask->identity)) return SSL_CLIENT_HELLO_SUCCESS;
  if (find(arg, ask->identity)) return SSL_CLIENT_HELLO_SUCCESS;
  return SSL_CLIENT_HELLO_RETRY;
}

int jsec_psk_ask_start(jsec_session *s, jsec_ctx *ctx) {
  if (!ctx->server) return jsec_fail("only a server asks for PSKs");
  if (!s->psk_ask && !(s->psk_ask = calloc(1, sizeof *s->psk_ask))) return jsec_fail("out of memory");
  SSL_CTX_set_app_data(ctx->ssl_ctx, ctx);
  SSL_set_psk_server_callback(s->ssl, server_psk); /* SSL_new copied the context's (maybe none) */
  return JSEC_OK;
}

int jsec_psk_identity(jsec_session *s, char *buf, int cap) {
  return jsec_copy_out(s->psk_ask && !s->psk_ask->answered ? s->psk_ask->identity : "", buf, cap);
}

int jsec_psk_answer(jsec_session *s, const uint8_t *key, int key_len) {
  struct jsec_psk_ask *ask = s->psk_ask;
  if (!ask || !ask->identity[0] || ask->answered) return jsec_fail("no PSK identity is waiting for an answer");
  if (key_len < 0 || key_len > PSK_MAX_PSK_LEN || (key_len > 0 && !key)) return jsec_fail("a PSK is 1 to 256 bytes");
  if (key_len > 0) memcpy(ask->key, key, (size_t)key_len);
  ask->key_len = key_len;
  ask->answered = 1;
  return JSEC_OK;
}

int jsec_psk_used(jsec_session *s, char *buf, int cap) {
  /* A callback gave a key and the handshake took it: TLS 1.2 by a PSK cipher suite, TLS 1.3
   * by "resuming" (the external PSK, as a client with a PSK offers no saved session and a
   * server's callbacks give no key for a ticket). */
  const SSL_CIPHER *cipher = SSL_get_current_cipher(s->ssl);
  int took = SSL_version(s->ssl) >= TLS1_3_VERSION ? SSL_session_reused(s->ssl)
                                                   : cipher && SSL_CIPHER_get_auth_nid(cipher) == NID_auth_psk;
  if (!s->psk_used[0] || !took) return -1;
  return jsec_copy_out(s->psk_used, buf, cap);
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
