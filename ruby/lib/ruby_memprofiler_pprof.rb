# frozen_string_literal: true

# A sampling heap profiler for Ruby that writes pprof profiles: a
# {Collector} samples allocations and tracks the sampled objects still alive,
# and a {BlockFlusher} or {FileFlusher} hands its profiles out periodically.
# See README.md.
module MemprofilerPprof
end

require "ruby_memprofiler_pprof/version"
require "ruby_memprofiler_pprof/errors"
require "ruby_memprofiler_pprof/extension" # the C extension: Collector
require "ruby_memprofiler_pprof/fork_hooks"
# The Collector's settings and their validation, which the C methods trust.
require "ruby_memprofiler_pprof/collector"
require "ruby_memprofiler_pprof/block_flusher"
require "ruby_memprofiler_pprof/file_flusher"
