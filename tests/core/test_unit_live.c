/* Unit tests: rmp_live (the live-object table). */
#include <string.h>

#include "check.h"
#include "live_addrs.h"
#include "rmp.h"

static rmp_live_entry ent(uintptr_t addr, uint32_t tag) {
  rmp_live_entry e;
  memset(&e, 0, sizeof e);
  e.addr = addr;
  e.stack = tag;
  e.klass = tag * 3 + 1;
  e.epoch = tag * 7 + 2;
  e.size = tag * 11 + 3;
  return e;
}

static void expect(const rmp_live *t, uintptr_t addr, uint32_t tag) {
  const rmp_live_entry *e = rmp_live_lookup(t, addr);
  rmp_live_entry x = ent(addr, tag);
  CHECKF(e != NULL, "addr %#llx missing", (unsigned long long)addr);
  CHECK(e->addr == addr && e->stack == x.stack && e->klass == x.klass && e->epoch == x.epoch && e->size == x.size);
}

static void test_basics(void) {
  rmp_live t;
  CHECK(sizeof(rmp_live_entry) <= 32);
  CHECK(rmp_live_init(&t, 0) == RMP_ERR_INVALID);
  CHECK(rmp_live_init(&t, 1000) == RMP_OK);
  CHECK(t.count == 0 && t.max == 1000 && ((t.main.mask + 1) & t.main.mask) == 0 && !t.young.slots);
  CHECK(rmp_live_lookup(&t, 0x1000) == NULL);
  CHECK(rmp_live_lookup(&t, 0) == NULL);
  rmp_live_entry z = ent(0, 1);
  CHECK(rmp_live_insert(&t, &z) != RMP_OK); /* 0 is the empty-slot marker */
  CHECK(t.count == 0);

  rmp_live_entry e = ent(0x1000, 1);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(t.count == 1);
  expect(&t, 0x1000, 1);
  /* Same address again: overwritten and counted, not duplicated. */
  e = ent(0x1000, 2);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(t.count == 1 && t.replaced == 1);
  expect(&t, 0x1000, 2);

  CHECK(rmp_live_delete(&t, 0x2000) == 0);
  CHECK(rmp_live_delete(&t, 0x1000) == 1);
  CHECK(rmp_live_delete(&t, 0x1000) == 0);
  CHECK(t.count == 0 && rmp_live_lookup(&t, 0x1000) == NULL);

  /* Move: to a free address, to itself, from an absent one, onto a tracked one. */
  e = ent(0x10, 5);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(rmp_live_move(&t, 0x10, 0x20) == 1);
  CHECK(rmp_live_lookup(&t, 0x10) == NULL);
  expect(&t, 0x20, 5);
  CHECK(rmp_live_move(&t, 0x20, 0x20) == 1);
  expect(&t, 0x20, 5);
  CHECK(rmp_live_move(&t, 0x30, 0x40) == 0);
  CHECK(rmp_live_lookup(&t, 0x40) == NULL && t.count == 1);
  e = ent(0x50, 6);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(rmp_live_move(&t, 0x50, 0x20) == 1); /* 0x20's old object died unnoticed */
  expect(&t, 0x20, 6);
  CHECK(rmp_live_lookup(&t, 0x50) == NULL && t.count == 1);

  /* Sizes saturate only in rmp_track; the table stores what it is given. */
  e = ent(0x60, 0);
  e.size = UINT32_MAX;
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(rmp_live_lookup(&t, 0x60)->size == UINT32_MAX);
  rmp_live_free(&t);
}

