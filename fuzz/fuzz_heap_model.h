/* The heap the encoder harnesses drive, and the profile it must give:
 * functions and classes with arbitrary byte names (NULs, invalid UTF-8),
 * objects tracked through the profiler API with arbitrary sizes and ages,
 * and what a pprof profile of them must contain, computed here without the
 * encoder's code: groups keyed by stack content, class name and age bucket,
 * UTF-8 sanitised by an independent decoder, values scaled in long double.
 * The profile itself is read with proto/'s model (pprof_decode.h: nanopb's
 * decoder generated from pprof's profile.proto, and its structural checks). */
#ifndef RMP_FUZZ_HEAP_MODEL_H
#define RMP_FUZZ_HEAP_MODEL_H

#include <math.h>
#include "fuzz_common.h"
#include "pprof_decode.h"

#define PM_FUNCS 24
#define PM_CLASSES 16
#define PM_OBJS 96
#define PM_DEPTH 48
#define PM_NAME 24

typedef struct pm_bytes {
  unsigned char b[PM_NAME + 1];
  size_t n;
} pm_bytes;

typedef struct pm_stack {
  uint8_t func[PM_DEPTH]; /* function slots, leaf first */
  int32_t line[PM_DEPTH];
  uint32_t depth;
} pm_stack;

typedef struct pm_obj {
  uintptr_t addr;
  pm_stack st;
  uint8_t klass;
  uint64_t size;
  uint32_t epoch;
} pm_obj;

typedef struct pm {
  /* Names. system_name starts with the slot's own byte so that distinct
   * functions stay distinguishable in the output whatever the rest holds;
   * likewise class names (class 0 is ""). */
  pm_bytes name[PM_FUNCS], sys[PM_FUNCS], file[PM_FUNCS], cls[PM_CLASSES];
  int32_t start_line[PM_FUNCS];
  uint32_t nfuncs, nclasses;
  pm_obj live[PM_OBJS];
  uint32_t nlive, max_live;
  pm_obj allocs[PM_OBJS * 2]; /* this interval's retained samples */
  uint32_t nallocs;
  uint64_t heap_dropped, allocs_dropped; /* this interval */
  uint32_t clock;
  uintptr_t next_addr;
  pm_stack recent[8];
  uint32_t nrecent;
  uint64_t last_rotate_ns;
} pm;

static uint64_t pm_key(uint8_t slot) { return UINT64_C(0x7f0000000000) + (uint64_t)slot * 40; }

static void pm_read_bytes(rmp_fz *f, pm_bytes *b, size_t prefix_len, unsigned char prefix) {
  const uint8_t *p;
  size_t n = rmp_fz_u8(f) % (PM_NAME - prefix_len + 1);
  n = rmp_fz_bytes(f, n, &p);
  if (prefix_len) b->b[0] = prefix;
  memcpy(b->b + prefix_len, p, n);
  b->n = n + prefix_len;
}

/* The well-formed sequence rules of Unicode (table 3-7), decoded, not
 * looked up: each byte that does not start one becomes U+FFFD. */
RMP_FZ_NOCOV static size_t pm_sanitize(const unsigned char *s, size_t n, unsigned char *out) {
  size_t i = 0, o = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len, k;
    uint32_t cp, min;
    if (c < 0x80) {
      out[o++] = (unsigned char)c;
      i++;
      continue;
    }
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else goto bad;
    if (i + len > n) goto bad;
    for (k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) goto bad;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto bad;
    memcpy(out + o, s + i, len);
    o += len;
    i += len;
    continue;
  bad:
    out[o++] = 0xEF;
    out[o++] = 0xBF;
    out[o++] = 0xBD;
    i++;
  }
  return o;
}

/* String idx of the profile is exactly the n bytes at want. */
static int pm_bytes_is(const pprof_profile *d, int64_t idx, const void *want, size_t n) {
  return pprof_str_len(d, idx) == n && (n == 0 || memcmp(pprof_str(d, idx), want, n) == 0);
}
static int pm_is_cstr(const pprof_profile *d, int64_t idx, const char *s) { return pm_bytes_is(d, idx, s, strlen(s)); }
/* String idx is raw as the encoder must write it: UTF-8 sanitised. */
static int pm_str_is(const pprof_profile *d, int64_t idx, const unsigned char *raw, size_t n) {
  unsigned char buf[3 * 256];
  RMP_FZ_CHECK(n <= 256);
  size_t m = pm_sanitize(raw, n, buf);
  return pm_bytes_is(d, idx, buf, m);
}

