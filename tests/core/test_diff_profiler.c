/* Randomized differential test of the whole profiler, the way the Ruby shim
 * drives it: rmp_sample_tick decides, then intern a stack, name new
 * functions, intern the class name, rmp_track as decided; objects die
 * (delete, sweep) and move; every ~1000 operations rmp_profiler_rotate with
 * a few extra stack ids. The model is the test's own record of tracked
 * objects and of the interval's allocations, with stacks as indices into a
 * fixed set of shapes. After each rotation the snapshot and the profiler
 * must both decode to the model, and the profiler's tables must hold
 * exactly what live objects and extras use: nodes = distinct prefixes of
 * their shapes + 1, funcs = distinct keys, strings = the distinct names
 * those need.
 *
 * Two runs. In the first the live table's bound is above every address
 * the test uses, so the table must be the model exactly (no thinning, every
 * sample kept for it). In the second the bound is far below the live set:
 * the table must stay within it, be a subset of the model (each entry as
 * tracked), lose entries only in a thinning (counted), and every entry
 * must weigh 2^(k when decided + thinnings survived), k being the model's
 * own count of thinnings less the rotations that lowered it (a rotation
 * lowers k once while the table is at most a quarter full). In both, the
 * allocation samples (a reservoir of MAX_ALLOCS) are distinct allocations
 * of the interval as tracked, min(candidates, MAX_ALLOCS) of them, each
 * weighing candidates / kept.
 * Usage: test_diff_profiler [ops] (default 300000; each run does ops). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "rmp.h"

#define NSHAPES 400
#define NKEYS 80
#define MAXD 60
#define NCLASSES 30
#define NADDR 3000
#define MAX_HEAP_THIN 200 /* the second run's bound */
#define MAX_ALLOCS 300
#define MAX_INTERVAL 20000 /* allocations the model records per interval */
#define NEXTRA 3

typedef struct shape {
  int key[MAXD]; /* key indices, leaf first */
  int line[MAXD];
  int depth;
  int nprefix;
  uint32_t prefix[MAXD]; /* static-trie node of each root-anchored prefix */
} shape;

static shape shapes[NSHAPES];
static uint64_t rawkey[NKEYS];

/* A static trie over all shapes, to count distinct prefixes of any subset. */
static uint32_t tn_parent[NSHAPES * MAXD + 1], tn_key[NSHAPES * MAXD + 1];
static int tn_line[NSHAPES * MAXD + 1];
static uint32_t ntn = 1;

static uint32_t trie_child(uint32_t parent, int key, int line) {
  for (uint32_t i = 1; i < ntn; i++) /* linear: built once, small */
    if (tn_parent[i] == parent && tn_key[i] == (uint32_t)key && tn_line[i] == line) return i;
  tn_parent[ntn] = parent;
  tn_key[ntn] = (uint32_t)key;
  tn_line[ntn] = line;
  return ntn++;
}

static void make_shapes(rmpt_rand *r) {
  for (int k = 0; k < NKEYS; k++) rawkey[k] = (rmpt_next(r) | 1) & ~UINT64_C(6);
  for (int s = 0; s < NSHAPES; s++) {
    shape *sh = &shapes[s];
    if (s > 10 && rmpt_below(r, 3)) { /* a variation of an earlier shape */
      const shape *b = &shapes[rmpt_below(r, (uint32_t)s)];
      int keep = (int)rmpt_below(r, (uint32_t)b->depth) + 1, add = (int)rmpt_below(r, 6);
      if (keep + add > MAXD) add = MAXD - keep;
      sh->depth = keep + add;
      for (int i = 0; i < keep; i++) { /* root-most `keep` frames of b */
        sh->key[add + i] = b->key[b->depth - keep + i];
        sh->line[add + i] = b->line[b->depth - keep + i];
      }
      for (int i = 0; i < add; i++) {
        sh->key[i] = (int)rmpt_below(r, NKEYS);
        sh->line[i] = 1 + (int)rmpt_below(r, 30);
      }
    } else {
      sh->depth = 1 + (int)rmpt_below(r, MAXD);
      for (int i = 0; i < sh->depth; i++) {
        sh->key[i] = (int)rmpt_below(r, NKEYS);
        sh->line[i] = 1 + (int)rmpt_below(r, 30);
      }
    }
    uint32_t n = 0;
    sh->nprefix = sh->depth;
    for (int d = 0; d < sh->depth; d++) {
      int i = sh->depth - 1 - d;
      n = trie_child(n, sh->key[i], sh->line[i]);
      sh->prefix[d] = n;
    }
  }
}