static void test_bound(void) {
  rmp_live t;
  CHECK(rmp_live_init(&t, 10) == RMP_OK);
  for (uint32_t i = 1; i <= 10; i++) {
    rmp_live_entry e = ent(i * 64, i);
    CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  }
  rmp_live_entry e = ent(11 * 64, 11);
  CHECK(rmp_live_insert(&t, &e) == RMP_ERR_FULL);
  CHECK(t.dropped == 1 && t.count == 10 && rmp_live_lookup(&t, 11 * 64) == NULL);
  CHECK(rmp_live_insert(&t, &e) == RMP_ERR_FULL);
  CHECK(t.dropped == 2);
  /* An address already tracked is not "past the bound". */
  e = ent(3 * 64, 33);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(t.dropped == 2 && t.count == 10);
  expect(&t, 3 * 64, 33);
  /* Moving within a full table is fine too. */
  CHECK(rmp_live_move(&t, 3 * 64, 100 * 64) == 1);
  expect(&t, 100 * 64, 33);
  CHECK(rmp_live_delete(&t, 100 * 64) == 1);
  e = ent(11 * 64, 11);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  expect(&t, 11 * 64, 11);

  /* Lowering the bound keeps what is there and refuses new entries. */
  CHECK(rmp_live_set_max(&t, 0) == RMP_ERR_INVALID);
  CHECK(rmp_live_set_max(&t, 5) == RMP_OK);
  CHECK(t.count == 10);
  for (uint32_t i = 1; i <= 11; i++)
    if (i != 3) expect(&t, i * 64, i);
  e = ent(12 * 64, 12);
  CHECK(rmp_live_insert(&t, &e) == RMP_ERR_FULL);
  for (uint32_t i = 1; i <= 6; i++) CHECK(rmp_live_delete(&t, i * 64) == (i != 3));
  CHECK(t.count == 5);
  CHECK(rmp_live_insert(&t, &e) == RMP_ERR_FULL);
  CHECK(rmp_live_delete(&t, 7 * 64) == 1);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(rmp_live_set_max(&t, 1000) == RMP_OK);
  for (uint32_t i = 100; i < 600; i++) {
    rmp_live_entry x = ent(i * 64, i);
    CHECK(rmp_live_insert(&t, &x) == RMP_OK);
  }
  CHECK(t.count == 505);
  rmp_live_free(&t);
}

typedef struct sweep_ud {
  uintptr_t *addrs;
  int *visits;
  int n;
  uint32_t delete_mod;
} sweep_ud;

static int sweep_keep(void *ud, rmp_live_entry *e) {
  sweep_ud *s = (sweep_ud *)ud;
  int i;
  for (i = 0; i < s->n; i++)
    if (s->addrs[i] == e->addr) break;
  CHECKF(i < s->n, "sweep visited an unknown address %#llx", (unsigned long long)e->addr);
  s->visits[i]++;
  if (i % s->delete_mod == 0) return 0;
  e->epoch += 1000; /* keep may edit everything but addr */
  return 1;
}

/* Sweep a table whose entries all share one home slot (one long cluster,
 * wrapping past the end of the array), deleting every delete_mod'th. */
static void sweep_case(int n, uint32_t home, uint32_t delete_mod, uint64_t seed) {
  rmp_live t;
  rmpt_rand r = {seed};
  sweep_ud s;
  s.addrs = (uintptr_t *)malloc((size_t)n * sizeof *s.addrs);
  s.visits = (int *)calloc((size_t)n, sizeof *s.visits);
  CHECK(s.addrs && s.visits);
  s.n = n;
  s.delete_mod = delete_mod;
  CHECK(rmp_live_init(&t, (uint32_t)n) == RMP_OK);
  for (int i = 0; i < n; i++) {
    /* half collide on one home, a quarter on the next, the rest anywhere */
    uintptr_t a;
    int dup;
    do {
      a = i % 4 < 2 ? rmpt_colliding_addr(&r, home) : i % 4 == 2 ? rmpt_colliding_addr(&r, home + 1)
                                                                 : (uintptr_t)(rmpt_next(&r) & ~UINT64_C(7));
      dup = a == 0;
      for (int j = 0; j < i && !dup; j++) dup = s.addrs[j] == a;
    } while (dup);
    s.addrs[i] = a;
    rmp_live_entry e = ent(a, (uint32_t)i);
    CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  }
  size_t removed = rmp_live_sweep(&t, sweep_keep, &s);
  int expect_removed = 0;
  for (int i = 0; i < n; i++) {
    CHECKF(s.visits[i] == 1, "entry %d visited %d times", i, s.visits[i]);
    if (i % (int)delete_mod == 0) {
      expect_removed++;
      CHECK(rmp_live_lookup(&t, s.addrs[i]) == NULL);
    } else {
      const rmp_live_entry *e = rmp_live_lookup(&t, s.addrs[i]);
      CHECK(e != NULL && e->epoch == (uint32_t)i * 7 + 2 + 1000 && e->stack == (uint32_t)i);
    }
  }
  CHECK(removed == (size_t)expect_removed && t.count == (uint32_t)(n - expect_removed));
  rmp_live_free(&t);
  free(s.addrs);
  free(s.visits);
}

