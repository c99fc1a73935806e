/* Shared by every harness: a reader over the fuzzer's bytes that never fails
 * (an exhausted input reads as zeros) and a check that aborts with a
 * message, so that a mismatch with a model is a crash for both engines. */
#ifndef RMP_FUZZ_COMMON_H
#define RMP_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rmp_fz {
  const uint8_t *p;
  size_t n;
} rmp_fz;

static inline int rmp_fz_more(const rmp_fz *f) { return f->n != 0; }

static inline uint8_t rmp_fz_u8(rmp_fz *f) {
  if (f->n == 0) return 0;
  f->n--;
  return *f->p++;
}
static inline uint16_t rmp_fz_u16(rmp_fz *f) {
  uint16_t v = rmp_fz_u8(f);
  return (uint16_t)(v | (uint16_t)rmp_fz_u8(f) << 8);
}
static inline uint32_t rmp_fz_u32(rmp_fz *f) {
  uint32_t v = rmp_fz_u16(f);
  return v | (uint32_t)rmp_fz_u16(f) << 16;
}
static inline uint64_t rmp_fz_u64(rmp_fz *f) {
  uint64_t v = rmp_fz_u32(f);
  return v | (uint64_t)rmp_fz_u32(f) << 32;
}
/* Takes up to len bytes; returns how many it took. */
static inline size_t rmp_fz_bytes(rmp_fz *f, size_t len, const uint8_t **out) {
  if (len > f->n) len = f->n;
  *out = f->p;
  f->p += len;
  f->n -= len;
  return len;
}

/* splitmix64: the harnesses' own pseudo-random decisions, independent of
 * the generator under test. */
static inline uint64_t rmp_fz_mix(uint64_t x) {
  x += UINT64_C(0x9E3779B97F4A7C15);
  x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
  return x ^ (x >> 31);
}

/* The harness's own model code gains nothing from coverage feedback and
 * comparison tracing, which would dominate its run time. */
#if defined(__clang__) && __clang_major__ >= 13
#define RMP_FZ_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define RMP_FZ_NOCOV
#endif

#define RMP_FZ_CHECK(cond)                                                          \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
      abort();                                                                      \
    }                                                                               \
  } while (0)

/* Allocation that cannot fail quietly: the harness's own memory. */
static inline void *rmp_fz_alloc(size_t n) {
  void *p = calloc(n ? n : 1, 1);
  RMP_FZ_CHECK(p != NULL);
  return p;
}

/* Fault injection: the harnesses compile the implementation themselves with
 * this allocator, so that a chosen allocation fails (once) and the NOMEM
 * paths run under the same model checks as the rest. */
static long rmp_fz_fail_in = -1; /* allocations left before the failing one */
static inline int rmp_fz_should_fail(void) {
  if (rmp_fz_fail_in < 0) return 0;
  if (rmp_fz_fail_in-- == 0) return 1;
  return 0;
}
static inline void *rmp_fz_malloc(size_t n) { return rmp_fz_should_fail() ? NULL : malloc(n); }
static inline void *rmp_fz_realloc(void *p, size_t n) { return rmp_fz_should_fail() ? NULL : realloc(p, n); }

#endif
