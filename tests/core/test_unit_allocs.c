/* Unit tests: rmp_allocs (the bounded allocation-sample buffer). */
#include <string.h>

#include "check.h"
#include "rmp.h"

static rmp_alloc_sample sample(uint32_t i) {
  rmp_alloc_sample s;
  memset(&s, 0, sizeof s);
  s.stack = i;
  s.klass = i + 1;
  s.size = (uint64_t)i << 33; /* sizes above 4 GiB are kept whole here */
  s.epoch = i * 2;
  return s;
}

int main(void) {
  rmp_allocs a;
  CHECK(rmp_allocs_init(&a, 0) == RMP_ERR_INVALID);
  CHECK(rmp_allocs_init(&a, 1000) == RMP_OK);
  CHECK(a.n == 0 && a.max == 1000 && a.dropped == 0);
  for (uint32_t i = 0; i < 1000; i++) {
    rmp_alloc_sample s = sample(i);
    CHECK(rmp_allocs_push(&a, &s) == RMP_OK);
    CHECK(a.n == i + 1);
  }
  for (uint32_t i = 0; i < 3; i++) {
    rmp_alloc_sample s = sample(5000 + i);
    CHECK(rmp_allocs_push(&a, &s) == RMP_ERR_FULL);
  }
  CHECK(a.n == 1000 && a.dropped == 3);
  for (uint32_t i = 0; i < 1000; i++) {
    rmp_alloc_sample s = sample(i);
    CHECK(a.v[i].stack == s.stack && a.v[i].klass == s.klass && a.v[i].size == s.size && a.v[i].epoch == s.epoch);
  }
  rmp_allocs_free(&a);
  CHECK(a.n == 0);
  /* A freed buffer keeps its bound and can be used again. */
  CHECK(rmp_allocs_init(&a, 2) == RMP_OK);
  rmp_alloc_sample s = sample(1);
  CHECK(rmp_allocs_push(&a, &s) == RMP_OK);
  CHECK(rmp_allocs_push(&a, &s) == RMP_OK);
  CHECK(rmp_allocs_push(&a, &s) == RMP_ERR_FULL);
  CHECK(a.dropped == 1);
  rmp_allocs_free(&a);
  puts("unit allocs OK");
  return 0;
}
