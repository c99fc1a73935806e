/* Unit tests: rmp_profiler (track, rotate = snapshot + compaction). The
 * oracle is the test's own record of what it tracked, compared by decoding
 * ids back to frames and strings in whichever tables they belong to. */
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

static int keep_not_1_or_4(void *ud, rmp_live_entry *e) {
  (void)ud;
  return e->addr != OBJ_ADDR(1) && e->addr != OBJ_ADDR(4);
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
  cfg.max_heap_samples = 6;
  cfg.max_alloc_samples = 8;
  cfg.seed = 1;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  CHECK(rmp_sample_tick(&p) == 1); /* rate 1 */

  /* Interval 1: objects 0..8; 6 and up find the live table full, and the
   * ninth finds the allocation buffer full too. */
  klass(&p, 3); /* interned, never used by a live object */
  for (int i = 0; i < 9; i++) {
    uint32_t st = intern_stack(&p, OBJ_STACK(i));
    rmp_status s = rmp_track(&p, OBJ_ADDR(i), st, klass(&p, OBJ_CLASS(i)), 100 + (uint64_t)i, (uint32_t)i);
    CHECKF(s == (i < 6 ? RMP_OK : RMP_ERR_FULL), "track %d: %d", i, (int)s);
  }
  CHECK(p.live.count == 6 && p.live.dropped == 3);
  CHECK(p.allocs.n == 8 && p.allocs.dropped == 1);
  CHECK(rmp_live_sweep(&p.live, keep_not_1_or_4, NULL) == 2);
  uint32_t extra[2];
  extra[0] = intern_stack(&p, 5);
  extra[1] = 0; /* the empty stack is always kept */

  /* A bad extra id fails the rotation and changes nothing. */
  uint32_t bad = p.stacks.nnodes, nn_before = p.stacks.nnodes;
  memset(&snap, 0xAB, sizeof snap);
  CHECK(rmp_profiler_rotate(&p, &snap, &bad, 1, 500, 1) != RMP_OK);
  CHECK(all_zero(&snap, sizeof snap));
  CHECK(p.stacks.nnodes == nn_before && p.allocs.n == 8 && p.live.count == 4 && bad == nn_before);

  CHECK(rmp_profiler_rotate(&p, &snap, extra, 2, 1000, 42) == RMP_OK);
  /* The snapshot: the interval's allocations, live copies, old tables. */
  CHECK(snap.nallocs == 8 && snap.nlive == 4);
  for (int i = 0; i < 8; i++) {
    const rmp_alloc_sample *a = &snap.allocs[i];
    expect_stack(&snap.stacks, &snap.strings, a->stack, OBJ_STACK(i));
    CHECK(str_is(&snap.strings, a->klass, CLASSES[OBJ_CLASS(i)]));
    CHECK(a->size == 100 + (uint64_t)i && a->epoch == (uint32_t)i);
  }
  int seen[6] = {0};
  for (uint32_t j = 0; j < snap.nlive; j++) {
    const rmp_live_entry *e = &snap.live[j];
    int i = (int)((e->addr - 0x10000) / 40);
    CHECK(i >= 0 && i < 6 && i != 1 && i != 4 && OBJ_ADDR(i) == e->addr && !seen[i]);
    seen[i] = 1;
    expect_stack(&snap.stacks, &snap.strings, e->stack, OBJ_STACK(i));
    CHECK(str_is(&snap.strings, e->klass, CLASSES[OBJ_CLASS(i)]));
    CHECK(e->size == 100 + (uint32_t)i && e->epoch == (uint32_t)i);
  }
  CHECK(snap.heap_dropped == 3 && snap.allocs_dropped == 1 && snap.stacks_dropped == 0);
  CHECK(snap.sample_rate == 1.0 && snap.retain_rate == 1.0);
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
   * only had dead or dropped objects, Unused none), and the names and files
   * of functions {1,2,3,5,6,7,9}: 7 names, 3 files. */
  CHECKF(p.strings.count == 1 + 1 + 2 + 7 + 3, "%u strings", p.strings.count);
  for (uint32_t i = 0; i < p.strings.count; i++)
    CHECK(!str_is(&p.strings, i, "Unused") && !str_is(&p.strings, i, "Array"));
  CHECK(p.interval_start_ns == 1000);

  /* Interval 2: dropped counters are per interval; old objects persist. */
  rmp_snapshot snap2;
  for (int i = 10; i < 13; i++) {
    uint32_t st = intern_stack(&p, OBJ_STACK(i));
    rmp_status s = rmp_track(&p, OBJ_ADDR(i), st, klass(&p, OBJ_CLASS(i)), 100 + (uint64_t)i, (uint32_t)i);
    CHECK(s == (i < 12 ? RMP_OK : RMP_ERR_FULL));
  }
  CHECK(rmp_profiler_rotate(&p, &snap2, NULL, 0, 2000, 43) == RMP_OK);
  CHECK(snap2.nallocs == 3 && snap2.nlive == 6);
  CHECK(snap2.heap_dropped == 1 && snap2.allocs_dropped == 0);
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
  CHECK(rmp_track(&p, OBJ_ADDR(99), 0, 0, UINT64_C(1) << 40, 0) == RMP_OK);
  CHECK(p.allocs.n == 0 && rmp_live_lookup(&p.live, OBJ_ADDR(99))->size == UINT32_MAX);
  CHECK(rmp_sampler_set_retain_rate(&p.sampler, 1.0) == RMP_OK);
  CHECK(rmp_live_delete(&p.live, OBJ_ADDR(99)) == 1);
  CHECK(rmp_track(&p, OBJ_ADDR(99), 0, 0, UINT64_C(1) << 40, 0) == RMP_OK);
  CHECK(p.allocs.n == 1 && p.allocs.v[0].size == UINT64_C(1) << 40);
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
    ya += (uint64_t)rmp_sample_tick(&a);
    yb += (uint64_t)rmp_sample_tick(&b);
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

int main(void) {
  test_rotate();
  test_two_profilers_and_ticks();
  puts("unit profiler OK");
  return 0;
}
