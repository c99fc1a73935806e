# frozen_string_literal: true
# The overhead a user pays: alternates profiler configurations in separate
# processes (A B C ... A B C ...), takes medians, prints them as ratios to
# the no-profiler run, and checks the goals of issue 5.
#
#   ruby bench/ruby/overhead.rb [--runs N] [--workloads shallow,deep,mixed]
#                               [--configs none,floor,...] [--scale F] [--json FILE]
#                               [--flush-runs N] [--callgrind]
#
# Builds the floor extension (bench/ruby/floor_ext) and the gem's extension
# (ruby/ext/ruby_memprofiler_pprof) into a temp dir first; without the gem
# the rmp:* configurations are skipped. Times are process CPU seconds of the
# timed loop (less disturbed by other processes on a shared machine than
# wall time, which is also recorded).
#
# --callgrind counts instructions of the timed loop instead (valgrind,
# default --scale 0.1 and --runs 1): repeatable on a busy machine, blind to
# cache misses. Flush/RSS figures are skipped in that mode.
require "json"
require "optparse"
require "rbconfig"
require "tmpdir"
require "fileutils"

ROOT = File.expand_path("../..", __dir__)
RUBY = RbConfig.ruby
ALL_CONFIGS = %w[none floor rmp:0.01 rmp:0.1 rmp:1.0 stackprof trace_alloc].freeze
ITERS = { "shallow" => 1_000_000, "deep" => 1_000_000, "mixed" => 2_000 }.freeze

opts = { runs: nil, workloads: %w[shallow deep mixed], configs: ALL_CONFIGS.dup, scale: nil, json: nil,
         flush_runs: 5, callgrind: false }
OptionParser.new do |o|
  o.on("--runs N", Integer) { |v| opts[:runs] = v }
  o.on("--workloads LIST") { |v| opts[:workloads] = v.split(",") }
  o.on("--configs LIST") { |v| opts[:configs] = v.split(",") }
  o.on("--scale F", Float) { |v| opts[:scale] = v }
  o.on("--json FILE") { |v| opts[:json] = v }
  o.on("--flush-runs N", Integer) { |v| opts[:flush_runs] = v }
  o.on("--callgrind") { opts[:callgrind] = true }
end.parse!
opts[:runs] ||= opts[:callgrind] ? 1 : 5
opts[:scale] ||= opts[:callgrind] ? 0.1 : 1.0
opts[:flush_runs] = 0 if opts[:callgrind]
METRIC = opts[:callgrind] ? "instructions" : "cpu_seconds"

def sh(dir, *cmd)
  out = IO.popen(cmd, chdir: dir, err: %i[child out], &:read)
  [$?.success?, out]
end

# extconf.rb then make, in dir; [success, output of the last step run].
def build_ext(dir, extconf)
  FileUtils.mkdir_p(dir)
  ok, out = sh(dir, RUBY, extconf)
  ok, out = sh(dir, "make", "-j2") if ok
  [ok, out]
end

tmp = Dir.mktmpdir("rmp-bench-ruby")
at_exit { FileUtils.rm_rf(tmp) }

floor_dir = File.join(tmp, "floor")
ok, out = build_ext(floor_dir, File.join(ROOT, "bench/ruby/floor_ext/extconf.rb"))
abort "floor extension failed to build:\n#{out}" unless ok

gem_lib = File.join(tmp, "gemlib")
gem_ok = false
gem_ext = File.join(ROOT, "ruby/ext/ruby_memprofiler_pprof")
if File.exist?(File.join(gem_ext, "extconf.rb"))
  build = File.join(tmp, "gem")
  ok, out = build_ext(build, File.join(gem_ext, "extconf.rb"))
  if ok
    FileUtils.mkdir_p(File.join(gem_lib, "ruby_memprofiler_pprof"))
    FileUtils.cp(Dir[File.join(build, "*.so")], File.join(gem_lib, "ruby_memprofiler_pprof"))
    gem_ok = true
  else
    warn "gem extension failed to build; skipping rmp:* configurations\n#{out.lines.last(20).join}"
  end