/* An object in the live table, as the model has it. */
typedef struct mobj {
  int live, shape, klass;
  uint32_t size, epoch;
  uint32_t k_dec, thin_ins; /* the model's k when decided; thinnings when inserted */
} mobj;
typedef struct malloc_s {
  int shape, klass;
  uint64_t size; /* unique per allocation: the sample's identity */
  uint32_t epoch;
  int taken;     /* matched by a snapshot sample already */
} malloc_s;

static uintptr_t addr_of[NADDR];
static mobj objs[NADDR];
static malloc_s mallocs[MAX_INTERVAL];
static int nmallocs, nlive;
static uint32_t max_heap;
static uint32_t m_k;         /* the model's heap keep log2 */
static uint64_t m_thinnings; /* thinnings seen, since init */

static void class_name(int c, char *buf, size_t n) { snprintf(buf, n, "Klass%d", c); }

static int str_is(const rmp_strtab *t, uint32_t id, const char *s) {
  size_t len;
  const char *g;
  if (id >= t->count) return 0;
  g = rmp_strtab_get(t, id, &len);
  return len == strlen(s) && memcmp(g, s, len) == 0;
}

static void expect_shape(const rmp_stacks *st, const rmp_strtab *strs, uint32_t id, int s) {
  uint32_t fids[MAXD];
  const shape *sh = &shapes[s];
  CHECK(id < st->nnodes);
  CHECKF(rmp_stack_frames(st, id, fids, MAXD) == (uint32_t)sh->depth, "shape %d", s);
  for (int i = 0; i < sh->depth; i++) {
    const rmp_frame *f = rmp_frame_get(st, fids[i]);
    const rmp_func *fn = rmp_func_get(st, f->func);
    char name[32];
    CHECK(fn->key == rawkey[sh->key[i]] && f->line == sh->line[i]);
    snprintf(name, sizeof name, "fn_%d", sh->key[i]);
    CHECK(fn->resolved && str_is(strs, fn->name, name));
  }
}

static int key_index(uint64_t key) {
  for (int k = 0; k < NKEYS; k++)
    if (rawkey[k] == key) return k;
  CHECK(0);
  return -1;
}

static void resolve_new(rmp_profiler *p) {
  for (uint32_t f = p->stacks.first_unresolved; f < p->stacks.nfuncs; f++) {
    int k = key_index(p->stacks.funcs[f].key);
    char name[32], file[32];
    uint32_t a, b, c;
    snprintf(name, sizeof name, "fn_%d", k);
    snprintf(file, sizeof file, "file_%d.rb", k % 7);
    CHECK(rmp_strtab_intern_cstr(&p->strings, name, &a) == RMP_OK);
    CHECK(rmp_strtab_intern_cstr(&p->strings, "sys", &b) == RMP_OK);
    CHECK(rmp_strtab_intern_cstr(&p->strings, file, &c) == RMP_OK);
    rmp_func_resolve(&p->stacks, f, a, b, c, k);
  }
}

static uint32_t intern_shape(rmp_profiler *p, int s) {
  uint64_t keys[MAXD];
  int lines[MAXD];
  uint32_t id;
  for (int i = 0; i < shapes[s].depth; i++) {
    keys[i] = rawkey[shapes[s].key[i]];
    lines[i] = shapes[s].line[i];
  }
  CHECK(rmp_stack_intern(&p->stacks, keys, lines, (size_t)shapes[s].depth, &id) == RMP_OK);
  resolve_new(p);
  return id;
}

static int addr_index(uintptr_t a) {
  int i = (int)((a - 0x40000) / 48);
  CHECK(i >= 0 && i < NADDR && addr_of[i] == a);
  return i;
}

typedef struct sweep_ud {
  rmpt_rand *r;
  uint32_t keep;
} sweep_ud;
static int sweep_keep(void *ud, rmp_live_entry *e) {
  sweep_ud *s = (sweep_ud *)ud;
  int i = addr_index(e->addr);
  CHECK(objs[i].live);
  if (rmpt_below(s->r, 100) < s->keep) return 1;
  objs[i].live = 0;
  nlive--;
  return 0;
}

/* The weight an object's entry must carry (rate 1): 2^(k when decided),
 * doubled by each thinning since it went in. */
