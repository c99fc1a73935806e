# frozen_string_literal: true

# Loaded through RUBYOPT=-rruby_memprofiler_pprof/profile_app (see
# exe/ruby_memprofiler_pprof_profile), i.e. before any application code:
# configures a Collector and a FileFlusher from RUBY_MEMPROFILER_PPROF_*.

# RUBYOPT reaches every Ruby the app starts, possibly an older one this gem
# (and this gem's syntax) does not support: leave those unprofiled.
if (RUBY_VERSION.split(".").map(&:to_i) <=> [3, 1]).negative?
  warn "ruby_memprofiler_pprof: Ruby #{RUBY_VERSION} is not supported (needs >= 3.1); not profiling pid #{Process.pid}"
  return
end

require "ruby_memprofiler_pprof/profile_app_config"

module MemprofilerPprof
  # What the ruby_memprofiler_pprof_profile wrapper loads into the app
  # (through RUBYOPT): a {Collector} and a {FileFlusher} configured from the
  # RUBY_MEMPROFILER_PPROF_* variables ({VARIABLES}), started before any
  # application code and stopped at exit, after the app's own at_exit blocks.
  module ProfileApp
    class << self
      # @return [Collector, nil] the app's collector, once booted
      attr_reader :collector
      # @return [FileFlusher, nil] the app's flusher, once booted
      attr_reader :flusher

      # Reads the settings, starts the collector and flusher. An invalid
      # setting stops the process (exit status 1) with a message naming it.
      # @param env [Hash{String=>String}] the environment to read
      # @return [void]
      def boot!(env = ENV)
        return if @booted # loaded twice through different load paths

        @booted = true
        config = parse_env(env)
        begin
          require "ruby_memprofiler_pprof"
        rescue LoadError => e
          raise ConfigError, e.message.delete_prefix("ruby_memprofiler_pprof: ") # says how to build it
        end
        @collector = build_collector(config, env)
        @flusher = FileFlusher.new(@collector, pattern: config[:file_pattern], interval: config[:interval])
        @collector.start!
        @flusher.start!
        # Registered before the app's own at_exit blocks, so it runs after
        # them (e.g. after minitest/autorun's tests) and their allocations
        # land in the last file. A forked child inherits it and writes its own.
        at_exit { shutdown! }
      rescue ConfigError => e
        fail_fast(e.message)
      end

      # The last profile of the process is written by the flusher's stop!.
      # Like every other, it counts what was alive as of the last GC: a GC
      # forced here would measure the app's teardown, and a series would
      # end in a drop that hides the growth before it.
      # @return [void]
      def shutdown!
        @flusher&.stop!
        @collector.stop! if @collector&.running?
      end

      private

      def build_collector(config, env)
        settings = config.slice(:sample_rate, :allocation_retain_rate, :max_allocation_samples, :max_heap_samples,
                                :retain_new_objects)
        Collector.new(**settings)
      rescue ArgumentError => e
        # The collector's own limits, beyond what the parser checks: name
        # the variable the user actually set.
        name, = VARIABLES.find { |_, (setting, _, _)| e.message.include?(setting.to_s) }
        raise ConfigError, name ? "#{name}=#{env[name].inspect} is invalid: #{e.message}" : e.message
      end

      # exit! rather than abort: this runs while Ruby processes -r, so an
      # exception could in principle be rescued by whatever required us, and
      # the app must not run half-configured; no at_exit hook of a
      # half-initialised process should run either.
      def fail_fast(message)
        $stderr.write("ruby_memprofiler_pprof: #{message.gsub("\n", "\nruby_memprofiler_pprof: ")}\n" \
                      "ruby_memprofiler_pprof: not starting the application\n")
        $stderr.flush
        exit!(1)
      end
    end
  end
end

MemprofilerPprof::ProfileApp.boot!
