# frozen_string_literal: false
# One timed run of one workload under one profiler configuration, in its own
# process (driven by overhead.rb). Prints a single JSON line.
#
#   ruby workload.rb CONFIG WORKLOAD ITERATIONS
#   CONFIG:   none | floor | rmp:RATE | stackprof | trace_alloc
#   WORKLOAD: shallow | deep | mixed
#
# floor needs RMP_BENCH_FLOOR_DIR (the built floor extension) on the load
# path; rmp needs the built gem extension and ruby/lib on the load path.
require "json"
require "erb"

config, workload, iters = ARGV
iters = Integer(iters)

# Workload (a): three allocation kinds per iteration (an object, an
# interpolated string and its to_s temporary, an array).
def shallow(n)
  i = 0
  while i < n
    o = Object.new
    s = "x#{i}"
    a = [i, s, o]
    i += 1
  end
  a
end

# Workload (b): the same loop with DEEP_FRAMES Ruby frames above it.
DEEP_FRAMES = 60
def deep(depth, n)
  return shallow(n) if depth <= 0
  r = deep(depth - 1, n)
  r # not a tail position, so no frame is elided
end

# Workload (c): what a web request does: build data, JSON round trip,
# render a template (compiled to a method, as Rails does), build strings,
# fill hashes, and keep some results alive for a while.
class Renderer; end
ERB.new(<<~T, trim_mode: "-").def_method(Renderer, "render(items)")
  <ul>
  <%- items.each do |it| -%>
    <li class="<%= it[:tags].join(" ") %>"><%= it[:name] %>: <%= format("%.2f", it[:price]) %></li>
  <%- end -%>
  </ul>
T
LONG_LIVED = []
def mixed(n)
  r = Renderer.new
  n.times do |i|
    items = Array.new(20) { |j| { name: "item-#{i}-#{j}", price: j * 1.5, tags: ["a", "b#{j}"] } }
    back = JSON.parse(JSON.generate(items))
    html = r.render(items)
    buf = +""
    back.each { |h| buf << h["name"] << ";" << h["price"].to_s << "\n" }
    h = {}
    40.times { |k| h["key#{k}"] = [k, buf.size] }
    # About 5000 entries survive many GCs and are slowly replaced: old
    # objects, as caches and connection pools hold.
    LONG_LIVED[i % 5000] = [html, back[i % 20], h] if i % 3 == 0
  end
end

# Under valgrind (overhead.rb --callgrind) only the timed loop is counted.
CALLGRIND = ENV["RMP_BENCH_CALLGRIND"] == "1"
require "rmp_bench_floor" if CALLGRIND

# Every configuration loads every profiler's code and starts only its own.
# These workloads run in a heap of ~30k slots, where the few thousand
# objects a library's code leaves alive shift GC frequency by ~20% (measured:
# requiring the gem alone took shallow from 345 to 413 GCs), which would be
# charged to the hook. RMP_BENCH_PRELOAD=0 measures require and all.
if ENV.fetch("RMP_BENCH_PRELOAD", "1") == "1"
  require "rmp_bench_floor"
  begin
    require "stackprof"
  rescue LoadError
    nil # Rubies built from source have no stackprof; its configuration fails alone
  end
  require "objspace"
  begin
    require "ruby_memprofiler_pprof"
  rescue LoadError
    nil # the rmp:* configurations are skipped without the gem
  end
end

stop = nil
case config
when "none"
when "floor"
  require "rmp_bench_floor"
  RmpBenchFloor.start
  stop = -> { RmpBenchFloor.stop }
when /\Armp:([0-9.]+)\z/
  require "ruby_memprofiler_pprof"
  collector = MemprofilerPprof::Collector.new(sample_rate: Float($1))
  collector.start!
  stop = -> { collector.stop! }
when "stackprof"
  require "stackprof"
  StackProf.start(mode: :object, interval: 100, raw: true)
  stop = -> { StackProf.stop }
when "trace_alloc"
  require "objspace"
  ObjectSpace.trace_object_allocations_start
  stop = -> { ObjectSpace.trace_object_allocations_stop }
else
  abort "unknown config #{config}"
end

# A short warm-up so that method caches and the heap's first growth are not
# in the timed region of any configuration.
case workload
when "shallow" then shallow(20_000)
when "deep" then deep(DEEP_FRAMES - 3, 20_000)
when "mixed" then mixed(200)
else abort "unknown workload #{workload}"
end

alloc0 = GC.stat(:total_allocated_objects)
gc0 = GC.count
RmpBenchFloor.callgrind_start if CALLGRIND
c0 = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
case workload
when "shallow" then shallow(iters)
when "deep" then deep(DEEP_FRAMES - 3, iters) # + main, deep's caller and shallow
when "mixed" then mixed(iters)
end
t1 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
c1 = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
RmpBenchFloor.callgrind_stop if CALLGRIND
allocs = GC.stat(:total_allocated_objects) - alloc0
gcs = GC.count - gc0
extra = {}
extra[:floor_calls] = RmpBenchFloor.calls if config == "floor"
if config.start_with?("rmp:") && collector.respond_to?(:stats)
  extra[:rmp_stats] = collector.stats
end
stop&.call
puts JSON.generate({ config: config, workload: workload, iters: iters, seconds: t1 - t0, cpu_seconds: c1 - c0,
                     allocs: allocs, gcs: gcs }.merge(extra))
