/* rmp.h built with RMP_STATIC and counting RMP_MALLOC/RMP_REALLOC/RMP_FREE/
 * RMP_ASSERT overrides. First proves the overrides are what the code calls;
 * then replays one embedding scenario (profiler init, strings, stacks with
 * names, tracking, sweep, rekey, rotations) once per allocation, making the
 * Nth allocation fail (and, in a second round, every allocation from the Nth
 * on). Every call must report RMP_ERR_NOMEM (or succeed), never crash; what
 * was recorded before a failure must still read back correctly; and no
 * block may be left allocated at the end. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static long g_calls;     /* allocation attempts */
static long g_fail_at;   /* fail exactly this attempt (1-based), 0 = never */
static long g_fail_from; /* fail every attempt from this one on, 0 = never */
static long g_failed;    /* attempts refused */
static long g_live;      /* blocks currently allocated */
static long g_frees, g_asserts;
static long g_failed_mark; /* g_failed when the current failure was armed */

static int refuse(void) {
  long k = ++g_calls;
  if ((g_fail_at && k == g_fail_at) || (g_fail_from && k >= g_fail_from)) {
    g_failed++;
    return 1;
  }
  return 0;
}
static void *t_malloc(size_t n) {
  void *p;
  if (refuse()) return NULL;
  p = malloc(n);
  if (p) g_live++;
  return p;
}
static void *t_realloc(void *p, size_t n) {
  void *q;
  if (refuse()) return NULL;
  q = realloc(p, n);
  if (q && !p) g_live++;
  return q;
}
static void t_free(void *p) {
  if (p) {
    g_live--;
    g_frees++;
  }
  free(p);
}
static void t_assert_fail(const char *what, const char *file, int line) {
  fprintf(stderr, "%s:%d: RMP_ASSERT failed: %s\n", file, line, what);
  exit(1);
}

#define RMP_MALLOC(sz) t_malloc(sz)
#define RMP_REALLOC(p, sz) t_realloc(p, sz)
#define RMP_FREE(p) t_free(p)
#define RMP_ASSERT(x) ((x) ? (void)g_asserts++ : t_assert_fail(#x, __FILE__, __LINE__))
#define RMP_STATIC
#define RMP_IMPLEMENTATION
#include "rmp.h"

/* ---- the scenario and what it expects ---- */

#define NSTACKS 60
#define NCLASSES 12
#define NOBJ 300

static uint64_t s_keys[NSTACKS][40];
static int s_lines[NSTACKS][40];
static int s_depth[NSTACKS];
static const char *CLASS[NCLASSES] = {"String", "Array", "Hash", "Symbol", "Proc", "Object",
                                      "Integer", "Float", "Range", "Struct", "MatchData", "Thread"};

typedef struct obj {
  uintptr_t addr;
  int stack, klass, tracked;
} obj;
static obj objs[NOBJ + 20]; /* the last 20 are tracked after a rotation */
static long s_nomem; /* calls that reported RMP_ERR_NOMEM */
static int s_split;  /* the scenario splits its live table (rmp_live_split_young) */

static void make_stacks(void) {
  for (int j = 0; j < NSTACKS; j++) {
    s_depth[j] = 1 + (j * 7) % 40;
    for (int i = 0; i < s_depth[j]; i++) {
      s_keys[j][i] = 0x10000 + (uint64_t)((j + i * 3) % 50) * 8;
      s_lines[j][i] = (j * i) % 13;
    }
  }
}

static int ok_or(rmp_status s, rmp_status also) {
  if (s == RMP_ERR_NOMEM) s_nomem++;
  return s == RMP_OK || s == RMP_ERR_NOMEM || s == also;
}

static int str_is(const rmp_strtab *t, uint32_t id, const char *s) {
  size_t len;
  const char *g = rmp_strtab_get(t, id, &len);
  return len == strlen(s) && memcmp(g, s, len) == 0;
}

static void expect_stack(const rmp_stacks *st, uint32_t id, int j) {
  uint32_t fids[40];
  CHECK(id < st->nnodes);
  CHECK(rmp_stack_frames(st, id, fids, 40) == (uint32_t)s_depth[j]);
  for (int i = 0; i < s_depth[j]; i++) {
    const rmp_frame *f = rmp_frame_get(st, fids[i]);
    CHECK(rmp_func_get(st, f->func)->key == s_keys[j][i] && f->line == s_lines[j][i]);
  }
}

