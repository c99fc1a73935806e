/* Randomized differential test of rotation across generations: a profiler
 * with compact_growth 0.5, so that most rotations share the profiler's
 * append-only tables with their snapshot and some compact them. Objects are
 * tracked on stacks drawn from a growing set of shapes (new call sites keep
 * appearing, so the tables grow, move their arrays and compact) and die at
 * random. Up to MAX_HELD snapshots are kept alive across later tracking,
 * rotations and compactions, and freed in random order; the last ones
 * outlive the profiler.
 *
 * The model is the test's own record: address -> (shape, class). Each
 * snapshot, when taken and again before it is freed, must decode every live
 * entry to its shape's keys, lines and function names and its class name,
 * exactly the entries the model held at the rotation; the profiler's own
 * entries must decode the same after each rotation (a compaction remaps
 * them). Between compactions the trie may hold at most 1.5x the nodes kept
 * by the last one (or 1024 more), and both kinds of rotation must occur.
 *
 * The second run compacts as the Ruby gem does, off the profiler's lock:
 * rotation never compacts, and when rmp_profiler_compaction_due says so
 * the test runs rmp_compaction_begin, then random operations (tracking,
 * deaths, new stacks, function keys rewritten as GC.compact does), build,
 * more operations, and finish, which must bring all of them into the
 * compacted tables. Allocation samples taken meanwhile must decode too.
 * Usage: test_diff_generations [ops] (default 200000 per run). */
#include <string.h>

#include "check.h"
#include "rmp.h"

#define MAXD 24
#define MAX_SHAPES 30000
#define MAX_UNNAMED 512 /* shapes beyond MAX_SHAPES and keys beyond NKEYS, for track_unnamed */
#define NKEYS 4000
#define NALLKEYS (NKEYS + MAX_UNNAMED)
#define NCLASSES 40
#define NADDR 4000
#define MAX_HELD 4

typedef struct shape {
  int key[MAXD]; /* key indices, leaf first */
  int line[MAXD];
  int depth;
} shape;

static shape *shapes;
static int nshapes;
static uint64_t rawkey[NALLKEYS];
static char names[NALLKEYS][24], classes[NCLASSES][24];

/* model: per address index, shape + 1 (0: not tracked) and class */
static int m_shape[NADDR], m_class[NADDR];

typedef struct held {
  rmp_snapshot snap;
  int shape[NADDR], klass[NADDR]; /* the model at the rotation, shape + 1 */
  uint32_t nlive;
} held;
static held *holds[MAX_HELD];

static uint64_t next_key = 1;

static uintptr_t addr_of(int i) { return (uintptr_t)(i + 1) * 64; }
static int index_of(uintptr_t a) { return (int)(a / 64) - 1; }

static void new_shape(rmpt_rand *r) {
  shape *s = &shapes[nshapes];
  int keep = 0;
  if (nshapes > 0) { /* share a root-end prefix with an earlier call site */
    const shape *o = &shapes[rmpt_below(r, (uint32_t)nshapes)];
    keep = (int)rmpt_below(r, (uint32_t)o->depth);
    for (int i = 0; i < keep; i++) {
      s->key[MAXD - 1 - i] = o->key[o->depth - 1 - i];
      s->line[MAXD - 1 - i] = o->line[o->depth - 1 - i];
    }
  }
  s->depth = keep + 1 + (int)rmpt_below(r, MAXD - keep);
  /* Frames are written root-end first at the array's end, then shifted so
   * that index 0 is the leaf. */
  for (int i = keep; i < s->depth; i++) {
    s->key[MAXD - 1 - i] = (int)rmpt_below(r, NKEYS);
    s->line[MAXD - 1 - i] = (int)rmpt_below(r, 50);
  }
  memmove(s->key, s->key + MAXD - s->depth, sizeof(int) * (size_t)s->depth);
  memmove(s->line, s->line + MAXD - s->depth, sizeof(int) * (size_t)s->depth);
  nshapes++;
}

/* Name the functions still unnamed, as the embedder does when it can. */
static void resolve_all(rmp_profiler *p) {
  for (uint32_t f = p->stacks.first_unresolved; f < p->stacks.nfuncs; f++) {
    rmp_func *fn = rmp_func_get(&p->stacks, f);
    uint32_t name, file;
    int k;
    if (fn->resolved) continue;
    for (k = 0; k < NALLKEYS && rawkey[k] != fn->key; k++) {
    }
    CHECK(k < NALLKEYS);
    CHECK(rmp_strtab_intern_cstr(&p->strings, names[k], &name) == RMP_OK);
    CHECK(rmp_strtab_intern_cstr(&p->strings, names[k % 97], &file) == RMP_OK);
    rmp_func_resolve(&p->stacks, f, name, name, file, k);
  }
}

