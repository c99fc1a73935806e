/* rmp.h - the core of ruby_memprofiler_pprof: a heap-sampling profiler's data
 * structures, with no Ruby dependency.                         version 0.1.0
 *
 * USAGE
 *   In exactly one C or C++ file:
 *       #define RMP_IMPLEMENTATION
 *       #include "rmp.h"
 *   Everywhere else just #include "rmp.h". Define RMP_STATIC before the
 *   include to make every function static to that file instead.
 *
 *   Override the allocator or the assertion by defining, before the include:
 *       RMP_MALLOC(sz) RMP_REALLOC(p, sz) RMP_FREE(p) RMP_ASSERT(x)
 *
 *   A whole embedding, in order (see README.md "Using rmp.h in your own
 *   extension" for a compiled example):
 *       rmp_profiler p;  rmp_config cfg;
 *       rmp_config_default(&cfg);  cfg.sample_rate = 0.01;
 *       if (rmp_profiler_init(&p, &cfg) != RMP_OK) ...;
 *       // on every allocation (the hot path: one decrement and a branch)
 *       if (rmp_sample_tick(&p)) {
 *           uint32_t stack;
 *           rmp_stack_intern(&p.stacks, keys, lines, depth, &stack);
 *           rmp_track(&p, (uintptr_t)obj, stack, class_name_id, size);
 *       }
 *       // when objects die (e.g. after a GC's mark phase)
 *       rmp_live_sweep(&p.live, still_alive_fn, ud);
 *       // periodically: take the interval's data out, then encode it
 *       rmp_snapshot snap;
 *       rmp_profiler_rotate(&p, &snap, NULL, 0, now_ns);
 *       ... rmp_pprof_encode(&snap, ...) (see rmp_pprof.h) ...
 *       rmp_snapshot_free(&snap);
 *
 * THE PIECES, each in its own section below
 *   rmp_rng       xoshiro256** PRNG, seeded through splitmix64.
 *   rmp_sampler   Bernoulli(p) per allocation as a geometric skip countdown.
 *   rmp_strtab    interned byte strings; id 0 is always "".
 *   rmp_stacks    functions, frames and the stack trie; stack id 0 = empty.
 *   rmp_live      open-addressed table: object address -> live record.
 *   rmp_allocs    bounded buffer of allocation samples.
 *   rmp_profiler  all of the above, plus rotation (snapshot + compaction).
 *
 * No function allocates on the sampling decision path. Functions that can
 * allocate return rmp_status and report RMP_ERR_NOMEM rather than abort.
 * There is no global state; two profilers can coexist. Nothing is
 * thread-safe: the embedder serialises access (the Ruby shim uses the GVL).
 */
#ifndef RMP_H
#define RMP_H

#define RMP_VERSION_MAJOR 0
#define RMP_VERSION_MINOR 1
#define RMP_VERSION_PATCH 0
#define RMP_VERSION "0.1.0"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef RMP_MALLOC
#include <stdlib.h>
#define RMP_MALLOC(sz) malloc(sz)
#define RMP_REALLOC(p, sz) realloc(p, sz)
#define RMP_FREE(p) free(p)
#endif
#ifndef RMP_ASSERT
#include <assert.h>
#define RMP_ASSERT(x) assert(x)
#endif

#ifdef RMP_STATIC
#define RMP_DEF static
#else
#define RMP_DEF extern
#endif

#if defined(__GNUC__) || defined(__clang__)
#define RMP_LIKELY(x) __builtin_expect(!!(x), 1)
#define RMP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RMP_UNUSED __attribute__((unused))
#else
#define RMP_LIKELY(x) (x)
#define RMP_UNLIKELY(x) (x)
#define RMP_UNUSED
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rmp_status {
  RMP_OK = 0,
  RMP_ERR_INVALID = -1, /* an argument is out of range (e.g. a rate of NaN) */
  RMP_ERR_NOMEM = -2,   /* RMP_MALLOC/RMP_REALLOC returned NULL */
  RMP_ERR_FULL = -3,    /* a bounded structure is at its bound; counted */
  RMP_ERR_SINK = -4     /* an output sink reported failure (rmp_pprof.h) */
} rmp_status;

