/* Free detection and compaction for the live table.
 *
 * Preferred: one pass over the tracked set at RUBY_INTERNAL_EVENT_GC_END_MARK,
 * dropping entries whose mark bit is clear. Its cost scales with tracked
 * objects, where a FREEOBJ hook costs ~17-20 ns on every free, sampled or
 * not. The mark bit is read through whichever exported function the running
 * Ruby has (rmp_marked below), or in place once that agrees (heap_bits.h);
 * with none of them, or a GC other than the default one, free detection
 * falls back to FREEOBJ.
 * Neither hook may allocate: both run inside the GC. */
#include <string.h>
#include "rmp_ext.h"
#include "heap_bits.h"

/* GC.stat and GC.latest_gc_info keys, interned at load: the pass reads
 * them inside the GC, and flush before any start! too. */
static VALUE rmp_sym_major_gc_count, rmp_sym_state, rmp_sym_marking, rmp_sym_major_by;

/* Was obj marked by the GC whose marking just ended? NULL: FREEOBJ mode. */
static int (*rmp_marked)(VALUE obj);
static const char *rmp_marked_probe = "none";
static ID rmp_id_marked;

/* 3.4: the flags ObjectSpace.dump prints; "marked" is one of them. */
static int rmp_marked_by_flags(VALUE obj) {
  ID ids[16];
  size_t i, n = rmp_ext_api.obj_gc_flags(obj, ids, sizeof(ids) / sizeof(ids[0]));
  for (i = 0; i < n; i++)
    if (ids[i] == rmp_id_marked) return 1;
  return 0;
}

/* 4.0: the same flags as a name/value list, ended by a zero name. */
static int rmp_marked_by_metadata(VALUE obj) {
  const rmp_gc_metadata_entry *e;
  for (e = rmp_ext_api.object_metadata(obj); e->name; e++)
    if (e->name == rmp_id_marked) return RTEST(e->val);
  return 0;
}

/* The in-place reads of heap_bits.h: never used before they agreed with
 * the exported probe on RMP_HEAP_BITS_TRUST entries of each kind (unmarked,
 * marked young, marked old), never again after one disagreement. The
 * layout cannot change within a process, so once is enough. */
typedef enum { RMP_HEAP_BITS_UNAVAILABLE, RMP_HEAP_BITS_CHECKING, RMP_HEAP_BITS_TRUSTED, RMP_HEAP_BITS_REFUSED } rmp_heap_bits_state;
static const char *const rmp_heap_bits_names[] = {"unavailable", "checking", "trusted", "refused"};
static rmp_heap_bits_state rmp_heap_bits = RMP_HEAP_BITS_UNAVAILABLE;
#ifdef RMP_HEAP_BITS
#define RMP_HEAP_BITS_TRUST 32u
static uint32_t rmp_heap_bits_agreed[4]; /* by RMP_SEEN_* value */
#endif
#ifdef RMP_EXT_TESTING
static size_t rmp_heap_bits_skew;
#else
#define rmp_heap_bits_skew 0
#endif

const char *rmp_ext_liveness_mode(void) { return rmp_marked ? "gc_end_mark" : "freeobj"; }
const char *rmp_ext_liveness_probe(void) {
  return rmp_heap_bits == RMP_HEAP_BITS_TRUSTED ? "heap_page_bits" : rmp_marked_probe;
}
const char *rmp_ext_liveness_heap_bits(void) { return rmp_heap_bits_names[rmp_heap_bits]; }

static void rmp_heap_bits_start_checking(void) {
#ifdef RMP_HEAP_BITS
  memset(rmp_heap_bits_agreed, 0, sizeof(rmp_heap_bits_agreed));
  rmp_heap_bits = rmp_marked ? RMP_HEAP_BITS_CHECKING : RMP_HEAP_BITS_UNAVAILABLE;
#endif
}

#ifdef RMP_EXT_TESTING
void rmp_ext_heap_bits_recheck(size_t skew) {
  rmp_heap_bits_skew = skew;
  rmp_heap_bits_start_checking();
}
#endif

