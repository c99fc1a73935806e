// Stack interning: the per-sample cost after rb_profile_frames.
#include <benchmark/benchmark.h>

#include <vector>

#include "rmp.h"
#include "rmp_bench_fixture.h"

namespace {

// Approximate bytes the trie holds per node: node + depth + index slot.
double trie_bytes_per_node(const rmp_stacks &st) {
  double bytes = double(st.nodes_cap) * (sizeof(rmp_node) + sizeof(uint32_t)) +
                 double(st.node_index.mask + 1u) * sizeof(uint32_t);
  return st.nnodes ? bytes / st.nnodes : 0;
}

// The same stack over and over: the common case for a hot allocation site.
void BM_intern_repeat(benchmark::State &state) {
  const uint32_t depth = uint32_t(state.range(0));
  std::vector<uint64_t> keys(depth);
  std::vector<int> lines(depth);
  rmp_stacks st;
  if (rmp_stacks_init(&st) != RMP_OK) return state.SkipWithError("init");
  rmpb_stack(1, depth, 0, keys.data(), lines.data());
  uint32_t id = 0, first = 0;
  rmp_stack_intern(&st, keys.data(), lines.data(), depth, &first);
  for (auto _ : state) {
    rmp_stack_intern(&st, keys.data(), lines.data(), depth, &id);
    benchmark::DoNotOptimize(id);
  }
  if (id != first) state.SkipWithError("repeated stack got a new id");
  rmp_stacks_free(&st);
}
BENCHMARK(BM_intern_repeat)->Arg(10)->Arg(60)->Arg(200);

// Cycling through 1000 seen stacks: repeats that do not all sit in L1.
void BM_intern_repeat_1000_sites(benchmark::State &state) {
  const uint32_t depth = uint32_t(state.range(0));
  const uint32_t sites = 1000;
  std::vector<uint64_t> keys(size_t(depth) * sites);
  std::vector<int> lines(size_t(depth) * sites);
  rmp_stacks st;
  if (rmp_stacks_init(&st) != RMP_OK) return state.SkipWithError("init");
  uint32_t id = 0;
  for (uint32_t i = 0; i < sites; i++) {
    rmpb_stack(i, depth, 0, &keys[size_t(i) * depth], &lines[size_t(i) * depth]);
    rmp_stack_intern(&st, &keys[size_t(i) * depth], &lines[size_t(i) * depth], depth, &id);
  }
  uint32_t nodes = st.nnodes, i = 0;
  for (auto _ : state) {
    rmp_stack_intern(&st, &keys[size_t(i) * depth], &lines[size_t(i) * depth], depth, &id);
    benchmark::DoNotOptimize(id);
    if (++i == sites) i = 0;
  }
  if (st.nnodes != nodes) state.SkipWithError("repeated stacks added nodes");
  rmp_stacks_free(&st);
}
BENCHMARK(BM_intern_repeat_1000_sites)->Arg(10)->Arg(60)->Arg(200);

// A never-seen stack whose root frame differs: every node of the path is
// new (the worst case for the trie), though only the root frame is new.
void BM_intern_new_path(benchmark::State &state) {
  const uint32_t depth = uint32_t(state.range(0));
  std::vector<uint64_t> keys(depth);
  std::vector<int> lines(depth);
  rmp_stacks st;
  if (rmp_stacks_init(&st) != RMP_OK) return state.SkipWithError("init");
  uint32_t id = 0, v = 1;
  rmpb_stack(7, depth, 0, keys.data(), lines.data());
  rmp_stack_intern(&st, keys.data(), lines.data(), depth, &id);
  uint32_t before = st.nnodes;
  for (auto _ : state) {
    // Changing the root frame is two stores: not worth pausing the timer.
    rmpb_set_root_variant(v++, depth, keys.data(), lines.data());
    if (rmp_stack_intern(&st, keys.data(), lines.data(), depth, &id) != RMP_OK)
      return state.SkipWithError("intern failed");
  }
  state.counters["new_nodes/stack"] = double(st.nnodes - before) / double(state.iterations());
  state.counters["trie_B/node"] = trie_bytes_per_node(st);
  rmp_stacks_free(&st);
}
// Fixed iterations bound the trie's memory (depth x iterations nodes).
BENCHMARK(BM_intern_new_path)->Arg(10)->Iterations(200000);
BENCHMARK(BM_intern_new_path)->Arg(60)->Iterations(50000);
BENCHMARK(BM_intern_new_path)->Arg(200)->Iterations(20000);

// A never-seen stack differing only at the leaf (a new line in a known
// method): one new node and one new frame.
void BM_intern_new_leaf(benchmark::State &state) {
  const uint32_t depth = uint32_t(state.range(0));
  std::vector<uint64_t> keys(depth);
  std::vector<int> lines(depth);
  rmp_stacks st;
  if (rmp_stacks_init(&st) != RMP_OK) return state.SkipWithError("init");
  uint32_t id = 0;
  int line = 100000;
  rmpb_stack(7, depth, 0, keys.data(), lines.data());
  for (auto _ : state) {
    lines[0] = line++;
    if (rmp_stack_intern(&st, keys.data(), lines.data(), depth, &id) != RMP_OK)
      return state.SkipWithError("intern failed");
  }
  state.counters["trie_B/node"] = trie_bytes_per_node(st);
  rmp_stacks_free(&st);
}
BENCHMARK(BM_intern_new_leaf)->Arg(10)->Arg(60)->Arg(200)->Iterations(500000);

}  // namespace
