/* Randomized differential test of rmp_live against a direct-indexed model.
 * Addresses come from a fixed pool, so the model is an array over pool
 * indices. The pool is adversarial: multiples of 2^20, and addresses that
 * share a home slot at every capacity (one cluster wrapping past the end of
 * the array, one at its start), plus random aligned ones. The bound is small
 * and changes, so inserts into a full table are frequent. It runs twice:
 * one table, then split (rmp_live_split_young), where an entry must sit in
 * the young part exactly while it is not flagged RMP_LIVE_OLD.
 * Usage: test_diff_live [ops] (default 1e6 per run). */
#include <string.h>

#include "check.h"
#include "live_addrs.h"
#include "rmp.h"

#define NPOOL 1024
#define MAXBOUND 300

static uintptr_t pool[NPOOL];
static struct sorted_addr {
  uintptr_t a;
  int i;
} sorted[NPOOL];

static int m_present[NPOOL];
static rmp_live_entry m_ent[NPOOL];
static uint32_t m_count, m_max;
static uint64_t m_dropped, m_replaced;
static int m_split;

static int cmp_addr(const void *x, const void *y) {
  uintptr_t a = ((const struct sorted_addr *)x)->a, b = ((const struct sorted_addr *)y)->a;
  return a < b ? -1 : a > b;
}

static int pool_index(uintptr_t a) {
  int lo = 0, hi = NPOOL - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (sorted[mid].a == a) return sorted[mid].i;
    if (sorted[mid].a < a) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}

static void make_pool(rmpt_rand *r) {
  for (int i = 0; i < NPOOL; i++) {
    switch (i % 4) {
    case 0: pool[i] = (uintptr_t)(i / 4 + 1) << 20; break;
    case 1: pool[i] = rmpt_colliding_addr(r, (1u << RMPT_HOME_BITS) - 1); break;
    case 2: pool[i] = rmpt_colliding_addr(r, (uint32_t)(i / 4) % 4); break;
    default: pool[i] = (uintptr_t)(rmpt_next(r) & ~UINT64_C(15)) | 16; break;
    }
    sorted[i].a = pool[i];
    sorted[i].i = i;
  }
  qsort(sorted, NPOOL, sizeof sorted[0], cmp_addr);
  for (int i = 1; i < NPOOL; i++) CHECK(sorted[i].a != sorted[i - 1].a);
}

static rmp_live_entry random_entry(rmpt_rand *r, uintptr_t addr) {
  rmp_live_entry e;
  uint64_t x = rmpt_next(r);
  memset(&e, 0, sizeof e);
  e.addr = addr;
  e.stack = (uint32_t)x;
  e.klass = (uint32_t)(x >> 32);
  x = rmpt_next(r);
  e.epoch = (uint32_t)x;
  e.size = (uint32_t)(x >> 32);
  x = rmpt_next(r);
  e.flags = ((uint32_t)x & 0xffff0000u) | ((x & 3) == 0 ? RMP_LIVE_OLD : 0);
  return e;
}

static int same_entry(const rmp_live_entry *a, const rmp_live_entry *b) {
  return a->addr == b->addr && a->stack == b->stack && a->klass == b->klass && a->epoch == b->epoch &&
         a->size == b->size && a->flags == b->flags;
}

static void check_one(const rmp_live *t, int i) {
  const rmp_live_entry *e = rmp_live_lookup(t, pool[i]);
  if (m_present[i]) {
    CHECKF(e != NULL, "pool[%d] missing", i);
    CHECK(same_entry(e, &m_ent[i]));
  } else {
    CHECKF(e == NULL, "pool[%d] present but not in the model", i);
  }
}

/* One part: the probe invariant, and the part each entry belongs in. */
static uint32_t check_tab(const rmp_live_tab *t, int young) {
  uint32_t occupied = 0;
  CHECK(((t->mask + 1) & t->mask) == 0 && t->count <= t->mask / 2 + 1);
  for (uint32_t s = 0; s <= t->mask; s++) {
    uintptr_t a = t->slots[s].addr;
    if (!a) continue;
    occupied++;
    int i = pool_index(a);
    CHECK(i >= 0 && m_present[i]);
    /* The probe invariant: no empty slot between home and slot. */
    for (uint32_t j = rmp_live_home_(t, a); j != s; j = (j + 1) & t->mask) CHECK(t->slots[j].addr != 0);
    if (m_split) CHECKF((!(t->slots[s].flags & RMP_LIVE_OLD)) == young, "pool[%d] in the wrong part", i);
  }
  CHECK(occupied == t->count);
  return occupied;
}

