/*
 * jsec.h — a tiny, non-blocking TLS API over OpenSSL memory buffers.
 *
 * The shim never touches a socket. Ciphertext goes in with jsec_feed() and
 * comes out with jsec_take(); plaintext moves with jsec_read()/jsec_write().
 * Every call returns a count (>= 0) or one of the JSEC_* statuses (< 0).
 * On JSEC_ERROR the reason is kept for jsec_error() until the next failure.
 *
 * Compiles unchanged against OpenSSL 1.1.1, 3.x and 4.0.
 */
#ifndef JSEC_H
#define JSEC_H

#include <stdint.h>

/* Statuses (negative so that counts and statuses share one return value). */
#define JSEC_OK 0
#define JSEC_ERROR (-1)
#define JSEC_WANT_READ (-2)  /* feed more ciphertext, then call again */
#define JSEC_WANT_WRITE (-3) /* take pending ciphertext, then call again */
#define JSEC_CLOSED (-4)     /* the peer sent close_notify */
#define JSEC_WANT_PSK (-5)   /* server: answer jsec_psk_identity() with jsec_psk_answer(), then call again */
#define JSEC_WANT_SNI (-6)   /* server: read jsec_sni_hello(), answer with jsec_sni_answer(), then call again */

/* jsec_ctx_new() flags. */
#define JSEC_SERVER 1
#define JSEC_DTLS 2 /* DTLS over datagrams (jsec_dtls.c) instead of TLS over a byte stream */

/* jsec_ctx_verify() modes. */
#define JSEC_VERIFY_NONE 0
#define JSEC_VERIFY_PEER 1    /* verify a certificate if the peer sends one */
#define JSEC_VERIFY_REQUIRE 2 /* and fail when it sends none */
#define JSEC_VERIFY_REQUEST 3 /* ask for a certificate, record its verification, never fail on it */

/* jsec_info() fields. */
#define JSEC_INFO_PROTOCOL 1
#define JSEC_INFO_CIPHER 2
#define JSEC_INFO_GROUP 3
#define JSEC_INFO_ALPN 4
#define JSEC_INFO_SERVERNAME 5

typedef struct jsec_ctx jsec_ctx;
typedef struct jsec_session jsec_session;

/* Library. */
int jsec_version(char *buf, int cap); /* OpenSSL version text, like `openssl version` */
int jsec_live(void);                  /* contexts + sessions + held saved sessions not yet freed */
int jsec_error(char *buf, int cap);   /* text of the last JSEC_ERROR */

/* Context: configuration shared by many sessions. */
jsec_ctx *jsec_ctx_new(int flags);
void jsec_ctx_free(jsec_ctx *ctx);
int jsec_ctx_cert(jsec_ctx *ctx, const uint8_t *chain_pem, int chain_len,
                  const uint8_t *key_pem, int key_len, const char *passphrase);
int jsec_ctx_trust(jsec_ctx *ctx, const uint8_t *pem, int len); /* len 0: system roots */
int jsec_ctx_verify(jsec_ctx *ctx, int mode);
int jsec_ctx_versions(jsec_ctx *ctx, int min, int max); /* 0x0303 = TLS 1.2; 0 = default */
int jsec_ctx_ciphers(jsec_ctx *ctx, const char *tls12, const char *tls13);
int jsec_ctx_groups(jsec_ctx *ctx, const char *groups);
int jsec_ctx_dhparam(jsec_ctx *ctx, const uint8_t *pem, int len); /* server; pem NULL: RFC 7919 groups ("auto") */
int jsec_ctx_alpn(jsec_ctx *ctx, const uint8_t *wire, int len); /* length-prefixed list */
int jsec_ctx_sni(jsec_ctx *ctx, const char *name, jsec_ctx *for_name);

/* Session: one connection's TLS state. */
jsec_session *jsec_new(jsec_ctx *ctx);
void jsec_free(jsec_session *s);
int jsec_host(jsec_session *s, const char *servername, const char *verify_name);
int jsec_feed(jsec_session *s, const uint8_t *buf, int len); /* len 0: the transport ended */
int jsec_pending(jsec_session *s);                           /* ciphertext bytes waiting */
int jsec_take(jsec_session *s, uint8_t *buf, int cap);
void jsec_idle(jsec_session *s); /* frees the record buffers while they are empty */
int jsec_handshake(jsec_session *s);
int jsec_read(jsec_session *s, uint8_t *buf, int cap);
/* jsec_read() over the ciphertext in `in` (after any fed before), read straight
 * from it instead of queued first: *in_used tells how much of it was taken; the rest
 * stays the caller's. */
