# frozen_string_literal: true

require "ruby_memprofiler_pprof/ruby_memprofiler_pprof"
require "ruby_memprofiler_pprof/fork_hooks"
require "ruby_memprofiler_pprof/collector_defaults"

module MemprofilerPprof
  # Samples allocations and tracks the sampled objects that are still alive;
  # #flush returns both as a gzipped pprof profile. The C methods (start!,
  # stop!, running?, flush, stats) live in the extension; this file holds the
  # settings, their validation and #profile.
  class Collector
    MAX_ALLOCATION_SAMPLES_LIMIT = 0xFFFF_FFFF
    MAX_HEAP_SAMPLES_LIMIT = 1 << 30 # the live table's bound (rmp.h)

    attr_reader :sample_rate, :allocation_retain_rate, :max_allocation_samples, :max_heap_samples,
                :retain_new_objects
    # Where the collector says what it had to give up (a Logger, or anything
    # with #warn); nil writes to $stderr.
    attr_accessor :logger

    def initialize(sample_rate: DEFAULTS[:sample_rate], allocation_retain_rate: DEFAULTS[:allocation_retain_rate],
                   max_allocation_samples: DEFAULTS[:max_allocation_samples],
                   max_heap_samples: DEFAULTS[:max_heap_samples],
                   retain_new_objects: DEFAULTS[:retain_new_objects], logger: nil)
      self.sample_rate = sample_rate
      self.allocation_retain_rate = allocation_retain_rate
      self.max_allocation_samples = max_allocation_samples
      self.max_heap_samples = max_heap_samples
      self.retain_new_objects = retain_new_objects
      self.logger = logger
    end

    def self.validate_rate(name, value)
      ok = value.is_a?(Numeric) && value.real? && !value.to_f.nan? && value >= 0 && value <= 1
      raise ArgumentError, "#{name} must be a number between 0 and 1, got #{value.inspect}" unless ok

      value.to_f
    end

    def self.validate_limit(name, value, max)
      ok = value.is_a?(Integer) && value.positive? && value <= max
      raise ArgumentError, "#{name} must be an Integer between 1 and #{max}, got #{value.inspect}" unless ok

      value
    end

    def sample_rate=(value)
      v = self.class.validate_rate("sample_rate", value)
      _set_sample_rate(v)
      @sample_rate = v
    end

    def allocation_retain_rate=(value)
      v = self.class.validate_rate("allocation_retain_rate", value)
      _set_allocation_retain_rate(v)
      @allocation_retain_rate = v
    end

    def max_allocation_samples=(value)
      v = self.class.validate_limit("max_allocation_samples", value, MAX_ALLOCATION_SAMPLES_LIMIT)
      _set_max_allocation_samples(v)
      @max_allocation_samples = v
    end

    def max_heap_samples=(value)
      v = self.class.validate_limit("max_heap_samples", value, MAX_HEAP_SAMPLES_LIMIT)
      _set_max_heap_samples(v)
      @max_heap_samples = v
    end

    # Retained means alive as of the last GC, as in Go's heap profiles:
    # objects allocated since are most often garbage not yet collected, and
    # are left out of the retained values (they are in the allocations).
    # true counts them as retained too.
    def retain_new_objects=(value)
      raise ArgumentError, "retain_new_objects must be true or false, got #{value.inspect}" unless [true, false].include?(value)

      _set_retain_new_objects(value)
      @retain_new_objects = value
    end

    # Called by the extension the first time in the process that the table
    # of live samples filled up and was thinned.
    def _report_thinning(probability)
      msg = "ruby_memprofiler_pprof: more objects are alive than max_heap_samples (#{max_heap_samples}) " \
            "can hold at sample_rate #{sample_rate}; retained objects are now sampled with probability " \
            "#{probability} (estimates stay unbiased, with more noise). Raise max_heap_samples " \
            "(RUBY_MEMPROFILER_PPROF_MAX_HEAP_SAMPLES) for more precision."
      logger ? logger.warn(msg) : warn(msg)
    rescue StandardError
      nil # a broken logger must not take the app down
    end
    private :_report_thinning

    # Runs the block with the collector started and returns the pprof of
    # what it did. A collector that was already running stays running.
    def profile
      raise ArgumentError, "Collector#profile needs a block" unless block_given?

      was_running = running?
      start! unless was_running
      begin
        yield
        flush
      ensure
        stop! unless was_running
      end
    end
  end
end

if defined?(Ractor)
  module MemprofilerPprof
    class Collector
      # Ruby 3.1.2 crashes when a NEWOBJ hook fires while a new Ractor is
      # being set up (Ruby Bug #18464, fixed upstream by ruby/ruby#5990), so
      # allocation sampling pauses before any Ractor starts; a flush or
      # start! resumes it once only the main Ractor is left.
      #
      # Only the main Ractor runs the collector (and may call into the
      # extension, which is not Ractor-safe); a Ractor started from another
      # one is already covered by the pause.
      module RactorHook
        def new(*args, **kwargs, &block)
          return super unless Ractor.current == Ractor.main

          MemprofilerPprof::Collector._ractor_starting
          begin
            super
          ensure
            MemprofilerPprof::Collector._ractor_started
          end
        end
      end
      Ractor.singleton_class.prepend(RactorHook)
    end
  end
end
