# frozen_string_literal: true
# RSS growth and flush time with 50k live samples, in its own process.
#
#   ruby flush_rss.rb none|rmp
#
# Retains 50,000 one-allocation objects from 1,000 distinct stacks (50 call
# sites x recursion depths 0..19, plus the frames above them). "none" does
# the same without a profiler, so RSS(rmp) - RSS(none) is what tracking 50k
# objects costs. Prints one JSON line.
require "json"

mode = ARGV.fetch(0)
RETAIN = 50_000

def rss_kb
  File.read("/proc/self/status")[/^VmRSS:\s+(\d+)/, 1].to_i
end

# Methods compiled from source (not define_method blocks, which share one
# iseq), so each site is a distinct function; no allocation but the kept one.
module Sites
  50.times do |k|
    module_eval <<~RUBY, "/bench/sites/site#{k}.rb", 1
      def site#{k}(depth, out, n)
        if depth > 0
          site#{k}(depth - 1, out, n)
        else
          i = 0
          while i < n
            out << Array.new(3, #{k})
            i += 1
          end
        end
      end
    RUBY
  end
end
include Sites
SITES = Array.new(50) { |k| :"site#{k}" }

def retain(out, total)
  per = total / 1000
  1000.times { |s| __send__(SITES[s % 50], s / 50, out, per) }
end

if mode == "rmp"
  require "ruby_memprofiler_pprof"
  # Rate 1 so that the retained objects are the live samples; the bound has
  # headroom for the few objects Ruby itself allocates meanwhile.
  collector = MemprofilerPprof::Collector.new(sample_rate: 1.0, max_heap_samples: 60_000)
end
warm = []
retain(warm, 10_000) # grow the heap and warm caches in both modes alike
warm = nil
GC.start
GC.compact if GC.respond_to?(:compact) && ENV["RMP_BENCH_COMPACT"]
rss0 = rss_kb
collector&.start!
kept = []
retain(kept, RETAIN)
GC.start
rss1 = rss_kb
result = { mode: mode, retained: kept.size, rss_before_kb: rss0, rss_after_kb: rss1, rss_growth_kb: rss1 - rss0 }
if collector
  stats = collector.stats
  # Under valgrind with RMP_BENCH_CALLGRIND=1, only the flush is counted.
  cg = ENV["RMP_BENCH_CALLGRIND"] == "1" && require("rmp_bench_floor")
  RmpBenchFloor.callgrind_start if cg
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  data = collector.flush
  t1 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  RmpBenchFloor.callgrind_stop if cg
  after = collector.stats
  result.merge!(live_samples: stats[:live_samples], heap_samples_dropped: stats[:heap_samples_dropped],
                stacks: stats[:stacks], flush_total_ms: (t1 - t0) * 1000.0,
                flush_snapshot_ms: after[:last_flush_snapshot_ns].to_i / 1e6,
                flush_encode_ms: after[:last_flush_encode_ns].to_i / 1e6,
                flush_bytes: data.bytesize, rss_after_flush_kb: rss_kb)
  collector.stop!
end
puts JSON.generate(result)