else
  warn "no #{gem_ext}/extconf.rb; skipping rmp:* configurations"
end
ENV["RUBYLIB"] = [floor_dir, gem_lib, File.join(ROOT, "ruby/lib"), ENV["RUBYLIB"]].compact.join(":")
if gem_ok
  ok, out = sh(ROOT, RUBY, "-e", "require 'ruby_memprofiler_pprof'; MemprofilerPprof::Collector.new")
  unless ok
    warn "the built gem does not load; skipping rmp:* configurations\n#{out}"
    gem_ok = false
  end
end
configs = opts[:configs].reject { |c| c.start_with?("rmp:") && !gem_ok }

def median(xs)
  s = xs.sort
  s.size.odd? ? s[s.size / 2] : (s[s.size / 2 - 1] + s[s.size / 2]) / 2.0
end

workload_rb = File.join(__dir__, "workload.rb")
results = Hash.new { |h, k| h[k] = [] }
started = Time.now
opts[:runs].times do |r|
  opts[:workloads].each do |w|
    iters = (ITERS.fetch(w) * opts[:scale]).round
    configs.each do |c|
      if opts[:callgrind]
        out_file = File.join(tmp, "callgrind.out")
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=#{out_file}",
               RUBY, workload_rb, c, w, iters.to_s]
        log = IO.popen({ "RMP_BENCH_CALLGRIND" => "1" }, cmd, err: %i[child out], &:read)
        abort "run failed: #{c} #{w}\n#{log}" unless $?.success?
        res = JSON.parse(log.lines.grep(/\A\{/).last)
        res["instructions"] = Integer(log[/Collected : (\d+)/, 1])
      else
        line = IO.popen([RUBY, workload_rb, c, w, iters.to_s], &:read)
        abort "run failed: #{c} #{w}" unless $?.success?
        res = JSON.parse(line)
      end
      results[[w, c]] << res
    end
  end
  warn format("round %d/%d done (%.0fs)", r + 1, opts[:runs], Time.now - started)
end

nproc = `nproc`.strip
cpu = File.read("/proc/cpuinfo")[/^model name\s*:\s*(.*)$/, 1]
puts "# RMP overhead: #{Time.now.utc.strftime('%Y-%m-%d %H:%M UTC')}, #{RUBY_DESCRIPTION}"
puts "# machine: #{nproc} CPUs, #{cpu}; load average at end: #{File.read('/proc/loadavg').split[0, 3].join(' ')}"
if opts[:callgrind]
  puts "# #{opts[:runs]} run(s) per cell under callgrind; instructions executed in the timed loop"
else
  puts "# #{opts[:runs]} runs per cell, alternated; median CPU seconds of the timed loop"
end
puts
summary = {}
opts[:workloads].each do |w|
  base = median(results[[w, "none"]].map { |x| x[METRIC] }) if configs.include?("none")
  floor = median(results[[w, "floor"]].map { |x| x[METRIC] }) if configs.include?("floor")
  allocs = results[[w, configs.first]].first["allocs"]
  puts "## workload #{w} (#{results[[w, configs.first]].first['iters']} iterations, #{allocs} allocations)"
  puts
  if opts[:callgrind]
    puts "| configuration | instructions | instr/alloc | × none | × floor | GCs |"
    puts "| --- | ---: | ---: | ---: | ---: | ---: |"
  else
    puts "| configuration | median CPU ms | ns/alloc | × none | × floor | median wall ms | spread (min–max CPU ms) | GCs |"
    puts "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"
  end
  configs.each do |c|
    runs = results[[w, c]]
    xs = runs.map { |x| x[METRIC] }
    m = median(xs)
    summary[[w, c]] = m.to_f
    vs_none = base ? format("%.2f", m.to_f / base) : "-"
    vs_floor = floor ? format("%.2f", m.to_f / floor) : "-"
    gcs = runs.map { |x| x["gcs"] }.uniq.join("/")
    if opts[:callgrind]
      puts format("| %s | %d | %.0f | %s | %s | %s |", c, m, m.to_f / allocs, vs_none, vs_floor, gcs)
    else
      puts format("| %s | %.0f | %.0f | %s | %s | %.0f | %.0f–%.0f | %s |", c, m * 1000, m * 1e9 / allocs, vs_none,
                  vs_floor, median(runs.map { |x| x["seconds"] }) * 1000, xs.min * 1000, xs.max * 1000, gcs)
    end
  end
  puts
end

goals = []
r = ->(w, c) { summary[[w, c]] }
if r.call("shallow", "rmp:0.01") && r.call("shallow", "floor")
  { "shallow" => 1.05, "mixed" => 1.05, "deep" => 1.15 }.each do |w, lim|
    next unless r.call(w, "rmp:0.01") && r.call(w, "floor")
    v = r.call(w, "rmp:0.01") / r.call(w, "floor")
    goals << ["RMP@0.01 / floor on #{w} ≤ #{lim}", format("%.3f", v), v <= lim]
  end
  %w[shallow deep mixed].each do |w|
    next unless r.call(w, "rmp:0.01") && r.call(w, "stackprof")
    v = r.call(w, "rmp:0.01") / r.call(w, "stackprof")
    goals << ["RMP@0.01 faster than stackprof on #{w}", format("%.3f× stackprof", v), v < 1.0]
  end
  if r.call("shallow", "rmp:1.0") && r.call("shallow", "trace_alloc")
    v = r.call("shallow", "trace_alloc") / r.call("shallow", "rmp:1.0")
    goals << ["RMP@1.0 ≥ 1.5× faster than trace_object_allocations on shallow", format("%.2f×", v), v >= 1.5]
  end
end
unless goals.empty?
  puts "## goals"
  puts
  puts "| goal | measured | met? |"
  puts "| --- | --- | --- |"
  goals.each { |g, v, met| puts "| #{g} | #{v} | #{met ? 'yes' : 'NO'} |" }
  puts
end

flush = Hash.new { |h, k| h[k] = [] }
if gem_ok && opts[:flush_runs].positive?
  flush_rb = File.join(__dir__, "flush_rss.rb")
  opts[:flush_runs].times do
    %w[none rmp].each do |m|
      line = IO.popen([RUBY, flush_rb, m], &:read)
      abort "flush_rss #{m} failed" unless $?.success?
      flush[m] << JSON.parse(line)
    end
  end
  rmp = flush["rmp"]
  growth = median(rmp.map { |x| x["rss_growth_kb"] }) - median(flush["none"].map { |x| x["rss_growth_kb"] })
  puts "## flush and memory at 50k live samples (#{opts[:flush_runs]} runs each, medians)"
  puts
  puts "| figure | median | min–max |"
  puts "| --- | ---: | --- |"
  row = lambda do |name, key, fmt|
    xs = rmp.map { |x| x[key].to_f }
    puts format("| %s | #{fmt} | #{fmt}–#{fmt} |", name, median(xs), xs.min, xs.max)
  end
  row.call("live samples at flush", "live_samples", "%.0f")
  row.call("stack trie nodes", "stacks", "%.0f")
  row.call("flush total (wall ms)", "flush_total_ms", "%.2f")
  row.call("flush GVL-held snapshot (ms, Collector#stats)", "flush_snapshot_ms", "%.2f")
  row.call("flush encode+gzip, GVL released (ms)", "flush_encode_ms", "%.2f")
  row.call("profile size (bytes, gzipped)", "flush_bytes", "%.0f")
  row.call("RSS growth with RMP (KiB)", "rss_growth_kb", "%.0f")
  nx = flush["none"].map { |x| x["rss_growth_kb"].to_f }
  puts format("| RSS growth without profiler (KiB) | %.0f | %.0f–%.0f |", median(nx), nx.min, nx.max)
  puts format("| RSS attributable to RMP (KiB; per live sample, bytes) | %.0f | %.0f B/sample |", growth,
              growth * 1024.0 / [median(rmp.map { |x| x['live_samples'].to_f }), 1].max)
  puts
end

if opts[:json]
  File.write(opts[:json], JSON.pretty_generate({ runs: results.map { |(w, c), v| { workload: w, config: c, runs: v } },
                                                 flush: flush }))
end
