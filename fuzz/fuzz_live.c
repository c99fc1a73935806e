/* fuzz_live: byte-coded operations on rmp_live, each followed by a full
 * comparison with a naive model (an unordered array searched linearly).
 *
 * Addresses come from pools chosen to hurt open addressing: many addresses
 * whose home slot is identical (x << 48 | c hashes to the home of c for any
 * table smaller than 2^16 slots), clusters that wrap past the last slot, and
 * addresses already present.
 *
 * The first byte's top bit splits the table (rmp_live_split_young) before
 * anything goes in, so the young part, promotion into the main part and
 * moves between the parts run under the same checks; the model then also
 * says which part each entry is in. */
#include "fuzz_impl.h"

typedef char rmp_fz_needs_64bit_addresses[sizeof(uintptr_t) >= 8 ? 1 : -1];

#define MODEL_CAP 256 /* > the largest bound the harness ever sets */
#define MAX_BOUND 160

typedef struct model {
  rmp_live_entry e[MODEL_CAP];
  /* young[i]: in the young part. stray[i]: in the part its flags do not
   * name, which only a failed allocation may cause (an insert that
   * overwrote in place, a promotion the main part had no room for). */
  uint8_t young[MODEL_CAP], stray[MODEL_CAP];
  uint32_t n;
  uint32_t max;
  int split;
  uint64_t dropped, replaced;
} model;

RMP_FZ_NOCOV static int model_find(const model *m, uintptr_t addr) {
  for (uint32_t i = 0; i < m->n; i++)
    if (m->e[i].addr == addr) return (int)i;
  return -1;
}
static void model_remove_at(model *m, int i) {
  m->n--;
  m->e[i] = m->e[m->n];
  m->young[i] = m->young[m->n];
  m->stray[i] = m->stray[m->n];
}
static void model_add(model *m, const rmp_live_entry *e, int young) {
  m->e[m->n] = *e;
  m->young[m->n] = (uint8_t)young;
  m->stray[m->n++] = 0;
}
/* The part an entry's flags name. */
static int model_wants_young(const model *m, const rmp_live_entry *e) {
  return m->split && !(e->flags & RMP_LIVE_OLD);
}

/* The one home slot, for the current table size, that the table's last slot
 * wraps from: c with home(c) == mask, so a cluster there must wrap to 0. */
static uintptr_t wrap_low_bits(const rmp_live_tab *t) {
  for (uintptr_t c = 8; c < ((uintptr_t)t->mask + 1) * 64 + 4096; c += 8)
    if (rmp_live_home_(t, c) == t->mask) return c;
  return 8;
}

static uintptr_t pick_addr(rmp_fz *f, const rmp_live *t, const model *m) {
  uint8_t mode = rmp_fz_u8(f);
  uint8_t x = rmp_fz_u8(f);
  if (mode == 255) return 0; /* the empty-slot marker: never tracked */
  switch (mode % 6) {
  case 0: /* small aligned heap addresses */
    return (uintptr_t)(x % 64 + 1) * 40;
  case 1: /* one shared home slot, whatever the capacity */
    return ((uintptr_t)(x % 48 + 1) << 48) | 0x10;
  case 2: /* a second full-collision cluster, adjacent homes interleave */
    return ((uintptr_t)(x % 48 + 1) << 48) | (uintptr_t)(8 * (mode / 6 % 4 + 1));
  case 3: /* a cluster whose home is the last slot of either part: probes wrap to slot 0 */
    return ((uintptr_t)(x % 32 + 1) << 48) | wrap_low_bits(t->young.slots && (mode / 6) % 2 ? &t->young : &t->main);
  case 4: /* something already tracked */
    if (m->n) return m->e[x % m->n].addr;
    return (uintptr_t)(x + 1) * 40;
  default: { /* anything nonzero */
    uintptr_t a = (uintptr_t)rmp_fz_u64(f);
    return a ? a : 1;
  }
  }
}

static int in_young(const rmp_live *t, const rmp_live_entry *e) {
  return t->young.slots && e >= t->young.slots && e <= t->young.slots + t->young.mask;
}