typedef struct move_map {
  uintptr_t from[256], to[256];
  int n, calls;
} move_map;

static uintptr_t move_loc(void *ud, uintptr_t a) {
  move_map *m = (move_map *)ud;
  m->calls++;
  for (int i = 0; i < m->n; i++)
    if (m->from[i] == a) return m->to[i];
  return a; /* idempotent: destinations are never sources */
}

static void test_rekey(void) {
  rmp_live t;
  rmpt_rand r = {5};
  move_map m;
  uintptr_t addrs[200];
  CHECK(rmp_live_init(&t, 200) == RMP_OK);
  for (int i = 0; i < 200; i++) {
    /* clustered: multiples of 2^20 */
    addrs[i] = (uintptr_t)(i + 1) << 20;
    rmp_live_entry e = ent(addrs[i], (uint32_t)i);
    CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  }
  /* Move every third object to a colliding address that nothing occupies. */
  m.n = 0;
  m.calls = 0;
  for (int i = 0; i < 200; i += 3) {
    m.from[m.n] = addrs[i];
    m.to[m.n++] = rmpt_colliding_addr(&r, 7);
  }
  CHECK(rmp_live_rekey(&t, move_loc, &m) == (size_t)m.n);
  CHECK(t.count == 200);
  for (int i = 0, j = 0; i < 200; i++) {
    if (i % 3 == 0) {
      CHECK(rmp_live_lookup(&t, addrs[i]) == NULL);
      expect(&t, m.to[j++], (uint32_t)i);
    } else {
      expect(&t, addrs[i], (uint32_t)i);
    }
  }
  /* Idempotent loc: a second pass moves nothing. */
  CHECK(rmp_live_rekey(&t, move_loc, &m) == 0);
  CHECK(t.count == 200);
  rmp_live_free(&t);
}

/* ---- the split table: a young part and a main part ---- */

static rmp_live_entry entf(uintptr_t addr, uint32_t tag, uint32_t flags) {
  rmp_live_entry e = ent(addr, tag);
  e.flags = flags;
  return e;
}

/* 1 in the young part, 0 in the main part, -1 absent. */
static int part_of(const rmp_live *t, uintptr_t addr) {
  const rmp_live_entry *e = rmp_live_lookup(t, addr);
  if (!e) return -1;
  return t->young.slots && e >= t->young.slots && e <= t->young.slots + t->young.mask;
}

/* Counts that add up, each part's entries reachable from their home in it. */
static void check_parts(const rmp_live *t) {
  uint32_t n[2] = {0, 0};
  const rmp_live_tab *tab[2] = {&t->main, &t->young};
  CHECK(t->count == t->main.count + t->young.count);
  for (int k = 0; k < 2; k++) {
    if (!tab[k]->slots) continue;
    for (uint32_t i = 0; i <= tab[k]->mask; i++) {
      const rmp_live_entry *e = &tab[k]->slots[i];
      if (!e->addr) continue;
      n[k]++;
      CHECK(rmp_live_find_(tab[k], e->addr) == e && rmp_live_lookup(t, e->addr) == e);
    }
  }
  CHECKF(n[0] == t->main.count && n[1] == t->young.count, "main %u/%u young %u/%u", n[0], t->main.count, n[1],
         t->young.count);
}

