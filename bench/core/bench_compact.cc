// Trie compaction and rotation: the GVL-held part of a flush.
#include <benchmark/benchmark.h>

#include <vector>

#include "rmp.h"
#include "bench_owned.h"
#include "rmp_bench_fixture.h"

namespace {

constexpr uint32_t kStacks = 10000, kDepth = 40, kLive = 50000;

// Mark stacks then build the compacted copy. The source survives (only its
// marks are cleared), so the same 10k-stack trie is compacted every time.
// range(0) = how many of the 10k stacks are still referenced.
void BM_stacks_mark_compact_10k(benchmark::State &state) {
  OwnedProfiler o;
  rmp_profiler &p = o.p;
  std::vector<uint32_t> ids(kStacks);
  if (rmpb_build(&p, kStacks, kDepth, 0, ids.data()) != RMP_OK) return state.SkipWithError("build");
  o.live = true;
  const uint32_t keep = uint32_t(state.range(0));
  std::vector<uint32_t> remap(p.stacks.nnodes);
  uint32_t out_nodes = 0;
  for (auto _ : state) {
    rmp_stacks out;
    rmp_strtab out_strings;
    for (uint32_t i = 0; i < keep; i++)
      if (rmp_stacks_mark(&p.stacks, ids[i]) != RMP_OK) return state.SkipWithError("mark");
    if (rmp_stacks_compact(&p.stacks, &p.strings, &out, &out_strings, remap.data()) != RMP_OK)
      return state.SkipWithError("compact");
    out_nodes = out.nnodes;
    rmp_stacks_free(&out);
    rmp_strtab_free(&out_strings);
  }
  state.counters["src_nodes"] = double(p.stacks.nnodes);
  state.counters["out_nodes"] = double(out_nodes);
}
BENCHMARK(BM_stacks_mark_compact_10k)->Arg(kStacks)->Arg(kStacks / 2)->Unit(benchmark::kMillisecond);

// rmp_profiler_rotate on 50k live samples over 10k stacks of depth 40: the
// snapshot copy plus compaction, everything the shim does under the GVL
// apart from the sweep. Each iteration needs a fresh profiler (rotation
// consumes the interval), built with the timer paused.
void BM_profiler_rotate_50k_10k(benchmark::State &state) {
  for (auto _ : state) {
    state.PauseTiming();
    OwnedProfiler o;
    if (rmpb_build(&o.p, kStacks, kDepth, kLive, nullptr) != RMP_OK) return state.SkipWithError("build");
    o.live = true;
    rmp_snapshot snap;
    state.ResumeTiming();
    rmp_status s = rmp_profiler_rotate(&o.p, &snap, nullptr, 0, 1000, 50);
    state.PauseTiming();
    if (s != RMP_OK) return state.SkipWithError("rotate");
    state.counters["nlive"] = double(snap.nlive);
    state.counters["nallocs"] = double(snap.nallocs);
    rmp_snapshot_free(&snap);
    o.release();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_profiler_rotate_50k_10k)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace
