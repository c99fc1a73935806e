/* Randomized differential test of the stack trie (rmp_stacks) against a
 * model trie kept by the test: model node = (parent, key slot, line), found
 * through a plain hash map. Stacks (depth 0-300, recursion, shared prefixes,
 * keys from a pool of 24) are interned and every returned id is walked back
 * and compared frame by frame. Node, frame and function counts must equal
 * the model's (no duplicates, nothing missing). Periodically a random subset
 * is marked and compacted; kept ids (through remap) must decode the same,
 * with the same names, dropped ones be gone, and the counts be exactly the
 * distinct prefixes / frames / keys of the kept stacks. Function keys are
 * also rewritten (rmp_func_rekey) now and then.
 * Usage: test_diff_stacks [ops] (default 1e6). */
#include <string.h>

#include "check.h"
#include "rmp.h"

#define NKEYS 24
#define NLINES 16 /* lines -2 .. 13 */
#define MAXDEPTH 300
#define NRECENT 256
#define COMPACT_EVERY 5000
#define NONE UINT32_MAX

typedef struct mnode {
  uint32_t parent;
  uint32_t slot;
  int32_t line;
  uint32_t rid; /* rmp id, once an intern returned it; NONE before */
} mnode;

static mnode *mn;
static uint32_t nmn, mn_cap;
static uint32_t *mh, mh_mask; /* (parent, slot, line) -> model node + 1 */
static uint32_t *r2m, r2m_cap; /* rmp id -> model node, NONE if unknown */
static uint64_t keypool[NKEYS];

static uint64_t mhash(uint32_t parent, uint32_t slot, int32_t line) {
  uint64_t x = ((uint64_t)parent << 32) ^ ((uint64_t)slot << 16) ^ (uint32_t)(line + 1000);
  x *= UINT64_C(0xff51afd7ed558ccd);
  return x ^ (x >> 29);
}

static void model_reset(void) {
  nmn = 1;
  mn[0].parent = NONE;
  mn[0].slot = NONE;
  mn[0].line = 0;
  mn[0].rid = 0;
  memset(mh, 0, sizeof(uint32_t) * (mh_mask + 1));
  for (uint32_t i = 0; i < r2m_cap; i++) r2m[i] = NONE;
  r2m[0] = 0;
}

static void mh_insert(uint32_t node) {
  uint32_t i = (uint32_t)mhash(mn[node].parent, mn[node].slot, mn[node].line) & mh_mask;
  while (mh[i]) i = (i + 1) & mh_mask;
  mh[i] = node + 1;
}

static uint32_t model_child(uint32_t parent, uint32_t slot, int32_t line) {
  uint32_t i = (uint32_t)mhash(parent, slot, line) & mh_mask;
  for (;; i = (i + 1) & mh_mask) {
    uint32_t v = mh[i];
    if (!v) break;
    if (mn[v - 1].parent == parent && mn[v - 1].slot == slot && mn[v - 1].line == line) return v - 1;
  }
  if (nmn == mn_cap) {
    mn_cap *= 2;
    mn = (mnode *)realloc(mn, sizeof(mnode) * mn_cap);
    CHECK(mn != NULL);
  }
  if ((uint64_t)(nmn + 1) * 2 > mh_mask + 1) {
    free(mh);
    mh_mask = mh_mask * 2 + 1;
    mh = (uint32_t *)calloc(mh_mask + 1, sizeof(uint32_t));
    CHECK(mh != NULL);
    for (uint32_t n = 1; n < nmn; n++) mh_insert(n);
  }
  mn[nmn].parent = parent;
  mn[nmn].slot = slot;
  mn[nmn].line = line;
  mn[nmn].rid = NONE;
  mh_insert(nmn);
  return nmn++;
}