/* One part: its count, load at most 1/2 (an empty slot ends every probe),
 * every occupied slot reachable from its home in this part and through
 * rmp_live_lookup (which would find a copy in the other part first), and
 * in the part the model says. */
RMP_FZ_NOCOV static uint32_t check_part(const rmp_live *t, const rmp_live_tab *tab, const model *m, int young) {
  uint32_t occupied = 0;
  RMP_FZ_CHECK((uint64_t)tab->count * 2 <= (uint64_t)tab->mask + 1);
  for (uint32_t s = 0; s <= tab->mask; s++) {
    const rmp_live_entry *e = &tab->slots[s];
    if (e->addr == 0) continue;
    occupied++;
    RMP_FZ_CHECK(rmp_live_find_(tab, e->addr) == e);
    RMP_FZ_CHECK(rmp_live_lookup(t, e->addr) == e);
    int i = model_find(m, e->addr);
    RMP_FZ_CHECK(i >= 0);
    RMP_FZ_CHECK(m->young[i] == young);
  }
  RMP_FZ_CHECK(occupied == tab->count);
  return occupied;
}

RMP_FZ_NOCOV static void check_all(const rmp_live *t, const model *m, const uintptr_t *probe, int nprobe) {
  RMP_FZ_CHECK(t->count == m->n);
  RMP_FZ_CHECK(t->dropped == m->dropped);
  RMP_FZ_CHECK(t->replaced == m->replaced);
  RMP_FZ_CHECK(t->max == m->max);
  RMP_FZ_CHECK((t->young.slots != NULL) == m->split);
  RMP_FZ_CHECK(t->count == t->main.count + t->young.count);
  for (uint32_t i = 0; i < m->n; i++) {
    const rmp_live_entry *e = rmp_live_lookup(t, m->e[i].addr);
    RMP_FZ_CHECK(e != NULL);
    RMP_FZ_CHECK(memcmp(e, &m->e[i], sizeof *e) == 0);
    /* Young iff not flagged old, unless an allocation failure kept it. */
    if (!m->stray[i]) RMP_FZ_CHECK(m->young[i] == model_wants_young(m, &m->e[i]));
    RMP_FZ_CHECK(m->split || !m->young[i]);
  }
  /* A table whose probe chains were broken by a deletion would fail here
   * before a lookup did. */
  uint32_t occupied = check_part(t, &t->main, m, 0);
  if (m->split) occupied += check_part(t, &t->young, m, 1);
  else RMP_FZ_CHECK(t->young.count == 0);
  RMP_FZ_CHECK(occupied == m->n);
  /* The one-index walk the profiler uses sees both parts. */
  uint32_t walked = 0, nslots = rmp_live_nslots(t);
  RMP_FZ_CHECK(nslots == t->main.mask + 1 + (m->split ? t->young.mask + 1 : 0));
  for (uint32_t s = 0; s < nslots; s++) walked += rmp_live_slot(t, s)->addr != 0;
  RMP_FZ_CHECK(walked == m->n);
  for (int i = 0; i < nprobe; i++)
    if (probe[i] && model_find(m, probe[i]) < 0) RMP_FZ_CHECK(rmp_live_lookup(t, probe[i]) == NULL);
}

typedef struct sweep_ctx {
  model *m;
  const rmp_live *t;
  uint64_t seed;
  int young_only;
  uintptr_t seen[MODEL_CAP];
  uint32_t nseen;
} sweep_ctx;