static double pm_pick_rate(rmp_fz *f) {
  static const double r[] = {1.0, 0.5, 0.1, 0.01, 1e-3, 0.3, 1.0 / 3, 0.999, 1e-6, 1e-12,
                             1e-200, 4.9406564584124654e-324, 0x1.fffffffffffffp-1, 0.0, 0.25, 0.75};
  return r[rmp_fz_u8(f) % (sizeof r / sizeof r[0])];
}

static void pm_setup(rmp_fz *f, pm *m, rmp_profiler *p) {
  memset(m, 0, sizeof *m);
  m->nfuncs = rmp_fz_u8(f) % PM_FUNCS + 1;
  for (uint32_t k = 0; k < m->nfuncs; k++) {
    pm_read_bytes(f, &m->name[k], 0, 0);
    pm_read_bytes(f, &m->sys[k], 1, (unsigned char)(k + 1));
    pm_read_bytes(f, &m->file[k], 0, 0);
    m->start_line[k] = (int32_t)rmp_fz_u32(f);
  }
  m->nclasses = rmp_fz_u8(f) % PM_CLASSES + 1;
  for (uint32_t c = 1; c < m->nclasses; c++) pm_read_bytes(f, &m->cls[c], 1, (unsigned char)('A' + c));
  rmp_config cfg;
  rmp_config_default(&cfg);
  cfg.sample_rate = pm_pick_rate(f);
  cfg.retain_rate = pm_pick_rate(f);
  cfg.max_heap_samples = m->max_live = rmp_fz_u8(f) % PM_OBJS + 1;
  cfg.max_alloc_samples = rmp_fz_u8(f) % PM_OBJS + 1;
  cfg.seed = rmp_fz_u64(f);
  RMP_FZ_CHECK(rmp_profiler_init(p, &cfg) == RMP_OK);
  m->next_addr = 0x10000;
}

/* The embedder's job after an intern: name every new function. */
static void pm_resolve(pm *m, rmp_profiler *p) {
  rmp_stacks *st = &p->stacks;
  for (uint32_t i = st->first_unresolved; i < st->nfuncs; i++) {
    const rmp_func *fn = rmp_func_get(st, i);
    if (fn->resolved) continue;
    uint32_t slot = (uint32_t)((fn->key - pm_key(0)) / 40), a, b, c;
    RMP_FZ_CHECK(slot < m->nfuncs && pm_key((uint8_t)slot) == fn->key);
    RMP_FZ_CHECK(rmp_strtab_intern(&p->strings, (const char *)m->name[slot].b, m->name[slot].n, &a) == RMP_OK);
    RMP_FZ_CHECK(rmp_strtab_intern(&p->strings, (const char *)m->sys[slot].b, m->sys[slot].n, &b) == RMP_OK);
    RMP_FZ_CHECK(rmp_strtab_intern(&p->strings, (const char *)m->file[slot].b, m->file[slot].n, &c) == RMP_OK);
    rmp_func_resolve(st, i, a, b, c, m->start_line[slot]);
  }
  RMP_FZ_CHECK(st->first_unresolved == st->nfuncs);
}

static void pm_gen_stack(rmp_fz *f, pm *m, pm_stack *s) {
  uint8_t shape = rmp_fz_u8(f);
  if ((shape & 3) == 0 && m->nrecent) { /* the same stack again: samples aggregate */
    *s = m->recent[rmp_fz_u8(f) % m->nrecent];
    return;
  }
  static const int32_t lines[] = {0, 1, 7, -1, INT32_MAX, INT32_MIN, 300};
  s->depth = (shape >> 2) % (PM_DEPTH + 1);
  uint64_t r = rmp_fz_u32(f);
  for (uint32_t i = 0; i < s->depth; i++) {
    r = rmp_fz_mix(r);
    s->func[i] = (uint8_t)(r % m->nfuncs);
    s->line[i] = lines[(r >> 32) % 7];
  }
  if (m->nrecent < 8) m->recent[m->nrecent++] = *s;
  else m->recent[r % 8] = *s;
}

RMP_FZ_NOCOV static int pm_find_live(const pm *m, uintptr_t addr) {
  for (uint32_t i = 0; i < m->nlive; i++)
    if (m->live[i].addr == addr) return (int)i;
  return -1;
}

