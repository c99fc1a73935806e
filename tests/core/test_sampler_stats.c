/* Statistical tests of the sampler: for each rate, the number of sampled
 * events must be within 5 sigma of n*p and the gaps between sampled events
 * must fit geometric(p) by a chi-square test at alpha = 1e-6. Seeds are
 * fixed, so a pass is reproducible, but a biased sampler fails (checked by
 * feeding these routines a deliberately skewed gap source). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "rmp.h"

/* Upper 1e-6 quantile of the standard normal. */
#define Z_1E6 4.753424308822899
/* Two-sided 1e-6 quantile: chi-square with 1 dof is the square of a normal,
 * where Wilson-Hilferty is too rough. */
#define Z2_1E6 4.891638475698553

/* Chi-square critical value for `dof` degrees of freedom at alpha = 1e-6,
 * by the Wilson-Hilferty cube-root normal approximation. */
static double chi2_crit(int dof) {
  double k = (double)dof, a = 2.0 / (9.0 * k);
  double c = 1.0 - a + Z_1E6 * sqrt(a);
  return k * c * c * c;
}

/* Chi-square statistic of gaps (each >= 1) against geometric(p) on
 * {1, 2, ...}. Bins are runs of consecutive gap values, each with an
 * expected count >= max(5, n/64); the tail is merged into the last bin. */
#define MAX_BINS 256
static double chi2_geometric(const uint64_t *gaps, size_t n, double p, int *dof) {
  double lq = log1p(-p), target = (double)n / 64.0;
  uint64_t lo[MAX_BINS];
  double expect[MAX_BINS], observed[MAX_BINS];
  int nb = 0;
  uint64_t a = 1;
  if (target < 5.0) target = 5.0;
  for (;;) {
    double tail = (double)n * exp((double)(a - 1) * lq); /* E[#gaps >= a] */
    CHECK(nb < MAX_BINS);
    lo[nb] = a;
    if (tail < 2.0 * target || nb == MAX_BINS - 1) {
      expect[nb++] = tail;
      break;
    }
    /* smallest b >= a with n * (q^(a-1) - q^b) >= target */
    double rest = (tail - target) / (double)n;
    uint64_t b = (uint64_t)ceil(log(rest) / lq);
    if (b < a) b = a;
    while ((double)n * (exp((double)(a - 1) * lq) - exp((double)b * lq)) < target) b++;
    expect[nb++] = (double)n * (exp((double)(a - 1) * lq) - exp((double)b * lq));
    a = b + 1;
  }
  memset(observed, 0, sizeof observed);
  for (size_t i = 0; i < n; i++) {
    int l = 0, h = nb - 1; /* last bin whose lo <= gap */
    CHECK(gaps[i] >= 1);
    while (l < h) {
      int m = (l + h + 1) / 2;
      if (lo[m] <= gaps[i]) l = m; else h = m - 1;
    }
    observed[l] += 1.0;
  }
  double stat = 0;
  for (int b = 0; b < nb; b++) {
    CHECK(expect[b] >= 5.0);
    stat += (observed[b] - expect[b]) * (observed[b] - expect[b]) / expect[b];
  }
  *dof = nb - 1;
  return stat;
}

static void check_count(uint64_t count, uint64_t n, double p, const char *what) {
  double mean = (double)n * p, sigma = sqrt((double)n * p * (1.0 - p));
  double dev = fabs((double)count - mean);
  printf("%s p=%g: %llu of %llu (expected %.1f, %.2f sigma)\n", what, p,
         (unsigned long long)count, (unsigned long long)n, mean, sigma > 0 ? dev / sigma : 0.0);
  CHECKF(dev <= 5.0 * sigma + 1e-9, "%s p=%g: count %llu vs %.1f", what, p,
         (unsigned long long)count, mean);
}

static void check_gaps(const uint64_t *gaps, size_t n, double p, const char *what) {
  if (p >= 1.0) { /* degenerate: every event sampled */
    for (size_t i = 0; i < n; i++) CHECKF(gaps[i] == 1, "%s gap %llu", what, (unsigned long long)gaps[i]);
    return;
  }
  int dof;
  double stat = chi2_geometric(gaps, n, p, &dof), crit = chi2_crit(dof);
  printf("%s p=%g: %zu gaps, chi2 %.2f on %d dof (critical %.2f)\n", what, p, n, stat, dof, crit);
  CHECK(dof >= 3);
  CHECKF(stat < crit, "%s p=%g: gaps do not fit geometric(p): chi2 %.2f >= %.2f", what, p, stat, crit);
}