static uint32_t intern_shape(rmp_profiler *p, int si, int resolve) {
  uint64_t keys[MAXD];
  const shape *s = &shapes[si];
  uint32_t id;
  for (int i = 0; i < s->depth; i++) keys[i] = rawkey[s->key[i]];
  CHECK(rmp_stack_intern(&p->stacks, keys, s->line, (size_t)s->depth, &id) == RMP_OK);
  if (resolve) resolve_all(p);
  return id;
}

/* Does stack `id` of (st, strings) spell shape si, and klass class ci?
 * Keys are compared only in the profiler's own tables: a snapshot may or
 * may not see a key rewritten after it was taken. */
static void check_entry(const rmp_stacks *st, const rmp_strtab *strings, uint32_t id, uint32_t klass, int si, int ci,
                        int keys) {
  uint32_t fids[MAXD];
  const shape *s = &shapes[si];
  size_t len;
  const char *str;
  CHECK(id < st->nnodes);
  CHECKF(rmp_stack_frames(st, id, fids, MAXD) == (uint32_t)s->depth, "depth %u, want %d",
         rmp_stack_depth(st, id), s->depth);
  for (int i = 0; i < s->depth; i++) {
    const rmp_frame *fr = rmp_frame_get(st, fids[i]);
    const rmp_func *fn = rmp_func_get(st, fr->func);
    CHECK(fr->line == s->line[i]);
    CHECK(!keys || fn->key == rawkey[s->key[i]]);
    CHECK(fn->resolved && fn->name < strings->count);
    str = rmp_strtab_get(strings, fn->name, &len);
    CHECK(len == strlen(names[s->key[i]]) && memcmp(str, names[s->key[i]], len) == 0);
  }
  if (ci < 0) return;
  CHECK(klass < strings->count);
  str = rmp_strtab_get(strings, klass, &len);
  CHECK(len == strlen(classes[ci]) && memcmp(str, classes[ci], len) == 0);
}

static void check_held(const held *h) {
  uint32_t seen = 0;
  CHECK(h->snap.nlive == h->nlive);
  for (uint32_t i = 0; i < h->snap.nlive; i++) {
    const rmp_live_entry *e = &h->snap.live[i];
    int a = index_of(e->addr);
    CHECK(a >= 0 && a < NADDR && h->shape[a]);
    check_entry(&h->snap.stacks, &h->snap.strings, e->stack, e->klass, h->shape[a] - 1, h->klass[a], 0);
    seen++;
  }
  CHECK(seen == h->nlive);
}

static void check_profiler(const rmp_profiler *p) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < rmp_live_nslots(&p->live); i++) {
    const rmp_live_entry *e = rmp_live_slot(&p->live, i);
    int a;
    if (!e->addr) continue;
    a = index_of(e->addr);
    CHECK(a >= 0 && a < NADDR && m_shape[a]);
    check_entry(&p->stacks, &p->strings, e->stack, e->klass, m_shape[a] - 1, m_class[a], 1);
    n++;
  }
  for (int a = 0; a < NADDR; a++) n -= m_shape[a] != 0;
  CHECK(n == 0);
  /* Allocation samples carry shape * NCLASSES + class as their size. */
  for (uint32_t i = 0; i < p->allocs.n; i++) {
    const rmp_alloc_sample *a = &p->allocs.v[i];
    check_entry(&p->stacks, &p->strings, a->stack, a->klass, (int)(a->size / NCLASSES), (int)(a->size % NCLASSES), 1);
  }
}

static void drop_held(int i) {
  check_held(holds[i]);
  rmp_snapshot_free(&holds[i]->snap);
  free(holds[i]);
  holds[i] = NULL;
}

