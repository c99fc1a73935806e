# frozen_string_literal: true

require_relative "lib/ruby_memprofiler_pprof/version"

Gem::Specification.new do |spec|
  spec.name = "ruby_memprofiler_pprof"
  spec.version = MemprofilerPprof::VERSION
  spec.summary = "A sampling heap profiler for Ruby that writes pprof profiles"
  spec.description = "Samples allocations, tracks which sampled objects are still live, and " \
                     "periodically writes pprof profiles of allocated and retained objects " \
                     "by stack trace; meant to run continuously in production."
  spec.authors = ["ruby_memprofiler_pprof contributors"]
  spec.required_ruby_version = ">= 3.1"

  # rmp.h and rmp_pprof.h live at the repository root; `rake gem` stages
  # this tree in tmp/gem with copies of them in ext/ and builds there, so the
  # globs below pick them up and the .gem is self-contained.
  spec.files = Dir.glob(
    %w[
      lib/**/*.rb
      ext/ruby_memprofiler_pprof/*.{c,h,rb}
      exe/*
    ],
    base: __dir__
  ).sort
  spec.bindir = "exe"
  spec.executables = ["ruby_memprofiler_pprof_profile"]
  spec.extensions = ["ext/ruby_memprofiler_pprof/extconf.rb"]
  spec.require_paths = ["lib"]
end
