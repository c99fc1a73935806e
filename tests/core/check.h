/* Shared helpers for the core tests: a CHECK that names the failing line
 * and a deterministic generator independent of rmp's own PRNG, so the
 * reference models do not share a bug with the code under test. */
#ifndef RMP_TEST_CHECK_H
#define RMP_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

/* CHECK with a printf-style explanation of the failing values. */
#define CHECKF(cond, ...)                                                  \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                        \
      fputc('\n', stderr);                                                 \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

/* splitmix64: the test-side generator (rmp uses xoshiro256**). */
typedef struct rmpt_rand {
  uint64_t x;
} rmpt_rand;

static inline uint64_t rmpt_next(rmpt_rand *r) {
  uint64_t z = (r->x += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. The modulo bias is irrelevant for test inputs. */
static inline uint32_t rmpt_below(rmpt_rand *r, uint32_t n) {
  return (uint32_t)(rmpt_next(r) % n);
}

/* Operation count from argv[1], so ctest can pass a smaller or larger run. */
static inline long rmpt_ops_arg(int argc, char **argv, long dflt) {
  if (argc > 1) {
    long v = strtol(argv[1], NULL, 10);
    if (v > 0) return v;
  }
  return dflt;
}

#endif
