/* The allocation path: the NEWOBJ hook (no Ruby allocation allowed) and the
 * postponed job that finishes each sample once the object is constructed. */
#include "rmp_ext.h"

rmp_collector *rmp_ext_running = NULL;

/* Set only in the main Ractor's local storage. The internal
 * rb_ractor_main_p_ is not exported by a static libruby; on the main Ractor
 * this lookup is a cached read. */
static rb_ractor_local_key_t rmp_main_key;
/* The value is a static address: nothing to mark or free. */
static const struct rb_ractor_local_storage_type rmp_main_key_type = {NULL, NULL};

static int rmp_on_main_ractor(void) { return rb_ractor_local_storage_ptr(rmp_main_key) != NULL; }

static void rmp_mark_main_ractor(void) {
  rmp_main_key = rb_ractor_local_storage_ptr_newkey(&rmp_main_key_type);
  rb_ractor_local_storage_ptr_set(rmp_main_key, &rmp_main_key);
}

#ifdef HAVE_RB_POSTPONED_JOB_PREREGISTER
/* 3.3+: rb_postponed_job_register_one is deprecated; the job is registered
 * once and each sample only triggers it. */
static rb_postponed_job_handle_t rmp_job = POSTPONED_JOB_HANDLE_INVALID;
static void rmp_trigger_job(void) { rb_postponed_job_trigger(rmp_job); }
void rmp_ext_hooks_init(void) {
  rmp_mark_main_ractor();
  rmp_job = rb_postponed_job_preregister(0, rmp_ext_postponed_job, NULL);
  if (rmp_job == POSTPONED_JOB_HANDLE_INVALID)
    rb_raise(rmp_ext_eError, "ruby_memprofiler_pprof: no postponed job slot left");
}
#else
static void rmp_trigger_job(void) { rb_postponed_job_register_one(0, rmp_ext_postponed_job, NULL); }
void rmp_ext_hooks_init(void) { rmp_mark_main_ractor(); }
#endif

/* The main thread's dummy top-level frame, or Qfalse while unknown.
 * Below the main script's own <main> (an iseq whose frames carry their
 * line), Ruby keeps a placeholder iseq, also labelled <main>, whose path is
 * the script as given on the command line and whose line is 0. Ruby's own
 * backtraces leave it out, and so does 3.3's rb_profile_frames, but 3.1's
 * reports it (3.2 not checked). Kept, it ended every stack with a second
 * <main>, as a function of its own (line 0, the relative path). The hook
 * drops it by identity: one compare. */
static VALUE rmp_dummy_top = Qfalse;

/* Called with the GVL from Ruby code (Init, start!) until found. Only on
 * the main thread's root fiber is the deepest frame the dummy one; it is
 * recognised by what rb_profile_frames says of it: <main>, line 0, first
 * line 0 and no absolute path. The script's real <main> is at a line of 1
 * or more while it runs code, so a Ruby that skips the dummy matches
 * nothing here. */
void rmp_ext_find_dummy_top(void) {
  VALUE frames[256], last, label;
  int lines[256], depth;
  if (rmp_dummy_top != Qfalse || rb_thread_current() != rb_thread_main()) return;
  depth = rb_profile_frames(0, 256, frames, lines);
  if (depth <= 0 || depth == 256 || lines[depth - 1] != 0) return;
  last = frames[depth - 1];
  label = rb_profile_frame_label(last);
  if (!RB_TYPE_P(label, T_STRING) || RSTRING_LEN(label) != 6 || memcmp(RSTRING_PTR(label), "<main>", 6) != 0) return;
  if (rb_profile_frame_first_lineno(last) != INT2FIX(0) || !NIL_P(rb_profile_frame_absolute_path(last))) return;
  /* A registered address is marked as a pinned root: the iseq keeps its
   * address, which the hook compares against. */
  rmp_dummy_top = last;
  rb_gc_register_address(&rmp_dummy_top);
}

/* The sampled path, out of line so the hook's unsampled path needs no
 * register saves or stack-protector canary around its decrement. */
