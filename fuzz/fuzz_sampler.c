/* fuzz_sampler: arbitrary rates (NaN, denormals, +-0, +-inf, one ulp around
 * 0 and 1, raw bit patterns), reseeding and ticking, and the profiler's
 * configuration check. Invalid rates are refused and leave the sampler as
 * it was; valid ones never crash; rate 0 never samples and rate 1 always
 * does; equal seeds give equal decisions; and the mean gap of a valid rate
 * is 1/rate within a bound no correct sampler misses. */
#include "fuzz_impl.h"
#include <float.h>
#include <math.h>

/* Valid means in [0, 1], decided from the representation, not by the
 * comparisons rmp_rate_valid uses. */
static int rate_ok(double r) {
  uint64_t b;
  memcpy(&b, &r, sizeof b);
  uint64_t mag = b & ~(UINT64_C(1) << 63);
  if (mag == 0) return 1;                       /* +0 and -0 */
  if (b >> 63) return 0;                        /* negative, or a negative NaN */
  return mag <= UINT64_C(0x3FF0000000000000);   /* up to 1.0; NaN and inf are above */
}

static double pick_rate(rmp_fz *f) {
  static const double special[] = {
      0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 0.01, 1e-3, 1e-6, 1e-12, 1e-300,
      DBL_MIN, DBL_MIN / 2, 4.9406564584124654e-324 /* smallest denormal */,
      0x1.fffffffffffffp-1 /* 1 - ulp */, 0x1.0000000000001p+0 /* 1 + ulp */,
      0x1p-1022, 0x1.ffffffffffffep-1, 0.9999, 2.0, DBL_MAX, -DBL_MIN};
  uint8_t k = rmp_fz_u8(f);
  if (k < 2 * sizeof special / sizeof special[0]) return special[k / 2];
  if (k < 200) {
    double r;
    uint64_t b = rmp_fz_u64(f);
    memcpy(&r, &b, sizeof r);
    return r;
  }
  switch (k % 4) {
  case 0: return (double)NAN;
  case 1: return -(double)NAN;
  case 2: return (double)INFINITY;
  default: return -(double)INFINITY;
  }
}

static void check_state(const rmp_sampler *s) {
  RMP_FZ_CHECK(s->countdown >= 1);
  RMP_FZ_CHECK(rate_ok(s->rate) && rate_ok(s->retain_rate));
}

/* Mean gap of a rate in [1/512, 1): the sum of n geometric gaps has
 * standard deviation sqrt(n(1-r))/r; 12 of those is out of reach of chance. */