int jsec_read_from(jsec_session *s, const uint8_t *in, int in_len, uint8_t *buf, int cap, int *in_used);
int jsec_write(jsec_session *s, const uint8_t *buf, int len);
/* jsec_write() whose ciphertext goes straight into `out`, from *out_end on, while
 * none is pending (jsec_pending() == 0); *out_end is then where it ends. What does
 * not fit is pending as usual: send `out` first, then what jsec_take() gives. */
int jsec_write_into(jsec_session *s, const uint8_t *buf, int len, uint8_t *out, int cap, int *out_end);
int jsec_shutdown(jsec_session *s); /* JSEC_OK once both sides sent close_notify */
int jsec_key_update(jsec_session *s, int ask_peer);

/* What was negotiated. */
int jsec_info(jsec_session *s, int field, char *buf, int cap);
int jsec_peer_cert(jsec_session *s, int index, uint8_t *buf, int cap); /* DER; index 0 = leaf */
int jsec_verify_result(jsec_session *s); /* X509_V_OK (0) or an X509_V_ERR_* code */
int jsec_handshake_count(jsec_session *s); /* completed handshakes: 1, plus each TLS 1.2 renegotiation */

/* Session resumption (jsec_resume.c). A saved session is DER (i2d_SSL_SESSION) and a secret. */
int jsec_ctx_resumption(jsec_ctx *ctx, int on); /* server: tickets and session cache (default on) */
int jsec_session_check(const uint8_t *der, int len); /* its protocol version (0x0304), or JSEC_ERROR */
/* Client, before the handshake: 1 when offered; 0 when its certificate is not one this
   session would accept (fails verification here, or does not name verify_name). */
int jsec_session_offer(jsec_session *s, const uint8_t *der, int len, const char *verify_name);
int jsec_session_count(jsec_session *s); /* client: new sessions from the server, not yet taken */
/* The oldest new session's DER length (-1 if none); removed once buf holds it (cap >= length). */
int jsec_session_take(jsec_session *s, uint8_t *buf, int cap);
/* A held session: one counted reference to an SSL_SESSION, kept native so that offering
   it again costs no parsing. Freed with jsec_held_free, once per take. */
typedef struct ssl_session_st jsec_held;
jsec_held *jsec_held_take(jsec_session *s); /* the oldest new session, removed; NULL if none */
int jsec_held_offer(jsec_session *s, jsec_held *held, const char *verify_name); /* as jsec_session_offer */
int jsec_held_der(jsec_held *held, uint8_t *buf, int cap); /* its DER length; written when cap >= it */
void jsec_held_free(jsec_held *held);
int jsec_resumed(jsec_session *s); /* 1 when the handshake resumed a session */

/* Key log and pre-shared keys (jsec_keys.c). */
int jsec_keylog_start(jsec_session *s, jsec_ctx *ctx); /* queue this session's NSS key-log lines */
/* The queued lines' length (0 if none); removed once buf holds them (cap > length). */
int jsec_keylog_take(jsec_session *s, uint8_t *buf, int cap);
/* Client: its one PSK; server: one more identity it accepts (TLS 1.3 external PSK, TLS 1.2 PSK suites). */
int jsec_ctx_psk(jsec_ctx *ctx, const char *identity, const uint8_t *key, int key_len);
/* Server: a TLS 1.3 identity the context does not know pauses this session's handshake (JSEC_WANT_PSK). */
int jsec_psk_ask_start(jsec_session *s, jsec_ctx *ctx);
int jsec_psk_identity(jsec_session *s, char *buf, int cap);              /* the identity asked about */
int jsec_psk_answer(jsec_session *s, const uint8_t *key, int key_len); /* key_len 0: no key for it */
int jsec_psk_used(jsec_session *s, char *buf, int cap); /* the external PSK's identity, or -1 */

/* Server: this session's ClientHello pauses its handshake (JSEC_WANT_SNI) for a choice of context. */
int jsec_sni_ask_start(jsec_session *s);
/* While paused: the ClientHello's cipher suites and extensions (server_name, ALPN, supported_versions,
 * supported_groups, signature_algorithms) as records of type (2 bytes; JSEC_HELLO_CIPHERS for the
 * suites, else the extension's), length (2) and the raw bytes. Returns the length (copied when it fits). */
