/* Unit tests: rmp_allocs, the per-interval reservoir of allocation samples
 * (offer, then keep what entered; reset; free). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "rmp.h"

static rmp_alloc_sample sample(uint32_t i) {
  rmp_alloc_sample s;
  memset(&s, 0, sizeof s);
  s.stack = i;
  s.klass = i + 1;
  s.size = (uint64_t)i << 33; /* sizes above 4 GiB are kept whole here */
  s.epoch = i * 2;
  s.weight = 1.0f + (float)i;
  return s;
}

static int same(const rmp_alloc_sample *a, const rmp_alloc_sample *b) {
  return a->stack == b->stack && a->klass == b->klass && a->size == b->size && a->epoch == b->epoch &&
         a->weight == b->weight;
}

/* Which slot of a holds the sample with stack id tag, or -1. */
static int slot_of(const rmp_allocs *a, uint32_t tag) {
  for (uint32_t i = 0; i < a->n; i++)
    if (a->v[i].stack == tag) return (int)i;
  return -1;
}

/* The first max candidates all enter and are appended in order; after
 * that an entering candidate replaces exactly one slot, the others stay. */
static void test_fill_then_replace(void) {
  rmp_allocs a;
  rmp_rng rng;
  uint32_t entered = 0;
  rmp_rng_seed(&rng, 7);
  CHECK(rmp_allocs_init(&a, 0) == RMP_ERR_INVALID);
  CHECK(rmp_allocs_init(&a, 100) == RMP_OK);
  CHECK(a.n == 0 && a.max == 100 && a.dropped == 0 && a.seen == 0);
  for (uint32_t i = 0; i < 100; i++) {
    rmp_alloc_sample s = sample(i);
    CHECKF(rmp_allocs_offer(&a, &rng) == 1, "candidate %u of the first max", i);
    CHECK(rmp_allocs_keep(&a, &s, &rng) == RMP_OK);
    CHECK(a.n == i + 1 && a.seen == i + 1 && same(&a.v[i], &s));
  }
  for (uint32_t i = 100; i < 100000; i++) {
    rmp_alloc_sample before[100], s = sample(i);
    int changed = 0, at = -1;
    memcpy(before, a.v, sizeof before);
    if (!rmp_allocs_offer(&a, &rng)) {
      CHECK(a.seen == i + 1 && memcmp(before, a.v, sizeof before) == 0);
      continue;
    }
    entered++;
    CHECK(rmp_allocs_keep(&a, &s, &rng) == RMP_OK);
    CHECK(a.n == 100 && a.seen == i + 1);
    for (int k = 0; k < 100; k++)
      if (!same(&before[k], &a.v[k])) changed++, at = k;
    CHECK(changed == 1 && same(&a.v[at], &s));
  }
  /* Entries after the fill: sum over i > max of max / i, about
   * max * ln(N / max) = 690.8 here; Poisson-like spread, sd ~ 26. */
  CHECKF(entered > 550 && entered < 830, "%u candidates entered after the fill", entered);
  CHECK(a.dropped == 0);

  /* Reset: a new interval, the storage kept, the counts gone. */
  rmp_allocs_reset(&a);
  CHECK(a.n == 0 && a.seen == 0 && a.max == 100 && a.v != NULL);
  for (uint32_t i = 0; i < 100; i++) CHECK(rmp_allocs_offer(&a, &rng) == 1);
  CHECK(a.seen == 100 && a.n == 0); /* offered, never kept: nothing stored */
  rmp_allocs_free(&a);
  CHECK(a.n == 0 && a.v == NULL && a.cap == 0);
}

/* A bound of 1: each candidate is the survivor with probability 1/N. */
static void test_bound_one(void) {
  rmp_allocs a;
  rmp_rng rng;
  rmp_rng_seed(&rng, 99);
  CHECK(rmp_allocs_init(&a, 1) == RMP_OK);
  for (uint32_t i = 0; i < 1000; i++) {
    rmp_alloc_sample s = sample(i);
    int in = rmp_allocs_offer(&a, &rng);
    if (i == 0) CHECK(in == 1);
    if (in) CHECK(rmp_allocs_keep(&a, &s, &rng) == RMP_OK);
    CHECK(a.n == 1 && (!in || a.v[0].stack == i));
  }
  rmp_allocs_free(&a);
}