/* Every object the scenario believes tracked is, with the right stack and class. */
static void expect_objects(const rmp_profiler *p) {
  uint32_t n = 0;
  for (int i = 0; i < NOBJ + 20; i++) {
    const rmp_live_entry *e;
    if (!objs[i].tracked) continue;
    n++;
    e = rmp_live_lookup(&p->live, objs[i].addr);
    CHECKF(e != NULL, "object %d lost", i);
    expect_stack(&p->stacks, e->stack, objs[i].stack);
    CHECK(str_is(&p->strings, e->klass, CLASS[objs[i].klass]));
  }
  CHECK(p->live.count == n);
}

static int keep_odd(void *ud, rmp_live_entry *e) {
  (void)ud;
  for (int i = 0; i < NOBJ; i++)
    if (objs[i].tracked && objs[i].addr == e->addr) {
      if (i % 2 == 0) objs[i].tracked = 0;
      /* Some survivors are seen old: in a split table they move to the
       * main part, whose growth may fail. */
      if (i % 4 == 1) e->flags |= RMP_LIVE_OLD;
      return i % 2;
    }
  CHECK(0);
  return 0;
}

static uintptr_t move_up(void *ud, uintptr_t a) {
  (void)ud;
  return a < 0x1000000 ? a + 0x1000000 : a; /* idempotent */
}

/* A thinning may have taken any tracked object out of the table. */
static void resync_tracked(const rmp_profiler *p) {
  for (int i = 0; i < NOBJ + 20; i++)
    if (objs[i].tracked) objs[i].tracked = rmp_live_lookup(&p->live, objs[i].addr) != NULL;
}

/* A sampled allocation (rate 1), tracked as decided. */
static void track(rmp_profiler *p, obj *o, uint32_t stack, uint32_t klass, uint32_t epoch) {
  uint64_t thinnings = p->heap_thinnings;
  rmp_decision d = rmp_sample_tick(p);
  rmp_status s;
  if (!d) return;
  s = rmp_track(p, o->addr, stack, klass, 24, epoch, d);
  CHECK(ok_or(s, RMP_OK));
  CHECK(p->live.count <= p->live.max);
  if (p->heap_thinnings != thinnings) resync_tracked(p);
  o->tracked = rmp_live_lookup(&p->live, o->addr) != NULL;
  if (o->tracked) CHECK(d & RMP_KEEP_HEAP);
}

static void resolve_all(rmp_profiler *p) {
  for (uint32_t f = p->stacks.first_unresolved; f < p->stacks.nfuncs; f++) {
    char name[32];
    uint32_t a, b;
    if (p->stacks.funcs[f].resolved) continue;
    snprintf(name, sizeof name, "m_%llx", (unsigned long long)p->stacks.funcs[f].key);
    rmp_status s1 = rmp_strtab_intern_cstr(&p->strings, name, &a);
    rmp_status s2 = s1 == RMP_OK ? rmp_strtab_intern_cstr(&p->strings, "file.rb", &b) : s1;
    CHECK(ok_or(s1, RMP_OK) && ok_or(s2, RMP_OK));
    if (s1 == RMP_OK && s2 == RMP_OK) rmp_func_resolve(&p->stacks, f, a, a, b, 1);
  }
}

static void rotate(rmp_profiler *p, uint32_t *extra, int check_names) {
  rmp_snapshot snap;
  uint32_t nn = p->stacks.nnodes, ns = p->strings.count, nl = p->live.count, na = p->allocs.n, e0 = extra[0];
  rmp_status s = rmp_profiler_rotate(p, &snap, extra, 1, 100, 2);
  CHECK(ok_or(s, RMP_OK));
  if (s != RMP_OK) { /* nothing changed, snap zeroed */
    static const rmp_snapshot zero;
    CHECK(memcmp(&snap, &zero, sizeof snap) == 0);
    CHECK(p->stacks.nnodes == nn && p->strings.count == ns && p->live.count == nl && p->allocs.n == na);
    CHECK(extra[0] == e0);
  } else {
    CHECK(snap.nlive == nl && snap.nallocs == na);
    for (uint32_t i = 0; i < snap.nallocs; i++) CHECK(snap.allocs[i].stack < snap.stacks.nnodes);
    rmp_snapshot_free(&snap);
    CHECK(p->allocs.n == 0);
  }
  expect_objects(p);
  expect_stack(&p->stacks, extra[0], 3);
  if (check_names)
    for (uint32_t f = 0; f < p->stacks.first_unresolved; f++) CHECK(p->stacks.funcs[f].resolved);
}

