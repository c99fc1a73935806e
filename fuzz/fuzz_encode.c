/* fuzz_encode: differential test of rmp_pprof_encode. An arbitrary profile
 * (fuzz_heap_model.h) is built through the profiler API (each allocation
 * decided by rmp_sample_confirm, as if the countdown had said yes; the
 * live table thinned and the reservoir full whenever their small bounds
 * say so) and rotated out; the snapshot is checked against the model, then
 * the raw protobuf is decoded with nanopb and compared with the model. The
 * snapshot's rates may then be corrupted (only the comments and the period
 * read them), and so may sample weights (NaN, 0, negative, below 1: they
 * count 1; +inf saturates; large ones), the sink may fail part way
 * (RMP_ERR_SINK) and any one allocation may fail (RMP_ERR_NOMEM); a failed
 * encoding is retried. */
#define RMP_FUZZ_WITH_PPROF
#include "fuzz_impl.h"
#include "fuzz_heap_model.h"

typedef struct fail_sink {
  rmp_buf buf;
  long calls_left; /* -1: never fail */
} fail_sink;

static int fail_sink_fn(void *ctx, const void *p, size_t n) {
  fail_sink *s = (fail_sink *)ctx;
  if (s->calls_left == 0) return 1;
  if (s->calls_left > 0) s->calls_left--;
  return rmp_buf_sink(&s->buf, p, n);
}

static double corrupt_rate(uint8_t k, double r) {
  switch (k % 8) {
  case 0: return (double)NAN;
  case 1: return -0.5;
  case 2: return 2.0;
  case 3: return (double)INFINITY;
  case 4: return -0.0;
  case 5: return 0x1.0000000000001p+0;
  default: return r;
  }
}

/* Weights a corrupt (or hand-made) snapshot may carry. */
static float corrupt_weight(uint8_t k) {
  static const float w[] = {NAN, 0.0f, -1.0f, 0.5f, 0.999999f, 1.0f, INFINITY, -INFINITY,
                            1.5f, 3e38f, 16777217.0f, 1e-30f, 2.0f, 7.25f, 1e10f, 65536.0f};
  return w[k % 16];
}

/* Byte c picks whether (c & 0x80), and with which stride and offset, some
 * of the snapshot's weights are overwritten; the model gets the same. */
static void corrupt_weights(uint8_t c, pm *m, rmp_snapshot *snap) {
  if (!(c & 0x80)) return;
  uint32_t stride = (c & 7) + 1, k = c >> 3;
  for (uint32_t j = (c >> 5) & 3; j < snap->nlive; j += stride) {
    int i = pm_find_live(m, snap->live[j].addr);
    RMP_FZ_CHECK(i >= 0);
    snap->live[j].weight = m->live[i].w = corrupt_weight((uint8_t)(k + j));
    m->live[i].has_w = 1;
  }
  for (uint32_t j = (c >> 4) & 3; j < snap->nallocs; j += stride) {
    snap->allocs[j].weight = m->allocs[j].w = corrupt_weight((uint8_t)(k + 7 * j));
    m->allocs[j].has_w = 1;
  }
}

