/*
 * jsec.c — the TLS half of the shim: contexts and sessions over jsec_bio.
 * See jsec.h for the contract. Nothing here blocks or touches a socket.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#if OPENSSL_VERSION_NUMBER < 0x30000000L
#include <openssl/dh.h> /* PEM_read_bio_DHparams, for dhparam */
#endif

#include "jsec.h"
#include "jsec_bio.h"
#include "jsec_dtls_bio.h"
#include "jsec_internal.h"

/* Process-wide: a runtime's Workers are threads that share the loaded shim, so
 * the counter is atomic and everything else global is set once (jsec_init,
 * CRYPTO_THREAD_run_once). Errors are per thread. */
static atomic_int live;
static int free_buffers_safe;
static _Thread_local char last_error[1024];

/* ---- errors ---------------------------------------------------------- */

/* A reason libssl has no text for. OpenSSL 1.1.1 names no alert it received after
 * TLS 1.2's (e.g. unknown_psk_identity): spell those as newer versions do. */
static void describe_unnamed(unsigned long e, char *buf, size_t cap) {
  int alert = ERR_GET_REASON(e) - SSL_AD_REASON_OFFSET;
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && alert > 0 && alert < 256) {
    int n = snprintf(buf, cap, "tlsv1 alert %s", SSL_alert_desc_string_long(alert));
    for (int i = 0; i < n && (size_t)i < cap; i++) buf[i] = (char)tolower((unsigned char)buf[i]);
    return;
  }
  snprintf(buf, cap, "error %lx", e);
}

/* Keeps the OpenSSL error queue (and `what`) as the text of this failure. */
int jsec_fail(const char *what) {
  size_t n = 0;
  unsigned long e;
  last_error[0] = 0;
  if (what) n = (size_t)snprintf(last_error, sizeof last_error, "%s", what);
  while ((e = ERR_get_error()) != 0) {
    if (n >= sizeof last_error - 1) continue; /* full: the rest is dropped, never left for a later call */
    const char *reason = ERR_reason_error_string(e);
    char code[80];
    if (!reason) {
      describe_unnamed(e, code, sizeof code);
      reason = code;
    }
    n += (size_t)snprintf(last_error + n, sizeof last_error - n, "%s%s", n ? "; " : "", reason);
  }
  if (n == 0) snprintf(last_error, sizeof last_error, "unknown error");
  return JSEC_ERROR;
}

int jsec_error(char *buf, int cap) {
  int len = (int)strlen(last_error);
  if (buf && cap > 0) snprintf(buf, (size_t)cap, "%s", last_error);
  return len;
}

int jsec_copy_out(const char *text, char *buf, int cap) {
  int len = text ? (int)strlen(text) : 0;
  if (buf && cap > len && len > 0) memcpy(buf, text, (size_t)len);
  return len;
}

/* ---- library --------------------------------------------------------- */

int jsec_version(char *buf, int cap) { return jsec_copy_out(OpenSSL_version(OPENSSL_VERSION), buf, cap); }

int jsec_live(void) { return live; }

void jsec_count(int delta) { live += delta; }

/* SSL_free_buffers() could touch freed memory before OpenSSL 3.0.14, 3.1.6,
 * 3.2.2 and 3.3.1 (CVE-2024-4741); 1.1.1 gets no fixed public release. */
static int free_buffers_is_safe(void) {
  unsigned long v = OpenSSL_version_num();
  return (v >= 0x300000e0L && v < 0x30100000L) || (v >= 0x30100060L && v < 0x30200000L) ||
         (v >= 0x30200020L && v < 0x30300000L) || v >= 0x30300010L;
}

/* Runs when the runtime loads the shim, before any other OpenSSL call. By default
 * libcrypto frees its global state from an atexit handler. Inside a runtime that
 * races with the runtime's own teardown (threads, finalizers) and can abort the
 * process with a double free as it exits; the OpenSSL maintainers advise never
 * cleaning up, as curl does. The process's memory goes back at exit anyway. */
