/*
 * jsec_bio.c — a byte-queue BIO for the shim's two directions.
 *
 * BIO_s_mem() moves its whole remainder down after every read, so a large
 * feed read record by record costs quadratic memmove. This queue keeps a
 * read offset instead and compacts only when a write needs the room.
 *
 * A reader may also lend the queue the caller's bytes for the length of one
 * call (jsec_bio_lend): they are read after the queued ones, straight from
 * the caller's buffer, and what is left of them stays the caller's.
 *
 * A writer may lend it room instead (jsec_bio_lend_room): while nothing is
 * queued, writes fill the caller's buffer, and only what does not fit is
 * queued. The caller sends its buffer before the queue, so order holds.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>

#include "jsec_bio.h"

typedef struct {
  unsigned char *data;
  size_t start, end, cap;
  int eof; /* the writer side ended: reads past the end return 0, not retry */
  const unsigned char *lent; /* the caller's bytes, read after the queued ones */
  size_t lent_len, lent_used;
  unsigned char *room; /* the caller's buffer, filled before anything is queued */
  size_t room_cap, room_used;
} queue;

static int queue_reserve(queue *q, size_t len) {
  size_t used = q->end - q->start;
  if (q->end + len <= q->cap) return 1;
  if (used + len <= q->cap) {
    memmove(q->data, q->data + q->start, used);
  } else {
    size_t cap = q->cap ? q->cap : 16384;
    while (cap < used + len) cap *= 2;
    unsigned char *data = malloc(cap);
    if (!data) return 0;
    if (used) memcpy(data, q->data + q->start, used);
    free(q->data);
    q->data = data;
    q->cap = cap;
  }
  q->start = 0;
  q->end = used;
  return 1;
}

static int queue_write(BIO *b, const char *buf, int len) {
  queue *q = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  size_t n = 0, rest = (size_t)len;
  if (q->end == q->start && q->room_used < q->room_cap) {
    size_t free_room = q->room_cap - q->room_used;
    n = rest < free_room ? rest : free_room;
    memcpy(q->room + q->room_used, buf, n);
    q->room_used += n;
    rest -= n;
  }
  if (rest == 0) return len;
  if (!queue_reserve(q, rest)) return n > 0 ? (int)n : -1;
  memcpy(q->data + q->end, buf + n, rest);
  q->end += rest;
  return len;
}

static int queue_read(BIO *b, char *buf, int len) {
  queue *q = BIO_get_data(b);
  size_t used = q->end - q->start;
  BIO_clear_retry_flags(b);
  if (used == 0 && q->lent_used < q->lent_len) {
    size_t left = q->lent_len - q->lent_used;
    size_t n = left < (size_t)len ? left : (size_t)len;
    memcpy(buf, q->lent + q->lent_used, n);
    q->lent_used += n;
    return (int)n;
  }
  if (used == 0) {
    if (q->eof) return 0;
    BIO_set_retry_read(b);
    return -1;
  }
  size_t n = used < (size_t)len ? used : (size_t)len;
  memcpy(buf, q->data + q->start, n);
  q->start += n;
  if (q->start == q->end) q->start = q->end = 0;
  return (int)n;
}

static long queue_ctrl(BIO *b, int cmd, long num, void *ptr) {
  queue *q = BIO_get_data(b);
  (void)ptr;
  switch (cmd) {
    case BIO_CTRL_PENDING:
      return (long)(q->end - q->start + q->lent_len - q->lent_used);
    case BIO_CTRL_EOF:
      return q->eof && q->end == q->start && q->lent_used == q->lent_len;
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_WPENDING:
      return 0;
    case BIO_C_SET_BUF_MEM_EOF_RETURN:
      q->eof = num == 0;
      return 1;
    default:
      return 0;
  }
}

static int queue_create(BIO *b) {
  queue *q = calloc(1, sizeof *q);
  if (!q) return 0;
  BIO_set_data(b, q);
  BIO_set_init(b, 1);
  return 1;
}

static int queue_destroy(BIO *b) {
  queue *q = BIO_get_data(b);
  if (q) {
    free(q->data);
    free(q);
  }
  BIO_set_data(b, NULL);
  return 1;
}

/* Made once per process, whichever thread (a runtime's Worker too) comes first. */
static CRYPTO_ONCE queue_once = CRYPTO_ONCE_STATIC_INIT;
static BIO_METHOD *queue_method;

static void make_queue_method(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "jsec queue");
  if (!m) return;
  BIO_meth_set_write(m, queue_write);
  BIO_meth_set_read(m, queue_read);
  BIO_meth_set_ctrl(m, queue_ctrl);
  BIO_meth_set_create(m, queue_create);
  BIO_meth_set_destroy(m, queue_destroy);
  queue_method = m;
}

BIO *jsec_bio_new(void) {
  if (!CRYPTO_THREAD_run_once(&queue_once, make_queue_method) || !queue_method) return NULL;
  return BIO_new(queue_method);
}

void jsec_bio_end(BIO *b) { ((queue *)BIO_get_data(b))->eof = 1; }

void jsec_bio_lend(BIO *b, const unsigned char *bytes, size_t len) {
  queue *q = BIO_get_data(b);
  q->lent = bytes;
  q->lent_len = len;
  q->lent_used = 0;
}

size_t jsec_bio_unlend(BIO *b) {
  queue *q = BIO_get_data(b);
  size_t used = q->lent_used;
  q->lent = NULL;
  q->lent_len = q->lent_used = 0;
  return used;
}

void jsec_bio_lend_room(BIO *b, unsigned char *room, size_t cap) {
  queue *q = BIO_get_data(b);
  q->room = room;
  q->room_cap = cap;
  q->room_used = 0;
}

size_t jsec_bio_unlend_room(BIO *b) {
  queue *q = BIO_get_data(b);
  size_t used = q->room_used;
  q->room = NULL;
  q->room_cap = q->room_used = 0;
  return used;
}

/* Big queues (a bulk transfer) are kept: freeing them would cost a fresh
 * large allocation, page faults included, at every wait for the peer. */
void jsec_bio_trim(BIO *b, size_t keep) {
  queue *q = BIO_get_data(b);
  if (q->end != q->start || q->cap > keep) return;
  free(q->data);
  q->data = NULL;
  q->start = q->end = q->cap = 0;
}
