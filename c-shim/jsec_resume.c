/*
 * jsec_resume.c — session resumption.
 *
 * Client: each resumable session OpenSSL makes (a TLS 1.2 one at the end of
 * the handshake, a TLS 1.3 one per NewSessionTicket, which arrives later,
 * inside SSL_read) is queued on its jsec_session for TypeScript to take, as
 * DER or held natively (jsec_held: a counted reference, offered again without
 * parsing); a saved one is offered before the handshake. Server: OpenSSL's own
 * session cache (TLS 1.2 session IDs) and tickets (TLS 1.2 and 1.3, with
 * OpenSSL's ticket keys), which jsec_ctx_resumption() turns off.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "jsec_internal.h"

/* OpenSSL's default: TLS 1.3 tickets a server sends after a full handshake. */
#define DEFAULT_TICKETS 2

/* A server that verifies clients needs its sessions to carry a context name: without one
 * OpenSSL caches none, and fails the handshake of a client that offers one. Each jsec
 * server context has its own cache and ticket keys, so one name serves them all. */
static const unsigned char session_id_context[] = "jsec";

static void free_session(SSL_SESSION *session) {
  SSL_SESSION_free(session);
  jsec_count(-1);
}

/* Takes the oldest session off the queue. */
static SSL_SESSION *shift(jsec_session *s) {
  SSL_SESSION *oldest = s->new_sessions[0];
  memmove(s->new_sessions, s->new_sessions + 1, sizeof oldest * (size_t)--s->new_count);
  return oldest;
}

/* Client: OpenSSL hands us a reference to each new session; 1 keeps it, 0 gives it back. */
static int keep_new_session(SSL *ssl, SSL_SESSION *session) {
  jsec_session *s = SSL_get_app_data(ssl);
  if (!s || !SSL_SESSION_is_resumable(session)) return 0;
  if (s->new_count == JSEC_MAX_NEW_SESSIONS) free_session(shift(s)); /* nobody took them */
  s->new_sessions[s->new_count++] = session;
  jsec_count(1);
  return 1;
}

void jsec_resume_ctx_init(jsec_ctx *ctx) {
  if (ctx->server) {
    SSL_CTX_set_session_id_context(ctx->ssl_ctx, session_id_context, sizeof session_id_context - 1);
    return;
  }
  SSL_CTX_set_session_cache_mode(ctx->ssl_ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx->ssl_ctx, keep_new_session);
}

void jsec_resume_session_init(jsec_session *s) { SSL_set_app_data(s->ssl, s); }

void jsec_resume_session_free(jsec_session *s) {
  /* SSL_free() marks the session of a connection that sent no close_notify unresumable. A
   * client's session may be one our cache holds (not a copy), and an unclean end spoils no
   * session since TLS 1.1 (RFC 4346 7.2.1), so the client's end counts as a clean one. */
  if (!SSL_is_server(s->ssl)) SSL_set_shutdown(s->ssl, SSL_get_shutdown(s->ssl) | SSL_SENT_SHUTDOWN);
  while (s->new_count > 0) free_session(s->new_sessions[--s->new_count]);
}

int jsec_ctx_resumption(jsec_ctx *ctx, int on) {
  ERR_clear_error();
  if (!ctx->server) return jsec_fail("a client resumes by offering a saved session");
  SSL_CTX_set_session_cache_mode(ctx->ssl_ctx, on ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_OFF);
  if (on)
    SSL_CTX_clear_options(ctx->ssl_ctx, SSL_OP_NO_TICKET);
  else
    SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx->ssl_ctx, on ? DEFAULT_TICKETS : 0);
  return JSEC_OK;
}

/* A saved session from DER, or NULL (and the reason kept) when it is not a resumable one. */
static SSL_SESSION *parse(const uint8_t *der, int len) {
  const unsigned char *p = der;
  SSL_SESSION *session;
  ERR_clear_error();
  if (!der || len <= 0) {
    jsec_fail("no saved session given");
    return NULL;
  }
  session = d2i_SSL_SESSION(NULL, &p, len);
  if (!session || p != der + len || !SSL_SESSION_is_resumable(session)) {
    SSL_SESSION_free(session);
    jsec_fail("not a saved TLS session (DER SSL_SESSION)");
    return NULL;
  }
  return session;
}

int jsec_session_check(const uint8_t *der, int len) {
  SSL_SESSION *session = parse(der, len);
  if (!session) return JSEC_ERROR;
  int version = SSL_SESSION_get_protocol_version(session);
  SSL_SESSION_free(session);
  return version;
}

/* RFC 8446 4.6.1: resume only with a server the session's certificate was valid for —
 * here, one the certificate names as the host we verify. */
static int names_host(SSL_SESSION *session, const char *verify_name) {
  X509 *leaf = SSL_SESSION_get0_peer(session);
  if (!leaf) return 0;
  if (!verify_name || !*verify_name) return 1;
  return X509_check_ip_asc(leaf, verify_name, 0) == 1 ||
         X509_check_host(leaf, verify_name, 0,
                         X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL) == 1;
}

/* Offers `session` (the SSL takes its own reference): 1 offered, 0 not one to accept here. */
static int offer(jsec_session *s, SSL_SESSION *session, const char *verify_name) {
  int verifies = (SSL_get_verify_mode(s->ssl) & SSL_VERIFY_PEER) != 0;
  int offered = (!verifies || names_host(session, verify_name)) && SSL_set_session(s->ssl, session) == 1;
  /* SSL_set_session() made the session's verify result ours: a session whose certificate
   * failed verification (made where nothing was verified) is not resumed where it counts. */
  if (offered && verifies && SSL_get_verify_result(s->ssl) != X509_V_OK) {
    SSL_set_session(s->ssl, NULL);
    SSL_set_verify_result(s->ssl, X509_V_OK);
    offered = 0;
  }
  ERR_clear_error();
  return offered;
}

int jsec_session_offer(jsec_session *s, const uint8_t *der, int len, const char *verify_name) {
  ERR_clear_error();
  if (SSL_is_server(s->ssl)) return jsec_fail("only a client offers a saved session");
  SSL_SESSION *session = parse(der, len);
  if (!session) return JSEC_ERROR;
  int offered = offer(s, session, verify_name);
  SSL_SESSION_free(session);
  return offered;
}

int jsec_held_offer(jsec_session *s, jsec_held *held, const char *verify_name) {
  ERR_clear_error();
  if (SSL_is_server(s->ssl)) return jsec_fail("only a client offers a saved session");
  if (!held) return jsec_fail("no saved session given");
  return offer(s, held, verify_name);
}

int jsec_session_count(jsec_session *s) { return s->new_count; }

jsec_held *jsec_held_take(jsec_session *s) { return s->new_count == 0 ? NULL : shift(s); }

int jsec_held_der(jsec_held *held, uint8_t *buf, int cap) {
  ERR_clear_error();
  int len = held ? i2d_SSL_SESSION(held, NULL) : 0;
  if (len <= 0) return jsec_fail("cannot encode a session");
  if (!buf || cap < len) return len;
  unsigned char *p = buf;
  i2d_SSL_SESSION(held, &p);
  return len;
}

void jsec_held_free(jsec_held *held) {
  if (held) free_session(held);
}

int jsec_session_take(jsec_session *s, uint8_t *buf, int cap) {
  if (s->new_count == 0) return -1;
  int len = jsec_held_der(s->new_sessions[0], buf, cap);
  if (len < 0 || (buf && cap >= len)) free_session(shift(s)); /* taken, or not encodable */
  return len;
}

int jsec_resumed(jsec_session *s) { return SSL_session_reused(s->ssl); }
