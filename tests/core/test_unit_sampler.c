/* Unit tests: rmp_rng, rmp_sampler, rate validation, rmp_config_check. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "check.h"
#include "rmp.h"

/* Reference xoshiro256** (Blackman & Vigna), written out independently. */
static uint64_t ref_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t ref_next(uint64_t s[4]) {
  uint64_t r = ref_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
  s[2] ^= t; s[3] = ref_rotl(s[3], 45);
  return r;
}

static void test_rng(void) {
  /* Known answers for the state {1,2,3,4}. */
  rmp_rng r;
  uint64_t ref[4] = {1, 2, 3, 4};
  memcpy(r.s, ref, sizeof ref);
  CHECK(rmp_rng_next(&r) == UINT64_C(11520));
  CHECK(rmp_rng_next(&r) == UINT64_C(0));
  CHECK(rmp_rng_next(&r) == UINT64_C(1509978240));
  CHECK(rmp_rng_next(&r) == UINT64_C(1215971899390074240));

  /* Seeded: matches the reference generator from the same state. */
  rmp_rng_seed(&r, 42);
  memcpy(ref, r.s, sizeof ref);
  CHECK(ref[0] | ref[1] | ref[2] | ref[3]); /* never the all-zero state */
  for (int i = 0; i < 1000; i++) CHECK(rmp_rng_next(&r) == ref_next(ref));

  /* Same seed, same stream; other seeds, other streams. */
  rmp_rng a, b, c;
  rmp_rng_seed(&a, 7);
  rmp_rng_seed(&b, 7);
  rmp_rng_seed(&c, 8);
  int same_ab = 1, same_ac = 1;
  for (int i = 0; i < 100; i++) {
    uint64_t x = rmp_rng_next(&a), y = rmp_rng_next(&b), z = rmp_rng_next(&c);
    same_ab &= x == y;
    same_ac &= x == z;
  }
  CHECK(same_ab);
  CHECK(!same_ac);
  /* Seed 0 is a valid seed (splitmix64 spreads it). */
  rmp_rng_seed(&a, 0);
  CHECK(a.s[0] | a.s[1] | a.s[2] | a.s[3]);

  /* Unit doubles lie in [0, 1) and cover it. */
  double lo = 1, hi = 0;
  for (int i = 0; i < 100000; i++) {
    double u = rmp_rng_unit(&a);
    CHECK(u >= 0.0 && u < 1.0);
    if (u < lo) lo = u;
    if (u > hi) hi = u;
  }
  CHECK(lo < 0.001 && hi > 0.999);
}

static void test_rate_validation(void) {
  const double bad[] = {NAN, -NAN, -0.1, 1.5, INFINITY, -INFINITY, -DBL_MIN, 1.0000000000000002, DBL_MAX};
  const double good[] = {0.0, -0.0, DBL_MIN, 1e-300, 0.001, 0.5, 0.9999999999999999, 1.0};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    rmp_sampler s;
    rmp_config c;
    CHECKF(!rmp_rate_valid(bad[i]), "%g", bad[i]);
    CHECKF(rmp_sampler_init(&s, bad[i], 1.0, 1) == RMP_ERR_INVALID, "%g", bad[i]);
    CHECKF(rmp_sampler_init(&s, 1.0, bad[i], 1) == RMP_ERR_INVALID, "%g", bad[i]);
    CHECK(rmp_sampler_init(&s, 0.25, 0.5, 1) == RMP_OK);
    CHECKF(rmp_sampler_set_rate(&s, bad[i]) == RMP_ERR_INVALID, "%g", bad[i]);
    CHECKF(rmp_sampler_set_retain_rate(&s, bad[i]) == RMP_ERR_INVALID, "%g", bad[i]);
    CHECK(s.rate == 0.25 && s.retain_rate == 0.5); /* a rejected rate changes nothing */
    rmp_config_default(&c);
    c.sample_rate = bad[i];
    CHECKF(rmp_config_check(&c) == RMP_ERR_INVALID, "%g", bad[i]);
    rmp_config_default(&c);
    c.retain_rate = bad[i];
    CHECKF(rmp_config_check(&c) == RMP_ERR_INVALID, "%g", bad[i]);
    rmp_profiler p;
    CHECK(rmp_profiler_init(&p, &c) == RMP_ERR_INVALID);
  }
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    rmp_sampler s;
    rmp_config c;
    CHECKF(rmp_rate_valid(good[i]), "%g", good[i]);
    CHECKF(rmp_sampler_init(&s, good[i], good[i], 1) == RMP_OK, "%g", good[i]);
    CHECK(rmp_sampler_set_rate(&s, good[i]) == RMP_OK);
    CHECK(rmp_sampler_set_retain_rate(&s, good[i]) == RMP_OK);
    rmp_config_default(&c);
    c.sample_rate = good[i];
    c.retain_rate = good[i];
    CHECKF(rmp_config_check(&c) == RMP_OK, "%g", good[i]);
  }
}

