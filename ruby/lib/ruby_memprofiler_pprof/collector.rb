# frozen_string_literal: true

require "ruby_memprofiler_pprof/extension"
require "ruby_memprofiler_pprof/fork_hooks"
require "ruby_memprofiler_pprof/collector_defaults"

module MemprofilerPprof
  # Samples allocations and tracks the sampled objects that are still alive;
  # #flush returns both as a gzipped pprof profile. The C methods (start!,
  # stop!, running?, flush, stats) live in the extension; this file holds the
  # settings, their validation and #profile.
  #
  # *One running collector per process*: Ruby has one allocation hook, so
  # #start! raises {MemprofilerPprof::Error} while another collector runs
  # (see {.running_collector}). Several collectors may exist; only one
  # samples at a time. A forked child keeps the running collector.
  #
  # @example
  #   collector = MemprofilerPprof::Collector.new(sample_rate: 0.01)
  #   collector.start!
  #   # ... later, periodically:
  #   File.binwrite("heap.pprof", collector.flush)
  #
  # @!method start!
  #   Installs the allocation and GC hooks and starts sampling.
  #   @return [self]
  #   @raise [MemprofilerPprof::Error] if another collector is running
  # @!method stop!
  #   Removes the hooks; the live samples are forgotten, since their deaths
  #   can no longer be seen. A stopped collector may start again.
  #   @return [self]
  # @!method running?
  #   @return [Boolean] whether this collector is sampling
  # @!method flush
  #   Writes the profile of the interval since the last flush: the sampled
  #   allocations (then cleared) and the sampled objects still alive (kept).
  #   The encoding runs without the GVL.
  #   @return [String] a gzipped pprof profile, binary encoding
  #   @raise [MemprofilerPprof::Error] if the profile could not be encoded
  # @!method stats
  #   Running totals since the collector was created: samples taken, live
  #   samples, the heap sample probability and thinnings, what was lost, the
  #   liveness mode, and the last flush's duration and size.
  #   @return [Hash{Symbol=>Object}]
  # @!method self.running_collector
  #   @return [Collector, nil] the collector that is running in this process, if any
  class Collector
    # The largest {#max_allocation_samples}.
    MAX_ALLOCATION_SAMPLES_LIMIT = 0xFFFF_FFFF
    # The largest {#max_heap_samples}: the live table's bound (rmp.h).
    MAX_HEAP_SAMPLES_LIMIT = 1 << 30

    # @return [Float] the fraction (0 to 1) of allocations sampled
    attr_reader :sample_rate
    # @return [Float] the fraction (0 to 1) of sampled allocations also kept
    #   in the profile's allocations section
    attr_reader :allocation_retain_rate
    # @return [Integer] the most allocation samples kept per profile
    attr_reader :max_allocation_samples
    # @return [Integer] the most live objects tracked; beyond it they are
    #   sampled more thinly
    attr_reader :max_heap_samples
    # @return [Boolean] whether objects allocated since the last GC count as retained
    attr_reader :retain_new_objects
    # @return [Logger, #warn, nil] where the collector says what it had to give
    #   up; nil writes to $stderr
    attr_accessor :logger

    # @param sample_rate [Numeric] fraction (0 to 1) of allocations to sample
    # @param allocation_retain_rate [Numeric] fraction (0 to 1) of sampled
    #   allocations kept in the allocations section
    # @param max_allocation_samples [Integer] most allocation samples per profile
    # @param max_heap_samples [Integer] most live objects tracked
    # @param retain_new_objects [Boolean] count objects allocated since the last GC as retained
    # @param logger [Logger, #warn, nil] where warnings go; nil writes to $stderr
    # @raise [ArgumentError] for any invalid setting, naming it
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

    # @param name [String] the setting, for the message
    # @param value [Object] the value to check
    # @return [Float] value, when it is a real number from 0 to 1
    # @raise [ArgumentError] otherwise
    def self.validate_rate(name, value)
      ok = value.is_a?(Numeric) && value.real? && !value.to_f.nan? && value >= 0 && value <= 1
      raise ArgumentError, "#{name} must be a number between 0 and 1, got #{value.inspect}" unless ok

      value.to_f
    end

    # @param name [String] the setting, for the message
    # @param value [Object] the value to check
    # @param max [Integer] the largest value allowed
    # @return [Integer] value, when it is an Integer from 1 to max
    # @raise [ArgumentError] otherwise
    def self.validate_limit(name, value, max)
      ok = value.is_a?(Integer) && value.positive? && value <= max
      raise ArgumentError, "#{name} must be an Integer between 1 and #{max}, got #{value.inspect}" unless ok

      value
    end

    # @param value [Numeric] fraction (0 to 1); applies at once, also while running
    # @raise [ArgumentError] if out of range
    def sample_rate=(value)
      v = self.class.validate_rate("sample_rate", value)
      _set_sample_rate(v)
      @sample_rate = v
    end

    # @param value [Numeric] fraction (0 to 1); applies at once
    # @raise [ArgumentError] if out of range
    def allocation_retain_rate=(value)
      v = self.class.validate_rate("allocation_retain_rate", value)
      _set_allocation_retain_rate(v)
      @allocation_retain_rate = v
    end

    # @param value [Integer] 1 to {MAX_ALLOCATION_SAMPLES_LIMIT}
    # @raise [ArgumentError] if out of range
    def max_allocation_samples=(value)
      v = self.class.validate_limit("max_allocation_samples", value, MAX_ALLOCATION_SAMPLES_LIMIT)
      _set_max_allocation_samples(v)
      @max_allocation_samples = v
    end

    # @param value [Integer] 1 to {MAX_HEAP_SAMPLES_LIMIT}; a smaller bound
    #   thins the live samples already tracked
    # @raise [ArgumentError] if out of range
    def max_heap_samples=(value)
      v = self.class.validate_limit("max_heap_samples", value, MAX_HEAP_SAMPLES_LIMIT)
      _set_max_heap_samples(v)
      @max_heap_samples = v
    end

    # Retained means alive as of the last GC, as in Go's heap profiles:
    # objects allocated since are most often garbage not yet collected, and
    # are left out of the retained values (they are in the allocations).
    # true counts them as retained too.
    # @param value [Boolean]
    # @raise [ArgumentError] unless true or false
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
    # @yield the code to profile
    # @return [String] a gzipped pprof profile, as from {#flush}
    # @raise [ArgumentError] without a block
    # @raise [MemprofilerPprof::Error] if another collector is running
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
      # @api private
      module RactorHook
        # Ractor.new, with allocation sampling paused while it starts.
        # @return [Ractor]
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