/* One random operation on the profiler and the model (not a rotation). */
static void random_op(rmpt_rand *r, rmp_profiler *p, uint32_t epoch) {
  uint32_t kind = rmpt_below(r, 1000);
  if (kind < 600) { /* track */
    int a = (int)rmpt_below(r, NADDR), c = (int)rmpt_below(r, NCLASSES), si;
    uint32_t id, klass;
    rmp_decision d = RMP_KEEP_HEAP | (rmpt_below(r, 8) == 0 ? RMP_KEEP_ALLOC : 0);
    if (nshapes < MAX_SHAPES && rmpt_below(r, 100) < 15) new_shape(r);
    si = (int)rmpt_below(r, (uint32_t)nshapes);
    id = intern_shape(p, si, (int)rmpt_below(r, 2));
    CHECK(rmp_strtab_intern_cstr(&p->strings, classes[c], &klass) == RMP_OK);
    CHECK(rmp_track(p, addr_of(a), id, klass, (uint64_t)si * NCLASSES + (uint64_t)c, epoch - 1, d) == RMP_OK);
    m_shape[a] = si + 1;
    m_class[a] = c;
  } else if (kind < 900) { /* die */
    int a = (int)rmpt_below(r, NADDR);
    CHECK(rmp_live_delete(&p->live, addr_of(a)) == (m_shape[a] != 0));
    m_shape[a] = 0;
  } else if (kind < 995) { /* intern a stack nobody keeps */
    if (nshapes < MAX_SHAPES) new_shape(r);
    (void)intern_shape(p, nshapes - 1, (int)rmpt_below(r, 2));
  } else { /* a function's key object moved */
    int k = (int)rmpt_below(r, NKEYS);
    for (uint32_t f = 0; f < p->stacks.nfuncs; f++)
      if (p->stacks.funcs[f].key == rawkey[k]) {
        uint64_t nk = UINT64_C(0x4000000000000000) | (next_key++ << 4);
        CHECK(rmp_func_rekey(&p->stacks, f, nk) == RMP_OK);
        rawkey[k] = nk;
        break;
      }
  }
}

/* Tracks an object on a new one-frame call site whose function the
 * profiler does not have yet, left unnamed: a compaction begun now must
 * carry the name it gets before finish. */
static long unnamed_tracked;
static void track_unnamed(rmpt_rand *r, rmp_profiler *p, uint32_t epoch) {
  int k = NKEYS + (int)unnamed_tracked, a = (int)rmpt_below(r, NADDR);
  uint32_t id, klass;
  shape *s;
  /* Keys from NKEYS on are drawn by nothing else: each is new. */
  if (nshapes >= MAX_SHAPES + MAX_UNNAMED || k >= NALLKEYS) return;
  unnamed_tracked++;
  s = &shapes[nshapes++];
  s->depth = 1;
  s->key[0] = k;
  s->line[0] = 1;
  id = intern_shape(p, nshapes - 1, 0);
  CHECK(rmp_strtab_intern_cstr(&p->strings, classes[0], &klass) == RMP_OK);
  CHECK(rmp_track(p, addr_of(a), id, klass, (uint64_t)(nshapes - 1) * NCLASSES, epoch - 1, RMP_KEEP_HEAP) == RMP_OK);
  m_shape[a] = nshapes;
  m_class[a] = 0;
}

