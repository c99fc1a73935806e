# frozen_string_literal: true
# The liveness pass per GC when Ruby starts its GCs itself (bench/ruby/gvl.rb
# forces them): 60,000 strings kept, a loop allocating short-lived objects
# (about 27,000 allocations per GC on 3.1) and replacing a kept string every
# tenth turn. Each GC's pass time is read from the stats between allocations
# (gc_sweep_ns over gc_sweeps, GCs that ran alone), median and p90:
#
#   ruby -I ruby/lib -I BUILD_LIB bench/ruby/minor_natural.rb [SAMPLE_RATE]
require "ruby_memprofiler_pprof"
rate = Float(ARGV[0] || 1)
c = MemprofilerPprof::Collector.new(sample_rate: rate, max_heap_samples: 500_000, max_allocation_samples: 1000)
c.start!
keep = Array.new(60_000) { |i| "kept #{i}" }
GC.start
times = []
last = GC.count
s0 = c.stats
400_000.times do |i|
  a = ["x" * (i % 50), { i => i }, Object.new]
  keep[i % keep.size] = a[0].dup if i % 10 == 0
  next unless GC.count != last
  s1 = c.stats
  n = s1[:gc_sweeps] - s0[:gc_sweeps]
  times << (s1[:gc_sweep_ns] - s0[:gc_sweep_ns]) / n if n == 1
  last = GC.count
  s0 = s1
end
t = times.sort
puts format("Ruby %s, rate %g: %d GCs timed alone, pass median %.3f ms, p90 %.3f ms (%d minor, %d major GCs)",
            RUBY_VERSION, rate, t.size, t[t.size / 2] / 1e6, t[(t.size * 0.9).to_i] / 1e6,
            GC.stat(:minor_gc_count), GC.stat(:major_gc_count))
