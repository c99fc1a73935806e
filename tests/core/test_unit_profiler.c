/* Unit tests: rmp_profiler (track, rotate = snapshot + compaction). The
 * oracle is the test's own record of what it tracked, compared by decoding
 * ids back to frames and strings in whichever tables they belong to. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "rmp.h"

#define MAXD 8
typedef struct tstack {
  uint64_t k[MAXD];
  int l[MAXD];
  int depth;
} tstack;

/* Five stacks over keys 1..9 sharing root-end prefixes, plus an extra one. */
static const tstack STACKS[6] = {
    {{1, 2, 3}, {10, 20, 30}, 3},
    {{4, 2, 3}, {40, 20, 30}, 3},
    {{5, 6}, {50, 60}, 2},
    {{7, 3}, {70, 30}, 2},
    {{8, 9, 2, 3}, {80, 90, 20, 30}, 4},
    {{9, 6}, {91, 60}, 2},
};
static const char *CLASSES[4] = {"String", "Array", "Hash", "Unused"};

static void fname(uint64_t key, char *buf, size_t n) { snprintf(buf, n, "fn_%llu", (unsigned long long)key); }
static void ffile(uint64_t key, char *buf, size_t n) { snprintf(buf, n, "file_%llu.rb", (unsigned long long)(key % 3)); }

static int str_is(const rmp_strtab *t, uint32_t id, const char *s) {
  size_t len;
  const char *g;
  if (id >= t->count) return 0;
  g = rmp_strtab_get(t, id, &len);
  return len == strlen(s) && memcmp(g, s, len) == 0;
}

/* Fills in names for functions the trie has not seen resolved, as the
 * Ruby shim does after interning. */
static void resolve_new(rmp_stacks *st, rmp_strtab *strs) {
  for (uint32_t i = st->first_unresolved; i < st->nfuncs; i++) {
    rmp_func *f = rmp_func_get(st, i);
    char n[32], fl[32];
    uint32_t a, b, c;
    if (f->resolved) continue;
    fname(f->key, n, sizeof n);
    ffile(f->key, fl, sizeof fl);
    CHECK(rmp_strtab_intern_cstr(strs, n, &a) == RMP_OK);
    CHECK(rmp_strtab_intern_cstr(strs, "sys", &b) == RMP_OK);
    CHECK(rmp_strtab_intern_cstr(strs, fl, &c) == RMP_OK);
    rmp_func_resolve(st, i, a, b, c, (int32_t)f->key);
  }
  CHECK(st->first_unresolved == st->nfuncs);
}

/* Stack id decodes, in (st, strs), to exactly STACKS[which], names included. */
static void expect_stack(const rmp_stacks *st, const rmp_strtab *strs, uint32_t id, int which) {
  const tstack *t = &STACKS[which];
  uint32_t fids[MAXD];
  CHECK(id < st->nnodes);
  CHECKF(rmp_stack_frames(st, id, fids, MAXD) == (uint32_t)t->depth, "stack %d", which);
  for (int i = 0; i < t->depth; i++) {
    const rmp_frame *fr = rmp_frame_get(st, fids[i]);
    const rmp_func *f = rmp_func_get(st, fr->func);
    char n[32], fl[32];
    fname(t->k[i], n, sizeof n);
    ffile(t->k[i], fl, sizeof fl);
    CHECKF(f->key == t->k[i] && fr->line == t->l[i], "stack %d frame %d", which, i);
    CHECK(f->resolved && str_is(strs, f->name, n) && str_is(strs, f->system_name, "sys") &&
          str_is(strs, f->file, fl) && f->start_line == (int32_t)t->k[i]);
  }
}

/* Number of distinct root-anchored prefixes (trie nodes) of the given
 * stacks, plus the root; and their distinct keys. Brute force. */
static void count_trie(const int *which, int n, uint32_t *nodes, uint32_t *funcs) {
  tstack pre[64];
  uint64_t keys[64];
  int np = 0, nk = 0;
  for (int s = 0; s < n; s++) {
    const tstack *t = &STACKS[which[s]];
    for (int d = 1; d <= t->depth; d++) { /* the d root-most frames */
      tstack p;
      int dup = 0;
      p.depth = d;
      for (int i = 0; i < d; i++) {
        p.k[i] = t->k[t->depth - d + i];
        p.l[i] = t->l[t->depth - d + i];
      }
      for (int j = 0; j < np && !dup; j++)
        dup = pre[j].depth == d && !memcmp(pre[j].k, p.k, sizeof(uint64_t) * (size_t)d) &&
              !memcmp(pre[j].l, p.l, sizeof(int) * (size_t)d);
      if (!dup) pre[np++] = p;
    }
    for (int i = 0; i < t->depth; i++) {
      int dup = 0;
      for (int j = 0; j < nk; j++) dup |= keys[j] == t->k[i];
      if (!dup) keys[nk++] = t->k[i];
    }
  }
  *nodes = (uint32_t)np + 1;
  *funcs = (uint32_t)nk;
}

