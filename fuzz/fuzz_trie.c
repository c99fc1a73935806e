/* fuzz_trie: intern arbitrary stacks (depth 0-500, repeats, recursion,
 * shared prefixes, and now and then deeper than RMP_MAX_DEPTH), resolve and
 * rekey functions, then compact with arbitrary live sets, either directly
 * (rmp_stacks_mark + rmp_stacks_compact) or through rmp_profiler_rotate.
 *
 * The model keeps every stack as (key slot, line) pairs, leaf first; a key
 * slot's current key lives in ktab, so rekeying a function renames it in
 * every modelled stack at once. After each step every modelled stack must
 * decode to exactly its frames, and after compaction the trie must hold
 * exactly the nodes, frames, functions and strings the live set reaches.
 *
 * Inputs of odd length run the profiler with compact_growth 0.5 (and a
 * compaction floor of 8 nodes), as the Ruby gem does: rotations that do
 * not compact share the tables with their snapshot and leave the ids as
 * they were. The last snapshot is then kept alive across the operations
 * that follow (interning grows and moves the shared arrays), checked
 * against a copy of the model made when it was taken, and freed at the
 * next rotation, or after the profiler at the end. Inputs whose length is
 * 3 modulo 4 compact off the lock instead (rmp_compaction_*), with stacks
 * interned and functions rekeyed between the steps. */
#define RMP_COMPACT_FLOOR 8
#include "fuzz_impl.h"

#define NKEYS 40
#define NSTACKS 48
#define MAX_GEN_DEPTH 500
#define DEEP_DEPTH (RMP_MAX_DEPTH + 64)

typedef struct mframe {
  int32_t k; /* key slot; as wide as line, so the struct has no padding */
  int32_t line;
} mframe;

typedef struct mstack {
  uint32_t id, depth;
  mframe *fr;
  uint32_t new_id; /* during rotation */
  uint32_t tag;    /* stable name; the size of its live object and samples */
  uintptr_t addr;  /* its live object in the profiler, or 0 */
  uint8_t klass;   /* that object's class name */
} mstack;

typedef struct model {
  uint64_t ktab[NKEYS];
  int resolved[NKEYS]; /* the embedder named this key's function */
  mstack s[NSTACKS];
  uint32_t n;
  uint64_t truncated;
  uint32_t next_tag;
  uint64_t next_key;
} model;

static const int32_t line_pool[] = {0, 1, 2, 3, 17, -1, 100000, INT32_MAX, INT32_MIN, 42};
#define NLINES (sizeof line_pool / sizeof line_pool[0])

/* A function's names depend only on its key slot; some contain NULs and
 * some collide, so interning must compare bytes, not C strings. */
static size_t name_of(uint8_t k, int which, char *buf) {
  if (which == 2 && k % 3 == 0) return 0; /* empty file name: string id 0 */
  if (which == 0 && k % 7 == 6) k = (uint8_t)(k - 1); /* two slots, one name */
  buf[0] = "nsf"[which];
  buf[1] = (char)k;
  buf[2] = 0;
  buf[3] = (char)(k * 37);
  return (size_t)(k % 4 + 1);
}

/* Class names: a few, one of them empty. */
static size_t class_name(uint8_t c, char *buf) {
  buf[0] = 'C';
  buf[1] = (char)c;
  return c % 5 == 0 ? 0 : 2;
}

static void str_eq(const rmp_strtab *t, uint32_t id, const char *want, size_t len) {
  size_t got;
  RMP_FZ_CHECK(id < t->count);
  const char *s = rmp_strtab_get(t, id, &got);
  RMP_FZ_CHECK(got == len && memcmp(s, want, len) == 0);
  RMP_FZ_CHECK(s[len] == 0);
}

RMP_FZ_NOCOV static int key_slot(const model *m, uint64_t key) {
  for (int k = 0; k < NKEYS; k++)
    if (m->ktab[k] == key) return k;
  return -1;
}

