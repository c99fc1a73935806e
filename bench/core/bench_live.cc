// The live table at steady state: lookups that hit, and insert+delete pairs
// that keep the count constant (an object dies, another is sampled).
#include <benchmark/benchmark.h>

#include <vector>

#include "rmp.h"
#include "rmp_bench_fixture.h"

namespace {

struct Filled {
  rmp_live t;
  std::vector<uintptr_t> present;  // addresses in the table, shuffled
  uint64_t next_k;                 // the next never-used address index
  bool ok;

  explicit Filled(uint32_t n) : next_k(n), ok(false) {
    if (rmp_live_init(&t, n) != RMP_OK) return;
    present.reserve(n);
    for (uint32_t k = 0; k < n; k++) {
      rmp_live_entry e = {rmpb_addr(k), k % 10000u, k % 40u, k / 1000u, 40u, 1.0f, 0};
      if (rmp_live_insert(&t, &e) != RMP_OK) return;
      present.push_back(e.addr);
    }
    // Fisher-Yates with a fixed scramble: lookups in an order unrelated to
    // insertion, as GC and allocation order are.
    for (size_t i = present.size(); i > 1; i--) {
      size_t j = rmpb_mix(i) % i;
      uintptr_t tmp = present[i - 1];
      present[i - 1] = present[j];
      present[j] = tmp;
    }
    ok = t.count == n;
  }
  ~Filled() { rmp_live_free(&t); }
};

void slot_counters(benchmark::State &state, const rmp_live &t) {
  double cap = double(rmp_live_nslots(&t));
  state.counters["B/slot"] = double(sizeof(rmp_live_entry));
  state.counters["B/entry"] = double(sizeof(rmp_live_entry)) * cap / double(t.count);
  state.counters["load"] = double(t.count) / cap;
}

void BM_live_lookup_hit(benchmark::State &state) {
  Filled f(uint32_t(state.range(0)));
  if (!f.ok) return state.SkipWithError("fill");
  size_t i = 0, n = f.present.size();
  for (auto _ : state) {
    rmp_live_entry *e = rmp_live_lookup(&f.t, f.present[i]);
    benchmark::DoNotOptimize(e);
    if (++i == n) i = 0;
  }
  slot_counters(state, f.t);
}
BENCHMARK(BM_live_lookup_hit)->Arg(1000)->Arg(50000)->Arg(1000000);

// The sweep's question for an address that was never sampled.
void BM_live_lookup_miss(benchmark::State &state) {
  Filled f(uint32_t(state.range(0)));
  if (!f.ok) return state.SkipWithError("fill");
  uint64_t k = f.next_k;
  for (auto _ : state) {
    rmp_live_entry *e = rmp_live_lookup(&f.t, rmpb_addr(k++));
    benchmark::DoNotOptimize(e);
  }
  slot_counters(state, f.t);
}
BENCHMARK(BM_live_lookup_miss)->Arg(1000)->Arg(50000)->Arg(1000000);

// One delete of a random present entry and one insert of a fresh address:
// the count stays at N, so tombstones/backshifts reach their steady state.
void BM_live_insert_delete_pair(benchmark::State &state) {
  Filled f(uint32_t(state.range(0)));
  if (!f.ok) return state.SkipWithError("fill");
  size_t i = 0, n = f.present.size();
  uint64_t k = f.next_k;
  for (auto _ : state) {
    if (!rmp_live_delete(&f.t, f.present[i])) return state.SkipWithError("delete missed");
    rmp_live_entry e = {rmpb_addr(k), uint32_t(k % 10000u), 3, 0, 40, 1.0f, 0};
    if (rmp_live_insert(&f.t, &e) != RMP_OK) return state.SkipWithError("insert failed");
    f.present[i] = e.addr;
    k++;
    // Stride through the shuffled list: the next victim is unrelated.
    i += 7919;
    if (i >= n) i %= n;
  }
  state.counters["ns/op"] = benchmark::Counter(double(state.iterations()) * 2,
                                               benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  slot_counters(state, f.t);
}
BENCHMARK(BM_live_insert_delete_pair)->Arg(1000)->Arg(50000)->Arg(1000000);

int keep_half(void *, rmp_live_entry *e) { return (rmpb_mix(e->addr) & 1) != 0; }

// A GC-end sweep over 50k tracked objects of which half died.
void BM_live_sweep_50k_keep_half(benchmark::State &state) {
  const uint32_t n = 50000;
  size_t removed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Filled *f = new Filled(n);
    if (!f->ok) {
      delete f;
      return state.SkipWithError("fill");
    }
    state.ResumeTiming();
    removed += rmp_live_sweep(&f->t, keep_half, nullptr);
    state.PauseTiming();
    delete f;
    state.ResumeTiming();
  }
  state.counters["removed"] = double(removed) / double(state.iterations());
  state.counters["ns/entry"] = benchmark::Counter(double(state.iterations()) * n,
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_live_sweep_50k_keep_half)->Unit(benchmark::kMicrosecond);

}  // namespace
