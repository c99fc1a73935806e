/* The heap the encoder harnesses drive, and the profile it must give:
 * functions and classes with arbitrary byte names (NULs, invalid UTF-8),
 * objects tracked through the profiler API as rmp_sample_confirm /
 * rmp_sample_tick decided, with arbitrary sizes and ages, and what a pprof
 * profile of them must contain, computed here without the encoder's code:
 * groups keyed by stack content, class name and age bucket (ages modulo
 * 2^32, entries younger than min_live_age left out), UTF-8 sanitised by an
 * independent decoder, values the sums of the samples' weights in long
 * double.
 *
 * The live table has a small bound, so it is thinned: the model's table is
 * a mirror that loses, at each thinning, what the table lost (which must be
 * a subset of what it held), and each entry must weigh 2^(k when decided +
 * thinnings survived) / rate, k being the model's own count of thinnings
 * less the rotations that lowered it. The allocations reservoir is
 * mirrored slot for slot: while it has room an entering sample is
 * appended, then it replaces exactly one slot; it never holds more than its
 * bound; rotation weighs each sample candidates / kept / (rate * retain).
 * Weights are floats as rmp.h stores them; the encoder counts a weight
 * below 1 (or NaN) as 1 and +inf saturates.
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
  uint32_t k_dec;    /* live: the model's heap keep log2 when it was decided */
  uint64_t thin_ins; /* live: the model's thinnings when it went in */
  int has_w;         /* the harness wrote w into the snapshot in its place */
  float w;
} pm_obj;

typedef struct pm {
  /* Names. system_name starts with the slot's own byte so that distinct
   * functions stay distinguishable in the output whatever the rest holds;
   * likewise class names (class 0 is ""). */
  pm_bytes name[PM_FUNCS], sys[PM_FUNCS], file[PM_FUNCS], cls[PM_CLASSES];
  int32_t start_line[PM_FUNCS];
  uint32_t nfuncs, nclasses;
  pm_obj live[PM_OBJS]; /* the live table, as the model has it */
  uint32_t nlive, max_live;
  pm_obj allocs[PM_OBJS]; /* the allocations reservoir, slot for slot */
  uint32_t nallocs, max_allocs;
  uint64_t seen;          /* candidates offered this interval */
  double rate, retain;
  uint32_t min_age;
  uint32_t k;                             /* heap keep log2 */
  uint64_t thinnings, thinnings_at_rotate;
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
  cfg.max_alloc_samples = m->max_allocs = rmp_fz_u8(f) % PM_OBJS + 1;
  cfg.seed = rmp_fz_u64(f);
  /* From the seed's top bits, so that older inputs keep their layout. */
  cfg.min_live_age = m->min_age = (uint32_t)(cfg.seed >> 62) % 3;
  m->rate = cfg.sample_rate;
  m->retain = cfg.retain_rate;
  RMP_FZ_CHECK(rmp_profiler_init(p, &cfg) == RMP_OK);
  /* Bit 61 splits the live table as an embedder with generational GC
   * does; thinnings, snapshots and compactions must see both parts. The
   * model does not care which part an entry is in. */
  if ((cfg.seed >> 61) & 1) RMP_FZ_CHECK(rmp_live_split_young(&p->live) == RMP_OK);
  m->next_addr = 0x10000;
}

/* What a live entry must weigh: 2^(k when decided) / rate as a float,
 * doubled by each thinning survived. */
static float pm_live_weight(const pm *m, const pm_obj *o) {
  float w = (float)(1.0 / m->rate);
  return ldexpf(w, (int)(o->k_dec + (m->thinnings - o->thin_ins)));
}

/* An allocation sample's weight as tracked: 1 / (rate * retain); a product
 * that underflows to 0 has no finite weight. */
static float pm_alloc_weight(const pm *m) {
  double pr = m->rate * m->retain;
  return pr > 0 ? (float)(1.0 / pr) : (float)INFINITY;
}

/* The table is exactly the model's mirror: count, bound, and each entry
 * where the model has it, weighing what the model says. */
