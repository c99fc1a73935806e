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
  # then renamed, so a reader never sees a partial profile.
  class FileFlusher
    KEYS = %w[pid isotime unixtime index].freeze
    DEFAULT_PATTERN = "tmp/profiles/mem-%{pid}-%{isotime}.pprof"
    TEMP_SUFFIX = ".tmp"

    attr_reader :pattern

    def initialize(collector, pattern: DEFAULT_PATTERN, interval: 30, logger: nil)
      @pattern = self.class.validate_pattern(pattern)
      @index = 0
      @index_pid = Process.pid
      @index_mutex = Mutex.new
      @block_flusher = BlockFlusher.new(collector, interval: interval, logger: logger,
                                                   on_flush: method(:write_profile))
    end

    def self.validate_pattern(pattern)
      raise ArgumentError, "pattern must be a String, got #{pattern.inspect}" unless pattern.is_a?(String)
      raise ArgumentError, "pattern must not be empty" if pattern.empty?

      # Expanding with dummy values finds every unknown or malformed key now,
      # not at the first flush 30 s later.
      expand(pattern, pid: 1, isotime: "t", unixtime: 1, index: 0)
      raise ArgumentError, "pattern must name a file, not a directory: #{pattern.inspect}" if pattern.end_with?("/")

      pattern
    end

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

    def collector = @block_flusher.collector
    def interval = @block_flusher.interval
    def logger = @block_flusher.logger
    def running? = @block_flusher.running?

    def start!
      @block_flusher.start!
      self
    end

    def stop!
      @block_flusher.stop!
      self
    end

    def run(&block)
      @block_flusher.run(&block)
    end

    # The path the next file would get (without consuming an index).
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