static void r2m_set(uint32_t rid, uint32_t m) {
  if (rid >= r2m_cap) {
    uint32_t old = r2m_cap;
    while (rid >= r2m_cap) r2m_cap *= 2;
    r2m = (uint32_t *)realloc(r2m, sizeof(uint32_t) * r2m_cap);
    CHECK(r2m != NULL);
    for (uint32_t i = old; i < r2m_cap; i++) r2m[i] = NONE;
  }
  r2m[rid] = m;
}

/* A test stack, leaf first, as key-pool slots and lines. */
typedef struct tstack {
  uint8_t slot[MAXDEPTH];
  int8_t line[MAXDEPTH];
  int depth;
} tstack;

static tstack recent[NRECENT];

static void random_frames(rmpt_rand *r, tstack *s, int from, int to) {
  /* Mostly straight-line code, sometimes a recursive run of a 1-3 frame
   * pattern, drawn from a small pool so frames repeat across stacks. */
  int i = from;
  while (i < to) {
    if (rmpt_below(r, 5) == 0 && i > from) {
      int period = 1 + (int)rmpt_below(r, 3), reps = 2 + (int)rmpt_below(r, 20);
      for (int k = 0; k < period * reps && i < to; k++, i++) {
        int src = i - period >= from ? i - period : from;
        s->slot[i] = s->slot[src];
        s->line[i] = s->line[src];
      }
    } else {
      s->slot[i] = (uint8_t)rmpt_below(r, NKEYS);
      s->line[i] = (int8_t)((int)rmpt_below(r, NLINES) - 2);
      i++;
    }
  }
}

static int random_depth(rmpt_rand *r) {
  uint32_t x = rmpt_below(r, 100);
  if (x < 3) return 0;
  if (x < 70) return 1 + (int)rmpt_below(r, 20);
  if (x < 95) return 20 + (int)rmpt_below(r, 81);
  return 100 + (int)rmpt_below(r, MAXDEPTH - 99);
}

/* Builds the next stack to intern: a repeat, a variation, or a new one. */
static void next_stack(rmpt_rand *r, tstack *s) {
  uint32_t x = rmpt_below(r, 100);
  tstack *base = &recent[rmpt_below(r, NRECENT)];
  if (x < 55) {
    *s = *base;
    return;
  }
  if (x < 90) {
    *s = *base;
    switch (rmpt_below(r, 5)) {
    case 0: /* another line in one frame */
      if (s->depth) s->line[rmpt_below(r, (uint32_t)s->depth)] = (int8_t)((int)rmpt_below(r, NLINES) - 2);
      break;
    case 1: { /* deeper: callees pushed at the leaf end */
      int add = 1 + (int)rmpt_below(r, 8);
      if (s->depth + add > MAXDEPTH) add = MAXDEPTH - s->depth;
      memmove(s->slot + add, s->slot, (size_t)s->depth);
      memmove(s->line + add, s->line, (size_t)s->depth);
      tstack t;
      t.depth = add;
      random_frames(r, &t, 0, add);
      memcpy(s->slot, t.slot, (size_t)add);
      memcpy(s->line, t.line, (size_t)add);
      s->depth += add;
      break;
    }
    case 2: { /* the caller's stack: leaf frames popped */
      int pop = (int)rmpt_below(r, 8);
      if (pop > s->depth) pop = s->depth;
      memmove(s->slot, s->slot + pop, (size_t)(s->depth - pop));
      memmove(s->line, s->line + pop, (size_t)(s->depth - pop));
      s->depth -= pop;
      break;
    }
    case 3: /* a different root end: another thread's entry point */
      if (s->depth) {
        int keep = (int)rmpt_below(r, (uint32_t)s->depth);
        random_frames(r, s, keep, s->depth);
      }
      break;
    default: { /* a different leaf end over the same callers */
      int d = s->depth ? (int)rmpt_below(r, (uint32_t)s->depth) + 1 : 0;
      random_frames(r, s, 0, d);
      break;
    }
    }
  } else {
    s->depth = random_depth(r);
    random_frames(r, s, 0, s->depth);
  }
  if (rmpt_below(r, 2)) *base = *s;
}