/* A sampled allocation: intern its stack and class, track it. */
static void pm_track(rmp_fz *f, pm *m, rmp_profiler *p) {
  pm_obj o;
  memset(&o, 0, sizeof o);
  pm_gen_stack(f, m, &o.st);
  o.klass = (uint8_t)(rmp_fz_u8(f) % m->nclasses);
  uint8_t sz = rmp_fz_u8(f);
  o.size = sz < 200 ? sz : sz < 250 ? rmp_fz_u64(f) : UINT64_MAX - (sz - 250);
  o.epoch = m->clock;
  /* Sometimes an address already tracked: its object died unnoticed. */
  uint8_t a = rmp_fz_u8(f);
  o.addr = (a < 32 && m->nlive) ? m->live[a % m->nlive].addr : (m->next_addr += 16);

  uint64_t keys[PM_DEPTH];
  int lines[PM_DEPTH];
  for (uint32_t i = 0; i < o.st.depth; i++) {
    keys[i] = pm_key(o.st.func[i]);
    lines[i] = o.st.line[i];
  }
  uint32_t sid, kid;
  RMP_FZ_CHECK(rmp_stack_intern(&p->stacks, keys, lines, o.st.depth, &sid) == RMP_OK);
  pm_resolve(m, p);
  RMP_FZ_CHECK(rmp_strtab_intern(&p->strings, (const char *)m->cls[o.klass].b, m->cls[o.klass].n, &kid) ==
               RMP_OK);
  uint32_t n0 = p->allocs.n;
  uint64_t d0 = p->allocs.dropped;
  rmp_track(p, o.addr, sid, kid, o.size, o.epoch);
  int i = pm_find_live(m, o.addr);
  if (i >= 0) m->live[i] = o;
  else if (m->nlive >= m->max_live) m->heap_dropped++;
  else m->live[m->nlive++] = o;
  RMP_FZ_CHECK(p->live.count == m->nlive);
  /* Whether the retain draw kept it is the sampler's business; what was
   * kept must come out. */
  if (p->allocs.n == n0 + 1) {
    RMP_FZ_CHECK(m->nallocs < sizeof m->allocs / sizeof m->allocs[0]);
    m->allocs[m->nallocs++] = o;
  } else if (p->allocs.dropped == d0 + 1) {
    m->allocs_dropped++;
  } else {
    RMP_FZ_CHECK(p->allocs.n == n0 && p->allocs.dropped == d0);
  }
}

static void pm_kill(pm *m, rmp_profiler *p, uint8_t which) {
  if (!m->nlive) return;
  uint32_t i = which % m->nlive;
  RMP_FZ_CHECK(rmp_live_delete(&p->live, m->live[i].addr) == 1);
  m->live[i] = m->live[--m->nlive];
}

/* ---- what the profile must say ---- */

typedef struct pm_group {
  const pm_stack *st;
  uint8_t klass;
  uint64_t age; /* bucket floor: 0, 1, 2, 4, ... */
  uint64_t alloc_n, alloc_bytes, live_n, live_bytes;
  int seen;
} pm_group;

static uint64_t pm_age_floor(uint32_t now, uint32_t epoch) {
  uint64_t age = now >= epoch ? (uint64_t)(now - epoch) : 0, p = 1;
  if (age == 0) return 0;
  while (p * 2 <= age) p *= 2;
  return p;
}

static uint64_t pm_sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

RMP_FZ_NOCOV static int pm_same_stack(const pm_stack *a, const pm_stack *b) {
  if (a->depth != b->depth) return 0;
  for (uint32_t i = 0; i < a->depth; i++)
    if (a->func[i] != b->func[i] || a->line[i] != b->line[i]) return 0;
  return 1;
}
static int pm_same_class(const pm *m, uint8_t a, uint8_t b) {
  return m->cls[a].n == m->cls[b].n && memcmp(m->cls[a].b, m->cls[b].b, m->cls[a].n) == 0;
}

RMP_FZ_NOCOV static void pm_add(const pm *m, pm_group *g, uint32_t *ng, const pm_obj *o, uint32_t now, int live) {
  uint64_t age = pm_age_floor(now, o->epoch);
  pm_group *x = NULL;
  for (uint32_t i = 0; i < *ng && !x; i++)
    if (g[i].age == age && pm_same_class(m, g[i].klass, o->klass) && pm_same_stack(g[i].st, &o->st)) x = &g[i];
  if (!x) {
    x = &g[(*ng)++];
    memset(x, 0, sizeof *x);
    x->st = &o->st;
    x->klass = o->klass;
    x->age = age;
  }
  if (live) {
    x->live_n++;
    x->live_bytes = pm_sat_add(x->live_bytes, o->size > UINT32_MAX ? UINT32_MAX : o->size);
  } else {
    x->alloc_n++;
    x->alloc_bytes = pm_sat_add(x->alloc_bytes, o->size);
  }
}

