# Bench-only extension: the cheapest possible allocation hook, the floor any
# allocation-hook profiler pays. Built by bench/ruby/overhead.rb into a temp
# dir. It also exposes callgrind's instrumentation toggles, so that a run
# under valgrind counts only the timed loop.
require "mkmf"
have_header("valgrind/callgrind.h")
create_makefile("rmp_bench_floor")