static int sweep_keep(void *ud, rmp_live_entry *e) {
  sweep_ctx *c = (sweep_ctx *)ud;
  for (uint32_t i = 0; i < c->nseen; i++) RMP_FZ_CHECK(c->seen[i] != e->addr); /* once each */
  RMP_FZ_CHECK(c->nseen < MODEL_CAP);
  c->seen[c->nseen++] = e->addr;
  int i = model_find(c->m, e->addr);
  RMP_FZ_CHECK(i >= 0);
  RMP_FZ_CHECK(memcmp(e, &c->m->e[i], sizeof *e) == 0);
  RMP_FZ_CHECK(in_young(c->t, e) == c->m->young[i]);
  RMP_FZ_CHECK(!c->young_only || c->m->young[i]);
  uint64_t r = rmp_fz_mix(c->seed ^ e->addr);
  if (r & 1) { /* keep, and edit fields as the API allows */
    e->epoch += (uint32_t)(r >> 8) & 3;
    c->m->e[i].epoch = e->epoch;
    /* Seen old (Ruby: promoted), as a GC's pass would flag it: a young
     * entry moves to the main part. Nothing ever clears the flag. */
    if ((r >> 12) & 1) e->flags |= RMP_LIVE_OLD;
    c->m->e[i].flags = e->flags;
    return 1;
  }
  model_remove_at(c->m, i);
  return 0;
}

/* A compacting GC's rb_gc_location: movers go to fresh addresses, which (and
 * everything else) map to themselves, so the function is idempotent and
 * injective over what is tracked. */
typedef struct rekey_ctx {
  uintptr_t from[MODEL_CAP], to[MODEL_CAP];
  uint32_t n;
  uint64_t calls;
} rekey_ctx;

static uintptr_t rekey_loc(void *ud, uintptr_t addr) {
  rekey_ctx *c = (rekey_ctx *)ud;
  c->calls++;
  for (uint32_t i = 0; i < c->n; i++)
    if (c->from[i] == addr) return c->to[i];
  return addr;
}

