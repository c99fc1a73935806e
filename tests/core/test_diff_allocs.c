/* The allocations reservoir (rmp_allocs) against a model and against the
 * uniform distribution it must sample from.
 *
 * 1. Differential: random offers (entering candidates are kept, or now and
 *    then not, as when the embedder fails to intern a stack), interval
 *    resets, frees (a rotation takes the buffer) and re-initialisation with
 *    another bound. The model holds the samples in order: while an interval
 *    has offered at most max candidates every one enters and is appended;
 *    after that an entering candidate replaces exactly one slot and the
 *    others stay; n <= max, seen counts the offers.
 * 2. Uniformity: over many seeded intervals, which candidates are in the
 *    reservoir at the end must be a uniform max-subset of the N offered.
 *    Pearson's statistic on the per-candidate (and per-bucket) counts,
 *    scaled for sampling without replacement, against the chi-square
 *    quantile at alpha = 1e-6.
 * 3. Through the profiler: rotation gives each kept sample the weight
 *    1 / (sample_rate * retain_rate) * seen / n and reports seen as
 *    alloc_candidates; the next interval starts from zero.
 * Usage: test_diff_allocs [ops] (default 1e6). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "rmp.h"

#define MAXBOUND 300

static rmp_alloc_sample model[MAXBOUND];
static uint32_t m_n, m_max;
static uint64_t m_seen;

static int same(const rmp_alloc_sample *a, const rmp_alloc_sample *b) {
  return a->stack == b->stack && a->klass == b->klass && a->size == b->size && a->epoch == b->epoch &&
         a->weight == b->weight;
}

static void check_all(const rmp_allocs *a) {
  CHECK(a->n == m_n && a->max == m_max && a->seen == m_seen && a->dropped == 0);
  for (uint32_t i = 0; i < m_n; i++) CHECKF(same(&a->v[i], &model[i]), "sample %u", i);
}

static void differential(long ops) {
  rmpt_rand r = {0xA110C5};
  rmp_allocs a;
  rmp_rng rng;
  uint64_t tag = 0;
  long n_in = 0, n_out = 0, n_replace = 0, n_reset = 0, n_reinit = 0, n_unkept = 0;
  rmp_rng_seed(&rng, 17);
  m_max = 1 + rmpt_below(&r, MAXBOUND);
  CHECK(rmp_allocs_init(&a, m_max) == RMP_OK);
  for (long op = 0; op < ops; op++) {
    uint32_t kind = rmpt_below(&r, 10000);
    if (kind < 9980) {
      rmp_alloc_sample s;
      int in = rmp_allocs_offer(&a, &rng);
      m_seen++;
      CHECK(a.seen == m_seen);
      /* The first max candidates of an interval all enter. */
      if (m_seen <= m_max) CHECK(in == 1);
      if (!in) {
        n_out++;
        continue;
      }
      n_in++;
      memset(&s, 0, sizeof s);
      s.stack = (uint32_t)++tag; /* unique: tells slots apart */
      s.klass = (uint32_t)rmpt_next(&r);
      s.size = rmpt_next(&r) >> rmpt_below(&r, 64);
      s.epoch = (uint32_t)rmpt_next(&r);
      s.weight = (float)(1 + rmpt_below(&r, 1000));
      if (rmpt_below(&r, 50) == 0) { /* entered, but the embedder could not keep it */
        n_unkept++;
        continue;
      }
      CHECK(rmp_allocs_keep(&a, &s, &rng) == RMP_OK);
      if (m_n < m_max) {
        model[m_n++] = s;
        CHECK(a.n == m_n && same(&a.v[m_n - 1], &s));
      } else {
        uint32_t changed = 0, at = 0;
        CHECK(a.n == m_max);
        for (uint32_t k = 0; k < m_n; k++)
          if (!same(&a.v[k], &model[k])) changed++, at = k;
        CHECKF(changed == 1 && same(&a.v[at], &s), "%u slots changed", changed);
        model[at] = s;
        n_replace++;
      }
    } else if (kind < 9995) { /* a new interval */
      check_all(&a);
      if (rmpt_below(&r, 2)) {
        rmp_allocs_reset(&a);
        CHECK(a.n == 0 && a.seen == 0);
      } else { /* as rotation does: the buffer is taken, then reset */
        rmp_allocs_free(&a);
        CHECK(a.n == 0 && a.v == NULL);
        rmp_allocs_reset(&a);
      }
      m_n = 0;
      m_seen = 0;
      n_reset++;
    } else { /* a new reservoir with another bound */
      check_all(&a);
      rmp_allocs_free(&a);
      m_max = 1 + rmpt_below(&r, MAXBOUND);
      m_n = 0;
      m_seen = 0;
      CHECK(rmp_allocs_init(&a, m_max) == RMP_OK);
      n_reinit++;
    }
    CHECK(a.n == m_n && a.n <= a.max);
    if ((op & 4095) == 0) check_all(&a);
  }
  check_all(&a);
  printf("allocs: %ld ops: %ld entered (%ld replacing, %ld not kept), %ld skipped, %ld intervals, %ld bounds\n",
         ops, n_in, n_replace, n_unkept, n_out, n_reset, n_reinit);
  CHECK(n_replace > 0 && n_out > 0 && n_reset > 0 && n_reinit > 0 && n_unkept > 0);
  rmp_allocs_free(&a);
}

/* The chi-square quantile with df degrees of freedom at upper tail
 * 1e-6 (Wilson-Hilferty; z = 4.7534 is the normal's 1 - 1e-6 quantile). */
static double chi2_crit(double df) {
  double h = 2.0 / (9.0 * df), t = 1.0 - h + 4.7534 * sqrt(h);
  return df * t * t * t;
}

