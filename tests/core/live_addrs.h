/* Adversarial addresses for the live table: ones whose home slot
 * (rmp_live_home_) is the same for every capacity up to 2^RMPT_HOME_BITS,
 * found by inverting the Fibonacci multiply instead of by search. */
#ifndef RMP_TEST_LIVE_ADDRS_H
#define RMP_TEST_LIVE_ADDRS_H

#include <stdint.h>

#include "check.h"

#define RMPT_FIB UINT64_C(0x9E3779B97F4A7C15)
#define RMPT_HOME_BITS 20

/* Multiplicative inverse mod 2^64 of an odd number (Newton's iteration). */
static inline uint64_t rmpt_inv64(uint64_t a) {
  uint64_t x = a; /* correct to 3 bits; each step doubles that */
  for (int i = 0; i < 5; i++) x *= 2 - a * x;
  return x;
}

/* An 8-byte-aligned, nonzero address whose hash has `home` in bits
 * 32..32+RMPT_HOME_BITS-1, i.e. rmp_live_home_ == home & mask for every
 * mask below 2^RMPT_HOME_BITS. */
static inline uintptr_t rmpt_colliding_addr(rmpt_rand *r, uint32_t home) {
  for (;;) {
    uint64_t hi = rmpt_next(r) >> (32 + RMPT_HOME_BITS);
    uint64_t lo = (uint64_t)(uint32_t)rmpt_next(r) & ~UINT64_C(7);
    uint64_t h = (hi << (32 + RMPT_HOME_BITS)) | ((uint64_t)(home & ((1u << RMPT_HOME_BITS) - 1)) << 32) | lo;
    uint64_t a = h * rmpt_inv64(RMPT_FIB);
    if ((uintptr_t)a == a && a != 0) return (uintptr_t)a;
  }
}

#endif