/* RMP_EXT_FORCE_FREEOBJ builds the fallback even where a probe exists, so
 * the tests cover it. */
#ifdef RMP_EXT_FORCE_FREEOBJ
#define RMP_EXT_FREEOBJ_FORCED 1
#else
#define RMP_EXT_FREEOBJ_FORCED 0
#endif

void rmp_ext_liveness_init(void) {
  const rmp_ext_internal_api *api = &rmp_ext_api;
  rmp_sym_major_gc_count = ID2SYM(rb_intern("major_gc_count"));
  rmp_sym_state = ID2SYM(rb_intern("state"));
  rmp_sym_marking = ID2SYM(rb_intern("marking"));
  rmp_sym_major_by = ID2SYM(rb_intern("major_by"));
  if (RMP_EXT_FREEOBJ_FORCED) return;
  /* The probes read the default GC's mark bits; a modular GC (3.4+,
   * RUBY_GC_LIBRARY) may have none. */
  if (api->active_gc_name && strcmp(api->active_gc_name(), "default") != 0) return;
  if (api->marked_object_p) {
    rmp_marked = api->marked_object_p;
    rmp_marked_probe = "rb_objspace_marked_object_p";
  } else if (api->obj_gc_flags) {
    rmp_marked = rmp_marked_by_flags;
    rmp_marked_probe = "rb_obj_gc_flags";
  } else if (api->object_metadata) {
    rmp_marked = rmp_marked_by_metadata;
    rmp_marked_probe = "rb_gc_object_metadata";
  }
  if (!rmp_marked) return;
  rmp_id_marked = rb_intern("marked");
  /* Both wrappers intern their flag names on first use, which allocates:
   * that first use must not be inside a GC. */
  (void)rmp_marked(rb_cObject);
  rmp_heap_bits_start_checking();
}

/* RMP_SEEN_* through the exported probe. 3.1 keeps the age in two flag
 * bits: old = both set (RVALUE_OLD_AGE == 3), where RB_OBJ_PROMOTED_RAW is
 * true from age 1. From 3.3 the mask is one bit, set exactly when the
 * object turns old. */
static unsigned rmp_seen_by_probe(VALUE obj) {
  if (!rmp_marked(obj)) return 0;
  if ((RBASIC(obj)->flags & RUBY_FL_PROMOTED) != RUBY_FL_PROMOTED) return RMP_SEEN_MARKED;
  return RMP_SEEN_MARKED | RMP_SEEN_OLD;
}

/* RMP_SEEN_* of a tracked object at the end of marking. */
static unsigned rmp_seen(VALUE obj) {
#ifdef RMP_HEAP_BITS
  unsigned seen;
  if (rmp_heap_bits == RMP_HEAP_BITS_TRUSTED) return rmp_heap_bits_seen(obj, rmp_heap_bits_skew);
  seen = rmp_seen_by_probe(obj);
  if (rmp_heap_bits != RMP_HEAP_BITS_CHECKING) return seen;
  if (rmp_heap_bits_seen(obj, rmp_heap_bits_skew) != seen) {
    rmp_heap_bits = RMP_HEAP_BITS_REFUSED;
    return seen;
  }
  rmp_heap_bits_agreed[seen]++;
  if (rmp_heap_bits_agreed[0] >= RMP_HEAP_BITS_TRUST && rmp_heap_bits_agreed[RMP_SEEN_MARKED] >= RMP_HEAP_BITS_TRUST &&
      rmp_heap_bits_agreed[RMP_SEEN_MARKED | RMP_SEEN_OLD] >= RMP_HEAP_BITS_TRUST)
    rmp_heap_bits = RMP_HEAP_BITS_TRUSTED;
  return seen;
#else
  return rmp_seen_by_probe(obj);
#endif
}

