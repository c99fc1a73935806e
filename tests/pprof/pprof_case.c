#include "pprof_case.h"

#include <math.h>
#include <string.h>

#define PC_GROW(arr, n, cap)                                                         \
  do {                                                                               \
    if ((n) == (cap)) {                                                              \
      (cap) = (cap) ? (cap) * 2 : 16;                                                \
      (arr) = realloc((arr), (cap) * sizeof(*(arr)));                                \
      PC_CHECK((arr) != NULL);                                                       \
    }                                                                                \
  } while (0)

static pc_bytes pc_dup(const char *p, size_t n) {
  pc_bytes b;
  b.p = (char *)malloc(n + 1);
  PC_CHECK(b.p != NULL);
  if (n) memcpy(b.p, p, n);
  b.p[n] = 0;
  b.n = n;
  return b;
}

void pc_bytes_append(pc_bytes *b, const void *p, size_t n) {
  b->p = (char *)realloc(b->p, b->n + n + 1);
  PC_CHECK(b->p != NULL);
  if (n) memcpy(b->p + b->n, p, n);
  b->n += n;
}

int pc_bytes_cmp(const pc_bytes *a, const pc_bytes *b) {
  size_t n = a->n < b->n ? a->n : b->n;
  int r = n ? memcmp(a->p, b->p, n) : 0;
  if (r) return r;
  return a->n < b->n ? -1 : a->n > b->n;
}

static void pc_key_field(pc_bytes *key, const void *p, size_t n) {
  uint64_t len = n;
  pc_bytes_append(key, &len, sizeof len);
  pc_bytes_append(key, p, n);
}

void pc_key_frame(pc_bytes *key, const pc_bytes *name, const pc_bytes *file, const pc_bytes *sys,
                  int64_t start_line, int64_t line) {
  pc_key_field(key, "F", 1);
  pc_key_field(key, name->p, name->n);
  pc_key_field(key, file->p, file->n);
  pc_key_field(key, sys->p, sys->n);
  pc_key_field(key, &start_line, sizeof start_line);
  pc_key_field(key, &line, sizeof line);
}

void pc_key_tail(pc_bytes *key, const pc_bytes *klass, int has_class, int64_t age) {
  pc_key_field(key, "C", 1);
  if (has_class) pc_key_field(key, klass->p, klass->n);
  pc_key_field(key, "A", 1);
  pc_key_field(key, &age, sizeof age);
}

void pc_init(pc_case *c, const char *name, double rate, double retain, uint32_t max_heap,
             uint32_t max_allocs) {
  rmp_config cfg;
  memset(c, 0, sizeof *c);
  c->name = name;
  rmp_config_default(&cfg);
  cfg.sample_rate = rate;
  cfg.retain_rate = retain;
  cfg.max_heap_samples = max_heap;
  cfg.max_alloc_samples = max_allocs;
  cfg.seed = 42;
  PC_CHECK(rmp_profiler_init(&c->p, &cfg) == RMP_OK);
  c->next_addr = 0x10000;
  c->rate = rate;
  c->retain = retain;
  c->max_allocs = max_allocs;
}

int pc_func_add(pc_case *c, const char *name, size_t nlen, const char *file, size_t flen,
                const char *sys, int start_line) {
  pc_func *f;
  PC_GROW(c->funcs, c->nfuncs, c->cfuncs);
  f = &c->funcs[c->nfuncs];
  f->name = pc_dup(name, nlen);
  f->file = pc_dup(file, flen);
  f->want_name = pc_dup(name, nlen);
  f->want_file = pc_dup(file, flen);
  f->sys = sys;
  f->start_line = start_line;
  return (int)c->nfuncs++;
}

void pc_func_want(pc_case *c, int f, const char *name, size_t nlen, const char *file, size_t flen) {
  free(c->funcs[f].want_name.p);
  free(c->funcs[f].want_file.p);
  c->funcs[f].want_name = pc_dup(name, nlen);
  c->funcs[f].want_file = pc_dup(file, flen);
}