/* Interns stack j and class c and tracks objs[NOBJ + i] with them; a
 * refused allocation skips it (counted by the caller's checks). */
static void track_more(rmp_profiler *p, int i) {
  uint32_t st = UINT32_MAX, k = UINT32_MAX;
  int j = i % NSTACKS, c = i % NCLASSES;
  if (rmp_stack_intern(&p->stacks, s_keys[j], s_lines[j], (size_t)s_depth[j], &st) != RMP_OK) {
    s_nomem++;
    return;
  }
  if (rmp_strtab_intern_cstr(&p->strings, CLASS[c], &k) != RMP_OK) {
    s_nomem++;
    return;
  }
  obj *o = &objs[NOBJ + i];
  o->addr = 0x9000000 + (uintptr_t)i * 0x40;
  o->stack = j;
  o->klass = c;
  track(p, o, st, k, 3);
}

/* A rotation that shares the tables with its snapshot, the snapshot read
 * after the profiler interned more (arrays that grow leave their old copy
 * to it), then a compaction in three steps with interning between them:
 * every step either works or changes nothing. */
static void shared_then_compact(rmp_profiler *p, uint32_t *extra) {
  rmp_snapshot snap;
  rmp_compaction cj;
  uint32_t e0, nl = p->live.count;
  uint64_t c0;
  rmp_status s;
  p->compact_elsewhere = 1;
  s = rmp_profiler_rotate(p, &snap, extra, 1, 200, 3);
  CHECK(ok_or(s, RMP_OK));
  if (s == RMP_OK) {
    uint32_t before = snap.stacks.nnodes;
    CHECK(snap.nlive == nl && extra[0] < before);
    for (int j = 0; j < NSTACKS; j++) { /* grows the tables past their capacity */
      uint64_t keys[40];
      uint32_t id;
      for (int i = 0; i < s_depth[j]; i++) keys[i] = s_keys[j][i] ^ UINT64_C(0x5000000000);
      if (rmp_stack_intern(&p->stacks, keys, s_lines[j], (size_t)s_depth[j], &id) != RMP_OK) s_nomem++;
    }
    CHECK(snap.stacks.nnodes == before);
    expect_stack(&snap.stacks, extra[0], 3);
    rmp_snapshot_free(&snap);
  }
  expect_objects(p);
  e0 = extra[0];
  c0 = p->compactions;
  s = rmp_compaction_begin(p, &cj, extra, 1);
  CHECK(ok_or(s, RMP_OK));
  if (s == RMP_OK) {
    s = rmp_compaction_build(&cj);
    CHECK(ok_or(s, RMP_OK));
  }
  if (s == RMP_OK) {
    track_more(p, 19); /* interned while the copy was built */
    s = rmp_compaction_finish(p, &cj, extra, 1);
    CHECK(ok_or(s, RMP_OK));
  }
  rmp_compaction_free(&cj);
  if (s != RMP_OK) CHECK(extra[0] == e0 && p->compactions == c0);
  if (!g_fail_at && !g_fail_from) CHECK(s == RMP_OK && p->compactions == c0 + 1);
  expect_objects(p);
  expect_stack(&p->stacks, extra[0], 3);
}

