/* Test-only hooks into the shim, compiled in only when extconf.rb sees
 * RMP_EXT_TESTING (the test suites' builds, never the installed gem).
 *
 * The liveness audit: a shadow of the live table that a FREEOBJ hook keeps,
 * the ground truth for the mark-bit pass. Every object the running
 * collector commits while the audit is on also goes into the shadow, and
 * leaves it only when Ruby frees it. After a GC whose sweep has finished,
 * the two tables must hold the same addresses. */
#include "rmp_ext.h"

#ifdef RMP_EXT_TESTING
uint32_t rmp_ext_epoch_offset = 0;

static rmp_live rmp_audit;
static int rmp_audit_on = 0;

static void rmp_audit_free_hook(VALUE data, const rb_trace_arg_t *arg) {
  (void)data;
  if (rmp_audit_on) rmp_live_delete(&rmp_audit, (uintptr_t)rb_tracearg_object((rb_trace_arg_t *)arg));
}

void rmp_ext_audit_track(rmp_collector *c, uintptr_t addr) {
  rmp_live_entry e;
  /* Only what the live table accepted (it may be full). */
  if (!rmp_audit_on || !rmp_live_lookup(&c->p.live, addr)) return;
  memset(&e, 0, sizeof(e));
  e.addr = addr;
  rmp_live_insert(&rmp_audit, &e);
}

static uintptr_t rmp_audit_location(void *ud, uintptr_t addr) {
  (void)ud;
  return (uintptr_t)rb_gc_location((VALUE)addr);
}

void rmp_ext_audit_compact(void) {
  if (rmp_audit_on) rmp_live_rekey(&rmp_audit, rmp_audit_location, NULL);
}

typedef struct rmp_audit_diff {
  const rmp_live *other;
  long missing; /* entries of this table absent from other */
} rmp_audit_diff;

static int rmp_audit_count_missing(void *ud, rmp_live_entry *e) {
  rmp_audit_diff *d = (rmp_audit_diff *)ud;
  if (!rmp_live_lookup(d->other, e->addr)) d->missing++;
  return 1;
}

/* Collector#_audit_start: from now on, shadow what this collector commits. */
static VALUE rmp_audit_start(VALUE self) {
  if (rmp_audit_on) return self;
  if (rmp_live_init(&rmp_audit, UINT32_C(1) << 30) != RMP_OK) rb_raise(rb_eNoMemError, "audit table");
  rb_add_event_hook2(RMP_HOOK_FN(rmp_audit_free_hook), RUBY_INTERNAL_EVENT_FREEOBJ, self,
                     RUBY_EVENT_HOOK_FLAG_SAFE | RUBY_EVENT_HOOK_FLAG_RAW_ARG);
  rmp_audit_on = 1;
  return self;
}

static VALUE rmp_audit_stop(VALUE self) {
  if (!rmp_audit_on) return self;
  rb_remove_event_hook_with_data(RMP_HOOK_FN(rmp_audit_free_hook), self);
  rmp_live_free(&rmp_audit);
  rmp_audit_on = 0;
  return self;
}

/* Collector#_audit: [tracked but freed, alive but no longer tracked, shadow
 * size]. Valid once the last GC's sweep has finished and pending samples
 * are committed. */
static VALUE rmp_audit_check(VALUE self) {
  rmp_collector *c = (rmp_collector *)RTYPEDDATA_DATA(self);
  rmp_audit_diff freed = {&rmp_audit, 0}, lost = {&c->p.live, 0};
  if (!rmp_audit_on) rb_raise(rb_eRuntimeError, "the audit is not running");
  rmp_live_sweep(&c->p.live, rmp_audit_count_missing, &freed);
  rmp_live_sweep(&rmp_audit, rmp_audit_count_missing, &lost);
  return rb_ary_new_from_args(3, LONG2NUM(freed.missing), LONG2NUM(lost.missing), ULONG2NUM(rmp_audit.count));
}

static unsigned rmp_passes_to_skip = 0;

int rmp_ext_test_skips_pass(void) {
  if (!rmp_passes_to_skip) return 0;
  rmp_passes_to_skip--;
  return 1;
}

/* Collector._skip_liveness_passes(n): the next n GCs run without the pass. */
static VALUE rmp_skip_passes(VALUE klass, VALUE n) {
  (void)klass;
  rmp_passes_to_skip = NUM2UINT(n);
  return n;
}

/* Collector._heap_bits_recheck(skew): see rmp_ext_heap_bits_recheck. */
static VALUE rmp_heap_bits_recheck(VALUE klass, VALUE skew) {
  (void)klass;
  rmp_ext_heap_bits_recheck(NUM2SIZET(skew));
  return skew;
}

/* Brings the epoch's 2^32 wrap within a few GCs. */
static VALUE rmp_set_epoch_offset(VALUE klass, VALUE offset) {
  (void)klass;
  rmp_ext_epoch_offset = NUM2UINT(offset);
  return offset;
}

/* Collector#_last_encode_held_gvl: did the last flush encode with the GVL? */
static VALUE rmp_last_encode_held_gvl(VALUE self) {
  rmp_collector *c = (rmp_collector *)RTYPEDDATA_DATA(self);
  return c->last_encode_held_gvl ? Qtrue : Qfalse;
}

void rmp_ext_testing_init(VALUE collector_class) {
  rb_define_private_method(collector_class, "_last_encode_held_gvl", rmp_last_encode_held_gvl, 0);
  rb_define_private_method(collector_class, "_audit_start", rmp_audit_start, 0);
  rb_define_private_method(collector_class, "_audit_stop", rmp_audit_stop, 0);
  rb_define_private_method(collector_class, "_audit", rmp_audit_check, 0);
  rb_define_singleton_method(collector_class, "_set_epoch_offset", rmp_set_epoch_offset, 1);
  rb_define_singleton_method(collector_class, "_skip_liveness_passes", rmp_skip_passes, 1);
  rb_define_singleton_method(collector_class, "_heap_bits_recheck", rmp_heap_bits_recheck, 1);
}
#endif