typedef struct counts {
  uint8_t func[NKEYS];
  uint8_t frame[NKEYS][NLINES];
} counts;

/* Which functions / frames the model nodes in use (node i counts when
 * use[i] is nonzero; NULL means all). Returns distinct funcs, frames. */
static void model_usage(const uint8_t *use, counts *c, uint32_t *nf, uint32_t *nfr) {
  memset(c, 0, sizeof *c);
  *nf = *nfr = 0;
  for (uint32_t i = 1; i < nmn; i++) {
    if (use && !use[i]) continue;
    if (!c->func[mn[i].slot]) (*nf)++;
    if (!c->frame[mn[i].slot][mn[i].line + 2]) (*nfr)++;
    c->func[mn[i].slot] = 1;
    c->frame[mn[i].slot][mn[i].line + 2] = 1;
  }
}

static uint32_t fids[MAXDEPTH + 1];

/* Stack id decodes to exactly s (raw keys through keypool). */
static void expect_decode(const rmp_stacks *st, uint32_t id, const tstack *s) {
  CHECK(id < st->nnodes);
  CHECKF(rmp_stack_frames(st, id, fids, MAXDEPTH + 1) == (uint32_t)s->depth, "id %u depth", id);
  for (int i = 0; i < s->depth; i++) {
    const rmp_frame *f = rmp_frame_get(st, fids[i]);
    CHECKF(rmp_func_get(st, f->func)->key == keypool[s->slot[i]] && f->line == s->line[i], "id %u frame %d", id,
           i);
  }
}

/* Model node m decodes from rmp id `id` in st (walking model parents). */
static void expect_decode_model(const rmp_stacks *st, uint32_t id, uint32_t m) {
  uint32_t d = rmp_stack_frames(st, id, fids, MAXDEPTH + 1), i = 0;
  for (; m != 0; m = mn[m].parent, i++) {
    CHECK(i < d);
    const rmp_frame *f = rmp_frame_get(st, fids[i]);
    CHECK(rmp_func_get(st, f->func)->key == keypool[mn[m].slot] && f->line == mn[m].line);
  }
  CHECK(i == d);
}

static uint32_t func_of_key(const rmp_stacks *st, uint64_t key) {
  for (uint32_t i = 0; i < st->nfuncs; i++)
    if (st->funcs[i].key == key) return i;
  return NONE;
}

/* Gives every new function names, except those of slots = 0 mod 5, which
 * stay unresolved (an embedder that could not name them). */
static void resolve_new(rmp_stacks *st, rmp_strtab *strs, rmpt_rand *r) {
  for (uint32_t i = st->first_unresolved; i < st->nfuncs; i++) {
    rmp_func *f = rmp_func_get(st, i);
    char name[64], file[64];
    uint32_t a, b, c;
    int slot = -1;
    if (f->resolved) continue;
    for (int k = 0; k < NKEYS; k++)
      if (keypool[k] == f->key) slot = k;
    CHECK(slot >= 0);
    if (slot % 5 == 0) continue;
    snprintf(name, sizeof name, "m%d_%u", slot, rmpt_below(r, 4));
    snprintf(file, sizeof file, "f%d.rb", slot % 7);
    CHECK(rmp_strtab_intern_cstr(strs, name, &a) == RMP_OK);
    CHECK(rmp_strtab_intern_cstr(strs, "Klass#meth", &b) == RMP_OK);
    CHECK(rmp_strtab_intern_cstr(strs, file, &c) == RMP_OK);
    rmp_func_resolve(st, i, a, b, c, slot * 10);
  }
}

static int same_str(const rmp_strtab *a, uint32_t ia, const rmp_strtab *b, uint32_t ib) {
  size_t la, lb;
  const char *sa = rmp_strtab_get(a, ia, &la), *sb = rmp_strtab_get(b, ib, &lb);
  return la == lb && memcmp(sa, sb, la) == 0;
}