static void scenario(void) {
  rmp_profiler p;
  rmp_config cfg;
  uint32_t klass[NCLASSES], stack[NSTACKS], extra[1];
  rmp_status s;
  rmp_config_default(&cfg);
  cfg.max_heap_samples = 200; /* thinned once; > 64 survive the sweep: rekey needs 2 passes without its scratch list */
  cfg.max_alloc_samples = 40;
  cfg.seed = 9;
  memset(objs, 0, sizeof objs);
  s = rmp_profiler_init(&p, &cfg);
  CHECK(ok_or(s, RMP_OK));
  if (s != RMP_OK) return; /* a failed init leaves nothing to free */
  if (s_split) {
    s = rmp_live_split_young(&p.live);
    CHECK(ok_or(s, RMP_OK));
    if (s != RMP_OK) CHECK(!p.live.young.slots); /* left unsplit, still usable */
  }

  for (int c = 0; c < NCLASSES; c++) {
    klass[c] = UINT32_MAX;
    s = rmp_strtab_intern_cstr(&p.strings, CLASS[c], &klass[c]);
    CHECK(ok_or(s, RMP_OK));
    if (s != RMP_OK) CHECK(klass[c] == UINT32_MAX);
  }
  for (int c = 0; c < NCLASSES; c++) /* the ones that made it are intact */
    if (klass[c] != UINT32_MAX) CHECK(str_is(&p.strings, klass[c], CLASS[c]));

  for (int j = 0; j < NSTACKS; j++) {
    stack[j] = UINT32_MAX;
    s = rmp_stack_intern(&p.stacks, s_keys[j], s_lines[j], (size_t)s_depth[j], &stack[j]);
    CHECK(ok_or(s, RMP_OK));
    if (s != RMP_OK) CHECK(stack[j] == UINT32_MAX); /* "On failure *id is untouched" */
    resolve_all(&p);
  }
  for (int j = 0; j < NSTACKS; j++) {
    uint32_t again = UINT32_MAX;
    if (stack[j] == UINT32_MAX) continue;
    expect_stack(&p.stacks, stack[j], j);
    s = rmp_stack_intern(&p.stacks, s_keys[j], s_lines[j], (size_t)s_depth[j], &again);
    CHECK(ok_or(s, RMP_OK));
    if (s == RMP_OK) CHECK(again == stack[j]);
  }

  for (int i = 0; i < NOBJ; i++) {
    int j = (i * 13) % NSTACKS, c = i % NCLASSES;
    objs[i].addr = 0x100000 + (uintptr_t)i * 0x40;
    objs[i].stack = j;
    objs[i].klass = c;
    if (stack[j] == UINT32_MAX || klass[c] == UINT32_MAX) continue;
    track(&p, &objs[i], stack[j], klass[c], (uint32_t)i);
  }
  expect_objects(&p);
  /* A minor GC's pass, then a full one: in a split table the first sees
   * only young entries (all of them, as thinning has moved none). */
  if (s_split) rmp_live_sweep_young(&p.live, keep_odd, NULL);
  expect_objects(&p);
  rmp_live_sweep(&p.live, keep_odd, NULL);
  expect_objects(&p);
  if (!g_fail_at && !g_fail_from) CHECKF(p.heap_thinnings > 0 && p.live.count > 64, "%u live", p.live.count);
  /* More than one chunk of moves, so the fallback without a scratch list
   * takes several passes when its allocation fails. */
  CHECK(rmp_live_rekey(&p.live, move_up, NULL) == p.live.count);
  for (int i = 0; i < NOBJ; i++) objs[i].addr += 0x1000000;
  expect_objects(&p);
  if (s_split && p.live.young.slots) {
    /* Young iff not flagged old, but for promotions the failures kept. */
    uint32_t young_old = 0;
    for (uint32_t i = 0; i <= p.live.young.mask; i++)
      young_old += p.live.young.slots[i].addr && (p.live.young.slots[i].flags & RMP_LIVE_OLD);
    for (uint32_t i = 0; i <= p.live.main.mask; i++)
      CHECK(!p.live.main.slots[i].addr || (p.live.main.slots[i].flags & RMP_LIVE_OLD));
    if (!g_fail_at && !g_fail_from) CHECK(young_old == 0 && p.live.main.count > 0 && p.live.young.count > 0);
  }

  extra[0] = UINT32_MAX;
  s = rmp_stack_intern(&p.stacks, s_keys[3], s_lines[3], (size_t)s_depth[3], &extra[0]);
  CHECK(ok_or(s, RMP_OK));
  if (s == RMP_OK) {
    rotate(&p, extra, 1);
    /* The next interval re-interns class names and keeps going. */
    for (int i = 0; i < 19; i++) track_more(&p, i);
    rotate(&p, extra, 0);
    shared_then_compact(&p, extra);
  }
  CHECK(g_asserts > 0 || g_fail_at || g_fail_from);
  rmp_profiler_free(&p);
}