RMP_FZ_NOCOV static void check_func_names(const model *m, const rmp_stacks *st, const rmp_strtab *strs, uint32_t func) {
  const rmp_func *fn = rmp_func_get(st, func);
  int k = key_slot(m, fn->key);
  RMP_FZ_CHECK(k >= 0);
  RMP_FZ_CHECK((fn->resolved != 0) == (m->resolved[k] != 0));
  if (!fn->resolved) return;
  char buf[4];
  for (int w = 0; w < 3; w++) {
    size_t len = name_of((uint8_t)k, w, buf);
    str_eq(strs, w == 0 ? fn->name : w == 1 ? fn->system_name : fn->file, buf, len);
  }
  RMP_FZ_CHECK(fn->start_line == (int32_t)k * 10);
}

static uint32_t frame_buf[DEEP_DEPTH + 1];

RMP_FZ_NOCOV static void check_stack(const model *m, const rmp_stacks *st, const rmp_strtab *strs, uint32_t id,
                        const mframe *fr, uint32_t depth) {
  RMP_FZ_CHECK(id < st->nnodes);
  RMP_FZ_CHECK(rmp_stack_depth(st, id) == depth);
  RMP_FZ_CHECK(rmp_stack_frames(st, id, frame_buf, DEEP_DEPTH) == depth);
  for (uint32_t i = 0; i < depth; i++) {
    const rmp_frame *f = rmp_frame_get(st, frame_buf[i]);
    RMP_FZ_CHECK(f->line == fr[i].line);
    RMP_FZ_CHECK(rmp_func_get(st, f->func)->key == m->ktab[fr[i].k]);
    if (strs) check_func_names(m, st, strs, f->func);
  }
}

RMP_FZ_NOCOV static int same_frames(const mframe *a, uint32_t na, const mframe *b, uint32_t nb) {
  if (na != nb) return 0;
  for (uint32_t i = 0; i < na; i++)
    if (a[i].k != b[i].k || a[i].line != b[i].line) return 0;
  return 1;
}

/* What a live set reaches: every root-ward suffix of a live stack is a node
 * (suffixes are told apart by a 64-bit hash built from the root end), plus
 * the root; and the distinct frames, functions and strings they use. */
typedef struct reach {
  uint32_t nodes, frames, funcs, strings;
} reach;

RMP_FZ_NOCOV static int mframe_cmp(const void *a, const void *b) {
  const mframe *x = (const mframe *)a, *y = (const mframe *)b;
  if (x->k != y->k) return x->k < y->k ? -1 : 1;
  return x->line < y->line ? -1 : x->line > y->line;
}
RMP_FZ_NOCOV static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}
RMP_FZ_NOCOV static uint64_t stack_hash(const mframe *fr, uint32_t from, uint32_t depth) {
  uint64_t h = 1;
  for (uint32_t i = depth; i-- > from;) h = rmp_fz_mix(h ^ ((uint64_t)fr[i].k << 32 | (uint32_t)fr[i].line));
  return h;
}

static uint64_t suffix_h[NSTACKS * DEEP_DEPTH];
static size_t nsuffix_h;