static RMP_EXT_NOINLINE void rmp_ext_newobj_sampled(rmp_collector *c, const rb_trace_arg_t *arg) {
  VALUE obj;
  int depth, i;
  uint32_t stack = 0;
  rmp_decision d;

  /* Our own allocations (class names, frame labels, the profile string)
   * are no candidates. Hooks are per-Ractor, so another Ractor's should
   * not reach here; if they did, the tables are not Ractor-safe. */
  if (c->in_shim || !rmp_on_main_ractor()) {
    rmp_sample_skip(&c->p);
    return;
  }
  /* Decided before the stack capture: with the live table thinned and the
   * allocations reservoir full, most samples end here. */
  if (!(d = rmp_sample_confirm(&c->p))) return;
  if (c->npending >= RMP_EXT_PENDING_MAX) {
    c->pending_dropped++;
    return;
  }
  obj = rb_tracearg_object((rb_trace_arg_t *)arg);
  depth = rb_profile_frames(0, RMP_EXT_MAX_FRAMES, c->frames, c->lines);
  if (depth > 0 && depth < RMP_EXT_MAX_FRAMES && c->frames[depth - 1] == rmp_dummy_top) depth--;
  if (depth <= 0) {
    /* No Ruby frame (e.g. an allocation from C during boot). pprof tools drop
     * samples without locations, so give these one synthetic frame. */
    c->frames[0] = RMP_EXT_NO_FRAMES_KEY;
    c->lines[0] = 0;
    depth = 1;
  }
  for (i = 0; i < depth; i++) c->keys[i] = (uint64_t)c->frames[i];
  if (rmp_stack_intern(&c->p.stacks, c->keys, c->lines, (size_t)depth, &stack) != RMP_OK) {
    c->p.stacks_dropped++;
    return;
  }
  c->pending[c->npending].obj = obj;
  c->pending[c->npending].stack = stack;
  c->pending[c->npending].decision = d;
  c->pending[c->npending].epoch = rmp_ext_epoch();
  c->npending++;
  rmp_trigger_job();
}

void rmp_ext_newobj_hook(VALUE data, const rb_trace_arg_t *arg) {
  /* The hook's data is the Collector object (the hook list marks it as a
   * VALUE), but reading the collector through it costs a likely cache miss
   * per allocation; the running collector is also in a hot global. */
  rmp_collector *c = rmp_ext_running;
  (void)data;
  if (RMP_UNLIKELY(!c)) return;
  if (RMP_LIKELY(!rmp_sample_countdown(&c->p))) return;
  rmp_ext_newobj_sampled(c, arg);
}

static uint32_t rmp_intern_cstr(rmp_collector *c, const char *s) {
  uint32_t id = 0;
  if (rmp_strtab_intern_cstr(&c->p.strings, s, &id) != RMP_OK) return 0;
  return id;
}

static uint32_t rmp_intern_rstr(rmp_collector *c, VALUE s, const char *fallback) {
  uint32_t id = 0;
  if (!RB_TYPE_P(s, T_STRING)) return rmp_intern_cstr(c, fallback);
  if (rmp_strtab_intern(&c->p.strings, RSTRING_PTR(s), (size_t)RSTRING_LEN(s), &id) != RMP_OK) return 0;
  return id;
}

static const char *rmp_type_label(int t) {
  switch (t) {
    case T_OBJECT: return "<T_OBJECT>";
    case T_CLASS: return "<T_CLASS>";
    case T_MODULE: return "<T_MODULE>";
    case T_FLOAT: return "<T_FLOAT>";
    case T_STRING: return "<T_STRING>";
    case T_REGEXP: return "<T_REGEXP>";
    case T_ARRAY: return "<T_ARRAY>";
    case T_HASH: return "<T_HASH>";
    case T_STRUCT: return "<T_STRUCT>";
    case T_BIGNUM: return "<T_BIGNUM>";
    case T_FILE: return "<T_FILE>";
    case T_DATA: return "<T_DATA>";
    case T_MATCH: return "<T_MATCH>";
    case T_COMPLEX: return "<T_COMPLEX>";
    case T_RATIONAL: return "<T_RATIONAL>";
    case T_SYMBOL: return "<T_SYMBOL>";
    case T_IMEMO: return "<T_IMEMO>";
    case T_NODE: return "<T_NODE>";
    case T_ICLASS: return "<T_ICLASS>";
    case T_ZOMBIE: return "<T_ZOMBIE>";
    case T_MOVED: return "<T_MOVED>";
    default: return "<unknown type>";
  }
}

