/* jsec_internal.h — the shim's private structures, shared by its C files. */
#ifndef JSEC_INTERNAL_H
#define JSEC_INTERNAL_H

#include <openssl/ssl.h>

#include "jsec.h"

#define JSEC_MAX_SNI 64
#define JSEC_MAX_NEW_SESSIONS 8 /* a client keeps at most this many new sessions for jsec_session_take */

struct jsec_ctx {
  SSL_CTX *ssl_ctx;
  int server;
  unsigned char *alpn; /* server: the protocols we accept, wire format */
  int alpn_len;
  int sni_count;
  char *sni_names[JSEC_MAX_SNI];
  jsec_ctx *sni_ctx[JSEC_MAX_SNI];
  struct jsec_revocation *revocation; /* OCSP/CRL state, jsec_revocation.c; NULL until used */
  struct jsec_psk *psk;               /* pre-shared keys, jsec_keys.c */
  struct jsec_tickets *tickets;       /* session ticket keys, jsec_tickets.c; NULL: OpenSSL's own */
};

struct jsec_session {
  SSL *ssl;
  BIO *in, *out; /* ciphertext from and to the peer */
  int deferred;         /* jsec_read: a status met after some data was read, returned on the next call */
  char *deferred_error; /* and its error text (JSEC_ERROR only) */
  SSL_SESSION *new_sessions[JSEC_MAX_NEW_SESSIONS]; /* client: resumable sessions, oldest first */
  int new_count;
  struct jsec_keylog *keylog; /* queued key-log lines, jsec_keys.c; NULL unless asked for */
  struct jsec_psk_ask *psk_ask; /* server: a PSK identity for TypeScript to answer, jsec_keys.c */
  char psk_used[PSK_MAX_IDENTITY_LEN + 1]; /* the identity whose key a PSK callback gave */
};

/* Records the OpenSSL error queue (and `what`) as the last error; returns JSEC_ERROR. */
int jsec_fail(const char *what);

/* Counts native objects for jsec_live(): +1 on create, -1 on free. */
void jsec_count(int delta);

/* Frees ctx->revocation (jsec_revocation.c); jsec_ctx_free calls it. */
void jsec_revocation_free(jsec_ctx *ctx);

/* Resumption hooks (jsec_resume.c): jsec_ctx_new, jsec_new and jsec_free call them. */
void jsec_resume_ctx_init(jsec_ctx *ctx);
void jsec_resume_session_init(jsec_session *s);
void jsec_resume_session_free(jsec_session *s);

/* Key log and PSK state (jsec_keys.c): jsec_ctx_free and jsec_free call them. */
void jsec_keys_ctx_free(jsec_ctx *ctx);
void jsec_keys_session_free(jsec_session *s);

/* Releases ctx->tickets (jsec_tickets.c); jsec_ctx_free calls it. */
void jsec_tickets_ctx_free(jsec_ctx *ctx);

#endif