static void check_all(const rmp_live *t) {
  uint32_t occupied;
  CHECK(t->count == m_count && t->dropped == m_dropped && t->replaced == m_replaced);
  for (int i = 0; i < NPOOL; i++) check_one(t, i);
  occupied = check_tab(&t->main, 0);
  CHECK((t->young.slots != NULL) == m_split);
  if (m_split) occupied += check_tab(&t->young, 1);
  CHECK(occupied == m_count);
}

typedef struct sweep_ud {
  rmpt_rand *r;
  uint32_t keep_per_1024;
  int visits[NPOOL];
  size_t deleted;
  int young_only;
} sweep_ud;

static int sweep_keep(void *ud, rmp_live_entry *e) {
  sweep_ud *s = (sweep_ud *)ud;
  int i = pool_index(e->addr);
  CHECK(i >= 0 && m_present[i]);
  CHECK(same_entry(e, &m_ent[i]));
  CHECKF(++s->visits[i] == 1, "sweep visited pool[%d] twice", i);
  if (s->young_only) CHECK(!(e->flags & RMP_LIVE_OLD));
  if (rmpt_below(s->r, 1024) >= s->keep_per_1024) {
    s->deleted++;
    return 0; /* the model is updated after the sweep */
  }
  e->epoch ^= 0x5A5A5A5Au; /* keep may edit fields other than addr */
  e->size += 1;
  if (rmpt_below(s->r, 4) == 0) e->flags |= RMP_LIVE_OLD; /* seen old: leaves the young part */
  m_ent[i] = *e;
  return 1;
}

typedef struct move_ud {
  int dest[NPOOL]; /* pool index an address moves to, or -1 */
  uint64_t calls;
} move_ud;

static uintptr_t move_loc(void *ud, uintptr_t a) {
  move_ud *m = (move_ud *)ud;
  int i = pool_index(a);
  m->calls++;
  CHECK(i >= 0);
  return m->dest[i] >= 0 ? pool[m->dest[i]] : a;
}

