/* jsec_bio.h — the shim's in-memory byte-queue BIO (internal). */
#ifndef JSEC_BIO_H
#define JSEC_BIO_H

#include <openssl/bio.h>

BIO *jsec_bio_new(void);
void jsec_bio_end(BIO *b); /* no more bytes will come: reads past the end return 0 */
void jsec_bio_trim(BIO *b, size_t keep); /* frees the storage of an empty queue of at most `keep` bytes */
/* Lends the caller's bytes to read after the queued ones, until jsec_bio_unlend(),
 * which returns how many of them were read. */
void jsec_bio_lend(BIO *b, const unsigned char *bytes, size_t len);
size_t jsec_bio_unlend(BIO *b);
/* Lends the caller's buffer for writes to fill while the queue is empty, until
 * jsec_bio_unlend_room(), which returns how many bytes it holds. */
void jsec_bio_lend_room(BIO *b, unsigned char *room, size_t cap);
size_t jsec_bio_unlend_room(BIO *b);

#endif
