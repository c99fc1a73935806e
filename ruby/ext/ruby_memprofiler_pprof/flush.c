/* Collector#flush: a short GVL-held snapshot, then encoding without the GVL. */
#include <stdio.h>
#include <unistd.h>
/* ruby.h (through rmp_ext.h) first: 3.3's ruby/thread.h needs its types. */
#include "rmp_ext.h"
#include <ruby/thread.h>
#include <ruby/version.h>
#ifdef RMP_EXT_RMP_PPROF_H
#include RMP_EXT_RMP_PPROF_H
#else
#include "rmp_pprof.h"
#endif

/* Objects whose size cannot change any more: measured once more, then
 * left alone (the flag is the shim's; the core keeps entry flags). */
static int rmp_size_is_final(VALUE obj, int type) {
  switch (type) {
    case T_FLOAT: case T_BIGNUM: case T_RATIONAL: case T_COMPLEX: case T_SYMBOL: case T_REGEXP: case T_STRUCT:
      return 1;
    case T_STRING: case T_ARRAY: case T_HASH: case T_OBJECT:
      return RB_OBJ_FROZEN_RAW(obj) != 0;
    default:
      return 0;
  }
}

/* Re-measure retained objects (strings and arrays grow after their
 * allocation), at most RMP_EXT_MEASURE_SLOTS slots of the live table per
 * flush, from where the last flush stopped: rb_obj_memsize_of needs the
 * GVL and reads the object, a cache miss each, so re-measuring 60,000
 * objects held the GVL for 3-4 ms of every flush. A table of up to
 * RMP_EXT_MEASURE_SLOTS / 2 objects is still re-measured whole at every
 * flush; a larger one over several, the sizes of the others being as of
 * their last visit. Entries whose size is final are skipped without
 * touching the object. An entry found to be no longer a live object is
 * dropped (in a large table, when its slot's turn comes): with the GC_END_MARK liveness every entry is a marked or
 * not-yet-swept object, so the guard matters for the FREEOBJ fallback
 * and for Ractor-triggered GCs, whose hooks run in the other Ractor's hook
 * list. rb_obj_memsize_of aborts on T_NONE, hence the guard comes first. */
#define RMP_EXT_MEASURE_SLOTS 16384u
static int rmp_keep_valid(void *ud, rmp_live_entry *e) {
  (void)ud;
  return !(e->flags & RMP_EXT_INVALID);
}

static void rmp_measure_some(rmp_collector *c) {
  rmp_live *t = &c->p.live;
  uint32_t i, ninvalid = 0, nslots = rmp_live_nslots(t);
  uint32_t n = nslots < RMP_EXT_MEASURE_SLOTS ? nslots : RMP_EXT_MEASURE_SLOTS;
  uint32_t j = c->measure_cursor < nslots ? c->measure_cursor : 0;
  for (i = 0; i < n; i++, j = j + 1 < nslots ? j + 1 : 0) {
    rmp_live_entry *e = rmp_live_slot(t, j);
    VALUE obj = (VALUE)e->addr;
    size_t size;
    int type;
    if (!obj || (e->flags & RMP_EXT_SIZE_FINAL)) continue;
    type = RB_BUILTIN_TYPE(obj);
    if (type == T_NONE || type == T_ZOMBIE || type == T_MOVED) {
      e->flags |= RMP_EXT_INVALID;
      ninvalid++;
      continue;
    }
    size = rb_obj_memsize_of(obj);
    e->size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
    if (rmp_size_is_final(obj, type)) e->flags |= RMP_EXT_SIZE_FINAL;
  }
  c->measure_cursor = j;
  /* Rare (see above): a whole pass then, as deleting during the walk
   * would shift entries past the cursor. */
  if (ninvalid) c->flush_invalid += rmp_live_sweep(t, rmp_keep_valid, NULL);
}

typedef struct rmp_encode_args {
  rmp_snapshot snap;
  rmp_pprof_opts opts;
  rmp_buf out;
  rmp_status status;
  int ran;
  int held_gvl;
  /* A compaction begun with the rotation: built here too, without the
   * GVL, and finished after it. */
  rmp_compaction cj;
  int compacting;
  rmp_status cj_status;
} rmp_encode_args;

/* The snapshot's copies are freed by the caller, which holds the GVL: its
 * tables may be shared with the profiler (rmp_profiler_rotate). */