int pc_class_add(pc_case *c, const char *name, size_t len) {
  pc_class *k;
  PC_GROW(c->classes, c->nclasses, c->cclasses);
  k = &c->classes[c->nclasses];
  k->name = pc_dup(name, len);
  k->want = pc_dup(name, len);
  PC_CHECK(rmp_strtab_intern(&c->p.strings, name, len, &k->id) == RMP_OK);
  return (int)c->nclasses++;
}

void pc_class_want(pc_case *c, int k, const char *want, size_t len) {
  free(c->classes[k].want.p);
  c->classes[k].want = pc_dup(want, len);
}

int pc_stack_add(pc_case *c, const int *funcs, const int *lines, uint32_t depth) {
  pc_stack *s;
  uint64_t *keys = (uint64_t *)malloc(sizeof(uint64_t) * (depth + 1));
  uint32_t i, f;
  PC_CHECK(keys != NULL);
  PC_GROW(c->stacks, c->nstacks, c->cstacks);
  s = &c->stacks[c->nstacks];
  s->depth = depth;
  s->funcs = (int *)malloc(sizeof(int) * (depth + 1));
  s->lines = (int *)malloc(sizeof(int) * (depth + 1));
  PC_CHECK(s->funcs && s->lines);
  for (i = 0; i < depth; i++) {
    s->funcs[i] = funcs[i];
    s->lines[i] = lines[i];
    keys[i] = (uint64_t)funcs[i] + 1; /* the frame key: our function index + 1 */
  }
  if (depth == 0) {
    s->id = 0;
  } else {
    PC_CHECK(rmp_stack_intern(&c->p.stacks, keys, lines, depth, &s->id) == RMP_OK);
  }
  free(keys);
  /* Name every function the profiler saw for the first time, as an
   * embedder does after interning. */
  for (f = c->p.stacks.first_unresolved; f < c->p.stacks.nfuncs; f++) {
    rmp_func *fn = rmp_func_get(&c->p.stacks, f);
    const pc_func *pf;
    uint32_t name, sys, file;
    if (fn->resolved) continue;
    PC_CHECK(fn->key >= 1 && fn->key <= c->nfuncs);
    pf = &c->funcs[fn->key - 1];
    PC_CHECK(rmp_strtab_intern(&c->p.strings, pf->name.p, pf->name.n, &name) == RMP_OK);
    PC_CHECK(rmp_strtab_intern_cstr(&c->p.strings, pf->sys, &sys) == RMP_OK);
    PC_CHECK(rmp_strtab_intern(&c->p.strings, pf->file.p, pf->file.n, &file) == RMP_OK);
    rmp_func_resolve(&c->p.stacks, f, name, sys, file, pf->start_line);
  }
  return (int)c->nstacks++;
}

size_t pc_track(pc_case *c, int stack, int klass, uint64_t size, uint32_t epoch) {
  pc_rec *r;
  rmp_decision d;
  uint64_t seen0 = c->p.allocs.seen, thin0 = c->p.heap_thinnings;
  size_t i;
  PC_GROW(c->recs, c->nrecs, c->crecs);
  r = &c->recs[c->nrecs];
  memset(r, 0, sizeof *r);
  r->stack = stack;
  r->klass = klass;
  r->size = size;
  r->epoch = epoch;
  r->addr = c->next_addr;
  c->next_addr += 64;
  d = rmp_sample_confirm(&c->p);
  c->candidates += c->p.allocs.seen - seen0;
  r->heap = (d & RMP_KEEP_HEAP) != 0;
  r->alloc = (d & RMP_KEEP_ALLOC) != 0;
  r->k_dec = c->k;
  if (c->k == 0) PC_CHECK(r->heap || c->rate == 0.0);
  if (r->heap) PC_CHECK(RMP_DECISION_KEEP_LOG2(d) == c->k);
  if (d) PC_CHECK(rmp_track(&c->p, r->addr, c->stacks[stack].id, c->classes[klass].id, size, epoch, d) == RMP_OK);
  if (c->p.heap_thinnings != thin0) {
    /* The table was full and thinned: which of ours survived. */
    c->k += (uint32_t)(c->p.heap_thinnings - thin0);
    c->thinnings = c->p.heap_thinnings;
    for (i = 0; i < c->nrecs; i++)
      if (c->recs[i].live) c->recs[i].live = rmp_live_lookup(&c->p.live, c->recs[i].addr) != NULL;
  }
  r->live = r->heap;
  r->thin_ins = c->thinnings;
  if (r->live) PC_CHECK(rmp_live_lookup(&c->p.live, r->addr) != NULL);
  PC_CHECK(c->p.live.count <= c->p.live.max && c->p.live.dropped == 0);
  return c->nrecs++;
}

