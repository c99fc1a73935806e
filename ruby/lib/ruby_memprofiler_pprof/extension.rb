# frozen_string_literal: true

require "ruby_memprofiler_pprof/errors"

# The C extension (Collector's native methods). Bundler compiles it for a
# git: source but not for a path: checkout, where it must be built by hand:
# the error says how.
begin
  require "ruby_memprofiler_pprof/ruby_memprofiler_pprof"
rescue LoadError => e
  raise LoadError, "ruby_memprofiler_pprof: cannot load the extension for Ruby #{RUBY_VERSION} (#{e.message}). " \
                   "In a source checkout or a Gemfile path: pin (Bundler does not compile extensions for path gems) " \
                   "build it with `rake compile` in the checkout's ruby/ directory; an installed gem builds it at install."
end
