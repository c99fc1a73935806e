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
 *       rmp_decision d = rmp_sample_tick(&p);
 *       if (d) {  // sampled and kept for something: only now take the stack
 *           uint32_t stack;
 *           rmp_stack_intern(&p.stacks, keys, lines, depth, &stack);
 *           rmp_track(&p, (uintptr_t)obj, stack, class_name_id, size, epoch, d);
 *       }
 *       // when objects die (e.g. after a GC's mark phase)
 *       rmp_live_sweep(&p.live, still_alive_fn, ud);
 *       // periodically: take the interval's data out, then encode it
 *       rmp_snapshot snap;
 *       rmp_profiler_rotate(&p, &snap, NULL, 0, now_ns, epoch_now);
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


#if defined(__GNUC__) || defined(__clang__)
#define RMP_LIKELY(x) __builtin_expect(!!(x), 1)
#define RMP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RMP_UNUSED __attribute__((unused))
#define RMP_PREFETCH(p) __builtin_prefetch(p)
#define RMP_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define RMP_LIKELY(x) (x)
#define RMP_UNLIKELY(x) (x)
#define RMP_UNUSED
#define RMP_PREFETCH(p) ((void)(p))
#define RMP_ALWAYS_INLINE inline
#endif

#ifdef RMP_STATIC
#define RMP_DEF static RMP_UNUSED
#else
#define RMP_DEF extern
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

/* Internal: an open-addressed index from a hash to the id of a record held
 * elsewhere (the strtab's strings, the stacks' funcs/frames/nodes). */
typedef struct rmp_index_ {
  uint32_t *slots; /* id + 1; 0 is an empty slot */
  uint32_t mask;   /* capacity - 1; capacity is a power of two */
} rmp_index_;

/* Storage that snapshots still read after the profiler moved on: see
 * rmp_profiler_rotate. Internal; the profiler and snapshots hold counted
 * references. */
typedef struct rmp_gen rmp_gen;

typedef struct rmp_strtab {
  char *arena;       /* every string, each followed by a NUL */
  size_t arena_len, arena_cap;
  uint64_t *offs;    /* id -> arena offset */
  uint32_t *lens;    /* id -> length (strings may contain NULs) */
  uint32_t count, cap;
  rmp_index_ index;  /* hash of the bytes -> id */
  rmp_gen *gen;      /* set while snapshots read these arrays: growth then moves, never frees */
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
  uint64_t hash, hash2;
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
  rmp_index_ func_index;                      /* key -> func id */
  rmp_frame *frames;
  uint32_t nframes, frames_cap;
  rmp_index_ frame_index;                     /* (func, line) -> frame id */
  rmp_node *nodes;
  uint32_t nnodes, nodes_cap;
  rmp_index_ node_index;                      /* (parent, frame) -> node id */
  uint32_t *node_depth;                       /* id -> depth, for walking */
  rmp_stack_cache_entry *cache;               /* 1 << RMP_STACK_CACHE_BITS */
  uint32_t first_unresolved;                  /* funcs below this are resolved */
  uint8_t *marks;                             /* per node, during compaction */
  uint32_t marks_len;
  uint64_t truncated;                         /* stacks cut at RMP_MAX_DEPTH */
  rmp_gen *gen;                               /* as in rmp_strtab */
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
 * `strings` into `out_strings`. This call initialises `out` and
 * `out_strings` itself (pass uninitialised structs). remap[old id] = new id, or UINT32_MAX for a
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
  uint32_t epoch;  /* embedder's clock at allocation (Ruby: GC count); see rmp_age */
  uint32_t size;   /* bytes, saturated at UINT32_MAX */
  float weight;    /* objects it stands for: 1 / P(this entry is in the table) */
  uint32_t flags;  /* RMP_LIVE_OLD; bits 16-31 are the embedder's, kept as they are */
} rmp_live_entry;

/* The embedder has seen the object old (Ruby: promoted), so a minor GC
 * cannot have freed it. */
#define RMP_LIVE_OLD 1u

/* Ages in the embedder's clock, which wraps modulo 2^32: right for any age
 * below 2^32, whatever the clock read at allocation. */
static inline uint32_t rmp_age(uint32_t now, uint32_t epoch) { return now - epoch; }

/* One open-addressing table of entries (load at most 1/2). */
typedef struct rmp_live_tab {
  rmp_live_entry *slots;
  uint32_t mask; /* capacity - 1; capacity is a power of two */
  uint32_t count;
} rmp_live_tab;

/* Entries live in `main`, or, once rmp_live_split_young is on, those not
 * yet flagged RMP_LIVE_OLD in `young`, a table sized to them alone: a GC
 * that frees only young objects then sweeps a table that fits in cache,
 * where looking its entries up in `main` missed it once each. */
typedef struct rmp_live {
  rmp_live_tab main;
  rmp_live_tab young; /* slots NULL until split */
  uint32_t young_peak; /* sizes the young part (rmp_live_young_fit_) */
  /* Set by an embedder whose keep functions read the memory at each
   * entry's address (Ruby: the object's header and mark bits): sweeps then
   * prefetch it a few slots ahead (Ruby at rate 1: minor GCs' passes over
   * objects long out of cache 1.3-1.8 times faster). */
  int keep_reads_addr;
  uint32_t count;     /* entries in both */
  uint32_t max;       /* max_heap_samples: inserts past it are refused */
  uint64_t dropped;   /* refused inserts */
  uint64_t replaced;  /* inserts that found their address already tracked */
} rmp_live;

RMP_DEF rmp_status rmp_live_init(rmp_live *t, uint32_t max_entries);
RMP_DEF void rmp_live_free(rmp_live *t);
/* Change the bound; entries above a lowered bound stay until they die. */
RMP_DEF rmp_status rmp_live_set_max(rmp_live *t, uint32_t max_entries);
/* Keep entries not flagged RMP_LIVE_OLD apart from here on (see rmp_live
 * and rmp_live_sweep_young). Only on an empty table: RMP_ERR_INVALID
 * otherwise; RMP_ERR_NOMEM leaves it unsplit. */
RMP_DEF rmp_status rmp_live_split_young(rmp_live *t);

static inline uint32_t rmp_live_home_(const rmp_live_tab *t, uintptr_t addr) {
  /* Fibonacci hashing: aligned addresses differ in middle bits; the
   * multiply carries them all into the top bits we keep. */
  uint64_t h = (uint64_t)addr * UINT64_C(0x9E3779B97F4A7C15);
  return (uint32_t)(h >> 32) & t->mask;
}

static inline rmp_live_entry *rmp_live_find_(const rmp_live_tab *t, uintptr_t addr) {
  uint32_t i = rmp_live_home_(t, addr);
  for (;;) {
    rmp_live_entry *e = &t->slots[i];
    if (e->addr == addr) return e;
    if (e->addr == 0) return NULL;
    i = (i + 1) & t->mask;
  }
}

static inline rmp_live_entry *rmp_live_lookup(const rmp_live *t, uintptr_t addr) {
  rmp_live_entry *e;
  if (RMP_UNLIKELY(addr == 0)) return NULL;
  e = rmp_live_find_(&t->main, addr);
  return e || !t->young.slots ? e : rmp_live_find_(&t->young, addr);
}

/* Every slot of both tables by one index, for loops that visit each entry
 * (empty slots have addr 0). Inserting or deleting renumbers them. */
static inline uint32_t rmp_live_nslots(const rmp_live *t) {
  return t->main.mask + 1 + (t->young.slots ? t->young.mask + 1 : 0);
}
static inline rmp_live_entry *rmp_live_slot(const rmp_live *t, uint32_t i) {
  uint32_t n = t->main.mask + 1;
  return i < n ? &t->main.slots[i] : &t->young.slots[i - n];
}

/* RMP_OK, RMP_ERR_FULL (counted in dropped), RMP_ERR_NOMEM, or
 * RMP_ERR_INVALID for address 0. An address already present is overwritten
 * (its object died unnoticed) and counted in replaced; in a split table the
 * entry goes to the part its flags name. */
RMP_DEF rmp_status rmp_live_insert(rmp_live *t, const rmp_live_entry *e);
/* 1 if removed, 0 if absent. */
RMP_DEF int rmp_live_delete(rmp_live *t, uintptr_t addr);
/* The object at from moved to to. 1 if moved, 0 if from was absent. An
 * entry already at `to` is overwritten (that object died unnoticed). The
 * entry stays in its part. */
RMP_DEF int rmp_live_move(rmp_live *t, uintptr_t from, uintptr_t to);

/* Visit every entry once; keep(ud, e) returns 0 to delete e. keep may edit
 * e's fields other than addr; it must not insert, delete or look up. A
 * young entry kept with RMP_LIVE_OLD set moves to the main table (it stays
 * young when that table cannot grow, and moves at a later sweep). Returns
 * the entries deleted. */
typedef int (*rmp_live_keep_fn)(void *ud, rmp_live_entry *e);
RMP_DEF size_t rmp_live_sweep(rmp_live *t, rmp_live_keep_fn keep, void *ud);
/* The same over the young entries only (none unless split). */
RMP_DEF size_t rmp_live_sweep_young(rmp_live *t, rmp_live_keep_fn keep, void *ud);

/* Rewrite every address through loc (objects moved by a compacting GC).
 * loc must be idempotent on already-moved addresses (rb_gc_location is),
 * and move objects only onto addresses no live object held: an entry found
 * there is dropped. Allocates a scratch list when it can; falls back to
 * bounded passes. */
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
  float weight; /* allocations it stands for (rotation applies the reservoir's share) */
} rmp_alloc_sample;

/* A uniform sample of at most max of the interval's candidates, whatever
 * their number: reservoir sampling with Li's Algorithm L, which draws how
 * many candidates to skip before the next one enters, so a full reservoir
 * costs a counter compare per candidate and no stack capture. Each kept
 * sample then stands for seen/n candidates. */
typedef struct rmp_allocs {
  rmp_alloc_sample *v;
  uint32_t n, cap, max;
  uint64_t seen;     /* candidates offered this interval */
  uint64_t next;     /* once full: the candidate number that enters next */
  double w;          /* Algorithm L's running W */
  uint64_t dropped;  /* kept candidates lost to a failed allocation */
  uint32_t next_max; /* the bound from the next interval on */
} rmp_allocs;

RMP_DEF rmp_status rmp_allocs_init(rmp_allocs *a, uint32_t max);
RMP_DEF void rmp_allocs_free(rmp_allocs *a);
/* Offer a candidate: 1 if it enters the reservoir (then rmp_allocs_keep it). */
RMP_DEF int rmp_allocs_offer(rmp_allocs *a, rmp_rng *rng);
/* Store an entered candidate: appended while there is room, else in place
 * of a uniformly chosen sample. RMP_ERR_NOMEM (counted in dropped). */
RMP_DEF rmp_status rmp_allocs_keep(rmp_allocs *a, const rmp_alloc_sample *s, rmp_rng *rng);
/* Forget the interval's samples and counts (a forked child, say). */
RMP_DEF void rmp_allocs_reset(rmp_allocs *a);
/* A new bound, from the next interval on (or at once if nothing was offered
 * in this one yet): changing it mid-interval would bias the reservoir (a
 * lowered bound would stop it taking candidates, a raised one would favour
 * the later ones). RMP_ERR_INVALID for 0. */
RMP_DEF rmp_status rmp_allocs_set_max(rmp_allocs *a, uint32_t max);

/* ===================================================================== */
/* rmp_profiler: everything together                                     */
/* ===================================================================== */

typedef struct rmp_config {
  double sample_rate;             /* default 1 */
  double retain_rate;             /* allocation_retain_rate, default 1 */
  uint32_t max_alloc_samples;     /* default 10000 */
  uint32_t max_heap_samples;      /* default 50000 */
  uint64_t seed;                  /* PRNG seed */
  uint64_t start_ns;              /* wall clock at start: the first interval's start */
  /* Live entries younger than this (rmp_age at rotation) stay out of the
   * snapshot, default 0. Ruby uses 1: retained as of the last GC. */
  uint32_t min_live_age;
  /* Rotation compacts the stacks and strings only once either has grown
   * by this fraction since the last compaction (the Ruby gem uses 0.5);
   * in between, snapshots share the profiler's append-only tables. Default
   * 0: compact at every rotation. */
  double compact_growth;
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
  /* A sampled allocation enters the live table with probability
   * 2^-heap_keep_log2: 1 until the table first fills. Each time it fills,
   * thinning halves that probability and keeps each entry with
   * probability 1/2, doubling the weight of those kept, so the table stays
   * a sample whose weights make unbiased (Horvitz-Thompson) estimates.
   * Rotation doubles it back while the table is at most a quarter full. */
  uint32_t heap_keep_log2;
  uint32_t min_live_age;
  uint64_t heap_thinnings;  /* thinning steps, since init */
  uint64_t heap_dropped_at_rotate, allocs_dropped_at_rotate, stacks_dropped_at_rotate, thinnings_at_rotate;
  double compact_growth;
  uint32_t kept_nodes, kept_strings; /* sizes after the last compaction */
  uint64_t compactions;              /* rotations that compacted, since init */
  rmp_gen *gen;                      /* see rmp_profiler_rotate */
  /* Set by the embedder: rotation never compacts; the embedder compacts
   * with rmp_compaction_* when rmp_profiler_compaction_due says so. */
  int compact_elsewhere;
} rmp_profiler;

