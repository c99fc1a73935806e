/* fuzz_live: byte-coded operations on rmp_live, each followed by a full
 * comparison with a naive model (an unordered array searched linearly).
 *
 * Addresses come from pools chosen to hurt open addressing: many addresses
 * whose home slot is identical (x << 48 | c hashes to the home of c for any
 * table smaller than 2^16 slots), clusters that wrap past the last slot, and
 * addresses already present. */
#include "fuzz_impl.h"

typedef char rmp_fz_needs_64bit_addresses[sizeof(uintptr_t) >= 8 ? 1 : -1];

#define MODEL_CAP 256 /* > the largest bound the harness ever sets */
#define MAX_BOUND 160

typedef struct model {
  rmp_live_entry e[MODEL_CAP];
  uint32_t n;
  uint32_t max;
  uint64_t dropped, replaced;
} model;

RMP_FZ_NOCOV static int model_find(const model *m, uintptr_t addr) {
  for (uint32_t i = 0; i < m->n; i++)
    if (m->e[i].addr == addr) return (int)i;
  return -1;
}
static void model_remove_at(model *m, int i) { m->e[i] = m->e[--m->n]; }

/* The one home slot, for the current table size, that the table's last slot
 * wraps from: c with home(c) == mask, so a cluster there must wrap to 0. */
static uintptr_t wrap_low_bits(const rmp_live *t) {
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
  case 3: /* a cluster whose home is the last slot: probes wrap to slot 0 */
    return ((uintptr_t)(x % 32 + 1) << 48) | wrap_low_bits(t);
  case 4: /* something already tracked */
    if (m->n) return m->e[x % m->n].addr;
    return (uintptr_t)(x + 1) * 40;
  default: { /* anything nonzero */
    uintptr_t a = (uintptr_t)rmp_fz_u64(f);
    return a ? a : 1;
  }
  }
}

RMP_FZ_NOCOV static void check_all(const rmp_live *t, const model *m, const uintptr_t *probe, int nprobe) {
  RMP_FZ_CHECK(t->count == m->n);
  RMP_FZ_CHECK(t->dropped == m->dropped);
  RMP_FZ_CHECK(t->replaced == m->replaced);
  RMP_FZ_CHECK(t->max == m->max);
  RMP_FZ_CHECK(t->count <= t->mask); /* one empty slot at least, or lookups never end */
  for (uint32_t i = 0; i < m->n; i++) {
    const rmp_live_entry *e = rmp_live_lookup(t, m->e[i].addr);
    RMP_FZ_CHECK(e != NULL);
    RMP_FZ_CHECK(memcmp(e, &m->e[i], sizeof *e) == 0);
  }
  /* Every occupied slot is reachable from its home: a table whose probe
   * chains were broken by a deletion would fail here before a lookup did. */
  uint32_t occupied = 0;
  for (uint32_t s = 0; s <= t->mask; s++) {
    const rmp_live_entry *e = &t->slots[s];
    if (e->addr == 0) continue;
    occupied++;
    RMP_FZ_CHECK(rmp_live_lookup(t, e->addr) == e);
    RMP_FZ_CHECK(model_find(m, e->addr) >= 0);
  }
  RMP_FZ_CHECK(occupied == m->n);
  for (int i = 0; i < nprobe; i++)
    if (probe[i] && model_find(m, probe[i]) < 0) RMP_FZ_CHECK(rmp_live_lookup(t, probe[i]) == NULL);
}

typedef struct sweep_ctx {
  model *m;
  uint64_t seed;
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
  uint64_t r = rmp_fz_mix(c->seed ^ e->addr);
  if (r & 1) { /* keep, and edit a field as the API allows */
    e->epoch += (uint32_t)(r >> 8) & 3;
    c->m->e[i].epoch = e->epoch;
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
  m.max = rmp_fz_u8(&f) % 40 + 1;
  RMP_FZ_CHECK(rmp_live_init(&t, m.max) == RMP_OK);
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
      probe[0] = e.addr;
      if (op % 8 == 7) rmp_fz_fail_in = 0; /* growing the table fails */
      rmp_status st = rmp_live_insert(&t, &e);
      int nomem = op % 8 == 7 && rmp_fz_fail_in < 0 && st == RMP_ERR_NOMEM;
      rmp_fz_fail_in = -1;
      int i = model_find(&m, e.addr);
      if (e.addr == 0) {
        RMP_FZ_CHECK(st == RMP_ERR_INVALID);
      } else if (nomem) {
        RMP_FZ_CHECK(st == RMP_ERR_NOMEM && i < 0 && m.n < m.max);
        m.dropped++;
      } else if (i >= 0) {
        RMP_FZ_CHECK(st == RMP_OK);
        m.e[i] = e;
        m.replaced++;
      } else if (m.n >= m.max) {
        RMP_FZ_CHECK(st == RMP_ERR_FULL);
        m.dropped++;
      } else {
        RMP_FZ_CHECK(st == RMP_OK);
        m.e[m.n++] = e;
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
        rmp_live_entry e = m.e[i];
        model_remove_at(&m, i);
        int j = model_find(&m, to);
        if (j >= 0) model_remove_at(&m, j);
        e.addr = to;
        m.e[m.n++] = e;
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
    case 4: { /* sweep: keep or drop each entry pseudo-randomly */
      static sweep_ctx c;
      c.m = &m;
      c.seed = rmp_fz_u64(&f);
      c.nseen = 0;
      uint32_t before = m.n;
      size_t removed = rmp_live_sweep(&t, sweep_keep, &c);
      RMP_FZ_CHECK(c.nseen == before);
      RMP_FZ_CHECK(removed == before - m.n);
      break;
    }
    case 5: { /* rekey: a pseudo-random subset of entries move */
      static rekey_ctx c;
      c.n = 0;
      c.calls = 0;
      uint8_t sel = rmp_fz_u8(&f);
      uint64_t seed = rmp_fz_u8(&f);
      if ((seed & 4) && sel) sel = 0xff; /* everything moves: more than one chunk */
      for (uint32_t i = 0; i < m.n; i++) {
        if (!((sel >> (i % 8)) & 1)) continue;
        /* Fresh destinations, often in the same collision cluster. */
        for (uint64_t k = 0;; k++) {
          uintptr_t to = (seed & 1) ? (m.e[i].addr & ~(((uintptr_t)1 << 48) - 1)) +
                                          ((uintptr_t)1 << 48) * (k + 1) + (m.e[i].addr & 0xffff)
                                    : (uintptr_t)(rmp_fz_mix(seed + k + i * 1000) | 8);
          if (!to || addr_used(&m, &c, to)) continue;
          c.from[c.n] = m.e[i].addr;
          c.to[c.n++] = to;
          break;
        }
      }
      /* Odd seeds deny the scratch list: the bounded-pass fallback runs. */
      if (seed & 2) rmp_fz_fail_in = 0;
      size_t moved = rmp_live_rekey(&t, rekey_loc, &c);
      rmp_fz_fail_in = -1;
      RMP_FZ_CHECK(moved == c.n);
      for (uint32_t i = 0; i < c.n; i++) m.e[model_find(&m, c.from[i])].addr = c.to[i];
      break;
    }
    case 6: { /* set_max: entries over a lowered bound stay */
      uint32_t mx = rmp_fz_u8(&f) % (MAX_BOUND + 1);
      if (mx == 0) {
        RMP_FZ_CHECK(rmp_live_set_max(&t, 0) == RMP_ERR_INVALID);
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