/* ---- a split live table's own failures, one at a time ---- */

static rmp_live_entry lentry(uintptr_t addr, uint32_t tag, uint32_t flags) {
  rmp_live_entry e;
  memset(&e, 0, sizeof e);
  e.addr = addr;
  e.stack = tag;
  e.epoch = tag * 3;
  e.flags = flags;
  return e;
}

static int in_young_part(const rmp_live *t, uintptr_t addr) {
  const rmp_live_entry *e = rmp_live_lookup(t, addr);
  CHECK(e != NULL);
  return e >= t->young.slots && e <= t->young.slots + t->young.mask;
}

static int keep_flag_old(void *ud, rmp_live_entry *e) {
  (void)ud;
  e->flags |= RMP_LIVE_OLD;
  return 1;
}

static int keep_mod(void *ud, rmp_live_entry *e) {
  return e->stack % *(uint32_t *)ud == 0;
}

/* The next allocation fails (one: mode 0), or all from it on (mode 1). */
static long g_failed_since_reset(void) { return g_failed - g_failed_mark; }
static void fail_next(int mode) {
  g_failed_mark = g_failed;
  g_fail_at = mode == 0 ? g_calls + 1 : 0;
  g_fail_from = mode == 1 ? g_calls + 1 : 0;
}
static void memory_back(void) { g_fail_at = g_fail_from = 0; }

/* Promotion into a main part that must grow: the entries that found no
 * room stay young, flagged old, and nothing is lost; the next sweep with
 * memory moves them. Full sweeps (full = 1) promote the same way. */
static void split_promotion_fails(int mode, int full) {
  rmp_live t;
  memory_back();
  g_calls = g_live = 0;
  CHECK(rmp_live_init(&t, 1000) == RMP_OK && rmp_live_split_young(&t) == RMP_OK);
  for (uint32_t i = 0; i < 32; i++) { /* the main part is as full as it gets without growing */
    rmp_live_entry e = lentry(0x100000 + i * 64, i, RMP_LIVE_OLD);
    CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  }
  for (uint32_t i = 0; i < 10; i++) {
    rmp_live_entry e = lentry(0x200000 + i * 64, 100 + i, 0);
    CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  }
  uint32_t main_cap = t.main.mask + 1;
  fail_next(mode);
  CHECK((full ? rmp_live_sweep(&t, keep_flag_old, NULL) : rmp_live_sweep_young(&t, keep_flag_old, NULL)) == 0);
  CHECK(g_failed_since_reset() > 0);
  memory_back();
  CHECK(t.count == 42 && t.main.count + t.young.count == 42);
  /* One failure leaves one entry young; failures from then on leave all. */
  CHECKF(t.young.count == (mode == 0 ? 1u : 10u), "%u left young", t.young.count);
  CHECK(mode == 1 ? t.main.mask + 1 == main_cap : t.main.mask + 1 > main_cap);
  for (uint32_t i = 0; i < 10; i++) {
    const rmp_live_entry *e = rmp_live_lookup(&t, 0x200000 + i * 64);
    CHECK(e != NULL && e->stack == 100 + i && (e->flags & RMP_LIVE_OLD));
  }
  CHECK((full ? rmp_live_sweep(&t, keep_flag_old, NULL) : rmp_live_sweep_young(&t, keep_flag_old, NULL)) == 0);
  CHECK(t.count == 42 && t.young.count == 0 && t.main.count == 42);
  for (uint32_t i = 0; i < 10; i++) CHECK(!in_young_part(&t, 0x200000 + i * 64));
  rmp_live_free(&t);
  CHECK(g_live == 0);
}

/* Growth of a part during an insert fails: a new entry is refused with
 * RMP_ERR_NOMEM and the table is as it was; an entry that would move to
 * the other part is overwritten where it is instead. */
