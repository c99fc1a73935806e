// Compile test, C++11 half: the same headers from C++ (with the
// implementation when RMPT_IMPL_IN_cpp is defined), used through C++
// containers; called from compile_c.c, so it must link with C linkage.
#if defined(RMPT_IMPL_IN_cpp)
#define RMP_IMPLEMENTATION
#define RMP_PPROF_IMPLEMENTATION
#endif
#include "rmp.h"
#include "rmp_pprof.h"

#include <cstdio>
#include <string>
#include <vector>

extern "C" int rmpt_use_cpp(void);

extern "C" int rmpt_use_cpp(void) {
  rmp_stacks st;
  rmp_strtab strs;
  if (rmp_stacks_init(&st) != RMP_OK || rmp_strtab_init(&strs) != RMP_OK) return 1;
  std::vector<uint64_t> keys = {11, 22, 33};
  std::vector<int> lines = {1, 2, 3};
  uint32_t id = 0, again = 0;
  if (rmp_stack_intern(&st, keys.data(), lines.data(), keys.size(), &id) != RMP_OK) return 2;
  if (rmp_stack_intern(&st, keys.data(), lines.data(), keys.size(), &again) != RMP_OK || again != id) return 3;
  std::vector<uint32_t> frames(rmp_stack_depth(&st, id));
  if (rmp_stack_frames(&st, id, frames.data(), (uint32_t)frames.size()) != 3) return 4;
  for (size_t i = 0; i < frames.size(); i++) {
    const rmp_frame *f = rmp_frame_get(&st, frames[i]);
    if (rmp_func_get(&st, f->func)->key != keys[i] || f->line != lines[i]) return 5;
  }
  std::string name("Klass#method");
  uint32_t sid = 0;
  if (rmp_strtab_intern(&strs, name.data(), name.size(), &sid) != RMP_OK) return 6;
  size_t len = 0;
  const char *got = rmp_strtab_get(&strs, sid, &len); // sets len: not in the same full-expression
  if (std::string(got, len) != name) return 7;
  rmp_sampler s;
  if (rmp_sampler_init(&s, 0.5, 1.0, 1) != RMP_OK || rmp_sampler_init(&s, 2.0, 1.0, 1) != RMP_ERR_INVALID) return 8;
  rmp_live t;
  rmp_live_entry e = {0x1000, id, sid, 0, 8, 1.0f, 0};
  if (rmp_live_init(&t, 4) != RMP_OK || rmp_live_insert(&t, &e) != RMP_OK || !rmp_live_lookup(&t, 0x1000)) return 9;
  rmp_live_free(&t);
  rmp_stacks_free(&st);
  rmp_strtab_free(&strs);
  std::printf("C++ half OK (%s)\n", rmp_status_str(RMP_OK));
  return 0;
}
