# frozen_string_literal: true

require "fileutils"
require "securerandom"
require "ruby_memprofiler_pprof/block_flusher"

module MemprofilerPprof
  # Writes each flushed profile to a file named from `pattern`:
  #   %{pid}       the writing process's pid (so forked children get their own files)
  #   %{isotime}   UTC time of the write, ISO 8601 basic format: 20261126T153407.123456Z
  #   %{unixtime}  seconds since the epoch (integer)
  #   %{index}     0, 1, 2, ... counting this process's files
  #   %%           a literal %
  # Each file is written under a temporary name in the same directory, fsynced,
  # then renamed, so a reader never sees a partial profile. Directories are
  # created as needed. It runs on a {BlockFlusher}, so it behaves as one:
  # #stop! and exit write the last interval, and a FileFlusher that is never
  # started warns once at exit.
  #
  # @example
  #   MemprofilerPprof::FileFlusher.new(collector, pattern: "tmp/mem-%{pid}-%{index}.pprof").start!
  class FileFlusher
    # The keys a pattern may use.
    KEYS = %w[pid isotime unixtime index].freeze
    # The pattern used when none is given (also the wrapper's default).
    DEFAULT_PATTERN = "tmp/profiles/mem-%{pid}-%{isotime}.pprof"
    # Ends the name of a file still being written.
    TEMP_SUFFIX = ".tmp"

    # @return [String] the path template, see the class documentation
    attr_reader :pattern

    # @param collector [Collector] the collector to flush
    # @param pattern [String] the path template for the files
    # @param interval [Numeric] seconds between files, finite and > 0
    # @param logger [Logger, #error, nil] where failed writes are reported; nil writes to $stderr
    # @raise [ArgumentError] for a bad pattern or interval, naming it
    def initialize(collector, pattern: DEFAULT_PATTERN, interval: 30, logger: nil)
      @pattern = self.class.validate_pattern(pattern)
      @index = 0
      @index_pid = Process.pid
      @index_mutex = Mutex.new
      @block_flusher = BlockFlusher.new(collector, interval: interval, logger: logger,
                                                   on_flush: method(:write_profile))
      # The never-started warning names what the user made.
      BlockFlusher.track_unstarted(@block_flusher, self.class)
    end

    # @param pattern [Object] the value to check
    # @return [String] pattern, when it is a usable path template
    # @raise [ArgumentError] for a non-String, an empty pattern, a directory
    #   (trailing "/", or an existing directory named by a pattern without
    #   keys), an unknown key or a stray "%", naming the problem
    def self.validate_pattern(pattern)
      raise ArgumentError, "pattern must be a String, got #{pattern.inspect}" unless pattern.is_a?(String)
      raise ArgumentError, "pattern must not be empty" if pattern.empty?

      # Expanding with dummy values finds every unknown or malformed key now,
      # not at the first flush 30 s later.
      expand(pattern, pid: 1, isotime: "t", unixtime: 1, index: 0)
      raise ArgumentError, "pattern must name a file, not a directory: #{pattern.inspect}" if pattern.end_with?("/")
      # Without a key the pattern is one fixed path; if a directory is there,
      # every write would fail at its rename, each interval lost.
      if !pattern.include?("%") && File.directory?(pattern)
        raise ArgumentError, "pattern must name a file, but #{pattern.inspect} is a directory " \
                             "(for files in it: #{File.join(pattern, 'mem-%{pid}-%{isotime}.pprof').inspect})"
      end

      pattern
    end

    # @param pattern [String] a path template
    # @param values [Hash{Symbol=>Object}] a value for each of {KEYS}
    # @return [String] the pattern with every key replaced
    # @raise [ArgumentError] for an unknown key or a stray "%"
    def self.expand(pattern, values)
      pattern.gsub(/%(%|\{([^{}]*)\}|\{|)/) do
        whole = Regexp.last_match(0)
        key = Regexp.last_match(2)
        next "%" if whole == "%%"
        raise ArgumentError, "pattern #{pattern.inspect}: unterminated %{" if whole == "%{"
        if key.nil?
          raise ArgumentError, "pattern #{pattern.inspect}: stray '%' (write %% for a literal %, " \
                               "or one of #{KEYS.map { |k| "%{#{k}}" }.join(', ')})"
        end
        unless KEYS.include?(key)
          raise ArgumentError, "pattern #{pattern.inspect}: unknown key %{#{key}}; " \
                               "known keys: #{KEYS.map { |k| "%{#{k}}" }.join(', ')}"
        end

        values.fetch(key.to_sym).to_s
      end
    end

    # @return [Collector] the collector whose profiles are written
    def collector = @block_flusher.collector
    # @return [Numeric] seconds between files
    def interval = @block_flusher.interval
    # @return [Logger, #error, nil] where failed writes are reported
    def logger = @block_flusher.logger
    # @return [Boolean] whether this process's flusher thread is running
    def running? = @block_flusher.running?

    # Starts writing a file every interval (see {BlockFlusher#start!}).
    # @return [self]
    def start!
      @block_flusher.start!
      self
    end

    # Stops, writing the last interval's file (see {BlockFlusher#stop!}).
    # @return [self]
    def stop!
      @block_flusher.stop!
      self
    end

    # Starts, runs the block, then stops (see {BlockFlusher#run}).
    # @yield the code to profile
    # @return [Object] the block's value
    def run(&block)
      @block_flusher.run(&block)
    end

    # The path a file would get (without consuming an index).
    # @param index [Integer] the value of the index key
    # @param time [Time] the time for the isotime and unixtime keys
    # @param pid [Integer] the value of the pid key
    # @return [String] the expanded path
    def path_for(index:, time: Time.now, pid: Process.pid)
      self.class.expand(@pattern,
                        pid: pid,
                        isotime: time.getutc.strftime("%Y%m%dT%H%M%S.%6NZ"),
                        unixtime: time.to_i,
                        index: index)
    end

    private

    def next_index
      @index_mutex.synchronize do
        # A forked child numbers its own files from 0.
        if @index_pid != Process.pid
          @index_pid = Process.pid
          @index = 0
        end
        i = @index
        @index += 1
        i
      end
    end

    def write_profile(data)
      path = path_for(index: next_index)
      dir = File.dirname(path)
      FileUtils.mkdir_p(dir)
      tmp = File.join(dir, ".#{File.basename(path)}.#{Process.pid}.#{SecureRandom.hex(4)}#{TEMP_SUFFIX}")
      begin
        File.open(tmp, File::WRONLY | File::CREAT | File::EXCL | File::BINARY, 0o644) do |f|
          f.write(data)
          f.flush
          f.fsync
        end
        File.rename(tmp, path)
      rescue Exception # rubocop:disable Lint/RescueException
        FileUtils.rm_f(tmp)
        raise
      end
      fsync_dir(dir)
      path
    end

    # Makes the rename itself durable; not all filesystems allow it.
    def fsync_dir(dir)
      File.open(dir, File::RDONLY) { |d| d.fsync }
    rescue SystemCallError
      nil
    end
  end
end