static void *rmp_encode_nogvl(void *p) {
  rmp_encode_args *a = (rmp_encode_args *)p;
  a->status = rmp_pprof_encode_gzip(&a->snap, &a->opts, &a->out);
  if (a->compacting) a->cj_status = rmp_compaction_build(&a->cj);
  a->ran = 1;
  return NULL;
}

/* The short GVL-held step of a compaction: what was interned, named or
 * moved meanwhile comes in, and every id the shim holds is remapped (the
 * pending samples' stacks here, the live table's and the allocation
 * samples' in the core). On failure the tables stay as they are and the
 * next flush tries again. */
static void rmp_compaction_end(rmp_collector *c, rmp_encode_args *a) {
  uint32_t extra[RMP_EXT_PENDING_MAX], i, n = c->npending;
  if (!a->compacting) return;
  for (i = 0; i < n; i++) extra[i] = c->pending[i].stack;
  if (a->cj_status == RMP_OK && rmp_compaction_finish(&c->p, &a->cj, extra, n) == RMP_OK)
    for (i = 0; i < n; i++) c->pending[i].stack = extra[i];
  rmp_compaction_free(&a->cj);
  a->compacting = 0;
}

static VALUE rmp_yield(VALUE unused) {
  (void)unused;
  rb_thread_schedule();
  return Qnil;
}

/* Encode without the GVL. rb_thread_call_without_gvl2 skips the call when
 * an interrupt is pending - with several threads, often just the timer's
 * request to switch threads - and encoding here instead would hold the GVL
 * for the whole encode. So the thread yields, which runs the interrupts that
 * are due outside a blocking call (a thread switch, postponed jobs, trap
 * handlers, an immediate Thread#raise) and clears the flag, and the call is
 * retried. One deferred to a blocking point (Thread.handle_interrupt
 * :on_blocking) stays queued: Ruby re-arms it at the next blocking check,
 * after flush returns its profile. An exception raised meanwhile is caught
 * so that nothing leaks; *state tells the caller to re-raise it once the
 * profile is freed (a flush that Thread#raise or #kill interrupts loses its
 * interval, as any interrupted call loses its result). Returns the
 * GVL-held time spent here, not counting the yields. */
static uint64_t rmp_encode_without_gvl(rmp_encode_args *a, int *state) {
  uint64_t held = 0, t;
  int tries, st;
  *state = 0;
  for (tries = 0; tries < 100; tries++) {
    t = rmp_ext_now_ns();
    rb_thread_call_without_gvl2(rmp_encode_nogvl, a, NULL, NULL);
    if (a->ran) return held;
    held += rmp_ext_now_ns() - t;
    st = 0;
    rb_protect(rmp_yield, Qnil, &st);
    if (st && !*state) *state = st;
  }
  /* Interrupted a hundred times in a row: encode here, and count it. */
  t = rmp_ext_now_ns();
  a->held_gvl = 1;
  rmp_encode_nogvl(a);
  return held + (rmp_ext_now_ns() - t);
}

static VALUE rmp_profile_string(VALUE buf) {
  const rmp_buf *b = (const rmp_buf *)buf;
  return rb_str_new((const char *)b->data, (long)b->len);
}

/* The GVL-held parts of a flush: before the encode, after it, and any
 * failed tries. CPU time: the same less the preemptions a loaded machine
 * adds (the encode's retries are left out of it). */
static void rmp_gvl_times(rmp_collector *c, uint64_t t_enter, uint64_t t1, uint64_t t2, uint64_t held,
                          uint64_t cpu_enter, uint64_t cpu1, uint64_t cpu2) {
  c->last_gvl_ns = (t1 - t_enter) + held + (rmp_ext_now_ns() - t2);
  c->last_gvl_cpu_ns = (cpu1 - cpu_enter) + (rmp_ext_cpu_ns() - cpu2);
}

