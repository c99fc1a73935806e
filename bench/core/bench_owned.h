// A profiler freed however a benchmark returns (SkipWithError included).
#ifndef RMP_BENCH_OWNED_H
#define RMP_BENCH_OWNED_H
#include "rmp.h"

struct OwnedProfiler {
  rmp_profiler p;
  bool live = false;
  void release() {
    if (live) rmp_profiler_free(&p);
    live = false;
  }
  ~OwnedProfiler() { release(); }
};

#endif