static void test_split_basics(void) {
  rmp_live t;
  CHECK(rmp_live_init(&t, 100) == RMP_OK);
  rmp_live_entry e = ent(0x1000, 1);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  /* Entries already in the main part would be in the wrong part. */
  CHECK(rmp_live_split_young(&t) == RMP_ERR_INVALID);
  CHECK(!t.young.slots && t.main.count == 1 && t.count == 1);
  CHECK(rmp_live_delete(&t, 0x1000) == 1);
  CHECK(rmp_live_split_young(&t) == RMP_OK);
  CHECK(t.young.slots != NULL && t.young.count == 0);
  rmp_live_entry *young_slots = t.young.slots;
  CHECK(rmp_live_split_young(&t) == RMP_ERR_INVALID); /* twice: the young part stays as it is */
  CHECK(t.young.slots == young_slots);

  /* Not flagged old: young, whatever the embedder's bits say. */
  e = entf(0x1000, 1, 0);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  e = entf(0x2000, 2, 0xffff0000u);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  e = entf(0x3000, 3, RMP_LIVE_OLD);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  e = entf(0x4000, 4, RMP_LIVE_OLD | 0x10000u);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(part_of(&t, 0x1000) == 1 && part_of(&t, 0x2000) == 1);
  CHECK(part_of(&t, 0x3000) == 0 && part_of(&t, 0x4000) == 0);
  CHECK(t.young.count == 2 && t.main.count == 2 && t.count == 4 && t.replaced == 0);
  CHECK(rmp_live_lookup(&t, 0x2000)->flags == 0xffff0000u && rmp_live_lookup(&t, 0x4000)->flags == (RMP_LIVE_OLD | 0x10000u));
  CHECK(rmp_live_nslots(&t) == t.main.mask + 1 + t.young.mask + 1);
  uint32_t walked = 0;
  for (uint32_t i = 0; i < rmp_live_nslots(&t); i++) walked += rmp_live_slot(&t, i)->addr != 0;
  CHECK(walked == 4);
  CHECK(rmp_live_delete(&t, 0x1000) == 1 && rmp_live_delete(&t, 0x3000) == 1);
  CHECK(t.young.count == 1 && t.main.count == 1 && t.count == 2);
  check_parts(&t);
  rmp_live_free(&t);
}

/* An address tracked in one part, inserted again or moved onto, across
 * the parts. */
static void test_split_across(void) {
  rmp_live t;
  CHECK(rmp_live_init(&t, 100) == RMP_OK);
  CHECK(rmp_live_split_young(&t) == RMP_OK);
  rmp_live_entry e = entf(0x1000, 1, 0);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  /* Same address, now flagged old: replaced, and in the main part only. */
  e = entf(0x1000, 2, RMP_LIVE_OLD);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(part_of(&t, 0x1000) == 0 && t.young.count == 0 && t.main.count == 1 && t.count == 1 && t.replaced == 1);
  expect(&t, 0x1000, 2);
  /* And a young object at that address again (the old one died unnoticed). */
  e = entf(0x1000, 3, 0);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(part_of(&t, 0x1000) == 1 && t.young.count == 1 && t.main.count == 0 && t.count == 1 && t.replaced == 2);
  expect(&t, 0x1000, 3);
  check_parts(&t);

  /* A young object moves onto an address the main part holds: the dead
   * main entry goes, the mover stays young. */
  e = entf(0x2000, 4, RMP_LIVE_OLD);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(rmp_live_move(&t, 0x1000, 0x2000) == 1);
  CHECK(part_of(&t, 0x1000) == -1 && part_of(&t, 0x2000) == 1);
  CHECK(t.young.count == 1 && t.main.count == 0 && t.count == 1);
  expect(&t, 0x2000, 3);
  /* An old one onto a young one's address: it stays old. */
  e = entf(0x3000, 5, RMP_LIVE_OLD);
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(rmp_live_move(&t, 0x3000, 0x2000) == 1);
  CHECK(part_of(&t, 0x3000) == -1 && part_of(&t, 0x2000) == 0);
  CHECK(t.young.count == 0 && t.main.count == 1 && t.count == 1);
  expect(&t, 0x2000, 5);
  check_parts(&t);
  rmp_live_free(&t);
}

typedef struct young_ud {
  uintptr_t addrs[200];
  int visits[200];
  int n;
  int promote_mod, delete_mod; /* of the index: flag old / delete */
  const rmp_live *t;
  int saw_main; /* a visited entry was in the main part */
} young_ud;

static int young_keep(void *ud, rmp_live_entry *e) {
  young_ud *s = (young_ud *)ud;
  int i;
  for (i = 0; i < s->n; i++)
    if (s->addrs[i] == e->addr) break;
  CHECK(i < s->n);
  s->visits[i]++;
  if (!(s->t->young.slots && e >= s->t->young.slots && e <= s->t->young.slots + s->t->young.mask)) s->saw_main = 1;
  if (i % s->delete_mod == 0) return 0;
  if (i % s->promote_mod == 0) e->flags |= RMP_LIVE_OLD;
  return 1;
}

