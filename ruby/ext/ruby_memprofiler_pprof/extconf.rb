# frozen_string_literal: true

require "rbconfig"
# CC from the environment, as autoconf does (rbconfig names the compiler
# Ruby was built with, and mkmf would ignore CC).
if ENV["CC"] && !ENV["CC"].empty?
  # The Makefile reads the first, mkmf's test compiles the second.
  RbConfig::MAKEFILE_CONFIG["CC"] = RbConfig::CONFIG["CC"] = ENV["CC"]
end
require "mkmf"
require "shellwords"

# rmp.h and rmp_pprof.h live at the top of the tree, two directories above
# this one: the repository root in a checkout (and a Bundler git: or path:
# source), the gem's own directory once installed (the root gemspec packs
# them there).
header_dir = File.expand_path("../../..", __dir__)
missing = %w[rmp.h rmp_pprof.h].reject { |f| File.file?(File.join(header_dir, f)) }
abort "ruby_memprofiler_pprof: #{missing.join(' and ')} not found in #{header_dir}" unless missing.empty?
# A quoted #include searches the source dir before any -I, so the sources
# include the chosen copies by absolute path.
$INCFLAGS = "-I#{header_dir.shellescape} #{$INCFLAGS}"
{ "RMP_EXT_RMP_H" => "rmp.h", "RMP_EXT_RMP_PPROF_H" => "rmp_pprof.h" }.each do |macro, file|
  $defs << "-D#{macro}=\"#{File.join(header_dir, file)}\"".shellescape
end

# Hidden visibility keeps the rmp_* implementation private to this .so;
# only Init_ruby_memprofiler_pprof is exported.
$CFLAGS << " -fvisibility=hidden"
# Ruby's own warnflags already hold -Wall -Wextra (plus -Wno-unused-parameter,
# which its inline headers need); make sure of the first two.
%w[-Wall -Wextra].each { |w| $warnflags = "#{w} #{$warnflags}" unless $warnflags.to_s.split.include?(w) }
# They were chosen for the compiler Ruby was built with: with another one
# (CC=clang against a gcc-built Ruby) keep only the flags it knows, so that
# a build warns about this code alone. One test compile when all are known.
unless try_cflags("-Werror #{$warnflags}")
  $warnflags = $warnflags.split.select { |w| try_cflags("-Werror #{w}") }.join(" ")
end
# A Ruby whose CFLAGS leave out $(cflags) never passes $(warnflags) on:
# Debian's 3.1 compiled this extension with no -Wall at all.
$CFLAGS << " #{$warnflags}" unless RbConfig::MAKEFILE_CONFIG["CFLAGS"].to_s.match?(/\$[({](cflags|warnflags)[)}]/)
$CFLAGS << " -O0 -g3" if ENV["RMP_EXT_DEBUG"]
# ASan+UBSan for the extension only; run Ruby with
# LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" ASAN_OPTIONS=detect_leaks=0
if ENV["RMP_EXT_SANITIZE"]
  $CFLAGS << " -fsanitize=address,undefined -fno-omit-frame-pointer"
  $LDFLAGS << " -fsanitize=address,undefined"
end

abort "ruby_memprofiler_pprof: zlib (zlib1g-dev) is required" unless have_header("zlib.h") && have_library("z", "deflate")
have_library("m", "log")

# Exported by every supported libruby but declared by hand in rmp_ext.h, so
# have_func checks only that it links. Internal functions that only some
# Rubies or builds export are looked up at run time (internal_api.c).
abort "ruby_memprofiler_pprof: rb_obj_memsize_of is required" unless have_func("rb_obj_memsize_of")
%w[rb_profile_frames rb_gc_location].each do |f|
  abort "ruby_memprofiler_pprof: #{f} is required (Ruby >= 3.1)" unless have_func(f, "ruby/debug.h")
end
# 3.3 deprecates rb_postponed_job_register_one for these two.
have_func("rb_postponed_job_preregister", "ruby/debug.h") && have_func("rb_postponed_job_trigger", "ruby/debug.h")
have_library("dl", "dlsym") unless have_func("dlsym", "dlfcn.h")
# RMP_EXT_FORCE_FREEOBJ=1 builds the FREEOBJ liveness fallback even where a
# mark-bit probe exists, so the tests cover it.
$defs << "-DRMP_EXT_FORCE_FREEOBJ" if ENV["RMP_EXT_FORCE_FREEOBJ"]
# The test suites' builds add test-only methods (testing.c).
$defs << "-DRMP_EXT_TESTING" if ENV["RMP_EXT_TESTING"]

create_makefile("ruby_memprofiler_pprof/ruby_memprofiler_pprof")

# mkmf's Makefile knows no header: without this, a build directory reused
# across a change to rmp.h relinks objects compiled against two different
# struct layouts.
headers = [File.join(__dir__, "rmp_ext.h"), File.join(__dir__, "heap_bits.h"), File.join(header_dir, "rmp.h"), File.join(header_dir, "rmp_pprof.h")]
File.open("Makefile", "a") { |mk| mk.puts "", "$(OBJS): #{headers.join(' ')}" }
