/* Synthetic, deterministic inputs shared by the Google Benchmark suite and the
 * callgrind gate, so both measure the same shapes of data. */
#ifndef RMP_BENCH_FIXTURE_H
#define RMP_BENCH_FIXTURE_H
#include "rmp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* splitmix64 finaliser: a cheap bijective scramble of x. */
uint64_t rmpb_mix(uint64_t x);

/* The k-th distinct object address: 40-byte Ruby slots, sparse (as sampled
 * objects are) and increasing in k, like a heap filled in order. */
uintptr_t rmpb_addr(uint64_t k);

/* Stack number i at the given depth, leaf first. Stacks come in groups of
 * 100 sharing their root half (a framework prefix); the leaf half is drawn
 * from a pool of 2000 functions, so most stacks are distinct and the trie
 * has roughly depth/2 new nodes per stack. variant != 0 replaces the root
 * frame, making every node of the path new while reusing every function. */
void rmpb_stack(uint32_t i, uint32_t depth, uint32_t variant, uint64_t *keys, int *lines);

/* Give every not yet named function a name, system name and file, as the
 * Ruby shim does from rb_profile_frame_*. */
/* Replace only the root frame of a stack from rmpb_stack by variant's. */
void rmpb_set_root_variant(uint32_t variant, uint32_t depth, uint64_t *keys, int *lines);

rmp_status rmpb_resolve_all(rmp_profiler *p);

/* A profiler holding nstacks distinct stacks of the given depth and nlive
 * live objects spread round-robin over them (each also offered to the
 * allocations buffer), with every function named. ids, when not NULL,
 * receives the nstacks stack ids. */
rmp_status rmpb_build(rmp_profiler *p, uint32_t nstacks, uint32_t depth, uint32_t nlive, uint32_t *ids);

#ifdef __cplusplus
}
#endif
#endif