static void split_insert_fails(void) {
  rmp_live t;
  memory_back();
  g_calls = g_live = 0;
  CHECK(rmp_live_init(&t, 1000) == RMP_OK && rmp_live_split_young(&t) == RMP_OK);
  for (uint32_t i = 0; i < 32; i++) {
    rmp_live_entry e = lentry(0x100000 + i * 64, i, 0);
    CHECK(rmp_live_insert(&t, &e) == RMP_OK);
    e = lentry(0x300000 + i * 64, 200 + i, RMP_LIVE_OLD);
    CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  }
  rmp_live before = t;
  rmp_live_entry young_copy[64], main_copy[64];
  CHECK(t.young.mask == 63 && t.main.mask == 63);
  memcpy(young_copy, t.young.slots, sizeof young_copy);
  memcpy(main_copy, t.main.slots, sizeof main_copy);

  rmp_live_entry e = lentry(0x500000, 500, 0); /* the young part must grow */
  fail_next(0);
  CHECK(rmp_live_insert(&t, &e) == RMP_ERR_NOMEM);
  e = lentry(0x600000, 600, RMP_LIVE_OLD); /* the main part must grow */
  fail_next(0);
  CHECK(rmp_live_insert(&t, &e) == RMP_ERR_NOMEM);
  memory_back();
  CHECK(t.young.slots == before.young.slots && t.main.slots == before.main.slots);
  CHECK(t.young.mask == 63 && t.main.mask == 63 && t.young.count == 32 && t.main.count == 32 && t.count == 64);
  CHECK(memcmp(young_copy, t.young.slots, sizeof young_copy) == 0);
  CHECK(memcmp(main_copy, t.main.slots, sizeof main_copy) == 0);
  CHECK(t.dropped == 2 && t.replaced == 0);
  CHECK(!rmp_live_lookup(&t, 0x500000) && !rmp_live_lookup(&t, 0x600000));

  /* A young address again, now old, and an old one again, now young: each
   * would have to grow the other part, so each is overwritten in place. */
  e = lentry(0x100000, 700, RMP_LIVE_OLD);
  fail_next(0);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  e = lentry(0x300000, 800, 0);
  fail_next(0);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  memory_back();
  CHECK(t.replaced == 2 && t.count == 64 && t.young.count == 32 && t.main.count == 32);
  CHECK(in_young_part(&t, 0x100000) && rmp_live_lookup(&t, 0x100000)->stack == 700);
  CHECK(!in_young_part(&t, 0x300000) && rmp_live_lookup(&t, 0x300000)->stack == 800);
  /* With memory, the same inserts move them. */
  e = lentry(0x100000, 701, RMP_LIVE_OLD);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  e = lentry(0x300000, 801, 0);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(!in_young_part(&t, 0x100000) && in_young_part(&t, 0x300000));
  CHECK(t.count == 64 && t.young.count == 32 && t.main.count == 32);
  rmp_live_free(&t);
  CHECK(g_live == 0);
}

/* The young part's shrink after a sweep fails: it stays as it is, with
 * every entry, and shrinks at a later sweep. */
static void split_shrink_fails(void) {
  rmp_live t;
  uint32_t every = 100;
  memory_back();
  g_calls = g_live = 0;
  CHECK(rmp_live_init(&t, 5000) == RMP_OK && rmp_live_split_young(&t) == RMP_OK);
  for (uint32_t i = 0; i < 1000; i++) {
    rmp_live_entry e = lentry(0x100000 + i * 64, i, 0);
    CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  }
  CHECK(rmp_live_sweep_young(&t, keep_mod, &every) == 990 && t.young.count == 10);
  uint32_t cap = t.young.mask + 1;
  CHECK(cap >= 2048);
  /* The peak of 1,000 decays by 1/8 per sweep: the shrink is due once it
   * needs half the slots at most. */
  while ((uint64_t)(t.young_peak - t.young_peak / 8) * 2 > cap / 2) {
    CHECK(rmp_live_sweep_young(&t, keep_mod, &every) == 0);
    CHECK(t.young.mask + 1 == cap);
  }
  fail_next(1);
  CHECK(rmp_live_sweep_young(&t, keep_mod, &every) == 0);
  CHECK(g_failed_since_reset() > 0);
  memory_back();
  CHECK(t.young.mask + 1 == cap && t.young.count == 10 && t.count == 10);
  for (uint32_t i = 0; i < 1000; i += 100) CHECK(in_young_part(&t, 0x100000 + i * 64));
  CHECK(rmp_live_sweep_young(&t, keep_mod, &every) == 0);
  CHECK(t.young.mask + 1 < cap && t.young.count == 10 && t.count == 10);
  for (uint32_t i = 0; i < 1000; i += 100) CHECK(rmp_live_lookup(&t, 0x100000 + i * 64)->stack == i);
  rmp_live_free(&t);
  CHECK(g_live == 0);
}