static uint32_t intern_stack(rmp_profiler *p, int which) {
  uint32_t id;
  CHECK(rmp_stack_intern(&p->stacks, STACKS[which].k, STACKS[which].l, (size_t)STACKS[which].depth, &id) ==
        RMP_OK);
  resolve_new(&p->stacks, &p->strings);
  return id;
}

static uint32_t klass(rmp_profiler *p, int c) {
  uint32_t id;
  CHECK(rmp_strtab_intern_cstr(&p->strings, CLASSES[c], &id) == RMP_OK);
  return id;
}

/* What the test tracked: object i has stack i % 5, class i % 3. */
#define OBJ_ADDR(i) ((uintptr_t)0x10000 + (uintptr_t)(i) * 40)
#define OBJ_STACK(i) ((i) % 5)
#define OBJ_CLASS(i) ((i) % 3)

/* Objects 1, 4 and 6..8 die. */
static int keep_not_1_4_or_6_up(void *ud, rmp_live_entry *e) {
  (void)ud;
  return e->addr != OBJ_ADDR(1) && e->addr != OBJ_ADDR(4) && e->addr < OBJ_ADDR(6);
}

/* A sampled allocation at rate 1, tracked as decided. */
static rmp_status track(rmp_profiler *p, uintptr_t addr, uint32_t stack, uint32_t klass, uint64_t size,
                        uint32_t epoch) {
  rmp_decision d = rmp_sample_tick(p);
  CHECK(d != 0);
  return rmp_track(p, addr, stack, klass, size, epoch, d);
}

typedef struct keyset {
  uint64_t k[32];
  int n;
} keyset;
static void collect(void *ud, uint64_t key) {
  keyset *s = (keyset *)ud;
  CHECK(s->n < 32);
  s->k[s->n++] = key;
}

static int all_zero(const void *p, size_t n) {
  const unsigned char *c = (const unsigned char *)p;
  for (size_t i = 0; i < n; i++)
    if (c[i]) return 0;
  return 1;
}