RMP_FZ_NOCOV static reach model_reach(const model *m, const int *keep, const uint8_t *klass_names, int nklass) {
  reach r = {1, 0, 0, 0};
  static mframe all[NSTACKS * DEEP_DEPTH];
  size_t nall = 0;
  nsuffix_h = 0;
  for (uint32_t a = 0; a < m->n; a++) {
    if (!keep[a]) continue;
    const mstack *sa = &m->s[a];
    uint64_t h = 1;
    for (uint32_t i = sa->depth; i-- > 0;) {
      h = rmp_fz_mix(h ^ ((uint64_t)sa->fr[i].k << 32 | (uint32_t)sa->fr[i].line));
      suffix_h[nsuffix_h++] = h;
      all[nall++] = sa->fr[i];
    }
  }
  qsort(suffix_h, nsuffix_h, sizeof *suffix_h, u64_cmp);
  for (size_t i = 0; i < nsuffix_h; i++)
    if (i == 0 || suffix_h[i] != suffix_h[i - 1]) r.nodes++;
  qsort(all, nall, sizeof *all, mframe_cmp);
  int used_key[NKEYS] = {0};
  for (size_t i = 0; i < nall; i++) {
    if (i == 0 || mframe_cmp(&all[i], &all[i - 1]) != 0) r.frames++;
    used_key[all[i].k] = 1;
  }
  /* Strings: "" plus the names of resolved used functions plus class names. */
  char names[NKEYS * 3 + NSTACKS][4];
  size_t lens[NKEYS * 3 + NSTACKS];
  int nn = 0;
  for (int k = 0; k < NKEYS; k++) {
    if (!used_key[k]) continue;
    r.funcs++;
    if (!m->resolved[k]) continue;
    for (int w = 0; w < 3; w++) {
      lens[nn] = name_of((uint8_t)k, w, names[nn]);
      nn++;
    }
  }
  for (int c = 0; c < nklass; c++) lens[nn] = class_name(klass_names[c], names[nn]), nn++;
  r.strings = 1;
  for (int i = 0; i < nn; i++) {
    int dup = lens[i] == 0;
    for (int j = 0; j < i && !dup; j++) dup = lens[j] == lens[i] && memcmp(names[j], names[i], lens[i]) == 0;
    if (!dup) r.strings++;
  }
  return r;
}

/* Is this (dropped) stack still a node, as a suffix of a kept one? */
RMP_FZ_NOCOV static int reached(const mstack *s) {
  uint64_t h = stack_hash(s->fr, 0, s->depth);
  return s->depth == 0 || bsearch(&h, suffix_h, nsuffix_h, sizeof h, u64_cmp) != NULL;
}

static void check_reach(const rmp_stacks *st, const rmp_strtab *strs, reach r) {
  RMP_FZ_CHECK(st->nnodes == r.nodes);
  RMP_FZ_CHECK(st->nframes == r.frames);
  RMP_FZ_CHECK(st->nfuncs == r.funcs);
  RMP_FZ_CHECK(strs->count == r.strings);
}

static void check_watermark(const rmp_stacks *st) {
  RMP_FZ_CHECK(st->first_unresolved <= st->nfuncs);
  for (uint32_t i = 0; i < st->first_unresolved; i++) RMP_FZ_CHECK(st->funcs[i].resolved);
  RMP_FZ_CHECK(st->first_unresolved == st->nfuncs || !st->funcs[st->first_unresolved].resolved);
}

typedef struct key_visit {
  const model *m;
  uint32_t seen;
  uint64_t mask;
} key_visit;

static void visit_key(void *ud, uint64_t key) {
  key_visit *v = (key_visit *)ud;
  int k = key_slot(v->m, key);
  RMP_FZ_CHECK(k >= 0 && !((v->mask >> k) & 1));
  v->mask |= (uint64_t)1 << k;
  v->seen++;
}

static mframe gen_buf[DEEP_DEPTH];
static uint64_t keys_buf[DEEP_DEPTH];
static int lines_buf[DEEP_DEPTH];