/* R intervals of N candidates into a reservoir of k: count how often each
 * of B equal buckets of candidates is represented at the end. Each
 * interval's k survivors are a uniform k-subset, so the counts are
 * multivariate hypergeometric sums: Pearson's statistic times
 * (N - 1) / (N - k) is chi-square with B - 1 degrees of freedom. */
static void uniformity(uint32_t N, uint32_t k, uint32_t B, uint32_t R, uint64_t seed0) {
  static uint64_t counts[1024];
  rmp_allocs a;
  double x2 = 0, crit = chi2_crit(B - 1.0), expect = (double)R * k / B;
  CHECK(B <= 1024 && N % B == 0);
  memset(counts, 0, sizeof counts);
  CHECK(rmp_allocs_init(&a, k) == RMP_OK);
  for (uint32_t run = 0; run < R; run++) {
    rmp_rng rng;
    rmp_rng_seed(&rng, seed0 + run);
    rmp_allocs_reset(&a);
    for (uint32_t i = 0; i < N; i++) {
      if (!rmp_allocs_offer(&a, &rng)) continue;
      rmp_alloc_sample s;
      memset(&s, 0, sizeof s);
      s.stack = i;
      CHECK(rmp_allocs_keep(&a, &s, &rng) == RMP_OK);
    }
    CHECK(a.n == k && a.seen == N);
    for (uint32_t j = 0; j < a.n; j++) counts[a.v[j].stack / (N / B)]++;
  }
  for (uint32_t b = 0; b < B; b++) x2 += ((double)counts[b] - expect) * ((double)counts[b] - expect) / expect;
  x2 *= (N - 1.0) / (N - k);
  printf("uniformity N=%u k=%u: chi2 %.1f on %u df (critical %.1f at 1e-6); first/last bucket %llu/%llu of %.0f\n",
         N, k, x2, B - 1, crit, (unsigned long long)counts[0], (unsigned long long)counts[B - 1], expect);
  CHECKF(x2 < crit, "kept candidates are not uniform: chi2 %.1f > %.1f", x2, crit);
  rmp_allocs_free(&a);
}

/* Weights after rotation, through the real profiler. */
static void rotation_weights(double rate, double retain, uint32_t max, uint32_t allocs_per_interval) {
  rmp_profiler p;
  rmp_config cfg;
  rmp_config_default(&cfg);
  cfg.sample_rate = rate;
  cfg.retain_rate = retain;
  cfg.max_alloc_samples = max;
  cfg.max_heap_samples = 1u << 20;
  cfg.seed = 5;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  for (int interval = 0; interval < 4; interval++) {
    rmp_snapshot snap;
    uint64_t sampled = 0, entered = 0;
    /* The interval length varies: below and above the bound. */
    uint32_t n = allocs_per_interval >> (3 - interval);
    for (uint32_t i = 0; i < n; i++) {
      rmp_decision d = rmp_sample_tick(&p);
      if (!d) continue;
      sampled++;
      entered += (d & RMP_KEEP_ALLOC) != 0;
      CHECK(rmp_track(&p, 0x10000 + (uintptr_t)i * 16, 0, 0, 8, 0, d) == RMP_OK);
    }
    CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, (uint64_t)interval + 1, 0) == RMP_OK);
    CHECK(snap.nallocs <= max && snap.nallocs <= entered);
    if (retain >= 1.0) {
      CHECK(snap.alloc_candidates == sampled);
    } else { /* Binomial(sampled, retain): within 6 sd */
      double mu = sampled * retain, sd = sqrt(sampled * retain * (1 - retain));
      CHECKF(fabs((double)snap.alloc_candidates - mu) <= 6 * sd + 1, "%llu candidates of %llu sampled",
             (unsigned long long)snap.alloc_candidates, (unsigned long long)sampled);
    }
    CHECK(snap.nallocs == (snap.alloc_candidates < max ? snap.alloc_candidates : max));
    {
      double want = 1.0 / (rate * retain) * (snap.nallocs ? (double)snap.alloc_candidates / snap.nallocs : 1);
      double sum = 0;
      for (uint32_t i = 0; i < snap.nallocs; i++) {
        CHECKF(fabs(snap.allocs[i].weight - want) <= want * 1e-6, "weight %.9g, want %.9g",
               (double)snap.allocs[i].weight, want);
        sum += snap.allocs[i].weight;
      }
      /* The weights add up to the candidates scaled back to allocations. */
      if (snap.nallocs)
        CHECK(fabs(sum - snap.alloc_candidates / (rate * retain)) <= sum * 1e-5);
    }
    printf("rotation rate %g retain %g max %u: %llu candidates -> %u samples of weight %.4g\n", rate, retain, max,
           (unsigned long long)snap.alloc_candidates, snap.nallocs,
           snap.nallocs ? (double)snap.allocs[0].weight : 0.0);
    CHECK(p.allocs.n == 0 && p.allocs.seen == 0);
    rmp_snapshot_free(&snap);
  }
  rmp_profiler_free(&p);
}

int main(int argc, char **argv) {
  long ops = rmpt_ops_arg(argc, argv, 1000000);
  differential(ops);
  uniformity(200, 20, 200, 20000, 1000);     /* every candidate its own bucket */
  uniformity(20000, 50, 100, 2000, 900000);  /* long skips: buckets of 200 */
  uniformity(1000, 1, 50, 20000, 5000000);   /* a single slot */
  rotation_weights(1.0, 1.0, 100, 400); /* 50 and 100 candidates: all kept, weight 1 */
  rotation_weights(0.25, 1.0, 64, 8000);
  rotation_weights(0.5, 0.3, 40, 8000);
  return 0;
}
