/* Fixed work for the callgrind regression gate: each core operation runs a
 * fixed number of times on fixed inputs, with instrumentation switched on
 * only around it. Each section ends in a callgrind dump named "op N", so
 * scripts/bench-gate.sh divides that dump's instruction count by N. Run
 * natively, the program just checks that every operation succeeds. */
#include <stdio.h>
#include <stdlib.h>
#include <valgrind/callgrind.h>

#include "rmp.h"
#include "rmp_bench_fixture.h"
#include "rmp_pprof.h"

#define OP_BEGIN()                  \
  do {                              \
    CALLGRIND_START_INSTRUMENTATION; \
    CALLGRIND_ZERO_STATS;           \
  } while (0)

static void op_end(const char *name, unsigned long n) {
  char label[96];
  snprintf(label, sizeof label, "%s %lu", name, n);
  CALLGRIND_DUMP_STATS_AT(label);
  CALLGRIND_STOP_INSTRUMENTATION;
  printf("op %s\n", label);
}

static int failures;
#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) {                                                   \
      fprintf(stderr, "ops.c:%d: check failed: %s\n", __LINE__, #cond); \
      failures++;                                                    \
    }                                                                \
  } while (0)

static volatile uint64_t sink_u64;

static size_t raw_bytes;
static int count_sink(void *ctx, const void *data, size_t len) {
  (void)data;
  *(size_t *)ctx += len;
  return 0;
}

static void sampler_ops(void) {
  rmp_sampler s;
  uint64_t hits = 0;
  const unsigned long n = 1000000;
  CHECK(rmp_sampler_init(&s, 0.01, 1.0, 11) == RMP_OK);
  OP_BEGIN();
  for (unsigned long i = 0; i < n; i++) hits += (uint64_t)rmp_sampler_tick(&s);
  op_end("tick_rate0.01_amortised", n);
  CHECK(hits > n / 200 && hits < n / 50);

  CHECK(rmp_sampler_init(&s, 0.0, 1.0, 11) == RMP_OK);
  hits = 0;
  OP_BEGIN();
  for (unsigned long i = 0; i < n; i++) hits += (uint64_t)rmp_sampler_tick(&s);
  op_end("tick_rate0", n);
  CHECK(hits == 0);

  CHECK(rmp_sampler_init(&s, 0.01, 1.0, 11) == RMP_OK);
  OP_BEGIN();
  for (unsigned long i = 0; i < n / 10; i++) {
    s.countdown = 1;
    hits += (uint64_t)rmp_sampler_tick(&s);
  }
  op_end("tick_sampled_refill", n / 10);
  sink_u64 = hits;
}

/* The profiler's sampling decision, as an embedder makes it on every
 * allocation: the unsampled tick (a decrement and a branch, which must stay
 * that), and rmp_sample_confirm per sampled allocation (the next gap, the
 * heap keep draw, the retain draw and the reservoir's offer), while the
 * reservoir fills and once it is full with the table thinned twice. Then
 * rmp_track per sampled allocation against a full live table, thinning
 * included. (Written against the API before decisions too, so the same
 * file measures both.) */
static void sample_ops(void) {
  rmp_profiler p;
  rmp_config cfg;
  const unsigned long n = 1000000;
  uint64_t hits = 0;
  rmp_config_default(&cfg);
  cfg.seed = 11;
  cfg.sample_rate = 0.0;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  OP_BEGIN();
  for (unsigned long i = 0; i < n; i++) hits += rmp_sample_tick(&p) != 0;
  op_end("sample_tick_rate0", n);
  CHECK(hits == 0);
  rmp_profiler_free(&p);

  cfg.sample_rate = 0.01;
  cfg.max_alloc_samples = 1u << 30; /* every candidate enters */
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  OP_BEGIN();
  for (unsigned long i = 0; i < n; i++) hits += rmp_sample_tick(&p) != 0;
  op_end("sample_tick_rate0.01_amortised", n);
  CHECK(hits > n / 200 && hits < n / 50);
  OP_BEGIN();
  for (unsigned long i = 0; i < n / 10; i++) hits += rmp_sample_confirm(&p) != 0;
  op_end("sample_confirm_filling", n / 10);
  rmp_profiler_free(&p);

  cfg.max_alloc_samples = 1000;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
#ifdef RMP_KEEP_HEAP
  while (p.allocs.seen < 10 * cfg.max_alloc_samples) (void)rmp_allocs_offer(&p.allocs, &p.sampler.rng);
  p.heap_keep_log2 = 2;
#endif
  OP_BEGIN();
  for (unsigned long i = 0; i < n / 10; i++) hits += rmp_sample_confirm(&p) != 0;
  op_end("sample_confirm_full_thinned", n / 10);
  rmp_profiler_free(&p);

  cfg.sample_rate = 1.0;
  cfg.max_heap_samples = 4096;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  OP_BEGIN();
  for (unsigned long i = 0; i < n / 10; i++) {
#ifdef RMP_KEEP_HEAP
    rmp_decision d = rmp_sample_confirm(&p);
    if (d) rmp_track(&p, rmpb_addr(i), 0, 0, 40, 0, d);
#else
    if (rmp_sample_confirm(&p)) rmp_track(&p, rmpb_addr(i), 0, 0, 40, 0);
#endif
  }
  op_end("track_full_table_amortised", n / 10);
  CHECK(p.live.count <= 4096);
  rmp_profiler_free(&p);
  sink_u64 = hits;
}