static void test_rotate(void) {
  rmp_profiler p;
  rmp_config cfg;
  rmp_snapshot snap;
  rmp_config_default(&cfg);
  cfg.max_heap_samples = 16; /* above what this test tracks: no thinning */
  cfg.max_alloc_samples = 16;
  cfg.seed = 1;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  /* Rate 1, nothing thinned: kept for both, heap keep log2 0. */
  rmp_decision d0 = rmp_sample_tick(&p);
  CHECK(d0 == (RMP_KEEP_HEAP | RMP_KEEP_ALLOC));
  /* Address 0 and empty decisions are refused, nothing recorded. */
  CHECK(rmp_track(&p, 0, 0, 0, 8, 0, d0) == RMP_ERR_INVALID);
  CHECK(rmp_track(&p, OBJ_ADDR(500), 0, 0, 8, 0, 0) == RMP_ERR_INVALID);
  CHECK(rmp_track(&p, OBJ_ADDR(500), 0, 0, 8, 0, 3u << 8) == RMP_ERR_INVALID);
  CHECK(p.live.count == 0 && p.allocs.n == 0);

  /* Interval 1: objects 0..8. */
  klass(&p, 3); /* interned, never used by a live object */
  for (int i = 0; i < 9; i++) {
    uint32_t st = intern_stack(&p, OBJ_STACK(i));
    uint32_t k = klass(&p, OBJ_CLASS(i));
    rmp_status s = i == 0 ? rmp_track(&p, OBJ_ADDR(i), st, k, 100, 0, d0)
                          : track(&p, OBJ_ADDR(i), st, k, 100 + (uint64_t)i, (uint32_t)i);
    CHECKF(s == RMP_OK, "track %d: %d", i, (int)s);
  }
  CHECK(p.live.count == 9 && p.live.dropped == 0);
  CHECK(p.allocs.n == 9 && p.allocs.dropped == 0 && p.allocs.seen == 9);
  CHECK(rmp_live_sweep(&p.live, keep_not_1_4_or_6_up, NULL) == 5);
  uint32_t extra[2];
  extra[0] = intern_stack(&p, 5);
  extra[1] = 0; /* the empty stack is always kept */

  /* A bad extra id fails the rotation and changes nothing. */
  uint32_t bad = p.stacks.nnodes, nn_before = p.stacks.nnodes;
  memset(&snap, 0xAB, sizeof snap);
  CHECK(rmp_profiler_rotate(&p, &snap, &bad, 1, 500, 1) != RMP_OK);
  CHECK(all_zero(&snap, sizeof snap));
  CHECK(p.stacks.nnodes == nn_before && p.allocs.n == 9 && p.live.count == 4 && bad == nn_before);

  CHECK(rmp_profiler_rotate(&p, &snap, extra, 2, 1000, 42) == RMP_OK);
  /* The snapshot: the interval's allocations, live copies, old tables. */
  CHECK(snap.nallocs == 9 && snap.nlive == 4 && snap.alloc_candidates == 9);
  for (int i = 0; i < 9; i++) {
    const rmp_alloc_sample *a = &snap.allocs[i];
    expect_stack(&snap.stacks, &snap.strings, a->stack, OBJ_STACK(i));
    CHECK(str_is(&snap.strings, a->klass, CLASSES[OBJ_CLASS(i)]));
    CHECK(a->size == 100 + (uint64_t)i && a->epoch == (uint32_t)i && a->weight == 1.0f);
  }
  int seen[6] = {0};
  for (uint32_t j = 0; j < snap.nlive; j++) {
    const rmp_live_entry *e = &snap.live[j];
    int i = (int)((e->addr - 0x10000) / 40);
    CHECK(i >= 0 && i < 6 && i != 1 && i != 4 && OBJ_ADDR(i) == e->addr && !seen[i]);
    seen[i] = 1;
    expect_stack(&snap.stacks, &snap.strings, e->stack, OBJ_STACK(i));
    CHECK(str_is(&snap.strings, e->klass, CLASSES[OBJ_CLASS(i)]));
    CHECK(e->size == 100 + (uint32_t)i && e->epoch == (uint32_t)i && e->weight == 1.0f && e->flags == 0);
  }
  CHECK(snap.heap_dropped == 0 && snap.allocs_dropped == 0 && snap.stacks_dropped == 0);
  CHECK(snap.sample_rate == 1.0 && snap.retain_rate == 1.0 && snap.heap_keep == 1.0);
  CHECK(snap.heap_thinnings == 0 && snap.young_left_out == 0);
  CHECK(snap.start_ns == 0 && snap.end_ns == 1000 && snap.epoch_now == 42);

  /* The profiler: only what live objects and extras use, ids rewritten. */
  CHECK(p.allocs.n == 0 && p.live.count == 4);
  const int live_idx[4] = {0, 2, 3, 5};
  const int kept_stacks[5] = {OBJ_STACK(0), OBJ_STACK(2), OBJ_STACK(3), OBJ_STACK(5), 5};
  for (int j = 0; j < 4; j++) {
    int i = live_idx[j];
    const rmp_live_entry *e = rmp_live_lookup(&p.live, OBJ_ADDR(i));
    CHECK(e != NULL);
    expect_stack(&p.stacks, &p.strings, e->stack, OBJ_STACK(i));
    CHECK(str_is(&p.strings, e->klass, CLASSES[OBJ_CLASS(i)]));
    CHECK(e->size == 100 + (uint32_t)i && e->epoch == (uint32_t)i);
  }
  expect_stack(&p.stacks, &p.strings, extra[0], 5);
  CHECK(extra[1] == 0);
  uint32_t want_nodes, want_funcs;
  count_trie(kept_stacks, 5, &want_nodes, &want_funcs);
  CHECKF(p.stacks.nnodes == want_nodes, "%u nodes, want %u", p.stacks.nnodes, want_nodes);
  CHECK(p.stacks.nfuncs == want_funcs);
  keyset ks = {{0}, 0};
  rmp_stacks_each_key(&p.stacks, collect, &ks);
  CHECK(ks.n == (int)want_funcs);
  for (int i = 0; i < ks.n; i++) CHECK(ks.k[i] != 4 && ks.k[i] != 8); /* only in dead stacks 1 and 4 */
  /* Strings: "", sys, the classes of live objects (String, Hash; Array
   * only had dead objects, Unused none), and the names and files
   * of functions {1,2,3,5,6,7,9}: 7 names, 3 files. */
  CHECKF(p.strings.count == 1 + 1 + 2 + 7 + 3, "%u strings", p.strings.count);
  for (uint32_t i = 0; i < p.strings.count; i++)
    CHECK(!str_is(&p.strings, i, "Unused") && !str_is(&p.strings, i, "Array"));
  CHECK(p.interval_start_ns == 1000);

  /* Interval 2: counters are per interval; old objects persist. */
  rmp_snapshot snap2;
  p.stacks_dropped += 2; /* as the embedder counts a failed intern */
  for (int i = 10; i < 13; i++) {
    uint32_t st = intern_stack(&p, OBJ_STACK(i));
    rmp_status s = track(&p, OBJ_ADDR(i), st, klass(&p, OBJ_CLASS(i)), 100 + (uint64_t)i, (uint32_t)i);
    CHECK(s == RMP_OK);
  }
  CHECK(rmp_profiler_rotate(&p, &snap2, NULL, 0, 2000, 43) == RMP_OK);
  CHECK(snap2.nallocs == 3 && snap2.nlive == 7 && snap2.alloc_candidates == 3);
  CHECK(snap2.heap_dropped == 0 && snap2.allocs_dropped == 0 && snap2.stacks_dropped == 2);
  CHECK(snap2.start_ns == 1000 && snap2.end_ns == 2000);
  for (int i = 0; i < 3; i++) expect_stack(&snap2.stacks, &snap2.strings, snap2.allocs[i].stack, OBJ_STACK(10 + i));
  for (uint32_t j = 0; j < snap2.nlive; j++) {
    const rmp_live_entry *e = &snap2.live[j];
    int i = (int)((e->addr - 0x10000) / 40);
    expect_stack(&snap2.stacks, &snap2.strings, e->stack, OBJ_STACK(i));
    CHECK(str_is(&snap2.strings, e->klass, CLASSES[OBJ_CLASS(i)]));
  }
  /* The first snapshot is untouched by the second rotation. */
  expect_stack(&snap.stacks, &snap.strings, snap.allocs[7].stack, OBJ_STACK(7));
  rmp_snapshot_free(&snap);
  rmp_snapshot_free(&snap2);
  CHECK(all_zero(&snap, sizeof snap));

  /* Retain rate 0: live table only. Sizes saturate in the live record. */
  CHECK(rmp_sampler_set_retain_rate(&p.sampler, 0.0) == RMP_OK);
  CHECK(rmp_live_delete(&p.live, OBJ_ADDR(0)) == 1);
  {
    rmp_decision d = rmp_sample_tick(&p);
    CHECK(d == RMP_KEEP_HEAP);
    CHECK(rmp_track(&p, OBJ_ADDR(99), 0, 0, UINT64_C(1) << 40, 0, d) == RMP_OK);
  }
  CHECK(p.allocs.n == 0 && p.allocs.seen == 0 && rmp_live_lookup(&p.live, OBJ_ADDR(99))->size == UINT32_MAX);
  CHECK(rmp_sampler_set_retain_rate(&p.sampler, 1.0) == RMP_OK);
  CHECK(rmp_live_delete(&p.live, OBJ_ADDR(99)) == 1);
  CHECK(track(&p, OBJ_ADDR(99), 0, 0, UINT64_C(1) << 40, 0) == RMP_OK);
  CHECK(p.allocs.n == 1 && p.allocs.v[0].size == UINT64_C(1) << 40);
  /* Kept for the reservoir only: the live table is not touched. */
  CHECK(rmp_live_delete(&p.live, OBJ_ADDR(99)) == 1);
  {
    uint32_t before = p.live.count;
    rmp_decision d;
    p.heap_keep_log2 = 63; /* heap keep probability 2^-63 */
    d = rmp_sample_tick(&p);
    CHECK((d & 0xffu) == RMP_KEEP_ALLOC);
    CHECK(rmp_track(&p, OBJ_ADDR(98), 0, 0, 8, 0, d) == RMP_OK);
    CHECK(p.live.count == before && !rmp_live_lookup(&p.live, OBJ_ADDR(98)) && p.allocs.n == 2);
    p.heap_keep_log2 = 0;
  }
  rmp_profiler_free(&p);
}