/* Builds the next stack from a shape byte and a seed; returns its depth. */
static uint32_t gen_stack(rmp_fz *f, const model *m) {
  uint8_t shape = rmp_fz_u8(f), nk = (uint8_t)(rmp_fz_u8(f) % NKEYS + 1);
  uint64_t seed = rmp_fz_u16(f);
  uint32_t depth = rmp_fz_u16(f) % (MAX_GEN_DEPTH + 1);
  if (shape >= 250) depth = RMP_MAX_DEPTH + shape - 250 * 1 + (uint32_t)(seed % 40);
  const mstack *prev = m->n ? &m->s[seed % m->n] : NULL;
  uint64_t r = seed;
#define NEXT_FRAME(dst)                                          \
  do {                                                           \
    r = rmp_fz_mix(r);                                           \
    (dst).k = (int32_t)(r % nk);                                 \
    (dst).line = line_pool[(r >> 32) % (shape & 8 ? 2 : NLINES)]; \
  } while (0)
  switch (shape % 6) {
  case 0: /* arbitrary frames */
    for (uint32_t i = 0; i < depth; i++) NEXT_FRAME(gen_buf[i]);
    break;
  case 1: /* one frame, repeated */
    NEXT_FRAME(gen_buf[0]);
    for (uint32_t i = 1; i < depth; i++) gen_buf[i] = gen_buf[0];
    break;
  case 2: { /* recursion: a cycle of c frames below a few leaf frames */
    mframe cyc[8];
    uint32_t c = (uint32_t)(seed >> 8) % 8 + 1, leaf = (uint32_t)(seed % 4);
    for (uint32_t i = 0; i < c; i++) NEXT_FRAME(cyc[i]);
    for (uint32_t i = 0; i < depth; i++) {
      if (i < leaf) NEXT_FRAME(gen_buf[i]);
      else gen_buf[i] = cyc[(i - leaf) % c];
    }
    break;
  }
  case 3: /* a known stack called from deeper: new leaf frames on top */
    if (!prev) return 0;
    if (depth + prev->depth > DEEP_DEPTH) depth = DEEP_DEPTH - prev->depth;
    for (uint32_t i = 0; i < depth; i++) NEXT_FRAME(gen_buf[i]);
    memcpy(gen_buf + depth, prev->fr, prev->depth * sizeof(mframe));
    depth += prev->depth;
    break;
  case 4: /* a caller of a known stack: one of its inner trie nodes */
    if (!prev || prev->depth == 0) return 0;
    depth %= prev->depth + 1;
    memcpy(gen_buf, prev->fr + (prev->depth - depth), depth * sizeof(mframe));
    break;
  default: /* a known stack again, perhaps with one frame changed */
    if (!prev) return 0;
    depth = prev->depth;
    memcpy(gen_buf, prev->fr, depth * sizeof(mframe));
    if (depth && (seed & 1)) NEXT_FRAME(gen_buf[(seed >> 1) % depth]);
    break;
  }
#undef NEXT_FRAME
  return depth;
}

static void model_add(model *m, uint32_t id, const mframe *fr, uint32_t depth) {
  for (uint32_t i = 0; i < m->n; i++) {
    if (same_frames(m->s[i].fr, m->s[i].depth, fr, depth)) {
      RMP_FZ_CHECK(m->s[i].id == id); /* identical stacks, identical ids */
      return;
    }
    RMP_FZ_CHECK(m->s[i].id != id);
  }
  if (m->n == NSTACKS) return;
  mstack *s = &m->s[m->n++];
  memset(s, 0, sizeof *s);
  s->id = id;
  s->depth = depth;
  s->tag = ++m->next_tag;
  s->fr = (mframe *)rmp_fz_alloc((depth + 1) * sizeof(mframe));
  if (depth) memcpy(s->fr, fr, depth * sizeof(mframe));
}

static void model_drop(model *m, const int *keep) {
  uint32_t o = 0;
  for (uint32_t i = 0; i < m->n; i++) {
    if (keep[i]) m->s[o++] = m->s[i];
    else free(m->s[i].fr);
  }
  m->n = o;
}

static void check_all(const model *m, const rmp_stacks *st, const rmp_strtab *strs) {
  for (uint32_t i = 0; i < m->n; i++) check_stack(m, st, NULL, m->s[i].id, m->s[i].fr, m->s[i].depth);
  for (uint32_t i = 0; i < st->nfuncs; i++) check_func_names(m, st, strs, i);
  check_watermark(st);
  RMP_FZ_CHECK(st->truncated == m->truncated);
  key_visit v = {m, 0, 0};
  rmp_stacks_each_key(st, visit_key, &v);
  RMP_FZ_CHECK(v.seen == st->nfuncs);
}

/* Names every not-yet-resolved function, as the embedder does after a
 * sample brought new ones. */