/* raw / rate, saturated; a rate outside (0, 1] counts 1. */
static void pm_check_value(int64_t got, uint64_t raw, long double rate) {
  long double w = (rate > 0 && rate <= 1) ? 1.0L / rate : 1.0L;
  if (getenv("RMP_FUZZ_VERBOSE"))
    fprintf(stderr, "value: got %lld raw %llu rate %.17Lg\n", (long long)got, (unsigned long long)raw, rate);
  if (raw == 0) {
    RMP_FZ_CHECK(got == 0);
    return;
  }
  long double want = (long double)raw * w;
  if (want >= 9223372036854775807.0L) {
    RMP_FZ_CHECK((long double)got >= 9223372036854775807.0L * (1 - 1e-12L));
    return;
  }
  long double diff = fabsl((long double)got - want);
  RMP_FZ_CHECK(got >= 0 && diff <= 1.0L + want * 1e-12L);
  if (w == 1.0L) RMP_FZ_CHECK((uint64_t)got == raw);
}

typedef struct pm_expect {
  double sample_rate, retain_rate; /* as the snapshot says (maybe corrupted) */
  uint32_t epoch_now;
  uint64_t start_ns, end_ns;
  uint64_t stacks_dropped;
  uint32_t nstrings; /* the snapshot's string count */
  const rmp_pprof_opts *opts;
} pm_expect;

/* Types, in order, the defaults, period, time and duration. */
RMP_FZ_NOCOV static void pm_check_header(const pm_expect *x, const pprof_profile *d) {
  static const char *const types[4][2] = {
      {"allocations", "count"}, {"allocation_size", "bytes"}, {"retained_objects", "count"}, {"retained_size", "bytes"}};
  RMP_FZ_CHECK(d->ntypes == 4);
  for (int i = 0; i < 4; i++) {
    RMP_FZ_CHECK(pm_is_cstr(d, d->types[i].type, types[i][0]));
    RMP_FZ_CHECK(pm_is_cstr(d, d->types[i].unit, types[i][1]));
  }
  RMP_FZ_CHECK(pm_is_cstr(d, d->default_sample_type, "retained_size"));
  RMP_FZ_CHECK(d->has_period_type);
  RMP_FZ_CHECK(pm_is_cstr(d, d->period_type.type, "allocations"));
  RMP_FZ_CHECK(pm_is_cstr(d, d->period_type.unit, "count"));
  if (x->sample_rate > 0 && x->sample_rate <= 1) {
    long double want = 1.0L / x->sample_rate;
    if (want >= 9.2e18L) RMP_FZ_CHECK(d->period >= (int64_t)9.2e18);
    else RMP_FZ_CHECK(fabsl((long double)d->period - want) <= 0.5L + want * 1e-12L);
  } else {
    RMP_FZ_CHECK(d->period == 0);
  }
  RMP_FZ_CHECK((uint64_t)d->time_nanos == (x->start_ns > INT64_MAX ? INT64_MAX : x->start_ns));
  uint64_t dur = x->end_ns > x->start_ns ? x->end_ns - x->start_ns : 0;
  RMP_FZ_CHECK((uint64_t)d->duration_nanos == (dur > INT64_MAX ? INT64_MAX : dur));
  RMP_FZ_CHECK(d->nmappings == 0 && d->drop_frames == 0 && d->keep_frames == 0);
}

/* Frame i of sample s: its location (one line, no mapping, no address),
 * that line, and its function. */
typedef struct pm_frame {
  const pprof_location *loc;
  const pprof_line *line;
  const pprof_function *fn;
} pm_frame;
RMP_FZ_NOCOV static pm_frame pm_frame_of(const pprof_profile *d, const pprof_sample *s, uint32_t i) {
  pm_frame f;
  f.loc = pprof_find_location(d, d->location_ids[s->loc_off + i]);
  RMP_FZ_CHECK(f.loc->nlines == 1 && f.loc->mapping_id == 0 && f.loc->address == 0);
  f.line = &d->lines[f.loc->line_off];
  f.fn = pprof_find_function(d, f.line->function_id);
  return f;
}