static void run(long ops, int split, rmpt_rand *rp) {
  rmpt_rand r = *rp;
  rmp_live t;
  static sweep_ud sw;
  static move_ud mv;
  long n_full = 0, n_sweeps = 0, n_young_sweeps = 0, n_rekeys = 0, n_moves = 0, n_replace = 0;
  memset(m_present, 0, sizeof m_present);
  m_count = 0;
  m_dropped = m_replaced = 0;
  m_split = split;
  m_max = 1 + rmpt_below(&r, MAXBOUND);
  CHECK(rmp_live_init(&t, m_max) == RMP_OK);
  if (split) CHECK(rmp_live_split_young(&t) == RMP_OK);

  for (long op = 0; op < ops; op++) {
    uint32_t kind = rmpt_below(&r, 1000);
    int i = (int)rmpt_below(&r, NPOOL);
    if (kind < 380) { /* insert */
      rmp_live_entry e = random_entry(&r, pool[i]);
      rmp_status s = rmp_live_insert(&t, &e);
      if (m_present[i]) {
        CHECK(s == RMP_OK);
        m_replaced++;
        n_replace++;
        m_ent[i] = e;
      } else if (m_count >= m_max) {
        CHECK(s == RMP_ERR_FULL);
        m_dropped++;
        n_full++;
      } else {
        CHECK(s == RMP_OK);
        m_present[i] = 1;
        m_ent[i] = e;
        m_count++;
      }
    } else if (kind < 580) { /* lookup */
      check_one(&t, i);
    } else if (kind < 830) { /* delete */
      CHECK(rmp_live_delete(&t, pool[i]) == m_present[i]);
      if (m_present[i]) m_count--;
      m_present[i] = 0;
    } else if (kind < 980) { /* move, possibly onto a tracked address */
      int j = (int)rmpt_below(&r, NPOOL);
      if (rmpt_below(&r, 4) == 0) j = i;
      CHECK(rmp_live_move(&t, pool[i], pool[j]) == m_present[i]);
      if (m_present[i] && i != j) {
        if (m_present[j]) m_count--;
        m_ent[j] = m_ent[i];
        m_ent[j].addr = pool[j];
        m_present[j] = 1;
        m_present[i] = 0;
        n_moves++;
      }
    } else if (kind < 988) { /* sweep deleting a random subset, of all or of the young part */
      int young_only = rmpt_below(&r, 2) == 0, want[NPOOL];
      memset(sw.visits, 0, sizeof sw.visits);
      sw.r = &r;
      sw.keep_per_1024 = rmpt_below(&r, 1025);
      sw.deleted = 0;
      sw.young_only = young_only;
      for (int k = 0; k < NPOOL; k++)
        want[k] = m_present[k] && (!young_only || (m_split && !(m_ent[k].flags & RMP_LIVE_OLD)));
      if (young_only)
        CHECK(rmp_live_sweep_young(&t, sweep_keep, &sw) == sw.deleted);
      else
        CHECK(rmp_live_sweep(&t, sweep_keep, &sw) == sw.deleted);
      for (int k = 0; k < NPOOL; k++) {
        CHECK(sw.visits[k] == want[k]); /* every entry it covers exactly once */
        if (m_present[k] && !rmp_live_lookup(&t, pool[k])) {
          m_present[k] = 0;
          m_count--;
        }
      }
      CHECK(t.count == m_count);
      if (young_only) n_young_sweeps++; else n_sweeps++;
      check_all(&t);
    } else if (kind < 996) { /* rekey: a random subset moves to free addresses */
      int nmoved = 0, free_idx[NPOOL], nfree = 0;
      for (int k = 0; k < NPOOL; k++) {
        mv.dest[k] = -1;
        if (!m_present[k]) free_idx[nfree++] = k;
      }
      /* destinations: distinct, untracked, never themselves sources */
      for (int k = 0; k < NPOOL && nfree > 0; k++) {
        if (!m_present[k] || rmpt_below(&r, 3) != 0) continue;
        int f = (int)rmpt_below(&r, (uint32_t)nfree);
        mv.dest[k] = free_idx[f];
        free_idx[f] = free_idx[--nfree];
        nmoved++;
      }
      mv.calls = 0;
      CHECK(rmp_live_rekey(&t, move_loc, &mv) == (size_t)nmoved);
      CHECK(mv.calls >= m_count);
      rmp_live_entry tmp[NPOOL];
      int src[NPOOL], ns = 0;
      for (int k = 0; k < NPOOL; k++)
        if (mv.dest[k] >= 0) {
          src[ns] = k;
          tmp[ns++] = m_ent[k];
          m_present[k] = 0;
        }
      for (int s = 0; s < ns; s++) {
        int d = mv.dest[src[s]];
        m_present[d] = 1;
        m_ent[d] = tmp[s];
        m_ent[d].addr = pool[d];
      }
      n_rekeys++;
      check_all(&t);
    } else { /* change the bound; a lowered one keeps what is there */
      m_max = 1 + rmpt_below(&r, MAXBOUND);
      CHECK(rmp_live_set_max(&t, m_max) == RMP_OK);
    }
    CHECK(t.count == m_count && t.dropped == m_dropped && t.replaced == m_replaced);
    if ((op & 4095) == 0) check_all(&t);
  }
  check_all(&t);
  printf("live%s: %ld ops (%ld refused as full, %ld replaced, %ld moves, %ld sweeps, %ld young sweeps, %ld rekeys), "
         "final capacity %u\n", split ? " (split)" : "", ops, n_full, n_replace, n_moves, n_sweeps, n_young_sweeps,
         n_rekeys, rmp_live_nslots(&t));
  CHECK(n_full > 0 && n_sweeps > 0 && n_young_sweeps > 0 && n_rekeys > 0);
  rmp_live_free(&t);
  *rp = r;
}

int main(int argc, char **argv) {
  long ops = rmpt_ops_arg(argc, argv, 1000000);
  rmpt_rand r = {0xD1FF11FE};
  make_pool(&r);
  run(ops, 0, &r);
  run(ops, 1, &r);
  return 0;
}
