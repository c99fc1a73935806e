/* An empty raw NEWOBJ hook. RAW_ARG skips building the rb_trace_arg_t
 * wrapper; this is the same registration the RMP shim uses, minus any work. */
#include <ruby.h>
#include <ruby/debug.h>
#ifdef HAVE_VALGRIND_CALLGRIND_H
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_ZERO_STATS
#endif

static unsigned long calls;

static void on_newobj(VALUE tpval, void *data) {
  (void)tpval;
  (void)data;
  calls++;
}

static VALUE floor_start(VALUE self) {
  (void)self;
  rb_add_event_hook2((rb_event_hook_func_t)on_newobj, RUBY_INTERNAL_EVENT_NEWOBJ, Qnil,
                     RUBY_EVENT_HOOK_FLAG_SAFE | RUBY_EVENT_HOOK_FLAG_RAW_ARG);
  return Qnil;
}

static VALUE floor_stop(VALUE self) {
  (void)self;
  rb_remove_event_hook((rb_event_hook_func_t)on_newobj);
  return Qnil;
}

/* The hook count proves the hook ran (an empty hook that never fires would
 * make the floor look free). */
static VALUE floor_calls(VALUE self) {
  (void)self;
  return ULONG2NUM(calls);
}

/* No-ops outside valgrind. */
static VALUE cg_start(VALUE self) {
  (void)self;
  CALLGRIND_START_INSTRUMENTATION;
  CALLGRIND_ZERO_STATS;
  return Qnil;
}

static VALUE cg_stop(VALUE self) {
  (void)self;
  CALLGRIND_STOP_INSTRUMENTATION;
  return Qnil;
}

void Init_rmp_bench_floor(void) {
  VALUE m = rb_define_module("RmpBenchFloor");
  rb_define_module_function(m, "start", floor_start, 0);
  rb_define_module_function(m, "stop", floor_stop, 0);
  rb_define_module_function(m, "calls", floor_calls, 0);
  rb_define_module_function(m, "callgrind_start", cg_start, 0);
  rb_define_module_function(m, "callgrind_stop", cg_stop, 0);
}