static void compact(rmpt_rand *r, rmp_stacks *st, rmp_strtab *strs, long *n_kept, long *n_dropped) {
  /* per mille of interned stacks to mark; sometimes almost none, which
   * drops most functions */
  uint32_t q = rmpt_below(r, 4) ? rmpt_below(r, 600) : rmpt_below(r, 3);
  uint8_t *use = (uint8_t *)calloc(nmn, 1), *marked = (uint8_t *)calloc(nmn, 1);
  uint32_t *remap = (uint32_t *)malloc(sizeof(uint32_t) * st->nnodes);
  CHECK(use && marked && remap);
  use[0] = 1;
  for (uint32_t m = 1; m < nmn; m++) {
    if (mn[m].rid == NONE || rmpt_below(r, 1000) >= q) continue;
    CHECK(rmp_stacks_mark(st, mn[m].rid) == RMP_OK);
    marked[m] = 1;
    for (uint32_t a = m; !use[a]; a = mn[a].parent) use[a] = 1;
  }
  if (rmpt_below(r, 2)) CHECK(rmp_stacks_mark(st, 0) == RMP_OK);
  uint32_t kept = 0;
  for (uint32_t m = 0; m < nmn; m++) kept += use[m];
  counts c;
  uint32_t want_funcs, want_frames;
  model_usage(use, &c, &want_funcs, &want_frames);

  rmp_stacks out;
  rmp_strtab ostrs;
  uint32_t old_nnodes = st->nnodes;
  CHECK(rmp_stacks_compact(st, strs, &out, &ostrs, remap) == RMP_OK);
  CHECKF(out.nnodes == kept, "%u nodes kept, model says %u", out.nnodes, kept);
  CHECK(out.nfuncs == want_funcs && out.nframes == want_frames);
  uint32_t nonmax = 0;
  for (uint32_t i = 0; i < old_nnodes; i++) nonmax += remap[i] != NONE;
  CHECK(nonmax == kept && remap[0] == 0);
  for (uint32_t m = 1; m < nmn; m++) {
    if (mn[m].rid == NONE) continue;
    if (use[m]) {
      CHECK(remap[mn[m].rid] != NONE);
      expect_decode_model(&out, remap[mn[m].rid], m);
    } else {
      CHECK(remap[mn[m].rid] == NONE);
    }
  }
  /* Functions: same keys, same resolution, same name strings; and the new
   * string table holds exactly the names in use. */
  uint8_t *used_str = (uint8_t *)calloc(strs->count, 1);
  uint32_t want_strings = 1;
  CHECK(used_str != NULL);
  used_str[0] = 1;
  for (uint32_t i = 0; i < out.nfuncs; i++) {
    const rmp_func *nf = rmp_func_get(&out, i);
    uint32_t of = func_of_key(st, nf->key);
    CHECK(of != NONE);
    const rmp_func *f = rmp_func_get(st, of);
    CHECK(!nf->resolved == !f->resolved);
    if (!f->resolved) continue;
    CHECK(same_str(strs, f->name, &ostrs, nf->name) && same_str(strs, f->system_name, &ostrs, nf->system_name) &&
          same_str(strs, f->file, &ostrs, nf->file) && nf->start_line == f->start_line);
    uint32_t ids[3] = {f->name, f->system_name, f->file};
    for (int k = 0; k < 3; k++)
      if (!used_str[ids[k]]) {
        used_str[ids[k]] = 1;
        want_strings++;
      }
  }
  CHECK(ostrs.count == want_strings);
  for (uint32_t i = 0; i < out.first_unresolved; i++) CHECK(rmp_func_get(&out, i)->resolved);
  free(used_str);

  /* Carry on with the compacted trie; rebuild the model from kept nodes. */
  mnode *old = (mnode *)malloc(sizeof(mnode) * nmn);
  uint32_t *newid = (uint32_t *)malloc(sizeof(uint32_t) * nmn), old_n = nmn;
  CHECK(old && newid);
  memcpy(old, mn, sizeof(mnode) * nmn);
  model_reset();
  newid[0] = 0;
  for (uint32_t m = 1; m < old_n; m++) {
    if (!use[m]) {
      (*n_dropped)++;
      continue;
    }
    (*n_kept)++;
    newid[m] = model_child(newid[old[m].parent], old[m].slot, old[m].line);
    if (old[m].rid != NONE) {
      mn[newid[m]].rid = remap[old[m].rid];
      r2m_set(remap[old[m].rid], newid[m]);
    }
  }
  CHECK(nmn == kept);
  free(old);
  free(newid);
  free(use);
  free(marked);
  free(remap);
  rmp_stacks_free(st);
  rmp_strtab_free(strs);
  *st = out;
  *strs = ostrs;
}