RMP_DEF const char *rmp_status_str(rmp_status s);

/* ===================================================================== */
/* rmp_rng: xoshiro256**                                                  */
/* ===================================================================== */

typedef struct rmp_rng {
  uint64_t s[4];
} rmp_rng;

RMP_DEF void rmp_rng_seed(rmp_rng *r, uint64_t seed);

static inline uint64_t rmp_rotl64_(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rmp_rng_next(rmp_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rmp_rotl64_(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rmp_rotl64_(s[3], 45);
  return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double rmp_rng_unit(rmp_rng *r) {
  return (double)(rmp_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* ===================================================================== */
/* rmp_sampler: Bernoulli(rate) per event via a geometric skip countdown  */
/* ===================================================================== */

typedef struct rmp_sampler {
  uint64_t countdown;  /* events left until the next sampled one; >= 1 */
  double rate;         /* probability that an event is sampled, in [0,1] */
  double log_q;        /* log(1 - rate), cached for the gap draw */
  double retain_rate;  /* second, independent Bernoulli: keep as alloc sample */
  rmp_rng rng;
} rmp_sampler;

/* 1 for a double in [0,1], 0 for NaN, negatives, > 1 and infinities. */
RMP_DEF int rmp_rate_valid(double rate);
RMP_DEF rmp_status rmp_sampler_init(rmp_sampler *s, double rate, double retain_rate, uint64_t seed);
RMP_DEF rmp_status rmp_sampler_set_rate(rmp_sampler *s, double rate);
RMP_DEF rmp_status rmp_sampler_set_retain_rate(rmp_sampler *s, double retain_rate);
/* Reseed (e.g. in a forked child, so parent and child sample differently). */
RMP_DEF void rmp_sampler_reseed(rmp_sampler *s, uint64_t seed);
/* Draw the number of events up to and including the next sampled one. */
RMP_DEF uint64_t rmp_sampler_draw_gap(rmp_sampler *s);
RMP_DEF int rmp_sampler_refill_(rmp_sampler *s);

/* The hot path: nonzero when this event is sampled. */
static inline int rmp_sampler_tick(rmp_sampler *s) {
  if (RMP_LIKELY(--s->countdown != 0)) return 0;
  return rmp_sampler_refill_(s);
}

/* Should a sampled allocation also be kept in the allocations section? */
static inline int rmp_sampler_retain(rmp_sampler *s) {
  if (s->retain_rate >= 1.0) return 1;
  if (s->retain_rate <= 0.0) return 0;
  return rmp_rng_unit(&s->rng) < s->retain_rate;
}

/* ===================================================================== */
/* rmp_strtab: interned strings                                          */
/* ===================================================================== */

typedef struct rmp_strtab {
  char *arena;       /* every string, each followed by a NUL */
  size_t arena_len, arena_cap;
  uint64_t *offs;    /* id -> arena offset */
  uint32_t *lens;    /* id -> length (strings may contain NULs) */
  uint32_t count, cap;
  uint32_t *index;   /* open addressing over ids + 1; 0 is an empty slot */
  uint32_t index_mask;
} rmp_strtab;

RMP_DEF rmp_status rmp_strtab_init(rmp_strtab *t);
RMP_DEF void rmp_strtab_free(rmp_strtab *t);
RMP_DEF rmp_status rmp_strtab_intern(rmp_strtab *t, const char *s, size_t len, uint32_t *id);
RMP_DEF rmp_status rmp_strtab_intern_cstr(rmp_strtab *t, const char *s, uint32_t *id);

static inline const char *rmp_strtab_get(const rmp_strtab *t, uint32_t id, size_t *len) {
  RMP_ASSERT(id < t->count);
  if (len) *len = t->lens[id];
  return t->arena + t->offs[id];
}

/* ===================================================================== */
/* rmp_stacks: functions, frames and the stack trie                      */
/* ===================================================================== */

/* One per distinct frame key (a Ruby iseq/cme VALUE). The embedder fills
 * name/file/start_line (string ids) once, when the function is new. */
typedef struct rmp_func {
  uint64_t key;
  uint32_t name, system_name, file;
  int32_t start_line;
  uint32_t resolved; /* nonzero once the embedder has filled the names */
  uint32_t pad_;
} rmp_func;

/* One per distinct (function, line): a pprof Location. */
typedef struct rmp_frame {
  uint32_t func;
  int32_t line;
} rmp_frame;

/* A trie node: a stack is the path from a node up to the root (node 0). */
typedef struct rmp_node {
  uint32_t parent;
  uint32_t frame;
} rmp_node;

/* A direct-mapped cache from a whole stack's hash to its id, so that a
 * repeated stack costs one pass of hashing plus one verification walk. */
typedef struct rmp_stack_cache_entry {
  uint64_t hash;
  uint32_t id;
  uint32_t depth;
} rmp_stack_cache_entry;

#ifndef RMP_STACK_CACHE_BITS
#define RMP_STACK_CACHE_BITS 12
#endif
#ifndef RMP_MAX_DEPTH
#define RMP_MAX_DEPTH 4096 /* deeper stacks are truncated at the root end */
#endif

typedef struct rmp_stacks {
  rmp_func *funcs;
  uint32_t nfuncs, funcs_cap;
  uint32_t *func_index; uint32_t func_mask;   /* key -> func id + 1 */
  rmp_frame *frames;
  uint32_t nframes, frames_cap;
  uint32_t *frame_index; uint32_t frame_mask; /* (func,line) -> frame id + 1 */
  rmp_node *nodes;
  uint32_t nnodes, nodes_cap;
  uint32_t *node_index; uint32_t node_mask;   /* (parent,frame) -> node id + 1 */
  uint32_t *node_depth;                       /* id -> depth, for walking */
  rmp_stack_cache_entry *cache;               /* 1 << RMP_STACK_CACHE_BITS */
  uint32_t first_unresolved;                  /* funcs below this are resolved */
  uint8_t *marks;                             /* per node, during compaction */
  uint64_t truncated;                         /* stacks cut at RMP_MAX_DEPTH */
} rmp_stacks;

RMP_DEF rmp_status rmp_stacks_init(rmp_stacks *st);
RMP_DEF void rmp_stacks_free(rmp_stacks *st);

/* Intern a stack given leaf first: keys[i] is frame i's opaque key and
 * lines[i] its line. Identical stacks get identical ids. On failure *id is
 * untouched. */
RMP_DEF rmp_status rmp_stack_intern(rmp_stacks *st, const uint64_t *keys, const int *lines,
                                    size_t depth, uint32_t *id);

static inline uint32_t rmp_stack_depth(const rmp_stacks *st, uint32_t id) {
  RMP_ASSERT(id < st->nnodes);
  return st->node_depth[id];
}
/* Write up to max frame ids of stack id, leaf first; returns the depth. */
RMP_DEF uint32_t rmp_stack_frames(const rmp_stacks *st, uint32_t id, uint32_t *frame_ids, uint32_t max);

static inline const rmp_frame *rmp_frame_get(const rmp_stacks *st, uint32_t frame_id) {
  RMP_ASSERT(frame_id < st->nframes);
  return &st->frames[frame_id];
}
static inline rmp_func *rmp_func_get(const rmp_stacks *st, uint32_t func_id) {
  RMP_ASSERT(func_id < st->nfuncs);
  return &st->funcs[func_id];
}

/* Fill a function's names (string ids in the same profiler's strtab). */
RMP_DEF void rmp_func_resolve(rmp_stacks *st, uint32_t func_id, uint32_t name, uint32_t system_name,
                              uint32_t file, int32_t start_line);
/* Functions with ids in [first_unresolved, nfuncs) may still need names. */

/* Rewrite a function key in place (its object moved). Returns RMP_ERR_INVALID
 * if new_key is already taken by another function. */
RMP_DEF rmp_status rmp_func_rekey(rmp_stacks *st, uint32_t func_id, uint64_t new_key);
/* Call fn(ud, key) for every function key, e.g. to mark it for a GC. */
RMP_DEF void rmp_stacks_each_key(const rmp_stacks *st, void (*fn)(void *ud, uint64_t key), void *ud);

/* Compaction, in two phases. Mark every stack id still referenced, then
 * build a fresh, compacted copy: `out` receives only the marked stacks, the
 * frames and functions they use, and their strings re-interned from
 * `strings` into `out_strings`. remap[old id] = new id, or UINT32_MAX for a
 * dropped stack; remap must hold st->nnodes entries. The source is left
 * intact (rotation hands it to the snapshot) except that marks are cleared. */
RMP_DEF rmp_status rmp_stacks_mark(rmp_stacks *st, uint32_t id);
RMP_DEF rmp_status rmp_stacks_compact(rmp_stacks *st, const rmp_strtab *strings, rmp_stacks *out,
                                      rmp_strtab *out_strings, uint32_t *remap);

/* ===================================================================== */
/* rmp_live: object address -> live record, open addressing               */
/* ===================================================================== */

typedef struct rmp_live_entry {
  uintptr_t addr;  /* 0 marks an empty slot */
  uint32_t stack;  /* stack id of the allocation */
  uint32_t klass;  /* string id of the class name */
  uint32_t epoch;  /* embedder's clock at allocation (Ruby: GC count) */
  uint32_t size;   /* bytes, saturated at UINT32_MAX */
} rmp_live_entry;

typedef struct rmp_live {
  rmp_live_entry *slots;
  uint32_t mask;      /* capacity - 1; capacity is a power of two */
  uint32_t count;
  uint32_t max;       /* max_heap_samples: inserts past it are refused */
  uint64_t dropped;   /* refused inserts */
  uint64_t replaced;  /* inserts that found their address already tracked */
} rmp_live;

RMP_DEF rmp_status rmp_live_init(rmp_live *t, uint32_t max_entries);
RMP_DEF void rmp_live_free(rmp_live *t);
/* Change the bound; entries above a lowered bound stay until they die. */
RMP_DEF rmp_status rmp_live_set_max(rmp_live *t, uint32_t max_entries);

static inline uint32_t rmp_live_home_(const rmp_live *t, uintptr_t addr) {
  /* Fibonacci hashing: aligned addresses differ in middle bits; the
   * multiply carries them all into the top bits we keep. */
  uint64_t h = (uint64_t)addr * UINT64_C(0x9E3779B97F4A7C15);
  return (uint32_t)(h >> 32) & t->mask;
}

static inline rmp_live_entry *rmp_live_lookup(const rmp_live *t, uintptr_t addr) {
  uint32_t i = rmp_live_home_(t, addr);
  for (;;) {
    rmp_live_entry *e = &t->slots[i];
    if (e->addr == addr) return e;
    if (e->addr == 0) return NULL;
    i = (i + 1) & t->mask;
  }
}

/* RMP_OK, RMP_ERR_FULL (counted in dropped) or RMP_ERR_NOMEM. An address
 * already present is overwritten (its object died unnoticed). */
RMP_DEF rmp_status rmp_live_insert(rmp_live *t, const rmp_live_entry *e);
/* 1 if removed, 0 if absent. */
RMP_DEF int rmp_live_delete(rmp_live *t, uintptr_t addr);
/* The object at from moved to to. 1 if moved, 0 if from was absent. */
RMP_DEF int rmp_live_move(rmp_live *t, uintptr_t from, uintptr_t to);

/* Visit every entry once; keep(ud, e) returns 0 to delete e. keep may edit
 * e's fields other than addr. keep must not insert or delete itself. */
typedef int (*rmp_live_keep_fn)(void *ud, rmp_live_entry *e);
RMP_DEF size_t rmp_live_sweep(rmp_live *t, rmp_live_keep_fn keep, void *ud);

/* Rewrite every address through loc (objects moved by a compacting GC).
 * loc must be idempotent on already-moved addresses (rb_gc_location is).
 * Allocates a scratch list when it can; falls back to bounded passes. */
typedef uintptr_t (*rmp_live_loc_fn)(void *ud, uintptr_t addr);
RMP_DEF size_t rmp_live_rekey(rmp_live *t, rmp_live_loc_fn loc, void *ud);

/* ===================================================================== */
/* rmp_allocs: bounded buffer of allocation samples                      */
/* ===================================================================== */

typedef struct rmp_alloc_sample {
  uint32_t stack;
  uint32_t klass;
  uint64_t size;
  uint32_t epoch;
  uint32_t pad_;
} rmp_alloc_sample;

typedef struct rmp_allocs {
  rmp_alloc_sample *v;
  uint32_t n, cap, max;
  uint64_t dropped;
} rmp_allocs;

RMP_DEF rmp_status rmp_allocs_init(rmp_allocs *a, uint32_t max);
RMP_DEF void rmp_allocs_free(rmp_allocs *a);
RMP_DEF rmp_status rmp_allocs_push(rmp_allocs *a, const rmp_alloc_sample *s);

/* ===================================================================== */
/* rmp_profiler: everything together                                     */
/* ===================================================================== */

typedef struct rmp_config {
  double sample_rate;             /* default 1 */
  double retain_rate;             /* allocation_retain_rate, default 1 */
  uint32_t max_alloc_samples;     /* default 10000 */
  uint32_t max_heap_samples;      /* default 50000 */
  uint64_t seed;                  /* PRNG seed */
} rmp_config;

typedef struct rmp_profiler {
  rmp_sampler sampler;
  rmp_strtab strings;
  rmp_stacks stacks;
  rmp_live live;
  rmp_allocs allocs;
  uint64_t interval_start_ns;
  uint64_t samples_taken;   /* tick() said yes, since init */
  uint64_t stacks_dropped;  /* samples lost to an interning failure */
  uint64_t heap_dropped_at_rotate, allocs_dropped_at_rotate;
} rmp_profiler;

/* A profile interval taken out of a profiler, self-contained: encoding it
 * touches nothing the profiler still uses, so it can run concurrently. */
typedef struct rmp_snapshot {
  rmp_strtab strings;
  rmp_stacks stacks;
  rmp_live_entry *live;       /* copies of the live entries */
  uint32_t nlive;
  rmp_alloc_sample *allocs;   /* the interval's allocation samples */
  uint32_t nallocs;
  double sample_rate, retain_rate;
  uint64_t heap_dropped, allocs_dropped, stacks_dropped; /* this interval */
  uint64_t start_ns, end_ns;
  uint32_t epoch_now;         /* embedder's clock at rotation, for ages */
} rmp_snapshot;

RMP_DEF void rmp_config_default(rmp_config *c);
/* RMP_ERR_INVALID for a rate outside [0,1] or a zero bound. */
RMP_DEF rmp_status rmp_config_check(const rmp_config *c);
RMP_DEF rmp_status rmp_profiler_init(rmp_profiler *p, const rmp_config *c);
RMP_DEF void rmp_profiler_free(rmp_profiler *p);

static inline int rmp_sample_tick(rmp_profiler *p) { return rmp_sampler_tick(&p->sampler); }

/* Record a sampled allocation: into the live table, and (subject to the
 * retain rate) into the allocations buffer. Drops are counted. */
RMP_DEF rmp_status rmp_track(rmp_profiler *p, uintptr_t addr, uint32_t stack, uint32_t klass,
                             uint64_t size, uint32_t epoch);

/* Take the interval out of the profiler into snap, and compact the
 * profiler's tables down to what its live objects (and the extra stack ids
 * given, which are rewritten in place) still reference. Functions whose keys
 * are no longer referenced are gone from p->stacks afterwards. On failure
 * nothing changes and snap is zeroed. */
RMP_DEF rmp_status rmp_profiler_rotate(rmp_profiler *p, rmp_snapshot *snap, uint32_t *extra_stacks,
                                       size_t nextra, uint64_t now_ns, uint32_t epoch_now);
RMP_DEF void rmp_snapshot_free(rmp_snapshot *snap);

#ifdef __cplusplus
}
#endif
#endif /* RMP_H */