VALUE rmp_ext_flush(rmp_collector *c) {
  rmp_encode_args a;
  uint32_t extra[RMP_EXT_PENDING_MAX];
  uint32_t i, nextra, now;
  uint64_t t0, t1, t2, t_enter = rmp_ext_now_ns(), held, cpu_enter = rmp_ext_cpu_ns(), cpu1, cpu2;
  int state = 0;
  rmp_status st;
  char comment[5][96];
  const char *comments[5];
  char program[256];
  VALUE out, progname;

  memset(&a, 0, sizeof(a));
  rmp_ext_sampling_resume(c);
  rmp_ext_drain(c);

  t0 = rmp_ext_now_ns();
  c->in_shim = 1;
  rmp_ext_liveness_catch_up(c);
  rmp_measure_some(c);
  c->last_measure_ns = rmp_ext_now_ns() - t0;
  /* Normally empty after the drain; kept valid across the remap anyway. */
  nextra = c->npending;
  for (i = 0; i < nextra; i++) extra[i] = c->pending[i].stack;
  now = rmp_ext_epoch();
  st = rmp_profiler_rotate(&c->p, &a.snap, extra, nextra, t0, now);
  if (st == RMP_OK)
    for (i = 0; i < nextra; i++) c->pending[i].stack = extra[i];
  c->in_shim = 0;
  t1 = rmp_ext_now_ns();
  cpu1 = rmp_ext_cpu_ns();
  if (st != RMP_OK) rb_raise(rb_eNoMemError, "ruby_memprofiler_pprof: snapshot failed: %s", rmp_status_str(st));
  c->last_snapshot_ns = t1 - t0;
  /* Rotation never compacts here (compact_elsewhere): the trie's O(nodes)
   * work runs below without the GVL. */
  if (rmp_profiler_compaction_due(&c->p) && rmp_compaction_begin(&c->p, &a.cj, extra, nextra) == RMP_OK)
    a.compacting = 1;

  /* Counts are this interval's, as the encoder's own are; the running
   * totals are in #stats. */
  snprintf(comment[0], sizeof(comment[0]), "pending_dropped=%llu",
           (unsigned long long)(c->pending_dropped - c->at_flush.pending_dropped));
  snprintf(comment[1], sizeof(comment[1]), "liveness=%s", rmp_ext_liveness_mode());
  snprintf(comment[2], sizeof(comment[2]), "ruby=%s", ruby_version);
  snprintf(comment[3], sizeof(comment[3]), "liveness_missed_gcs=%llu",
           (unsigned long long)(c->liveness_missed_gcs - c->at_flush.liveness_missed_gcs));
  snprintf(comment[4], sizeof(comment[4]), "liveness_dropped=%llu",
           (unsigned long long)(c->liveness_dropped - c->at_flush.liveness_dropped));
  for (i = 0; i < 5; i++) comments[i] = comment[i];
  rmp_ext_interval_begins(c);
  a.opts.pid = (int64_t)getpid();
  a.opts.comments = comments;
  a.opts.ncomments = 5;
  /* The mapping's file, which pprof shows as "File:": $PROGRAM_NAME as it
   * is now (servers rename their workers), copied since the encoding runs
   * without the GVL. */
  c->in_shim = 1; /* the first lookup of "$0" may intern it */
  progname = rb_gv_get("$0");
  c->in_shim = 0;
  if (RB_TYPE_P(progname, T_STRING)) {
    size_t n = (size_t)RSTRING_LEN(progname);
    if (n >= sizeof program) n = sizeof program - 1;
    memcpy(program, RSTRING_PTR(progname), n);
    program[n] = 0;
    a.opts.program = program;
  }

  /* App threads may allocate (and sample) while this runs: the snapshot
   * reads only the prefix of the profiler's tables that rotation froze. */
  held = rmp_encode_without_gvl(&a, &state);
  t2 = rmp_ext_now_ns();
  cpu2 = rmp_ext_cpu_ns();
  rmp_snapshot_free(&a.snap);
  rmp_compaction_end(c, &a);
  c->last_encode_ns = t2 - t1;
  c->last_encode_held_gvl = a.held_gvl;
  c->flushes++;
  if (state) {
    rmp_buf_free(&a.out);
    rmp_gvl_times(c, t_enter, t1, t2, held, cpu_enter, cpu1, cpu2);
    rb_jump_tag(state);
  }
  if (a.status != RMP_OK) {
    rmp_buf_free(&a.out);
    rmp_gvl_times(c, t_enter, t1, t2, held, cpu_enter, cpu1, cpu2);
    rb_raise(rmp_ext_eError, "ruby_memprofiler_pprof: encoding failed: %s", rmp_status_str(a.status));
  }
  c->last_bytes = a.out.len;
  /* The profile String is ours, not the app's; if it cannot be allocated,
   * the buffer is still freed and in_shim still cleared. */
  c->in_shim = 1;
  out = rb_protect(rmp_profile_string, (VALUE)&a.out, &state);
  c->in_shim = 0;
  rmp_buf_free(&a.out);
  rmp_gvl_times(c, t_enter, t1, t2, held, cpu_enter, cpu1, cpu2);
  if (state) rb_jump_tag(state);
  return out;
}