static rmp_stacks st;
static rmp_strtab strs;
static long n_new, frames_total;

/* Interns s and checks the id against the model and by decoding it. */
static void intern_and_check(rmpt_rand *r, rmp_stacks *stp, rmp_strtab *strp, const tstack *s) {
  static uint64_t keys[MAXDEPTH];
  static int lines[MAXDEPTH];
  uint32_t m = 0, id = NONE;
  for (int i = s->depth - 1; i >= 0; i--) m = model_child(m, s->slot[i], s->line[i]);
  for (int i = 0; i < s->depth; i++) {
    keys[i] = keypool[s->slot[i]];
    lines[i] = s->line[i];
  }
  CHECK(rmp_stack_intern(stp, keys, lines, (size_t)s->depth, &id) == RMP_OK);
  frames_total += s->depth;
  if (mn[m].rid == NONE) {
    CHECKF(id >= r2m_cap || r2m[id] == NONE, "id %u returned for two different stacks", id);
    mn[m].rid = id;
    r2m_set(id, m);
    n_new++;
  } else {
    CHECKF(mn[m].rid == id, "same stack, id %u then %u", mn[m].rid, id);
  }
  expect_decode(stp, id, s);
  resolve_new(stp, strp, r);
}

static long n_reuse;

/* k is a caller (not the leaf) in t, and m does not occur in t at all. */
static int through_k_not_m(const tstack *t, int k, int m) {
  int has = 0;
  for (int i = 0; i < t->depth; i++) {
    if (t->slot[i] == m) return 0;
    has |= i > 0 && t->slot[i] == k;
  }
  return has;
}

/* An object behind a key moved (rmp_func_rekey). When reuse is set the old
 * address is then taken by a new function, given to a slot that has no
 * function in the trie: ids interned before must not be handed out for it. */
static void rekey(rmpt_rand *r, rmp_stacks *st, int reuse) {
  int k = (int)rmpt_below(r, NKEYS), m = -1;
  uint64_t nk = rmpt_next(r) & ~UINT64_C(7), old_key = keypool[k];
  uint32_t f;
  if (reuse) {
    for (int j = 0; j < NKEYS && m < 0; j++)
      if (j != k && func_of_key(st, keypool[j]) == NONE) m = j;
    /* recent stacks through k, put in the stack cache under the old key */
    for (int j = 0, done = 0; m >= 0 && j < NRECENT && done < 16; j++)
      if (through_k_not_m(&recent[j], k, m)) {
        intern_and_check(r, st, &strs, &recent[j]);
        done++;
      }
  }
  f = func_of_key(st, keypool[k]);
  if (f != NONE) {
    int other = (int)rmpt_below(r, NKEYS);
    if (other != k && func_of_key(st, keypool[other]) != NONE) {
      CHECK(rmp_func_rekey(st, f, keypool[other]) == RMP_ERR_INVALID);
      CHECK(st->funcs[f].key == keypool[k]);
    }
    CHECK(rmp_func_rekey(st, f, nk) == RMP_OK);
    CHECK(st->funcs[f].key == nk);
  }
  keypool[k] = nk;
  if (m < 0) return;
  /* The old address now belongs to a new function (slot m), which shows up
   * where the old one was: the same raw key sequences, now meaning other
   * stacks. A stack cache still keyed by the old key would return old ids. */
  keypool[m] = old_key;
  n_reuse++;
  for (int j = 0, done = 0; j < NRECENT && done < 16; j++) {
    tstack *t = &recent[j];
    if (!through_k_not_m(t, k, m)) continue;
    for (int i = 0; i < t->depth; i++)
      if (t->slot[i] == k) t->slot[i] = (uint8_t)m;
    intern_and_check(r, st, &strs, t);
    done++;
  }
}