static void resolve_new(model *m, rmp_stacks *st, rmp_strtab *strs, uint8_t which) {
  for (uint32_t i = st->first_unresolved; i < st->nfuncs; i++) {
    rmp_func *fn = rmp_func_get(st, i);
    int k = key_slot(m, fn->key);
    RMP_FZ_CHECK(k >= 0);
    if (fn->resolved || ((which >> (k % 8)) & 1)) continue;
    uint32_t ids[3];
    char buf[4];
    for (int w = 0; w < 3; w++) {
      size_t len = name_of((uint8_t)k, w, buf);
      RMP_FZ_CHECK(rmp_strtab_intern(strs, buf, len, &ids[w]) == RMP_OK);
    }
    rmp_func_resolve(st, i, ids[0], ids[1], ids[2], k * 10);
    m->resolved[k] = 1;
  }
}

static mstack *by_tag(model *m, uint64_t tag) {
  for (uint32_t i = 0; i < m->n; i++)
    if (m->s[i].tag == tag) return &m->s[i];
  return NULL;
}

/* Functions the compacted trie lost come back unnamed. */
static void forget_dropped_funcs(model *m, const rmp_stacks *st) {
  for (int k = 0; k < NKEYS; k++) {
    int used = 0;
    for (uint32_t i = 0; i < st->nfuncs; i++) used |= st->funcs[i].key == m->ktab[k];
    if (!used) m->resolved[k] = 0;
  }
}

static void op_intern(rmp_fz *f, model *m, rmp_stacks *st) {
  uint32_t depth = gen_stack(f, m), id = UINT32_MAX;
  for (uint32_t i = 0; i < depth; i++) {
    keys_buf[i] = m->ktab[gen_buf[i].k];
    lines_buf[i] = gen_buf[i].line;
  }
  RMP_FZ_CHECK(rmp_stack_intern(st, keys_buf, lines_buf, depth, &id) == RMP_OK);
  if (depth > RMP_MAX_DEPTH) {
    depth = RMP_MAX_DEPTH; /* the leaf end survives */
    m->truncated++;
  }
  check_stack(m, st, NULL, id, gen_buf, depth);
  if (depth == 0) RMP_FZ_CHECK(id == 0);
  model_add(m, id, gen_buf, depth);
}

/* A function's key object moved: to a fresh key, or (refused) onto the key
 * of another function in the trie. */
static void op_rekey(rmp_fz *f, model *m, rmp_stacks *st) {
  uint32_t fid = rmp_fz_u8(f), other = rmp_fz_u8(f);
  if (st->nfuncs == 0) return;
  fid %= st->nfuncs;
  other %= st->nfuncs;
  int k = key_slot(m, st->funcs[fid].key);
  RMP_FZ_CHECK(k >= 0);
  if (other != fid) {
    RMP_FZ_CHECK(rmp_func_rekey(st, fid, st->funcs[other].key) == RMP_ERR_INVALID);
    return;
  }
  uint64_t nk = UINT64_C(0x5500000000000000) + ++m->next_key * 8;
  RMP_FZ_CHECK(rmp_func_rekey(st, fid, nk) == RMP_OK);
  RMP_FZ_CHECK(st->funcs[fid].key == nk);
  m->ktab[k] = nk;
}

/* The snapshot kept from the last rotation, with the stacks the model held
 * then: each one's id in the snapshot, depth and lines. Keys and names are
 * not compared: rmp_func_rekey and rmp_func_resolve may write them in the
 * shared prefix afterwards (documented), or not once the array moved. */
typedef struct held_snap {
  int on;
  rmp_snapshot snap;
  uint32_t n;
  uint32_t id[NSTACKS], depth[NSTACKS];
  int32_t *lines[NSTACKS];
} held_snap;
static held_snap held;

static void held_check_free(void) {
  if (!held.on) return;
  for (uint32_t i = 0; i < held.n; i++) {
    const rmp_stacks *st = &held.snap.stacks;
    RMP_FZ_CHECK(held.id[i] < st->nnodes);
    RMP_FZ_CHECK(rmp_stack_frames(st, held.id[i], frame_buf, DEEP_DEPTH) == held.depth[i]);
    for (uint32_t j = 0; j < held.depth[i]; j++) RMP_FZ_CHECK(rmp_frame_get(st, frame_buf[j])->line == held.lines[i][j]);
    free(held.lines[i]);
  }
  rmp_snapshot_free(&held.snap);
  held.on = 0;
}

