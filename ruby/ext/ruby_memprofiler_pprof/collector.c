/* MemprofilerPprof::Collector: the TypedData wrapper, its Ruby methods and
 * Init. Argument validation lives in lib/ruby_memprofiler_pprof/collector.rb;
 * the underscore methods here trust their (already checked) arguments. */
#include <time.h>
#include <unistd.h>
#include "rmp_ext.h"

uint64_t rmp_ext_fork_gen = 0;
/* Roots the running Collector, so it (and its dmark) outlives any user
 * reference while its hooks are installed. */
static VALUE rmp_running_value = Qnil;
VALUE rmp_ext_eError = Qnil;

static uint64_t rmp_fresh_seed(const void *salt) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return rmp_ext_now_ns() ^ ((uint64_t)ts.tv_nsec << 17) ^ ((uint64_t)getpid() << 32) ^
         (uint64_t)(uintptr_t)salt;
}

static void rmp_mark_key(void *ud, uint64_t key) {
  (void)ud;
  rb_gc_mark((VALUE)key);
}

/* Pending objects are strong until committed. Frame keys (iseqs and method
 * entries) are marked (and so pinned) while any stack uses them; rotation
 * drops unreferenced ones, and from then on they are no longer marked. The
 * object is deliberately not write-barrier protected, so Ruby rescans it in
 * every minor GC even once it is old. */
static void rmp_collector_mark(void *ptr) {
  rmp_collector *c = (rmp_collector *)ptr;
  uint32_t i;
  for (i = 0; i < c->npending; i++) rb_gc_mark(c->pending[i].obj);
  if (c->p_ready) rmp_stacks_each_key(&c->p.stacks, rmp_mark_key, NULL);
  rb_gc_mark(c->flush_mutex);
}

static void rmp_collector_stop_hooks(rmp_collector *c, VALUE self) {
  rmp_ext_sampling_stop(c);
  rmp_ext_liveness_stop(self);
  c->running = 0;
  if (rmp_ext_running == c) {
    rmp_ext_running = NULL;
    rmp_running_value = Qnil;
  }
}

static void rmp_collector_free(void *ptr) {
  rmp_collector *c = (rmp_collector *)ptr;
  /* A running collector is rooted by its hooks, so this runs only at VM
   * teardown; unhook anyway so nothing calls into freed memory. */
  if (c->running) rmp_collector_stop_hooks(c, c->self);
  if (c->p_ready) rmp_profiler_free(&c->p);
  ruby_xfree(c);
}

static size_t rmp_collector_memsize(const void *ptr) {
  const rmp_collector *c = (const rmp_collector *)ptr;
  size_t n = sizeof(*c);
  if (!c->p_ready) return n;
  n += (size_t)rmp_live_nslots(&c->p.live) * sizeof(rmp_live_entry);
  n += (size_t)c->p.allocs.cap * sizeof(rmp_alloc_sample);
  n += c->p.strings.arena_cap + (size_t)c->p.strings.cap * (sizeof(uint64_t) + sizeof(uint32_t));
  n += (size_t)c->p.stacks.funcs_cap * sizeof(rmp_func) + (size_t)c->p.stacks.frames_cap * sizeof(rmp_frame);
  n += (size_t)c->p.stacks.nodes_cap * (sizeof(rmp_node) + sizeof(uint32_t));
  return n;
}

static void rmp_collector_compact(void *ptr) { rmp_ext_compact((rmp_collector *)ptr); }

static const rb_data_type_t rmp_collector_type = {
  "MemprofilerPprof::Collector",
  {rmp_collector_mark, rmp_collector_free, rmp_collector_memsize, rmp_collector_compact, {0}},
  0, 0,
  RUBY_TYPED_FREE_IMMEDIATELY,
};

static rmp_collector *rmp_get(VALUE self) {
  rmp_collector *c;
  TypedData_Get_Struct(self, rmp_collector, &rmp_collector_type, c);
  if (!c->p_ready) rb_raise(rmp_ext_eError, "MemprofilerPprof::Collector is not initialized");
  return c;
}

static VALUE rmp_collector_alloc(VALUE klass) {
  rmp_collector *c;
  rmp_config cfg;
  VALUE self = TypedData_Make_Struct(klass, rmp_collector, &rmp_collector_type, c);
  c->flush_mutex = Qnil;
  /* Collector#initialize applies the Ruby defaults (collector.rb). */
  rmp_config_default(&cfg);
  cfg.seed = rmp_fresh_seed(c);
  /* Flush then holds the GVL for O(live objects), never for O(trie)
   * (IMPLEMENTATION.md, Flush). */
  cfg.compact_growth = 0.5;
  if (rmp_profiler_init(&c->p, &cfg) != RMP_OK) rb_raise(rb_eNoMemError, "ruby_memprofiler_pprof: out of memory");
  if (rmp_ext_liveness_prepare(c) != RMP_OK) {
    rmp_profiler_free(&c->p);
    rb_raise(rb_eNoMemError, "ruby_memprofiler_pprof: out of memory");
  }
  c->p.compact_elsewhere = 1; /* flush compacts, mostly without the GVL */
  c->p_ready = 1;
  c->fork_gen = rmp_ext_fork_gen;
  c->flush_mutex = rb_mutex_new();
  return self;
}