int main(int argc, char **argv) {
  long ops = rmpt_ops_arg(argc, argv, 1000000);
  rmpt_rand r = {0x57AC4};
  static tstack s;
  long n_rekey = 0, n_compact = 0, n_kept = 0, n_dropped = 0;

  mn_cap = 1024;
  mn = (mnode *)malloc(sizeof(mnode) * mn_cap);
  mh_mask = 2047;
  mh = (uint32_t *)calloc(mh_mask + 1, sizeof(uint32_t));
  r2m_cap = 1024;
  r2m = (uint32_t *)malloc(sizeof(uint32_t) * r2m_cap);
  CHECK(mn && mh && r2m);
  model_reset();
  for (int k = 0; k < NKEYS; k++) keypool[k] = rmpt_next(&r) & ~UINT64_C(7);
  keypool[0] = 0; /* 0 is as good a key as any */
  for (int i = 0; i < NRECENT; i++) {
    recent[i].depth = random_depth(&r);
    random_frames(&r, &recent[i], 0, recent[i].depth);
  }
  CHECK(rmp_stacks_init(&st) == RMP_OK);
  CHECK(rmp_strtab_init(&strs) == RMP_OK);

  for (long op = 0; op < ops; op++) {
    uint32_t kind = rmpt_below(&r, 1000);
    if (kind < 994) { /* intern */
      next_stack(&r, &s);
      intern_and_check(&r, &st, &strs, &s);
    } else if (kind < 999) { /* an object behind a key moved: rekey it */
      rekey(&r, &st, 0);
      n_rekey++;
    } else { /* old ids still decode after rekeys and growth (a sample) */
      for (int k = 0; k < 256; k++) {
        uint32_t m = rmpt_below(&r, nmn);
        if (mn[m].rid != NONE) expect_decode_model(&st, mn[m].rid, m);
      }
    }
    CHECKF(st.nnodes == nmn, "op %ld: rmp has %u nodes, model %u", op, st.nnodes, nmn);
    if ((op & 1023) == 0) {
      counts c;
      uint32_t nf, nfr;
      model_usage(NULL, &c, &nf, &nfr);
      CHECK(st.nfuncs == nf && st.nframes == nfr && st.truncated == 0);
    }
    if (op % COMPACT_EVERY == COMPACT_EVERY - 1) {
      compact(&r, &st, &strs, &n_kept, &n_dropped);
      n_compact++;
      rekey(&r, &st, 1); /* compaction leaves slots without functions */
      n_rekey++;
    }
  }
  printf("stacks: %ld ops (%ld distinct stacks, %ld frames interned, %ld rekeys, %ld compactions keeping %ld "
         "and dropping %ld nodes, %ld old keys reused), final %u nodes %u funcs %u frames\n",
         ops, n_new, frames_total, n_rekey, n_compact, n_kept, n_dropped, n_reuse, st.nnodes, st.nfuncs, st.nframes);
  CHECK(n_compact > 0 && n_dropped > 0 && n_kept > 0 && n_reuse > 0);
  rmp_stacks_free(&st);
  rmp_strtab_free(&strs);
  free(mn);
  free(mh);
  free(r2m);
  return 0;
}
