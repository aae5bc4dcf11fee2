/*
 * jsec_dtls.c — what DTLS adds to the shim: the path MTU, retransmission
 * timers, the stateless cookie exchange, DTLS-SRTP, and the keying material
 * exporter (TLS uses it too). Contexts and sessions are jsec.c's, made with
 * JSEC_DTLS; their BIOs (jsec_dtls_bio.c) keep datagram boundaries.
 */
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "jsec.h"
#include "jsec_dtls_bio.h"
#include "jsec_internal.h"

/* ---- cookies (RFC 6347 §4.2.1) ------------------------------------------
 * A cookie is HMAC-SHA256(secret, peer address): the server keeps no state per
 * peer until a ClientHello comes back with it. The secret is replaced every
 * JSEC_COOKIE_SECONDS, or at once by jsec_dtls_cookie_rotate(); cookies made
 * under the one before still pass, so a cookie lives between one and two
 * periods. Per thread: a listener lives on the JavaScript thread that made it. */

#define JSEC_COOKIE_SECONDS 60
#define JSEC_COOKIE_LEN 32

static _Thread_local unsigned char secrets[2][32]; /* [0] current, [1] previous */
static _Thread_local time_t secret_born;

/* The current secret becomes the previous one; a new random one is current. */
static int rotate(time_t now) {
  memcpy(secrets[1], secrets[0], sizeof secrets[0]);
  if (RAND_bytes(secrets[0], sizeof secrets[0]) != 1) return 0;
  secret_born = now;
  return 1;
}

static int fresh_secrets(void) {
  time_t now = time(NULL);
  if (secret_born && now - secret_born < JSEC_COOKIE_SECONDS) return 1;
  /* None before, or the previous one too old to keep: a random one goes in first, so nothing old may pass. */
  if (!(secret_born && now - secret_born < 2 * JSEC_COOKIE_SECONDS) &&
      RAND_bytes(secrets[0], sizeof secrets[0]) != 1)
    return 0;
  return rotate(now);
}

int jsec_dtls_cookie_rotate(void) {
  ERR_clear_error();
  if (!fresh_secrets() || !rotate(time(NULL))) return jsec_fail("no random bytes for a cookie secret");
  return JSEC_OK;
}

static int cookie_of(SSL *ssl, const unsigned char *secret, unsigned char *out) {
  jsec_session *s = SSL_get_app_data(ssl);
  unsigned int len = 0;
  return HMAC(EVP_sha256(), secret, 32, s->peer, (size_t)s->peer_len, out, &len) != NULL &&
         len == JSEC_COOKIE_LEN;
}

static int generate_cookie(SSL *ssl, unsigned char *cookie, unsigned int *len) {
  if (!fresh_secrets() || !cookie_of(ssl, secrets[0], cookie)) return 0;
  *len = JSEC_COOKIE_LEN;
  return 1;
}

static int verify_cookie(SSL *ssl, const unsigned char *cookie, unsigned int len) {
  unsigned char expected[JSEC_COOKIE_LEN];
  if (len != JSEC_COOKIE_LEN || !fresh_secrets()) return 0;
  for (int i = 0; i < 2; i++)
    if (cookie_of(ssl, secrets[i], expected) && CRYPTO_memcmp(expected, cookie, len) == 0) return 1;
  return 0;
}

void jsec_dtls_ctx_init(jsec_ctx *ctx) {
  if (!ctx->server) return;
  SSL_CTX_set_cookie_generate_cb(ctx->ssl_ctx, generate_cookie);
  SSL_CTX_set_cookie_verify_cb(ctx->ssl_ctx, verify_cookie);
}

int jsec_dtls_listen(jsec_session *s, const uint8_t *datagram, int len, const uint8_t *peer, int peer_len) {
  if (!SSL_is_dtls(s->ssl) || !SSL_is_server(s->ssl)) return jsec_fail("jsec_dtls_listen needs a DTLS server");
  if (peer_len <= 0 || peer_len > (int)sizeof s->peer) return jsec_fail("bad peer address");
  memcpy(s->peer, peer, (size_t)peer_len);
  s->peer_len = peer_len;
  BIO *in = SSL_get_rbio(s->ssl);
  jsec_dgram_bio_clear(in);
  if (len <= 0 || BIO_write(in, datagram, len) != len) return 0;
  BIO_ADDR *client = BIO_ADDR_new();
  if (!client) return jsec_fail("out of memory");
  ERR_clear_error();
  int ret = DTLSv1_listen(s->ssl, client);
  BIO_ADDR_free(client);
  if (ret == 1) return 1; /* the ClientHello stays queued for the handshake */
  jsec_dgram_bio_clear(in);  /* anything else is dropped here, never kept */
  /* No amplification: a HelloVerifyRequest larger than what caused it is not sent. */
  BIO *out = SSL_get_wbio(s->ssl);
  if (BIO_ctrl_pending(out) > (size_t)len) jsec_dgram_bio_clear(out);
  ERR_clear_error();
  return 0;
}