static VALUE rmp_set_sample_rate(VALUE self, VALUE rate) {
  if (rmp_sampler_set_rate(&rmp_get(self)->p.sampler, NUM2DBL(rate)) != RMP_OK)
    rb_raise(rb_eArgError, "sample_rate must be in [0, 1]");
  return rate;
}

static VALUE rmp_set_retain_rate(VALUE self, VALUE rate) {
  if (rmp_sampler_set_retain_rate(&rmp_get(self)->p.sampler, NUM2DBL(rate)) != RMP_OK)
    rb_raise(rb_eArgError, "allocation_retain_rate must be in [0, 1]");
  return rate;
}

static VALUE rmp_set_max_heap(VALUE self, VALUE n) {
  if (rmp_live_set_max(&rmp_get(self)->p.live, NUM2UINT(n)) != RMP_OK)
    rb_raise(rb_eArgError, "max_heap_samples could not be applied");
  return n;
}

/* Retained objects allocated since the last GC: left out by default. */
static VALUE rmp_set_retain_new(VALUE self, VALUE on) {
  rmp_get(self)->p.min_live_age = RTEST(on) ? 0 : 1;
  return on;
}

/* From the next interval on (rmp_allocs_set_max). */
static VALUE rmp_set_max_allocs(VALUE self, VALUE n) {
  if (rmp_allocs_set_max(&rmp_get(self)->p.allocs, NUM2UINT(n)) != RMP_OK)
    rb_raise(rb_eArgError, "max_allocation_samples could not be applied");
  return n;
}

static VALUE rmp_start(VALUE self) {
  rmp_collector *c = rmp_get(self);
  int paused;
  if (c->running) return self;
  if (rmp_ext_running) rb_raise(rmp_ext_eError, "another MemprofilerPprof::Collector is already running");
  if (c->fork_gen != rmp_ext_fork_gen) {
    rmp_sampler_reseed(&c->p.sampler, rmp_fresh_seed(c));
    c->fork_gen = rmp_ext_fork_gen;
  }
  /* The first profile's interval starts here, not at the epoch. */
  if (c->p.interval_start_ns == 0) c->p.interval_start_ns = rmp_ext_now_ns();
  /* Calls Ruby, so it may raise: before anything is published. */
  paused = rmp_ext_sampling_paused();
  /* In case the extension was loaded off the main thread. */
  rmp_ext_find_dummy_top();
  rmp_ext_running = c;
  rmp_running_value = self;
  c->self = self;
  rmp_ext_sampling_start(c, paused);
  rmp_ext_liveness_start(self);
  c->running = 1;
  return self;
}

/* Without the hooks nothing tells us when tracked objects die (and their
 * addresses get reused), so the live table is emptied. The interval's
 * allocation samples stay for the next flush. */
static VALUE rmp_stop(VALUE self) {
  rmp_collector *c = rmp_get(self);
  if (!c->running) return self;
  rmp_ext_drain(c);
  rmp_collector_stop_hooks(c, self);
  rmp_live_sweep(&c->p.live, rmp_ext_keep_none, NULL);
  return self;
}

static VALUE rmp_running_p(VALUE self) { return rmp_get(self)->running ? Qtrue : Qfalse; }

static VALUE rmp_flush_locked(VALUE self) { return rmp_ext_flush(rmp_get(self)); }

static VALUE rmp_flush(VALUE self) {
  rmp_collector *c = rmp_get(self);
  /* Flushes from two threads would race on rotation; serialise them. */
  return rb_mutex_synchronize(c->flush_mutex, rmp_flush_locked, self);
}

#define RMP_STAT(name, v) rb_hash_aset(h, ID2SYM(rb_intern(name)), ULL2NUM((unsigned long long)(v)))

