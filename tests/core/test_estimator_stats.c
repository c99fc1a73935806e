/* The estimators under their memory bounds are unbiased, tested against
 * populations whose truth is known, over many seeded trials.
 *
 * Retained: objects are allocated on a few stacks, some die at random, and
 * the live table's bound is far below the sampled population, so the table
 * is thinned several times. Allocations: each interval offers far more
 * candidates than the bound, and which stack allocates changes halfway, so
 * a buffer that favoured early allocations would miss the late stacks.
 *
 * For each stack, the mean estimate over T trials must lie within Z
 * standard errors of the truth, the standard error being the trials' own
 * sample deviation / sqrt(T). Seeds are fixed, so a pass is reproducible;
 * an estimator with a bias of a few percent fails (the tail-dropping buffer
 * these replaced is off by 50-100% on these populations). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "rmp.h"

#define NSTACKS 4
/* |mean - truth| <= Z * SE: Z = 5 is p ~ 6e-7 per check for an unbiased
 * estimator (the means are ~normal at T = 1000). */
#define Z 5.0

typedef struct moments {
  double sum[NSTACKS], sum2[NSTACKS];
  int n;
} moments;

static void moments_add(moments *m, const double *x) {
  int s;
  for (s = 0; s < NSTACKS; s++) {
    m->sum[s] += x[s];
    m->sum2[s] += x[s] * x[s];
  }
  m->n++;
}

/* Each stack's mean within Z standard errors of truth[s]; returns the
 * largest |z| seen, for the log. */
static double moments_check(const moments *m, const double *truth, const char *what) {
  double worst = 0;
  int s;
  for (s = 0; s < NSTACKS; s++) {
    double mean = m->sum[s] / m->n;
    double var = (m->sum2[s] - m->n * mean * mean) / (m->n - 1);
    double se = sqrt(var > 0 ? var : 0) / sqrt((double)m->n);
    double z = se > 0 ? (mean - truth[s]) / se : (mean == truth[s] ? 0 : INFINITY);
    CHECKF(fabs(z) <= Z, "%s stack %d: mean %.1f truth %.1f se %.2f (z = %.2f)", what, s, mean, truth[s], se, z);
    if (fabs(z) > worst) worst = fabs(z);
  }
  return worst;
}

static uint32_t intern_stack(rmp_profiler *p, int s) {
  uint64_t keys[2] = {UINT64_C(0x1000) + (uint64_t)s, UINT64_C(0x9000)};
  int lines[2] = {10 + s, 1};
  uint32_t id = 0;
  CHECK(rmp_stack_intern(&p->stacks, keys, lines, 2, &id) == RMP_OK);
  return id;
}

static void start_profiler(rmp_profiler *p, uint64_t seed, double rate, uint32_t max_heap, uint32_t max_allocs,
                           uint32_t *stack_id) {
  rmp_config cfg;
  int s;
  rmp_config_default(&cfg);
  cfg.sample_rate = rate;
  cfg.max_heap_samples = max_heap;
  cfg.max_alloc_samples = max_allocs;
  cfg.seed = seed;
  CHECK(rmp_profiler_init(p, &cfg) == RMP_OK);
  for (s = 0; s < NSTACKS; s++) stack_id[s] = intern_stack(p, s);
}

/* ---- retained: thinning the live table ---- */

#define POP 20000

typedef struct obj {
  uintptr_t addr;
  int stack, alive;
  uint32_t size;
} obj;

static obj pop[POP];

/* One trial; est_n/est_b get the estimated live objects and bytes per
 * stack. The population (which objects die, sizes, stacks) is the same in
 * every trial: only the profiler's seed changes. */
static void retained_trial(uint64_t seed, double rate, uint32_t bound, double *est_n, double *est_b,
                           uint64_t *thinnings) {
  rmp_profiler p;
  rmp_snapshot snap;
  uint32_t stack_id[NSTACKS], i;
  start_profiler(&p, seed, rate, bound, 16, stack_id); /* the allocations side is not under test here */
  for (i = 0; i < POP; i++) {
    rmp_decision d = rmp_sample_tick(&p);
    if (d) CHECK(rmp_track(&p, pop[i].addr, stack_id[pop[i].stack], 0, pop[i].size, 0, d) != RMP_ERR_INVALID);
    /* Deaths are spread over the run, as an embedder's GC reports them. */
    if (i % 100 == 99) {
      uint32_t j;
      for (j = i - 99; j <= i; j++)
        if (!pop[j].alive) rmp_live_delete(&p.live, pop[j].addr);
    }
    CHECK(p.live.count <= bound);
  }
  CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, 1, 1) == RMP_OK);
  memset(est_n, 0, sizeof(double) * NSTACKS);
  memset(est_b, 0, sizeof(double) * NSTACKS);
  for (i = 0; i < snap.nlive; i++) {
    const rmp_live_entry *e = &snap.live[i];
    /* Rotation renumbers stacks: each is known by its leaf line. */
    int k = rmp_frame_get(&snap.stacks, snap.stacks.nodes[e->stack].frame)->line - 10;
    CHECK(e->weight >= 1.0f);
    CHECK(k >= 0 && k < NSTACKS);
    est_n[k] += e->weight;
    est_b[k] += (double)e->weight * e->size;
  }
  *thinnings = p.heap_thinnings;
  rmp_snapshot_free(&snap);
  rmp_profiler_free(&p);
}