/* A profile interval taken out of a profiler, self-contained: encoding it
 * touches nothing the profiler still uses, so it can run concurrently. */
typedef struct rmp_snapshot {
  /* Read-only views: the prefix of the tables that rotation froze (only
   * the arrays the encoder reads; no indexes). NULL gen: owned outright. */
  rmp_strtab strings;
  rmp_stacks stacks;
  rmp_gen *gen;
  rmp_live_entry *live;       /* copies of the live entries */
  uint32_t nlive;
  rmp_alloc_sample *allocs;   /* the interval's allocation samples */
  uint32_t nallocs;
  double sample_rate, retain_rate;
  /* The probability a sampled allocation enters the live table at
   * rotation, and the thinning steps this interval took to get there. */
  double heap_keep;
  uint64_t heap_thinnings;
  uint64_t alloc_candidates;  /* offered to the allocations reservoir */
  uint64_t young_left_out;    /* live entries below min_live_age */
  uint64_t heap_dropped, allocs_dropped, stacks_dropped; /* this interval */
  uint64_t start_ns, end_ns;
  uint32_t epoch_now;         /* embedder's clock at rotation, for ages */
} rmp_snapshot;

RMP_DEF void rmp_config_default(rmp_config *c);
/* RMP_ERR_INVALID for a rate outside [0,1], a zero bound, or a heap bound
 * above 2^30 (rmp_live_init and rmp_live_set_max share that limit). */
RMP_DEF rmp_status rmp_config_check(const rmp_config *c);
RMP_DEF rmp_status rmp_profiler_init(rmp_profiler *p, const rmp_config *c);
RMP_DEF void rmp_profiler_free(rmp_profiler *p);

/* What a sampled allocation is kept for: RMP_KEEP_HEAP (the live table),
 * RMP_KEEP_ALLOC (the allocations reservoir), and in bits 8-15 the heap
 * keep probability's log2 when it was decided. 0: neither, so the
 * embedder need not capture its stack. */
typedef uint32_t rmp_decision;
#define RMP_KEEP_HEAP 1u
#define RMP_KEEP_ALLOC 2u
#define RMP_DECISION_KEEP_LOG2(d) (((d) >> 8) & 0xffu)

/* The hot path: the decision for this allocation, 0 for most (samples
 * taken are counted in samples_taken). It is rmp_sample_countdown() &&
 * rmp_sample_confirm(); an embedder can split the two to keep its own fast
 * path free of calls. */
static inline int rmp_sample_countdown(rmp_profiler *p) { return --p->sampler.countdown == 0; }
RMP_DEF rmp_decision rmp_sample_confirm(rmp_profiler *p);
/* Instead of confirm, for an event that is no candidate at all (say, the
 * embedder's own allocation): draws the next gap, decides nothing. */
RMP_DEF void rmp_sample_skip(rmp_profiler *p);
static inline rmp_decision rmp_sample_tick(rmp_profiler *p) {
  if (RMP_LIKELY(!rmp_sample_countdown(p))) return 0;
  return rmp_sample_confirm(p);
}

/* Record a sampled allocation as decided: into the live table (thinning it
 * when full) and into the allocations reservoir. RMP_ERR_INVALID for
 * address 0 or an empty decision; failures are counted. */
RMP_DEF rmp_status rmp_track(rmp_profiler *p, uintptr_t addr, uint32_t stack, uint32_t klass,
                             uint64_t size, uint32_t epoch, rmp_decision d);

/* The probability that an allocation lands in the live table now. */
RMP_DEF double rmp_heap_probability(const rmp_profiler *p);

/* Thin the live table once (see heap_keep_log2). */
RMP_DEF void rmp_profiler_thin(rmp_profiler *p);

/* Take the interval out of the profiler into snap. The snapshot's stacks and
 * strings are a frozen prefix of the profiler's tables, which stay
 * append-only: growth copies an array to a new one and leaves the old one
 * to the snapshots still reading it, so rotation costs O(live entries), not
 * O(trie). When the tables have grown by compact_growth since the last
 * compaction (always, with 0), rotation also compacts them down to what
 * the live objects (and the extra stack ids given, which are rewritten in
 * place) still reference; functions whose keys are no longer referenced are
 * gone from p->stacks afterwards, and p->compactions counts it. On failure
 * nothing changes and snap is zeroed.
 *
 * A snapshot may be encoded on another thread while the profiler keeps
 * interning (the tables' prefix never changes, except that a function's
 * names are filled in by rmp_func_resolve and its key by rmp_func_rekey), but
 * rmp_snapshot_free must run under the lock that guards the profiler: it
 * releases storage the two share. Snapshots may outlive the profiler. */
RMP_DEF rmp_status rmp_profiler_rotate(rmp_profiler *p, rmp_snapshot *snap, uint32_t *extra_stacks,
                                       size_t nextra, uint64_t now_ns, uint32_t epoch_now);
RMP_DEF void rmp_snapshot_free(rmp_snapshot *snap);

/* Compaction without holding the profiler's lock for O(trie), in three
 * steps. begin (under the lock: O(live + functions)) freezes the tables'
 * prefix and the stack ids still referenced; build (no lock; the profiler
 * may be used meanwhile) builds the compacted tables from the frozen
 * prefix; finish (under the lock: O(live + allocation samples + what was
 * interned since begin)) brings in what was interned, resolved or rekeyed
 * since begin, remaps every live entry, allocation sample and the extra
 * stack ids given (rewritten in place; pass the embedder's ids as of now),
 * and swaps the tables. Nothing of the profiler changes before finish
 * returns RMP_OK; free the job in every case. No rotation may run between
 * begin and finish. */
typedef struct rmp_compaction {
  rmp_stacks view;       /* the frozen prefix; funcs is a private copy */
  rmp_strtab strings;    /* the frozen prefix of the strings */
  rmp_gen *gen;          /* keeps the prefix's arrays */
  uint32_t *keep, nkeep; /* the stack ids referenced at begin */
  rmp_stacks out;
  rmp_strtab out_strings;
  uint32_t *remap;       /* view node -> out node */
  uint32_t *func_src;    /* out func -> view func */
  int built;
} rmp_compaction;
/* Has the profiler grown by compact_growth since its last compaction? */
RMP_DEF int rmp_profiler_compaction_due(const rmp_profiler *p);
RMP_DEF rmp_status rmp_compaction_begin(rmp_profiler *p, rmp_compaction *cj, const uint32_t *extra_stacks,
                                        size_t nextra);
RMP_DEF rmp_status rmp_compaction_build(rmp_compaction *cj);
RMP_DEF rmp_status rmp_compaction_finish(rmp_profiler *p, rmp_compaction *cj, uint32_t *extra_stacks,
                                         size_t nextra);
/* Under the profiler's lock (it releases shared storage). */
RMP_DEF void rmp_compaction_free(rmp_compaction *cj);

/* Start a new interval without a snapshot: the allocation samples and this
 * interval's counts are forgotten, the live table stays (a forked child,
 * whose parent reports them). */
RMP_DEF void rmp_profiler_forget_interval(rmp_profiler *p, uint64_t now_ns);

#ifdef __cplusplus
}
#endif
#endif /* RMP_H */

/* ===================================================================== */
/* Implementation                                                        */
/* ===================================================================== */
#ifdef RMP_IMPLEMENTATION
#ifndef RMP_IMPLEMENTATION_DONE_
#define RMP_IMPLEMENTATION_DONE_
#include <math.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RMP_NONE_ UINT32_MAX

RMP_DEF const char *rmp_status_str(rmp_status s) {
  switch (s) {
  case RMP_OK: return "ok";
  case RMP_ERR_INVALID: return "invalid argument";
  case RMP_ERR_NOMEM: return "out of memory";
  case RMP_ERR_FULL: return "bounded structure full";
  case RMP_ERR_SINK: return "output sink failed";
  }
  return "unknown status";
}

static void *rmp_calloc_(size_t n, size_t sz) {
  void *p;
  size_t bytes;
  if (sz && n > SIZE_MAX / sz) return NULL;
  bytes = n * sz;
  if (bytes == 0) bytes = 1;
  p = RMP_MALLOC(bytes);
  if (p) memset(p, 0, bytes);
  return p;
}

/* The capacity that holds need: *cap doubled until it does; 0 if none can. */
static uint64_t rmp_grown_cap_(uint32_t cap, uint32_t need, size_t sz) {
  uint64_t c = cap ? cap : 16;
  while (c < need) c *= 2;
  if (c > UINT32_MAX) c = UINT32_MAX;
  if (c < need || c * sz > SIZE_MAX) return 0;
  return c;
}

/* Grow *v (elements of sz bytes) to hold at least need; doubles. */
static rmp_status rmp_grow_(void **v, uint32_t *cap, uint32_t need, size_t sz) {
  uint64_t c;
  void *nv;
  if (need <= *cap) return RMP_OK;
  if (!(c = rmp_grown_cap_(*cap, need, sz))) return RMP_ERR_NOMEM;
  nv = RMP_REALLOC(*v, (size_t)c * sz);
  if (!nv) return RMP_ERR_NOMEM;
  *v = nv;
  *cap = (uint32_t)c;
  return RMP_OK;
}

struct rmp_gen {
  /* The profiler while this is its current generation, each snapshot taken
   * when it began, and the previous generation: a snapshot reads arrays
   * that may be retired into any later generation, so each generation
   * keeps the next one alive. */
  uint32_t refs;
  rmp_gen *next;
  void **retired; /* arrays replaced by a larger copy while this was current */
  uint32_t nretired, retired_cap;
  int owns_tables; /* the tables a compaction replaced, while this was new */
  rmp_stacks stacks;
  rmp_strtab strings;
};

static void rmp_gen_release_(rmp_gen *g) {
  while (g && --g->refs == 0) {
    rmp_gen *next = g->next;
    uint32_t i;
    for (i = 0; i < g->nretired; i++) RMP_FREE(g->retired[i]);
    RMP_FREE(g->retired);
    if (g->owns_tables) {
      rmp_stacks_free(&g->stacks);
      rmp_strtab_free(&g->strings);
    }
    RMP_FREE(g);
    g = next;
  }
}

/* Replace *v by a copy of its first `used` bytes in new storage of `bytes`,
 * the old array going to g: snapshots may still read it. */
static rmp_status rmp_move_kept_(rmp_gen *g, void **v, size_t bytes, size_t used) {
  void *nv;
  if (g->nretired == g->retired_cap &&
      rmp_grow_((void **)&g->retired, &g->retired_cap, g->nretired + 1, sizeof(void *)) != RMP_OK)
    return RMP_ERR_NOMEM;
  if (!(nv = RMP_MALLOC(bytes))) return RMP_ERR_NOMEM;
  if (used) memcpy(nv, *v, used);
  g->retired[g->nretired++] = *v;
  *v = nv;
  return RMP_OK;
}

/* rmp_grow_ for an array snapshots may share (g set and referenced by more
 * than the profiler): the first `used` elements are moved to a new array
 * instead of reallocated. */
static rmp_status rmp_grow_kept_(rmp_gen *g, void **v, uint32_t *cap, uint32_t need, size_t sz, uint32_t used) {
  uint64_t c;
  rmp_status s;
  if (need <= *cap) return RMP_OK;
  if (!g || g->refs <= 1) return rmp_grow_(v, cap, need, sz);
  if (!(c = rmp_grown_cap_(*cap, need, sz))) return RMP_ERR_NOMEM;
  if ((s = rmp_move_kept_(g, v, (size_t)c * sz, (size_t)used * sz)) != RMP_OK) return s;
  *cap = (uint32_t)c;
  return RMP_OK;
}

static inline uint64_t rmp_mix64_(uint64_t x) {
  x ^= x >> 32;
  x *= UINT64_C(0xd6e8feb86659fd93);
  x ^= x >> 32;
  x *= UINT64_C(0xd6e8feb86659fd93);
  x ^= x >> 32;
  return x;
}