static void test_split_sweeps(void) {
  rmp_live t;
  rmpt_rand r = {21};
  static young_ud s;
  memset(&s, 0, sizeof s);
  s.t = &t;
  CHECK(rmp_live_init(&t, 1000) == RMP_OK);
  CHECK(rmp_live_split_young(&t) == RMP_OK);
  /* 120 young and 80 old entries, half of each on one home slot. */
  for (int i = 0; i < 200; i++) {
    uintptr_t a = i % 2 ? rmpt_colliding_addr(&r, 5) : (uintptr_t)(i + 1) * 48;
    s.addrs[i] = a;
    rmp_live_entry e = entf(a, (uint32_t)i, i < 120 ? 0 : RMP_LIVE_OLD);
    CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  }
  s.n = 200;
  CHECK(t.young.count == 120 && t.main.count == 80);

  /* A minor GC's pass: only the young entries; every 7th dies, every 3rd
   * of the rest is now old and leaves for the main part. */
  s.delete_mod = 7;
  s.promote_mod = 3;
  size_t removed = rmp_live_sweep_young(&t, young_keep, &s);
  int dead = 0, promoted = 0;
  for (int i = 0; i < 200; i++) {
    CHECKF(s.visits[i] == (i < 120), "entry %d visited %d times", i, s.visits[i]);
    if (i >= 120) {
      CHECK(part_of(&t, s.addrs[i]) == 0);
    } else if (i % 7 == 0) {
      dead++;
      CHECK(part_of(&t, s.addrs[i]) == -1);
    } else if (i % 3 == 0) {
      promoted++;
      CHECK(part_of(&t, s.addrs[i]) == 0 && (rmp_live_lookup(&t, s.addrs[i])->flags & RMP_LIVE_OLD));
      expect(&t, s.addrs[i], (uint32_t)i);
    } else {
      CHECK(part_of(&t, s.addrs[i]) == 1);
    }
  }
  CHECK(!s.saw_main);
  CHECK(removed == (size_t)dead && promoted > 0);
  CHECKF(t.young.count == (uint32_t)(120 - dead - promoted) && t.main.count == (uint32_t)(80 + promoted),
         "young %u main %u", t.young.count, t.main.count);
  CHECK(t.count == (uint32_t)(200 - dead));
  check_parts(&t);

  /* A full pass: each entry once, although the young ones it flags old
   * move into the part it visited first (and make it grow). */
  memset(s.visits, 0, sizeof s.visits);
  s.delete_mod = 1000; /* only entry 0, dead already */
  s.promote_mod = 1;
  uint32_t main_cap = t.main.mask + 1, before = t.count;
  removed = rmp_live_sweep(&t, young_keep, &s);
  for (int i = 0; i < 200; i++) CHECKF(s.visits[i] == (part_of(&t, s.addrs[i]) >= 0), "entry %d: %d visits", i, s.visits[i]);
  CHECK(removed == 0 && t.count == before && t.young.count == 0 && t.main.count == before);
  CHECK(t.main.mask + 1 > main_cap);
  check_parts(&t);
  rmp_live_free(&t);
}

static int keep_few(void *ud, rmp_live_entry *e) {
  (void)ud;
  return e->stack % 20000 == 0;
}

/* A burst of young entries, then minor GCs that find few: the young part
 * keeps its size while the burst's peak decays (by 1/8 per sweep), then
 * shrinks in steps, down to 64 slots. A run of sweeps alternating short and
 * long intervals keeps it at the long ones' size. */
