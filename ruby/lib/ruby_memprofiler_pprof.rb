# frozen_string_literal: true

# A heap profiler for Ruby that writes pprof profiles. See README.md.
module MemprofilerPprof
end

require "ruby_memprofiler_pprof/version"
require "ruby_memprofiler_pprof/ruby_memprofiler_pprof" # the C extension: Collector
require "ruby_memprofiler_pprof/fork_hooks"
# Optional Ruby-side additions to the extension's Collector.
collector_rb = File.join(__dir__, "ruby_memprofiler_pprof", "collector.rb")
require_relative collector_rb if File.exist?(collector_rb)
require "ruby_memprofiler_pprof/block_flusher"
require "ruby_memprofiler_pprof/file_flusher"
