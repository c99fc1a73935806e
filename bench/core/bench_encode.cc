// The encoder on a flush-sized interval, and a whole flush.
#include <benchmark/benchmark.h>

#include "rmp.h"
#include "bench_owned.h"
#include "rmp_bench_fixture.h"
#include "rmp_pprof.h"

namespace {

constexpr uint32_t kStacks = 10000, kDepth = 40, kLive = 50000;

// One snapshot shared by the encode benchmarks: encoding only reads it.
struct SnapFixture {
  rmp_snapshot snap;
  bool ok = false;
  SnapFixture() {
    OwnedProfiler o;
    if (rmpb_build(&o.p, kStacks, kDepth, kLive, nullptr) != RMP_OK) return;
    o.live = true;
    ok = rmp_profiler_rotate(&o.p, &snap, nullptr, 0, UINT64_C(1700000000000000000), 50) == RMP_OK;
  }
  ~SnapFixture() {
    if (ok) rmp_snapshot_free(&snap);
  }
};

const SnapFixture &fixture() {
  static SnapFixture f;
  return f;
}

int count_sink(void *ctx, const void *, size_t len) {
  *static_cast<size_t *>(ctx) += len;
  return 0;
}

const char *const kComments[] = {"bench"};

void BM_encode_raw_50k_10k_d40(benchmark::State &state) {
  const SnapFixture &f = fixture();
  if (!f.ok) return state.SkipWithError("fixture");
  rmp_pprof_opts opts = {1234, kComments, 1, "bench"};
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    if (rmp_pprof_encode(&f.snap, &opts, count_sink, &bytes) != RMP_OK) return state.SkipWithError("encode");
  }
  state.counters["out_bytes"] = double(bytes);
  state.counters["nlive"] = double(f.snap.nlive);
  state.counters["nallocs"] = double(f.snap.nallocs);
}
BENCHMARK(BM_encode_raw_50k_10k_d40)->Unit(benchmark::kMillisecond);

void BM_encode_gzip_50k_10k_d40(benchmark::State &state) {
  const SnapFixture &f = fixture();
  if (!f.ok) return state.SkipWithError("fixture");
  rmp_pprof_opts opts = {1234, kComments, 1, "bench"};
  size_t bytes = 0;
  for (auto _ : state) {
    rmp_buf out = {nullptr, 0, 0};
    if (rmp_pprof_encode_gzip(&f.snap, &opts, &out) != RMP_OK) return state.SkipWithError("encode");
    bytes = out.len;
    rmp_buf_free(&out);
  }
  state.counters["gz_bytes"] = double(bytes);
}
BENCHMARK(BM_encode_gzip_50k_10k_d40)->Unit(benchmark::kMillisecond);

// A whole flush as the shim does it minus Ruby: rotate (GVL-held), then
// encode_gzip (GVL released). The profiler is rebuilt with the timer paused.
void BM_flush_rotate_encode_gzip(benchmark::State &state) {
  rmp_pprof_opts opts = {1234, kComments, 1, "bench"};
  for (auto _ : state) {
    state.PauseTiming();
    OwnedProfiler o;
    if (rmpb_build(&o.p, kStacks, kDepth, kLive, nullptr) != RMP_OK) return state.SkipWithError("build");
    o.live = true;
    state.ResumeTiming();
    rmp_snapshot snap;
    rmp_buf out = {nullptr, 0, 0};
    rmp_status s = rmp_profiler_rotate(&o.p, &snap, nullptr, 0, UINT64_C(1700000000000000000), 50);
    if (s == RMP_OK) {
      s = rmp_pprof_encode_gzip(&snap, &opts, &out);
      rmp_buf_free(&out);
      rmp_snapshot_free(&snap);
    }
    state.PauseTiming();
    if (s != RMP_OK) return state.SkipWithError("rotate or encode");
    o.release();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_flush_rotate_encode_gzip)->Unit(benchmark::kMillisecond)->Iterations(10);

}  // namespace