static void held_keep(const model *m, rmp_snapshot *snap) {
  held.snap = *snap;
  held.n = m->n;
  for (uint32_t i = 0; i < m->n; i++) {
    held.id[i] = m->s[i].id;
    held.depth[i] = m->s[i].depth;
    held.lines[i] = (int32_t *)rmp_fz_alloc((m->s[i].depth + 1) * sizeof(int32_t));
    for (uint32_t j = 0; j < m->s[i].depth; j++) held.lines[i][j] = m->s[i].fr[j].line;
  }
  held.on = 1;
}

static void op_compact(rmp_fz *f, model *m, rmp_profiler *p) {
  rmp_stacks *st = &p->stacks;
  /* This replaces the profiler's tables by hand, freeing what a kept
   * snapshot may still read: that one goes first. */
  held_check_free();
  /* The live table and the samples hold ids this renumbers: they die first
   * (rotation, below, is the path that carries them over). */
  for (uint32_t i = 0; i < m->n; i++)
    if (m->s[i].addr) {
      RMP_FZ_CHECK(rmp_live_delete(&p->live, m->s[i].addr) == 1);
      m->s[i].addr = 0;
    }
  RMP_FZ_CHECK(p->live.count == 0);
  rmp_allocs_reset(&p->allocs);
  int keep[NSTACKS] = {0};
  uint64_t sel = rmp_fz_u64(f);
  for (uint32_t i = 0; i < m->n; i++) {
    keep[i] = (int)((sel >> (i % 63)) & 1);
    if (keep[i]) RMP_FZ_CHECK(rmp_stacks_mark(st, m->s[i].id) == RMP_OK);
    if (keep[i] && (sel >> 63)) RMP_FZ_CHECK(rmp_stacks_mark(st, m->s[i].id) == RMP_OK);
  }
  /* Interning between mark and compact is allowed: the new stack is kept
   * only if it is marked too. */
  if ((sel >> 62) & 1) {
    uint32_t before = m->n;
    op_intern(f, m, st);
    if (m->n > before && ((sel >> 61) & 1)) {
      keep[before] = 1;
      RMP_FZ_CHECK(rmp_stacks_mark(st, m->s[before].id) == RMP_OK);
    }
  }
  RMP_FZ_CHECK(rmp_stacks_mark(st, st->nnodes) == RMP_ERR_INVALID);
  reach want = model_reach(m, keep, NULL, 0);
  uint32_t *remap = (uint32_t *)rmp_fz_alloc(st->nnodes * sizeof(uint32_t));
  rmp_stacks out;
  rmp_strtab out_strs;
  RMP_FZ_CHECK(rmp_stacks_compact(st, &p->strings, &out, &out_strs, remap) == RMP_OK);
  RMP_FZ_CHECK(st->marks == NULL);
  check_all(m, st, &p->strings); /* the source is left intact */
  for (uint32_t i = 0; i < m->n; i++) {
    RMP_FZ_CHECK((remap[m->s[i].id] != UINT32_MAX) == (keep[i] || reached(&m->s[i])));
    m->s[i].id = remap[m->s[i].id];
  }
  model_drop(m, keep);
  rmp_stacks_free(st);
  rmp_strtab_free(&p->strings);
  *st = out;
  p->strings = out_strs;
  free(remap);
  check_reach(st, &p->strings, want);
  forget_dropped_funcs(m, st);
  check_all(m, st, &p->strings);
}