/* The object_class label. Internal objects have no class (hidden objects
 * have klass 0; an imemo's klass slot holds arbitrary data), so those are
 * labelled by type. Anonymous classes get rb_class_path's "#<Class:0x...>". */
static uint32_t rmp_class_label(rmp_collector *c, VALUE obj) {
  int t = RB_BUILTIN_TYPE(obj);
  VALUE klass, name;
  switch (t) {
    case T_NONE: case T_IMEMO: case T_NODE: case T_ICLASS: case T_ZOMBIE: case T_MOVED:
      return rmp_intern_cstr(c, rmp_type_label(t));
    default:
      break;
  }
  klass = RBASIC_CLASS(obj);
  if (!klass) return rmp_intern_cstr(c, rmp_type_label(t));
  klass = rb_class_real(klass);
  if (!klass) return rmp_intern_cstr(c, rmp_type_label(t));
  /* A named class's path is cached on the class: no allocation. */
  name = rb_mod_name(klass);
  if (NIL_P(name)) name = rb_class_path(klass);
  return rmp_intern_rstr(c, name, rmp_type_label(t));
}

/* Names for functions interned since the last call. rb_profile_frame_*
 * allocate Strings, so this runs in the job, never in the hook. */
static void rmp_resolve_funcs(rmp_collector *c) {
  rmp_stacks *st = &c->p.stacks;
  uint32_t f;
  for (f = st->first_unresolved; f < st->nfuncs; f++) {
    VALUE frame, name, path, first;
    uint32_t name_id, file_id;
    int32_t line = 0;
    if (rmp_func_get(st, f)->resolved) continue;
    frame = (VALUE)rmp_func_get(st, f)->key;
    if (frame == RMP_EXT_NO_FRAMES_KEY) {
      name_id = rmp_intern_cstr(c, "(no Ruby frames)");
      rmp_func_resolve(st, f, name_id, name_id, 0, 0);
      continue;
    }
    name = rb_profile_frame_full_label(frame);
    path = rb_profile_frame_absolute_path(frame);
    if (NIL_P(path)) path = rb_profile_frame_path(frame);
    first = rb_profile_frame_first_lineno(frame);
    if (RB_INTEGER_TYPE_P(first)) line = (int32_t)NUM2INT(first);
    name_id = rmp_intern_rstr(c, name, "<unknown>");
    /* C functions have no iseq and so no file. */
    file_id = rmp_intern_rstr(c, path, "<cfunc>");
    rmp_func_resolve(st, f, name_id, name_id, file_id, line);
  }
}

/* The first thinning in the process is logged (collector.rb); the profile
 * comments and stats say it every time. */
static int rmp_thinning_reported = 0;

static VALUE rmp_report_thinning(VALUE cv) {
  rmp_collector *c = (rmp_collector *)cv;
  return rb_funcall(c->self, rb_intern("_report_thinning"), 1, DBL2NUM(rmp_heap_probability(&c->p)));
}

static VALUE rmp_drain_body(VALUE cv) {
  rmp_collector *c = (rmp_collector *)cv;
  uint32_t i;
  /* Each object stays in pending[] (so dmark keeps it) until committed;
   * a GC triggered by a class-name allocation here is therefore safe. */
  for (i = 0; i < c->npending; i++) {
    VALUE obj = c->pending[i].obj;
    uint32_t klass = rmp_class_label(c, obj);
    size_t size = rb_obj_memsize_of(obj);
    rmp_track(&c->p, (uintptr_t)obj, c->pending[i].stack, klass, (uint64_t)size, c->pending[i].epoch,
              c->pending[i].decision);
    rmp_ext_audit_track(c, (uintptr_t)obj);
  }
  c->npending = 0;
  rmp_resolve_funcs(c);
  return Qnil;
}

