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

int main(void) {
  test_basics();
  test_bound();
  sweep_case(500, 0, 3, 1);
  sweep_case(500, (1u << RMPT_HOME_BITS) - 1, 2, 2); /* cluster wraps around */
  sweep_case(300, (1u << RMPT_HOME_BITS) - 3, 1, 3); /* delete everything */
  sweep_case(64, 12345, 1000, 4);                     /* delete only entry 0 */
  test_rekey();
  puts("unit live OK");
  return 0;
}