static VALUE rmp_stats(VALUE self) {
  rmp_collector *c = rmp_get(self);
  VALUE h = rb_hash_new();
  RMP_STAT("live_samples", c->p.live.count);
  RMP_STAT("heap_samples_dropped", c->p.live.dropped);
  rb_hash_aset(h, ID2SYM(rb_intern("heap_sample_probability")), DBL2NUM(rmp_heap_probability(&c->p)));
  RMP_STAT("heap_thinnings", c->p.heap_thinnings);
  RMP_STAT("allocation_candidates", c->p.allocs.seen);
  RMP_STAT("allocation_samples", c->p.allocs.n);
  RMP_STAT("allocation_samples_dropped", c->p.allocs.dropped);
  RMP_STAT("pending", c->npending);
  RMP_STAT("sampling_paused_for_ractors", c->newobj_paused);
  RMP_STAT("pending_dropped", c->pending_dropped);
  RMP_STAT("stacks_dropped", c->p.stacks_dropped);
  RMP_STAT("samples_taken", c->p.samples_taken);
  RMP_STAT("stacks", c->p.stacks.nnodes);
  RMP_STAT("functions", c->p.stacks.nfuncs);
  RMP_STAT("strings", c->p.strings.count);
  RMP_STAT("stack_compactions", c->p.compactions);
  RMP_STAT("gc_sweeps", c->gc_sweeps);
  RMP_STAT("gc_swept", c->gc_swept);
  RMP_STAT("gc_sweep_ns", c->gc_sweep_ns);
  RMP_STAT("liveness_missed_gcs", c->liveness_missed_gcs);
  RMP_STAT("liveness_dropped", c->liveness_dropped);
  RMP_STAT("compaction_moved", c->compact_moved);
  RMP_STAT("flush_invalid", c->flush_invalid);
  RMP_STAT("flushes", c->flushes);
  RMP_STAT("last_flush_snapshot_ns", c->last_snapshot_ns);
  RMP_STAT("last_flush_encode_ns", c->last_encode_ns);
  RMP_STAT("last_flush_measure_ns", c->last_measure_ns);
  RMP_STAT("last_flush_gvl_ns", c->last_gvl_ns);
  RMP_STAT("last_flush_gvl_cpu_ns", c->last_gvl_cpu_ns);
  RMP_STAT("last_flush_bytes", c->last_bytes);
  rb_hash_aset(h, ID2SYM(rb_intern("liveness")), rb_str_new_cstr(rmp_ext_liveness_mode()));
  rb_hash_aset(h, ID2SYM(rb_intern("liveness_probe")), rb_str_new_cstr(rmp_ext_liveness_probe()));
  rb_hash_aset(h, ID2SYM(rb_intern("liveness_heap_bits")), rb_str_new_cstr(rmp_ext_liveness_heap_bits()));
  return h;
}

/* Called in a forked child (fork_hooks.rb). The live objects it inherits
 * are really live in it and stay; the parent's allocation samples and the
 * interval's counts are the parent's to report, so the child's first
 * profile starts at the fork. */
static VALUE rmp_after_fork_child(VALUE klass) {
  rmp_collector *c = rmp_ext_running;
  (void)klass;
  rmp_ext_fork_gen++;
  if (c) {
    rmp_sampler_reseed(&c->p.sampler, rmp_fresh_seed(c));
    c->fork_gen = rmp_ext_fork_gen;
    rmp_profiler_forget_interval(&c->p, rmp_ext_now_ns());
    rmp_ext_interval_begins(c);
  }
  return Qnil;
}

/* Called by the Ractor.new hook before a Ractor is created, and
 * _ractor_started after (hooks.c, the Ractor pause). */
static VALUE rmp_ractor_started(VALUE klass) {
  (void)klass;
  rmp_ext_sampling_ractor_started();
  return Qnil;
}

static VALUE rmp_ractor_starting(VALUE klass) {
  (void)klass;
  rmp_ext_sampling_pause();
  return Qnil;
}

static VALUE rmp_current_running(VALUE klass) {
  (void)klass;
  return rmp_running_value;
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((visibility("default")))
#endif
void Init_ruby_memprofiler_pprof(void);

void Init_ruby_memprofiler_pprof(void) {
  VALUE mod = rb_define_module("MemprofilerPprof");
  VALUE cls = rb_define_class_under(mod, "Collector", rb_cObject);
  /* The same class as errors.rb's, whichever file runs first. */
  rmp_ext_eError = rb_define_class_under(mod, "Error", rb_eStandardError);
  rmp_ext_find_internal_api();
  rmp_ext_liveness_init();
  rmp_ext_hooks_init();
  rmp_ext_find_dummy_top();
  rb_gc_register_address(&rmp_running_value);
  rb_define_alloc_func(cls, rmp_collector_alloc);
  rb_define_private_method(cls, "_set_sample_rate", rmp_set_sample_rate, 1);
  rb_define_private_method(cls, "_set_allocation_retain_rate", rmp_set_retain_rate, 1);
  rb_define_private_method(cls, "_set_max_heap_samples", rmp_set_max_heap, 1);
  rb_define_private_method(cls, "_set_max_allocation_samples", rmp_set_max_allocs, 1);
  rb_define_private_method(cls, "_set_retain_new_objects", rmp_set_retain_new, 1);
  rb_define_method(cls, "start!", rmp_start, 0);
  rb_define_method(cls, "stop!", rmp_stop, 0);
  rb_define_method(cls, "running?", rmp_running_p, 0);
  rb_define_method(cls, "flush", rmp_flush, 0);
  rb_define_method(cls, "stats", rmp_stats, 0);
  rb_define_singleton_method(cls, "_after_fork_child", rmp_after_fork_child, 0);
  rb_define_singleton_method(cls, "running_collector", rmp_current_running, 0);
  rb_define_singleton_method(cls, "_ractor_starting", rmp_ractor_starting, 0);
  rb_define_singleton_method(cls, "_ractor_started", rmp_ractor_started, 0);
  rmp_ext_testing_init(cls);
  rb_define_const(mod, "LIVENESS", rb_str_new_cstr(rmp_ext_liveness_mode()));
}