static float want_weight(const mobj *o) {
  return ldexpf(1.0f, (int)(o->k_dec + (uint32_t)(m_thinnings - o->thin_ins)));
}

/* An entry of the table or of a snapshot is model object i, as tracked. */
static void expect_entry(const rmp_stacks *st, const rmp_strtab *strs, const rmp_live_entry *e) {
  int i = addr_index(e->addr);
  char cn[32];
  CHECK(objs[i].live);
  class_name(objs[i].klass, cn, sizeof cn);
  expect_shape(st, strs, e->stack, objs[i].shape);
  CHECK(str_is(strs, e->klass, cn) && e->size == objs[i].size && e->epoch == objs[i].epoch);
  CHECKF(e->weight == want_weight(&objs[i]), "weight %g, want %g", (double)e->weight,
         (double)want_weight(&objs[i]));
  CHECK(e->flags == 0);
}

/* After a track that thinned: every entry still in the table was in the
 * model (the survivors are a subset), and the model forgets the others. */
static uint32_t thinned_out(rmp_profiler *p) {
  uint32_t gone = 0;
  for (int i = 0; i < NADDR; i++)
    if (objs[i].live && !rmp_live_lookup(&p->live, addr_of[i])) {
      objs[i].live = 0;
      nlive--;
      gone++;
    }
  for (uint32_t s = 0; s < rmp_live_nslots(&p->live); s++)
    if (rmp_live_slot(&p->live, s)->addr) CHECK(objs[addr_index(rmp_live_slot(&p->live, s)->addr)].live);
  return gone;
}

static void rotate_and_check(rmpt_rand *r, rmp_profiler *p, uint64_t now, uint32_t epoch) {
  uint32_t extra[NEXTRA];
  int extra_shape[NEXTRA];
  rmp_snapshot snap;
  for (int k = 0; k < NEXTRA; k++) {
    extra_shape[k] = (int)rmpt_below(r, NSHAPES);
    extra[k] = intern_shape(p, extra_shape[k]);
  }
  CHECK(rmp_profiler_rotate(p, &snap, extra, NEXTRA, now, epoch) == RMP_OK);

  /* Allocation samples: min(candidates, bound) distinct allocations of the
   * interval, as tracked, each standing for candidates / kept. */
  CHECK(snap.alloc_candidates == (uint64_t)nmallocs);
  CHECK(snap.nallocs == (uint32_t)(nmallocs < MAX_ALLOCS ? nmallocs : MAX_ALLOCS));
  CHECK(snap.heap_dropped == 0 && snap.allocs_dropped == 0 && snap.epoch_now == epoch);
  for (uint32_t j = 0; j < snap.nallocs; j++) {
    const rmp_alloc_sample *a = &snap.allocs[j];
    int lo = 0, hi = nmallocs; /* sizes grow with the operation: binary search */
    char cn[32];
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      if (mallocs[mid].size < a->size) lo = mid + 1;
      else hi = mid;
    }
    CHECKF(lo < nmallocs && mallocs[lo].size == a->size && !mallocs[lo].taken, "allocation sample of size %llu",
           (unsigned long long)a->size);
    mallocs[lo].taken = 1;
    class_name(mallocs[lo].klass, cn, sizeof cn);
    expect_shape(&snap.stacks, &snap.strings, a->stack, mallocs[lo].shape);
    CHECK(str_is(&snap.strings, a->klass, cn) && a->epoch == mallocs[lo].epoch);
    CHECK(fabs(a->weight - (double)nmallocs / snap.nallocs) <= 1e-6 * nmallocs / snap.nallocs);
  }
  /* Live entries: exactly the table, which is exactly the model. */
  CHECK(snap.nlive == (uint32_t)nlive && snap.young_left_out == 0);
  for (uint32_t j = 0; j < snap.nlive; j++) expect_entry(&snap.stacks, &snap.strings, &snap.live[j]);
  CHECK(snap.heap_keep == ldexp(1.0, -(int)m_k));
  rmp_snapshot_free(&snap);
  /* One step back towards keeping every sample, while a quarter full. */
  if (m_k > 0 && (uint32_t)nlive <= max_heap / 4) m_k--;
  CHECK(p->heap_keep_log2 == m_k);

  /* The profiler after compaction. */
  static uint8_t node_used[NSHAPES * MAXD + 1];
  uint8_t key_used[NKEYS] = {0}, class_used[NCLASSES] = {0}, file_used[7] = {0};
  uint32_t want_nodes = 1, want_strings = 1;
  memset(node_used, 0, ntn);
  CHECK(p->live.count == (uint32_t)nlive && p->allocs.n == 0);
  for (int i = 0; i < NADDR + NEXTRA; i++) {
    int s;
    if (i < NADDR) {
      const rmp_live_entry *e;
      char cn[32];
      if (!objs[i].live) continue;
      e = rmp_live_lookup(&p->live, addr_of[i]);
      CHECK(e != NULL);
      expect_entry(&p->stacks, &p->strings, e);
      class_name(objs[i].klass, cn, sizeof cn);
      if (!class_used[objs[i].klass]) want_strings++;
      class_used[objs[i].klass] = 1;
      s = objs[i].shape;
    } else {
      s = extra_shape[i - NADDR];
      expect_shape(&p->stacks, &p->strings, extra[i - NADDR], s);
    }
    for (int d = 0; d < shapes[s].nprefix; d++) {
      if (!node_used[shapes[s].prefix[d]]) want_nodes++;
      node_used[shapes[s].prefix[d]] = 1;
    }
    for (int d = 0; d < shapes[s].depth; d++) {
      int k = shapes[s].key[d];
      if (key_used[k]) continue;
      key_used[k] = 1;
      want_strings++; /* fn_k */
      if (!file_used[k % 7]) want_strings++;
      file_used[k % 7] = 1;
    }
  }
  uint32_t want_funcs = 0;
  for (int k = 0; k < NKEYS; k++) want_funcs += key_used[k] != 0;
  if (want_funcs) want_strings++; /* "sys" */
  CHECKF(p->stacks.nnodes == want_nodes, "%u nodes, want %u", p->stacks.nnodes, want_nodes);
  CHECK(p->stacks.nfuncs == want_funcs);
  CHECKF(p->strings.count == want_strings, "%u strings, want %u", p->strings.count, want_strings);
  nmallocs = 0;
}

