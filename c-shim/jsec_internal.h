/* jsec_internal.h — the shim's private structures, shared by its C files. */
#ifndef JSEC_INTERNAL_H
#define JSEC_INTERNAL_H

#include <openssl/ssl.h>

#include "jsec.h"

#define JSEC_MAX_SNI 64
/* The TLS 1.2 suites of a context until `ciphers` says otherwise: ECDHE, AEAD, in OpenSSL's order. */
#define JSEC_DEFAULT_TLS12_CIPHERS \
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:" \
  "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
/* Added to them by `dhparam` (Mozilla "intermediate"'s DHE suites). */
#define JSEC_DHE_TLS12_CIPHERS "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256"
/* And by `psk`: the PSK suites with AEAD, forward-secret first. */
#define JSEC_PSK_TLS12_CIPHERS \
  "ECDHE-PSK-CHACHA20-POLY1305:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:PSK-AES128-GCM-SHA256"
#define JSEC_MAX_NEW_SESSIONS 8 /* a client keeps at most this many new sessions for jsec_session_take */
/* A client follows at most this many TLS 1.2 renegotiations per window (Node's
 * CLIENT_RENEG_LIMIT/WINDOW); past it the server's HelloRequest gets a
 * no_renegotiation warning and the connection goes on. */
#define JSEC_RENEGOTIATION_LIMIT 3
#define JSEC_RENEGOTIATION_WINDOW 600 /* seconds */

struct jsec_ctx {
  SSL_CTX *ssl_ctx;
  int server;
  int ciphers_set; /* `ciphers` chose the TLS 1.2 suites */
  int dhe;         /* `dhparam`: the DHE suites join the default ones */
  unsigned char *alpn; /* server: the protocols we accept, wire format */
  int alpn_len;
  int sni_count;
  char *sni_names[JSEC_MAX_SNI];
  jsec_ctx *sni_ctx[JSEC_MAX_SNI];
  struct jsec_revocation *revocation; /* OCSP/CRL state, jsec_revocation.c; NULL until used */
  struct jsec_psk *psk;               /* pre-shared keys, jsec_keys.c */
  int datagram;                       /* a JSEC_DTLS context */
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
  struct jsec_sni_ask *sni_ask; /* server: a ClientHello for TypeScript to choose a context for, jsec_sni.c */
  char psk_used[PSK_MAX_IDENTITY_LEN + 1]; /* the identity whose key a PSK callback gave */
  int handshakes;          /* completed: the first, then each TLS 1.2 renegotiation */
  int renegotiations;      /* client: renegotiations followed in the current window */
  long renegotiation_from; /* when that window began (time()) */
  unsigned char peer[128]; /* DTLS server: the peer's address, for its cookie */
  int peer_len;
};

/* Key URIs (jsec_store.c): whether a key is PEM (has a BEGIN line), else a URI loaded
 * through OSSL_STORE; NULL with the error recorded when it cannot be loaded. */
int jsec_is_pem_key(const uint8_t *key, int len);
EVP_PKEY *jsec_store_key(const uint8_t *uri, int len, const char *passphrase);

/* Records the OpenSSL error queue (and `what`) as the last error; returns JSEC_ERROR. */
int jsec_fail(const char *what);

/* Sets the TLS 1.2 suites to the defaults, plus DHE's (dhparam) and PSK's (psk),
 * unless `ciphers` chose them. */
int jsec_default_tls12_suites(jsec_ctx *ctx);

/* Copies `text` (NULL: "") into buf when it fits (cap > length); returns its length. */
int jsec_copy_out(const char *text, char *buf, int cap);

/* Counts native objects for jsec_live(): +1 on create, -1 on free. */
void jsec_count(int delta);

/* Frees ctx->revocation (jsec_revocation.c); jsec_ctx_free calls it. */
void jsec_revocation_free(jsec_ctx *ctx);

/* DTLS hook (jsec_dtls.c): jsec_ctx_new calls it for JSEC_DTLS. */
void jsec_dtls_ctx_init(jsec_ctx *ctx);

/* Resumption hooks (jsec_resume.c): jsec_ctx_new, jsec_new and jsec_free call them. */
void jsec_resume_ctx_init(jsec_ctx *ctx);
void jsec_resume_session_init(jsec_session *s);
void jsec_resume_session_free(jsec_session *s);

/* Key log and PSK state (jsec_keys.c): jsec_ctx_free and jsec_free call them. */
void jsec_keys_ctx_free(jsec_ctx *ctx);
void jsec_keys_session_free(jsec_session *s);
/* A server's client-hello step for PSK lookups (jsec_keys.c); `arg` is the jsec_ctx. */
int jsec_psk_client_hello(SSL *ssl, int *alert, void *arg);

/* A server's client-hello step for an asynchronous choice of context (jsec_sni.c); its state,
 * for status_of (whether a pause is this one's), and its release, for jsec_free. */
int jsec_sni_client_hello(SSL *ssl, int *alert);
int jsec_sni_waiting(jsec_session *s);
void jsec_sni_session_free(jsec_session *s);

/* Releases ctx->tickets (jsec_tickets.c); jsec_ctx_free calls it. */
void jsec_tickets_ctx_free(jsec_ctx *ctx);

#endif