static void check_mean_gap(rmp_sampler *s) {
  double r = s->rate;
  if (!(r >= 1.0 / 512 && r < 1.0)) return;
  const int n = 1024;
  double sum = 0;
  for (int i = 0; i < n; i++) {
    uint64_t g = rmp_sampler_draw_gap(s);
    RMP_FZ_CHECK(g >= 1 && g < UINT64_MAX);
    sum += (double)g;
  }
  double mean = n / r, sd = sqrt(n * (1 - r)) / r;
  RMP_FZ_CHECK(fabs(sum - mean) <= 12 * sd + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rmp_fz f = {data, size};
  rmp_sampler s, twin;
  double rate = pick_rate(&f), retain = pick_rate(&f);
  uint64_t seed = rmp_fz_u64(&f);
  RMP_FZ_CHECK(rmp_rate_valid(rate) == rate_ok(rate));
  RMP_FZ_CHECK(rmp_rate_valid(retain) == rate_ok(retain));
  rmp_status st = rmp_sampler_init(&s, rate, retain, seed);
  if (!rate_ok(rate) || !rate_ok(retain)) {
    RMP_FZ_CHECK(st == RMP_ERR_INVALID);
    rate = 0.25;
    retain = 1.0;
    RMP_FZ_CHECK(rmp_sampler_init(&s, rate, retain, seed) == RMP_OK);
  }
  RMP_FZ_CHECK(rmp_sampler_init(&twin, rate, retain, seed) == RMP_OK);
  RMP_FZ_CHECK(memcmp(&s, &twin, sizeof s) == 0);
  check_state(&s);

  /* The configuration check refuses the same rates, and zero bounds. */
  rmp_config c;
  rmp_config_default(&c);
  RMP_FZ_CHECK(rmp_config_check(&c) == RMP_OK);
  c.sample_rate = pick_rate(&f);
  c.retain_rate = pick_rate(&f);
  c.max_alloc_samples = rmp_fz_u8(&f) % 3;
  c.max_heap_samples = rmp_fz_u8(&f) % 3;
  int cfg_ok = rate_ok(c.sample_rate) && rate_ok(c.retain_rate) && c.max_alloc_samples && c.max_heap_samples;
  RMP_FZ_CHECK((rmp_config_check(&c) == RMP_OK) == cfg_ok);
  if (!cfg_ok) {
    rmp_profiler p;
    RMP_FZ_CHECK(rmp_profiler_init(&p, &c) == RMP_ERR_INVALID);
  }

  while (rmp_fz_more(&f)) {
    uint8_t op = rmp_fz_u8(&f);
    switch (op % 6) {
    case 0: { /* set_rate: refused rates change nothing */
      double r = pick_rate(&f);
      rmp_sampler before = s;
      st = rmp_sampler_set_rate(&s, r);
      if (!rate_ok(r)) {
        RMP_FZ_CHECK(st == RMP_ERR_INVALID && memcmp(&s, &before, sizeof s) == 0);
      } else {
        RMP_FZ_CHECK(st == RMP_OK && s.rate == r);
        RMP_FZ_CHECK(rmp_sampler_set_rate(&twin, r) == RMP_OK);
      }
      break;
    }
    case 1: { /* set_retain_rate */
      double r = pick_rate(&f);
      rmp_sampler before = s;
      st = rmp_sampler_set_retain_rate(&s, r);
      if (!rate_ok(r)) {
        RMP_FZ_CHECK(st == RMP_ERR_INVALID && memcmp(&s, &before, sizeof s) == 0);
      } else {
        RMP_FZ_CHECK(st == RMP_OK && s.retain_rate == r);
        RMP_FZ_CHECK(rmp_sampler_set_retain_rate(&twin, r) == RMP_OK);
      }
      break;
    }
    case 2: { /* reseed both: they agree from here on */
      uint64_t sd = rmp_fz_u64(&f);
      rmp_sampler_reseed(&s, sd);
      rmp_sampler_reseed(&twin, sd);
      break;
    }
    case 3: { /* ticks */
      uint32_t n = rmp_fz_u16(&f) % 4096;
      for (uint32_t i = 0; i < n; i++) {
        int a = rmp_sampler_tick(&s), b = rmp_sampler_tick(&twin);
        RMP_FZ_CHECK(a == b);
        if (s.rate == 0.0) RMP_FZ_CHECK(!a);
        if (s.rate == 1.0) RMP_FZ_CHECK(a);
        check_state(&s);
      }
      break;
    }
    case 4: { /* retain decisions */
      for (int i = 0; i < 64; i++) {
        int a = rmp_sampler_retain(&s);
        RMP_FZ_CHECK(a == rmp_sampler_retain(&twin));
        if (s.retain_rate == 0.0) RMP_FZ_CHECK(!a);
        if (s.retain_rate == 1.0) RMP_FZ_CHECK(a);
      }
      break;
    }
    default: { /* gaps: >= 1, saturating, and of the right mean */
      uint64_t g = rmp_sampler_draw_gap(&s);
      RMP_FZ_CHECK(g == rmp_sampler_draw_gap(&twin));
      RMP_FZ_CHECK(g >= 1);
      if (s.rate == 1.0) RMP_FZ_CHECK(g == 1);
      if (s.rate == 0.0) RMP_FZ_CHECK(g == UINT64_MAX);
      if (op & 0x80) {
        check_mean_gap(&s);
        check_mean_gap(&twin);
      }
      break;
    }
    }
    RMP_FZ_CHECK(memcmp(&s, &twin, sizeof s) == 0);
    check_state(&s);
  }
  return 0;
}