static void test_two_profilers_and_ticks(void) {
  rmp_profiler a, b;
  rmp_config cfg;
  rmp_config_default(&cfg);
  CHECK(rmp_profiler_init(&a, &cfg) == RMP_OK);
  cfg.sample_rate = 0.0;
  CHECK(rmp_profiler_init(&b, &cfg) == RMP_OK);
  uint64_t ya = 0, yb = 0;
  for (int i = 0; i < 1000; i++) {
    ya += rmp_sample_tick(&a) != 0;
    yb += rmp_sample_tick(&b) != 0;
  }
  CHECK(ya == 1000 && yb == 0);
  /* Documented as "tick() said yes, since init". */
  CHECKF(a.samples_taken == 1000 && b.samples_taken == 0, "samples_taken %llu / %llu",
         (unsigned long long)a.samples_taken, (unsigned long long)b.samples_taken);
  uint32_t s;
  uint64_t k = 1;
  int l = 1;
  CHECK(rmp_stack_intern(&a.stacks, &k, &l, 1, &s) == RMP_OK);
  CHECK(b.stacks.nnodes == 1 && a.stacks.nnodes == 2);
  rmp_profiler_free(&a);
  rmp_profiler_free(&b);
}

/* ---- (a) thinning: a full live table halves, never drops ---- */

