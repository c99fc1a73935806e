/* Shared state of the Ruby shim: one rmp_collector per Collector object. */
#ifndef RMP_EXT_H
#define RMP_EXT_H

#include <time.h>
#include <ruby.h>
#include <ruby/debug.h>
#include <ruby/ractor.h>
/* extconf.rb names the header copy to use (repository root or gem). */
#ifdef RMP_EXT_RMP_H
#include RMP_EXT_RMP_H
#else
#include "rmp.h"
#endif

/* Exported by every supported libruby (ext/objspace uses it) but absent
 * from the public headers; extconf.rb checks that it links. */
size_t rb_obj_memsize_of(VALUE obj);

/* internal_api.c: functions each found only in some Rubies or some kinds of
 * build, looked up at run time; NULL where missing. */
typedef struct rmp_gc_metadata_entry { /* Ruby 4.0's rb_gc_object_metadata_entry */
  ID name;
  VALUE val;
} rmp_gc_metadata_entry;
typedef struct rmp_ext_internal_api {
  int (*marked_object_p)(VALUE obj);                            /* 3.1-3.3 */
  size_t (*obj_gc_flags)(VALUE obj, ID *flags, size_t max);     /* 3.4 */
  const rmp_gc_metadata_entry *(*object_metadata)(VALUE obj);   /* 4.0; ends at name 0 */
  const char *(*active_gc_name)(void);                          /* 3.4+ */
} rmp_ext_internal_api;
extern rmp_ext_internal_api rmp_ext_api;
void rmp_ext_find_internal_api(void);

/* An entry flag of the shim's own (the core uses bit 0, RMP_LIVE_OLD, and
 * keeps the others). The object's size cannot change any more: */
#define RMP_EXT_SIZE_FINAL (1u << 16)
/* Found not to be a live object by flush's re-measure: about to go. */
#define RMP_EXT_INVALID (1u << 17)

/* Frames kept per sample; deeper stacks lose their root end. Kept well
 * under RMP_MAX_DEPTH so rb_profile_frames' cost stays bounded. */
#define RMP_EXT_MAX_FRAMES 2048
#if defined(__GNUC__) || defined(__clang__)
#define RMP_EXT_NOINLINE __attribute__((noinline))
#else
#define RMP_EXT_NOINLINE
#endif
/* The frame key of a stack with no Ruby frames: a special constant, never an
 * iseq or method entry, and a no-op to mark. */
#define RMP_EXT_NO_FRAMES_KEY Qnil
/* Samples taken between two runs of the postponed job. A C method that
 * allocates many objects without an interrupt check (e.g. String#split)
 * overflows it at high sample rates; the overflow is counted. */
#define RMP_EXT_PENDING_MAX 4096

typedef struct rmp_pending {
  VALUE obj;
  uint32_t stack;
  rmp_decision decision;
  /* At allocation: a GC may run before the job commits the sample, and
   * the object's age counts from its allocation. */
  uint32_t epoch;
} rmp_pending;

typedef struct rmp_collector {
  rmp_profiler p;
  int p_ready;        /* rmp_profiler_init succeeded */
  int running;
  VALUE self;         /* while running (then pinned: the hook lists mark it) */
  int newobj_paused; /* the NEWOBJ hook is off while other Ractors run (hooks.c) */
  /* Set while the shim itself allocates (the postponed job, flush):
   * allocations then are ours and must not be sampled or re-enter. One
   * flag for all threads, so nothing inside it may release the GVL: no
   * app code (a logger) and no blocking call. */
  int in_shim;
  uint64_t fork_gen;  /* rmp_ext_fork_gen when the sampler was last seeded */

  rmp_pending pending[RMP_EXT_PENDING_MAX];
  uint32_t npending;
  uint64_t pending_dropped;

  /* Scratch for the NEWOBJ hook: too large for a hook's C stack frame. */
  VALUE frames[RMP_EXT_MAX_FRAMES];
  int lines[RMP_EXT_MAX_FRAMES];
  uint64_t keys[RMP_EXT_MAX_FRAMES];

  /* The running totals at the last flush: the profile's comments give
   * each interval's share. */
  struct {
    uint64_t pending_dropped, liveness_missed_gcs, liveness_dropped;
  } at_flush;

  uint64_t gc_sweeps;          /* liveness passes run */
  uint64_t gc_swept;           /* tracked objects found dead */
  /* GCs that ran without the liveness pass, and the entries dropped
   * because they could no longer be told from reused slots. */
  uint64_t liveness_missed_gcs, liveness_dropped;
  size_t last_gc_count;       /* rb_gc_count() at the last pass */
  size_t last_major_count;    /* GC.stat(:major_gc_count) at the last pass */
  int gc_is_minor;             /* during a liveness pass */
  uint64_t gc_sweep_ns;        /* time spent in the liveness pass */
  uint64_t compact_moved;      /* tracked objects rekeyed by dcompact */
  uint64_t flush_invalid;      /* entries dropped by flush's type guard */
  uint64_t last_measure_ns; /* part of last_snapshot_ns: re-measuring sizes */
  uint32_t measure_cursor;  /* the slot the next flush re-measures from */
  uint64_t last_snapshot_ns, last_encode_ns, last_bytes, flushes;
  uint64_t last_gvl_ns;     /* all the time the last flush held the GVL */
  uint64_t last_gvl_cpu_ns; /* the CPU time of it */
  int last_encode_held_gvl; /* for the tests: it should never */

  VALUE flush_mutex;
} rmp_collector;