typedef struct run_stats {
  long rotations, none, alloc_only, thinnings, thinned_out, lowered;
} run_stats;

static void run(long ops, uint32_t bound, uint64_t seed, run_stats *st) {
  rmpt_rand r = {seed};
  rmp_profiler p;
  rmp_config cfg;
  uint32_t epoch = 0;
  uint64_t taken = 0, alloc_seq = 0;
  memset(objs, 0, sizeof objs);
  memset(st, 0, sizeof *st);
  nmallocs = nlive = 0;
  m_k = 0;
  m_thinnings = 0;
  max_heap = bound;
  rmp_config_default(&cfg);
  cfg.max_heap_samples = bound;
  cfg.max_alloc_samples = MAX_ALLOCS;
  cfg.seed = seed;
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);

  for (long op = 0; op < ops; op++) {
    uint32_t kind = rmpt_below(&r, 1000);
    int i = (int)rmpt_below(&r, NADDR);
    if (nmallocs == MAX_INTERVAL) kind = 999; /* the model's record is full: rotate */
    if (kind < 600) { /* an allocation is sampled (rate 1) */
      int s = (int)rmpt_below(&r, NSHAPES), c = (int)rmpt_below(&r, NCLASSES);
      uint32_t k_dec = m_k;
      uint64_t size = 8 + alloc_seq++ * 16 + rmpt_below(&r, 16);
      rmp_decision d = rmp_sample_tick(&p);
      CHECK(p.samples_taken == ++taken);
      /* Every sample is a candidate for the reservoir (retain rate 1). */
      mallocs[nmallocs].shape = s;
      mallocs[nmallocs].klass = c;
      mallocs[nmallocs].size = size;
      mallocs[nmallocs].epoch = epoch;
      mallocs[nmallocs++].taken = 0;
      /* Nothing thinned: every sample goes to the table. */
      if (m_k == 0) CHECK(d & RMP_KEEP_HEAP);
      if (d & RMP_KEEP_HEAP) CHECK(RMP_DECISION_KEEP_LOG2(d) == m_k);
      if (!d) { /* kept for nothing: no stack to take */
        st->none++;
        continue;
      }
      if (!(d & RMP_KEEP_HEAP)) st->alloc_only++;
      char cn[32];
      uint32_t stack = intern_shape(&p, s), k;
      class_name(c, cn, sizeof cn);
      CHECK(rmp_strtab_intern_cstr(&p.strings, cn, &k) == RMP_OK);
      uint64_t thin0 = p.heap_thinnings;
      uint32_t before = p.live.count;
      CHECK(rmp_track(&p, addr_of[i], stack, k, size, epoch, d) == RMP_OK);
      uint64_t dt = p.heap_thinnings - thin0;
      if (!(d & RMP_KEEP_HEAP)) {
        CHECK(dt == 0 && p.live.count == before); /* the table is not touched */
      } else {
        /* Thinned only when full and the address is new to the table. */
        CHECK(dt == 0 || (before >= bound && !objs[i].live));
        if (!objs[i].live) nlive++;
        objs[i].live = 1;
        objs[i].shape = s;
        objs[i].klass = c;
        objs[i].size = (uint32_t)size;
        objs[i].epoch = epoch;
        objs[i].k_dec = k_dec;
        if (dt) {
          uint32_t gone;
          m_thinnings += dt;
          m_k += (uint32_t)dt;
          st->thinnings += (long)dt;
          gone = thinned_out(&p);
          CHECK(gone >= 1);
          st->thinned_out += gone;
        }
        objs[i].thin_ins = (uint32_t)m_thinnings;
        CHECK(rmp_live_lookup(&p.live, addr_of[i]) != NULL);
      }
      CHECK(p.live.count <= bound && p.live.dropped == 0);
      CHECK(p.heap_thinnings == m_thinnings && p.heap_keep_log2 == m_k);
    } else if (kind < 900) { /* an object dies */
      CHECK(rmp_live_delete(&p.live, addr_of[i]) == objs[i].live);
      if (objs[i].live) nlive--;
      objs[i].live = 0;
    } else if (kind < 980) { /* an object moves */
      int j = (int)rmpt_below(&r, NADDR);
      CHECK(rmp_live_move(&p.live, addr_of[i], addr_of[j]) == objs[i].live);
      if (objs[i].live && i != j) {
        if (objs[j].live) nlive--;
        objs[j] = objs[i];
        objs[i].live = 0;
      }
    } else if (kind < 982) { /* a GC: sweep, and time passes */
      sweep_ud sw;
      sw.r = &r;
      sw.keep = 5 + rmpt_below(&r, 96); /* per cent that survive */
      rmp_live_sweep(&p.live, sweep_keep, &sw);
      epoch++;
    } else if (kind < 999) { /* a repeat: same stack, same id */
      int sh = (int)rmpt_below(&r, NSHAPES);
      CHECK(intern_shape(&p, sh) == intern_shape(&p, sh));
    } else {
      uint32_t k_before = m_k;
      rotate_and_check(&r, &p, (uint64_t)op, epoch);
      st->lowered += m_k < k_before;
      st->rotations++;
    }
    CHECK(p.live.count == (uint32_t)nlive);
    if ((op & 1023) == 0)
      for (uint32_t sl = 0; sl < rmp_live_nslots(&p.live); sl++)
        if (rmp_live_slot(&p.live, sl)->addr) CHECK(rmp_live_slot(&p.live, sl)->weight == want_weight(&objs[addr_index(rmp_live_slot(&p.live, sl)->addr)]));
  }
  rotate_and_check(&r, &p, (uint64_t)ops, epoch);
  st->rotations++;
  printf("profiler, bound %u: %ld ops, %ld rotations (%ld lowered k), %ld thinnings (%ld entries out), "
         "%ld samples for the reservoir only, %ld for nothing; final %u live, k %u, %u nodes\n",
         bound, ops, st->rotations, st->lowered, st->thinnings, st->thinned_out, st->alloc_only, st->none,
         p.live.count, m_k, p.stacks.nnodes);
  rmp_profiler_free(&p);
}

int main(int argc, char **argv) {
  long ops = rmpt_ops_arg(argc, argv, 300000);
  rmpt_rand r = {0x9F0F11E5};
  run_stats st;
  make_shapes(&r);
  for (int i = 0; i < NADDR; i++) addr_of[i] = (uintptr_t)0x40000 + (uintptr_t)i * 48;
  /* 1. A bound no live set here can reach: the table is the model. */
  run(ops, NADDR, 3, &st);
  CHECK(st.rotations > 10 && st.thinnings == 0 && st.none == 0 && st.alloc_only == 0);
  /* 2. A bound far below the live set: thinning. */
  run(ops, MAX_HEAP_THIN, 4, &st);
  CHECK(st.rotations > 10 && st.thinnings > 0 && st.lowered > 0 && st.none > 0 && st.alloc_only > 0);
  return 0;
}