static void run(long ops, int off_lock) {
  rmpt_rand r = {42 + (uint64_t)off_lock};
  rmp_profiler p;
  rmp_config cfg;
  uint64_t rotations = 0, compactions = 0;
  uint32_t epoch = 1;
  memset(m_shape, 0, sizeof(m_shape));
  nshapes = 0;
  unnamed_tracked = 0;
  rmp_config_default(&cfg);
  cfg.max_heap_samples = NADDR * 2;
  cfg.max_alloc_samples = 200;
  cfg.compact_growth = 0.5;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  p.compact_elsewhere = off_lock;
  new_shape(&r);
  for (long op = 0; op < ops; op++) {
    if (rmpt_below(&r, 1000) >= 3) {
      random_op(&r, &p, epoch);
    } else { /* rotate, keep the snapshot, maybe free an older one */
      held *h = (held *)calloc(1, sizeof(held));
      uint64_t before = p.compactions;
      int slot = -1;
      CHECK(h);
      resolve_all(&p); /* flush drains first */
      CHECK(rmp_profiler_rotate(&p, &h->snap, NULL, 0, (uint64_t)op, epoch) == RMP_OK);
      rotations++;
      if (p.compactions != before) compactions++;
      memcpy(h->shape, m_shape, sizeof(m_shape));
      memcpy(h->klass, m_class, sizeof(m_class));
      for (int a = 0; a < NADDR; a++) h->nlive += m_shape[a] != 0;
      for (uint32_t i = 0; i < h->snap.nallocs; i++) {
        const rmp_alloc_sample *a = &h->snap.allocs[i];
        check_entry(&h->snap.stacks, &h->snap.strings, a->stack, a->klass, (int)(a->size / NCLASSES),
                    (int)(a->size % NCLASSES), 1);
      }
      check_held(h);
      check_profiler(&p);
      if (off_lock) {
        CHECK(p.compactions == before);
        if (rmp_profiler_compaction_due(&p)) {
          rmp_compaction cj;
          uint32_t extra[2];
          int ea = (int)rmpt_below(&r, NADDR);
          /* Some functions unnamed when the tables freeze. */
          for (int k = (int)rmpt_below(&r, 50); k > 0; k--) random_op(&r, &p, epoch);
          track_unnamed(&r, &p, epoch);
          CHECK(rmp_compaction_begin(&p, &cj, NULL, 0) == RMP_OK);
          for (int k = (int)rmpt_below(&r, 300); k > 0; k--) random_op(&r, &p, epoch);
          CHECK(rmp_compaction_build(&cj) == RMP_OK);
          for (int k = (int)rmpt_below(&r, 300); k > 0; k--) random_op(&r, &p, epoch);
          /* Two ids the embedder holds (the gem: samples not yet committed). */
          extra[0] = intern_shape(&p, ea % nshapes, (int)rmpt_below(&r, 2));
          extra[1] = 0;
          int named = (int)rmpt_below(&r, 2);
          if (named) resolve_all(&p); /* names that came in meanwhile */
          CHECK(rmp_compaction_finish(&p, &cj, extra, 2) == RMP_OK);
          rmp_compaction_free(&cj);
          /* Those names came across: nothing is left unnamed (the
           * resolve_all below would otherwise hide a finish that drops them). */
          for (uint32_t f = 0; named && f < p.stacks.nfuncs; f++) CHECKF(p.stacks.funcs[f].resolved, "func %u unnamed", f);
          resolve_all(&p);
          compactions++;
          CHECK(p.compactions == before + 1);
          CHECK(extra[1] == 0);
          check_entry(&p.stacks, &p.strings, extra[0], 0, ea % nshapes, -1, 1);
          check_profiler(&p);
        }
      }
      CHECKF(p.stacks.nnodes <= p.kept_nodes + (p.kept_nodes / 2 > 1024 ? p.kept_nodes / 2 : 1024) + 1,
             "%u nodes, %u kept", p.stacks.nnodes, p.kept_nodes);
      for (int i = 0; i < MAX_HELD; i++)
        if (holds[i]) check_held(holds[i]);
      for (int i = 0; i < MAX_HELD && slot < 0; i++)
        if (!holds[i]) slot = i;
      if (slot < 0 || rmpt_below(&r, 3) == 0) { /* free one at random (maybe the newest) */
        int v = (int)rmpt_below(&r, MAX_HELD);
        if (holds[v]) drop_held(v);
        if (slot < 0) slot = v;
      }
      if (holds[slot]) drop_held(slot);
      holds[slot] = h;
      epoch++;
    }
  }
  check_profiler(&p);
  rmp_profiler_free(&p);
  /* The snapshots outlive the profiler. */
  for (int i = 0; i < MAX_HELD; i++)
    if (holds[i]) drop_held(i);
  printf("test_diff_generations (%s): %ld ops, %llu rotations, %llu compactions, %d shapes, %ld unnamed at begin\n",
         off_lock ? "off-lock compaction" : "compaction in rotation", ops, (unsigned long long)rotations,
         (unsigned long long)compactions, nshapes, unnamed_tracked);
  CHECK(!off_lock || ops < 100000 || unnamed_tracked == (long)compactions);
  CHECK(ops < 100000 || (compactions > 1 && compactions * 2 < rotations));
}

int main(int argc, char **argv) {
  long ops = argc > 1 ? atol(argv[1]) : 200000;
  rmpt_rand r = {7};
  shapes = (shape *)calloc(MAX_SHAPES + MAX_UNNAMED, sizeof(shape));
  CHECK(shapes);
  for (int k = 0; k < NCLASSES; k++) snprintf(classes[k], sizeof(classes[k]), "Class%d", k);
  for (int k = 0; k < NALLKEYS; k++) snprintf(names[k], sizeof(names[k]), "fn_%d", k);
  for (int off_lock = 0; off_lock < 2; off_lock++) {
    for (int k = 0; k < NALLKEYS; k++) rawkey[k] = rmpt_next(&r) | 1;
    run(ops, off_lock);
  }
  free(shapes);
  return 0;
}
