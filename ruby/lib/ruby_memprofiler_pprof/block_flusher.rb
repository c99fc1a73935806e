# frozen_string_literal: true

require "ruby_memprofiler_pprof/fork_hooks"

module MemprofilerPprof
  # Calls collector.flush every `interval` seconds on a background thread and
  # hands the pprof String to `on_flush`. #stop! flushes one last time so the
  # final interval is not lost, and a flusher still running when the process
  # exits is stopped then.
  class BlockFlusher
    attr_reader :collector, :interval, :on_flush, :logger

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
    end

    def self.validate_interval(interval)
      ok = interval.is_a?(Numeric) && interval.real? && interval.to_f.finite? && interval.positive?
      raise ArgumentError, "interval must be a finite number of seconds > 0, got #{interval.inspect}" unless ok

      interval
    end

    def running?
      @mutex.synchronize { thread_alive_here? }
    end

    def start!
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

    class << self
      def register(flusher)
        @registry_mutex.synchronize do
          @registry[flusher.object_id] = flusher
          install_at_exit
        end
      end

      def unregister(flusher)
        @registry_mutex.synchronize { @registry.delete(flusher.object_id) }
      end

      # Stops every running flusher, each flushing its last interval.
      def stop_all!
        @registry_mutex.synchronize { @registry.values }.each(&:stop!)
      end

      def restart_all_after_fork!
        @registry_mutex = Mutex.new
        @registry.values.each(&:restart_after_fork!)
      end
    end

    # The first start! installs it, usually before the app's own at_exit
    # blocks, so it runs after them and what they allocate is in the last
    # profile. A forked child inherits it and flushes its own last interval.
    def self.install_at_exit
      return if @at_exit_installed

      @at_exit_installed = true
      at_exit { stop_all! }
    end
    private_class_method :install_at_exit

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