static void test_split_shrink(void) {
  rmp_live t;
  CHECK(rmp_live_init(&t, 200000) == RMP_OK);
  CHECK(rmp_live_split_young(&t) == RMP_OK);
  for (uint32_t i = 0; i < 100000; i++) {
    rmp_live_entry e = entf((uintptr_t)(i + 1) * 40, i, 0);
    CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  }
  uint32_t burst_cap = t.young.mask + 1, prev, sweeps = 1;
  CHECK(burst_cap >= 200000 && t.young.count == 100000 && t.main.count == 0);
  CHECK(rmp_live_sweep_young(&t, keep_few, NULL) == 100000 - 5);
  CHECK(t.young.count == 5 && t.count == 5 && t.young_peak == 100000);
  CHECK(t.young.mask + 1 == burst_cap);
  /* 100,000 * (7/8)^3 = 66,992 still needs 262,144 slots; * (7/8)^4 =
   * 58,618 needs 131,072, half the burst's. */
  for (; sweeps < 4; sweeps++) {
    CHECK(rmp_live_sweep_young(&t, keep_few, NULL) == 0);
    CHECKF(t.young.mask + 1 == burst_cap, "shrunk after %u sweeps", sweeps + 1);
  }
  prev = t.young.mask + 1;
  for (; sweeps < 100 && t.young.mask + 1 > 64; sweeps++) {
    CHECK(rmp_live_sweep_young(&t, keep_few, NULL) == 0);
    CHECK(t.young.mask + 1 <= prev);
    prev = t.young.mask + 1;
  }
  CHECKF(t.young.mask + 1 == 64, "young part of %u slots for 5 entries after %u sweeps", t.young.mask + 1, sweeps);
  CHECK(sweeps > 4 && t.young.count == 5 && t.count == 5);
  for (uint32_t i = 0; i < 100000; i += 20000) expect(&t, (uintptr_t)(i + 1) * 40, i);
  check_parts(&t);

  /* Uneven intervals: 20,000 entries, then 500, over and over. The part
   * settles at what 20,000 need and stays there. */
  uint32_t next = 1000000, settled = 0;
  for (int round = 0; round < 40; round++) {
    uint32_t n = round % 2 ? 500 : 20000;
    for (uint32_t i = 0; i < n; i++, next++) {
      rmp_live_entry e = entf((uintptr_t)next * 40, next, 0);
      CHECK(rmp_live_insert(&t, &e) == RMP_OK);
    }
    rmp_live_sweep_young(&t, keep_few, NULL);
    if (round == 20) settled = t.young.mask + 1;
    if (round > 20) CHECKF(t.young.mask + 1 == settled, "round %d: %u slots, settled at %u", round, t.young.mask + 1, settled);
  }
  CHECK(settled == 65536);
  check_parts(&t);
  rmp_live_free(&t);
}

/* A compacting GC moves objects onto addresses whose objects had died
 * unnoticed, in the other part: the dead entry goes. */
static void test_split_rekey(void) {
  rmp_live t;
  move_map m;
  CHECK(rmp_live_init(&t, 100) == RMP_OK);
  CHECK(rmp_live_split_young(&t) == RMP_OK);
  rmp_live_entry e = entf(0x1000, 1, 0); /* young, moves onto 0x2000 */
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  e = entf(0x2000, 2, RMP_LIVE_OLD); /* main, dead */
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  e = entf(0x3000, 3, RMP_LIVE_OLD); /* main, moves onto 0x4000 */
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  e = entf(0x4000, 4, 0); /* young, dead */
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  e = entf(0x5000, 5, 0); /* young, moves to a free address */
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  e = entf(0x6000, 6, RMP_LIVE_OLD); /* main, stays */
  CHECK(rmp_live_insert(&t, &e) == RMP_OK);
  CHECK(t.young.count == 3 && t.main.count == 3);
  m.n = 3;
  m.calls = 0;
  m.from[0] = 0x1000, m.to[0] = 0x2000;
  m.from[1] = 0x3000, m.to[1] = 0x4000;
  m.from[2] = 0x5000, m.to[2] = 0x7000;
  CHECK(rmp_live_rekey(&t, move_loc, &m) == 3);
  CHECKF(t.count == 4 && t.young.count == 2 && t.main.count == 2, "count %u young %u main %u", t.count,
         t.young.count, t.main.count);
  CHECK(part_of(&t, 0x1000) == -1 && part_of(&t, 0x3000) == -1 && part_of(&t, 0x5000) == -1);
  CHECK(part_of(&t, 0x2000) == 1 && part_of(&t, 0x4000) == 0 && part_of(&t, 0x7000) == 1 && part_of(&t, 0x6000) == 0);
  expect(&t, 0x2000, 1);
  expect(&t, 0x4000, 3);
  expect(&t, 0x7000, 5);
  expect(&t, 0x6000, 6);
  check_parts(&t);
  CHECK(rmp_live_rekey(&t, move_loc, &m) == 0 && t.count == 4);
  rmp_live_free(&t);
}

int main(void) {
  test_basics();
  test_bound();
  sweep_case(500, 0, 3, 1);
  sweep_case(500, (1u << RMPT_HOME_BITS) - 1, 2, 2); /* cluster wraps around */
  sweep_case(300, (1u << RMPT_HOME_BITS) - 3, 1, 3); /* delete everything */
  sweep_case(64, 12345, 1000, 4);                     /* delete only entry 0 */
  test_rekey();
  test_split_basics();
  test_split_across();
  test_split_sweeps();
  test_split_shrink();
  test_split_rekey();
  puts("unit live OK");
  return 0;
}
