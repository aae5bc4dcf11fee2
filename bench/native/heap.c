/* heap.c — in-use bytes of glibc's malloc, for the memory figure: what
 * OpenSSL (and anything else on the C heap) holds. Built by bench/native.ts. */
#include <malloc.h>
#include <stdint.h>

int64_t bench_heap_bytes(void) {
  struct mallinfo2 m = mallinfo2();
  return (int64_t)(m.uordblks + m.hblkhd);
}
