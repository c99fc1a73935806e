# frozen_string_literal: true

require "ruby_memprofiler_pprof/collector_defaults"
require "ruby_memprofiler_pprof/errors"

module MemprofilerPprof
  module ProfileApp
    # Raised with every invalid variable's message, one per line.
    class ConfigError < Error; end

    # A decimal number as the variables take it (no hex, no underscores).
    DECIMAL = /\A[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\z/.freeze
    # A decimal integer, optionally with a leading +.
    POSITIVE_INTEGER = /\A\+?\d+\z/.freeze
    # The largest count a variable takes (the Collector's limit).
    MAX_COUNT = 0xFFFF_FFFF

    # Each variable's setting, kind and default. The wrapper samples every
    # allocation by default (a Collector made in code samples 1%); the
    # other defaults are the Collector's.
    VARIABLES = {
      "RUBY_MEMPROFILER_PPROF_SAMPLE_RATE" => [:sample_rate, :fraction, 1.0],
      "RUBY_MEMPROFILER_PPROF_ALLOC_RETAIN_RATE" =>
        [:allocation_retain_rate, :fraction, Collector::DEFAULTS[:allocation_retain_rate]],
      "RUBY_MEMPROFILER_PPROF_MAX_ALLOC_SAMPLES" =>
        [:max_allocation_samples, :count, Collector::DEFAULTS[:max_allocation_samples]],
      "RUBY_MEMPROFILER_PPROF_MAX_HEAP_SAMPLES" => [:max_heap_samples, :count, Collector::DEFAULTS[:max_heap_samples]],
      "RUBY_MEMPROFILER_PPROF_RETAIN_NEW_OBJECTS" =>
        [:retain_new_objects, :flag, Collector::DEFAULTS[:retain_new_objects]],
      "RUBY_MEMPROFILER_PPROF_FILE_PATTERN" => [:file_pattern, :pattern, "tmp/profiles/mem-%{pid}-%{isotime}.pprof"],
      "RUBY_MEMPROFILER_PPROF_INTERVAL" => [:interval, :seconds, 30.0],
    }.freeze

    module_function

    # Reads every setting from `env`. Unset means default; set-but-empty is
    # an error, since it is more likely a templating mistake than a choice.
    # @param env [Hash{String=>String}] the environment to read
    # @return [Hash{Symbol=>Object}] each setting of {VARIABLES}
    # @raise [ConfigError] naming every invalid variable and its value
    def parse_env(env)
      errors = []
      config = {}
      VARIABLES.each do |name, (setting, kind, default)|
        raw = env[name]
        if raw.nil?
          config[setting] = default
          next
        end
        value, problem = parse_value(kind, raw)
        if problem
          errors << "#{name}=#{raw.inspect} is invalid: #{problem}"
        else
          config[setting] = value
        end
      end
      raise ConfigError, errors.join("\n") unless errors.empty?

      config
    end

    # Parses one variable's text.
    # @param kind [Symbol] :fraction, :seconds, :count, :flag or :pattern
    # @param raw [String] the variable's text
    # @return [Array(Object, nil), Array(nil, String)] the value and nil, or
    #   nil and what is wrong with the text
    def parse_value(kind, raw)
      s = raw.strip
      case kind
      when :fraction
        x = parse_decimal(s)
        return [nil, "must be a number from 0 to 1"] if x.nil? || x.negative? || x > 1

        [x, nil]
      when :seconds
        x = parse_decimal(s)
        return [nil, "must be a number of seconds greater than 0"] if x.nil? || !x.positive?

        [x, nil]
      when :count
        return [nil, "must be a positive integer"] unless POSITIVE_INTEGER.match?(s)

        n = Integer(s, 10)
        return [nil, "must be a positive integer"] unless n.positive?
        return [nil, "must be at most #{MAX_COUNT}"] if n > MAX_COUNT

        [n, nil]
      when :flag
        return [true, nil] if %w[1 true yes on].include?(s.downcase)
        return [false, nil] if %w[0 false no off].include?(s.downcase)

        [nil, "must be 1 or 0 (true/false, yes/no, on/off)"]
      when :pattern
        return [nil, "must not be empty"] if raw.empty?

        require "ruby_memprofiler_pprof/file_flusher"
        begin
          FileFlusher.validate_pattern(raw)
        rescue ArgumentError => e
          return [nil, e.message]
        end
        [raw, nil]
      else
        raise ArgumentError, "unknown kind #{kind}"
      end
    end

    # Float() alone accepts hex, underscores and "1e400" (=> Infinity).
    # @param s [String] the text
    # @return [Float, nil] its finite value, or nil
    def parse_decimal(s)
      return nil unless DECIMAL.match?(s)

      x = Float(s)
      x.finite? ? x : nil
    end
  end
end