int jsec_dtls_new_hello(jsec_session *s, const uint8_t *d, int len) {
  /* Record header: type, version(2), epoch(2), sequence(6), length(2); then the
   * handshake header: type, length(3), message_seq(2), fragment_offset(3),
   * fragment_length(3); then client_version(2) and the 32-byte random. */
  enum { RANDOM_AT = 13 + 12 + 2 };
  unsigned char random[32];
  if (len < RANDOM_AT + 32 || d[0] != 22 || d[3] != 0 || d[4] != 0 || d[13] != 1) return 0;
  if (d[19] != 0 || d[20] != 0 || d[21] != 0) return 0; /* a later fragment: no random in it */
  if (SSL_get_client_random(s->ssl, random, sizeof random) != sizeof random) return 0;
  return memcmp(random, d + RANDOM_AT, sizeof random) != 0;
}

/* ---- MTU and timers --------------------------------------------------- */

int jsec_dtls_mtu(jsec_session *s, int link_mtu, int ipv6) {
  ERR_clear_error();
  SSL_set_options(s->ssl, SSL_OP_NO_QUERY_MTU);
  jsec_dgram_bio_overhead(SSL_get_wbio(s->ssl), ipv6 ? 48 : 28);
  return DTLS_set_link_mtu(s->ssl, link_mtu) == 1 ? JSEC_OK : jsec_fail("mtu too small");
}

int jsec_dtls_data_mtu(jsec_session *s) { return (int)DTLS_get_data_mtu(s->ssl); }

int jsec_dtls_timeout(jsec_session *s) {
  struct timeval tv;
  if (DTLSv1_get_timeout(s->ssl, &tv) != 1) return -1;
  return (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
}

int jsec_dtls_timer(jsec_session *s) {
  ERR_clear_error();
  int ret = DTLSv1_handle_timeout(s->ssl);
  if (ret < 0) return jsec_fail("handshake timed out: too many retransmissions");
  return ret > 0 ? 1 : 0;
}

int jsec_dtls_versions(void) {
  int versions = 0;
  SSL_CTX *probe = SSL_CTX_new(DTLS_method());
  if (!probe) return 0;
  if (SSL_CTX_set_max_proto_version(probe, DTLS1_2_VERSION) == 1) versions |= 1;
  /* DTLS 1.3 (0xFEFC) from OpenSSL 4.1 on: older ones refuse the number. */
  if (SSL_CTX_set_max_proto_version(probe, 0xFEFC) == 1) versions |= 2;
  SSL_CTX_free(probe);
  ERR_clear_error();
  return versions;
}

/* ---- DTLS-SRTP (RFC 5764) and exported keys ------------------------------ */

int jsec_ctx_srtp(jsec_ctx *ctx, const char *profiles) {
#ifndef OPENSSL_NO_SRTP
  ERR_clear_error();
  /* Returns 0 on success. */
  return SSL_CTX_set_tlsext_use_srtp(ctx->ssl_ctx, profiles) == 0 ? JSEC_OK : jsec_fail("unsupported SRTP profile");
#else
  (void)ctx;
  (void)profiles;
  return jsec_fail("unsupported: this OpenSSL has no SRTP");
#endif
}

int jsec_srtp_profile(jsec_session *s, char *buf, int cap) {
  const char *name = NULL;
#ifndef OPENSSL_NO_SRTP
  SRTP_PROTECTION_PROFILE *profile = SSL_get_selected_srtp_profile(s->ssl);
  if (profile) name = profile->name;
#endif
  return jsec_copy_out(name, buf, cap);
}

int jsec_export(jsec_session *s, uint8_t *out, int len, const char *label, const uint8_t *context,
                int context_len) {
  ERR_clear_error();
  if (len <= 0 || !label) return jsec_fail("bad exporter arguments");
  int ok = SSL_export_keying_material(s->ssl, out, (size_t)len, label, strlen(label), context,
                                      context ? (size_t)context_len : 0, context != NULL);
  return ok == 1 ? JSEC_OK : jsec_fail("cannot export keying material (handshake not done?)");
}