/* The unseen group a sample stands for: same labels, same frames. */
RMP_FZ_NOCOV static pm_group *pm_match(const pm *m, pm_group *g, uint32_t ng, const pprof_profile *d,
                                       const pprof_sample *s) {
  /* Labels first: they narrow the group down. */
  int64_t cls = -1, age = -1;
  for (uint32_t l = 0; l < s->nlab; l++) {
    const pprof_label *lb = &d->labels[s->lab_off + l];
    if (pm_is_cstr(d, lb->key, "object_class")) {
      RMP_FZ_CHECK(cls < 0 && lb->num == 0 && lb->num_unit == 0);
      cls = lb->str;
    } else {
      RMP_FZ_CHECK(pm_is_cstr(d, lb->key, "allocation_age") && age < 0 && lb->str == 0);
      RMP_FZ_CHECK(pm_is_cstr(d, lb->num_unit, "gcs"));
      age = lb->num;
    }
  }
  RMP_FZ_CHECK(age >= 0);
  for (uint32_t gi = 0; gi < ng; gi++) {
    pm_group *c = &g[gi];
    const pm_bytes *want_cls = &m->cls[c->klass];
    if (c->seen || (int64_t)c->age != age || c->st->depth != s->nloc) continue;
    if (want_cls->n == 0 ? cls >= 0 : !(cls >= 0 && pm_str_is(d, cls, want_cls->b, want_cls->n))) continue;
    int ok = 1;
    for (uint32_t i = 0; i < c->st->depth && ok; i++) {
      pm_frame f = pm_frame_of(d, s, i);
      const pm_bytes *sys = &m->sys[c->st->func[i]];
      ok = f.line->line == c->st->line[i] && pm_str_is(d, f.fn->system_name, sys->b, sys->n);
    }
    if (ok) return c;
  }
  return NULL;
}

/* Samples: one per group, frames, labels and values as the model says.
 * Location and function ids must mean one frame / one function each, and
 * none may go unused. */
RMP_FZ_NOCOV static void pm_check_samples(const pm *m, const pm_expect *x, pm_group *g, uint32_t ng,
                                           const pprof_profile *d) {
  uint64_t loc_of[PM_FUNCS][8] = {{0}}; /* [slot][line index] -> location id */
  uint64_t fn_of[PM_FUNCS] = {0};
  static const int32_t lines[] = {0, 1, 7, -1, INT32_MAX, INT32_MIN, 300};
  RMP_FZ_CHECK(d->nsamples == ng);
  for (uint32_t si = 0; si < d->nsamples; si++) {
    const pprof_sample *s = &d->samples[si];
    pm_group *hit = pm_match(m, g, ng, d, s);
    RMP_FZ_CHECK(hit != NULL);
    hit->seen = 1;
    for (uint32_t i = 0; i < hit->st->depth; i++) {
      uint8_t k = hit->st->func[i];
      pm_frame f = pm_frame_of(d, s, i);
      RMP_FZ_CHECK(pm_str_is(d, f.fn->name, m->name[k].b, m->name[k].n));
      RMP_FZ_CHECK(pm_str_is(d, f.fn->filename, m->file[k].b, m->file[k].n));
      RMP_FZ_CHECK(f.fn->start_line == m->start_line[k]);
      uint32_t li = 0;
      while (lines[li] != hit->st->line[i]) li++;
      RMP_FZ_CHECK(loc_of[k][li] == 0 || loc_of[k][li] == f.loc->id);
      loc_of[k][li] = f.loc->id;
      RMP_FZ_CHECK(fn_of[k] == 0 || fn_of[k] == f.fn->id);
      fn_of[k] = f.fn->id;
    }
    const int64_t *v = d->values + s->val_off;
    pm_check_value(v[0], hit->alloc_n, (long double)x->sample_rate * x->retain_rate);
    pm_check_value(v[1], hit->alloc_bytes, (long double)x->sample_rate * x->retain_rate);
    pm_check_value(v[2], hit->live_n, x->sample_rate);
    pm_check_value(v[3], hit->live_bytes, x->sample_rate);
  }
  uint32_t nloc = 0, nfn = 0;
  for (int k = 0; k < PM_FUNCS; k++) {
    nfn += fn_of[k] != 0;
    for (int li = 0; li < 8; li++) nloc += loc_of[k][li] != 0;
  }
  RMP_FZ_CHECK(d->nlocations == nloc && d->nfunctions == nfn);
  for (uint32_t i = 0; i < d->nlocations; i++) {
    const pprof_line *a = &d->lines[d->locations[i].line_off];
    for (uint32_t j = 0; j < i; j++) {
      const pprof_line *b = &d->lines[d->locations[j].line_off];
      RMP_FZ_CHECK(a->function_id != b->function_id || a->line != b->line);
    }
  }
}