void rmp_ext_drain(rmp_collector *c) {
  int state = 0;
  if (c->in_shim) return;
  if (c->npending == 0 && c->p.stacks.first_unresolved >= c->p.stacks.nfuncs) return;
  c->in_shim = 1;
  rb_protect(rmp_drain_body, (VALUE)c, &state);
  if (state) {
    /* A profiler must not raise into the app: count what was lost. */
    c->pending_dropped += c->npending;
    c->npending = 0;
    rb_set_errinfo(Qnil);
  }
  c->in_shim = 0;
  /* The app's logger may release the GVL (a sleep, a write to a full
   * pipe), and in_shim is the collector's, not this thread's: inside it,
   * every allocation the other threads made meanwhile went unsampled (a
   * CI run lost 13% of a retained estimate so). */
  if (c->p.heap_thinnings && !rmp_thinning_reported) {
    rmp_thinning_reported = 1;
    rb_protect(rmp_report_thinning, (VALUE)c, &state);
    if (state) rb_set_errinfo(Qnil);
  }
}

/* Sampling on and off, and the Ractor pause. Ruby 3.1.2 crashes firing a
 * NEWOBJ hook before a new Ractor has a frame (Bug #18464), and the tables
 * are not Ractor-safe anyway, so the hook is off from the first Ractor.new
 * until only the main Ractor is left. */

/* Ractor.new calls in progress: between _ractor_starting and the new
 * Ractor being counted, Ractor.count still says 1. */
static int rmp_ractors_starting = 0;

static void rmp_newobj_on(rmp_collector *c) {
  rb_add_event_hook2(RMP_HOOK_FN(rmp_ext_newobj_hook), RUBY_INTERNAL_EVENT_NEWOBJ, c->self,
                     RUBY_EVENT_HOOK_FLAG_SAFE | RUBY_EVENT_HOOK_FLAG_RAW_ARG);
}

static void rmp_newobj_off(rmp_collector *c) { rb_remove_event_hook_with_data(RMP_HOOK_FN(rmp_ext_newobj_hook), c->self); }

int rmp_ext_sampling_paused(void) {
  VALUE ractor;
  if (rmp_ractors_starting > 0) return 1;
  if (!rb_const_defined(rb_cObject, rb_intern("Ractor"))) return 0;
  ractor = rb_const_get(rb_cObject, rb_intern("Ractor"));
  return NUM2LONG(rb_funcall(ractor, rb_intern("count"), 0)) > 1;
}

void rmp_ext_sampling_start(rmp_collector *c, int paused) {
  c->newobj_paused = paused;
  if (!paused) rmp_newobj_on(c);
}

void rmp_ext_sampling_stop(rmp_collector *c) {
  rmp_newobj_off(c);
  c->newobj_paused = 0;
}

void rmp_ext_sampling_pause(void) {
  rmp_collector *c = rmp_ext_running;
  rmp_ractors_starting++;
  if (c && c->running && !c->newobj_paused) {
    rmp_newobj_off(c);
    c->newobj_paused = 1;
  }
}

void rmp_ext_sampling_ractor_started(void) {
  if (rmp_ractors_starting > 0) rmp_ractors_starting--;
}

void rmp_ext_sampling_resume(rmp_collector *c) {
  if (!c->running || !c->newobj_paused || rmp_ext_sampling_paused()) return;
  c->newobj_paused = 0;
  rmp_newobj_on(c);
}

void rmp_ext_postponed_job(void *unused) {
  (void)unused;
  if (rmp_ext_running) rmp_ext_drain(rmp_ext_running);
}
