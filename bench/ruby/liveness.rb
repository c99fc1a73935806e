# frozen_string_literal: true
# The liveness pass's time per GC against tracked objects, on the Ruby that
# runs this script (each Ruby reads mark bits through its own probe):
#
#   ruby -I ruby/lib -I BUILD_LIB bench/ruby/liveness.rb [--sizes 10000,50000,200000] [--gcs 15]
#
# BUILD_LIB holds ruby_memprofiler_pprof/ruby_memprofiler_pprof.so (e.g. from
# `cd ruby && rake compile`, then -I ruby/lib alone). Every object is sampled
# (rate 1) and kept, so the table holds exactly SIZE entries; the pass's own
# clock (stats gc_sweep_ns) is read around GC.start calls. Medians over
# --gcs GCs of each kind, in a fresh process per size.
require "optparse"
require "rbconfig"

opts = { sizes: [10_000, 50_000, 200_000], gcs: 15 }
OptionParser.new do |o|
  o.on("--sizes LIST") { |v| opts[:sizes] = v.split(",").map { |x| Integer(x) } }
  o.on("--gcs N", Integer) { |v| opts[:gcs] = v }
  o.on("--one SIZE", Integer) { |v| opts[:one] = v }
end.parse!

if opts[:one]
  require "ruby_memprofiler_pprof"
  size = opts[:one]
  c = MemprofilerPprof::Collector.new(sample_rate: 1, max_heap_samples: size + 10_000,
                                      max_allocation_samples: 10)
  c.start!
  keep = Array.new(size) { Object.new }
  Thread.pass
  c.sample_rate = 0 # nothing more is tracked while measuring
  GC.start(full_mark: true, immediate_sweep: true)
  median = lambda do |full|
    times = Array.new(opts[:gcs]) do
      s0 = c.stats
      GC.start(full_mark: full, immediate_sweep: true)
      s1 = c.stats
      (s1[:gc_sweep_ns] - s0[:gc_sweep_ns]) / [s1[:gc_sweeps] - s0[:gc_sweeps], 1].max
    end
    times.sort[times.size / 2]
  end
  major = median.call(true)
  minor = median.call(false)
  live = c.stats[:live_samples]
  abort "tracked #{live} of #{size}" unless live >= size
  puts format("| %s | %s | %d | %.3f | %.1f | %.3f | %.1f |", RUBY_VERSION, c.stats[:liveness_probe], live,
              major / 1e6, major.to_f / live, minor / 1e6, minor.to_f / live)
  keep.clear
  c.stop!
  exit
end

puts "| Ruby | probe | tracked | major GC pass (ms) | ns/entry | minor GC pass (ms) | ns/entry |"
puts "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
opts[:sizes].each do |size|
  ok = system(RbConfig.ruby, *$LOAD_PATH.flat_map { |d| ["-I", d] }, __FILE__, "--one", size.to_s,
              "--gcs", opts[:gcs].to_s)
  abort "size #{size} failed" unless ok
end