void pc_kill(pc_case *c, size_t rec) {
  if (c->recs[rec].live) {
    PC_CHECK(rmp_live_delete(&c->p.live, c->recs[rec].addr) == 1);
    c->recs[rec].live = 0;
  }
}

void pc_rotate(pc_case *c, uint64_t start_ns, uint64_t end_ns, uint32_t epoch_now) {
  c->p.interval_start_ns = start_ns;
  c->start_ns = start_ns;
  c->end_ns = end_ns;
  c->epoch_now = epoch_now;
  PC_CHECK(rmp_profiler_rotate(&c->p, &c->snap, NULL, 0, end_ns, epoch_now) == RMP_OK);
  c->rotated = 1;
}

void pc_free(pc_case *c) {
  size_t i;
  if (c->rotated) rmp_snapshot_free(&c->snap);
  rmp_profiler_free(&c->p);
  for (i = 0; i < c->nfuncs; i++) {
    free(c->funcs[i].name.p);
    free(c->funcs[i].file.p);
    free(c->funcs[i].want_name.p);
    free(c->funcs[i].want_file.p);
  }
  for (i = 0; i < c->nstacks; i++) {
    free(c->stacks[i].funcs);
    free(c->stacks[i].lines);
  }
  for (i = 0; i < c->nclasses; i++) {
    free(c->classes[i].name.p);
    free(c->classes[i].want.p);
  }
  free(c->funcs);
  free(c->stacks);
  free(c->classes);
  free(c->recs);
  memset(c, 0, sizeof *c);
}

