/* Compile test, C99 half: includes the headers (with the implementation when
 * RMPT_IMPL_IN_c is defined, else compile_cpp.cpp has it), uses them, and
 * calls the C++ half so that the two link together. */
#if defined(RMPT_IMPL_IN_c)
#define RMP_IMPLEMENTATION
#define RMP_PPROF_IMPLEMENTATION
#endif
#include "rmp.h"
#include "rmp_pprof.h"

#include <stdio.h>

#include "check.h"

int rmpt_use_cpp(void); /* compile_cpp.cpp */

static int use_c(void) {
  rmp_profiler p;
  rmp_config cfg;
  rmp_snapshot snap;
  rmp_decision d;
  uint64_t keys[2] = {0x1000, 0x2000};
  int lines[2] = {7, 9};
  uint32_t stack, klass;
  rmp_config_default(&cfg);
  CHECK(rmp_profiler_init(&p, &cfg) == RMP_OK);
  d = rmp_sample_tick(&p); /* rate 1, nothing thinned yet: both */
  CHECK(d == (RMP_KEEP_HEAP | RMP_KEEP_ALLOC) && RMP_DECISION_KEEP_LOG2(d) == 0);
  CHECK(rmp_stack_intern(&p.stacks, keys, lines, 2, &stack) == RMP_OK);
  CHECK(rmp_strtab_intern_cstr(&p.strings, "String", &klass) == RMP_OK);
  CHECK(rmp_track(&p, 0x7f0000, stack, klass, 40, 1, d) == RMP_OK);
  CHECK(rmp_live_lookup(&p.live, 0x7f0000) != NULL);
  CHECK(rmp_profiler_rotate(&p, &snap, NULL, 0, 1, 1) == RMP_OK);
  CHECK(snap.nlive == 1 && snap.nallocs == 1);
#ifdef RMP_PPROF_H
  {
    rmp_buf out = {0};
    CHECK(rmp_pprof_encode_gzip(&snap, NULL, &out) == RMP_OK);
    CHECK(out.len > 10 && out.data[0] == 0x1f && out.data[1] == 0x8b); /* gzip magic */
    rmp_buf_free(&out);
  }
#endif
  rmp_snapshot_free(&snap);
  rmp_profiler_free(&p);
  return 0;
}

int main(void) {
  CHECK(RMP_VERSION_MAJOR == 0 && RMP_VERSION[0] != '\0');
  CHECK(use_c() == 0);
  int rc = rmpt_use_cpp();
  CHECKF(rc == 0, "C++ half failed at step %d", rc);
  puts("compile test OK");
  return 0;
}