static void intern_ops(void) {
  static const uint32_t depths[] = {10, 60, 200};
  static uint64_t keys[200];
  static int lines[200];
  char name[64];
  for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
    uint32_t depth = depths[d], id = 0, first = 0;
    const unsigned long n = 20000;
    rmp_stacks st;
    CHECK(rmp_stacks_init(&st) == RMP_OK);
    rmpb_stack(3, depth, 0, keys, lines);
    CHECK(rmp_stack_intern(&st, keys, lines, depth, &first) == RMP_OK);
    snprintf(name, sizeof name, "intern_repeat_d%u", (unsigned)depth);
    OP_BEGIN();
    for (unsigned long i = 0; i < n; i++) rmp_stack_intern(&st, keys, lines, depth, &id);
    op_end(name, n);
    CHECK(id == first);

    const unsigned long nn = 200000 / depth;
    snprintf(name, sizeof name, "intern_new_path_d%u", (unsigned)depth);
    OP_BEGIN();
    for (unsigned long v = 1; v <= nn; v++) {
      rmpb_set_root_variant((uint32_t)v, depth, keys, lines);
      rmp_stack_intern(&st, keys, lines, depth, &id);
    }
    op_end(name, nn);
    CHECK(st.nnodes >= nn * depth);
    rmp_stacks_free(&st);
  }
}

static int keep_half(void *ud, rmp_live_entry *e) {
  (void)ud;
  return (rmpb_mix(e->addr) & 1) != 0;
}

static void live_ops(void) {
  const uint32_t n = 50000;
  rmp_live t;
  uint64_t found = 0;
  CHECK(rmp_live_init(&t, n) == RMP_OK);
  OP_BEGIN();
  for (uint32_t k = 0; k < n; k++) {
    rmp_live_entry e = {rmpb_addr(k), k % 10000u, k % 40u, k / 1000u, 40u, 1.0f, 0};
    rmp_live_insert(&t, &e);
  }
  op_end("live_insert_fill_50k", n);
  CHECK(t.count == n);

  OP_BEGIN();
  for (uint32_t i = 0; i < 2 * n; i++) found += rmp_live_lookup(&t, rmpb_addr(rmpb_mix(i) % n)) != NULL;
  op_end("live_lookup_hit_50k", 2ul * n);
  CHECK(found == 2ull * n);

  /* Steady state: delete a present entry, insert a fresh one. Victims are
   * k = 0, 1, 2, ... (the oldest first), as a heap's old generation dies. */
  OP_BEGIN();
  for (uint32_t k = 0; k < n; k++) {
    rmp_live_entry e = {rmpb_addr(n + k), k % 10000u, 1, 0, 40, 1.0f, 0};
    found += (uint64_t)rmp_live_delete(&t, rmpb_addr(k));
    rmp_live_insert(&t, &e);
  }
  op_end("live_insert_delete_pair_50k", n);
  CHECK(t.count == n);

  size_t removed;
  OP_BEGIN();
  removed = rmp_live_sweep(&t, keep_half, NULL);
  op_end("live_sweep_50k_keep_half_per_entry", n);
  CHECK(removed > n / 3 && removed < 2 * n / 3 && t.count == n - removed);
  rmp_live_free(&t);
  sink_u64 = found;
}

/* As a minor GC sees them: one young entry in 7 survives and turns old. */
static int keep_seventh_promoted(void *ud, rmp_live_entry *e) {
  (void)ud;
  if (rmpb_mix(e->addr) % 7 != 0) return 0;
  e->flags |= RMP_LIVE_OLD;
  return 1;
}

/* A split table with 50,000 old entries; per cycle 3,500 young entries come
 * in and a young sweep drops 3,000 and promotes 500. Per young entry. */
