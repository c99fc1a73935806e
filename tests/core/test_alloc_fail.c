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
  rmp_live_sweep(&p.live, keep_odd, NULL);
  expect_objects(&p);
  if (!g_fail_at && !g_fail_from) CHECKF(p.heap_thinnings > 0 && p.live.count > 64, "%u live", p.live.count);
  /* More than one chunk of moves, so the fallback without a scratch list
   * takes several passes when its allocation fails. */
  CHECK(rmp_live_rekey(&p.live, move_up, NULL) == p.live.count);
  for (int i = 0; i < NOBJ; i++) objs[i].addr += 0x1000000;
  expect_objects(&p);

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

  for (int mode = 0; mode < 2; mode++) {
    for (long n = 1; n <= total + 1; n++) {
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