/* Ticks the hot path `trials` times; with retain_rate in (0,1) also draws
 * the retain decision on each sampled event, which shares the PRNG and so
 * must not disturb the gap distribution. */
static void run_rate(double p, uint64_t trials, uint64_t seed, double retain) {
  rmp_sampler s;
  CHECK(rmp_sampler_init(&s, p, retain, seed) == RMP_OK);
  size_t cap = (size_t)((double)trials * p + 10.0 * sqrt((double)trials * p) + 16);
  uint64_t *gaps = (uint64_t *)malloc(cap * sizeof *gaps);
  CHECK(gaps != NULL);
  uint64_t count = 0, last = 0, retained = 0;
  size_t ng = 0;
  for (uint64_t i = 1; i <= trials; i++) {
    if (rmp_sampler_tick(&s)) {
      count++;
      CHECK(ng < cap);
      gaps[ng++] = i - last;
      last = i;
      if (retain > 0) retained += (uint64_t)rmp_sampler_retain(&s);
    }
  }
  check_count(count, trials, p, retain > 0 ? "tick+retain" : "tick");
  check_gaps(gaps, ng, p, retain > 0 ? "tick+retain" : "tick");
  if (retain > 0) check_count(retained, count, retain, "retain among sampled");

  /* The gap draw on its own, as the refill uses it. */
  if (p > 0) {
    size_t n = ng < 200000 ? ng : 200000;
    for (size_t i = 0; i < n; i++) gaps[i] = rmp_sampler_draw_gap(&s);
    check_gaps(gaps, n, p, "draw_gap");
  }
  free(gaps);
}

/* rmp_sampler_retain alone: exact at 0 and 1; at 0.3 the count is within
 * 5 sigma and consecutive decisions are independent (2x2 contingency
 * chi-square on (decision i, decision i+1), 1 dof). */
static void run_retain(double r, uint64_t n, uint64_t seed) {
  rmp_sampler s;
  CHECK(rmp_sampler_init(&s, 1.0, r, seed) == RMP_OK);
  uint64_t yes = 0, pairs[2][2] = {{0, 0}, {0, 0}};
  int prev = -1;
  for (uint64_t i = 0; i < n; i++) {
    int d = rmp_sampler_retain(&s);
    CHECK(d == 0 || d == 1);
    yes += (uint64_t)d;
    if (prev >= 0) pairs[prev][d]++;
    prev = d;
  }
  if (r <= 0.0) { CHECK(yes == 0); return; }
  if (r >= 1.0) { CHECK(yes == n); return; }
  check_count(yes, n, r, "retain");
  double m = (double)(n - 1), stat = 0;
  double row[2] = {(double)(pairs[0][0] + pairs[0][1]), (double)(pairs[1][0] + pairs[1][1])};
  double col[2] = {(double)(pairs[0][0] + pairs[1][0]), (double)(pairs[0][1] + pairs[1][1])};
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      double e = row[i] * col[j] / m;
      stat += ((double)pairs[i][j] - e) * ((double)pairs[i][j] - e) / e;
    }
  printf("retain r=%g: lag-1 independence chi2 %.2f (critical %.2f)\n", r, stat, Z2_1E6 * Z2_1E6);
  CHECK(stat < Z2_1E6 * Z2_1E6);
}

int main(int argc, char **argv) {
  /* At least 1e6 trials per rate, and enough for 1e5 gaps at every rate
   * (1e8 ticks at p=0.001), so small rates are tested as hard as large. */
  uint64_t trials = (uint64_t)rmpt_ops_arg(argc, argv, 1000000);
  static const double rates[] = {1.0, 0.5, 0.1, 0.01, 0.001};
  for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
    double p = rates[i];
    uint64_t n = trials;
    if ((double)n * p < 100000.0) n = (uint64_t)(100000.0 / p);
    run_rate(p, n, 0x5EED0000u + i, 0.0);
  }
  /* Retain decisions interleaved with ticks must not bias the gaps. */
  run_rate(0.1, trials, 77, 0.3);
  run_retain(0.0, trials, 11);
  run_retain(0.3, trials, 12);
  run_retain(1.0, trials, 13);
  /* Sanity of the oracle itself: the critical value grows with dof and is
   * far above the mean (dof) at this alpha. */
  CHECK(chi2_crit(10) > 10.0 + 4.0 * sqrt(20.0) && chi2_crit(10) < 60.0);
  puts("sampler stats OK");
  return 0;
}
