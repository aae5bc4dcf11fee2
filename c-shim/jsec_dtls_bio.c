/*
 * jsec_dtls_bio.c — a BIO that queues whole datagrams, for DTLS.
 *
 * Each write is one datagram and each read returns one (truncated to the
 * reader's buffer, as a UDP socket would), so record boundaries survive in
 * both directions. BIO_s_dgram_mem() does this from OpenSSL 3.2 on; this one
 * builds everywhere. It answers the datagram controls DTLS asks: peek mode
 * (DTLSv1_listen looks at a ClientHello before taking it), the MTU overhead
 * (under DTLS_set_link_mtu) and "no MTU to query" (the MTU is given).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>

#include "jsec_dtls_bio.h"

typedef struct datagram {
  struct datagram *next;
  size_t len;
  unsigned char bytes[];
} datagram;

typedef struct {
  datagram *head, *tail;
  int peek;     /* reads leave the datagram queued */
  int overhead; /* IP + UDP header bytes */
} dgram_queue;

/* A bound on what one queue holds, so a flood cannot grow it without end. */
#define JSEC_DGRAM_MAX_QUEUED 256

static size_t queued(const dgram_queue *q) {
  size_t n = 0;
  for (const datagram *d = q->head; d; d = d->next) n++;
  return n;
}

static int dgram_write(BIO *b, const char *buf, int len) {
  dgram_queue *q = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (len < 0) return -1;
  if (queued(q) >= JSEC_DGRAM_MAX_QUEUED) return -1;
  datagram *d = malloc(sizeof *d + (size_t)len);
  if (!d) return -1;
  d->next = NULL;
  d->len = (size_t)len;
  memcpy(d->bytes, buf, (size_t)len);
  if (q->tail)
    q->tail->next = d;
  else
    q->head = d;
  q->tail = d;
  return len;
}

static void drop_head(dgram_queue *q) {
  datagram *d = q->head;
  q->head = d->next;
  if (!q->head) q->tail = NULL;
  free(d);
}

static int dgram_read(BIO *b, char *buf, int len) {
  dgram_queue *q = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (!q->head) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t n = q->head->len < (size_t)len ? q->head->len : (size_t)len;
  memcpy(buf, q->head->bytes, n);
  if (!q->peek) drop_head(q); /* what did not fit is lost, as with a UDP socket */
  return (int)n;
}

static long dgram_ctrl(BIO *b, int cmd, long num, void *ptr) {
  dgram_queue *q = BIO_get_data(b);
  (void)ptr;
  switch (cmd) {
    case BIO_CTRL_PENDING: /* the size of the next datagram */
      return q->head ? (long)q->head->len : 0;
    case BIO_CTRL_WPENDING:
      return 0;
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_SET_PEEK_MODE:
      q->peek = num != 0;
      return 1;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
      return q->overhead;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
    case BIO_CTRL_DGRAM_MTU_EXCEEDED:
    default:
      return 0;
  }
}

static int dgram_create(BIO *b) {
  dgram_queue *q = calloc(1, sizeof *q);
  if (!q) return 0;
  q->overhead = 28;
  BIO_set_data(b, q);
  BIO_set_init(b, 1);
  return 1;
}

static int dgram_destroy(BIO *b) {
  dgram_queue *q = BIO_get_data(b);
  if (q) {
    while (q->head) drop_head(q);
    free(q);
  }
  BIO_set_data(b, NULL);
  return 1;
}

static BIO_METHOD *dgram_method;

BIO *jsec_dgram_bio_new(void) {
  if (!dgram_method) {
    /* Runtimes call FFI from one JavaScript thread: no race here. */
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "jsec datagrams");
    if (!m) return NULL;
    BIO_meth_set_write(m, dgram_write);
    BIO_meth_set_read(m, dgram_read);
    BIO_meth_set_ctrl(m, dgram_ctrl);
    BIO_meth_set_create(m, dgram_create);
    BIO_meth_set_destroy(m, dgram_destroy);
    dgram_method = m;
  }
  return BIO_new(dgram_method);
}

void jsec_dgram_bio_overhead(BIO *b, int overhead) { ((dgram_queue *)BIO_get_data(b))->overhead = overhead; }

void jsec_dgram_bio_clear(BIO *b) {
  dgram_queue *q = BIO_get_data(b);
  q->peek = 0;
  while (q->head) drop_head(q);
}