int main(void) {
  long total, rounds = 0;
  make_stacks();

  /* The overrides are used: allocations, frees and assertions all counted. */
  scenario();
  total = g_calls;
  CHECKF(total > 20 && g_frees > 0 && g_asserts > 0, "allocs %ld frees %ld asserts %ld", total, g_frees, g_asserts);
  CHECKF(g_live == 0, "%ld blocks leaked by a run without failures", g_live);
  CHECK(s_nomem == 0);
  printf("scenario: %ld allocations, %ld frees, %ld assertions\n", total, g_frees, g_asserts);

  /* The same with a split live table: promotions, young growth and shrinks
   * failing too. */
  g_calls = g_failed = g_live = g_frees = 0;
  s_split = 1;
  scenario();
  long total_split = g_calls;
  CHECKF(g_live == 0 && s_nomem == 0, "split: %ld blocks leaked, %ld NOMEM", g_live, s_nomem);
  printf("split scenario: %ld allocations\n", total_split);

  for (int split = 0; split < 2; split++)
  for (int mode = 0; mode < 2; mode++) {
    s_split = split;
    for (long n = 1; n <= (split ? total_split : total) + 1; n++) {
      g_calls = g_failed = g_live = 0;
      s_nomem = 0;
      g_fail_at = mode == 0 ? n : 0;
      g_fail_from = mode == 1 ? n : 0;
      scenario();
      CHECKF(g_live == 0, "mode %d, failing allocation %ld: %ld blocks leaked", mode, n, g_live);
      /* Once allocations stop working for good, someone must say so. */
      if (mode == 1 && g_failed > 0) CHECKF(s_nomem > 0, "failing from %ld: no RMP_ERR_NOMEM reported", n);
      rounds++;
    }
  }
  for (int mode = 0; mode < 2; mode++)
    for (int full = 0; full < 2; full++) split_promotion_fails(mode, full);
  split_insert_fails();
  split_shrink_fails();
  memory_back();

  /* Each structure's init, failing at each of its allocations: an init
   * that reports failure has nothing left for the caller to free (as
   * rmp_profiler_init and rmp_stacks_init do it). */
  for (long n = 1; n <= 8; n++) {
    rmp_strtab t;
    rmp_stacks st;
    rmp_live lv;
    rmp_allocs al;
    g_fail_from = 0;
    g_fail_at = n;
    g_calls = g_live = 0;
    if (rmp_strtab_init(&t) == RMP_OK) rmp_strtab_free(&t);
    CHECKF(g_live == 0, "rmp_strtab_init failing at allocation %ld leaks %ld blocks", n, g_live);
    g_calls = g_live = 0;
    if (rmp_stacks_init(&st) == RMP_OK) rmp_stacks_free(&st);
    CHECKF(g_live == 0, "rmp_stacks_init failing at allocation %ld leaks %ld blocks", n, g_live);
    g_calls = g_live = 0;
    if (rmp_live_init(&lv, 10) == RMP_OK) rmp_live_free(&lv);
    CHECKF(g_live == 0, "rmp_live_init failing at allocation %ld leaks %ld blocks", n, g_live);
    g_calls = g_live = 0;
    if (rmp_allocs_init(&al, 10) == RMP_OK) rmp_allocs_free(&al);
    CHECK(g_live == 0);
  }
  printf("alloc failure: %ld runs, each failing one allocation or all from one on, no leaks\n", rounds);
  return 0;
}