static void live_split_ops(void) {
  const uint32_t n = 50000, young = 3500, cycles = 8;
  rmp_live t;
  uint32_t next = n;
  size_t removed = 0;
  CHECK(rmp_live_init(&t, 2 * n + cycles * young) == RMP_OK && rmp_live_split_young(&t) == RMP_OK);
  for (uint32_t k = 0; k < n; k++) {
    rmp_live_entry e = {rmpb_addr(k), k % 10000u, k % 40u, 0, 40u, 1.0f, RMP_LIVE_OLD};
    rmp_live_insert(&t, &e);
  }
  OP_BEGIN();
  for (uint32_t c = 0; c < cycles; c++) {
    for (uint32_t k = 0; k < young; k++, next++) {
      rmp_live_entry e = {rmpb_addr(next), next % 10000u, 1, c, 40u, 1.0f, 0};
      rmp_live_insert(&t, &e);
    }
    removed += rmp_live_sweep_young(&t, keep_seventh_promoted, NULL);
  }
  op_end("live_split_young_insert_sweep_per_entry", (unsigned long)cycles * young);
  CHECK(t.young.count == 0 && t.count == n + cycles * young - removed && removed > cycles * young / 2);
  rmp_live_free(&t);
}

static void profiler_ops(void) {
  enum { NSTACKS = 10000, DEPTH = 40, NLIVE = 50000 };
  static uint32_t ids[NSTACKS];
  rmp_profiler p;
  rmp_snapshot snap;
  uint32_t *remap;

  CHECK(rmpb_build(&p, NSTACKS, DEPTH, 0, ids) == RMP_OK);
  remap = (uint32_t *)malloc(sizeof(uint32_t) * p.stacks.nnodes);
  CHECK(remap != NULL);
  if (remap) {
    rmp_stacks out;
    rmp_strtab out_strings;
    rmp_status s;
    OP_BEGIN();
    for (uint32_t i = 0; i < NSTACKS; i += 2) rmp_stacks_mark(&p.stacks, ids[i]);
    s = rmp_stacks_compact(&p.stacks, &p.strings, &out, &out_strings, remap);
    op_end("stacks_mark_compact_5k_of_10k_per_stack", NSTACKS / 2);
    CHECK(s == RMP_OK);
    if (s == RMP_OK) {
      CHECK(out.nnodes < p.stacks.nnodes);
      rmp_stacks_free(&out);
      rmp_strtab_free(&out_strings);
    }
    free(remap);
  }
  rmp_profiler_free(&p);

  CHECK(rmpb_build(&p, NSTACKS, DEPTH, NLIVE, NULL) == RMP_OK);
  CHECK(p.live.count == NLIVE);
  OP_BEGIN();
  rmp_status rs = rmp_profiler_rotate(&p, &snap, NULL, 0, UINT64_C(1700000000000000000), 50);
  op_end("profiler_rotate_50k_live_10k_stacks", 1);
  CHECK(rs == RMP_OK);
  if (rs != RMP_OK) {
    rmp_profiler_free(&p);
    return;
  }
  CHECK(snap.nlive == NLIVE);
  {
    static const char *const comments[] = {"gate"};
    rmp_pprof_opts opts = {1234, comments, 1, "gate"};
    rmp_buf out = {NULL, 0, 0};
    rmp_status s;
    OP_BEGIN();
    s = rmp_pprof_encode(&snap, &opts, count_sink, &raw_bytes);
    op_end("pprof_encode_raw_50k_10k_d40", 1);
    CHECK(s == RMP_OK && raw_bytes > 0);
    OP_BEGIN();
    s = rmp_pprof_encode_gzip(&snap, &opts, &out);
    op_end("pprof_encode_gzip_50k_10k_d40", 1);
    CHECK(s == RMP_OK && out.len > 0 && out.len < raw_bytes);
    rmp_buf_free(&out);
  }
  rmp_snapshot_free(&snap);
  /* The gem's rotation between compactions: the tables were just compacted
   * and have not grown, so this one shares them and copies the live
   * entries only. */
  p.compact_growth = 0.5;
  OP_BEGIN();
  rs = rmp_profiler_rotate(&p, &snap, NULL, 0, UINT64_C(1700000000000000001), 51);
  op_end("profiler_rotate_shared_50k_live_10k_stacks", 1);
  CHECK(rs == RMP_OK && snap.nlive == NLIVE && p.compactions == 1);
  rmp_snapshot_free(&snap);
  rmp_profiler_free(&p);
}

int main(void) {
  sampler_ops();
  sample_ops();
  intern_ops();
  live_ops();
  live_split_ops();
  profiler_ops();
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  return failures ? 1 : 0;
}