RMP_FZ_NOCOV static void pm_check_table(const pm *m, const rmp_profiler *p) {
  RMP_FZ_CHECK(p->live.count == m->nlive && p->live.count <= m->max_live);
  RMP_FZ_CHECK(p->live.count == p->live.main.count + p->live.young.count);
  RMP_FZ_CHECK(p->heap_keep_log2 == m->k && p->heap_thinnings == m->thinnings);
  for (uint32_t i = 0; i < m->nlive; i++) {
    const rmp_live_entry *e = rmp_live_lookup(&p->live, m->live[i].addr);
    RMP_FZ_CHECK(e != NULL && e->epoch == m->live[i].epoch);
    RMP_FZ_CHECK(e->size == (m->live[i].size > UINT32_MAX ? UINT32_MAX : m->live[i].size));
    RMP_FZ_CHECK(e->weight >= 1.0f && e->weight == pm_live_weight(m, &m->live[i]));
  }
  RMP_FZ_CHECK(p->allocs.n == m->nallocs && p->allocs.n <= m->max_allocs && p->allocs.seen == m->seen);
  for (uint32_t i = 0; i < m->nallocs; i++) {
    const rmp_alloc_sample *a = &p->allocs.v[i];
    RMP_FZ_CHECK(a->size == m->allocs[i].size && a->epoch == m->allocs[i].epoch);
    RMP_FZ_CHECK(a->weight >= 1.0f && a->weight == pm_alloc_weight(m));
  }
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

RMP_FZ_NOCOV static int pm_same_stack(const pm_stack *a, const pm_stack *b) {
  if (a->depth != b->depth) return 0;
  for (uint32_t i = 0; i < a->depth; i++)
    if (a->func[i] != b->func[i] || a->line[i] != b->line[i]) return 0;
  return 1;
}
RMP_FZ_NOCOV static int pm_find_live(const pm *m, uintptr_t addr) {
  for (uint32_t i = 0; i < m->nlive; i++)
    if (m->live[i].addr == addr) return (int)i;
  return -1;
}

/* An allocation the countdown picked, decided as d (taken: the profiler
 * counted a sample; seen0: the reservoir's count of candidates before the
 * decision): check the decision, intern its stack and class, track it,
 * and follow the table and the reservoir. */
static void pm_track(rmp_fz *f, pm *m, rmp_profiler *p, rmp_decision d, int taken, uint64_t seen0) {
  pm_obj o;
  memset(&o, 0, sizeof o);
  pm_gen_stack(f, m, &o.st);
  o.klass = (uint8_t)(rmp_fz_u8(f) % m->nclasses);
  uint8_t sz = rmp_fz_u8(f);
  o.size = sz < 200 ? sz : sz < 250 ? rmp_fz_u64(f) : UINT64_MAX - (sz - 250);
  o.epoch = m->clock;
  /* Sometimes an address already tracked: its object died unnoticed.
   * 0xF0 and up: one of the track's allocations fails. */
  uint8_t a = rmp_fz_u8(f);
  o.addr = (a < 32 && m->nlive) ? m->live[a % m->nlive].addr : (m->next_addr += 16);

  /* The decision: offered to the reservoir at most once (always at retain
   * 1, never at 0), the interval's first max candidates all enter, the
   * table keeps every sample until it is first thinned. */
  uint64_t dseen = p->allocs.seen - seen0;
  RMP_FZ_CHECK(dseen <= 1);
  if (!taken) { /* rate 0: no sample, nothing decided */
    RMP_FZ_CHECK(m->rate == 0.0 && d == 0 && dseen == 0);
    return;
  }
  if (m->retain >= 1.0) RMP_FZ_CHECK(dseen == 1);
  if (m->retain <= 0.0) RMP_FZ_CHECK(dseen == 0);
  m->seen += dseen;
  if (d & RMP_KEEP_ALLOC) RMP_FZ_CHECK(dseen == 1);
  if (dseen && m->seen <= m->max_allocs) RMP_FZ_CHECK(d & RMP_KEEP_ALLOC);
  if (m->k == 0) RMP_FZ_CHECK(d & RMP_KEEP_HEAP);
  if (d & RMP_KEEP_HEAP) RMP_FZ_CHECK(RMP_DECISION_KEEP_LOG2(d) == m->k);
  RMP_FZ_CHECK((d & ~(RMP_KEEP_HEAP | RMP_KEEP_ALLOC | 0xff00u)) == 0);
  if (!d) return; /* kept for nothing: no stack is taken */
  o.k_dec = m->k;

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
  uint64_t thin0 = p->heap_thinnings, ld0 = p->live.dropped, ad0 = p->allocs.dropped;
  static rmp_alloc_sample before[PM_OBJS];
  if (n0) memcpy(before, p->allocs.v, n0 * sizeof before[0]);
  if (a >= 0xF0) rmp_fz_fail_in = a & 15;
  rmp_status st = rmp_track(p, o.addr, sid, kid, o.size, o.epoch, d);
  rmp_fz_fail_in = -1;
  RMP_FZ_CHECK(st == RMP_OK || (st == RMP_ERR_NOMEM && a >= 0xF0));

  /* Thinned: the table is what the model had less what it lost. */
  uint64_t dt = p->heap_thinnings - thin0;
  if (!(d & RMP_KEEP_HEAP)) RMP_FZ_CHECK(dt == 0 && p->live.dropped == ld0);
  if (dt) {
    RMP_FZ_CHECK(m->nlive >= m->max_live && pm_find_live(m, o.addr) < 0);
    m->thinnings += dt;
    m->k += (uint32_t)dt;
    for (uint32_t i = 0; i < m->nlive;)
      if (rmp_live_lookup(&p->live, m->live[i].addr)) i++;
      else m->live[i] = m->live[--m->nlive];
    RMP_FZ_CHECK(m->nlive < m->max_live);
  }
  if (d & RMP_KEEP_HEAP) {
    int i = pm_find_live(m, o.addr);
    o.thin_ins = m->thinnings;
    if (p->live.dropped != ld0) { /* the table's growth failed */
      RMP_FZ_CHECK(p->live.dropped == ld0 + 1 && st == RMP_ERR_NOMEM && i < 0);
      m->heap_dropped++;
    } else if (i >= 0) {
      m->live[i] = o;
    } else {
      RMP_FZ_CHECK(m->nlive < PM_OBJS);
      m->live[m->nlive++] = o;
    }
  }
  uint32_t n = p->allocs.n;
  if ((d & RMP_KEEP_ALLOC) && p->allocs.dropped != ad0) { /* the reservoir's growth failed */
    RMP_FZ_CHECK(p->allocs.dropped == ad0 + 1 && st == RMP_ERR_NOMEM && n == n0 && n0 < m->max_allocs);
    m->allocs_dropped++;
  } else if ((d & RMP_KEEP_ALLOC) && n0 < m->max_allocs) { /* room: appended */
    RMP_FZ_CHECK(n == n0 + 1 && p->allocs.v[n0].size == o.size && p->allocs.v[n0].stack == sid);
    m->allocs[m->nallocs++] = o;
  } else if (d & RMP_KEEP_ALLOC) { /* full: in place of exactly one */
    uint32_t changed = 0, at = 0;
    RMP_FZ_CHECK(n == n0);
    for (uint32_t j = 0; j < n; j++)
      if (memcmp(&before[j], &p->allocs.v[j], sizeof before[j]) != 0) changed++, at = j;
    /* (A sample equal to the one it replaced changes nothing visible.) */
    RMP_FZ_CHECK(changed <= 1);
    if (changed == 1) {
      RMP_FZ_CHECK(p->allocs.v[at].size == o.size && p->allocs.v[at].stack == sid && p->allocs.v[at].klass == kid);
    } else {
      for (at = 0; at < n; at++)
        if (p->allocs.v[at].size == o.size && p->allocs.v[at].stack == sid && p->allocs.v[at].klass == kid &&
            p->allocs.v[at].epoch == o.epoch)
          break;
      RMP_FZ_CHECK(at < n && m->allocs[at].size == o.size && pm_same_stack(&m->allocs[at].st, &o.st));
    }
    m->allocs[at] = o;
  } else {
    RMP_FZ_CHECK(n == n0 && (n0 == 0 || memcmp(before, p->allocs.v, n0 * sizeof before[0]) == 0));
  }
  pm_check_table(m, p);
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
  long double alloc_n, alloc_bytes, live_n, live_bytes; /* sums of weight, weight * size */
  int frac[2]; /* a weight that is not a whole number: [alloc, live] */
  int seen;
} pm_group;

static uint64_t pm_age_floor(uint32_t now, uint32_t epoch) {
  uint64_t age = (uint32_t)(now - epoch), p = 1; /* ages are modulo 2^32 */
  if (age == 0) return 0;
  while (p * 2 <= age) p *= 2;
  return p;
}

static int pm_same_class(const pm *m, uint8_t a, uint8_t b) {
  return m->cls[a].n == m->cls[b].n && memcmp(m->cls[a].b, m->cls[b].b, m->cls[a].n) == 0;
}

/* One sample of weight w into its group: a weight below 1 (or NaN) counts
 * 1; a size of 0 adds no bytes, whatever the weight. */
RMP_FZ_NOCOV static void pm_add(const pm *m, pm_group *g, uint32_t *ng, const pm_obj *o, uint32_t now, int live,
                                float w) {
  uint64_t age = pm_age_floor(now, o->epoch);
  long double we = w >= 1.0f ? (long double)w : 1.0L;
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
  if (we != floorl(we)) x->frac[live] = 1;
  if (live) {
    uint64_t size = o->size > UINT32_MAX ? UINT32_MAX : o->size;
    x->live_n += we;
    if (size) x->live_bytes += we * (long double)size;
  } else {
    x->alloc_n += we;
    if (o->size) x->alloc_bytes += we * (long double)o->size;
  }
}

/* A value against the model's sum: rounded, saturating at INT64_MAX (an
 * infinite weight too); the encoder adds in doubles, so off by at most 1
 * or a relative 1e-12, and exact for whole weights below 2^53. */
static void pm_check_value(int64_t got, long double want, int frac) {
  if (getenv("RMP_FUZZ_VERBOSE")) fprintf(stderr, "value: got %lld want %.21Lg\n", (long long)got, want);
  RMP_FZ_CHECK(want >= 0);
  if (want >= 9223372036854775807.0L) { /* also +inf */
    RMP_FZ_CHECK((long double)got >= 9223372036854775807.0L * (1 - 1e-12L));
    return;
  }
  if (want == 0) {
    RMP_FZ_CHECK(got == 0);
    return;
  }
  long double diff = fabsl((long double)got - want);
  RMP_FZ_CHECK(got >= 0 && diff <= 1.0L + want * 1e-12L);
  if (!frac && want < 9007199254740992.0L) RMP_FZ_CHECK((long double)got == floorl(want + 0.5L));
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
  RMP_FZ_CHECK(d->drop_frames == 0 && d->keep_frames == 0);
  /* One mapping, id 1, with the names already in place, and the
   * program's name (the last string) when the caller gave one. */
  RMP_FZ_CHECK(d->nmappings == 1);
  const pprof_mapping *mp = &d->mappings[0];
  RMP_FZ_CHECK(mp->id == 1 && mp->has_functions && mp->has_filenames && mp->has_line_numbers);
  RMP_FZ_CHECK(!mp->has_inline_frames && mp->memory_start == 0 && mp->memory_limit == 0 && mp->file_offset == 0);
  RMP_FZ_CHECK(mp->build_id == 0);
  const char *prog = x->opts && x->opts->program && x->opts->program[0] ? x->opts->program : NULL;
  if (prog) {
    RMP_FZ_CHECK(mp->filename == (int64_t)d->strings.count - 1);
    RMP_FZ_CHECK(pm_str_is(d, mp->filename, (const unsigned char *)prog, strlen(prog)));
  } else {
    RMP_FZ_CHECK(mp->filename == 0);
  }
}

/* The system_name a function must show: none when it equals the name
 * (rmp_pprof_emit_functions_ says why). */
static int pm_sys_ok(const pm *m, uint8_t k, const pprof_profile *d, int64_t got) {
  const pm_bytes *sys = &m->sys[k], *name = &m->name[k];
  if (sys->n == name->n && memcmp(sys->b, name->b, sys->n) == 0) return got == 0;
  return pm_str_is(d, got, sys->b, sys->n);
}

/* Frame i of sample s: its location (one line, mapping 1, no address),
 * that line, and its function. */
typedef struct pm_frame {
  const pprof_location *loc;
  const pprof_line *line;
  const pprof_function *fn;
} pm_frame;
RMP_FZ_NOCOV static pm_frame pm_frame_of(const pprof_profile *d, const pprof_sample *s, uint32_t i) {
  pm_frame f;
  f.loc = pprof_find_location(d, d->location_ids[s->loc_off + i]);
  RMP_FZ_CHECK(f.loc->nlines == 1 && f.loc->mapping_id == 1 && f.loc->address == 0);
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
      ok = f.line->line == c->st->line[i] && pm_sys_ok(m, c->st->func[i], d, f.fn->system_name);
    }
    if (ok) return c;
  }
  return NULL;
}