static uint64_t pc_rand(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

void pc_build_random(pc_case *c, const char *name, double rate, double retain, int nfuncs,
                     int nstacks, int maxdepth, int nclasses, size_t nobj, uint64_t seed) {
  int i, *fs = (int *)malloc(sizeof(int) * (size_t)maxdepth);
  int *ls = (int *)malloc(sizeof(int) * (size_t)maxdepth);
  uint64_t rs = seed;
  size_t k;
  char buf[64], file[64];
  PC_CHECK(fs && ls);
  pc_init(c, name, rate, retain, (uint32_t)nobj + 16, (uint32_t)nobj + 16);
  for (i = 0; i < nfuncs; i++) {
    int nl = snprintf(buf, sizeof buf, "Mod%d#meth_%d", i % 7, i);
    int fl = snprintf(file, sizeof file, "/app/lib/mod%d.rb", i % 13);
    pc_func_add(c, buf, (size_t)nl, file, (size_t)fl, i % 3 ? "ruby" : "cfunc", i + 1);
  }
  for (i = 0; i < nclasses; i++) {
    int nl = snprintf(buf, sizeof buf, "Klass%d", i);
    pc_class_add(c, buf, (size_t)nl);
  }
  pc_stack_add(c, NULL, NULL, 0);
  for (i = 1; i < nstacks; i++) {
    /* Stacks share their root end: callers repeat, leaves vary. */
    int d = 1 + (int)(pc_rand(&rs) % (uint64_t)maxdepth), j;
    for (j = 0; j < d; j++) {
      int from_root = d - 1 - j;
      fs[j] = from_root < 3 ? from_root : (int)(pc_rand(&rs) % (uint64_t)nfuncs);
      ls[j] = 10 + (int)(pc_rand(&rs) % 4);
    }
    pc_stack_add(c, fs, ls, (uint32_t)d);
  }
  for (k = 0; k < nobj; k++) {
    int s = (int)(pc_rand(&rs) % (uint64_t)nstacks);
    int kl = (int)(pc_rand(&rs) % (uint64_t)nclasses);
    uint64_t size = 40 + pc_rand(&rs) % 5000;
    uint32_t epoch = (uint32_t)(pc_rand(&rs) % 100);
    size_t r = pc_track(c, s, kl, size, epoch);
    if (pc_rand(&rs) % 3 == 0) pc_kill(c, r);
  }
  free(fs);
  free(ls);
}

int64_t pc_age_floor(uint32_t now, uint32_t epoch) {
  uint64_t age = (uint32_t)(now - epoch), b = 1;
  if (age == 0) return 0;
  while (b * 2 <= age) b *= 2;
  return (int64_t)b;
}

typedef struct pc_item {
  int stack, klass, live;
  int64_t age;
  uint64_t size;
  float weight;
} pc_item;

static int pc_item_cmp(const void *a, const void *b) {
  const pc_item *x = (const pc_item *)a, *y = (const pc_item *)b;
  if (x->stack != y->stack) return x->stack < y->stack ? -1 : 1;
  if (x->klass != y->klass) return x->klass < y->klass ? -1 : 1;
  if (x->age != y->age) return x->age < y->age ? -1 : 1;
  return 0;
}

typedef struct pc_raw {
  int stack;
  pc_bytes key;
  long double cnt[2], bytes[2]; /* sums of weight, weight * size */
} pc_raw;

static int pc_raw_cmp(const void *a, const void *b) {
  return pc_bytes_cmp(&((const pc_raw *)a)->key, &((const pc_raw *)b)->key);
}

static pc_bytes pc_rec_key(const pc_case *c, int stack, int klass, int64_t age) {
  pc_bytes key = {NULL, 0};
  const pc_stack *s = &c->stacks[stack];
  const pc_class *k = &c->classes[klass];
  uint32_t i;
  pc_bytes_append(&key, "", 0);
  for (i = 0; i < s->depth; i++) {
    const pc_func *f = &c->funcs[s->funcs[i]];
    pc_bytes sys;
    sys.p = (char *)f->sys;
    sys.n = strlen(f->sys);
    /* a system_name equal to the name is written as none */
    if (sys.n == f->name.n && memcmp(sys.p, f->name.p, sys.n) == 0) sys.n = 0;
    pc_key_frame(&key, &f->want_name, &f->want_file, &sys, f->start_line, s->lines[i]);
  }
  pc_key_tail(&key, &k->want, k->want.n > 0, age);
  return key;
}

/* A sum of weights as a value: rounded and saturated, computed in wider
 * arithmetic than the encoder's doubles. */
static int64_t pc_value(long double x) {
  if (x >= 9223372036854775807.0L) return INT64_MAX;
  return (int64_t)floorl(x + 0.5L);
}

/* The reservoir's samples when it overflowed: which allocations they are,
 * found by size (such scenarios give every allocation its own size). */
static const pc_rec *pc_find_alloc(const pc_case *c, const rmp_alloc_sample *a, char *taken) {
  size_t i;
  for (i = 0; i < c->nrecs; i++)
    if (c->recs[i].size == a->size && c->recs[i].alloc && !taken[i]) {
      taken[i] = 1;
      return &c->recs[i];
    }
  return NULL;
}

static int64_t pc_sat_add(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

void pc_model_build(const pc_case *c, pc_model *m) {
  pc_item *items = NULL;
  pc_raw *raw = NULL;
  size_t n = 0, cap = 0, nraw = 0, craw = 0, i, j;
  pc_bytes *frames = NULL;
  size_t nframes = 0, cframes = 0, nkept;
  char *fused = (char *)calloc(c->nfuncs + 1, 1);
  /* Weights as rmp.h keeps them (floats): a live entry stands for
   * 2^(k when decided) / rate objects, doubled by each thinning it
   * survived; an allocation sample for 1 / (rate * retain) allocations,
   * times candidates / kept when the reservoir overflowed. */
  float wl = (float)(1.0 / c->rate), wa = (float)(1.0 / (c->rate * c->retain));
  PC_CHECK(fused != NULL);
  memset(m, 0, sizeof *m);
  m->exact = 1;
  nkept = c->candidates < c->max_allocs ? (size_t)c->candidates : c->max_allocs;
  if (c->candidates > nkept) wa = (float)((double)wa * ((double)c->candidates / (double)nkept));
  for (i = 0; i < c->nrecs; i++) {
    const pc_rec *r = &c->recs[i];
    pc_item it;
    it.stack = r->stack;
    it.klass = r->klass;
    it.age = pc_age_floor(c->epoch_now, r->epoch);
    if (r->live && (uint32_t)(c->epoch_now - r->epoch) < c->p.min_live_age) {
      m->young++;
    } else if (r->live) {
      it.live = 1;
      it.size = r->size > UINT32_MAX ? UINT32_MAX : r->size;
      it.weight = ldexpf(wl, (int)(r->k_dec + (c->thinnings - r->thin_ins)));
      PC_GROW(items, n, cap);
      items[n++] = it;
    }
    if (r->alloc && c->candidates == nkept) { /* all kept */
      it.live = 0;
      it.size = r->size;
      it.weight = wa;
      PC_GROW(items, n, cap);
      items[n++] = it;
    }
  }
  if (c->candidates > nkept) {
    /* The reservoir chose which: take them from the snapshot, resolved
     * through our own records. */
    char *taken = (char *)calloc(c->nrecs + 1, 1);
    PC_CHECK(taken != NULL && c->snap.nallocs == nkept);
    for (i = 0; i < c->snap.nallocs; i++) {
      const pc_rec *r = pc_find_alloc(c, &c->snap.allocs[i], taken);
      pc_item it;
      PC_CHECK(r != NULL && c->stacks[r->stack].id == c->snap.allocs[i].stack);
      it.stack = r->stack;
      it.klass = r->klass;
      it.age = pc_age_floor(c->epoch_now, r->epoch);
      it.live = 0;
      it.size = r->size;
      it.weight = wa;
      PC_GROW(items, n, cap);
      items[n++] = it;
    }
    free(taken);
  }
  for (i = 0; i < n; i++)
    if (!(items[i].weight == floorf(items[i].weight))) m->exact = 0;
  if (n) qsort(items, n, sizeof *items, pc_item_cmp);
  for (i = 0; i < n; i = j) {
    pc_raw *r;
    PC_GROW(raw, nraw, craw);
    r = &raw[nraw++];
    memset(r, 0, sizeof *r);
    r->key = pc_rec_key(c, items[i].stack, items[i].klass, items[i].age);
    r->stack = items[i].stack;
    for (j = i; j < n && pc_item_cmp(&items[i], &items[j]) == 0; j++) {
      long double w = items[j].weight;
      r->cnt[items[j].live] += w;
      if (items[j].size) r->bytes[items[j].live] += w * (long double)items[j].size;
    }
  }
  /* Distinct stack records may still name the same frames: group by the
   * resolved key, as a reader of the profile sees it. */
  if (nraw) qsort(raw, nraw, sizeof *raw, pc_raw_cmp);
  cap = 0;
  for (i = 0; i < nraw; i = j) {
    pc_group *g;
    size_t t;
    for (j = i + 1; j < nraw && pc_bytes_cmp(&raw[i].key, &raw[j].key) == 0; j++) {
      for (t = 0; t < 2; t++) {
        raw[i].cnt[t] += raw[j].cnt[t];
        raw[i].bytes[t] += raw[j].bytes[t];
      }
      free(raw[j].key.p);
    }
    PC_GROW(m->g, m->n, cap);
    g = &m->g[m->n++];
    g->key = raw[i].key;
    g->v[0] = pc_value(raw[i].cnt[0]);
    g->v[1] = pc_value(raw[i].bytes[0]);
    g->v[2] = pc_value(raw[i].cnt[1]);
    g->v[3] = pc_value(raw[i].bytes[1]);
    for (t = 0; t < 2; t++) /* doubles hold whole sums exactly below 2^53 */
      if (raw[i].cnt[t] >= 9007199254740992.0L || raw[i].bytes[t] >= 9007199254740992.0L) m->exact = 0;
    for (t = 0; t < 4; t++) m->totals[t] = pc_sat_add(m->totals[t], g->v[t]);
    if (c->stacks[raw[i].stack].depth > 0)
      for (t = 0; t < 4; t++) m->located_totals[t] = pc_sat_add(m->located_totals[t], g->v[t]);
  }
  free(raw);
  /* Locations and functions the samples reach: distinct (func, line). */
  {
    char *sused = (char *)calloc(c->nstacks + 1, 1);
    PC_CHECK(sused != NULL);
    for (i = 0; i < n; i++) sused[items[i].stack] = 1;
    for (i = 0; i < c->nstacks; i++) {
      uint32_t d;
      if (!sused[i]) continue;
      for (d = 0; d < c->stacks[i].depth; d++) {
        pc_bytes fk = {NULL, 0};
        int fl[2];
        fl[0] = c->stacks[i].funcs[d];
        fl[1] = c->stacks[i].lines[d];
        pc_bytes_append(&fk, fl, sizeof fl);
        fused[fl[0]] = 1;
        PC_GROW(frames, nframes, cframes);
        frames[nframes++] = fk;
      }
    }
    free(sused);
  }
  if (nframes) qsort(frames, nframes, sizeof *frames, (int (*)(const void *, const void *))pc_bytes_cmp);
  for (i = 0; i < nframes; i++) {
    if (i == 0 || pc_bytes_cmp(&frames[i - 1], &frames[i]) != 0) m->nlocations++;
  }
  for (i = 0; i < nframes; i++) free(frames[i].p);
  for (i = 0; i < c->nfuncs; i++) m->nfunctions += fused[i] != 0;
  free(frames);
  free(fused);
  free(items);
}

void pc_model_free(pc_model *m) {
  size_t i;
  for (i = 0; i < m->n; i++) free(m->g[i].key.p);
  free(m->g);
  memset(m, 0, sizeof *m);
}

/* key=v with v in as few significant digits as read back as v: the
 * digit count found with %e (mantissa digits), the line written in %g's
 * form, which is what a reader expects (0.1, 1e-300, 0.3333333333333333). */
static void pc_fmt_double(char *buf, const char *key, double v) {
  char tmp[64];
  int digits;
  for (digits = 1; digits < 17; digits++) {
    snprintf(tmp, sizeof tmp, "%.*e", digits - 1, v);
    if (strtod(tmp, NULL) == v) break;
  }
  snprintf(buf, 256, "%s=%.*g", key, digits, v);
}

size_t pc_expected_comments(const pc_case *c, char lines[][256], size_t max) {
  size_t n = 0, i;
  pc_model m;
  uint64_t nallocs;
  PC_CHECK(max >= 13 + c->opts.ncomments);
  pc_model_build(c, &m);
  nallocs = c->candidates < c->max_allocs ? c->candidates : c->max_allocs;
  if (!c->rotated) nallocs = 0; /* a zeroed snapshot says nothing */
  snprintf(lines[n++], 256, "rmp_version=%s", RMP_VERSION);
  pc_fmt_double(lines[n++], "sample_rate", c->snap.sample_rate);
  pc_fmt_double(lines[n++], "allocation_retain_rate", c->snap.retain_rate);
  pc_fmt_double(lines[n++], "heap_sample_probability", c->rotated ? ldexp(c->rate, -(int)c->k) : 0.0);
  snprintf(lines[n++], 256, "heap_thinnings=%llu", (unsigned long long)(c->rotated ? c->thinnings : 0));
  snprintf(lines[n++], 256, "allocation_candidates=%llu",
           (unsigned long long)(c->rotated ? c->candidates : 0));
  snprintf(lines[n++], 256, "allocation_samples=%llu", (unsigned long long)nallocs);
  snprintf(lines[n++], 256, "young_objects_left_out=%llu", (unsigned long long)m.young);
  snprintf(lines[n++], 256, "dropped_heap_samples=%llu", 0ULL);
  snprintf(lines[n++], 256, "dropped_allocation_samples=%llu", 0ULL);
  snprintf(lines[n++], 256, "dropped_stacks=%llu", 0ULL);
  if (c->opts.pid) snprintf(lines[n++], 256, "pid=%lld", (long long)c->opts.pid);
  snprintf(lines[n++], 256, "%s", "values are estimates: each sample counts 1/(the probability that it was kept)");
  for (i = 0; i < c->opts.ncomments; i++) snprintf(lines[n++], 256, "%s", c->opts.comments[i]);
  pc_model_free(&m);
  return n;
}
