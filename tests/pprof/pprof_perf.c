/* Perf sanity for rmp_pprof.h (not a test; bench/ owns the formal figures):
 * 50k live samples over 10k distinct stacks of depth 40, encoded raw and
 * gzipped. Prints the median time and the peak bytes the encoder holds
 * beyond what the snapshot already holds.
 *   usage: pprof_perf [classes] [age_spread] [raw]   (defaults 1 and 1;
 *          "raw" skips the gzip runs) */
#include <stdio.h>
#include <time.h>

#include "rmp_test_alloc.h"
#define RMP_IMPLEMENTATION
#include "rmp.h"
#define RMP_PPROF_IMPLEMENTATION
#include "rmp_pprof.h"

static size_t sunk;
static int count_sink(void *ctx, const void *p, size_t n) {
  (void)ctx;
  (void)p;
  sunk += n;
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static uint64_t rnd(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

int main(int argc, char **argv) {
  enum { NSTACKS = 10000, DEPTH = 40, NLIVE = 50000, RUNS = 21 };
  int nclasses = argc > 1 ? atoi(argv[1]) : 1, spread = argc > 2 ? atoi(argv[2]) : 1;
  int gzip = !(argc > 3 && strcmp(argv[3], "raw") == 0);
  rmp_profiler p;
  rmp_snapshot snap;
  rmp_config cfg;
  uint32_t stacks[NSTACKS], klass[64], f;
  uint64_t keys[DEPTH], seed = 7;
  int lines[DEPTH], i, d, r;
  double t[RUNS], tg[RUNS];
  size_t base, peak_raw = 0, peak_gz = 0, gzlen = 0, rawlen = 0;
  if (nclasses < 1 || nclasses > 64 || spread < 1) return 2;
  rmp_config_default(&cfg);
  cfg.sample_rate = 0.01;
  cfg.max_heap_samples = NLIVE;
  if (rmp_profiler_init(&p, &cfg) != RMP_OK) return 1;
  for (i = 0; i < nclasses; i++) {
    char b[32];
    snprintf(b, sizeof b, "Class%d", i);
    rmp_strtab_intern_cstr(&p.strings, b, &klass[i]);
  }
  /* 10k distinct stacks: a shared 20-frame trunk, then 20 varied frames
   * drawn from 2000 methods, as a real app's call tree branches. */
  for (i = 0; i < NSTACKS; i++) {
    for (d = 0; d < DEPTH; d++) {
      int from_root = DEPTH - 1 - d;
      keys[d] = from_root < 20 ? (uint64_t)from_root + 1 : 100 + rnd(&seed) % 2000;
      lines[d] = 10 + (int)(rnd(&seed) % 50);
    }
    if (rmp_stack_intern(&p.stacks, keys, lines, DEPTH, &stacks[i]) != RMP_OK) return 1;
  }
  for (f = p.stacks.first_unresolved; f < p.stacks.nfuncs; f++) {
    char b[64];
    uint32_t name, file;
    snprintf(b, sizeof b, "App::Module%u#method_%u", f % 50, f);
    rmp_strtab_intern_cstr(&p.strings, b, &name);
    snprintf(b, sizeof b, "/app/lib/module%u.rb", f % 50);
    rmp_strtab_intern_cstr(&p.strings, b, &file);
    rmp_func_resolve(&p.stacks, f, name, name, file, (int32_t)f);
  }
  /* Each object as a sampled allocation (rmp_sample_confirm: the
   * countdown said yes), so all NLIVE are live samples. */
  for (i = 0; i < NLIVE; i++)
    rmp_track(&p, (uintptr_t)(0x100000 + 64 * (uint64_t)i), stacks[i % NSTACKS], klass[rnd(&seed) % nclasses],
              40 + rnd(&seed) % 200, (uint32_t)(rnd(&seed) % (uint64_t)spread), rmp_sample_confirm(&p));
  if (rmp_profiler_rotate(&p, &snap, NULL, 0, 1000, (uint32_t)spread) != RMP_OK) return 1;

  base = ta_live_bytes;
  for (r = 0; r < RUNS; r++) {
    rmp_gzip_sink gz;
    double t0;
    ta_peak_bytes = ta_live_bytes;
    sunk = 0;
    t0 = now_ms();
    if (rmp_pprof_encode(&snap, NULL, count_sink, NULL) != RMP_OK) return 1;
    t[r] = now_ms() - t0;
    rawlen = sunk;
    if (ta_peak_bytes - base > peak_raw) peak_raw = ta_peak_bytes - base;
    if (!gzip) continue;
    /* gzip streamed into the counting sink: no output buffer in the figure */
    ta_peak_bytes = ta_live_bytes;
    sunk = 0;
    t0 = now_ms();
    if (rmp_gzip_begin(&gz, count_sink, NULL, 1) != RMP_OK) return 1;
    if (rmp_pprof_encode(&snap, NULL, rmp_gzip_write, &gz) != RMP_OK) return 1;
    if (rmp_gzip_end(&gz) != RMP_OK) return 1;
    tg[r] = now_ms() - t0;
    if (ta_peak_bytes - base > peak_gz) peak_gz = ta_peak_bytes - base;
    gzlen = sunk;
  }
  qsort(t, RUNS, sizeof t[0], cmp_d);
  qsort(tg, RUNS, sizeof tg[0], cmp_d);
  printf("snapshot: %u live + %u alloc samples, %u stacks(nodes) %u frames %u funcs %u strings\n", snap.nlive,
         snap.nallocs, snap.stacks.nnodes, snap.stacks.nframes, snap.stacks.nfuncs, snap.strings.count);
  printf("raw encode:  median %.2f ms (min %.2f, max %.2f), %zu bytes, peak extra memory %zu bytes\n",
         t[RUNS / 2], t[0], t[RUNS - 1], rawlen, peak_raw);
  if (gzip)
    printf("gzip encode: median %.2f ms (min %.2f), %zu bytes, peak extra memory %zu bytes\n",
         tg[RUNS / 2], tg[0], gzlen, peak_gz);
  rmp_snapshot_free(&snap);
  rmp_profiler_free(&p);
  return 0;
}
