/* A counting allocator for a translation unit that compiles rmp.h and
 * rmp_pprof.h itself: it tracks outstanding and peak bytes, and can fail
 * the n-th allocation from a chosen point on. Include before rmp.h. */
#ifndef RMP_TEST_ALLOC_H
#define RMP_TEST_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t ta_live_bytes, ta_peak_bytes, ta_live_blocks, ta_count;
static long ta_fail_at = -1; /* allocation number (from ta_count == 0) that fails */

static void *ta_malloc(size_t n) {
  size_t *h;
  if (ta_fail_at >= 0 && (long)ta_count++ >= ta_fail_at) return NULL;
  h = (size_t *)malloc(n + 16);
  if (!h) return NULL;
  h[0] = n;
  ta_live_bytes += n;
  ta_live_blocks++;
  if (ta_live_bytes > ta_peak_bytes) ta_peak_bytes = ta_live_bytes;
  return (char *)h + 16;
}

static void ta_free(void *p) {
  size_t *h;
  if (!p) return;
  h = (size_t *)((char *)p - 16);
  ta_live_bytes -= h[0];
  ta_live_blocks--;
  free(h);
}

static void *ta_realloc(void *p, size_t n) {
  void *q;
  size_t old;
  if (!p) return ta_malloc(n);
  q = ta_malloc(n);
  if (!q) return NULL;
  old = ((size_t *)((char *)p - 16))[0];
  memcpy(q, p, old < n ? old : n);
  ta_free(p);
  return q;
}

#define RMP_MALLOC(sz) ta_malloc(sz)
#define RMP_REALLOC(p, sz) ta_realloc(p, sz)
#define RMP_FREE(p) ta_free(p)

#endif
