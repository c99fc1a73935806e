# frozen_string_literal: true

require_relative "rmp_test_helper"
require "ruby_memprofiler_pprof/block_flusher"

class TestBlockFlusher < Minitest::Test
  include RmpTestHelper
  BlockFlusher = MemprofilerPprof::BlockFlusher

  def collecting_flusher(collector, interval:, logger: nil)
    received = Queue.new
    flusher = BlockFlusher.new(collector, interval: interval, logger: logger, on_flush: ->(data) { received << data })
    [flusher, received]
  end

  def drain(queue)
    items = []
    items << queue.pop until queue.empty?
    items
  end

  def test_flushes_periodically_on_a_background_thread
    collector = FakeCollector.new
    flusher, received = collecting_flusher(collector, interval: 0.05)
    flusher.start!
    assert flusher.running?
    assert wait_until { collector.flush_count >= 3 }, "expected 3 periodic flushes"
    flusher.stop!
    refute flusher.running?

    data = drain(received)
    # Every flush's data reached on_flush, in order, including the final one.
    assert_equal collector.flush_count, data.size
    assert_equal (1..data.size).map { |i| "flush #{i} " }, data.map { |d| Zlib.gunzip(d)[/\Aflush \d+ /] }
    refute_includes collector.flush_threads.first(collector.flush_count - 1), Thread.current
  end

  def test_stop_performs_a_final_flush
    collector = FakeCollector.new
    flusher, received = collecting_flusher(collector, interval: 3600)
    flusher.start!
    flusher.stop!
    assert_equal 1, collector.flush_count, "stop! must flush the last interval"
    assert_equal "flush 1 ", Zlib.gunzip(received.pop)[0, 8]
    # The final flush runs on the caller, after the thread is gone.
    assert_equal [Thread.current], collector.flush_threads

    flusher.stop!
    assert_equal 1, collector.flush_count, "a second stop! is a no-op"
  end

  def test_stop_without_start_does_not_flush
    collector = FakeCollector.new
    flusher, = collecting_flusher(collector, interval: 1)
    flusher.stop!
    assert_equal 0, collector.flush_count
  end

  def test_start_twice_runs_one_thread
    collector = FakeCollector.new
    flusher, = collecting_flusher(collector, interval: 3600)
    flusher_threads = -> { Thread.list.count { |t| t.name == "rmp-flusher" && t.alive? } }
    before = flusher_threads.call
    flusher.start!
    flusher.start!
    assert_equal before + 1, flusher_threads.call
    flusher.stop!
    assert_equal before, flusher_threads.call
  end

  def test_restart_after_stop
    collector = FakeCollector.new
    flusher, = collecting_flusher(collector, interval: 0.02)
    flusher.start!
    flusher.stop!
    after_first = collector.flush_count
    flusher.start!
    assert wait_until { collector.flush_count >= after_first + 2 }
    flusher.stop!
  end

  def test_run_wraps_the_block_and_returns_its_value
    collector = FakeCollector.new
    flusher, received = collecting_flusher(collector, interval: 3600)
    result = flusher.run do
      assert flusher.running?
      :block_value
    end
    assert_equal :block_value, result
    refute flusher.running?
    assert_equal 1, received.size
  end

  def test_run_stops_when_the_block_raises
    collector = FakeCollector.new
    flusher, = collecting_flusher(collector, interval: 3600)
    assert_raises(RuntimeError) { flusher.run { raise "app error" } }
    refute flusher.running?
    assert_equal 1, collector.flush_count
  end

  def test_on_flush_exception_is_logged_not_raised
    logger = ListLogger.new
    calls = 0
    flusher = BlockFlusher.new(FakeCollector.new, interval: 0.02, logger: logger,
                                                  on_flush: ->(_) { calls += 1; raise IOError, "disk on fire #{calls}" })
    flusher.start!
    # The thread survives the failure and keeps flushing.
    assert wait_until { logger.errors.size >= 2 }
    flusher.stop! # its final flush raises too, and must not propagate
    messages = drain(logger.errors)
    assert(messages.all? { |m| m.include?("IOError") && m.include?("disk on fire") }, messages.inspect)
    assert_equal calls, messages.size
  end

  def test_collector_flush_exception_is_logged
    logger = ListLogger.new
    flusher = BlockFlusher.new(FakeCollector.new(raise_on_flush: RuntimeError), interval: 3600, logger: logger,
                                                                                on_flush: ->(_) {})
    flusher.start!
    flusher.stop!
    assert_match(/RuntimeError: fake flush failure 1/, logger.errors.pop)
  end

  def test_without_logger_errors_go_to_stderr
    flusher = BlockFlusher.new(FakeCollector.new, interval: 3600, on_flush: ->(_) { raise ArgumentError, "bad sink" })
    _, err = capture_io do
      flusher.start!
      flusher.stop!
    end
    assert_match(/BlockFlusher: flush failed: ArgumentError: bad sink/, err)
  end

  def test_background_errors_do_not_reach_the_app_with_abort_on_exception
    saved = Thread.abort_on_exception
    Thread.abort_on_exception = true
    logger = ListLogger.new
    flusher = BlockFlusher.new(FakeCollector.new, interval: 0.01, logger: logger,
                                                  on_flush: ->(_) { raise Exception, "not a StandardError" })
    flusher.start!
    assert wait_until { logger.errors.size >= 2 }
    flusher.stop!
  ensure
    Thread.abort_on_exception = saved
  end

  def test_interval_is_validated
    [0, -1, -0.5, Float::NAN, Float::INFINITY, "30", nil, Complex(1, 1)].each do |bad|
      err = assert_raises(ArgumentError, bad.inspect) do
        BlockFlusher.new(FakeCollector.new, interval: bad, on_flush: ->(_) {})
      end
      assert_match(/interval/, err.message)
    end
    assert_equal 0.25, BlockFlusher.new(FakeCollector.new, interval: 0.25, on_flush: ->(_) {}).interval
    assert_equal Rational(1, 3), BlockFlusher.new(FakeCollector.new, interval: Rational(1, 3), on_flush: ->(_) {}).interval
  end

  def test_on_flush_is_required_and_callable
    assert_raises(ArgumentError) { BlockFlusher.new(FakeCollector.new) }
    err = assert_raises(ArgumentError) { BlockFlusher.new(FakeCollector.new, on_flush: "nope") }
    assert_match(/on_flush/, err.message)
  end

  def test_a_running_flusher_does_not_keep_the_process_alive
    script = <<~RUBY
      require "ruby_memprofiler_pprof/block_flusher"
      c = Object.new
      def c.flush = "x"
      MemprofilerPprof::BlockFlusher.new(c, interval: 3600, on_flush: ->(_) {}).start!
      puts "main done"
    RUBY
    out, err, status = run_cmd(clean_env, RUBY, "-I#{LIB_DIR}", "-e", script, timeout: 60)
    assert status.success?, err
    assert_equal "main done\n", out
  end

  # Nobody calls stop!: the last interval is still flushed, after the app's
  # own at_exit blocks (registered later, so run earlier), in the parent and
  # in a forked child, each once.
  def test_a_running_flusher_flushes_the_last_interval_at_exit
    script = <<~RUBY
      require "ruby_memprofiler_pprof/block_flusher"
      $stdout.sync = true
      c = Object.new
      def c.flush = "profile"
      MemprofilerPprof::BlockFlusher.new(c, interval: 3600, on_flush: ->(d) { puts "\#{Process.pid} flushed \#{d}" }).start!
      at_exit { puts "\#{Process.pid} app at_exit" }
      child = fork { MemprofilerPprof.after_fork_child_hooks.each(&:call); puts "child \#{Process.pid}" }
      Process.wait(child)
      puts "parent \#{Process.pid}"
    RUBY
    out, err, status = run_cmd(clean_env, RUBY, "-I#{LIB_DIR}", "-e", script, timeout: 60)
    assert status.success?, err
    lines = out.lines.map(&:chomp)
    child = lines.grep(/\Achild /).first&.split&.last
    parent = lines.grep(/\Aparent /).first&.split&.last
    refute_nil child, out
    assert_equal ["child #{child}", "#{child} app at_exit", "#{child} flushed profile",
                  "parent #{parent}", "#{parent} app at_exit", "#{parent} flushed profile"], lines
  end

  # The C extension runs MemprofilerPprof.after_fork_child_hooks in a forked
  # child; this checks the flusher's half of that contract.
  def test_after_fork_hook_restarts_the_flusher_in_the_child
    collector = FakeCollector.new
    pids = Queue.new
    flusher = BlockFlusher.new(collector, interval: 0.02, on_flush: ->(_) { pids << Process.pid })
    flusher.start!
    child = fork do
      MemprofilerPprof.after_fork_child_hooks.each(&:call)
      ok = wait_until(timeout: 20) do
        seen = []
        seen << pids.pop until pids.empty?
        seen.include?(Process.pid)
      end
      exit!(ok ? 0 : 3)
    end
    _, status = Process.wait2(child)
    flusher.stop!
    assert_equal 0, status.exitstatus, "the child's flusher thread never flushed"
  end
end