/* Unmarked at the end of marking = freed by the sweep that follows. Old
 * objects keep their mark bits through a minor GC, so this is exact in both
 * kinds of GC; objects still pending are marked by dmark.
 *
 * Old objects are only ever freed by a major GC, so an entry seen old once
 * (RMP_LIVE_OLD) is not visited by later minor GCs: reading the object or
 * its page's mark bitmap is a cache miss per entry. The flag also moves
 * the entry out of the live table's young part. */
static int rmp_keep_marked(void *ud, rmp_live_entry *e) {
  rmp_collector *c = (rmp_collector *)ud;
  unsigned seen;
  if (c->gc_is_minor && (e->flags & RMP_LIVE_OLD)) return 1;
  seen = rmp_seen((VALUE)e->addr);
  if (seen & RMP_SEEN_OLD) e->flags |= RMP_LIVE_OLD;
  return seen != 0;
}

typedef struct rmp_missed {
  uint32_t last_missed; /* epoch of the last GC that ran without the pass */
  int all_minor;
} rmp_missed;

/* Entries committed at or after the last missed GC were pending (marked)
 * through it, so it freed none of them; old objects survive minor GCs. */
static int rmp_keep_unaffected(void *ud, rmp_live_entry *e) {
  const rmp_missed *m = (const rmp_missed *)ud;
  if (m->all_minor && (e->flags & RMP_LIVE_OLD)) return 1;
  return rmp_age(e->epoch, m->last_missed) < UINT32_C(0x80000000);
}

/* Ruby skips internal event hooks while one is running on the same
 * thread, so a GC that starts inside another NEWOBJ hook (e.g. objspace's
 * trace_object_allocations, whose hook mallocs) runs without this pass, as
 * does a GC another Ractor triggers. Objects it freed stay in the table, and
 * once their slots are reused a later pass sees a marked object and keeps
 * the entry: a dead object's stack and class, reported as retained. Nothing
 * can tell those entries apart afterwards, so every entry the missed GCs
 * could have freed goes. `last` is the number of the last GC missed. */
static void rmp_liveness_check_missed(rmp_collector *c, size_t last, size_t majors) {
  rmp_missed m;
  if (last <= c->last_gc_count) return;
  c->liveness_missed_gcs += last - c->last_gc_count;
  m.last_missed = rmp_ext_epoch_of(last);
  m.all_minor = majors == c->last_major_count;
  c->liveness_dropped += rmp_live_sweep(&c->p.live, rmp_keep_unaffected, &m);
}

/* With mark bits, entries not yet seen old sit in the live table's young
 * part (rmp_live_split_young), so a minor GC's pass reads only them and
 * moves those now old to the main part. */
rmp_status rmp_ext_liveness_prepare(rmp_collector *c) {
  if (!rmp_marked) return RMP_OK;
  return rmp_live_split_young(&c->p.live);
}

static void rmp_liveness_mark_hook(VALUE data, const rb_trace_arg_t *arg) {
  rmp_collector *c = (rmp_collector *)RTYPEDDATA_DATA(data);
  /* gc_start bumps the GC count and major_gc_count before marking; the
   * symbol was primed outside the GC, so this lookup allocates nothing. */
  size_t count = rb_gc_count();
  size_t majors = rb_gc_stat(rmp_sym_major_gc_count);
  uint64_t t0;
  (void)arg;
  if (rmp_ext_test_skips_pass()) return;
  t0 = rmp_ext_now_ns();
  rmp_liveness_check_missed(c, count - 1, majors);
  c->gc_is_minor = majors == c->last_major_count;
  c->last_gc_count = count;
  c->last_major_count = majors;
  c->gc_sweeps++;
  /* The exported probes read the object (its age): prefetched ahead. */
  c->p.live.keep_reads_addr = rmp_heap_bits != RMP_HEAP_BITS_TRUSTED;
  /* With FREEOBJ the frees are already done; the pass only counts GCs. */
  if (rmp_marked)
    c->gc_swept += c->gc_is_minor ? rmp_live_sweep_young(&c->p.live, rmp_keep_marked, c)
                                  : rmp_live_sweep(&c->p.live, rmp_keep_marked, c);
  c->gc_sweep_ns += rmp_ext_now_ns() - t0;
}