/* A bound lowered below n mid-interval (the Ruby shim's setter does it):
 * nothing is lost, entering candidates replace, n never grows. */
static void test_lowered_bound(void) {
  rmp_allocs a;
  rmp_rng rng;
  rmp_rng_seed(&rng, 3);
  CHECK(rmp_allocs_init(&a, 50) == RMP_OK);
  for (uint32_t i = 0; i < 50; i++) {
    rmp_alloc_sample s = sample(i);
    CHECK(rmp_allocs_offer(&a, &rng) == 1 && rmp_allocs_keep(&a, &s, &rng) == RMP_OK);
  }
  a.max = 10;
  for (uint32_t i = 50; i < 5000; i++) {
    rmp_alloc_sample s = sample(i);
    if (rmp_allocs_offer(&a, &rng)) {
      CHECK(rmp_allocs_keep(&a, &s, &rng) == RMP_OK);
      CHECK(slot_of(&a, i) >= 0);
    }
    CHECK(a.n == 50);
  }
  rmp_allocs_free(&a);
}

/* rmp_allocs_set_max: before the interval's first offer the bound applies
 * at once; after it, only from the next interval, so that one interval's
 * reservoir is drawn under one bound. */
static void test_set_max(void) {
  rmp_allocs a;
  rmp_rng rng;
  uint32_t i;
  rmp_rng_seed(&rng, 4);
  CHECK(rmp_allocs_init(&a, 100) == RMP_OK);
  CHECK(rmp_allocs_set_max(&a, 0) == RMP_ERR_INVALID && a.max == 100);
  CHECK(rmp_allocs_set_max(&a, 20) == RMP_OK && a.max == 20);
  for (i = 0; i < 30; i++) {
    rmp_alloc_sample s = sample(i);
    if (rmp_allocs_offer(&a, &rng)) CHECK(rmp_allocs_keep(&a, &s, &rng) == RMP_OK);
  }
  CHECK(a.n == 20);
  CHECK(rmp_allocs_set_max(&a, 5) == RMP_OK && a.max == 20); /* mid-interval: later */
  for (i = 30; i < 1000; i++) {
    rmp_alloc_sample s = sample(i);
    if (rmp_allocs_offer(&a, &rng)) CHECK(rmp_allocs_keep(&a, &s, &rng) == RMP_OK);
    CHECK(a.n == 20);
  }
  rmp_allocs_reset(&a);
  CHECK(a.max == 5 && a.n == 0 && a.seen == 0);
  rmp_allocs_free(&a);
}

/* Two reservoirs with the same seed make the same choices. */
static void test_deterministic(void) {
  rmp_allocs a, b;
  rmp_rng ra, rb;
  rmp_rng_seed(&ra, 1234);
  rmp_rng_seed(&rb, 1234);
  CHECK(rmp_allocs_init(&a, 16) == RMP_OK && rmp_allocs_init(&b, 16) == RMP_OK);
  for (uint32_t i = 0; i < 20000; i++) {
    rmp_alloc_sample s = sample(i);
    int ia = rmp_allocs_offer(&a, &ra), ib = rmp_allocs_offer(&b, &rb);
    CHECK(ia == ib);
    if (ia) CHECK(rmp_allocs_keep(&a, &s, &ra) == RMP_OK && rmp_allocs_keep(&b, &s, &rb) == RMP_OK);
  }
  CHECK(a.n == b.n && memcmp(a.v, b.v, sizeof(rmp_alloc_sample) * a.n) == 0);
  rmp_allocs_free(&a);
  rmp_allocs_free(&b);
}

int main(void) {
  test_fill_then_replace();
  test_bound_one();
  test_lowered_bound();
  test_deterministic();
  test_set_max();
  puts("unit allocs OK");
  return 0;
}