/* Samples: one per group, frames, labels and values as the model says.
 * Location and function ids must mean one frame / one function each, and
 * none may go unused. */
RMP_FZ_NOCOV static void pm_check_samples(const pm *m, pm_group *g, uint32_t ng, const pprof_profile *d) {
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
    pm_check_value(v[0], hit->alloc_n, hit->frac[0]);
    pm_check_value(v[1], hit->alloc_bytes, hit->frac[0]);
    pm_check_value(v[2], hit->live_n, hit->frac[1]);
    pm_check_value(v[3], hit->live_bytes, hit->frac[1]);
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

/* "key=v": v reads back as want, in as few significant digits as do (one
 * fewer, rounded, reads back as something else). */
RMP_FZ_NOCOV static void pm_check_double(const char *text, double want) {
  double r = strtod(text, NULL);
  RMP_FZ_CHECK(r == want || (isnan(r) && isnan(want)));
  if (!isfinite(want) || want == 0) return;
  int digits = 0, lead = 1;
  for (const char *c = text; *c && *c != 'e' && *c != 'E'; c++) {
    if (*c < '0' || *c > '9') continue;
    if (lead && *c == '0') continue;
    lead = 0;
    digits++;
  }
  RMP_FZ_CHECK(digits >= 1 && digits <= 17);
  if (digits > 1) {
    char shorter[64];
    snprintf(shorter, sizeof shorter, "%.*e", digits - 2, want);
    RMP_FZ_CHECK(strtod(shorter, NULL) != want);
  }
}

/* "key=n" says n. */
static int pm_count_is(const char *buf, const char *key, uint64_t n) {
  size_t k = strlen(key);
  if (strncmp(buf, key, k) != 0 || buf[k] != '=') return 0;
  RMP_FZ_CHECK(strtoull(buf + k + 1, NULL, 10) == n);
  return 1;
}

/* Strings: the snapshot's, nine fixed ones, the comments, then the
 * program's name if any (pm_check_header checks it); the
 * comments say what the snapshot says (rates possibly corrupted) and what
 * the model counted this interval, the caller's last. */
RMP_FZ_NOCOV static void pm_check_comments(const pm *m, const pm_expect *x, const pprof_profile *d) {
  const rmp_pprof_opts *o = x->opts;
  uint32_t nuser = o && o->comments ? (uint32_t)o->ncomments : 0;
  int prog = o && o->program && o->program[0];
  RMP_FZ_CHECK(d->strings.count == x->nstrings + 9 + d->ncomments + (uint32_t)prog);
  RMP_FZ_CHECK(d->ncomments == 12 + (o && o->pid != 0) + nuser);
  for (uint32_t i = 0; i < d->ncomments; i++) RMP_FZ_CHECK(d->comments[i] == (int64_t)(x->nstrings + 9 + i));
  for (uint32_t i = 0; i < nuser; i++) {
    const char *c = o->comments[i];
    RMP_FZ_CHECK(pm_str_is(d, d->comments[d->ncomments - nuser + i], (const unsigned char *)c, strlen(c)));
  }
  int saw_rate = 0, saw_pid = 0, saw_heap = 0, saw_allocs = 0, saw_counts = 0, saw_rule = 0;
  uint64_t young = 0;
  for (uint32_t i = 0; i < m->nlive; i++) young += (uint32_t)(x->epoch_now - m->live[i].epoch) < m->min_age;
  for (uint32_t i = 0; i + nuser < d->ncomments; i++) {
    /* Strings are stored with a NUL after them: parse them in place. */
    const char *buf = pprof_str(d, d->comments[i]);
    RMP_FZ_CHECK(pprof_str_len(d, d->comments[i]) < 200);
    if (strncmp(buf, "sample_rate=", 12) == 0) {
      pm_check_double(buf + 12, x->sample_rate);
      saw_rate++;
    } else if (strncmp(buf, "allocation_retain_rate=", 23) == 0) {
      pm_check_double(buf + 23, x->retain_rate);
    } else if (strncmp(buf, "heap_sample_probability=", 24) == 0) {
      pm_check_double(buf + 24, ldexp(m->rate, -(int)m->k));
      saw_counts++;
    } else if (strncmp(buf, "pid=", 4) == 0) {
      RMP_FZ_CHECK(o && strtoll(buf + 4, NULL, 10) == o->pid);
      saw_pid++;
    } else if (pm_count_is(buf, "dropped_heap_samples", m->heap_dropped)) {
      saw_heap++;
    } else if (pm_count_is(buf, "dropped_allocation_samples", m->allocs_dropped)) {
      saw_allocs++;
    } else if (pm_count_is(buf, "dropped_stacks", x->stacks_dropped) ||
               pm_count_is(buf, "heap_thinnings", m->thinnings - m->thinnings_at_rotate) ||
               pm_count_is(buf, "allocation_candidates", m->seen) ||
               pm_count_is(buf, "allocation_samples", m->nallocs) ||
               pm_count_is(buf, "young_objects_left_out", young)) {
      saw_counts++;
    } else if (strcmp(buf, "values are estimates: each sample counts 1/(the probability that it was kept)") == 0) {
      saw_rule++;
    }
  }
  RMP_FZ_CHECK(saw_rate == 1 && saw_heap == 1 && saw_allocs == 1 && saw_counts == 6 && saw_rule == 1);
  RMP_FZ_CHECK(saw_pid == (o && o->pid != 0));
}

/* A rotation's snapshot against the model, before encoding: the interval's
 * counts, the live entries old enough (each weighing what the model says),
 * and the reservoir's samples in order, each weighing candidates / kept /
 * (rate * retain). */
RMP_FZ_NOCOV static void pm_check_snapshot(const pm *m, const rmp_snapshot *snap, uint32_t epoch_now) {
  uint32_t old = 0;
  RMP_FZ_CHECK(snap->epoch_now == epoch_now);
  for (uint32_t i = 0; i < m->nlive; i++) old += (uint32_t)(epoch_now - m->live[i].epoch) >= m->min_age;
  RMP_FZ_CHECK(snap->nlive == old && snap->young_left_out == m->nlive - old);
  for (uint32_t j = 0; j < snap->nlive; j++) {
    int i = pm_find_live(m, snap->live[j].addr);
    RMP_FZ_CHECK(i >= 0 && snap->live[j].epoch == m->live[i].epoch);
    RMP_FZ_CHECK(snap->live[j].weight >= 1.0f && snap->live[j].weight == pm_live_weight(m, &m->live[i]));
  }
  RMP_FZ_CHECK(snap->nallocs == m->nallocs && snap->nallocs <= m->max_allocs);
  RMP_FZ_CHECK(snap->alloc_candidates == m->seen);
  float w = pm_alloc_weight(m);
  if (m->nallocs && m->seen > m->nallocs) w = (float)((double)w * ((double)m->seen / (double)m->nallocs));
  for (uint32_t j = 0; j < snap->nallocs; j++) {
    RMP_FZ_CHECK(snap->allocs[j].size == m->allocs[j].size && snap->allocs[j].epoch == m->allocs[j].epoch);
    RMP_FZ_CHECK(snap->allocs[j].weight >= 1.0f && snap->allocs[j].weight == w);
  }
  RMP_FZ_CHECK(snap->heap_thinnings == m->thinnings - m->thinnings_at_rotate);
  RMP_FZ_CHECK(snap->heap_keep == ldexp(m->rate, -(int)m->k));
  RMP_FZ_CHECK(snap->heap_dropped == m->heap_dropped && snap->allocs_dropped == m->allocs_dropped);
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
  float wa = pm_alloc_weight(m);
  if (m->nallocs && m->seen > m->nallocs) wa = (float)((double)wa * ((double)m->seen / (double)m->nallocs));
  for (uint32_t i = 0; i < m->nlive; i++) {
    const pm_obj *o = &m->live[i];
    if ((uint32_t)(x->epoch_now - o->epoch) < m->min_age) continue; /* left out */
    pm_add(m, g, &ng, o, x->epoch_now, 1, o->has_w ? o->w : pm_live_weight(m, o));
  }
  for (uint32_t i = 0; i < m->nallocs; i++)
    pm_add(m, g, &ng, &m->allocs[i], x->epoch_now, 0, m->allocs[i].has_w ? m->allocs[i].w : wa);
  pm_check_header(x, &d);
  pm_check_samples(m, g, ng, &d);
  pm_check_comments(m, x, &d);
  pprof_profile_free(&d);
}

/* After a rotation: the interval's samples and counts are gone, the live
 * table stays; while it is at most a quarter full, k steps back by one. */
static void pm_rotated(pm *m, const rmp_profiler *p) {
  m->nallocs = 0;
  m->seen = 0;
  m->heap_dropped = m->allocs_dropped = 0;
  m->thinnings_at_rotate = m->thinnings;
  if (m->k > 0 && m->nlive <= m->max_live / 4) m->k--;
  for (uint32_t i = 0; i < m->nlive; i++) m->live[i].has_w = 0;
  pm_check_table(m, p);
}

#endif