#define THIN_MAX 64
#define THIN_N 20000

typedef struct thin_obj {
  uint32_t k_dec;     /* thinnings seen when its sample was decided */
  uint32_t thin_ins;  /* thinnings seen once it was inserted */
} thin_obj;

static thin_obj thin_objs[THIN_N];

/* Every entry's weight is 2^(k at decision) / rate, doubled by each
 * thinning it survived: a power of two over 1/rate, computed here in
 * float from the model's own count of thinnings. */
static void thin_check_weights(const rmp_profiler *p, double rate, uint32_t thinnings) {
  uint32_t seen = 0;
  for (uint32_t i = 0; i < rmp_live_nslots(&p->live); i++) {
    const rmp_live_entry *e = rmp_live_slot(&p->live, i);
    if (!e->addr) continue;
    uint32_t j = (uint32_t)((e->addr - 0x10000) / 40);
    CHECK(j < THIN_N);
    float want = ldexpf((float)(1.0 / rate), (int)(thin_objs[j].k_dec + thinnings - thin_objs[j].thin_ins));
    CHECKF(e->weight == want, "object %u: weight %.9g, want %.9g", j, (double)e->weight, (double)want);
    seen++;
  }
  CHECK(seen == p->live.count);
}

static int keep_first_quarter(void *ud, rmp_live_entry *e) {
  uint32_t *left = (uint32_t *)ud;
  (void)e;
  if (*left == 0) return 0;
  (*left)--;
  return 1;
}

static void test_thinning(double rate) {
  rmp_profiler p;
  rmp_config cfg;
  rmp_snapshot snap;
  uint32_t thinnings = 0, events_with_k = 0;
  uint64_t heap_kept = 0, before_total = 0, survived_total = 0;
  double heap_expect = 0, heap_var = 0;
  rmp_config_default(&cfg);
  cfg.sample_rate = rate;
  cfg.max_heap_samples = THIN_MAX;
  cfg.max_alloc_samples = 8;
  cfg.seed = 77;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  for (uint32_t i = 0; i < THIN_N; i++) {
    uint64_t taken = p.samples_taken;
    rmp_decision d = rmp_sample_tick(&p);
    uintptr_t addr = 0x10000 + (uintptr_t)i * 40;
    if (p.samples_taken == taken) {
      CHECK(d == 0);
      continue;
    }
    /* Each sample enters the table with probability 2^-thinnings. */
    if (thinnings) {
      double q = ldexp(1.0, -(int)thinnings);
      heap_expect += q;
      heap_var += q * (1 - q);
      heap_kept += (d & RMP_KEEP_HEAP) != 0;
      events_with_k++;
    }
    if (!(d & RMP_KEEP_HEAP)) {
      if (d) CHECK(rmp_track(&p, addr, 0, 0, 8, 0, d) == RMP_OK);
      CHECK(!rmp_live_lookup(&p.live, addr));
      continue;
    }
    CHECK(RMP_DECISION_KEEP_LOG2(d) == thinnings);
    thin_objs[i].k_dec = thinnings;
    /* The table as it was, to compare a thinning's survivors with. */
    rmp_live_entry old[THIN_MAX];
    uint32_t nold = 0, before = p.live.count;
    for (uint32_t s = 0; s < rmp_live_nslots(&p.live); s++)
      if (rmp_live_slot(&p.live, s)->addr) old[nold++] = *rmp_live_slot(&p.live, s);
    CHECK(rmp_track(&p, addr, 0, 0, 8, 0, d) == RMP_OK);
    CHECK(rmp_live_lookup(&p.live, addr) != NULL);
    if (p.live.count <= before) { /* full: thinned once, then inserted */
      uint32_t survivors = 0;
      CHECK(before == THIN_MAX);
      thinnings++;
      for (uint32_t s = 0; s < nold; s++) {
        const rmp_live_entry *e = rmp_live_lookup(&p.live, old[s].addr);
        if (!e) continue;
        survivors++;
        CHECK(e->weight == 2.0f * old[s].weight && e->stack == old[s].stack && e->size == old[s].size);
      }
      CHECK(survivors == p.live.count - 1); /* nothing else came in */
      before_total += before;
      survived_total += survivors;
    } else {
      CHECK(p.live.count == before + 1);
    }
    thin_objs[i].thin_ins = thinnings;
    CHECK(p.live.count <= THIN_MAX && p.live.dropped == 0);
    CHECK(p.heap_thinnings == thinnings && p.heap_keep_log2 == thinnings);
    CHECK(rmp_heap_probability(&p) == ldexp(rate, -(int)thinnings));
    if (i % 512 == 0) thin_check_weights(&p, rate, thinnings);
  }
  thin_check_weights(&p, rate, thinnings);
  /* Each entry survives a thinning with probability 1/2; a sample enters
   * with 2^-k: both within 6 standard deviations. */
  CHECKF(fabs((double)survived_total - before_total / 2.0) <= 6 * sqrt(before_total / 4.0),
         "%llu of %llu survived thinnings", (unsigned long long)survived_total, (unsigned long long)before_total);
  CHECKF(fabs((double)heap_kept - heap_expect) <= 6 * sqrt(heap_var), "%llu kept, %.1f expected",
         (unsigned long long)heap_kept, heap_expect);
  CHECKF(thinnings >= 5, "%u thinnings", thinnings);
  printf("thinning rate %g: %u thinnings, %llu/%llu survived, %llu of %u samples kept at k >= 1 (expected %.1f)\n",
         rate, thinnings, (unsigned long long)survived_total, (unsigned long long)before_total,
         (unsigned long long)heap_kept, events_with_k, heap_expect);

  /* Rotation reports the interval's thinnings and the keep probability;
   * then, the table being at most a quarter full, new samples may come in
   * at twice the probability (one step per rotation). */
  {
    uint32_t left = THIN_MAX / 4, k = thinnings;
    rmp_live_sweep(&p.live, keep_first_quarter, &left);
    CHECK(p.live.count == THIN_MAX / 4 || p.live.count < THIN_MAX / 4);
    CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, 1, 1) == RMP_OK);
    CHECK(snap.heap_thinnings == thinnings && snap.heap_keep == ldexp(rate, -(int)k));
    CHECK(snap.heap_dropped == 0);
    for (uint32_t j = 0; j < snap.nlive; j++) { /* 2^i / rate, 0 <= i <= k */
      int i = 0;
      while (i <= (int)k && snap.live[j].weight != ldexpf((float)(1.0 / rate), i)) i++;
      CHECKF(i <= (int)k, "weight %.9g", (double)snap.live[j].weight);
    }
    rmp_snapshot_free(&snap);
    CHECK(p.heap_keep_log2 == k - 1 && p.heap_thinnings == thinnings);
    CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, 2, 1) == RMP_OK);
    CHECK(snap.heap_thinnings == 0 && snap.heap_keep == ldexp(rate, -(int)(k - 1)));
    rmp_snapshot_free(&snap);
    CHECK(p.heap_keep_log2 == k - 2);
    /* Above a quarter: no change. */
    for (uint32_t i = 0; p.live.count <= THIN_MAX / 4; i++) {
      rmp_decision d = rmp_sample_confirm(&p);
      if (d & RMP_KEEP_HEAP) CHECK(rmp_track(&p, 0x9000000 + (uintptr_t)i * 40, 0, 0, 8, 0, d) == RMP_OK);
    }
    CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, 3, 1) == RMP_OK);
    rmp_snapshot_free(&snap);
    CHECK(p.heap_keep_log2 == k - 2);
  }
  rmp_profiler_free(&p);
}

