/* Randomized differential test of rmp_allocs against a plain array: pushes
 * past a small, changing bound (refused and counted), drains (free, as a
 * rotation takes the buffer), and re-initialisation with another bound.
 * Usage: test_diff_allocs [ops] (default 1e6). */
#include <string.h>

#include "check.h"
#include "rmp.h"

#define MAXBOUND 5000

static rmp_alloc_sample model[MAXBOUND];
static uint32_t m_n, m_max;
static uint64_t m_dropped;

static int same(const rmp_alloc_sample *a, const rmp_alloc_sample *b) {
  return a->stack == b->stack && a->klass == b->klass && a->size == b->size && a->epoch == b->epoch;
}

static void check_all(const rmp_allocs *a) {
  CHECK(a->n == m_n && a->max == m_max && a->dropped == m_dropped);
  for (uint32_t i = 0; i < m_n; i++) CHECKF(same(&a->v[i], &model[i]), "sample %u", i);
}

int main(int argc, char **argv) {
  long ops = rmpt_ops_arg(argc, argv, 1000000);
  rmpt_rand r = {0xA110C5};
  rmp_allocs a;
  long n_full = 0, n_drain = 0, n_reinit = 0;
  m_max = 1 + rmpt_below(&r, MAXBOUND);
  CHECK(rmp_allocs_init(&a, m_max) == RMP_OK);
  for (long op = 0; op < ops; op++) {
    uint32_t kind = rmpt_below(&r, 10000);
    if (kind < 9980) {
      rmp_alloc_sample s;
      memset(&s, 0, sizeof s);
      s.stack = (uint32_t)rmpt_next(&r);
      s.klass = (uint32_t)rmpt_next(&r);
      s.size = rmpt_next(&r) >> rmpt_below(&r, 64);
      s.epoch = (uint32_t)rmpt_next(&r);
      rmp_status st = rmp_allocs_push(&a, &s);
      if (m_n >= m_max) {
        CHECK(st == RMP_ERR_FULL);
        m_dropped++;
        n_full++;
      } else {
        CHECK(st == RMP_OK);
        model[m_n++] = s;
        CHECK(same(&a.v[m_n - 1], &s));
      }
    } else if (kind < 9995) { /* drain: what was pushed, in order, then empty */
      check_all(&a);
      rmp_allocs_free(&a);
      CHECK(a.n == 0 && a.v == NULL);
      m_n = 0;
      n_drain++;
    } else { /* a new buffer with another bound */
      check_all(&a);
      rmp_allocs_free(&a);
      m_max = 1 + rmpt_below(&r, MAXBOUND);
      m_n = 0;
      m_dropped = 0;
      CHECK(rmp_allocs_init(&a, m_max) == RMP_OK);
      n_reinit++;
    }
    CHECK(a.n == m_n && a.dropped == m_dropped);
    if ((op & 4095) == 0) check_all(&a);
  }
  check_all(&a);
  printf("allocs: %ld ops (%ld refused as full, %ld drains, %ld re-inits)\n", ops, n_full, n_drain, n_reinit);
  CHECK(n_full > 0 && n_drain > 0 && n_reinit > 0);
  rmp_allocs_free(&a);
  return 0;
}
