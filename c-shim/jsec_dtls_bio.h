/* jsec_dtls_bio.h — the shim's datagram-queue BIO for DTLS (internal). */
#ifndef JSEC_DTLS_BIO_H
#define JSEC_DTLS_BIO_H

#include <openssl/bio.h>

BIO *jsec_dgram_bio_new(void);
/* The bytes of IP and UDP headers under each datagram (28 for IPv4, 48 for IPv6). */
void jsec_dgram_bio_overhead(BIO *b, int overhead);
void jsec_dgram_bio_clear(BIO *b); /* drops every queued datagram */

#endif
