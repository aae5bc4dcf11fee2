/*
 * jsec_tickets.c — session ticket keys a server holds, rotates and shares.
 *
 * A key is 80 bytes: a 16-byte name (sent in the clear in each ticket), a
 * 32-byte HMAC-SHA256 key and a 32-byte AES-256-CBC key. A context has a
 * current key (it encrypts new tickets and decrypts) and may have a previous
 * one (it only decrypts; a ticket under it is accepted and re-issued under the
 * current key). Rotation makes a fresh current key and keeps the old one as
 * the previous: by hand (jsec_ctx_ticket_keys with one key), or every
 * `period` seconds, checked lazily when a ticket is made or read, so no timer
 * runs and nothing calls into JavaScript. A ticket under neither key gets a
 * full handshake. The keys hang off the jsec_ctx (found from the SSL_CTX's
 * app data, as in jsec_keys.c; not ex_data with a free callback, which would
 * outlive an unloaded shim) and are shared, counted, with the contexts of its
 * `sni` names, since OpenSSL may ask about a ticket before or after the server
 * name switched contexts.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#else
#include <openssl/hmac.h>
#endif

#include "jsec_internal.h"

#define NAME_LEN 16
#define SECRET_LEN 32
#define KEY_LEN (NAME_LEN + 2 * SECRET_LEN)
#define IV_LEN 16 /* AES-CBC */

struct jsec_tickets {
  int refs;
  int count;                      /* 1 or 2 */
  unsigned char key[2][KEY_LEN];  /* [0] current, [1] previous */
  long period;                    /* seconds between automatic rotations; 0 never */
  long long rotated_at;           /* milliseconds, monotonic clock */
};

static void release(struct jsec_tickets *keys) {
  if (keys && --keys->refs == 0) {
    OPENSSL_cleanse(keys, sizeof *keys);
    OPENSSL_free(keys);
  }
}

void jsec_tickets_ctx_free(jsec_ctx *ctx) {
  release(ctx->tickets);
  ctx->tickets = NULL;
}

static struct jsec_tickets *keys_of(SSL_CTX *ssl_ctx) {
  const jsec_ctx *ctx = SSL_CTX_get_app_data(ssl_ctx);
  return ctx ? ctx->tickets : NULL;
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Brings the keys up to date with their schedule: one rotation per period gone by, at
 * most two (after two, no key is left from before). */
static int keep_schedule(struct jsec_tickets *keys) {
  if (keys->period <= 0) return 1;
  long long now = now_ms(), period = keys->period * 1000LL, elapsed = now - keys->rotated_at;
  if (elapsed < period) return 1;
  int rotations = elapsed >= 2 * period ? 2 : 1;
  for (int i = 0; i < rotations; i++) {
    memcpy(keys->key[1], keys->key[0], KEY_LEN);
    if (RAND_bytes(keys->key[0], KEY_LEN) != 1) return 0;
  }
  keys->count = 2;
  keys->rotated_at = rotations == 2 ? now : keys->rotated_at + period;
  return 1;
}

/* Which key, if any, a ticket's name names: 0 current, 1 previous, -1 none. */
static int find(struct jsec_tickets *keys, const unsigned char *name) {
  for (int i = 0; i < keys->count; i++)
    if (CRYPTO_memcmp(keys->key[i], name, NAME_LEN) == 0) return i;
  return -1;
}

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
typedef EVP_MAC_CTX mac_ctx;
static int mac_init(mac_ctx *mac, unsigned char *secret) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, secret, SECRET_LEN),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}
#else
typedef HMAC_CTX mac_ctx;
static int mac_init(mac_ctx *mac, unsigned char *secret) {
  return HMAC_Init_ex(mac, secret, SECRET_LEN, EVP_sha256(), NULL) == 1;
}
#endif

/* OpenSSL's ticket key callback: 1 a key is set up, 2 also issue a new ticket, 0 no key for this ticket (a full handshake), -1 failure. */
static int ticket_key(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cipher, mac_ctx *mac,
                      int encrypt) {
  struct jsec_tickets *keys = keys_of(SSL_get_SSL_CTX(ssl));
  if (!keys || !keep_schedule(keys)) return -1;
  if (encrypt) {
    unsigned char *key = keys->key[0];
    if (RAND_bytes(iv, IV_LEN) != 1) return -1;
    memcpy(name, key, NAME_LEN);
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, key + NAME_LEN + SECRET_LEN, iv) != 1) return -1;
    return mac_init(mac, key + NAME_LEN) ? 1 : -1;
  }
  int which = find(keys, name);
  if (which < 0) return 0;
  unsigned char *key = keys->key[which];
  if (!mac_init(mac, key + NAME_LEN)) return -1;
  if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, key + NAME_LEN + SECRET_LEN, iv) != 1) return -1;
  /* TLS 1.3 clients get new tickets after each resumption (as with OpenSSL's own keys);
   * TLS 1.2 ones only when their ticket was under the previous key. */
  return which == 0 && SSL_version(ssl) < TLS1_3_VERSION ? 1 : 2;
}

static void install(jsec_ctx *ctx, struct jsec_tickets *keys) {
  keys->refs++;
  release(ctx->tickets);
  ctx->tickets = keys;
  SSL_CTX_set_app_data(ctx->ssl_ctx, ctx);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx->ssl_ctx, ticket_key);
#else
  SSL_CTX_set_tlsext_ticket_key_cb(ctx->ssl_ctx, ticket_key);
#endif
}

int jsec_ctx_ticket_keys(jsec_ctx *ctx, const uint8_t *keys_in, int len, int period) {
  if (!ctx->server) return jsec_fail("ticket keys are a server's");
  if (len != 0 && len != KEY_LEN && len != 2 * KEY_LEN)
    return jsec_fail("ticket keys are 80 bytes (name 16, HMAC 32, AES 32), or 160: the current and the previous");
  if (period < 0) return jsec_fail("a rotation period is 0 or more seconds");
  struct jsec_tickets *keys = ctx->tickets;
  if (!keys) {
    keys = OPENSSL_zalloc(sizeof *keys);
    if (!keys) return jsec_fail("out of memory");
    install(ctx, keys);
  } else if (keys->count > 0 && len != 2 * KEY_LEN) {
    memcpy(keys->key[1], keys->key[0], KEY_LEN); /* one new key: the current one becomes the previous */
    keys->count = 2;
  }
  if (len == 0) {
    if (RAND_bytes(keys->key[0], KEY_LEN) != 1) return jsec_fail("no random bytes for a ticket key");
  } else {
    memcpy(keys->key[0], keys_in, (size_t)(len < 2 * KEY_LEN ? KEY_LEN : len));
    if (len == 2 * KEY_LEN) keys->count = 2;
  }
  if (keys->count == 0) keys->count = 1;
  keys->period = period;
  keys->rotated_at = now_ms();
  return JSEC_OK;
}

int jsec_ctx_ticket_keys_get(jsec_ctx *ctx, uint8_t *buf, int cap) {
  struct jsec_tickets *keys = ctx->tickets;
  if (!keys) return 0;
  if (!keep_schedule(keys)) return jsec_fail("no random bytes for a ticket key");
  int len = keys->count * KEY_LEN;
  if (buf && cap >= len) memcpy(buf, keys->key, (size_t)len);
  return len;
}

int jsec_ctx_ticket_share(jsec_ctx *ctx, jsec_ctx *from) {
  if (!from->tickets) return jsec_fail("no ticket keys to share");
  if (!ctx->server) return jsec_fail("ticket keys are a server's");
  install(ctx, from->tickets);
  return JSEC_OK;
}