static int addr_used(const model *m, const rekey_ctx *c, uintptr_t a) {
  if (model_find(m, a) >= 0) return 1;
  for (uint32_t i = 0; i < c->n; i++)
    if (c->to[i] == a) return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rmp_fz f = {data, size};
  static model m;
  rmp_live t;
  memset(&m, 0, sizeof m);
  uint8_t b0 = rmp_fz_u8(&f);
  m.max = b0 % 40 + 1;
  RMP_FZ_CHECK(rmp_live_init(&t, m.max) == RMP_OK);
  if (b0 & 0x80) {
    RMP_FZ_CHECK(rmp_live_split_young(&t) == RMP_OK);
    m.split = 1;
  }
  check_all(&t, &m, NULL, 0);

  while (rmp_fz_more(&f)) {
    uint8_t op = rmp_fz_u8(&f);
    uintptr_t probe[2] = {0, 0};
    switch (op % 8) {
    case 0:
    case 7: { /* insert */
      rmp_live_entry e;
      memset(&e, 0, sizeof e);
      e.addr = pick_addr(&f, &t, &m);
      e.stack = rmp_fz_u8(&f);
      e.klass = rmp_fz_u8(&f);
      e.epoch = rmp_fz_u16(&f);
      e.size = rmp_fz_u32(&f);
      /* From bytes already read, so that older inputs keep their layout:
       * the old flag, and embedder bits that must come back untouched. */
      e.flags = (e.stack >> 7 ? RMP_LIVE_OLD : 0) | (uint32_t)(e.klass & 0xf0) << 12;
      probe[0] = e.addr;
      if (op % 8 == 7) rmp_fz_fail_in = 0; /* growing the table fails */
      rmp_status st = rmp_live_insert(&t, &e);
      /* Armed and consumed: the one allocation the insert tried failed. */
      int failed = op % 8 == 7 && rmp_fz_fail_in < 0;
      rmp_fz_fail_in = -1;
      int i = model_find(&m, e.addr);
      int want_young = model_wants_young(&m, &e);
      if (e.addr == 0) {
        RMP_FZ_CHECK(st == RMP_ERR_INVALID);
      } else if (i >= 0) {
        /* Tracked already: moved to the part its flags name, or, when the
         * other part could not grow, overwritten where it is. */
        RMP_FZ_CHECK(st == RMP_OK);
        RMP_FZ_CHECK(!failed || m.young[i] != want_young);
        m.e[i] = e;
        if (!failed) m.young[i] = (uint8_t)want_young;
        m.stray[i] = m.young[i] != want_young;
        m.replaced++;
      } else if (m.n >= m.max) {
        RMP_FZ_CHECK(st == RMP_ERR_FULL && !failed);
        m.dropped++;
      } else if (failed) {
        RMP_FZ_CHECK(st == RMP_ERR_NOMEM);
        m.dropped++;
      } else {
        RMP_FZ_CHECK(st == RMP_OK);
        model_add(&m, &e, want_young);
      }
      break;
    }
    case 1: { /* delete */
      uintptr_t a = pick_addr(&f, &t, &m);
      probe[0] = a;
      int i = model_find(&m, a);
      RMP_FZ_CHECK(rmp_live_delete(&t, a) == (i >= 0));
      RMP_FZ_CHECK(a != 0 || i < 0);
      if (i >= 0) model_remove_at(&m, i);
      break;
    }
    case 2: { /* move: the destination held a dead object, if anything */
      uintptr_t from = pick_addr(&f, &t, &m), to = pick_addr(&f, &t, &m);
      probe[0] = from;
      probe[1] = to;
      int i = to ? model_find(&m, from) : -1;
      RMP_FZ_CHECK(rmp_live_move(&t, from, to) == (i >= 0));
      if (i >= 0 && from != to) {
        /* It stays in its part, whichever part held `to`. */
        rmp_live_entry e = m.e[i];
        int young = m.young[i], stray = m.stray[i];
        model_remove_at(&m, i);
        int j = model_find(&m, to);
        if (j >= 0) model_remove_at(&m, j);
        e.addr = to;
        model_add(&m, &e, young);
        m.stray[m.n - 1] = (uint8_t)stray;
      }
      break;
    }
    case 3: { /* lookup */
      uintptr_t a = pick_addr(&f, &t, &m);
      int i = model_find(&m, a);
      const rmp_live_entry *e = rmp_live_lookup(&t, a);
      RMP_FZ_CHECK((e != NULL) == (i >= 0));
      break;
    }
    case 4: { /* sweep (0x40: the young part only): keep or drop each entry pseudo-randomly */
      static sweep_ctx c;
      c.m = &m;
      c.t = &t;
      c.seed = rmp_fz_u64(&f);
      c.young_only = (op & 0x40) != 0;
      c.nseen = 0;
      uint32_t before = m.n, young_before = t.young.count, peak_before = t.young_peak;
      uint64_t young_cap = (uint64_t)t.young.mask + 1;
      /* 0x80: the first allocation fails, a promotion's growth of the main
       * part or the young part's shrink. */
      if (op & 0x80) rmp_fz_fail_in = 0;
      size_t removed = c.young_only ? rmp_live_sweep_young(&t, sweep_keep, &c) : rmp_live_sweep(&t, sweep_keep, &c);
      int failed = (op & 0x80) && rmp_fz_fail_in < 0;
      rmp_fz_fail_in = -1;
      RMP_FZ_CHECK(c.nseen == (c.young_only ? young_before : before));
      RMP_FZ_CHECK(removed == before - m.n);
      /* Every young entry was visited: those flagged old are in the main
       * part now, but for one whose promotion found no memory. */
      uint32_t left = 0;
      for (uint32_t i = 0; i < m.n; i++) {
        if (!m.young[i] || !(m.e[i].flags & RMP_LIVE_OLD)) continue;
        const rmp_live_entry *e = rmp_live_lookup(&t, m.e[i].addr);
        RMP_FZ_CHECK(e != NULL);
        if (in_young(&t, e)) {
          left++;
          m.stray[i] = 1;
        } else {
          m.young[i] = 0;
          m.stray[i] = 0;
        }
      }
      RMP_FZ_CHECK(left == 0 || (failed && left == 1));
      /* A sweep never grows the young part; it shrinks it to what the
       * peak (the young entries before a sweep, decaying by 1/8 per sweep)
       * needs when it is twice that, or leaves it (also when the
       * shrink itself found no memory). */
      if (m.split) {
        uint64_t need = 64, cap = (uint64_t)t.young.mask + 1;
        uint32_t peak = peak_before - peak_before / 8;
        if (young_before > peak) peak = young_before;
        RMP_FZ_CHECK(t.young_peak == peak);
        while (need < (uint64_t)peak * 2) need *= 2;
        uint64_t fit = young_cap >= need * 2 && (uint64_t)t.young.count * 2 <= need ? need : young_cap;
        RMP_FZ_CHECK(cap == fit || (failed && cap == young_cap));
      }
      break;
    }
    case 5: { /* rekey: a pseudo-random subset of entries move */
      static rekey_ctx c;
      c.n = 0;
      c.calls = 0;
      uint8_t sel = rmp_fz_u8(&f);
      uint64_t seed = rmp_fz_u8(&f);
      if ((seed & 4) && sel) sel = 0xff; /* everything moves: more than one chunk */
      for (uint32_t i = 0; i < m.n; i++)
        if ((sel >> (i % 8)) & 1) c.from[c.n++] = m.e[i].addr;
      /* 8: a mover may land on the address of an entry that stays put: that
       * object had died unnoticed, so the address was free for the move
       * (loc stays idempotent: the dead entry maps to itself). */
      static uint8_t dead[MODEL_CAP];
      memset(dead, 0, sizeof dead);
      for (uint32_t k = 0; k < c.n; k++) {
        uint32_t i = (uint32_t)model_find(&m, c.from[k]);
        uintptr_t to = 0;
        if (seed & 8) {
          uint32_t j = (uint32_t)(rmp_fz_mix(seed + k) % m.n);
          if (!dead[j] && !((sel >> (j % 8)) & 1)) {
            dead[j] = 1;
            to = m.e[j].addr;
          }
        }
        /* Fresh destinations, often in the same collision cluster. */
        for (uint64_t q = 0; !to; q++) {
          to = (seed & 1) ? (m.e[i].addr & ~(((uintptr_t)1 << 48) - 1)) + ((uintptr_t)1 << 48) * (q + 1) +
                                (m.e[i].addr & 0xffff)
                          : (uintptr_t)(rmp_fz_mix(seed + q + i * 1000) | 8);
          if (to && addr_used(&m, &c, to)) to = 0;
        }
        c.to[k] = to;
      }
      /* Odd seeds deny the scratch list: the bounded-pass fallback runs. */
      if (seed & 2) rmp_fz_fail_in = 0;
      size_t moved = rmp_live_rekey(&t, rekey_loc, &c);
      rmp_fz_fail_in = -1;
      RMP_FZ_CHECK(moved == c.n);
      /* Movers keep their part; a dead entry they landed on is gone from
       * either part. */
      for (uint32_t k = 0; k < c.n; k++) {
        int j = model_find(&m, c.to[k]);
        if (j >= 0) model_remove_at(&m, j);
      }
      for (uint32_t k = 0; k < c.n; k++) m.e[model_find(&m, c.from[k])].addr = c.to[k];
      break;
    }
    case 6: { /* set_max: entries over a lowered bound stay */
      uint32_t mx = rmp_fz_u8(&f) % (MAX_BOUND + 1);
      if (mx == 0) {
        RMP_FZ_CHECK(rmp_live_set_max(&t, 0) == RMP_ERR_INVALID);
        /* And a late split: only of an empty table, only once; 0x80 makes
         * its allocation fail, which leaves the table unsplit. */
        if (op & 0x80) rmp_fz_fail_in = 0;
        rmp_status st = rmp_live_split_young(&t);
        int failed = (op & 0x80) && rmp_fz_fail_in < 0;
        rmp_fz_fail_in = -1;
        if (m.split || m.n) {
          RMP_FZ_CHECK(st == RMP_ERR_INVALID && !failed);
        } else if (failed) {
          RMP_FZ_CHECK(st == RMP_ERR_NOMEM);
        } else {
          RMP_FZ_CHECK(st == RMP_OK);
          m.split = 1;
        }
        break;
      }
      RMP_FZ_CHECK(rmp_live_set_max(&t, mx) == RMP_OK);
      m.max = mx;
      break;
    }
    }
    check_all(&t, &m, probe, 2);
  }
  rmp_live_free(&t);
  return 0;
}