static void test_retained(int trials, double rate, uint32_t bound) {
  rmpt_rand r = {UINT64_C(0x5eed)};
  double truth_n[NSTACKS] = {0}, truth_b[NSTACKS] = {0}, est_n[NSTACKS], est_b[NSTACKS];
  moments mn, mb;
  uint64_t thinned = 0, t;
  int i, trial;
  memset(&mn, 0, sizeof mn);
  memset(&mb, 0, sizeof mb);
  for (i = 0; i < POP; i++) {
    uint64_t x = rmpt_next(&r);
    pop[i].addr = (uintptr_t)(0x10000 + (uint64_t)i * 40);
    /* Uneven stacks: 50%, 30%, 15%, 5%. */
    pop[i].stack = (x % 100) < 50 ? 0 : (x % 100) < 80 ? 1 : (x % 100) < 95 ? 2 : 3;
    pop[i].size = 40 + (uint32_t)(rmpt_next(&r) % 4000);
    /* Stack 1's objects mostly die; the others mostly live. */
    pop[i].alive = (rmpt_next(&r) % 100) < (pop[i].stack == 1 ? 10u : 70u);
    if (pop[i].alive) {
      truth_n[pop[i].stack] += 1;
      truth_b[pop[i].stack] += pop[i].size;
    }
  }
  for (trial = 0; trial < trials; trial++) {
    retained_trial(UINT64_C(1000) + (uint64_t)trial, rate, bound, est_n, est_b, &t);
    thinned += t;
    moments_add(&mn, est_n);
    moments_add(&mb, est_b);
  }
  /* The bound really was far below the sampled population. */
  CHECKF(thinned >= (uint64_t)trials * 2, "only %llu thinnings in %d trials", (unsigned long long)thinned, trials);
  printf("retained rate %.2f bound %u: %.1f thinnings/trial, worst |z| objects %.2f bytes %.2f\n", rate, bound,
         (double)thinned / trials, moments_check(&mn, truth_n, "retained objects"),
         moments_check(&mb, truth_b, "retained bytes"));
}

/* ---- allocations: the per-interval reservoir ---- */

#define CANDIDATES 60000

static void allocs_trial(uint64_t seed, double rate, uint32_t bound, double *est_n, double *est_b) {
  rmp_profiler p;
  rmp_snapshot snap;
  uint32_t stack_id[NSTACKS], i;
  start_profiler(&p, seed, rate, 16, bound, stack_id); /* the retained side is not under test here */
  for (i = 0; i < CANDIDATES; i++) {
    /* The first half allocates on stacks 0 and 1, the second on 2 and 3. */
    int k = (i < CANDIDATES / 2 ? 0 : 2) + (int)(i % 3 == 0);
    rmp_decision d = rmp_sample_tick(&p);
    if (d) rmp_track(&p, (uintptr_t)(0x10000 + (uint64_t)i * 40), stack_id[k], 0, 100 + (uint64_t)k * 50, 0, d);
    CHECK(p.allocs.n <= bound);
  }
  CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, 1, 1) == RMP_OK);
  memset(est_n, 0, sizeof(double) * NSTACKS);
  memset(est_b, 0, sizeof(double) * NSTACKS);
  CHECK(snap.nallocs <= bound);
  for (i = 0; i < snap.nallocs; i++) {
    const rmp_alloc_sample *a = &snap.allocs[i];
    int k = rmp_frame_get(&snap.stacks, snap.stacks.nodes[a->stack].frame)->line - 10;
    CHECK(k >= 0 && k < NSTACKS);
    CHECK(a->weight >= 1.0f);
    est_n[k] += a->weight;
    est_b[k] += (double)a->weight * (double)a->size;
  }
  rmp_snapshot_free(&snap);
  rmp_profiler_free(&p);
}

static void test_allocs(int trials, double rate, uint32_t bound) {
  double truth_n[NSTACKS] = {0}, truth_b[NSTACKS], est_n[NSTACKS], est_b[NSTACKS];
  moments mn, mb;
  int i, trial;
  memset(&mn, 0, sizeof mn);
  memset(&mb, 0, sizeof mb);
  for (i = 0; i < CANDIDATES; i++) truth_n[(i < CANDIDATES / 2 ? 0 : 2) + (i % 3 == 0)] += 1;
  for (i = 0; i < NSTACKS; i++) truth_b[i] = truth_n[i] * (100 + i * 50);
  for (trial = 0; trial < trials; trial++) {
    allocs_trial(UINT64_C(77000) + (uint64_t)trial, rate, bound, est_n, est_b);
    moments_add(&mn, est_n);
    moments_add(&mb, est_b);
  }
  printf("allocations rate %.2f bound %u: worst |z| objects %.2f bytes %.2f\n", rate, bound,
         moments_check(&mn, truth_n, "allocations"), moments_check(&mb, truth_b, "allocation bytes"));
}

int main(int argc, char **argv) {
  int trials = argc > 1 ? atoi(argv[1]) : 1000;
  CHECK(trials >= 30);
  /* Sampled population ~ POP * rate * 60% alive, bound far below it. */
  test_retained(trials, 1.0, 500);
  test_retained(trials, 0.3, 300);
  test_allocs(trials, 1.0, 400);
  test_allocs(trials, 0.25, 400);
  return 0;
}
