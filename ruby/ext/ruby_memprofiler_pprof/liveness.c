/* Free detection and compaction for the live table.
 *
 * Preferred: one pass over the tracked set at RUBY_INTERNAL_EVENT_GC_END_MARK,
 * dropping entries whose mark bit is clear. Its cost scales with tracked
 * objects, where a FREEOBJ hook costs ~17-20 ns on every free, sampled or
 * not. Fallback (libruby without rb_objspace_marked_object_p): FREEOBJ.
 * Neither hook may allocate: both run inside the GC. */
#include "rmp_ext.h"

#ifdef HAVE_RB_OBJSPACE_MARKED_OBJECT_P
#define RMP_EXT_LIVENESS_EVENT RUBY_INTERNAL_EVENT_GC_END_MARK

static VALUE rmp_sym_major_gc_count = Qnil;

/* Unmarked at the end of marking = freed by the sweep that follows. Old
 * objects keep their mark bits through a minor GC, so this is exact in both
 * kinds of GC; objects still pending are marked by dmark.
 *
 * Old objects are only ever freed by a major GC, so an entry seen old once
 * is skipped without touching the object in later minor GCs (reading the
 * object or its page's mark bitmap is a cache miss per entry; the flag sits
 * in the entry itself). The flag borrows the top bit of the epoch (a GC
 * count); flush clears it before the snapshot, so ages stay right. */
static int rmp_keep_marked(void *ud, rmp_live_entry *e) {
  rmp_collector *c = (rmp_collector *)ud;
  VALUE obj = (VALUE)e->addr;
  if (c->gc_is_minor && (e->epoch & RMP_EXT_OLD_BIT)) return 1;
  if (!rb_objspace_marked_object_p(obj)) return 0;
  /* Old = both age bits set (RVALUE_OLD_AGE == 3); RB_OBJ_PROMOTED_RAW is
   * true from age 1, which would be wrong here. */
  if ((RBASIC(obj)->flags & RUBY_FL_PROMOTED) == RUBY_FL_PROMOTED) e->epoch |= RMP_EXT_OLD_BIT;
  return 1;
}

static void rmp_liveness_hook(VALUE data, const rb_trace_arg_t *arg) {
  rmp_collector *c = (rmp_collector *)RTYPEDDATA_DATA(data);
  /* gc_start bumps major_gc_count before marking; the symbol was primed
   * outside the GC, so this lookup allocates nothing. */
  size_t majors = rb_gc_stat(rmp_sym_major_gc_count);
  uint64_t t0 = rmp_ext_now_ns();
  (void)arg;
  c->gc_is_minor = majors == c->last_major_count;
  c->last_major_count = majors;
  c->gc_sweeps++;
  c->gc_swept += rmp_live_sweep(&c->p.live, rmp_keep_marked, c);
  c->gc_sweep_ns += rmp_ext_now_ns() - t0;
}

const char *rmp_ext_liveness_mode(void) { return "gc_end_mark"; }
#else
#define RMP_EXT_LIVENESS_EVENT RUBY_INTERNAL_EVENT_FREEOBJ

static void rmp_liveness_hook(VALUE data, const rb_trace_arg_t *arg) {
  rmp_collector *c = (rmp_collector *)RTYPEDDATA_DATA(data);
  VALUE obj = rb_tracearg_object((rb_trace_arg_t *)arg);
  if (c->p.live.count == 0) return;
  c->gc_swept += (uint64_t)rmp_live_delete(&c->p.live, (uintptr_t)obj);
}

const char *rmp_ext_liveness_mode(void) { return "freeobj"; }
#endif

void rmp_ext_liveness_start(VALUE collector) {
#ifdef HAVE_RB_OBJSPACE_MARKED_OBJECT_P
  rmp_collector *c = (rmp_collector *)RTYPEDDATA_DATA(collector);
  if (NIL_P(rmp_sym_major_gc_count)) rmp_sym_major_gc_count = ID2SYM(rb_intern("major_gc_count"));
  c->last_major_count = rb_gc_stat(rmp_sym_major_gc_count);
#endif
  rb_add_event_hook2(RMP_HOOK_FN(rmp_liveness_hook), RMP_EXT_LIVENESS_EVENT, collector,
                     RUBY_EVENT_HOOK_FLAG_SAFE | RUBY_EVENT_HOOK_FLAG_RAW_ARG);
}

void rmp_ext_liveness_stop(VALUE collector) {
  rb_remove_event_hook_with_data(RMP_HOOK_FN(rmp_liveness_hook), collector);
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
  for (i = 0; i < c->npending; i++) c->pending[i].obj = rb_gc_location(c->pending[i].obj);
  for (i = 0; i < c->p.stacks.nfuncs; i++) {
    uint64_t key = rmp_func_get(&c->p.stacks, i)->key;
    uint64_t moved = (uint64_t)rb_gc_location((VALUE)key);
    if (moved != key) rmp_func_rekey(&c->p.stacks, i, moved);
  }
}
