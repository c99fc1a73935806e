# frozen_string_literal: true

require "ruby_memprofiler_pprof/fork_hooks"

module MemprofilerPprof
  # Calls collector.flush every `interval` seconds on a background thread and
  # hands the pprof String to `on_flush`. #stop! flushes one last time so the
  # final interval is not lost, and a flusher still running when the process
  # exits is stopped then. A flusher that was created but never started
  # warns once at exit, since it wrote nothing.
  #
  # @example
  #   flusher = MemprofilerPprof::BlockFlusher.new(collector, interval: 15,
  #                                               on_flush: ->(pprof) { upload(pprof) })
  #   flusher.start!
  class BlockFlusher
    # @return [Collector] the collector whose #flush is called
    attr_reader :collector
    # @return [Numeric] seconds between flushes
    attr_reader :interval
    # @return [#call] receives each profile, a gzipped pprof (binary String)
    attr_reader :on_flush
    # @return [Logger, #error, nil] where failed flushes are reported; nil writes to $stderr
    attr_reader :logger

    # @param collector [Collector] the collector to flush (anything with #flush)
    # @param interval [Numeric] seconds between flushes, finite and > 0
    # @param on_flush [#call] called with each profile; an exception it raises is
    #   logged, never raised into the app
    # @param logger [Logger, #error, nil] where failed flushes are reported
    # @raise [ArgumentError] for a bad interval or an on_flush without #call
    def initialize(collector, interval: 30, on_flush:, logger: nil)
      @interval = self.class.validate_interval(interval)
      raise ArgumentError, "on_flush must respond to #call, got #{on_flush.inspect}" unless on_flush.respond_to?(:call)

      @collector = collector
      @on_flush = on_flush
      @logger = logger
      @thread = nil
      @pid = nil
      @stop_requested = false
      @mutex = Mutex.new
      @wakeup = ConditionVariable.new
      # Serialises the thread's flushes with the final one in #stop!.
      @flush_mutex = Mutex.new
      self.class.track_unstarted(self, self.class)
    end

    # @param interval [Object] the value to check
    # @return [Numeric] interval, when it is a finite number of seconds > 0
    # @raise [ArgumentError] otherwise, naming the value
    def self.validate_interval(interval)
      ok = interval.is_a?(Numeric) && interval.real? && interval.to_f.finite? && interval.positive?
      raise ArgumentError, "interval must be a finite number of seconds > 0, got #{interval.inspect}" unless ok

      interval
    end

    # @return [Boolean] whether this process's flusher thread is running
    def running?
      @mutex.synchronize { thread_alive_here? }
    end

    # Starts the background thread; the first flush comes one interval later.
    # Starting a running flusher does nothing.
    # @return [self]
    def start!
      self.class.started(self)
      @mutex.synchronize do
        return self if thread_alive_here?

        @stop_requested = false
        @pid = Process.pid
        @thread = spawn_thread
      end
      self.class.register(self)
      self
    end

    # Stops the thread, waits for it (an in-progress flush completes), then
    # flushes once more from the calling thread. A no-op unless started.
    # @return [self]
    def stop!
      thread = nil
      @mutex.synchronize do
        return self if @pid.nil?

        @stop_requested = true
        @wakeup.broadcast
        thread = @thread
        @thread = nil
        @pid = nil
      end
      self.class.unregister(self)
      thread.join if thread && thread != Thread.current && thread.alive?
      flush_once(background: false)
      self
    end

    # Starts the flusher, runs the block, then stops it (flushing once more),
    # even if the block raises.
    # @yield the code to profile
    # @return [Object] the block's value
    def run
      start!
      begin
        yield
      ensure
        stop!
      end
    end

    # Called in a forked child: the parent's thread did not survive the fork,
    # so a flusher that was running in the parent starts a fresh one here.
    # @api private
    # @return [self]
    def restart_after_fork!
      return self if @pid.nil? || @pid == Process.pid

      # The dead thread may have held these at fork time.
      @mutex = Mutex.new
      @wakeup = ConditionVariable.new
      @flush_mutex = Mutex.new
      @stop_requested = false
      @pid = Process.pid
      @thread = spawn_thread
      self
    end

    @registry = {}
    @registry_mutex = Mutex.new
    # object_id => [class name, where it was created] of each flusher not yet
    # started; ids, so that an abandoned flusher can still be collected.
    @unstarted = {}

    class << self
      # Notes a new flusher, to warn at exit if it never starts.
      # @api private
      # @param flusher [Object] the flusher (only its object_id is kept)
      # @param kind [Class] the class the user made, named in the warning
      # @return [void]
      def track_unstarted(flusher, kind)
        where = caller_locations.find { |l| !l.path.to_s.start_with?(__dir__) }
        @registry_mutex.synchronize do
          @unstarted[flusher.object_id] = [kind.name, where&.then { |l| "#{l.path}:#{l.lineno}" }]
          install_at_exit
        end
      end

      # @api private
      # @param flusher [Object] a flusher that is starting
      # @return [void]
      def started(flusher)
        @registry_mutex.synchronize { @unstarted.delete(flusher.object_id) }
      end

      # @api private
      # @param flusher [BlockFlusher] a flusher that started
      # @return [void]
      def register(flusher)
        @registry_mutex.synchronize do
          @registry[flusher.object_id] = flusher
          install_at_exit
        end
      end

      # @api private
      # @param flusher [BlockFlusher] a flusher that stopped
      # @return [void]
      def unregister(flusher)
        @registry_mutex.synchronize { @registry.delete(flusher.object_id) }
      end

      # Stops every running flusher, each flushing its last interval.
      # @return [void]
      def stop_all!
        @registry_mutex.synchronize { @registry.values }.each(&:stop!)
      end

      # The after-fork hook: restarts in the child each flusher that ran in
      # the parent. A child does not repeat the parent's never-started warning.
      # @api private
      # @return [void]
      def restart_all_after_fork!
        @registry_mutex = Mutex.new
        @unstarted.clear
        @registry.values.each(&:restart_after_fork!)
      end
    end

    # The first flusher installs it, usually before the app's own at_exit
    # blocks, so it runs after them and what they allocate is in the last
    # profile. A forked child inherits it and flushes its own last interval.
    def self.install_at_exit
      return if @at_exit_installed

      @at_exit_installed = true
      at_exit do
        stop_all!
        warn_unstarted
      end
    end
    private_class_method :install_at_exit

    # One warning for all of them: the README's snippet once left out
    # start!, and such a flusher silently writes nothing.
    def self.warn_unstarted
      never = @registry_mutex.synchronize { @unstarted.values }
      return if never.empty?

      list = never.map { |kind, where| where ? "#{kind} created at #{where}" : kind }.join(", ")
      warn "ruby_memprofiler_pprof: #{never.size} flusher(s) created but never started, so they wrote no " \
           "profiles: #{list}. Call #start! (or #run) on them."
    end
    private_class_method :warn_unstarted

    private

    def thread_alive_here?
      !@thread.nil? && @pid == Process.pid && @thread.alive?
    end

    def spawn_thread
      thread = Thread.new { flusher_loop }
      thread.name = "rmp-flusher"
      thread
    end

    def flusher_loop
      deadline = monotonic_now + @interval
      loop do
        @mutex.synchronize do
          until @stop_requested
            remaining = deadline - monotonic_now
            break if remaining <= 0

            @wakeup.wait(@mutex, remaining)
          end
        end
        return if @mutex.synchronize { @stop_requested }

        flush_once(background: true)
        # Measured from the previous deadline so flush time does not drift
        # the schedule; after a long stall, skip the missed ticks.
        deadline += @interval
        now = monotonic_now
        deadline = now + @interval if deadline < now
      end
    end

    def flush_once(background:)
      @flush_mutex.synchronize do
        data = @collector.flush
        @on_flush.call(data)
      end
    rescue Exception => e # rubocop:disable Lint/RescueException
      # Never propagate into the app; from the caller's own thread, still let
      # an exit or a signal (Ctrl-C) through.
      raise if !background && (e.is_a?(SystemExit) || e.is_a?(SignalException))

      log_error(e)
    end

    def log_error(err)
      msg = "#{self.class.name}: flush failed: #{err.class}: #{err.message}"
      backtrace = err.backtrace&.first(5)
      msg += "\n  " + backtrace.join("\n  ") if backtrace && !backtrace.empty?
      if @logger
        @logger.error(msg)
      else
        $stderr.puts(msg)
      end
    rescue StandardError
      nil # a broken logger must not take the app down either
    end

    def monotonic_now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end

  after_fork_child_hooks << BlockFlusher.method(:restart_all_after_fork!)
end