static void op_rotate(rmp_fz *f, uint8_t op, model *m, rmp_profiler *p, uintptr_t *next_addr) {
  rmp_stacks *st = &p->stacks;
  uint64_t sel = rmp_fz_u64(f), xsel = rmp_fz_u64(f);
  int keep[NSTACKS] = {0};
  uint8_t klass_names[NSTACKS];
  uint32_t nklass = 0, extra[NSTACKS], nextra = 0, extra_of[NSTACKS], ntracked = 0;
  uint32_t tracked_tag[NSTACKS], tracked_id[NSTACKS];
  for (uint32_t i = 0; i < m->n; i++) {
    mstack *s = &m->s[i];
    int live = (int)((sel >> (i % 32)) & 1), fresh = (int)((sel >> (i % 32 + 32)) & 1);
    if (s->addr && (!live || fresh)) { /* it died (and maybe a new one came) */
      RMP_FZ_CHECK(rmp_live_delete(&p->live, s->addr) == 1);
      s->addr = 0;
    }
    if (live && !s->addr) {
      uint32_t kid;
      char cname[2];
      s->klass = (uint8_t)(rmp_fz_mix(sel + i) % 11);
      size_t len = class_name(s->klass, cname);
      RMP_FZ_CHECK(rmp_strtab_intern(&p->strings, cname, len, &kid) == RMP_OK);
      s->addr = *next_addr += 16;
      /* Rate 1 and a bound far above NSTACKS: every sample is kept. */
      rmp_decision d = rmp_sample_confirm(p);
      RMP_FZ_CHECK(d == (RMP_KEEP_HEAP | RMP_KEEP_ALLOC));
      RMP_FZ_CHECK(rmp_track(p, s->addr, s->id, kid, s->tag, 0, d) == RMP_OK);
      tracked_tag[ntracked] = s->tag;
      tracked_id[ntracked++] = s->id;
    }
    if (s->addr) {
      klass_names[nklass++] = s->klass;
      keep[i] = 1;
    }
    if ((xsel >> (i % 64)) & 1) {
      extra_of[nextra] = i;
      extra[nextra++] = s->id;
      keep[i] = 1;
    }
  }
  reach want = model_reach(m, keep, klass_names, (int)nklass);
  rmp_snapshot snap;
  uint64_t compactions = p->compactions;
  uint32_t nnodes_before = st->nnodes, nstrings_before = p->strings.count;
  held_check_free();
  if (nextra && (op & 0x40)) { /* an out-of-range extra id: refused, nothing changes */
    uint32_t saved = extra[0];
    extra[0] = st->nnodes + (op & 0x3f);
    RMP_FZ_CHECK(rmp_profiler_rotate(p, &snap, extra, nextra, 1, 1) == RMP_ERR_INVALID);
    extra[0] = saved;
    check_all(m, st, &p->strings);
  }
  RMP_FZ_CHECK(rmp_profiler_rotate(p, &snap, extra, nextra, 2, 7) == RMP_OK);
  /* The snapshot holds the old tables intact, under the old ids. */
  check_all(m, &snap.stacks, &snap.strings);
  held_keep(m, &snap); /* the model as the snapshot knows it */
  RMP_FZ_CHECK(snap.nlive == nklass && snap.epoch_now == 7 && snap.end_ns == 2);
  for (uint32_t j = 0; j < snap.nlive; j++) {
    mstack *s = by_tag(m, snap.live[j].size);
    RMP_FZ_CHECK(s && s->addr == snap.live[j].addr && snap.live[j].stack == s->id);
    char cname[2];
    str_eq(&snap.strings, snap.live[j].klass, cname, class_name(s->klass, cname));
  }
  /* Samples since the last rotation, in order, under the ids of the time. */
  RMP_FZ_CHECK(snap.nallocs == ntracked);
  for (uint32_t j = 0; j < snap.nallocs; j++)
    RMP_FZ_CHECK(snap.allocs[j].size == tracked_tag[j] && snap.allocs[j].stack == tracked_id[j]);
  if (p->compactions == compactions) {
    /* Shared, not compacted: same tables, same ids, within the growth
     * allowed since the last compaction. */
    RMP_FZ_CHECK(p->compact_growth > 0);
    RMP_FZ_CHECK(st->nnodes == nnodes_before && p->strings.count == nstrings_before);
    RMP_FZ_CHECK(snap.stacks.nnodes == st->nnodes && snap.stacks.nodes == st->nodes);
    RMP_FZ_CHECK(p->compact_elsewhere ||
                 st->nnodes <= p->kept_nodes + (p->kept_nodes / 2 > 8 ? p->kept_nodes / 2 : 8) + 1);
    for (uint32_t x = 0; x < nextra; x++) RMP_FZ_CHECK(extra[x] == m->s[extra_of[x]].id);
    for (uint32_t j = 0; j < rmp_live_nslots(&p->live); j++) {
      const rmp_live_entry *e = rmp_live_slot(&p->live, j);
      mstack *s2 = e->addr ? by_tag(m, e->size) : NULL;
      RMP_FZ_CHECK(!e->addr || (s2 && s2->id == e->stack));
    }
    check_all(m, st, &p->strings);
    if (!p->compact_elsewhere || !rmp_profiler_compaction_due(p)) return;
    /* As the gem does: begin, stacks interned and function keys rewritten
     * while build runs, finish. Nothing referenced changes meanwhile, so
     * the result must be what a compaction in the rotation would give. */
    rmp_compaction cj;
    RMP_FZ_CHECK(rmp_compaction_begin(p, &cj, extra, nextra) == RMP_OK);
    for (uint8_t k = rmp_fz_u8(f) % 4; k > 0; k--) op_intern(f, m, st);
    RMP_FZ_CHECK(rmp_compaction_build(&cj) == RMP_OK);
    for (uint8_t k = rmp_fz_u8(f) % 4; k > 0; k--) {
      if (k & 1) op_intern(f, m, st);
      else op_rekey(f, m, st);
    }
    RMP_FZ_CHECK(rmp_compaction_finish(p, &cj, extra, nextra) == RMP_OK);
    rmp_compaction_free(&cj);
    RMP_FZ_CHECK(p->compactions == compactions + 1);
  }
  /* The profiler holds exactly what its live objects and the extras reach. */
  for (uint32_t i = 0; i < m->n; i++) m->s[i].new_id = UINT32_MAX;
  for (uint32_t j = 0; j < rmp_live_nslots(&p->live); j++) {
    const rmp_live_entry *e = rmp_live_slot(&p->live, j);
    if (!e->addr) continue;
    mstack *s = by_tag(m, e->size);
    RMP_FZ_CHECK(s && s->addr == e->addr && s->new_id == UINT32_MAX);
    s->new_id = e->stack;
    char cname[2];
    str_eq(&p->strings, e->klass, cname, class_name(s->klass, cname));
  }
  for (uint32_t x = 0; x < nextra; x++) {
    mstack *s = &m->s[extra_of[x]];
    RMP_FZ_CHECK(s->new_id == UINT32_MAX || s->new_id == extra[x]);
    s->new_id = extra[x];
  }
  for (uint32_t i = 0; i < m->n; i++)
    if (keep[i]) m->s[i].id = m->s[i].new_id;
  model_drop(m, keep);
  check_reach(st, &p->strings, want);
  forget_dropped_funcs(m, st);
  check_all(m, st, &p->strings);
  if (p->compact_growth <= 0) held_check_free();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rmp_fz f = {data, size};
  static model m;
  rmp_profiler p;
  rmp_config cfg;
  memset(&m, 0, sizeof m);
  for (int k = 0; k < NKEYS; k++) m.ktab[k] = k == 0 ? 0 : UINT64_C(0x7f0000000000) + (uint64_t)k * 40;
  rmp_config_default(&cfg);
  if (size % 2) cfg.compact_growth = 0.5;
  RMP_FZ_CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  p.compact_elsewhere = size % 4 == 3;
  uintptr_t next_addr = 0x1000;
  while (rmp_fz_more(&f)) {
    uint8_t op = rmp_fz_u8(&f);
    switch (op % 6) {
    case 0:
    case 1: op_intern(&f, &m, &p.stacks); break;
    case 2: resolve_new(&m, &p.stacks, &p.strings, rmp_fz_u8(&f)); break;
    case 3: op_rekey(&f, &m, &p.stacks); break;
    case 4: op_compact(&f, &m, &p); break;
    default: op_rotate(&f, op, &m, &p, &next_addr); break;
    }
  }
  check_all(&m, &p.stacks, &p.strings);
  for (uint32_t i = 0; i < m.n; i++) free(m.s[i].fr);
  rmp_profiler_free(&p);
  held_check_free(); /* it outlives the profiler */
  return 0;
}
