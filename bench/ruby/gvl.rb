# frozen_string_literal: true
# How long flush holds the GVL (stats last_flush_gvl_ns: median, p90, max over
# the flushes; last_flush_gvl_cpu_ns, its CPU time, is what a busy machine's
# preemptions do not inflate) and how long the liveness pass takes per GC (stats gc_sweep_ns
# over gc_sweeps, minor and major GCs apart), against live objects and
# distinct stacks:
#
#   ruby -I ruby/lib -I BUILD_LIB bench/ruby/gvl.rb [--grid LIVE:STACKS:DEPTH,...] [--flushes 30]
#
# BUILD_LIB holds ruby_memprofiler_pprof/ruby_memprofiler_pprof.so. Each
# grid point runs in a fresh process at rate 1. STACKS objects are allocated
# on STACKS distinct stacks (a recursion that branches four ways per level,
# DEPTH levels, so the trie holds about STACKS * (DEPTH - log4 STACKS) nodes);
# LIVE objects over them are kept. Between two flushes the app replaces
# --churn kept objects (half of them on stacks drawn from twice as many, so
# new call sites keep appearing, ever more rarely) and allocates --garbage
# more that die. The
# passes are timed over --gcs GCs of each kind (median), each after --young
# allocations of which a quarter are kept.
require "optparse"
require "rbconfig"

opts = { grid: %w[10000:1000:12 60000:1000:40 60000:60000:10 60000:200000:10 200000:200000:10 200000:500000:10],
         flushes: 30, churn: 2000, garbage: 5000, gcs: 15, young: 2000 }
OptionParser.new do |o|
  o.on("--grid LIST") { |v| opts[:grid] = v.split(",") }
  o.on("--flushes N", Integer) { |v| opts[:flushes] = v }
  o.on("--churn N", Integer) { |v| opts[:churn] = v }
  o.on("--garbage N", Integer) { |v| opts[:garbage] = v }
  o.on("--gcs N", Integer) { |v| opts[:gcs] = v }
  o.on("--young N", Integer) { |v| opts[:young] = v }
  o.on("--one POINT") { |v| opts[:one] = v }
end.parse!

# Four call sites on four lines: each level of the recursion adds one of
# four frames, chosen by two bits of x.
def rmp_bench_rec(depth, x, out)
  return out << Object.new if depth.zero?

  case x & 3
  when 0 then rmp_bench_rec(depth - 1, x >> 2, out)
  when 1 then rmp_bench_rec(depth - 1, x >> 2, out)
  when 2 then rmp_bench_rec(depth - 1, x >> 2, out)
  else rmp_bench_rec(depth - 1, x >> 2, out)
  end
end

def percentile(values, q)
  s = values.sort
  s[[(q * s.size).ceil - 1, 0].max]
end

if opts[:one]
  require "ruby_memprofiler_pprof"
  live, stacks, depth = opts[:one].split(":").map { |x| Integer(x) }
  c = MemprofilerPprof::Collector.new(sample_rate: 1, max_heap_samples: live * 2 + 50_000,
                                      max_allocation_samples: 1000)
  c.start!
  keep = []
  garbage = []
  [live, stacks].max.times do |i|
    rmp_bench_rec(depth, i % stacks, i < live ? keep : garbage)
    garbage.clear if garbage.size > 10_000
  end
  garbage.clear
  2.times { GC.start(full_mark: true, immediate_sweep: true) }
  3.times { c.flush }
  rng = Random.new(1)
  gvl = []
  cpu = []
  opts[:flushes].times do
    opts[:churn].times do |i|
      x = rng.rand(i.even? ? stacks * 2 : stacks)
      keep[rng.rand(keep.size)] = rmp_bench_rec(depth, x, []).first
    end
    opts[:garbage].times { |i| rmp_bench_rec(depth, i % stacks, []) }
    c.flush
    gvl << c.stats[:last_flush_gvl_ns]
    cpu << c.stats[:last_flush_gvl_cpu_ns].to_i # 0 before the stat existed
    warn c.stats.values_at(:last_flush_gvl_ns, :last_flush_snapshot_ns, :last_flush_measure_ns, :last_flush_encode_ns, :live_samples, :stacks, :stack_compactions, :last_flush_gvl_cpu_ns).inspect if ENV["RMP_BENCH_DEBUG"]
  end
  s = c.stats
  GC.start(full_mark: true, immediate_sweep: true)
  # Before each GC the app allocates --young objects on known stacks and
  # keeps a quarter of them (up to 4 GCs), as between two GCs of a server.
  young = []
  pass = lambda do |full|
    times = Array.new(opts[:gcs]) do
      opts[:young].times { |i| rmp_bench_rec(depth, i % stacks, i % 4 == 0 ? young : []) }
      young.shift(young.size - opts[:young]) if young.size > opts[:young]
      Thread.pass # commits them
      s0 = c.stats
      GC.start(full_mark: full, immediate_sweep: true)
      s1 = c.stats
      (s1[:gc_sweep_ns] - s0[:gc_sweep_ns]) / [s1[:gc_sweeps] - s0[:gc_sweeps], 1].max
    end
    times.sort[times.size / 2]
  end
  major = pass.call(true)
  minor = pass.call(false)
  puts format("| %d | %d | %d | %d | %.2f | %.2f | %.2f | %.2f / %.2f | %s | %.3f | %.3f |", live, stacks,
              s[:live_samples], s[:stacks], percentile(gvl, 0.5) / 1e6, percentile(gvl, 0.9) / 1e6, gvl.max / 1e6,
              percentile(cpu, 0.5) / 1e6, percentile(cpu, 0.9) / 1e6,
              s.key?(:stack_compactions) ? s[:stack_compactions] : "-", minor / 1e6, major / 1e6)
  warn "live_samples at the passes: #{c.stats[:live_samples]}" if ENV["RMP_BENCH_DEBUG"]
  keep.clear
  c.stop!
  exit
end

puts "Ruby #{RUBY_VERSION}, #{opts[:flushes]} flushes per row, churn #{opts[:churn]}, garbage #{opts[:garbage]}"
puts
puts "| live | stacks | live_samples | trie nodes | GVL ms median | p90 | max | CPU ms median / p90 | compactions | " \
     "minor GC pass ms | major GC pass ms |"
puts "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
opts[:grid].each do |point|
  args = [RbConfig.ruby, *$LOAD_PATH.grep_v(/rubygems|gems/).flat_map { |d| ["-I", d] }, __FILE__, "--one", point,
          "--flushes", opts[:flushes].to_s, "--churn", opts[:churn].to_s, "--garbage", opts[:garbage].to_s,
          "--gcs", opts[:gcs].to_s, "--young", opts[:young].to_s]
  system(*args) || abort("#{point} failed")
end
