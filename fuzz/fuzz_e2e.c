/* fuzz_e2e: the embedder's whole loop. Allocation events go through
 * rmp_sample_tick; the samples it keeps for something are interned and
 * tracked as decided (into a small live table, thinned when full, and a
 * small allocations reservoir); objects die in sweeps
 * (GC end-of-mark), move one by one and in compactions (rekey); the clock
 * ticks; each rotation is encoded with rmp_pprof_encode_gzip, appended to a
 * buffer that already holds bytes, gunzipped with zlib and decoded with
 * nanopb (proto/pprof_decode.h, which wants one gzip member alone), and
 * checked against the model like fuzz_encode does. */
#define RMP_FUZZ_WITH_PPROF
#include "fuzz_impl.h"
#include "fuzz_heap_model.h"

typedef struct sweep_ctx {
  pm *m;
  const rmp_live *t;
  uint64_t seed;
  uint32_t visited;
  int minor;
} sweep_ctx;

static int sweep_keep(void *ud, rmp_live_entry *e) {
  sweep_ctx *c = (sweep_ctx *)ud;
  int i = pm_find_live(c->m, e->addr);
  RMP_FZ_CHECK(i >= 0);
  c->visited++;
  if (c->minor) RMP_FZ_CHECK(e >= c->t->young.slots && e <= c->t->young.slots + c->t->young.mask);
  uint64_t r = rmp_fz_mix(c->seed ^ e->addr);
  if (r & 1) {
    /* Survivors are promoted now and then: in a split table they move to
     * the main part. */
    if (r & 2) e->flags |= RMP_LIVE_OLD;
    return 1;
  }
  c->m->live[i] = c->m->live[--c->m->nlive];
  return 0;
}

typedef struct rekey_ctx {
  uintptr_t from[PM_OBJS], to[PM_OBJS];
  uint32_t n;
} rekey_ctx;

static uintptr_t rekey_loc(void *ud, uintptr_t a) {
  rekey_ctx *c = (rekey_ctx *)ud;
  for (uint32_t i = 0; i < c->n; i++)
    if (c->from[i] == a) return c->to[i];
  return a;
}

