/* Test scenarios for rmp_pprof.h, built through the real profiler API, and
 * an independent model of the profile each one must produce: the model is
 * computed from what the test fed the profiler (names as bytes, stacks as
 * lists of frames), never from the encoder's ids or tables. */
#ifndef PPROF_CASE_H
#define PPROF_CASE_H

#include "rmp_pprof.h"

#include <stdio.h>
#include <stdlib.h>

#define PC_CHECK(cond)                                                                      \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);             \
      exit(1);                                                                              \
    }                                                                                       \
  } while (0)

typedef struct pc_bytes {
  char *p;
  size_t n;
} pc_bytes;

typedef struct pc_func {
  pc_bytes name, file;           /* as given to the profiler */
  pc_bytes want_name, want_file; /* as the profile must show them */
  const char *sys;
  int start_line;
} pc_func;

typedef struct pc_stack {
  uint32_t depth;
  int *funcs, *lines; /* leaf first */
  uint32_t id;        /* the profiler's stack id */
} pc_stack;

typedef struct pc_class {
  pc_bytes name, want;
  uint32_t id;
} pc_class;

typedef struct pc_rec {
  int stack, klass;
  uint64_t size;
  uint32_t epoch;
  uintptr_t addr;
  int heap, alloc;  /* what its sample was kept for (rmp_sample_confirm) */
  int live;         /* in the live table: kept for it, not killed, not thinned out */
  uint32_t k_dec;   /* the case's heap keep log2 when it was decided */
  uint64_t thin_ins; /* thinnings when it went into the table */
} pc_rec;

typedef struct pc_case {
  const char *name;
  rmp_profiler p;
  rmp_snapshot snap;
  int rotated;
  pc_func *funcs;
  size_t nfuncs, cfuncs;
  pc_stack *stacks;
  size_t nstacks, cstacks;
  pc_class *classes;
  size_t nclasses, cclasses;
  pc_rec *recs;
  size_t nrecs, crecs;
  uintptr_t next_addr;
  double rate, retain;      /* as configured */
  uint32_t max_allocs;
  uint32_t k;               /* heap keep log2: the thinnings seen (one interval per case) */
  uint64_t thinnings;       /* seen through p.heap_thinnings after each track */
  uint64_t candidates;      /* offered to the reservoir (p.allocs.seen after each decision) */
  uint64_t start_ns, end_ns;
  uint32_t epoch_now;
  rmp_pprof_opts opts;
} pc_case;

typedef struct pc_group {
  pc_bytes key;
  int64_t v[4];
} pc_group;

typedef struct pc_model {
  pc_group *g;
  size_t n;
  int64_t totals[4];
  int64_t located_totals[4]; /* over samples with at least one frame */
  size_t nlocations, nfunctions; /* distinct frames / functions samples use */
  int exact;                     /* whole weights and sums below 2^53: the encoder's doubles are exact */
  uint64_t young;                /* live records below min_live_age: left out */
} pc_model;

void pc_init(pc_case *c, const char *name, double rate, double retain, uint32_t max_heap,
             uint32_t max_allocs);
int pc_func_add(pc_case *c, const char *name, size_t nlen, const char *file, size_t flen,
                const char *sys, int start_line);
void pc_func_want(pc_case *c, int f, const char *name, size_t nlen, const char *file, size_t flen);
int pc_class_add(pc_case *c, const char *name, size_t len);
void pc_class_want(pc_case *c, int k, const char *want, size_t len);
/* depth 0 is the empty stack */
int pc_stack_add(pc_case *c, const int *funcs, const int *lines, uint32_t depth);
/* A sampled allocation: decided (rmp_sample_confirm, as if the countdown
 * had said yes) and tracked as decided. */
size_t pc_track(pc_case *c, int stack, int klass, uint64_t size, uint32_t epoch);
void pc_kill(pc_case *c, size_t rec);
void pc_rotate(pc_case *c, uint64_t start_ns, uint64_t end_ns, uint32_t epoch_now);
void pc_free(pc_case *c);

/* A generic scenario: nstacks stacks (shared prefixes, depths up to
 * maxdepth) over nfuncs functions, nobj objects over nclasses classes. */
void pc_build_random(pc_case *c, const char *name, double rate, double retain, int nfuncs,
                     int nstacks, int maxdepth, int nclasses, size_t nobj, uint64_t seed);

void pc_model_build(const pc_case *c, pc_model *m);
void pc_model_free(pc_model *m);

/* Expected age label: the largest power of two <= the age, or 0; ages are
 * now - epoch modulo 2^32. */
int64_t pc_age_floor(uint32_t now, uint32_t epoch);
/* The key bytes for one sample: frames, class, age, length-prefixed. */
void pc_key_frame(pc_bytes *key, const pc_bytes *name, const pc_bytes *file, const pc_bytes *sys,
                  int64_t start_line, int64_t line);
void pc_key_tail(pc_bytes *key, const pc_bytes *klass, int has_class, int64_t age);
void pc_bytes_append(pc_bytes *b, const void *p, size_t n);
int pc_bytes_cmp(const pc_bytes *a, const pc_bytes *b);

/* The comment lines a case's profile must carry, in order. */
size_t pc_expected_comments(const pc_case *c, char lines[][256], size_t max);

#endif