/* rmp_profiler_thin on its own: a subset, weights doubled, the rest of
 * each entry intact. */
static void test_thin_direct(void) {
  rmp_profiler p;
  rmp_config cfg;
  uint32_t kept_total = 0;
  rmp_config_default(&cfg);
  cfg.max_heap_samples = 1000;
  cfg.seed = 5;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  for (int round = 0; round < 20; round++) {
    for (uint32_t i = 0; i < 1000; i++) {
      rmp_live_entry e = {0x10000 + (uintptr_t)i * 40, i, i + 1, i + 2, i + 3, 1.5f, i & 1};
      rmp_live_delete(&p.live, e.addr);
      CHECK(rmp_live_insert(&p.live, &e) == RMP_OK);
    }
    rmp_profiler_thin(&p);
    CHECK(p.heap_keep_log2 == (uint32_t)round + 1 && p.heap_thinnings == (uint64_t)round + 1);
    for (uint32_t s = 0; s < rmp_live_nslots(&p.live); s++) {
      const rmp_live_entry *e = rmp_live_slot(&p.live, s);
      uint32_t i;
      if (!e->addr) continue;
      i = (uint32_t)((e->addr - 0x10000) / 40);
      CHECK(i < 1000 && e->stack == i && e->klass == i + 1 && e->epoch == i + 2 && e->size == i + 3);
      CHECK(e->weight == 3.0f && e->flags == (i & 1));
    }
    kept_total += p.live.count;
  }
  /* 20 thinnings of 1000: Binomial(20000, 1/2), sd 70.7. */
  CHECKF(kept_total > 10000 - 425 && kept_total < 10000 + 425, "%u of 20000 kept", kept_total);
  rmp_profiler_free(&p);
}