/* Strings: the snapshot's, nine fixed ones, then the comments; the
 * comments say what the snapshot says, the caller's last. */
RMP_FZ_NOCOV static void pm_check_comments(const pm *m, const pm_expect *x, const pprof_profile *d) {
  const rmp_pprof_opts *o = x->opts;
  uint32_t nuser = o && o->comments ? (uint32_t)o->ncomments : 0;
  RMP_FZ_CHECK(d->strings.count == x->nstrings + 9 + d->ncomments);
  RMP_FZ_CHECK(d->ncomments >= 7 + nuser);
  for (uint32_t i = 0; i < d->ncomments; i++) RMP_FZ_CHECK(d->comments[i] == (int64_t)(x->nstrings + 9 + i));
  for (uint32_t i = 0; i < nuser; i++) {
    const char *c = o->comments[i];
    RMP_FZ_CHECK(pm_str_is(d, d->comments[d->ncomments - nuser + i], (const unsigned char *)c, strlen(c)));
  }
  int saw_rate = 0, saw_pid = 0, saw_heap = 0, saw_allocs = 0;
  for (uint32_t i = 0; i + nuser < d->ncomments; i++) {
    /* Strings are stored with a NUL after them: parse them in place. */
    const char *buf = pprof_str(d, d->comments[i]);
    RMP_FZ_CHECK(pprof_str_len(d, d->comments[i]) < 200);
    if (strncmp(buf, "sample_rate=", 12) == 0) {
      double r = strtod(buf + 12, NULL);
      RMP_FZ_CHECK(r == x->sample_rate || (isnan(r) && isnan(x->sample_rate)));
      saw_rate++;
    } else if (strncmp(buf, "allocation_retain_rate=", 23) == 0) {
      double r = strtod(buf + 23, NULL);
      RMP_FZ_CHECK(r == x->retain_rate || (isnan(r) && isnan(x->retain_rate)));
    } else if (strncmp(buf, "pid=", 4) == 0) {
      RMP_FZ_CHECK(o && strtoll(buf + 4, NULL, 10) == o->pid);
      saw_pid++;
    } else if (strncmp(buf, "dropped_heap_samples=", 21) == 0) {
      RMP_FZ_CHECK(strtoull(buf + 21, NULL, 10) == m->heap_dropped);
      saw_heap++;
    } else if (strncmp(buf, "dropped_allocation_samples=", 27) == 0) {
      RMP_FZ_CHECK(strtoull(buf + 27, NULL, 10) == m->allocs_dropped);
      saw_allocs++;
    } else if (strncmp(buf, "dropped_stacks=", 15) == 0) {
      RMP_FZ_CHECK(strtoull(buf + 15, NULL, 10) == x->stacks_dropped);
    }
  }
  RMP_FZ_CHECK(saw_rate == 1 && saw_heap == 1 && saw_allocs == 1);
  RMP_FZ_CHECK(saw_pid == (o && o->pid != 0));
}

/* Decode an encoded profile (raw, or gzip of one member alone) into proto's
 * model, samples as written, and compare it with the model. Any
 * difference, or any structural fault the decoder finds, aborts. */
RMP_FZ_NOCOV static void pm_check_profile(const pm *m, const pm_expect *x, const unsigned char *data, size_t len) {
  static pm_group g[PM_OBJS * 3];
  uint32_t ng = 0;
  pprof_profile d;
  char err[512];
  if (pprof_decode_bytes(data, len, PPROF_ONE_GZIP_MEMBER, &d, err, sizeof err) != 0) {
    fprintf(stderr, "decoding the profile: %s\n", err);
    RMP_FZ_CHECK(!"the profile decodes");
  }
  for (uint32_t i = 0; i < m->nlive; i++) pm_add(m, g, &ng, &m->live[i], x->epoch_now, 1);
  for (uint32_t i = 0; i < m->nallocs; i++) pm_add(m, g, &ng, &m->allocs[i], x->epoch_now, 0);
  pm_check_header(x, &d);
  pm_check_samples(m, x, g, ng, &d);
  pm_check_comments(m, x, &d);
  pprof_profile_free(&d);
}

/* After a rotation: the interval's samples and drop counts are gone. */
static void pm_rotated(pm *m) {
  m->nallocs = 0;
  m->heap_dropped = m->allocs_dropped = 0;
}

#endif