/* 64x64->128 multiply folded to 64 bits (wyhash's mixing step). */
static inline uint64_t rmp_mum_(uint64_t a, uint64_t b) {
#if defined(__SIZEOF_INT128__)
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
  uint64_t ha = a >> 32, la = (uint32_t)a, hb = b >> 32, lb = (uint32_t)b;
  uint64_t rh = ha * hb, rm0 = ha * lb, rm1 = hb * la, rl = la * lb;
  uint64_t t = rl + (rm0 << 32), c = t < rl, lo, hi;
  lo = t + (rm1 << 32);
  c += lo < t;
  hi = rh + (rm0 >> 32) + (rm1 >> 32) + c;
  return lo ^ hi;
#endif
}

static uint64_t rmp_hash_bytes_(const char *s, size_t len) {
  uint64_t h = UINT64_C(0x243f6a8885a308d3) ^ len;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    h = rmp_mum_(h ^ w, UINT64_C(0xa0761d6478bd642f));
  }
  if (i < len) {
    uint64_t w = 0;
    memcpy(&w, s + i, len - i);
    h = rmp_mum_(h ^ w, UINT64_C(0xe7037ed1a0b428db));
  }
  return rmp_mix64_(h);
}

/* ---- rng ---- */

static uint64_t rmp_splitmix64_(uint64_t *x) {
  uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

RMP_DEF void rmp_rng_seed(rmp_rng *r, uint64_t seed) {
  int i;
  for (i = 0; i < 4; i++) r->s[i] = rmp_splitmix64_(&seed);
}

/* ---- sampler ---- */

RMP_DEF int rmp_rate_valid(double rate) { return rate >= 0.0 && rate <= 1.0; /* NaN fails both */ }

RMP_DEF uint64_t rmp_sampler_draw_gap(rmp_sampler *s) {
  double u, g;
  if (s->rate >= 1.0) return 1;
  if (s->rate <= 0.0) return UINT64_MAX;
  /* Inversion of the geometric distribution on {1,2,...}: u in (0,1]. */
  u = 1.0 - rmp_rng_unit(&s->rng);
  g = floor(log(u) / s->log_q) + 1.0;
  if (!(g < 18446744073709549568.0)) return UINT64_MAX; /* also catches NaN */
  return (uint64_t)g;
}

RMP_DEF int rmp_sampler_refill_(rmp_sampler *s) {
  s->countdown = rmp_sampler_draw_gap(s);
  return s->rate > 0.0;
}

RMP_DEF rmp_status rmp_sampler_set_rate(rmp_sampler *s, double rate) {
  if (!rmp_rate_valid(rate)) return RMP_ERR_INVALID;
  s->rate = rate;
  s->log_q = (rate > 0.0 && rate < 1.0) ? log1p(-rate) : 0.0;
  if (rate > 0.0 && rate < 1.0 && !(s->log_q < 0.0)) s->log_q = -rate; /* denormal rates */
  s->countdown = rmp_sampler_draw_gap(s);
  return RMP_OK;
}

RMP_DEF rmp_status rmp_sampler_set_retain_rate(rmp_sampler *s, double retain_rate) {
  if (!rmp_rate_valid(retain_rate)) return RMP_ERR_INVALID;
  s->retain_rate = retain_rate;
  return RMP_OK;
}

RMP_DEF rmp_status rmp_sampler_init(rmp_sampler *s, double rate, double retain_rate, uint64_t seed) {
  if (!rmp_rate_valid(rate) || !rmp_rate_valid(retain_rate)) return RMP_ERR_INVALID;
  memset(s, 0, sizeof(*s));
  rmp_rng_seed(&s->rng, seed);
  s->retain_rate = retain_rate;
  return rmp_sampler_set_rate(s, rate);
}

RMP_DEF void rmp_sampler_reseed(rmp_sampler *s, uint64_t seed) {
  rmp_rng_seed(&s->rng, seed);
  s->countdown = rmp_sampler_draw_gap(s);
}

/* ---- open addressing, shared by the id index and the live table ---- */

/* 0 if the slot is empty, else 1 and the home slot of its entry in *home. */
typedef int (*rmp_home_fn_)(const void *tab, uint32_t slot, uint32_t *home);
typedef void (*rmp_move_fn_)(void *tab, uint32_t to, uint32_t from);

/* Backward-shift deletion: instead of leaving a tombstone, the hole at i is
 * refilled from later in its cluster, so probe lengths never decay.
 * Returns the slot left empty, for the caller to clear. Inlined with
 * constant callbacks, so each table gets its own loop. */
static inline uint32_t rmp_backshift_(void *tab, uint32_t mask, uint32_t i, rmp_home_fn_ home, rmp_move_fn_ move) {
  uint32_t j = i, k;
  for (;;) {
    j = (j + 1) & mask;
    if (!home(tab, j, &k)) return i;
    /* The entry at j may fill the hole unless its home lies in (i, j]. */
    if (((j - k) & mask) >= ((j - i) & mask)) {
      move(tab, i, j);
      i = j;
    }
  }
}

/* ---- id index ---- */

/* The owner of the records says what a record hashes to and whether it
 * matches a key. Callers pass them as constants to these inline functions,
 * so each compiles into its own probe loop with no indirect calls. */
typedef uint64_t (*rmp_index_hash_fn_)(const void *owner, uint32_t id);
/* eq takes the id as a size_t: the index stores id + 1, and a 64-bit
 * (v - 1) folds into the record's address where a uint32_t one cannot. */
typedef int (*rmp_index_eq_fn_)(const void *owner, size_t id, const void *key);

/* The id whose record eq() matches key, or RMP_NONE_. */
static inline uint32_t rmp_index_find_(const rmp_index_ *x, uint64_t h, const void *owner, rmp_index_eq_fn_ eq,
                                       const void *key) {
  uint32_t i, v;
  if (!x->slots) return RMP_NONE_;
  for (i = (uint32_t)h & x->mask; (v = x->slots[i]) != 0; i = (i + 1) & x->mask)
    if (eq(owner, (size_t)v - 1, key)) return v - 1;
  return RMP_NONE_;
}

static inline void rmp_index_place_(rmp_index_ *x, uint64_t h, uint32_t id) {
  uint32_t i = (uint32_t)h & x->mask;
  while (x->slots[i]) i = (i + 1) & x->mask;
  x->slots[i] = id + 1;
}

/* Records are indexed in id order, so the index holds exactly ids [0, n):
 * growth rebuilds from them in order, reading the records sequentially. */
static rmp_status rmp_index_grow_(rmp_index_ *x, uint32_t n, const void *owner, rmp_index_hash_fn_ hash) {
  uint32_t cap = x->slots ? x->mask + 1 : 64, id;
  rmp_index_ g;
  while (((uint64_t)n + 1) * 2 > cap) { /* the load stays at most 1/2 */
    if (cap >= (UINT32_C(1) << 31)) return RMP_ERR_NOMEM;
    cap *= 2;
  }
  if (!(g.slots = (uint32_t *)rmp_calloc_(cap, sizeof(uint32_t)))) return RMP_ERR_NOMEM;
  g.mask = cap - 1;
  for (id = 0; id < n; id++) rmp_index_place_(&g, hash(owner, id), id);
  RMP_FREE(x->slots);
  *x = g;
  return RMP_OK;
}

/* Index the next record, id (ids [0, id) are indexed), under h. */
static inline rmp_status rmp_index_add_(rmp_index_ *x, uint64_t h, uint32_t id, const void *owner,
                                        rmp_index_hash_fn_ hash) {
  rmp_status s;
  /* Holding id + 1 entries must keep the load at most 1/2. An unallocated
   * index has mask 0, so it grows here too. */
  if (id >= (x->mask + 1) >> 1)
    if ((s = rmp_index_grow_(x, id, owner, hash)) != RMP_OK) return s;
  rmp_index_place_(x, h, id);
  return RMP_OK;
}

typedef struct rmp_index_del_ {
  rmp_index_ *x;
  const void *owner;
  rmp_index_hash_fn_ hash;
} rmp_index_del_;

static int rmp_index_home_(const void *tab, uint32_t j, uint32_t *home) {
  const rmp_index_del_ *d = (const rmp_index_del_ *)tab;
  uint32_t v = d->x->slots[j];
  if (v) *home = (uint32_t)d->hash(d->owner, v - 1) & d->x->mask;
  return v != 0;
}

static void rmp_index_move_(void *tab, uint32_t to, uint32_t from) {
  rmp_index_ *x = ((rmp_index_del_ *)tab)->x;
  x->slots[to] = x->slots[from];
}

/* Remove id, indexed under h (it must be present). */
static void rmp_index_delete_(rmp_index_ *x, uint64_t h, uint32_t id, const void *owner, rmp_index_hash_fn_ hash) {
  rmp_index_del_ d;
  uint32_t i = (uint32_t)h & x->mask;
  while (x->slots[i] != id + 1) i = (i + 1) & x->mask;
  d.x = x;
  d.owner = owner;
  d.hash = hash;
  x->slots[rmp_backshift_(&d, x->mask, i, rmp_index_home_, rmp_index_move_)] = 0;
}

/* ---- strtab ---- */

static uint64_t rmp_strtab_hash_id_(const void *owner, uint32_t id) {
  const rmp_strtab *t = (const rmp_strtab *)owner;
  return rmp_hash_bytes_(t->arena + t->offs[id], t->lens[id]);
}

typedef struct rmp_bytes_ {
  const char *s;
  size_t len;
} rmp_bytes_;

static inline int rmp_strtab_eq_(const void *owner, size_t id, const void *key) {
  const rmp_strtab *t = (const rmp_strtab *)owner;
  const rmp_bytes_ *b = (const rmp_bytes_ *)key;
  return t->lens[id] == b->len && memcmp(t->arena + t->offs[id], b->s, b->len) == 0;
}

RMP_DEF rmp_status rmp_strtab_init(rmp_strtab *t) {
  uint32_t id;
  rmp_status st;
  memset(t, 0, sizeof(*t));
  if ((st = rmp_strtab_intern(t, "", 0, &id)) != RMP_OK) rmp_strtab_free(t);
  return st;
}

RMP_DEF void rmp_strtab_free(rmp_strtab *t) {
  RMP_FREE(t->arena);
  RMP_FREE(t->offs);
  RMP_FREE(t->lens);
  RMP_FREE(t->index.slots);
  memset(t, 0, sizeof(*t));
}

RMP_DEF rmp_status rmp_strtab_intern(rmp_strtab *t, const char *s, size_t len, uint32_t *id_out) {
  uint64_t h;
  uint32_t id;
  rmp_status st;
  rmp_bytes_ key;
  if (len > UINT32_MAX - 1 || (len && !s)) return RMP_ERR_INVALID;
  h = rmp_hash_bytes_(s, len);
  key.s = s;
  key.len = len;
  if ((id = rmp_index_find_(&t->index, h, t, rmp_strtab_eq_, &key)) != RMP_NONE_) {
    *id_out = id;
    return RMP_OK;
  }
  if (t->count == UINT32_MAX - 1) return RMP_ERR_FULL;
  if (t->arena_len + len + 1 > t->arena_cap) {
    size_t nc = t->arena_cap ? t->arena_cap : 1024;
    char *na;
    while (nc < t->arena_len + len + 1) nc *= 2;
    if (t->gen && t->gen->refs > 1) {
      if ((st = rmp_move_kept_(t->gen, (void **)&t->arena, nc, t->arena_len)) != RMP_OK) return st;
    } else {
      na = (char *)RMP_REALLOC(t->arena, nc);
      if (!na) return RMP_ERR_NOMEM;
      t->arena = na;
    }
    t->arena_cap = nc;
  }
  if (t->count + 1 > t->cap) {
    uint32_t c1 = t->cap, c2 = t->cap;
    if ((st = rmp_grow_kept_(t->gen, (void **)&t->offs, &c1, t->count + 1, sizeof(uint64_t), t->count)) != RMP_OK)
      return st;
    if ((st = rmp_grow_kept_(t->gen, (void **)&t->lens, &c2, t->count + 1, sizeof(uint32_t), t->count)) != RMP_OK)
      return st;
    t->cap = c1 < c2 ? c1 : c2;
  }
  /* Commit the string before the index so a failed index growth leaves it
   * merely unindexed-and-uncounted (count is bumped last). */
  if (len) memcpy(t->arena + t->arena_len, s, len);
  t->arena[t->arena_len + len] = '\0';
  t->offs[t->count] = t->arena_len;
  t->lens[t->count] = (uint32_t)len;
  if ((st = rmp_index_add_(&t->index, h, t->count, t, rmp_strtab_hash_id_)) != RMP_OK) return st;
  t->arena_len += len + 1;
  *id_out = t->count++;
  return RMP_OK;
}

RMP_DEF rmp_status rmp_strtab_intern_cstr(rmp_strtab *t, const char *s, uint32_t *id) {
  return rmp_strtab_intern(t, s, s ? strlen(s) : 0, id);
}

/* ---- stacks ---- */

static inline uint64_t rmp_func_hash_(uint64_t key) { return rmp_mix64_(key); }
static inline uint64_t rmp_pair_hash_(uint32_t a, uint32_t b) {
  return rmp_mix64_(((uint64_t)a << 32 | b) ^ UINT64_C(0x5851f42d4c957f2d));
}
static uint64_t rmp_func_hash_id_(const void *o, uint32_t id) {
  return rmp_func_hash_(((const rmp_stacks *)o)->funcs[id].key);
}
static uint64_t rmp_frame_hash_id_(const void *o, uint32_t id) {
  const rmp_frame *f = &((const rmp_stacks *)o)->frames[id];
  return rmp_pair_hash_(f->func, (uint32_t)f->line);
}
static uint64_t rmp_node_hash_id_(const void *o, uint32_t id) {
  const rmp_node *n = &((const rmp_stacks *)o)->nodes[id];
  return rmp_pair_hash_(n->parent, n->frame);
}
static inline int rmp_func_eq_(const void *o, size_t id, const void *key) {
  return ((const rmp_stacks *)o)->funcs[id].key == *(const uint64_t *)key;
}
static inline int rmp_frame_eq_(const void *o, size_t id, const void *key) {
  const rmp_frame *f = &((const rmp_stacks *)o)->frames[id], *k = (const rmp_frame *)key;
  return f->func == k->func && f->line == k->line;
}
static inline int rmp_node_eq_(const void *o, size_t id, const void *key) {
  const rmp_node *n = &((const rmp_stacks *)o)->nodes[id], *k = (const rmp_node *)key;
  return n->parent == k->parent && n->frame == k->frame;
}

RMP_DEF rmp_status rmp_stacks_init(rmp_stacks *st) {
  rmp_status s;
  memset(st, 0, sizeof(*st));
  st->cache = (rmp_stack_cache_entry *)rmp_calloc_((size_t)1 << RMP_STACK_CACHE_BITS, sizeof(rmp_stack_cache_entry));
  if (!st->cache) return RMP_ERR_NOMEM;
  if ((s = rmp_grow_((void **)&st->nodes, &st->nodes_cap, 1, sizeof(rmp_node))) != RMP_OK) goto fail;
  {
    uint32_t c = 0;
    if ((s = rmp_grow_((void **)&st->node_depth, &c, st->nodes_cap, sizeof(uint32_t))) != RMP_OK) goto fail;
  }
  st->nodes[0].parent = 0;
  st->nodes[0].frame = RMP_NONE_;
  st->node_depth[0] = 0;
  /* The root is indexed like any node (no lookup matches its frame) so that
   * the index holds exactly ids [0, nnodes). */
  if ((s = rmp_index_add_(&st->node_index, rmp_node_hash_id_(st, 0), 0, st, rmp_node_hash_id_)) != RMP_OK) goto fail;
  st->nnodes = 1;
  return RMP_OK;
fail:
  rmp_stacks_free(st);
  return s;
}

RMP_DEF void rmp_stacks_free(rmp_stacks *st) {
  RMP_FREE(st->funcs);
  RMP_FREE(st->func_index.slots);
  RMP_FREE(st->frames);
  RMP_FREE(st->frame_index.slots);
  RMP_FREE(st->nodes);
  RMP_FREE(st->node_index.slots);
  RMP_FREE(st->node_depth);
  RMP_FREE(st->cache);
  RMP_FREE(st->marks);
  memset(st, 0, sizeof(*st));
}

static rmp_status rmp_func_get_or_add_(rmp_stacks *st, uint64_t key, uint32_t *out) {
  uint64_t h = rmp_func_hash_(key);
  uint32_t id;
  rmp_status s;
  if ((id = rmp_index_find_(&st->func_index, h, st, rmp_func_eq_, &key)) == RMP_NONE_) {
    if ((id = st->nfuncs) == UINT32_MAX - 1) return RMP_ERR_FULL;
    if ((s = rmp_grow_kept_(st->gen, (void **)&st->funcs, &st->funcs_cap, id + 1, sizeof(rmp_func), id)) != RMP_OK)
      return s;
    memset(&st->funcs[id], 0, sizeof(rmp_func));
    st->funcs[id].key = key;
    if ((s = rmp_index_add_(&st->func_index, h, id, st, rmp_func_hash_id_)) != RMP_OK) return s;
    st->nfuncs = id + 1;
  }
  *out = id;
  return RMP_OK;
}

static rmp_status rmp_frame_get_or_add_(rmp_stacks *st, uint32_t func, int32_t line, uint32_t *out) {
  uint64_t h = rmp_pair_hash_(func, (uint32_t)line);
  rmp_frame key;
  uint32_t id;
  rmp_status s;
  key.func = func;
  key.line = line;
  if ((id = rmp_index_find_(&st->frame_index, h, st, rmp_frame_eq_, &key)) == RMP_NONE_) {
    if ((id = st->nframes) == UINT32_MAX - 1) return RMP_ERR_FULL;
    if ((s = rmp_grow_kept_(st->gen, (void **)&st->frames, &st->frames_cap, id + 1, sizeof(rmp_frame), id)) != RMP_OK)
      return s;
    st->frames[id] = key;
    if ((s = rmp_index_add_(&st->frame_index, h, id, st, rmp_frame_hash_id_)) != RMP_OK) return s;
    st->nframes = id + 1;
  }
  *out = id;
  return RMP_OK;
}

static rmp_status rmp_node_get_or_add_(rmp_stacks *st, uint32_t parent, uint32_t frame, uint32_t *out) {
  uint64_t h = rmp_pair_hash_(parent, frame);
  rmp_node key;
  uint32_t id;
  rmp_status s;
  key.parent = parent;
  key.frame = frame;
  if ((id = rmp_index_find_(&st->node_index, h, st, rmp_node_eq_, &key)) == RMP_NONE_) {
    if ((id = st->nnodes) == UINT32_MAX - 1) return RMP_ERR_FULL;
    if (id + 1 > st->nodes_cap) { /* nodes and node_depth grow in step */
      uint32_t c1 = st->nodes_cap, c2 = st->nodes_cap;
      if ((s = rmp_grow_kept_(st->gen, (void **)&st->nodes, &c1, id + 1, sizeof(rmp_node), id)) != RMP_OK) return s;
      if ((s = rmp_grow_kept_(st->gen, (void **)&st->node_depth, &c2, id + 1, sizeof(uint32_t), id)) != RMP_OK)
        return s;
      st->nodes_cap = c1 < c2 ? c1 : c2;
    }
    st->nodes[id] = key;
    st->node_depth[id] = st->node_depth[parent] + 1;
    if ((s = rmp_index_add_(&st->node_index, h, id, st, rmp_node_hash_id_)) != RMP_OK) return s;
    st->nnodes = id + 1;
  }
  *out = id;
  return RMP_OK;
}

/* Two independent 64-bit hashes of the whole stack: the cache trusts a
 * 128-bit match (plus depth and leaf frame) instead of walking the trie.
 * Even and odd frames go to separate lanes so that four multiply chains
 * run in parallel instead of two long dependent ones. */
static inline void rmp_stack_fingerprint_(const uint64_t *keys, const int *lines, size_t depth, uint64_t *h1,
                                          uint64_t *h2) {
  const uint64_t m1 = UINT64_C(0xa0761d6478bd642f), m2 = UINT64_C(0xe7037ed1a0b428db),
                 m3 = UINT64_C(0x8ebc6af09c88c6e3);
  uint64_t a0 = UINT64_C(0x9E3779B97F4A7C15) ^ depth, a1 = UINT64_C(0x2545F4914F6CDD1D);
  uint64_t b0 = UINT64_C(0xC2B2AE3D27D4EB4F) ^ depth, b1 = UINT64_C(0x165667B19E3779F9);
  size_t i = 0;
  /* Unrolled by hand: lanes indexed through an array end up in memory. */
  for (; i + 1 < depth; i += 2) {
    uint64_t l0 = (uint32_t)lines[i], l1 = (uint32_t)lines[i + 1];
    a0 = rmp_mum_(a0 ^ keys[i], l0 ^ m1);
    a1 = rmp_mum_(a1 ^ keys[i + 1], l1 ^ m1);
    b0 = rmp_mum_(b0 ^ keys[i] ^ m2, (l0 << 32 | l0) ^ m3);
    b1 = rmp_mum_(b1 ^ keys[i + 1] ^ m2, (l1 << 32 | l1) ^ m3);
  }
  if (i < depth) {
    uint64_t l0 = (uint32_t)lines[i];
    a0 = rmp_mum_(a0 ^ keys[i], l0 ^ m1);
    b0 = rmp_mum_(b0 ^ keys[i] ^ m2, (l0 << 32 | l0) ^ m3);
  }
  *h1 = rmp_mum_(a0 ^ m2, a1 ^ m3);
  *h2 = rmp_mum_(b0 ^ m1, b1 ^ m2);
}

RMP_DEF rmp_status rmp_stack_intern(rmp_stacks *st, const uint64_t *keys, const int *lines, size_t depth,
                                    uint32_t *id) {
  uint64_t h1, h2;
  rmp_stack_cache_entry *ce;
  uint32_t node = 0;
  size_t i;
  if (depth == 0) {
    *id = 0;
    return RMP_OK;
  }
  if (depth > RMP_MAX_DEPTH) {
    depth = RMP_MAX_DEPTH; /* keep the leaf end, where the allocation happened */
    st->truncated++;
  }
  rmp_stack_fingerprint_(keys, lines, depth, &h1, &h2);
  ce = &st->cache[h1 & ((1u << RMP_STACK_CACHE_BITS) - 1)];
  if (ce->depth == depth && ce->hash == h1 && ce->hash2 == h2) {
    const rmp_frame *leaf = &st->frames[st->nodes[ce->id].frame];
    if (leaf->line == lines[0] && st->funcs[leaf->func].key == keys[0]) {
      *id = ce->id;
      return RMP_OK;
    }
  }
  for (i = depth; i-- > 0;) {
    uint32_t func, frame;
    rmp_status s;
    if ((s = rmp_func_get_or_add_(st, keys[i], &func)) != RMP_OK) return s;
    if ((s = rmp_frame_get_or_add_(st, func, (int32_t)lines[i], &frame)) != RMP_OK) return s;
    if ((s = rmp_node_get_or_add_(st, node, frame, &node)) != RMP_OK) return s;
  }
  ce->hash = h1;
  ce->hash2 = h2;
  ce->depth = (uint32_t)depth;
  ce->id = node;
  *id = node;
  return RMP_OK;
}

RMP_DEF uint32_t rmp_stack_frames(const rmp_stacks *st, uint32_t id, uint32_t *frame_ids, uint32_t max) {
  uint32_t depth = rmp_stack_depth(st, id), n = 0;
  while (id != 0 && n < max) {
    frame_ids[n++] = st->nodes[id].frame;
    id = st->nodes[id].parent;
  }
  return depth;
}

RMP_DEF void rmp_func_resolve(rmp_stacks *st, uint32_t func_id, uint32_t name, uint32_t system_name, uint32_t file,
                              int32_t start_line) {
  rmp_func *f = rmp_func_get(st, func_id);
  f->name = name;
  f->system_name = system_name;
  f->file = file;
  f->start_line = start_line;
  f->resolved = 1;
  while (st->first_unresolved < st->nfuncs && st->funcs[st->first_unresolved].resolved) st->first_unresolved++;
}

RMP_DEF rmp_status rmp_func_rekey(rmp_stacks *st, uint32_t func_id, uint64_t new_key) {
  rmp_func *f = rmp_func_get(st, func_id);
  uint64_t h = rmp_func_hash_(new_key);
  if (f->key == new_key) return RMP_OK;
  if (rmp_index_find_(&st->func_index, h, st, rmp_func_eq_, &new_key) != RMP_NONE_) return RMP_ERR_INVALID;
  rmp_index_delete_(&st->func_index, rmp_func_hash_(f->key), func_id, st, rmp_func_hash_id_);
  f->key = new_key;
  rmp_index_place_(&st->func_index, h, func_id);
  /* Cached fingerprints hash the old key; forget them. */
  memset(st->cache, 0, sizeof(rmp_stack_cache_entry) << RMP_STACK_CACHE_BITS);
  return RMP_OK;
}

RMP_DEF void rmp_stacks_each_key(const rmp_stacks *st, void (*fn)(void *ud, uint64_t key), void *ud) {
  uint32_t i;
  for (i = 0; i < st->nfuncs; i++) fn(ud, st->funcs[i].key);
}

/* Marks cover every node, including ones interned after marking began. */
static rmp_status rmp_marks_fit_(rmp_stacks *st) {
  uint8_t *m;
  if (st->marks && st->marks_len >= st->nnodes) return RMP_OK;
  m = (uint8_t *)RMP_REALLOC(st->marks, st->nnodes);
  if (!m) return RMP_ERR_NOMEM;
  memset(m + st->marks_len, 0, st->nnodes - st->marks_len);
  m[0] = 1;
  st->marks = m;
  st->marks_len = st->nnodes;
  return RMP_OK;
}

static void rmp_marks_drop_(rmp_stacks *st) {
  RMP_FREE(st->marks);
  st->marks = NULL;
  st->marks_len = 0;
}

RMP_DEF rmp_status rmp_stacks_mark(rmp_stacks *st, uint32_t id) {
  rmp_status s;
  if (id >= st->nnodes) return RMP_ERR_INVALID;
  if ((s = rmp_marks_fit_(st)) != RMP_OK) return s;
  while (!st->marks[id]) {
    st->marks[id] = 1;
    id = st->nodes[id].parent;
  }
  return RMP_OK;
}

static rmp_status rmp_restring_(const rmp_strtab *from, uint32_t id, rmp_strtab *to, uint32_t *out) {
  size_t len;
  const char *s = rmp_strtab_get(from, id, &len);
  return rmp_strtab_intern(to, s, len, out);
}

RMP_DEF rmp_status rmp_stacks_compact(rmp_stacks *st, const rmp_strtab *strings, rmp_stacks *out,
                                      rmp_strtab *out_strings, uint32_t *remap) {
  uint32_t *func_map = NULL, *frame_map = NULL, i, pass;
  rmp_status s;
  memset(out, 0, sizeof(*out));
  memset(out_strings, 0, sizeof(*out_strings));
  if ((s = rmp_marks_fit_(st)) != RMP_OK) return s;
  func_map = (uint32_t *)rmp_calloc_(st->nfuncs + 1, sizeof(uint32_t));
  frame_map = (uint32_t *)rmp_calloc_(st->nframes + 1, sizeof(uint32_t));
  if (!func_map || !frame_map) {
    s = RMP_ERR_NOMEM;
    goto fail;
  }
  if ((s = rmp_stacks_init(out)) != RMP_OK || (s = rmp_strtab_init(out_strings)) != RMP_OK) goto fail;
  /* Which functions do kept nodes use? (func_map: 1 = used, for now) */
  for (i = 1; i < st->nnodes; i++)
    if (st->marks[i]) func_map[st->frames[st->nodes[i].frame].func] = 1;
  /* Resolved functions first, so first_unresolved stays a watermark. */
  for (pass = 0; pass < 2; pass++) {
    for (i = 0; i < st->nfuncs; i++) {
      const rmp_func *f = &st->funcs[i];
      uint32_t nid;
      if (func_map[i] != 1 || (pass == 0) != (f->resolved != 0)) continue;
      if ((s = rmp_func_get_or_add_(out, f->key, &nid)) != RMP_OK) goto fail;
      if (f->resolved) {
        uint32_t n, sn, fl;
        if ((s = rmp_restring_(strings, f->name, out_strings, &n)) != RMP_OK ||
            (s = rmp_restring_(strings, f->system_name, out_strings, &sn)) != RMP_OK ||
            (s = rmp_restring_(strings, f->file, out_strings, &fl)) != RMP_OK)
          goto fail;
        rmp_func_resolve(out, nid, n, sn, fl, f->start_line);
      }
      func_map[i] = nid + 2; /* 0 unused, 1 used-unassigned, else id + 2 */
    }
  }
  for (i = 0; i <= st->nframes; i++) frame_map[i] = RMP_NONE_;
  remap[0] = 0;
  /* Parents precede children in id order, so one forward pass suffices. */
  for (i = 1; i < st->nnodes; i++) {
    const rmp_node *n = &st->nodes[i];
    if (!st->marks[i]) {
      remap[i] = RMP_NONE_;
      continue;
    }
    if (frame_map[n->frame] == RMP_NONE_) {
      const rmp_frame *f = &st->frames[n->frame];
      if ((s = rmp_frame_get_or_add_(out, func_map[f->func] - 2, f->line, &frame_map[n->frame])) != RMP_OK) goto fail;
    }
    if ((s = rmp_node_get_or_add_(out, remap[n->parent], frame_map[n->frame], &remap[i])) != RMP_OK) goto fail;
  }
  out->truncated = st->truncated;
  RMP_FREE(func_map);
  RMP_FREE(frame_map);
  rmp_marks_drop_(st);
  return RMP_OK;
fail:
  RMP_FREE(func_map);
  RMP_FREE(frame_map);
  rmp_marks_drop_(st);
  rmp_stacks_free(out);
  rmp_strtab_free(out_strings);
  return s;
}

/* ---- live table ---- */

static rmp_status rmp_live_tab_init_(rmp_live_tab *t) {
  t->slots = (rmp_live_entry *)rmp_calloc_(64, sizeof(rmp_live_entry));
  t->mask = 63;
  t->count = 0;
  return t->slots ? RMP_OK : RMP_ERR_NOMEM;
}

RMP_DEF rmp_status rmp_live_init(rmp_live *t, uint32_t max_entries) {
  memset(t, 0, sizeof(*t));
  if (max_entries == 0 || max_entries > (UINT32_C(1) << 30)) return RMP_ERR_INVALID;
  if (rmp_live_tab_init_(&t->main) != RMP_OK) return RMP_ERR_NOMEM;
  t->max = max_entries;
  return RMP_OK;
}

RMP_DEF void rmp_live_free(rmp_live *t) {
  RMP_FREE(t->main.slots);
  RMP_FREE(t->young.slots);
  memset(t, 0, sizeof(*t));
}

RMP_DEF rmp_status rmp_live_set_max(rmp_live *t, uint32_t max_entries) {
  if (max_entries == 0 || max_entries > (UINT32_C(1) << 30)) return RMP_ERR_INVALID;
  t->max = max_entries;
  return RMP_OK;
}

RMP_DEF rmp_status rmp_live_split_young(rmp_live *t) {
  if (t->count || t->young.slots) return RMP_ERR_INVALID;
  return rmp_live_tab_init_(&t->young);
}

/* Place e without looking for an existing copy of its address first
 * (callers know it is absent, or accept overwriting it). */
static void rmp_live_place_(rmp_live_tab *t, const rmp_live_entry *e) {
  uint32_t i = rmp_live_home_(t, e->addr);
  for (;;) {
    rmp_live_entry *s = &t->slots[i];
    if (s->addr == 0) {
      *s = *e;
      t->count++;
      return;
    }
    if (s->addr == e->addr) {
      *s = *e;
      return;
    }
    i = (i + 1) & t->mask;
  }
}

static rmp_status rmp_live_resize_(rmp_live_tab *t, uint32_t ncap) {
  uint32_t i, oldcap = t->mask + 1;
  rmp_live_entry *old = t->slots, *ns = (rmp_live_entry *)rmp_calloc_(ncap, sizeof(rmp_live_entry));
  if (!ns) return RMP_ERR_NOMEM;
  t->slots = ns;
  t->mask = ncap - 1;
  t->count = 0;
  for (i = 0; i < oldcap; i++)
    if (old[i].addr) rmp_live_place_(t, &old[i]);
  RMP_FREE(old);
  return RMP_OK;
}

/* Load stays at most 1/2, so probes stay short and an empty slot always
 * exists: is there room for `more` entries? */
static inline int rmp_live_has_room_(const rmp_live_tab *t, uint32_t more) {
  return (uint64_t)(t->count + more) * 2 <= (uint64_t)t->mask + 1;
}

/* Room for one more entry, growing the table if need be. */
static rmp_status rmp_live_reserve_(rmp_live_tab *t) {
  if (rmp_live_has_room_(t, 1)) return RMP_OK;
  return rmp_live_resize_(t, (t->mask + 1) * 2);
}

static inline int rmp_live_home_at_(const void *tab, uint32_t j, uint32_t *home) {
  const rmp_live_tab *t = (const rmp_live_tab *)tab;
  uintptr_t a = t->slots[j].addr;
  if (a) *home = rmp_live_home_(t, a);
  return a != 0;
}

static inline void rmp_live_move_(void *tab, uint32_t to, uint32_t from) {
  rmp_live_tab *t = (rmp_live_tab *)tab;
  t->slots[to] = t->slots[from];
}

static void rmp_live_delete_at_(rmp_live_tab *t, uint32_t i) {
  t->slots[rmp_backshift_(t, t->mask, i, rmp_live_home_at_, rmp_live_move_)].addr = 0;
  t->count--;
}

RMP_DEF rmp_status rmp_live_insert(rmp_live *t, const rmp_live_entry *e) {
  rmp_live_tab *to = &t->main, *other = &t->young;
  rmp_live_entry *s;
  rmp_status st;
  uint32_t i;
  if (e->addr == 0) return RMP_ERR_INVALID;
  if (t->young.slots) {
    if (!(e->flags & RMP_LIVE_OLD)) {
      to = &t->young;
      other = &t->main;
    }
    if ((s = rmp_live_find_(other, e->addr)) != NULL) {
      /* Tracked in the other table: the new entry goes where its flags
       * say, or, without memory for that, replaces the old one in place. */
      t->replaced++;
      if (rmp_live_reserve_(to) != RMP_OK) {
        *s = *e;
        return RMP_OK;
      }
      rmp_live_delete_at_(other, (uint32_t)(s - other->slots));
      rmp_live_place_(to, e);
      return RMP_OK;
    }
  }
  /* One probe of `to` finds either the address or the empty slot it would
   * go in; only growth, which is rare, probes again. */
  for (i = rmp_live_home_(to, e->addr);; i = (i + 1) & to->mask) {
    s = &to->slots[i];
    if (s->addr == e->addr) {
      *s = *e;
      t->replaced++;
      return RMP_OK;
    }
    if (s->addr == 0) break;
  }
  if (t->count >= t->max) {
    t->dropped++;
    return RMP_ERR_FULL;
  }
  if (!rmp_live_has_room_(to, 1)) {
    if ((st = rmp_live_resize_(to, (to->mask + 1) * 2)) != RMP_OK) {
      t->dropped++;
      return st;
    }
    rmp_live_place_(to, e);
  } else {
    *s = *e;
    to->count++;
  }
  t->count++;
  return RMP_OK;
}

/* addr's entry and the part holding it, or NULL. */
static rmp_live_entry *rmp_live_find_part_(rmp_live *t, uintptr_t addr, rmp_live_tab **part) {
  rmp_live_entry *e = rmp_live_find_(&t->main, addr);
  *part = &t->main;
  if (e || !t->young.slots) return e;
  *part = &t->young;
  return rmp_live_find_(&t->young, addr);
}

RMP_DEF int rmp_live_delete(rmp_live *t, uintptr_t addr) {
  rmp_live_entry *e;
  rmp_live_tab *tab;
  if (addr == 0 || !(e = rmp_live_find_part_(t, addr, &tab))) return 0;
  rmp_live_delete_at_(tab, (uint32_t)(e - tab->slots));
  t->count--;
  return 1;
}

RMP_DEF int rmp_live_move(rmp_live *t, uintptr_t from, uintptr_t to) {
  rmp_live_entry *e, copy;
  rmp_live_tab *tab;
  if (from == 0 || to == 0 || !(e = rmp_live_find_part_(t, from, &tab))) return 0;
  if (from == to) return 1;
  copy = *e;
  copy.addr = to;
  rmp_live_delete_at_(tab, (uint32_t)(e - tab->slots));
  t->count--;
  /* An entry at `to` goes (its object died unnoticed); the slot just freed
   * leaves room in tab. */
  rmp_live_delete(t, to);
  rmp_live_place_(tab, &copy);
  t->count++;
  return 1;
}

static uint32_t rmp_live_first_empty_(const rmp_live_tab *t) {
  uint32_t i = 0;
  while (t->slots[i].addr) i++; /* load <= 1/2 guarantees one */
  return i;
}

/* Entries moving to the main part wait here a few at a time, their home
 * slots prefetched: each is a cache miss in a table many times the size of
 * the young part, and a minor GC promotes hundreds. */
#define RMP_PROMOTE_BATCH_ 16
typedef struct rmp_promote_ {
  rmp_live_tab *to;
  uint32_t n;
  rmp_live_entry e[RMP_PROMOTE_BATCH_];
} rmp_promote_;

static void rmp_promote_flush_(rmp_promote_ *b) {
  uint32_t k;
  for (k = 0; k < b->n; k++) rmp_live_place_(b->to, &b->e[k]);
  b->n = 0;
}

/* Takes e if the main part has room for it (growing it if need be). */
static int rmp_promote_take_(rmp_promote_ *b, const rmp_live_entry *e) {
  rmp_live_tab *to = b->to;
  if (b->n == RMP_PROMOTE_BATCH_ || !rmp_live_has_room_(to, b->n + 1)) {
    rmp_promote_flush_(b);
    if (rmp_live_reserve_(to) != RMP_OK) return 0;
  }
  RMP_PREFETCH(&to->slots[rmp_live_home_(to, e->addr)]);
  b->e[b->n++] = *e;
  return 1;
}

/* Visiting from just after an empty slot means no cluster wraps past the
 * start, so a backward shift only ever pulls unvisited entries into the
 * slot just emptied, which is then examined again. With `to`, entries kept
 * with RMP_LIVE_OLD set move there. */
#define RMP_SWEEP_AHEAD_ 8
static RMP_ALWAYS_INLINE size_t rmp_live_tab_sweep_as_(rmp_live_tab *t, rmp_live_keep_fn keep, void *ud,
                                                       rmp_live_tab *to, const int prefetch) {
  uint32_t start = rmp_live_first_empty_(t), n = 1, cap = t->mask + 1;
  size_t removed = 0;
  rmp_promote_ b;
  b.to = to;
  b.n = 0;
  while (n < cap) {
    uint32_t i = (start + n) & t->mask;
    rmp_live_entry *e = &t->slots[i];
    if (prefetch) RMP_PREFETCH((const void *)t->slots[(i + RMP_SWEEP_AHEAD_) & t->mask].addr);
    if (e->addr && !keep(ud, e)) {
      rmp_live_delete_at_(t, i);
      removed++;
      continue;
    }
    if (e->addr && to && (e->flags & RMP_LIVE_OLD) && rmp_promote_take_(&b, e)) {
      rmp_live_delete_at_(t, i);
      continue;
    }
    n++;
  }
  rmp_promote_flush_(&b);
  return removed;
}

/* One copy of the loop per setting: a test per slot would cost the sweeps
 * that do not prefetch 13% more instructions. */
static size_t rmp_live_tab_sweep_(rmp_live_tab *t, rmp_live_keep_fn keep, void *ud, rmp_live_tab *to,
                                  int prefetch) {
  return prefetch ? rmp_live_tab_sweep_as_(t, keep, ud, to, 1) : rmp_live_tab_sweep_as_(t, keep, ud, to, 0);
}

/* The young part shrinks after a sweep to what its recent peak needs, when
 * it is twice that: a burst does not leave every later sweep reading a
 * large table (a sweep reads every slot: at 4,500 young entries, 32,768
 * slots took 35-47 us of a 0.15 ms pass on Ruby 3.4, 16,384 took 20-31).
 * The peak is the most entries a young sweep has found, decaying by 1/8 per
 * sweep, so that GCs that come at uneven intervals do not shrink it after
 * every short one and regrow it by doublings (each a rehash of the whole
 * part, on the allocation path) after every long one. */
static void rmp_live_young_fit_(rmp_live *t, uint32_t before) {
  rmp_live_tab *y = &t->young;
  uint32_t need = 64, decayed = t->young_peak - t->young_peak / 8;
  t->young_peak = before > decayed ? before : decayed;
  while ((uint64_t)need < (uint64_t)t->young_peak * 2) need *= 2;
  if ((uint64_t)y->mask + 1 >= (uint64_t)need * 2 && y->count * 2 <= need) (void)rmp_live_resize_(y, need);
}

RMP_DEF size_t rmp_live_sweep_young(rmp_live *t, rmp_live_keep_fn keep, void *ud) {
  size_t removed;
  uint32_t before = t->young.count;
  if (!t->young.slots) return 0;
  removed = rmp_live_tab_sweep_(&t->young, keep, ud, &t->main, t->keep_reads_addr);
  t->count -= (uint32_t)removed;
  rmp_live_young_fit_(t, before);
  return removed;
}

/* The main table first: entries moving into it from the young one are
 * not visited twice. */
RMP_DEF size_t rmp_live_sweep(rmp_live *t, rmp_live_keep_fn keep, void *ud) {
  size_t removed = rmp_live_tab_sweep_(&t->main, keep, ud, NULL, t->keep_reads_addr);
  t->count -= (uint32_t)removed;
  return removed + rmp_live_sweep_young(t, keep, ud);
}

#define RMP_REKEY_CHUNK_ 64

/* An entry moving onto an address the other table holds replaces that
 * entry, whose object had died unnoticed (the address was free for the
 * move), as one table overwrites in place. */
static size_t rmp_live_tab_rekey_(rmp_live_tab *t, rmp_live_tab *other, rmp_live_loc_fn loc, void *ud) {
  rmp_live_entry local[RMP_REKEY_CHUNK_], *buf;
  size_t bufcap, moved = 0, nbuf, k;
  int again = 1;
  buf = t->count ? (rmp_live_entry *)RMP_MALLOC(sizeof(rmp_live_entry) * t->count) : NULL;
  bufcap = buf ? t->count : RMP_REKEY_CHUNK_;
  if (!buf) buf = local;
  /* All moved entries come out before any goes back in, so a new address
   * can never collide with an old one still waiting to move. Without the
   * scratch list, bounded chunks and repeated passes (loc is idempotent). */
  while (again) {
    uint32_t start = rmp_live_first_empty_(t), n = 1, cap = t->mask + 1;
    again = 0;
    nbuf = 0;
    while (n < cap) {
      uint32_t i = (start + n) & t->mask;
      rmp_live_entry *e = &t->slots[i];
      if (e->addr) {
        uintptr_t na = loc(ud, e->addr);
        if (na != e->addr && na != 0) {
          if (nbuf == bufcap) {
            again = 1;
            break;
          }
          buf[nbuf] = *e;
          buf[nbuf++].addr = na;
          rmp_live_delete_at_(t, i);
          continue;
        }
      }
      n++;
    }
    for (k = 0; k < nbuf; k++) {
      rmp_live_entry *o = other->slots ? rmp_live_find_(other, buf[k].addr) : NULL;
      if (o) rmp_live_delete_at_(other, (uint32_t)(o - other->slots));
      rmp_live_place_(t, &buf[k]);
    }
    moved += nbuf;
  }
  if (buf != local) RMP_FREE(buf);
  return moved;
}

RMP_DEF size_t rmp_live_rekey(rmp_live *t, rmp_live_loc_fn loc, void *ud) {
  size_t moved = rmp_live_tab_rekey_(&t->main, &t->young, loc, ud);
  if (t->young.slots) moved += rmp_live_tab_rekey_(&t->young, &t->main, loc, ud);
  t->count = t->main.count + t->young.count;
  return moved;
}

/* ---- allocation samples ---- */

RMP_DEF rmp_status rmp_allocs_init(rmp_allocs *a, uint32_t max) {
  memset(a, 0, sizeof(*a));
  if (max == 0) return RMP_ERR_INVALID;
  a->max = a->next_max = max;
  return RMP_OK;
}

RMP_DEF rmp_status rmp_allocs_set_max(rmp_allocs *a, uint32_t max) {
  if (max == 0) return RMP_ERR_INVALID;
  a->next_max = max;
  if (a->seen == 0) a->max = max; /* nothing offered yet: no bias */
  return RMP_OK;
}

RMP_DEF void rmp_allocs_free(rmp_allocs *a) {
  RMP_FREE(a->v);
  a->v = NULL;
  a->n = a->cap = 0;
}

RMP_DEF void rmp_allocs_reset(rmp_allocs *a) {
  a->max = a->next_max;
  a->n = 0;
  a->seen = a->next = 0;
  a->w = 0.0;
}

/* u in (0, 1]: logs of it stay finite. */
static double rmp_unit_open_(rmp_rng *rng) { return 1.0 - rmp_rng_unit(rng); }

/* Algorithm L's step: W shrinks by U^(1/max), and the gap to the next
 * entering candidate is geometric with parameter W. */
static void rmp_allocs_skip_(rmp_allocs *a, rmp_rng *rng) {
  double gap;
  a->w = (a->seen == a->max ? 1.0 : a->w) * exp(log(rmp_unit_open_(rng)) / a->max);
  gap = floor(log(rmp_unit_open_(rng)) / log1p(-a->w)) + 1.0;
  a->next = (gap >= 0.0 && gap < 4e18) ? a->seen + (uint64_t)gap : UINT64_MAX;
}

RMP_DEF int rmp_allocs_offer(rmp_allocs *a, rmp_rng *rng) {
  a->seen++;
  if (a->seen < a->max) return 1;
  if (a->seen > a->max && a->seen != a->next) return 0;
  rmp_allocs_skip_(a, rng);
  return 1;
}

RMP_DEF rmp_status rmp_allocs_keep(rmp_allocs *a, const rmp_alloc_sample *s, rmp_rng *rng) {
  if (a->n >= a->max) {
    /* (n can exceed max only after the bound was lowered mid-interval.) */
    a->v[rmp_rng_next(rng) % a->n] = *s;
    return RMP_OK;
  }
  if (a->n == a->cap) {
    uint32_t c = a->cap;
    if (rmp_grow_((void **)&a->v, &c, a->n + 1, sizeof(*a->v)) != RMP_OK) {
      a->dropped++;
      return RMP_ERR_NOMEM;
    }
    a->cap = c;
  }
  a->v[a->n++] = *s;
  return RMP_OK;
}

/* ---- profiler ---- */

RMP_DEF void rmp_config_default(rmp_config *c) {
  c->sample_rate = 1.0;
  c->retain_rate = 1.0;
  c->max_alloc_samples = 10000;
  c->max_heap_samples = 50000;
  c->seed = UINT64_C(0x853c49e6748fea9b);
  c->start_ns = 0;
  c->min_live_age = 0;
  c->compact_growth = 0.0;
}

RMP_DEF rmp_status rmp_config_check(const rmp_config *c) {
  if (!rmp_rate_valid(c->sample_rate) || !rmp_rate_valid(c->retain_rate)) return RMP_ERR_INVALID;
  if (c->max_alloc_samples == 0 || c->max_heap_samples == 0 || c->max_heap_samples > (UINT32_C(1) << 30))
    return RMP_ERR_INVALID;
  if (!(c->compact_growth >= 0.0 && c->compact_growth <= 1e9)) return RMP_ERR_INVALID;
  return RMP_OK;
}

RMP_DEF rmp_status rmp_profiler_init(rmp_profiler *p, const rmp_config *c) {
  rmp_status s;
  memset(p, 0, sizeof(*p));
  if ((s = rmp_config_check(c)) != RMP_OK) return s;
  if ((s = rmp_sampler_init(&p->sampler, c->sample_rate, c->retain_rate, c->seed)) != RMP_OK) return s;
  p->interval_start_ns = c->start_ns;
  p->min_live_age = c->min_live_age;
  p->compact_growth = c->compact_growth;
  if ((s = rmp_strtab_init(&p->strings)) != RMP_OK || (s = rmp_stacks_init(&p->stacks)) != RMP_OK ||
      (s = rmp_live_init(&p->live, c->max_heap_samples)) != RMP_OK ||
      (s = rmp_allocs_init(&p->allocs, c->max_alloc_samples)) != RMP_OK) {
    rmp_profiler_free(p);
    return s;
  }
  return RMP_OK;
}

RMP_DEF void rmp_profiler_free(rmp_profiler *p) {
  if (p->gen && p->gen->refs > 1) {
    /* Snapshots still read these tables: they go with the generation. */
    p->gen->stacks = p->stacks;
    p->gen->strings = p->strings;
    p->gen->owns_tables = 1;
    memset(&p->stacks, 0, sizeof(p->stacks));
    memset(&p->strings, 0, sizeof(p->strings));
  }
  rmp_gen_release_(p->gen);
  p->gen = NULL;
  rmp_strtab_free(&p->strings);
  rmp_stacks_free(&p->stacks);
  rmp_live_free(&p->live);
  rmp_allocs_free(&p->allocs);
}

RMP_DEF rmp_decision rmp_sample_confirm(rmp_profiler *p) {
  rmp_sampler *sm = &p->sampler;
  rmp_decision d = 0;
  uint32_t k = p->heap_keep_log2;
  if (!rmp_sampler_refill_(sm)) return 0;
  p->samples_taken++;
  /* Probability 2^-k exactly: the top k bits of a draw all zero. */
  if (k == 0 || (rmp_rng_next(&sm->rng) >> (64 - k)) == 0) d |= RMP_KEEP_HEAP | (k << 8);
  if (rmp_sampler_retain(sm) && rmp_allocs_offer(&p->allocs, &sm->rng)) d |= RMP_KEEP_ALLOC;
  return d;
}

RMP_DEF void rmp_sample_skip(rmp_profiler *p) { (void)rmp_sampler_refill_(&p->sampler); }

RMP_DEF double rmp_heap_probability(const rmp_profiler *p) {
  return p->sampler.rate * ldexp(1.0, -(int)p->heap_keep_log2);
}

static int rmp_thin_keep_(void *ud, rmp_live_entry *e) {
  rmp_rng *rng = (rmp_rng *)ud;
  if (rmp_rng_next(rng) >> 63) return 0;
  e->weight *= 2.0f;
  return 1;
}

RMP_DEF void rmp_profiler_thin(rmp_profiler *p) {
  rmp_live_sweep(&p->live, rmp_thin_keep_, &p->sampler.rng);
  if (p->heap_keep_log2 < 63) p->heap_keep_log2++;
  p->heap_thinnings++;
}

/* 1/(probability), as the float a sample carries; a zero probability (a
 * rate of 0, or two rates whose product underflows) has no finite weight. */
static float rmp_weight_(double prob) { return prob > 0.0 ? (float)(1.0 / prob) : (float)HUGE_VAL; }

RMP_DEF rmp_status rmp_track(rmp_profiler *p, uintptr_t addr, uint32_t stack, uint32_t klass, uint64_t size,
                             uint32_t epoch, rmp_decision d) {
  rmp_status s = RMP_OK;
  if (addr == 0 || !(d & (RMP_KEEP_HEAP | RMP_KEEP_ALLOC))) return RMP_ERR_INVALID;
  if (d & RMP_KEEP_HEAP) {
    rmp_live_entry e;
    e.addr = addr;
    e.stack = stack;
    e.klass = klass;
    e.epoch = epoch;
    e.size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
    /* The keep probability when it was decided: thinning may have run
     * since, and this entry was not part of it. */
    e.weight = rmp_weight_(ldexp(p->sampler.rate, -(int)RMP_DECISION_KEEP_LOG2(d)));
    e.flags = 0;
    /* A full table is thinned, never a reason to drop. */
    while (p->live.count >= p->live.max && !rmp_live_lookup(&p->live, addr)) rmp_profiler_thin(p);
    s = rmp_live_insert(&p->live, &e);
  }
  if (d & RMP_KEEP_ALLOC) {
    rmp_alloc_sample a;
    rmp_status s2;
    a.stack = stack;
    a.klass = klass;
    a.size = size;
    a.epoch = epoch;
    a.weight = rmp_weight_(p->sampler.rate * p->sampler.retain_rate);
    s2 = rmp_allocs_keep(&p->allocs, &a, &p->sampler.rng);
    if (s == RMP_OK) s = s2;
  }
  return s;
}

RMP_DEF void rmp_profiler_forget_interval(rmp_profiler *p, uint64_t now_ns) {
  rmp_allocs_reset(&p->allocs);
  p->heap_dropped_at_rotate = p->live.dropped;
  p->allocs_dropped_at_rotate = p->allocs.dropped;
  p->stacks_dropped_at_rotate = p->stacks_dropped;
  p->thinnings_at_rotate = p->heap_thinnings;
  p->interval_start_ns = now_ns;
}

RMP_DEF void rmp_snapshot_free(rmp_snapshot *snap) {
  if (snap->gen) {
    rmp_gen_release_(snap->gen);
  } else {
    rmp_strtab_free(&snap->strings);
    rmp_stacks_free(&snap->stacks);
  }
  RMP_FREE(snap->live);
  RMP_FREE(snap->allocs);
  memset(snap, 0, sizeof(*snap));
}

/* The arrays of t a snapshot reads, without the indexes it never uses. */
static rmp_strtab rmp_strtab_view_(const rmp_strtab *t) {
  rmp_strtab v = *t;
  memset(&v.index, 0, sizeof(v.index));
  v.gen = NULL;
  return v;
}
static rmp_stacks rmp_stacks_view_(const rmp_stacks *st) {
  rmp_stacks v = *st;
  memset(&v.func_index, 0, sizeof(v.func_index));
  memset(&v.frame_index, 0, sizeof(v.frame_index));
  memset(&v.node_index, 0, sizeof(v.node_index));
  v.cache = NULL;
  v.marks = NULL;
  v.marks_len = 0;
  v.gen = NULL;
  return v;
}

/* Grown by `growth` since the last compaction, and by RMP_COMPACT_FLOOR
 * at least: small tables are cheap to keep, and a few new class names
 * must not make every rotation compact. */
#ifndef RMP_COMPACT_FLOOR
#define RMP_COMPACT_FLOOR 1024
#endif
static int rmp_grown_past_(uint32_t n, uint32_t kept, double growth) {
  double by = (double)kept * growth;
  if (growth <= 0.0) return 1;
  return (double)n > (double)kept + (by > RMP_COMPACT_FLOOR ? by : RMP_COMPACT_FLOOR);
}

/* Build the compacted tables (nst, nstr) and the remaps; nothing of p
 * changes. */
static rmp_status rmp_compact_tables_(rmp_profiler *p, uint32_t *extra_stacks, size_t nextra, rmp_stacks *nst,
                                      rmp_strtab *nstr, uint32_t *remap, uint32_t *kmap) {
  rmp_status s;
  uint32_t i, nslots;
  size_t k;
  if ((s = rmp_stacks_mark(&p->stacks, 0)) != RMP_OK) return s;
  for (i = 0, nslots = rmp_live_nslots(&p->live); i < nslots; i++) {
    const rmp_live_entry *e = rmp_live_slot(&p->live, i);
    if (e->addr && (s = rmp_stacks_mark(&p->stacks, e->stack)) != RMP_OK) goto fail;
  }
  for (k = 0; k < nextra; k++)
    if ((s = rmp_stacks_mark(&p->stacks, extra_stacks[k])) != RMP_OK) goto fail;
  if ((s = rmp_stacks_compact(&p->stacks, &p->strings, nst, nstr, remap)) != RMP_OK) return s;
  /* Class names of live objects move to the new string table too, those of
   * entries too young for this snapshot included. */
  for (i = 0; i < p->strings.count; i++) kmap[i] = RMP_NONE_;
  for (i = 0, nslots = rmp_live_nslots(&p->live); i < nslots; i++) {
    const rmp_live_entry *e = rmp_live_slot(&p->live, i);
    uint32_t c = e->klass < p->strings.count ? e->klass : 0;
    if (!e->addr || kmap[c] != RMP_NONE_) continue;
    if ((s = rmp_restring_(&p->strings, c, nstr, &kmap[c])) != RMP_OK) {
      rmp_stacks_free(nst);
      rmp_strtab_free(nstr);
      return s;
    }
  }
  return RMP_OK;
fail:
  rmp_marks_drop_(&p->stacks);
  return s;
}

RMP_DEF rmp_status rmp_profiler_rotate(rmp_profiler *p, rmp_snapshot *snap, uint32_t *extra_stacks, size_t nextra,
                                       uint64_t now_ns, uint32_t epoch_now) {
  rmp_stacks nst;
  rmp_strtab nstr;
  uint32_t *remap = NULL, *kmap = NULL, i, n = 0, nslots;
  rmp_live_entry *copy = NULL;
  rmp_gen *g = NULL;
  rmp_status s = RMP_OK;
  size_t k;
  uint64_t young = 0;
  double alloc_share;
  int compact = !p->compact_elsewhere && rmp_profiler_compaction_due(p);
  memset(snap, 0, sizeof(*snap));
  for (k = 0; k < nextra; k++)
    if (extra_stacks[k] >= p->stacks.nnodes) return RMP_ERR_INVALID;
  if (p->live.count) {
    copy = (rmp_live_entry *)RMP_MALLOC(sizeof(rmp_live_entry) * p->live.count);
    if (!copy) return RMP_ERR_NOMEM;
  }
  g = (rmp_gen *)rmp_calloc_(1, sizeof(rmp_gen));
  if (!g) {
    s = RMP_ERR_NOMEM;
    goto fail;
  }
  if (compact) {
    remap = (uint32_t *)rmp_calloc_(p->stacks.nnodes, sizeof(uint32_t));
    kmap = (uint32_t *)rmp_calloc_(p->strings.count, sizeof(uint32_t));
    if (!remap || !kmap) {
      s = RMP_ERR_NOMEM;
      goto fail;
    }
    if ((s = rmp_compact_tables_(p, extra_stacks, nextra, &nst, &nstr, remap, kmap)) != RMP_OK) goto fail;
  }
  /* Nothing can fail from here on: commit. */
  for (i = 0, nslots = rmp_live_nslots(&p->live); i < nslots; i++) {
    rmp_live_entry *e = rmp_live_slot(&p->live, i);
    if (!e->addr) continue;
    if (rmp_age(epoch_now, e->epoch) >= p->min_live_age)
      copy[n++] = *e;
    else
      young++;
    if (compact) {
      e->stack = remap[e->stack];
      e->klass = e->klass < p->strings.count ? kmap[e->klass] : 0;
    }
  }
  /* The snapshot reads the tables as they are now. g keeps them: arrays
   * that grow from now on leave their old copy to it, and the tables a
   * compaction replaces go to it whole. A previous generation keeps g. */
  snap->strings = rmp_strtab_view_(&p->strings);
  snap->stacks = rmp_stacks_view_(&p->stacks);
  snap->gen = g;
  g->refs = 1;
  if (p->gen) {
    p->gen->next = g;
    g->refs++;
    rmp_gen_release_(p->gen);
    p->gen = NULL;
  }
  if (compact) {
    for (k = 0; k < nextra; k++) extra_stacks[k] = remap[extra_stacks[k]];
    g->stacks = p->stacks;
    g->strings = p->strings;
    g->owns_tables = 1;
    p->stacks = nst;
    p->strings = nstr;
    p->kept_nodes = nst.nnodes;
    p->kept_strings = nstr.count;
    p->compactions++;
  } else {
    p->gen = g;
    g->refs++;
  }
  p->stacks.gen = p->strings.gen = p->gen;
  snap->live = copy;
  snap->nlive = n;
  snap->allocs = p->allocs.v;
  snap->nallocs = p->allocs.n;
  /* Each of the n kept stands for seen/n of the candidates offered. */
  alloc_share = p->allocs.n && p->allocs.seen > p->allocs.n ? (double)p->allocs.seen / p->allocs.n : 1.0;
  for (i = 0; i < snap->nallocs; i++) snap->allocs[i].weight = (float)(snap->allocs[i].weight * alloc_share);
  snap->alloc_candidates = p->allocs.seen;
  p->allocs.v = NULL;
  p->allocs.cap = 0;
  rmp_allocs_reset(&p->allocs);
  snap->sample_rate = p->sampler.rate;
  snap->retain_rate = p->sampler.retain_rate;
  snap->heap_keep = rmp_heap_probability(p);
  snap->heap_thinnings = p->heap_thinnings - p->thinnings_at_rotate;
  p->thinnings_at_rotate = p->heap_thinnings;
  snap->young_left_out = young;
  /* With room again (the live set shrank), new entries may come in at
   * twice the probability: the entries kept keep their own weights. */
  if (p->heap_keep_log2 > 0 && p->live.count <= p->live.max / 4) p->heap_keep_log2--;
  snap->heap_dropped = p->live.dropped - p->heap_dropped_at_rotate;
  snap->allocs_dropped = p->allocs.dropped - p->allocs_dropped_at_rotate;
  snap->stacks_dropped = p->stacks_dropped - p->stacks_dropped_at_rotate;
  p->heap_dropped_at_rotate = p->live.dropped;
  p->allocs_dropped_at_rotate = p->allocs.dropped;
  p->stacks_dropped_at_rotate = p->stacks_dropped;
  snap->start_ns = p->interval_start_ns;
  snap->end_ns = now_ns;
  snap->epoch_now = epoch_now;
  p->interval_start_ns = now_ns;
  RMP_FREE(remap);
  RMP_FREE(kmap);
  return RMP_OK;
fail:
  RMP_FREE(g);
  RMP_FREE(copy);
  RMP_FREE(remap);
  RMP_FREE(kmap);
  return s;
}

RMP_DEF int rmp_profiler_compaction_due(const rmp_profiler *p) {
  return rmp_grown_past_(p->stacks.nnodes, p->kept_nodes, p->compact_growth) ||
         rmp_grown_past_(p->strings.count, p->kept_strings, p->compact_growth);
}

RMP_DEF void rmp_compaction_free(rmp_compaction *cj) {
  RMP_FREE(cj->view.funcs);
  RMP_FREE(cj->view.marks);
  RMP_FREE(cj->keep);
  RMP_FREE(cj->remap);
  RMP_FREE(cj->func_src);
  rmp_stacks_free(&cj->out);
  rmp_strtab_free(&cj->out_strings);
  rmp_gen_release_(cj->gen);
  memset(cj, 0, sizeof(*cj));
}

RMP_DEF rmp_status rmp_compaction_begin(rmp_profiler *p, rmp_compaction *cj, const uint32_t *extra_stacks,
                                        size_t nextra) {
  rmp_gen *g;
  rmp_func *funcs;
  uint32_t i, nslots;
  size_t k;
  memset(cj, 0, sizeof(*cj));
  for (k = 0; k < nextra; k++)
    if (extra_stacks[k] >= p->stacks.nnodes) return RMP_ERR_INVALID;
  g = (rmp_gen *)rmp_calloc_(1, sizeof(rmp_gen));
  funcs = (rmp_func *)rmp_calloc_(p->stacks.nfuncs + 1, sizeof(rmp_func));
  cj->keep = (uint32_t *)rmp_calloc_((size_t)p->live.count + nextra + 1, sizeof(uint32_t));
  if (!g || !funcs || !cj->keep) {
    RMP_FREE(g);
    RMP_FREE(funcs);
    RMP_FREE(cj->keep);
    cj->keep = NULL;
    return RMP_ERR_NOMEM;
  }
  /* Functions change in place (names filled in, keys rewritten): build
   * reads a copy of them as they are now. */
  if (p->stacks.nfuncs) memcpy(funcs, p->stacks.funcs, sizeof(rmp_func) * p->stacks.nfuncs);
  for (i = 0, nslots = rmp_live_nslots(&p->live); i < nslots; i++)
    if (rmp_live_slot(&p->live, i)->addr) cj->keep[cj->nkeep++] = rmp_live_slot(&p->live, i)->stack;
  for (k = 0; k < nextra; k++) cj->keep[cj->nkeep++] = extra_stacks[k];
  cj->view = rmp_stacks_view_(&p->stacks);
  cj->view.funcs = funcs;
  cj->strings = rmp_strtab_view_(&p->strings);
  /* As a rotation: from now on the arrays grow by moving, and g keeps what
   * the view reads. */
  g->refs = 2; /* the profiler and this job */
  if (p->gen) {
    p->gen->next = g;
    g->refs++;
    rmp_gen_release_(p->gen);
  }
  p->gen = g;
  p->stacks.gen = p->strings.gen = g;
  cj->gen = g;
  return RMP_OK;
}

RMP_DEF rmp_status rmp_compaction_build(rmp_compaction *cj) {
  rmp_status s;
  uint32_t i;
  if ((s = rmp_stacks_mark(&cj->view, 0)) != RMP_OK) return s;
  for (i = 0; i < cj->nkeep; i++)
    if ((s = rmp_stacks_mark(&cj->view, cj->keep[i])) != RMP_OK) return s;
  cj->remap = (uint32_t *)rmp_calloc_(cj->view.nnodes, sizeof(uint32_t));
  if (!cj->remap) return RMP_ERR_NOMEM;
  if ((s = rmp_stacks_compact(&cj->view, &cj->strings, &cj->out, &cj->out_strings, cj->remap)) != RMP_OK) return s;
  cj->func_src = (uint32_t *)rmp_calloc_(cj->out.nfuncs + 1, sizeof(uint32_t));
  if (!cj->func_src) return RMP_ERR_NOMEM;
  for (i = 0; i < cj->view.nfuncs; i++) {
    uint64_t key = cj->view.funcs[i].key;
    uint32_t j = rmp_index_find_(&cj->out.func_index, rmp_func_hash_(key), &cj->out, rmp_func_eq_, &key);
    if (j != RMP_NONE_) cj->func_src[j] = i;
  }
  cj->built = 1;
  return RMP_OK;
}

/* finish's maps from the profiler's current ids into cj->out. */
typedef struct rmp_merge_ {
  const rmp_profiler *p;
  rmp_compaction *cj;
  uint32_t *amap;  /* nodes interned since begin */
  uint32_t *fmap;  /* frames */
  uint32_t *cmap;  /* functions */
  uint32_t *kmap;  /* strings */
  uint32_t *chain; /* RMP_MAX_DEPTH + 1 */
} rmp_merge_;

static rmp_status rmp_merge_string_(rmp_merge_ *m, uint32_t id, uint32_t *out) {
  rmp_status s;
  if (id >= m->p->strings.count) id = 0;
  if (m->kmap[id] == RMP_NONE_ && (s = rmp_restring_(&m->p->strings, id, &m->cj->out_strings, &m->kmap[id])) != RMP_OK)
    return s;
  *out = m->kmap[id];
  return RMP_OK;
}

/* Name out's function j as the profiler's function i is named now. */
static rmp_status rmp_merge_names_(rmp_merge_ *m, uint32_t i, uint32_t j) {
  const rmp_func *f = &m->p->stacks.funcs[i];
  uint32_t n, sn, fl;
  rmp_status s;
  if (!f->resolved || m->cj->out.funcs[j].resolved) return RMP_OK;
  if ((s = rmp_merge_string_(m, f->name, &n)) != RMP_OK || (s = rmp_merge_string_(m, f->system_name, &sn)) != RMP_OK ||
      (s = rmp_merge_string_(m, f->file, &fl)) != RMP_OK)
    return s;
  rmp_func_resolve(&m->cj->out, j, n, sn, fl, f->start_line);
  return RMP_OK;
}

static rmp_status rmp_merge_func_(rmp_merge_ *m, uint32_t i, uint32_t *out) {
  rmp_status s;
  if (m->cmap[i] == RMP_NONE_) {
    if ((s = rmp_func_get_or_add_(&m->cj->out, m->p->stacks.funcs[i].key, &m->cmap[i])) != RMP_OK) return s;
    if ((s = rmp_merge_names_(m, i, m->cmap[i])) != RMP_OK) return s;
  }
  *out = m->cmap[i];
  return RMP_OK;
}

static rmp_status rmp_merge_frame_(rmp_merge_ *m, uint32_t f, uint32_t *out) {
  rmp_status s;
  if (m->fmap[f] == RMP_NONE_) {
    const rmp_frame *fr = &m->p->stacks.frames[f];
    uint32_t func;
    if ((s = rmp_merge_func_(m, fr->func, &func)) != RMP_OK) return s;
    if ((s = rmp_frame_get_or_add_(&m->cj->out, func, fr->line, &m->fmap[f])) != RMP_OK) return s;
  }
  *out = m->fmap[f];
  return RMP_OK;
}

static uint32_t *rmp_merge_slot_(rmp_merge_ *m, uint32_t id) {
  return id < m->cj->view.nnodes ? &m->cj->remap[id] : &m->amap[id - m->cj->view.nnodes];
}

/* The node in out for the profiler's stack id: kept by build, or copied
 * now with the ancestors build dropped. */
static rmp_status rmp_merge_node_(rmp_merge_ *m, uint32_t id, uint32_t *out) {
  const rmp_stacks *st = &m->p->stacks;
  uint32_t n = 0, orig;
  rmp_status s;
  if (id >= st->nnodes) id = 0;
  orig = id;
  while (*rmp_merge_slot_(m, id) == RMP_NONE_) { /* the root always maps */
    m->chain[n++] = id;
    id = st->nodes[id].parent;
  }
  while (n-- > 0) {
    uint32_t node = m->chain[n], frame;
    if ((s = rmp_merge_frame_(m, st->nodes[node].frame, &frame)) != RMP_OK) return s;
    if ((s = rmp_node_get_or_add_(&m->cj->out, *rmp_merge_slot_(m, st->nodes[node].parent), frame,
                                  rmp_merge_slot_(m, node))) != RMP_OK)
      return s;
  }
  *out = *rmp_merge_slot_(m, orig);
  return RMP_OK;
}

static uint32_t *rmp_fill_none_(size_t n) {
  uint32_t *v = (uint32_t *)rmp_calloc_(n + 1, sizeof(uint32_t));
  size_t i;
  if (v)
    for (i = 0; i <= n; i++) v[i] = RMP_NONE_;
  return v;
}

RMP_DEF rmp_status rmp_compaction_finish(rmp_profiler *p, rmp_compaction *cj, uint32_t *extra_stacks,
                                         size_t nextra) {
  rmp_merge_ m;
  rmp_status s = RMP_OK;
  uint32_t i, j, n = 0, nslots, *nstack = NULL, *nklass = NULL, *xstack = NULL;
  size_t k, nlive = (size_t)p->live.count + p->allocs.n;
  if (!cj->built) return RMP_ERR_INVALID;
  for (k = 0; k < nextra; k++)
    if (extra_stacks[k] >= p->stacks.nnodes) return RMP_ERR_INVALID;
  memset(&m, 0, sizeof(m));
  m.p = p;
  m.cj = cj;
  m.amap = rmp_fill_none_(p->stacks.nnodes - cj->view.nnodes);
  m.fmap = rmp_fill_none_(p->stacks.nframes);
  m.cmap = rmp_fill_none_(p->stacks.nfuncs);
  m.kmap = rmp_fill_none_(p->strings.count);
  m.chain = (uint32_t *)rmp_calloc_(RMP_MAX_DEPTH + 2, sizeof(uint32_t));
  nstack = (uint32_t *)rmp_calloc_(nlive + 1, sizeof(uint32_t));
  nklass = (uint32_t *)rmp_calloc_(nlive + 1, sizeof(uint32_t));
  xstack = (uint32_t *)rmp_calloc_(nextra + 1, sizeof(uint32_t));
  if (!m.amap || !m.fmap || !m.cmap || !m.kmap || !m.chain || !nstack || !nklass || !xstack) {
    s = RMP_ERR_NOMEM;
    goto done;
  }
  /* Functions: keys as they are now (in two steps, as two may have
   * swapped addresses), then names filled in since begin. */
  for (j = 0; j < cj->out.nfuncs; j++) m.cmap[cj->func_src[j]] = j;
  for (j = 0; j < cj->out.nfuncs; j++)
    if (cj->out.funcs[j].key != p->stacks.funcs[cj->func_src[j]].key &&
        (s = rmp_func_rekey(&cj->out, j, UINT64_C(0x8000000000000000) | j)) != RMP_OK)
      goto done;
  for (j = 0; j < cj->out.nfuncs; j++) {
    uint64_t key = p->stacks.funcs[cj->func_src[j]].key;
    if (cj->out.funcs[j].key != key && (s = rmp_func_rekey(&cj->out, j, key)) != RMP_OK) goto done;
    if ((s = rmp_merge_names_(&m, cj->func_src[j], j)) != RMP_OK) goto done;
  }
  /* Every id the profiler holds, into new arrays first: nothing of p
   * changes until all have mapped. */
  for (i = 0, nslots = rmp_live_nslots(&p->live); i < nslots; i++) {
    const rmp_live_entry *e = rmp_live_slot(&p->live, i);
    if (!e->addr) continue;
    if ((s = rmp_merge_node_(&m, e->stack, &nstack[n])) != RMP_OK ||
        (s = rmp_merge_string_(&m, e->klass, &nklass[n])) != RMP_OK)
      goto done;
    n++;
  }
  for (i = 0; i < p->allocs.n; i++, n++)
    if ((s = rmp_merge_node_(&m, p->allocs.v[i].stack, &nstack[n])) != RMP_OK ||
        (s = rmp_merge_string_(&m, p->allocs.v[i].klass, &nklass[n])) != RMP_OK)
      goto done;
  for (k = 0; k < nextra; k++)
    if ((s = rmp_merge_node_(&m, extra_stacks[k], &xstack[k])) != RMP_OK) goto done;
  cj->out.truncated = p->stacks.truncated;
  /* Commit. */
  n = 0;
  for (i = 0, nslots = rmp_live_nslots(&p->live); i < nslots; i++) {
    rmp_live_entry *e = rmp_live_slot(&p->live, i);
    if (!e->addr) continue;
    e->stack = nstack[n];
    e->klass = nklass[n++];
  }
  for (i = 0; i < p->allocs.n; i++, n++) {
    p->allocs.v[i].stack = nstack[n];
    p->allocs.v[i].klass = nklass[n];
  }
  for (k = 0; k < nextra; k++) extra_stacks[k] = xstack[k];
  if (p->gen && p->gen->refs > 1) { /* snapshots (or this job) still read them */
    RMP_ASSERT(!p->gen->owns_tables);
    p->gen->stacks = p->stacks;
    p->gen->strings = p->strings;
    p->gen->owns_tables = 1;
  } else {
    rmp_stacks_free(&p->stacks);
    rmp_strtab_free(&p->strings);
  }
  rmp_gen_release_(p->gen);
  p->gen = NULL;
  p->stacks = cj->out;
  p->strings = cj->out_strings;
  p->stacks.gen = p->strings.gen = NULL;
  memset(&cj->out, 0, sizeof(cj->out));
  memset(&cj->out_strings, 0, sizeof(cj->out_strings));
  p->kept_nodes = p->stacks.nnodes;
  p->kept_strings = p->strings.count;
  p->compactions++;
done:
  RMP_FREE(m.amap);
  RMP_FREE(m.fmap);
  RMP_FREE(m.cmap);
  RMP_FREE(m.kmap);
  RMP_FREE(m.chain);
  RMP_FREE(nstack);
  RMP_FREE(nklass);
  RMP_FREE(xstack);
  return s;
}

#ifdef __cplusplus
}
#endif
#endif /* RMP_IMPLEMENTATION_DONE_ */
#endif /* RMP_IMPLEMENTATION */