/* A decision carried past a thinning (the Ruby shim tracks a sample after
 * the allocation returns): the entry weighs by the probability it was
 * decided with, 2^0 / rate, not by the one the table has since. */
static void test_decision_then_thinning(void) {
  rmp_profiler p;
  rmp_config cfg;
  rmp_decision d;
  rmp_config_default(&cfg);
  cfg.sample_rate = 0.5;
  cfg.max_heap_samples = 4;
  cfg.seed = 6;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  d = rmp_sample_confirm(&p);
  CHECK((d & RMP_KEEP_HEAP) && RMP_DECISION_KEEP_LOG2(d) == 0);
  rmp_profiler_thin(&p);
  rmp_profiler_thin(&p);
  CHECK(p.heap_keep_log2 == 2);
  CHECK(rmp_track(&p, OBJ_ADDR(1), 0, 0, 8, 0, d) == RMP_OK);
  CHECK(rmp_live_lookup(&p.live, OBJ_ADDR(1))->weight == 2.0f);
  rmp_profiler_free(&p);
}

/* ---- (b) min_live_age ---- */

static void test_min_live_age(void) {
  rmp_profiler p;
  rmp_config cfg;
  rmp_snapshot snap;
  uint32_t st_young, st_old, k_young, k_old, k_wrap;
  rmp_config_default(&cfg);
  cfg.min_live_age = 1;
  cfg.seed = 8;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  st_young = intern_stack(&p, 0);
  st_old = intern_stack(&p, 2);
  /* Class names used by one object each, so a lost remap shows. */
  CHECK(rmp_strtab_intern_cstr(&p.strings, "Young", &k_young) == RMP_OK);
  CHECK(rmp_strtab_intern_cstr(&p.strings, "Old", &k_old) == RMP_OK);
  CHECK(rmp_strtab_intern_cstr(&p.strings, "Wrapped", &k_wrap) == RMP_OK);
  CHECK(track(&p, OBJ_ADDR(1), st_young, k_young, 10, 5) == RMP_OK);
  CHECK(track(&p, OBJ_ADDR(2), st_old, k_old, 20, 4) == RMP_OK);
  /* Allocated "after" now: ages are modulo 2^32, so this one is old. */
  CHECK(track(&p, OBJ_ADDR(3), st_old, k_wrap, 30, 1000) == RMP_OK);

  /* At clock 5 the first object is 0 old: left out, counted, kept. */
  CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, 100, 5) == RMP_OK);
  CHECK(snap.nlive == 2 && snap.young_left_out == 1);
  for (uint32_t j = 0; j < snap.nlive; j++) {
    const rmp_live_entry *e = &snap.live[j];
    CHECK(e->addr == OBJ_ADDR(2) || e->addr == OBJ_ADDR(3));
    CHECK(str_is(&snap.strings, e->klass, e->addr == OBJ_ADDR(2) ? "Old" : "Wrapped"));
    expect_stack(&snap.stacks, &snap.strings, e->stack, 2);
  }
  CHECK(snap.nallocs == 3); /* allocation samples are never left out */
  rmp_snapshot_free(&snap);
  CHECK(p.live.count == 3);
  {
    const rmp_live_entry *e = rmp_live_lookup(&p.live, OBJ_ADDR(1));
    CHECK(e != NULL && e->epoch == 5 && e->size == 10);
    CHECK(str_is(&p.strings, e->klass, "Young")); /* its class name moved with it */
    expect_stack(&p.stacks, &p.strings, e->stack, 0);
  }

  /* One tick later it is in, name and stack intact. */
  CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, 200, 6) == RMP_OK);
  CHECK(snap.nlive == 3 && snap.young_left_out == 0);
  for (uint32_t j = 0; j < snap.nlive; j++) {
    const rmp_live_entry *e = &snap.live[j];
    if (e->addr != OBJ_ADDR(1)) continue;
    CHECK(str_is(&snap.strings, e->klass, "Young") && e->epoch == 5);
    expect_stack(&snap.stacks, &snap.strings, e->stack, 0);
  }
  rmp_snapshot_free(&snap);

  /* Across the clock's wrap: epoch UINT32_MAX at clock 0 is 1 old. */
  CHECK(track(&p, OBJ_ADDR(4), st_young, k_young, 40, UINT32_MAX) == RMP_OK);
  CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, 300, 0) == RMP_OK);
  CHECK(snap.nlive == 4 && snap.young_left_out == 0);
  rmp_snapshot_free(&snap);
  CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, 400, UINT32_MAX) == RMP_OK);
  CHECK(snap.nlive == 3 && snap.young_left_out == 1);
  rmp_snapshot_free(&snap);
  rmp_profiler_free(&p);
}

