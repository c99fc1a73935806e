// The sampling decision: what every allocation pays, sampled or not.
#include <benchmark/benchmark.h>

#include "rmp.h"

namespace {

constexpr int kBatch = 1000;

// Per-tick time, when an iteration runs kBatch ticks.
void per_tick(benchmark::State &state, int batch) {
  state.counters["ns/tick"] =
      benchmark::Counter(double(state.iterations()) * batch,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// ClobberMemory after each tick makes the countdown a load-decrement-store
// through memory, as it is in the NEWOBJ hook (the sampler lives in the
// heap-allocated collector; each hook call starts from memory). Without it
// the compiler keeps the countdown in a register and the figure is flattery.
void tick_loop(benchmark::State &state, double rate) {
  rmp_sampler s;
  if (rmp_sampler_init(&s, rate, 1.0, 7) != RMP_OK) {
    state.SkipWithError("rmp_sampler_init");
    return;
  }
  uint64_t sampled = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; i++) {
      sampled += (uint64_t)rmp_sampler_tick(&s);
      benchmark::ClobberMemory();
    }
  }
  benchmark::DoNotOptimize(sampled);
  per_tick(state, kBatch);
  state.counters["sampled_frac"] =
      double(sampled) / (double(state.iterations()) * kBatch);
}

// Rate 0.01: 99% of ticks return 0, 1% refill; the average is the cost per
// allocation at the default production rate, refills amortised.
void BM_tick_rate001_amortised(benchmark::State &state) { tick_loop(state, 0.01); }
BENCHMARK(BM_tick_rate001_amortised);

// Rate 0: every tick returns 0, so this is the unsampled path alone.
void BM_tick_rate0_unsampled(benchmark::State &state) { tick_loop(state, 0.0); }
BENCHMARK(BM_tick_rate0_unsampled);

// Only the ticks that return 0 at rate 0.01: the countdown is re-armed from
// outside the timed region's hot loop each batch, never reaching zero.
void BM_tick_rate001_unsampled_only(benchmark::State &state) {
  rmp_sampler s;
  if (rmp_sampler_init(&s, 0.01, 1.0, 7) != RMP_OK) {
    state.SkipWithError("rmp_sampler_init");
    return;
  }
  uint64_t sampled = 0;
  for (auto _ : state) {
    s.countdown = kBatch + 1;
    // Without this the compiler carries the fresh countdown in a register
    // into the loop and emits load/sub/store instead of the one
    // read-modify-write instruction the hook (and tick_loop) compile to.
    benchmark::ClobberMemory();
    for (int i = 0; i < kBatch; i++) {
      sampled += (uint64_t)rmp_sampler_tick(&s);
      benchmark::ClobberMemory();
    }
  }
  benchmark::DoNotOptimize(sampled);
  if (sampled) state.SkipWithError("a tick sampled");
  per_tick(state, kBatch);
}
BENCHMARK(BM_tick_rate001_unsampled_only);

// The sampled decision: the tick that hits zero and draws the next gap
// (one PRNG step and a log).
void BM_tick_sampled_refill(benchmark::State &state) {
  rmp_sampler s;
  if (rmp_sampler_init(&s, 0.01, 1.0, 7) != RMP_OK) {
    state.SkipWithError("rmp_sampler_init");
    return;
  }
  uint64_t gaps = 0;
  for (auto _ : state) {
    s.countdown = 1;
    benchmark::DoNotOptimize(rmp_sampler_tick(&s));
    gaps += s.countdown;
  }
  benchmark::DoNotOptimize(gaps);
  // The mean gap at rate p is 1/p: a cheap check the draw is a real draw.
  state.counters["mean_gap"] = double(gaps) / double(state.iterations());
}
BENCHMARK(BM_tick_sampled_refill);

}  // namespace