#define JSEC_HELLO_CIPHERS 0xffff
int jsec_sni_hello(jsec_session *s, uint8_t *buf, int cap);
/* The answer: move to `ctx` (NULL: stay), or refuse with `alert` (e.g. 112 unrecognized_name) when not 0. */
int jsec_sni_answer(jsec_session *s, jsec_ctx *ctx, int alert);
/* Keying material exporter (RFC 5705), for TLS and DTLS; context may be NULL (none). */
int jsec_export(jsec_session *s, uint8_t *out, int len, const char *label, const uint8_t *context, int context_len);

/* DTLS (jsec_dtls.c), on sessions of a JSEC_DTLS context. jsec_feed() takes one
 * datagram per call and jsec_take() gives one (jsec_pending() is its size);
 * jsec_read() returns one record's message per call. */
int jsec_dtls_mtu(jsec_session *s, int link_mtu, int ipv6); /* the IP packet size the path allows */
int jsec_dtls_data_mtu(jsec_session *s); /* the largest message one record carries (after the handshake) */
int jsec_dtls_timeout(jsec_session *s);  /* ms until the retransmission timer fires, or -1 when it is off */
int jsec_dtls_timer(jsec_session *s);    /* the timer fired: 1 retransmitted, 0 nothing to do, JSEC_ERROR gave up */
/* Server: the stateless cookie exchange over one datagram from `peer` (any bytes naming
 * the address). 1: a ClientHello with a valid cookie, now this session's to continue;
 * 0: not (a HelloVerifyRequest may be pending to send back, the datagram is dropped). */
int jsec_dtls_listen(jsec_session *s, const uint8_t *datagram, int len, const uint8_t *peer, int peer_len);
/* Server: a new cookie secret now, for every DTLS listener of this thread; cookies made under the
 * one before still pass until the next change (which comes by itself every 60 s). JSEC_OK or JSEC_ERROR. */
int jsec_dtls_cookie_rotate(void);
/* Server, on an established session: 1 when `datagram` is a ClientHello that starts a new
 * association (another random than this session's: the peer restarted, RFC 6347 §4.2.8). */
int jsec_dtls_new_hello(jsec_session *s, const uint8_t *datagram, int len);
int jsec_dtls_versions(void); /* bit 0: DTLS 1.2, bit 1: DTLS 1.3, as this libssl offers them */
int jsec_ctx_srtp(jsec_ctx *ctx, const char *profiles); /* "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM" */
int jsec_srtp_profile(jsec_session *s, char *buf, int cap); /* the negotiated profile's name, "" if none */

/* Session ticket keys (jsec_tickets.c), server: 80 bytes each (name 16, HMAC-SHA256 32, AES-256 32).
   len 80: a new current key, the old current one stays as the previous; 160: current then previous;
   0: a random new current key. period > 0: a random new one every `period` seconds, too. */
int jsec_ctx_ticket_keys(jsec_ctx *ctx, const uint8_t *keys, int len, int period);
int jsec_ctx_ticket_keys_get(jsec_ctx *ctx, uint8_t *buf, int cap); /* 80 or 160 (0: OpenSSL's own keys) */
int jsec_ctx_ticket_share(jsec_ctx *ctx, jsec_ctx *from);            /* an `sni` context uses from's keys */


/* Encrypted Client Hello (jsec_ech.c), where libssl has it (4.0 on); elsewhere the calls fail. */
#define JSEC_ECH_NONE 0     /* not attempted (no ECH configured, or the client sent none) */
#define JSEC_ECH_ACCEPTED 1 /* the server decrypted the inner ClientHello */
#define JSEC_ECH_REJECTED 2 /* the client offered ECH, the server did not use it */
#define JSEC_ECH_GREASE 3   /* the client sent a GREASE ECH extension */
int jsec_ech_supported(void); /* 1 when this libssl has ECH */
/* Client: the ECHConfigList (binary or base64) to encrypt to, len 0 none; grease 1: send GREASE ECH
   when there is no list. Server: ECH keys, PEM as `openssl ech` writes (also sent as retry configs). */
int jsec_ctx_ech(jsec_ctx *ctx, const uint8_t *data, int len, int grease);
int jsec_ech_status(jsec_session *s);                               /* a JSEC_ECH_* value */
int jsec_ech_name(jsec_session *s, int outer, char *buf, int cap);  /* the inner (0) or outer (1) SNI, or -1 */
int jsec_ech_retry_configs(jsec_session *s, uint8_t *buf, int cap); /* client: the server's retry ECHConfigList, 0 if none */
/* A new ECH key for `public_name`, as PEM (private key, then its ECHConfig), kept for jsec_ca_result(). */
int jsec_ech_generate(const char *public_name);

#endif