static void test_config(void) {
  rmp_config c;
  rmp_config_default(&c);
  CHECK(c.sample_rate == 1.0 && c.retain_rate == 1.0);
  CHECK(c.max_alloc_samples == 10000 && c.max_heap_samples == 50000);
  CHECK(rmp_config_check(&c) == RMP_OK);
  c.max_alloc_samples = 0;
  CHECK(rmp_config_check(&c) == RMP_ERR_INVALID);
  rmp_config_default(&c);
  c.max_heap_samples = 0;
  CHECK(rmp_config_check(&c) == RMP_ERR_INVALID);
  /* Every status has its own message. */
  const rmp_status all[] = {RMP_OK, RMP_ERR_INVALID, RMP_ERR_NOMEM, RMP_ERR_FULL, RMP_ERR_SINK};
  for (size_t i = 0; i < 5; i++) {
    CHECK(rmp_status_str(all[i]) != NULL && rmp_status_str(all[i])[0] != '\0');
    for (size_t j = 0; j < i; j++) CHECK(strcmp(rmp_status_str(all[i]), rmp_status_str(all[j])) != 0);
  }
}

static uint64_t count_ticks(rmp_sampler *s, uint64_t n) {
  uint64_t k = 0;
  for (uint64_t i = 0; i < n; i++) k += rmp_sampler_tick(s) ? 1 : 0;
  return k;
}

static void test_sampler(void) {
  rmp_sampler s;
  CHECK(rmp_sampler_init(&s, 0.0, 1.0, 3) == RMP_OK);
  CHECK(count_ticks(&s, 1000000) == 0);
  CHECK(rmp_sampler_init(&s, 1.0, 1.0, 3) == RMP_OK);
  for (int i = 0; i < 1000000; i++) CHECK(rmp_sampler_tick(&s) == 1);
  for (int i = 0; i < 1000; i++) CHECK(rmp_sampler_draw_gap(&s) == 1);

  /* set_rate takes effect at once, in both directions. */
  CHECK(rmp_sampler_set_rate(&s, 0.0) == RMP_OK);
  CHECK(count_ticks(&s, 1000000) == 0);
  CHECK(rmp_sampler_set_rate(&s, 1.0) == RMP_OK);
  for (int i = 0; i < 1000; i++) CHECK(rmp_sampler_tick(&s) == 1);
  CHECK(rmp_sampler_set_rate(&s, 0.5) == RMP_OK);
  uint64_t k = count_ticks(&s, 100000); /* 5 sigma = 791 */
  CHECKF(k > 50000 - 791 && k < 50000 + 791, "%llu", (unsigned long long)k);
  CHECK(rmp_sampler_set_rate(&s, 0.01) == RMP_OK);
  k = count_ticks(&s, 100000); /* mean 1000, 5 sigma = 157 */
  CHECKF(k > 1000 - 157 && k < 1000 + 157, "%llu", (unsigned long long)k);

  /* Deterministic by seed; reseeding changes the stream. */
  rmp_sampler a, b;
  CHECK(rmp_sampler_init(&a, 0.1, 0.5, 99) == RMP_OK);
  CHECK(rmp_sampler_init(&b, 0.1, 0.5, 99) == RMP_OK);
  for (int i = 0; i < 100000; i++) {
    int x = rmp_sampler_tick(&a);
    CHECK(x == rmp_sampler_tick(&b));
    if (x) CHECK(rmp_sampler_retain(&a) == rmp_sampler_retain(&b));
  }
  rmp_sampler_reseed(&b, 100);
  int differ = 0;
  for (int i = 0; i < 10000; i++) differ |= rmp_sampler_tick(&a) != rmp_sampler_tick(&b);
  CHECK(differ);
  CHECK(b.rate == 0.1 && b.retain_rate == 0.5); /* reseed keeps the rates */
  /* Gaps are >= 1 at every rate in (0, 1]. */
  CHECK(rmp_sampler_init(&s, 1e-12, 1.0, 4) == RMP_OK);
  for (int i = 0; i < 1000; i++) CHECK(rmp_sampler_draw_gap(&s) >= 1);
  CHECK(rmp_sampler_init(&s, 0.999999, 1.0, 4) == RMP_OK);
  for (int i = 0; i < 1000; i++) CHECK(rmp_sampler_draw_gap(&s) >= 1);
}

int main(void) {
  test_rng();
  test_rate_validation();
  test_config();
  test_sampler();
  puts("unit sampler OK");
  return 0;
}