__attribute__((constructor)) static void jsec_init(void) {
  OPENSSL_init_ssl(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
  free_buffers_safe = free_buffers_is_safe();
}

/* ---- context --------------------------------------------------------- */

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  jsec_ctx *ctx = arg;
  unsigned char *chosen;
  (void)ssl;
  if (SSL_select_next_proto(&chosen, outlen, ctx->alpn, (unsigned)ctx->alpn_len, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL; /* RFC 7301: no_application_protocol */
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

/* "*.example.com" matches exactly one leftmost label. */
static int name_matches(const char *pattern, const char *name) {
  if (pattern[0] == '*' && pattern[1] == '.') {
    const char *dot = strchr(name, '.');
    return dot && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
  }
  return strcasecmp(pattern, name) == 0;
}

static int choose_certificate(SSL *ssl, int *alert, void *arg) {
  jsec_ctx *ctx = arg;
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  (void)alert;
  if (!name) return SSL_TLSEXT_ERR_NOACK;
  for (int i = 0; i < ctx->sni_count; i++) {
    if (name_matches(ctx->sni_names[i], name)) {
      SSL_set_SSL_CTX(ssl, ctx->sni_ctx[i]->ssl_ctx);
      return SSL_TLSEXT_ERR_OK;
    }
  }
  return SSL_TLSEXT_ERR_OK; /* unknown name: the default certificate answers */
}

/* The highest TLS version a ClientHello offers: its supported_versions
 * extension when present (GREASE values skipped), else legacy_version. */
static int client_max_version(SSL *ssl) {
  const unsigned char *ext;
  size_t len;
  int max = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &ext, &len) == 1 && len >= 1) {
    for (size_t i = 1; i + 1 < len && i < (size_t)ext[0] + 1; i += 2) {
      int v = (ext[i] << 8) | ext[i + 1];
      if (ext[i] == 3 && v > max) max = v;
    }
    if (max) return max;
  }
  return (int)SSL_client_hello_get0_legacy_version(ssl);
}

/* RFC 7507: a ClientHello with TLS_FALLBACK_SCSV that offers less than our
 * highest version is a downgrade a middlebox forced: inappropriate_fallback.
 * Checked here, before libssl's version check, which would answer a TLS 1.0
 * or 1.1 fallback with protocol_version instead. */
static int check_fallback(SSL *ssl, int *alert) {
  const unsigned char *suites;
  size_t n = SSL_client_hello_get0_ciphers(ssl, &suites);
  for (size_t i = 0; i + 1 < n; i += 2) {
    if (suites[i] != 0x56 || suites[i + 1] != 0x00) continue; /* TLS_FALLBACK_SCSV */
    int ours = (int)SSL_get_max_proto_version(ssl);
    if (ours == 0) ours = TLS1_3_VERSION;
    if (client_max_version(ssl) < ours) {
      *alert = SSL_AD_INAPPROPRIATE_FALLBACK;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
      ERR_raise(ERR_LIB_SSL, SSL_R_INAPPROPRIATE_FALLBACK); /* the reason, for our side's error */
#else
      SSLerr(SSL_F_SSL_DO_HANDSHAKE, SSL_R_INAPPROPRIATE_FALLBACK);
#endif
      return SSL_CLIENT_HELLO_ERROR;
    }
    break;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

/* A server's one client-hello callback (OpenSSL keeps one per context): the
 * fallback check, then a pause for TypeScript to choose a context by the
 * ClientHello, then one for a PSK identity it must look up. */
static int on_client_hello(SSL *ssl, int *alert, void *arg) {
  int r = check_fallback(ssl, alert);
  if (r == SSL_CLIENT_HELLO_SUCCESS) r = jsec_sni_client_hello(ssl, alert);
  return r == SSL_CLIENT_HELLO_SUCCESS ? jsec_psk_client_hello(ssl, alert, arg) : r;
}

jsec_ctx *jsec_ctx_new(int flags) {
  jsec_ctx *ctx = calloc(1, sizeof *ctx);
  ERR_clear_error();
  if (!ctx) return NULL;
  int dtls = flags & JSEC_DTLS;
  ctx->ssl_ctx = SSL_CTX_new((flags & JSEC_SERVER) ? (dtls ? DTLS_server_method() : TLS_server_method())
                                                   : (dtls ? DTLS_client_method() : TLS_client_method()));
  if (!ctx->ssl_ctx) {
    jsec_fail("cannot create an SSL_CTX");
    free(ctx);
    return NULL;
  }
  ctx->server = flags & JSEC_SERVER;
  ctx->datagram = dtls != 0;
  SSL_CTX_set_min_proto_version(ctx->ssl_ctx, dtls ? DTLS1_2_VERSION : TLS1_2_VERSION);
  /* TLS 1.2: forward secrecy and AEAD only (Mozilla "intermediate" without
   * FFDHE); `ciphers` opens older suites. OpenSSL's DEFAULT would also offer
   * RSA key exchange and CBC with SHA-1. */
  SSL_CTX_set_cipher_list(ctx->ssl_ctx, JSEC_DEFAULT_TLS12_CIPHERS);
  SSL_CTX_set_mode(ctx->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (flags & JSEC_SERVER) {
    /* Client-initiated renegotiation only costs the server CPU. */
    SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_tlsext_servername_callback(ctx->ssl_ctx, choose_certificate);
    SSL_CTX_set_tlsext_servername_arg(ctx->ssl_ctx, ctx);
    SSL_CTX_set_client_hello_cb(ctx->ssl_ctx, on_client_hello, ctx);
  }
  SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER, NULL);
  jsec_resume_ctx_init(ctx);
  if (dtls) jsec_dtls_ctx_init(ctx);
  live++;
  return ctx;
}

void jsec_ctx_free(jsec_ctx *ctx) {
  if (!ctx) return;
  for (int i = 0; i < ctx->sni_count; i++) free(ctx->sni_names[i]);
  SSL_CTX_free(ctx->ssl_ctx);
  jsec_revocation_free(ctx);
  jsec_keys_ctx_free(ctx);
  jsec_tickets_ctx_free(ctx);
  free(ctx->alpn);
  free(ctx);
  live--;
}

/* Never prompts: a key that needs a passphrase and has none just fails. */
static int passphrase_cb(char *buf, int size, int rwflag, void *u) {
  (void)rwflag;
  if (!u) return -1;
  int len = (int)strlen(u);
  if (len > size) return -1;
  memcpy(buf, u, (size_t)len);
  return len;
}

int jsec_ctx_cert(jsec_ctx *ctx, const uint8_t *chain_pem, int chain_len, const uint8_t *key_pem,
                  int key_len, const char *passphrase) {
  int status = JSEC_ERROR;
  BIO *chain = BIO_new_mem_buf(chain_pem, chain_len);
  BIO *keybio = BIO_new_mem_buf(key_pem, key_len);
  X509 *leaf = NULL, *extra;
  EVP_PKEY *key = NULL;
  ERR_clear_error();
  if (!chain || !keybio) {
    jsec_fail("out of memory");
    goto done;
  }
  leaf = PEM_read_bio_X509(chain, NULL, passphrase_cb, NULL);
  if (!leaf) {
    jsec_fail("no certificate in cert PEM");
    goto done;
  }
  if (SSL_CTX_use_certificate(ctx->ssl_ctx, leaf) != 1) {
    jsec_fail("certificate rejected");
    goto done;
  }
  SSL_CTX_clear_chain_certs(ctx->ssl_ctx);
  while ((extra = PEM_read_bio_X509(chain, NULL, passphrase_cb, NULL)) != NULL) {
    if (SSL_CTX_add0_chain_cert(ctx->ssl_ctx, extra) != 1) {
      X509_free(extra);
      jsec_fail("chain certificate rejected");
      goto done;
    }
  }
  ERR_clear_error(); /* the end of the PEM stream */
  if (!jsec_is_pem_key(key_pem, key_len)) {
    if (!(key = jsec_store_key(key_pem, key_len, passphrase))) goto done;
  } else if (!(key = PEM_read_bio_PrivateKey(keybio, NULL, passphrase_cb, (void *)passphrase))) {
    jsec_fail(passphrase ? "cannot read key (wrong passphrase?)" : "cannot read key");
    goto done;
  }
  if (SSL_CTX_use_PrivateKey(ctx->ssl_ctx, key) != 1 || SSL_CTX_check_private_key(ctx->ssl_ctx) != 1) {
    jsec_fail("key does not match certificate");
    goto done;
  }
  status = JSEC_OK;
done:
  X509_free(leaf);
  EVP_PKEY_free(key);
  BIO_free(chain);
  BIO_free(keybio);
  return status;
}

int jsec_ctx_trust(jsec_ctx *ctx, const uint8_t *pem, int len) {
  ERR_clear_error();
  if (len == 0) return SSL_CTX_set_default_verify_paths(ctx->ssl_ctx) == 1 ? JSEC_OK : jsec_fail("no system roots");
  X509_STORE *store = SSL_CTX_get_cert_store(ctx->ssl_ctx);
  BIO *bio = BIO_new_mem_buf(pem, len);
  X509 *cert;
  int added = 0;
  if (!bio) return jsec_fail("out of memory");
  while ((cert = PEM_read_bio_X509(bio, NULL, passphrase_cb, NULL)) != NULL) {
    if (X509_STORE_add_cert(store, cert) == 1) added++;
    X509_free(cert);
  }
  BIO_free(bio);
  if (!added) return jsec_fail("no certificate in CA PEM");
  ERR_clear_error();
  return JSEC_OK;
}

/* Lets the chain check go on past each error; the session's verify result
 * keeps the failure (SSL_get_verify_result), the handshake does not stop. */
static int record_only(int ok, X509_STORE_CTX *store) {
  (void)ok;
  (void)store;
  return 1;
}

int jsec_ctx_verify(jsec_ctx *ctx, int mode) {
  ERR_clear_error();
  int flags = mode == JSEC_VERIFY_NONE ? SSL_VERIFY_NONE : SSL_VERIFY_PEER;
  if (mode == JSEC_VERIFY_REQUIRE) flags |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx->ssl_ctx, flags, mode == JSEC_VERIFY_REQUEST ? record_only : NULL);
  return JSEC_OK;
}

int jsec_ctx_versions(jsec_ctx *ctx, int min, int max) {
  ERR_clear_error();
  if ((min && SSL_CTX_set_min_proto_version(ctx->ssl_ctx, min) != 1) ||
      (max && SSL_CTX_set_max_proto_version(ctx->ssl_ctx, max) != 1))
    return jsec_fail("unsupported protocol version");
  return JSEC_OK;
}

int jsec_ctx_ciphers(jsec_ctx *ctx, const char *tls12, const char *tls13) {
  ERR_clear_error();
  if (tls12) ctx->ciphers_set = 1;
  if (tls12 && SSL_CTX_set_cipher_list(ctx->ssl_ctx, tls12) != 1) return jsec_fail("no usable TLS 1.2 cipher");
  if (tls13 && SSL_CTX_set_ciphersuites(ctx->ssl_ctx, tls13) != 1) return jsec_fail("no usable TLS 1.3 cipher suite");
  return JSEC_OK;
}

/* Appends `name` to the colon-separated list `list`. */
static void append_name(char *list, const char *name) {
  if (*list) strcat(list, ":");
  strcat(list, name);
}

/* Server: finite-field DHE for TLS 1.2, with the RFC 7919 groups sized to the
 * certificate (pem NULL) or the parameters in `pem`. Unless `ciphers` chose the
 * suites, the DHE AEAD ones join the defaults, after the ECDHE ones. */
int jsec_ctx_dhparam(jsec_ctx *ctx, const uint8_t *pem, int len) {
  ERR_clear_error();
  if (!pem || len <= 0) {
    if (SSL_CTX_set_dh_auto(ctx->ssl_ctx, 1) != 1) return jsec_fail("cannot enable DHE");
  } else {
    BIO *bio = BIO_new_mem_buf(pem, len);
    if (!bio) return jsec_fail("out of memory");
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    EVP_PKEY *params = PEM_read_bio_Parameters(bio, NULL);
    int ok = params && EVP_PKEY_is_a(params, "DH") && SSL_CTX_set0_tmp_dh_pkey(ctx->ssl_ctx, params) == 1;
    if (!ok) EVP_PKEY_free(params);
#else
    DH *params = PEM_read_bio_DHparams(bio, NULL, NULL, NULL);
    int ok = params && SSL_CTX_set_tmp_dh(ctx->ssl_ctx, params) == 1;
    DH_free(params);
#endif
    BIO_free(bio);
    if (!ok) return jsec_fail("no usable DH parameters in dhparam PEM");
  }
  ctx->dhe = 1;
  return jsec_default_tls12_suites(ctx);
}

int jsec_default_tls12_suites(jsec_ctx *ctx) {
  char list[512];
  if (ctx->ciphers_set) return JSEC_OK;
  snprintf(list, sizeof list, "%s%s%s", JSEC_DEFAULT_TLS12_CIPHERS, ctx->dhe ? ":" JSEC_DHE_TLS12_CIPHERS : "",
           ctx->psk ? ":" JSEC_PSK_TLS12_CIPHERS : "");
  return SSL_CTX_set_cipher_list(ctx->ssl_ctx, list) == 1 ? JSEC_OK : jsec_fail("no usable TLS 1.2 cipher");
}

/* Sets the groups, skipping the names this libssl does not know, as OpenSSL
 * >= 3.5 does for "?name" (a list written for a newer OpenSSL, such as
 * "X25519MLKEM768:X25519", still works on 3.0); fails only when none is
 * usable, naming the unknown ones. */
int jsec_ctx_groups(jsec_ctx *ctx, const char *groups) {
  ERR_clear_error();
  if (SSL_CTX_set1_groups_list(ctx->ssl_ctx, groups) == 1) return JSEC_OK;
  ERR_clear_error();
  size_t size = strlen(groups) + 1;
  char *copy = strdup(groups), *known = calloc(1, size), *unknown = calloc(1, size), *rest = NULL;
  int status = JSEC_ERROR;
  if (!copy || !known || !unknown) {
    jsec_fail("out of memory");
    goto done;
  }
  for (char *name = strtok_r(copy, ":", &rest); name; name = strtok_r(NULL, ":", &rest)) {
    while (*name == '?') name++;
    if (!*name) continue;
    /* One name alone: whether this libssl knows it (the list is set again below). */
    append_name(SSL_CTX_set1_groups_list(ctx->ssl_ctx, name) == 1 ? known : unknown, name);
  }
  ERR_clear_error();
  if (*known && SSL_CTX_set1_groups_list(ctx->ssl_ctx, known) == 1) {
    status = JSEC_OK;
  } else {
    char what[512];
    snprintf(what, sizeof what, "no usable group (unknown to this OpenSSL: %.400s)", *unknown ? unknown : groups);
    jsec_fail(what);
  }
done:
  free(copy);
  free(known);
  free(unknown);
  return status;
}

int jsec_ctx_alpn(jsec_ctx *ctx, const uint8_t *wire, int len) {
  ERR_clear_error();
  if (ctx->server) {
    unsigned char *copy = malloc((size_t)len);
    if (!copy) return jsec_fail("out of memory");
    memcpy(copy, wire, (size_t)len);
    free(ctx->alpn);
    ctx->alpn = copy;
    ctx->alpn_len = len;
    SSL_CTX_set_alpn_select_cb(ctx->ssl_ctx, select_alpn, ctx);
    return JSEC_OK;
  }
  /* SSL_CTX_set_alpn_protos returns 0 on success. */
  return SSL_CTX_set_alpn_protos(ctx->ssl_ctx, wire, (unsigned)len) == 0 ? JSEC_OK : jsec_fail("bad ALPN list");
}

int jsec_ctx_sni(jsec_ctx *ctx, const char *name, jsec_ctx *for_name) {
  ERR_clear_error();
  if (ctx->sni_count == JSEC_MAX_SNI) return jsec_fail("too many server names");
  char *copy = strdup(name);
  if (!copy) return jsec_fail("out of memory");
  ctx->sni_names[ctx->sni_count] = copy;
  ctx->sni_ctx[ctx->sni_count++] = for_name;
  return JSEC_OK;
}

/* ---- session --------------------------------------------------------- */

/* Counts completed handshakes; caps a client's renegotiations per window. */
static void on_info(const SSL *ssl, int where, int ret) {
  jsec_session *s = SSL_get_app_data(ssl);
  (void)ret;
  if (!(where & SSL_CB_HANDSHAKE_DONE) || !s) return;
  /* TLS 1.3 reports its post-handshake messages (tickets, KeyUpdate) this way too. */
  if (s->handshakes > 0 && SSL_version(ssl) >= TLS1_3_VERSION) return;
  if (s->handshakes++ == 0 || SSL_is_server(ssl)) return;
  long now = (long)time(NULL);
  if (s->renegotiations == 0 || now - s->renegotiation_from >= JSEC_RENEGOTIATION_WINDOW) {
    s->renegotiations = 0;
    s->renegotiation_from = now;
  }
  if (++s->renegotiations >= JSEC_RENEGOTIATION_LIMIT) SSL_set_options((SSL *)ssl, SSL_OP_NO_RENEGOTIATION);
}

/* Client: once the window of a capped client has passed, renegotiation is followed again. */
static void renew_renegotiation_window(jsec_session *s) {
  if (s->renegotiations < JSEC_RENEGOTIATION_LIMIT || SSL_is_server(s->ssl)) return;
  if ((long)time(NULL) - s->renegotiation_from < JSEC_RENEGOTIATION_WINDOW) return;
  s->renegotiations = 0;
  SSL_clear_options(s->ssl, SSL_OP_NO_RENEGOTIATION);
}

jsec_session *jsec_new(jsec_ctx *ctx) {
  jsec_session *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  ERR_clear_error();
  s->ssl = SSL_new(ctx->ssl_ctx);
  s->in = ctx->datagram ? jsec_dgram_bio_new() : jsec_bio_new();
  s->out = ctx->datagram ? jsec_dgram_bio_new() : jsec_bio_new();
  if (!s->ssl || !s->in || !s->out) {
    jsec_fail("cannot create a session");
    SSL_free(s->ssl);
    BIO_free(s->in);
    BIO_free(s->out);
    free(s);
    return NULL;
  }
  SSL_set_bio(s->ssl, s->in, s->out); /* the SSL owns both BIOs now */
  if (ctx->server)
    SSL_set_accept_state(s->ssl);
  else
    SSL_set_connect_state(s->ssl);
  jsec_resume_session_init(s);
  SSL_set_info_callback(s->ssl, on_info);
  live++;
  return s;
}

int jsec_handshake_count(jsec_session *s) { return s->handshakes; }

void jsec_free(jsec_session *s) {
  if (!s) return;
  free(s->deferred_error);
  jsec_resume_session_free(s); /* before SSL_free: it settles how the session ended */
  SSL_free(s->ssl);
  jsec_keys_session_free(s);
  jsec_sni_session_free(s);
  free(s);
  live--;
}

int jsec_host(jsec_session *s, const char *servername, const char *verify_name) {
  ERR_clear_error();
  if (servername && *servername && SSL_set_tlsext_host_name(s->ssl, servername) != 1)
    return jsec_fail("bad server name");
  if (verify_name && *verify_name) {
    X509_VERIFY_PARAM *param = SSL_get0_param(s->ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    /* An IP literal is checked against IP SANs; anything else as a DNS name. */
    if (X509_VERIFY_PARAM_set1_ip_asc(param, verify_name) != 1) {
      ERR_clear_error();
      if (X509_VERIFY_PARAM_set1_host(param, verify_name, 0) != 1) return jsec_fail("bad host name");
    }
  }
  return JSEC_OK;
}

int jsec_feed(jsec_session *s, const uint8_t *buf, int len) {
  ERR_clear_error();
  if (len == 0) {
    if (!SSL_is_dtls(s->ssl)) jsec_bio_end(s->in); /* a datagram transport has no end */
    return 0;
  }
  return BIO_write(s->in, buf, len) == len ? len : jsec_fail("out of memory");
}

int jsec_pending(jsec_session *s) { return (int)BIO_ctrl_pending(s->out); }

int jsec_take(jsec_session *s, uint8_t *buf, int cap) {
  int n = BIO_read(s->out, buf, cap);
  return n > 0 ? n : 0;
}

void jsec_idle(jsec_session *s) {
  if (!free_buffers_safe || SSL_is_dtls(s->ssl)) return;
  SSL_free_buffers(s->ssl); /* refuses (returns 0) while a record is partly read or written */
  jsec_bio_trim(s->in, 64 * 1024);
  jsec_bio_trim(s->out, 64 * 1024);
}

/* Turns an SSL_* return value into a status, keeping the reason on error. */
static int status_of(jsec_session *s, int ret) {
  switch (SSL_get_error(s->ssl, ret)) {
    case SSL_ERROR_NONE:
      return JSEC_OK;
    case SSL_ERROR_WANT_READ:
      return JSEC_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
      return JSEC_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
      return JSEC_CLOSED;
    case SSL_ERROR_WANT_CLIENT_HELLO_CB: /* jsec_sni.c paused for a context, or jsec_keys.c for a PSK */
      return jsec_sni_waiting(s) ? JSEC_WANT_SNI : JSEC_WANT_PSK;
    case SSL_ERROR_SYSCALL: /* 1.1.1 reports a bare EOF this way */
      if (ERR_peek_error() == 0) {
        ERR_clear_error();
        snprintf(last_error, sizeof last_error, "unexpected eof while reading");
        return JSEC_ERROR;
      }
      return jsec_fail(NULL);
    default: {
      /* Named a verification failure only when verification is what failed:
       * with verification off the session keeps a non-zero verify result, and
       * a later fault (a cut connection, a bad record) is not about it. */
      long verify = SSL_get_verify_result(s->ssl);
      if (verify != X509_V_OK && ERR_GET_REASON(ERR_peek_error()) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        char what[256];
        snprintf(what, sizeof what, "certificate verify failed: %s",
                 X509_verify_cert_error_string(verify));
        ERR_clear_error();
        return jsec_fail(what);
      }
      return jsec_fail(NULL);
    }
  }
}

int jsec_handshake(jsec_session *s) {
  ERR_clear_error();
  int ret = SSL_do_handshake(s->ssl);
  return ret == 1 ? JSEC_OK : status_of(s, ret);
}

/* Returns (once) the status a fused jsec_read met after it had read data. */
static int take_deferred(jsec_session *s) {
  int status = s->deferred;
  s->deferred = 0;
  if (s->deferred_error) {
    snprintf(last_error, sizeof last_error, "%s", s->deferred_error);
    free(s->deferred_error);
    s->deferred_error = NULL;
  }
  return status;
}

/* Reads whole records for as long as they are there and `buf` has room: one
 * call per buffer, not per 16 KiB record. A failure met after some data is
 * kept and returned by the next call, so no data is lost before it. */
int jsec_read(jsec_session *s, uint8_t *buf, int cap) {
  if (s->deferred) return take_deferred(s);
  ERR_clear_error();
  renew_renegotiation_window(s);
  int ret = SSL_read(s->ssl, buf, cap);
  if (ret <= 0) return status_of(s, ret);
  int total = ret;
  /* DTLS: one record, one message. */
  while (!SSL_is_dtls(s->ssl) && total < cap && (SSL_pending(s->ssl) > 0 || BIO_ctrl_pending(s->in) > 0)) {
    ret = SSL_read(s->ssl, buf + total, cap - total);
    if (ret > 0) {
      total += ret;
      continue;
    }
    int status = status_of(s, ret);
    if (status != JSEC_WANT_READ) {
      s->deferred = status;
      if (status == JSEC_ERROR) s->deferred_error = strdup(last_error);
    }
    break;
  }
  return total;
}

int jsec_read_from(jsec_session *s, const uint8_t *in, int in_len, uint8_t *buf, int cap, int *in_used) {
  *in_used = 0;
  if (SSL_is_dtls(s->ssl)) return jsec_fail("jsec_read_from is for TLS: feed DTLS one datagram at a time");
  jsec_bio_lend(s->in, in, in_len > 0 ? (size_t)in_len : 0);
  int ret = jsec_read(s, buf, cap);
  *in_used = (int)jsec_bio_unlend(s->in);
  return ret;
}

int jsec_write(jsec_session *s, const uint8_t *buf, int len) {
  ERR_clear_error();
  /* A TLS 1.2 renegotiation the peer started is under way: jsec_read must
   * drive it to its end. OpenSSL takes the application data the peer may send
   * meanwhile only inside SSL_read; met inside SSL_write it is a fatal
   * "unexpected record". */
  if (SSL_in_init(s->ssl)) return JSEC_WANT_READ;
  int ret = SSL_write(s->ssl, buf, len);
  return ret > 0 ? ret : status_of(s, ret);
}

int jsec_write_into(jsec_session *s, const uint8_t *buf, int len, uint8_t *out, int cap, int *out_end) {
  if (SSL_is_dtls(s->ssl)) return jsec_fail("jsec_write_into is for TLS: take DTLS datagrams one at a time");
  if (cap < 0) cap = 0;
  int start = *out_end < 0 ? 0 : *out_end > cap ? cap : *out_end;
  jsec_bio_lend_room(s->out, out + start, (size_t)(cap - start));
  int ret = jsec_write(s, buf, len);
  *out_end = start + (int)jsec_bio_unlend_room(s->out);
  return ret;
}

int jsec_shutdown(jsec_session *s) {
  ERR_clear_error();
  int ret = SSL_shutdown(s->ssl);
  if (ret == 1) return JSEC_OK;
  if (ret == 0) return JSEC_WANT_READ; /* ours is out; the peer's is still to come */
  return status_of(s, ret);
}

int jsec_key_update(jsec_session *s, int ask_peer) {
  ERR_clear_error();
  if (SSL_version(s->ssl) < TLS1_3_VERSION) return jsec_fail("KeyUpdate needs TLS 1.3");
  if (SSL_key_update(s->ssl, ask_peer ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED) != 1)
    return jsec_fail(NULL);
  int ret = SSL_do_handshake(s->ssl); /* sends the KeyUpdate message now */
  return ret == 1 ? JSEC_OK : status_of(s, ret);
}

/* ---- what was negotiated --------------------------------------------- */

static const char *group_name(SSL *ssl) {
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
  return SSL_get0_group_name(ssl);
#elif OPENSSL_VERSION_NUMBER >= 0x30000000L
  int nid = SSL_get_negotiated_group(ssl);
  return nid ? SSL_group_to_name(ssl, nid) : NULL;
#else
  /* 1.1.1 names the group only through the peer's ephemeral key. */
  EVP_PKEY *key = NULL;
  const char *name = NULL;
  if (SSL_get_peer_tmp_key(ssl, &key) == 1) {
    int id = EVP_PKEY_id(key);
    if (id == EVP_PKEY_EC) {
      const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(key);
      id = EC_GROUP_get_curve_name(EC_KEY_get0_group(ec));
      name = EC_curve_nid2nist(id);
    }
    if (!name) name = OBJ_nid2sn(id);
    EVP_PKEY_free(key);
  }
  return name;
#endif
}

int jsec_info(jsec_session *s, int field, char *buf, int cap) {
  const unsigned char *alpn = NULL;
  unsigned alpn_len = 0;
  switch (field) {
    case JSEC_INFO_PROTOCOL:
      return jsec_copy_out(SSL_get_version(s->ssl), buf, cap);
    case JSEC_INFO_CIPHER:
      return jsec_copy_out(SSL_get_cipher_name(s->ssl), buf, cap);
    case JSEC_INFO_GROUP:
      return jsec_copy_out(group_name(s->ssl), buf, cap);
    case JSEC_INFO_ALPN:
      SSL_get0_alpn_selected(s->ssl, &alpn, &alpn_len);
      if (buf && cap > (int)alpn_len && alpn_len > 0) memcpy(buf, alpn, alpn_len);
      return (int)alpn_len;
    case JSEC_INFO_SERVERNAME:
      return jsec_copy_out(SSL_get_servername(s->ssl, TLSEXT_NAMETYPE_host_name), buf, cap);
    default:
      return 0;
  }
}

int jsec_peer_cert(jsec_session *s, int index, uint8_t *buf, int cap) {
  /* The leaf, then the chain without it: whether SSL_get_peer_cert_chain()
   * holds the leaf differs between client and server and across versions. */
  X509 *leaf = SSL_get_peer_certificate(s->ssl), *cert = NULL;
  STACK_OF(X509) *chain = SSL_get_peer_cert_chain(s->ssl);
  if (!leaf) return -1;
  X509_free(leaf); /* the session keeps its own reference */
  if (index == 0) {
    cert = leaf;
  } else {
    int seen = 0;
    for (int i = 0; chain && i < sk_X509_num(chain) && !cert; i++) {
      X509 *c = sk_X509_value(chain, i);
      if (X509_cmp(c, leaf) != 0 && ++seen == index) cert = c;
    }
    if (!cert) return -1;
  }
  int len = i2d_X509(cert, NULL);
  if (buf && len > 0 && len <= cap) {
    unsigned char *p = buf;
    i2d_X509(cert, &p);
  }
  return len;
}

int jsec_verify_result(jsec_session *s) { return (int)SSL_get_verify_result(s->ssl); }