/* ---- (c) rmp_profiler_forget_interval ---- */

static void test_forget_interval(void) {
  rmp_profiler p;
  rmp_config cfg;
  rmp_snapshot snap;
  uint32_t st;
  rmp_config_default(&cfg);
  cfg.max_heap_samples = 8;
  cfg.max_alloc_samples = 4;
  cfg.seed = 9;
  cfg.start_ns = 50;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  st = intern_stack(&p, 1);
  /* Twelve into a table of 8 (thinned) and a reservoir of 4 (full). */
  for (int i = 0; i < 12; i++) {
    rmp_decision d = rmp_sample_tick(&p);
    if (d) CHECK(rmp_track(&p, OBJ_ADDR(i), st, 0, 16, 1, d) == RMP_OK);
  }
  p.stacks_dropped += 3;
  p.live.dropped += 2;  /* as failed insertions would */
  p.allocs.dropped += 1;
  CHECK(p.heap_thinnings > 0 && p.allocs.n == 4 && p.allocs.seen == 12);
  uint32_t nlive = p.live.count, k = p.heap_keep_log2;
  uint64_t thinned = p.heap_thinnings, taken = p.samples_taken;
  rmp_live_entry copy[8];
  uint32_t ncopy = 0;
  for (uint32_t s = 0; s < rmp_live_nslots(&p.live); s++)
    if (rmp_live_slot(&p.live, s)->addr) copy[ncopy++] = *rmp_live_slot(&p.live, s);

  rmp_profiler_forget_interval(&p, 777);
  CHECK(p.allocs.n == 0 && p.allocs.seen == 0 && p.interval_start_ns == 777);
  /* The live table stays as it was, weights and all. */
  CHECK(p.live.count == nlive && p.heap_keep_log2 == k && p.heap_thinnings == thinned);
  CHECK(p.samples_taken == taken);
  for (uint32_t j = 0; j < ncopy; j++) {
    const rmp_live_entry *e = rmp_live_lookup(&p.live, copy[j].addr);
    CHECK(e != NULL && memcmp(e, &copy[j], sizeof *e) == 0);
  }
  /* The next snapshot has only what came after. */
  CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, 900, 2) == RMP_OK);
  CHECK(snap.nallocs == 0 && snap.alloc_candidates == 0 && snap.nlive == nlive);
  CHECK(snap.heap_dropped == 0 && snap.allocs_dropped == 0 && snap.stacks_dropped == 0 && snap.heap_thinnings == 0);
  CHECK(snap.start_ns == 777 && snap.end_ns == 900);
  for (uint32_t j = 0; j < snap.nlive; j++) expect_stack(&snap.stacks, &snap.strings, snap.live[j].stack, 1);
  rmp_snapshot_free(&snap);
  rmp_profiler_free(&p);
}

/* ---- (d) rmp_sample_skip ---- */

static void test_sample_skip(void) {
  rmp_profiler p;
  rmp_config cfg;
  double sum = 0;
  const int n = 20000;
  rmp_config_default(&cfg);
  cfg.sample_rate = 0.01;
  cfg.seed = 10;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  p.heap_keep_log2 = 3;
  for (int i = 0; i < n; i++) {
    while (!rmp_sample_countdown(&p)) {
    }
    /* The countdown said yes; the embedder skips this event. */
    rmp_sample_skip(&p);
    CHECK(p.sampler.countdown >= 1);
    sum += (double)p.sampler.countdown;
  }
  /* Nothing was offered, counted or decided. */
  CHECK(p.samples_taken == 0 && p.allocs.seen == 0 && p.allocs.n == 0 && p.live.count == 0);
  CHECK(p.heap_keep_log2 == 3 && p.heap_thinnings == 0);
  /* The refills are geometric gaps of mean 1/rate = 100 (sd 99.5 each). */
  CHECKF(fabs(sum / n - 100.0) <= 6 * 99.5 / sqrt((double)n), "mean gap %.2f", sum / n);
  /* Rate 0: never again. */
  CHECK(rmp_sampler_set_rate(&p.sampler, 0.0) == RMP_OK);
  p.sampler.countdown = 1;
  CHECK(rmp_sample_countdown(&p));
  rmp_sample_skip(&p);
  CHECK(p.sampler.countdown == UINT64_MAX && p.samples_taken == 0);
  rmp_profiler_free(&p);
}

int main(void) {
  test_rotate();
  test_two_profilers_and_ticks();
  test_thinning(1.0);
  test_thinning(0.3);
  test_thin_direct();
  test_decision_then_thinning();
  test_min_live_age();
  test_forget_interval();
  test_sample_skip();
  puts("unit profiler OK");
  return 0;
}