/* Before flush reads the tracked objects: GCs since the last pass that ran
 * without it. A major GC marks incrementally, between allocations: it is
 * counted from its start, but its pass comes at the end of marking. */
void rmp_ext_liveness_catch_up(rmp_collector *c) {
  size_t count = rb_gc_count();
  size_t majors;
  int marking;
  if (!c->running) return; /* a stopped collector tracks nothing */
  marking = rb_gc_latest_gc_info(rmp_sym_state) == rmp_sym_marking;
  if (marking) count--;
  if (count == c->last_gc_count) return;
  majors = rb_gc_stat(rmp_sym_major_gc_count);
  /* Its pass must still see that GC as major. */
  if (marking && !NIL_P(rb_gc_latest_gc_info(rmp_sym_major_by))) majors--;
  rmp_liveness_check_missed(c, count, majors);
  c->last_gc_count = count;
  c->last_major_count = majors;
}

static void rmp_liveness_free_hook(VALUE data, const rb_trace_arg_t *arg) {
  rmp_collector *c = (rmp_collector *)RTYPEDDATA_DATA(data);
  VALUE obj = rb_tracearg_object((rb_trace_arg_t *)arg);
  if (c->p.live.count == 0) return;
  c->gc_swept += (uint64_t)rmp_live_delete(&c->p.live, (uintptr_t)obj);
}

void rmp_ext_liveness_start(VALUE collector) {
  rmp_collector *c = (rmp_collector *)RTYPEDDATA_DATA(collector);
  const int flags = RUBY_EVENT_HOOK_FLAG_SAFE | RUBY_EVENT_HOOK_FLAG_RAW_ARG;
  /* FREEOBJ deletes each tracked object as it is freed. Its events are
   * skipped along with the pass in a GC that runs without our hooks, and
   * the pass at the end of marking, which only counts GCs then, is what
   * notices such a GC. */
  if (!rmp_marked)
    rb_add_event_hook2(RMP_HOOK_FN(rmp_liveness_free_hook), RUBY_INTERNAL_EVENT_FREEOBJ, collector, flags);
  /* stop! emptied the table, so earlier GCs concern nothing tracked. */
  c->last_gc_count = rb_gc_count();
  c->last_major_count = rb_gc_stat(rmp_sym_major_gc_count);
  rb_add_event_hook2(RMP_HOOK_FN(rmp_liveness_mark_hook), RUBY_INTERNAL_EVENT_GC_END_MARK, collector, flags);
}

void rmp_ext_liveness_stop(VALUE collector) {
  rb_remove_event_hook_with_data(RMP_HOOK_FN(rmp_liveness_mark_hook), collector);
  rb_remove_event_hook_with_data(RMP_HOOK_FN(rmp_liveness_free_hook), collector);
}

static uintptr_t rmp_location(void *ud, uintptr_t addr) {
  (void)ud;
  return (uintptr_t)rb_gc_location((VALUE)addr);
}

/* dcompact: tracked objects are weak references, so they may have moved.
 * Pending objects and frame keys are marked with rb_gc_mark, which pins
 * them; they are rewritten anyway in case a future Ruby stops pinning. */
void rmp_ext_compact(rmp_collector *c) {
  uint32_t i;
  if (!c->p_ready) return;
  c->compact_moved += rmp_live_rekey(&c->p.live, rmp_location, NULL);
  rmp_ext_audit_compact();
  for (i = 0; i < c->npending; i++) c->pending[i].obj = rb_gc_location(c->pending[i].obj);
  for (i = 0; i < c->p.stacks.nfuncs; i++) {
    uint64_t key = rmp_func_get(&c->p.stacks, i)->key;
    uint64_t moved = (uint64_t)rb_gc_location((VALUE)key);
    if (moved != key) rmp_func_rekey(&c->p.stacks, i, moved);
  }
}