static void rotate_and_check(rmp_fz *f, pm *m, rmp_profiler *p, uint64_t now) {
  rmp_snapshot snap;
  uint64_t start = m->last_rotate_ns;
  RMP_FZ_CHECK(rmp_profiler_rotate(p, &snap, NULL, 0, now, m->clock) == RMP_OK);
  m->last_rotate_ns = now;
  pm_check_snapshot(m, &snap, m->clock);

  /* The profile is appended after what the buffer already holds. */
  rmp_buf out = {NULL, 0, 0};
  size_t prefix = rmp_fz_u8(f) % 5;
  for (size_t i = 0; i < prefix; i++) RMP_FZ_CHECK(rmp_buf_sink(&out, "gzip", 4) == 0);
  rmp_pprof_opts opts = {(int64_t)rmp_fz_u32(f), NULL, 0, "fuzz_e2e"};
  uint8_t fault = rmp_fz_u8(f);
  if (fault >= 0xC0) rmp_fz_fail_in = fault & 0x3f;
  rmp_status st = rmp_pprof_encode_gzip(&snap, &opts, &out);
  rmp_fz_fail_in = -1;
  if (st != RMP_OK) {
    RMP_FZ_CHECK(fault >= 0xC0 && st == RMP_ERR_NOMEM);
    RMP_FZ_CHECK(out.len == prefix * 4); /* restored */
    RMP_FZ_CHECK(rmp_pprof_encode_gzip(&snap, &opts, &out) == RMP_OK);
  }
  for (size_t i = 0; i < prefix; i++) RMP_FZ_CHECK(memcmp(out.data + 4 * i, "gzip", 4) == 0);
  RMP_FZ_CHECK(out.len > prefix * 4 + 18 && out.data[prefix * 4] == 0x1f && out.data[prefix * 4 + 1] == 0x8b);

  pm_expect x;
  x.sample_rate = snap.sample_rate;
  x.retain_rate = snap.retain_rate;
  x.epoch_now = m->clock;
  x.start_ns = start;
  x.end_ns = now;
  x.stacks_dropped = snap.stacks_dropped;
  x.nstrings = snap.strings.count;
  x.opts = &opts;
  pm_check_profile(m, &x, out.data + prefix * 4, out.len - prefix * 4);
  rmp_buf_free(&out);
  rmp_snapshot_free(&snap);
  pm_rotated(m, p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rmp_fz f = {data, size};
  static pm m;
  rmp_profiler p;
  pm_setup(&f, &m, &p);
  uint64_t now = 1000;
  uint64_t taken = 0;
  while (rmp_fz_more(&f)) {
    uint8_t op = rmp_fz_u8(&f);
    switch (op % 8) {
    case 0: case 1: case 2: { /* allocations: the sampler decides */
      uint32_t n = op >> 3;
      for (uint32_t i = 0; i <= n; i++) {
        uint64_t seen0 = p.allocs.seen;
        rmp_decision d = rmp_sample_tick(&p);
        if (p.samples_taken == taken) { /* the countdown said no */
          RMP_FZ_CHECK(d == 0 && p.allocs.seen == seen0);
          continue;
        }
        taken++;
        pm_track(&f, &m, &p, d, 1, seen0);
      }
      RMP_FZ_CHECK(p.samples_taken == taken);
      break;
    }
    case 3: { /* a GC: the unmarked die; 0x80 in a split table: a minor GC, only young objects */
      sweep_ctx c = {&m, &p.live, rmp_fz_u64(&f), 0, (op & 0x80) && p.live.young.slots};
      uint32_t before = m.nlive, visits = c.minor ? p.live.young.count : before;
      size_t removed = c.minor ? rmp_live_sweep_young(&p.live, sweep_keep, &c) : rmp_live_sweep(&p.live, sweep_keep, &c);
      RMP_FZ_CHECK(c.visited == visits && removed == before - m.nlive && p.live.count == m.nlive);
      m.clock++;
      break;
    }
    case 4: { /* one object moves */
      if (!m.nlive) break;
      pm_obj *o = &m.live[rmp_fz_u8(&f) % m.nlive];
      uintptr_t to = (m.next_addr += 16) | ((uintptr_t)1 << 44);
      RMP_FZ_CHECK(rmp_live_move(&p.live, o->addr, to) == 1);
      o->addr = to;
      break;
    }
    case 5: { /* a compaction: a chosen subset moves, onto fresh addresses (bit 44 set: never an
                 address pm_track hands out, nor an earlier destination) */
      static rekey_ctx c;
      uint64_t sel = rmp_fz_u64(&f);
      c.n = 0;
      for (uint32_t i = 0; i < m.nlive; i++)
        if ((sel >> (i % 64)) & 1) {
          c.from[c.n] = m.live[i].addr;
          c.to[c.n++] = (m.next_addr += 16) | ((uintptr_t)1 << 44);
        }
      RMP_FZ_CHECK(rmp_live_rekey(&p.live, rekey_loc, &c) == c.n);
      for (uint32_t i = 0; i < c.n; i++) m.live[pm_find_live(&m, c.from[i])].addr = c.to[i];
      for (uint32_t i = 0; i < m.nlive; i++) RMP_FZ_CHECK(rmp_live_lookup(&p.live, m.live[i].addr) != NULL);
      break;
    }
    case 6: pm_kill(&m, &p, rmp_fz_u8(&f)); break;
    default: /* flush */
      now += rmp_fz_u16(&f);
      rotate_and_check(&f, &m, &p, now);
      break;
    }
    pm_check_table(&m, &p);
  }
  rotate_and_check(&f, &m, &p, now + 1);
  rmp_profiler_free(&p);
  return 0;
}