/* The running collector (at most one), which the postponed job uses: the
 * job can outlive the collector that registered it. */
extern rmp_collector *rmp_ext_running;
/* MemprofilerPprof::Error (errors.rb), raised for run-time failures. */
extern VALUE rmp_ext_eError;
extern uint64_t rmp_ext_fork_gen;

/* Wall clock in ns: the vDSO answers, no syscall and no allocation, so it
 * may run inside a GC hook. */
static inline uint64_t rmp_ext_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* This thread's CPU time in ns. */
static inline uint64_t rmp_ext_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* RAW_ARG hooks are called as f(data, trace_arg); the registration API
 * only knows the classic signature. */
typedef void (*rmp_raw_hook_fn)(VALUE, const rb_trace_arg_t *);
#define RMP_HOOK_FN(f) ((rb_event_hook_func_t)(void (*)(void))(rmp_raw_hook_fn)(f))

/* hooks.c */
void rmp_ext_hooks_init(void); /* in the main Ractor, at Init */
/* Looks for the dummy top-level frame the hook leaves out (hooks.c). */
void rmp_ext_find_dummy_top(void);
/* The NEWOBJ hook on and off, mirroring liveness start/stop, and the pause
 * while other Ractors run. paused() calls Ruby, so it may raise. */
int rmp_ext_sampling_paused(void);
void rmp_ext_sampling_start(rmp_collector *c, int paused);
void rmp_ext_sampling_stop(rmp_collector *c);
void rmp_ext_sampling_pause(void);          /* Ractor.new is starting one */
void rmp_ext_sampling_ractor_started(void); /* ... and has */
void rmp_ext_sampling_resume(rmp_collector *c);
void rmp_ext_newobj_hook(VALUE data, const rb_trace_arg_t *arg);
void rmp_ext_drain(rmp_collector *c);
void rmp_ext_postponed_job(void *unused);

/* liveness.c */
/* Hooks get the Collector VALUE as data: Ruby marks hook data. */
void rmp_ext_liveness_start(VALUE collector);
void rmp_ext_liveness_stop(VALUE collector);
void rmp_ext_compact(rmp_collector *c);
void rmp_ext_liveness_catch_up(rmp_collector *c);
/* Sets the new collector's live table up for the liveness mode. */
rmp_status rmp_ext_liveness_prepare(rmp_collector *c);
/* Picks the mark-bit probe or FREEOBJ; after rmp_ext_find_internal_api. */
void rmp_ext_liveness_init(void);
const char *rmp_ext_liveness_mode(void);
const char *rmp_ext_liveness_probe(void); /* what the mark bits are read through */
/* heap_bits.h's in-place reads: unavailable, checking, trusted or refused. */
const char *rmp_ext_liveness_heap_bits(void);
/* A sweep callback that drops every entry. */
static inline int rmp_ext_keep_none(void *ud, rmp_live_entry *e) {
  (void)ud;
  (void)e;
  return 0;
}
/* testing.c: only in the test suites' builds (extconf.rb, RMP_EXT_TESTING). */
#ifdef RMP_EXT_TESTING
void rmp_ext_testing_init(VALUE collector_class);
void rmp_ext_audit_track(rmp_collector *c, uintptr_t addr);
void rmp_ext_audit_compact(void);
/* Moves the epoch's 2^32 wrap within reach of a test. */
extern uint32_t rmp_ext_epoch_offset;
#define RMP_EXT_EPOCH_OFFSET rmp_ext_epoch_offset
/* Nonzero (and counted down): the liveness pass returns at once, as when
 * Ruby skips the hook, so a test can make a GC that runs without it. */
int rmp_ext_test_skips_pass(void);
/* Back to checking the in-place reads, their mark bitmap moved by skew
 * bytes (a wrong layout, to be refused). */
void rmp_ext_heap_bits_recheck(size_t skew);
#else
static inline int rmp_ext_test_skips_pass(void) { return 0; }
static inline void rmp_ext_testing_init(VALUE collector_class) { (void)collector_class; }
static inline void rmp_ext_audit_track(rmp_collector *c, uintptr_t addr) {
  (void)c;
  (void)addr;
}
static inline void rmp_ext_audit_compact(void) {}
#define RMP_EXT_EPOCH_OFFSET 0u
#endif

/* The GC count as an epoch: modulo 2^32, as rmp_age expects. */
static inline uint32_t rmp_ext_epoch_of(size_t gc_count) { return (uint32_t)gc_count + RMP_EXT_EPOCH_OFFSET; }
static inline uint32_t rmp_ext_epoch(void) { return rmp_ext_epoch_of(rb_gc_count()); }

/* flush.c */
VALUE rmp_ext_flush(rmp_collector *c);
/* A new interval: what the next profile counts starts from here. */
static inline void rmp_ext_interval_begins(rmp_collector *c) {
  c->at_flush.pending_dropped = c->pending_dropped;
  c->at_flush.liveness_missed_gcs = c->liveness_missed_gcs;
  c->at_flush.liveness_dropped = c->liveness_dropped;
}


#endif