static void rotate_and_check(rmp_fz *f, pm *m, rmp_profiler *p, uint64_t now) {
  rmp_snapshot snap;
  uint64_t start = m->last_rotate_ns;
  RMP_FZ_CHECK(rmp_profiler_rotate(p, &snap, NULL, 0, now, m->clock) == RMP_OK);
  m->last_rotate_ns = now;
  pm_check_snapshot(m, &snap, m->clock);
  uint8_t how = rmp_fz_u8(f);
  if (how & 0x80) snap.sample_rate = corrupt_rate(how, snap.sample_rate);
  if (how & 0x40) snap.retain_rate = corrupt_rate(how >> 3, snap.retain_rate);

  static const char *const user[] = {"built by fuzz_encode", "\xff\xfe not utf-8 \xc3", "", "ok \xe2\x82\xac"};
  static const char *const programs[] = {NULL, "fuzz_encode", "", "bin/\xff\xc3 not utf-8"};
  rmp_pprof_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.pid = (int64_t)rmp_fz_u64(f);
  opts.comments = user;
  /* One byte picks both, so older corpus inputs still read the same. */
  uint8_t pick = rmp_fz_u8(f);
  opts.ncomments = pick % 5;
  opts.program = programs[(pick / 5) % 4];
  const rmp_pprof_opts *op = (how & 0x20) ? NULL : &opts;
  corrupt_weights(rmp_fz_u8(f), m, &snap);

  fail_sink s;
  memset(&s, 0, sizeof s);
  s.calls_left = -1;
  uint8_t fault = rmp_fz_u8(f);
  if (fault >= 0xC0) s.calls_left = fault & 0x3f;
  else if (fault >= 0x80) rmp_fz_fail_in = fault & 0x3f;
  rmp_status st = rmp_pprof_encode(&snap, op, fail_sink_fn, &s);
  int injected = rmp_fz_fail_in < 0 && fault >= 0x80 && fault < 0xC0;
  rmp_fz_fail_in = -1;
  if (st != RMP_OK) {
    /* Only ever the failure asked for: a refusing sink, or no memory (the
     * memory sink's own growth failing reads as a sink failure). */
    if (fault >= 0xC0) RMP_FZ_CHECK(st == RMP_ERR_SINK);
    else RMP_FZ_CHECK(injected && (st == RMP_ERR_NOMEM || st == RMP_ERR_SINK));
    rmp_buf_free(&s.buf);
    s.calls_left = -1;
    RMP_FZ_CHECK(rmp_pprof_encode(&snap, op, fail_sink_fn, &s) == RMP_OK);
  }

  pm_expect x;
  x.sample_rate = snap.sample_rate;
  x.retain_rate = snap.retain_rate;
  x.epoch_now = m->clock;
  x.start_ns = start;
  x.end_ns = now;
  x.stacks_dropped = snap.stacks_dropped;
  x.nstrings = snap.strings.count;
  x.opts = op;
  pm_check_profile(m, &x, s.buf.data, s.buf.len);
  rmp_buf_free(&s.buf);
  rmp_snapshot_free(&snap);
  for (uint32_t j = 0; j < m->nallocs; j++) m->allocs[j].has_w = 0;
  pm_rotated(m, p);
}

/* An allocation the countdown picked: rmp_sample_confirm decides. */
static void sampled(rmp_fz *f, pm *m, rmp_profiler *p) {
  uint64_t taken = p->samples_taken, seen0 = p->allocs.seen;
  rmp_decision d = rmp_sample_confirm(p);
  pm_track(f, m, p, d, p->samples_taken == taken + 1, seen0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rmp_fz f = {data, size};
  static pm m;
  rmp_profiler p;
  pm_setup(&f, &m, &p);
  uint64_t now = rmp_fz_u32(&f);
  while (rmp_fz_more(&f)) {
    uint8_t op = rmp_fz_u8(&f);
    switch (op % 8) {
    case 0: case 1: case 2: case 3: sampled(&f, &m, &p); break;
    case 4: pm_kill(&m, &p, rmp_fz_u8(&f)); break;
    case 5: /* the embedder's clock (GC count) moves, maybe a long way */
      m.clock += (op & 0x80) ? rmp_fz_u32(&f) : rmp_fz_u8(&f);
      break;
    case 6: /* a rotation: encode this interval */
      now += (op & 0x80) ? rmp_fz_u64(&f) : rmp_fz_u16(&f);
      rotate_and_check(&f, &m, &p, now);
      break;
    default: /* more classes of garbage through the encoder: none here */
      sampled(&f, &m, &p);
      break;
    }
    pm_check_table(&m, &p);
  }
  rotate_and_check(&f, &m, &p, now + 1);
  rmp_profiler_free(&p);
  return 0;
}
