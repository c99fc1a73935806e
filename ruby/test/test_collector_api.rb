# frozen_string_literal: true

require_relative "collector_support"

# Settings, validation and the start!/stop!/flush/profile lifecycle.
class TestCollectorApi < Minitest::Test
  include CollectorSupport
  Collector = MemprofilerPprof::Collector

  def test_defaults_match_the_readme
    c = Collector.new
    assert_equal 0.01, c.sample_rate
    assert_equal 1.0, c.allocation_retain_rate
    assert_equal 10_000, c.max_allocation_samples
    assert_equal 50_000, c.max_heap_samples
    refute c.running?
  end

  def test_writers_update_readers_also_while_running
    c = Collector.new(sample_rate: 0.5, allocation_retain_rate: 0.25, max_allocation_samples: 7, max_heap_samples: 9)
    assert_equal [0.5, 0.25, 7, 9], [c.sample_rate, c.allocation_retain_rate, c.max_allocation_samples, c.max_heap_samples]
    c.start!
    c.sample_rate = 1
    c.allocation_retain_rate = Rational(1, 2)
    c.max_allocation_samples = 11
    c.max_heap_samples = 13
    assert_equal [1.0, 0.5, 11, 13], [c.sample_rate, c.allocation_retain_rate, c.max_allocation_samples, c.max_heap_samples]
  ensure
    c&.stop!
  end

  def test_writers_take_effect_while_running
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000)
    c.start!
    Array.new(100) { Object.new }
    assert_operator c.stats[:samples_taken], :>=, 100
    c.sample_rate = 0
    taken = c.stats[:samples_taken]
    Array.new(1000) { Object.new }
    assert_equal taken, c.stats[:samples_taken]
    c.sample_rate = 1
    c.max_heap_samples = 1
    keep = Array.new(500) { Object.new }
    settle
    # A one-entry table takes 500 live objects by thinning, not dropping.
    assert_operator c.stats[:live_samples], :<=, 1
    assert_operator c.stats[:heap_thinnings], :>=, 3
    assert_equal 0, c.stats[:heap_samples_dropped]
    assert_equal 500, keep.size
  ensure
    c&.stop!
  end

  BAD_RATES = [Float::NAN, -0.1, 1.01, Float::INFINITY, "0.5", nil, :x, Complex(0.5, 1)].freeze
  BAD_LIMITS = [0, -1, 1.5, 10.0, "10", nil, Float::NAN, 2**32].freeze

  def test_every_invalid_setting_raises_argument_error_naming_it
    c = Collector.new
    { sample_rate: BAD_RATES, allocation_retain_rate: BAD_RATES,
      max_allocation_samples: BAD_LIMITS, max_heap_samples: BAD_LIMITS }.each do |name, bads|
      bads.each do |bad|
        e = assert_raises(ArgumentError, "#{name}=#{bad.inspect}") { c.public_send("#{name}=", bad) }
        assert_includes e.message, name.to_s
        e = assert_raises(ArgumentError, "new(#{name}: #{bad.inspect})") { Collector.new(name => bad) }
        assert_includes e.message, name.to_s
      end
    end
    e = assert_raises(ArgumentError) { c.max_heap_samples = 2**30 + 1 }
    assert_includes e.message, "max_heap_samples"
    c.max_heap_samples = 2**30 # the bound itself is fine (the table grows lazily)
    c.max_heap_samples = 50_000
    # A rejected value leaves the previous one in place.
    assert_equal 0.01, c.sample_rate
    assert_equal 50_000, c.max_heap_samples
  end

  def test_boundary_values_are_accepted
    c = Collector.new(sample_rate: 0, allocation_retain_rate: 0, max_allocation_samples: 1, max_heap_samples: 1)
    assert_equal 0.0, c.sample_rate
    c.sample_rate = 1
    assert_equal 1.0, c.sample_rate
  end

  # Nothing may depend on a start! having run in the process: a flusher
  # created before its collector starts flushes from its first interval.
  def test_a_collector_that_never_started_flushes_an_empty_profile
    code = <<~RUBY
      require "ruby_memprofiler_pprof"
      GC.start
      c = MemprofilerPprof::Collector.new
      $stdout.write(c.flush)
    RUBY
    out, err, status = run_ruby(code)
    assert status.success?, "flush failed: #{status.inspect}\n#{err}"
    prof = decode(out)
    assert_empty prof.samples
    assert_includes prof.comments, "liveness_missed_gcs=0"
  end

  def test_start_stop_cycles
    c = Collector.new(sample_rate: 1)
    5.times do
      c.start!
      assert c.running?
      c.start! # idempotent
      keep = Array.new(50) { Object.new }
      settle
      assert_operator c.stats[:live_samples], :>=, keep.size
      c.stop!
      refute c.running?
      c.stop!
      # Without hooks deaths cannot be observed, so stop! forgets the live set.
      assert_equal 0, c.stats[:live_samples]
      data = c.flush
      assert_equal Encoding::BINARY, data.encoding
      assert_equal "\x1f\x8b".b, data[0, 2]
    end
  end

  def test_only_one_collector_runs_at_a_time
    a = Collector.new
    b = Collector.new
    a.start!
    assert_same a, Collector.running_collector
    e = assert_raises(MemprofilerPprof::Error) { b.start! }
    assert_kind_of StandardError, e
    assert_match(/already running/, e.message)
    a.stop!
    b.start!
    assert b.running?
    b.stop!
    assert_nil Collector.running_collector
  end

  def test_profile_returns_a_pprof_and_stops_even_if_the_block_raises
    c = Collector.new(sample_rate: 1)
    data = c.profile { Array.new(10) { Object.new } }
    refute c.running?
    prof = decode(data)
    assert_equal %w[allocations allocation_size retained_objects retained_size], prof.types
    assert_raises(ZeroDivisionError) { c.profile { 1 / 0 } }
    refute c.running?
    assert_raises(ArgumentError) { c.profile }
  end

  def test_profile_leaves_an_already_running_collector_running
    c = Collector.new(sample_rate: 1)
    c.start!
    data = c.profile { Object.new }
    assert c.running?
    assert_equal "\x1f\x8b".b, data[0, 2]
  ensure
    c&.stop!
  end

  # String#split makes all its strings before any interrupt check, so at
  # rate 1 the pending buffer (4096) overflows; the loss is counted.
  def test_pending_overflow_is_counted_in_stats_and_profile
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000, max_allocation_samples: 100_000)
    c.start!
    parts = ("a," * 10_000).split(",")
    settle
    dropped = c.stats[:pending_dropped]
    assert_operator dropped, :>=, parts.size - 4096
    prof = decode(c.flush)
    assert_includes prof.comments, "pending_dropped=#{dropped}"
  ensure
    c&.stop!
  end

  def test_stats_has_the_documented_keys
    c = Collector.new(sample_rate: 1)
    c.start!
    x = Array.new(100) { "s#{_1}" }
    c.flush
    s = c.stats
    %i[live_samples heap_samples_dropped allocation_samples_dropped pending_dropped stacks_dropped
       samples_taken last_flush_snapshot_ns last_flush_encode_ns last_flush_gvl_ns last_flush_gvl_cpu_ns
       last_flush_bytes].each do |k|
      assert s.key?(k), "stats lacks #{k}"
      assert_kind_of Integer, s[k]
    end
    assert_operator s[:samples_taken], :>=, x.size
    assert_operator s[:last_flush_bytes], :>, 0
    assert_operator s[:last_flush_snapshot_ns], :>, 0
    assert_operator s[:last_flush_encode_ns], :>, 0
    assert_operator s[:last_flush_gvl_ns], :>, 0
    assert_operator s[:last_flush_gvl_ns], :>=, s[:last_flush_snapshot_ns]
  ensure
    c&.stop!
  end

  # An interrupt pending when flush reaches its GVL-free encode (here one
  # deferred to the next blocking point) must cost neither the profile
  # (nor leak it) nor the interrupt: the profile is returned, then the
  # interrupt is raised.
  def test_an_interrupt_pending_during_flush_loses_neither_the_profile_nor_the_interrupt
    c = Collector.new(sample_rate: 1)
    c.start!
    keep = Array.new(100) { |i| "pending-#{i}" * 2 }
    ready = Queue.new
    result = error = nil
    t = Thread.new do
      Thread.handle_interrupt(RuntimeError => :on_blocking) do
        ready << true
        nil until Thread.current[:raised]
        result = c.flush
      end
    rescue RuntimeError => e
      error = e
    end
    ready.pop
    t.raise(RuntimeError, "from the test")
    t[:raised] = true
    t.join
    assert_equal "from the test", error&.message
    refute_nil result, "flush lost its profile to the interrupt"
    # The pending interrupt made rb_thread_call_without_gvl2 skip the call;
    # flush must retry it rather than encode holding the GVL.
    refute c.send(:_last_encode_held_gvl), "flush encoded while holding the GVL"
    assert_operator decode(result).sum("allocations", klass: "String"), :>=, keep.size
  ensure
    c&.stop!
  end

end
