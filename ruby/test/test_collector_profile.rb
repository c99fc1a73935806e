# frozen_string_literal: true

require_relative "collector_support"

class RmpNamedThing; end
class RmpAllocProbe; end
class RmpStringSubclass < String; end

# What the profile says, checked against what the test really allocated.
class TestCollectorProfile < Minitest::Test
  include CollectorSupport
  Collector = MemprofilerPprof::Collector

  def leak_kib_strings(n, sink)
    n.times { sink << ("x" * 1024) }
  end

  def allocate_probes(n)
    n.times { RmpAllocProbe.new }
  end

  def test_retained_strings_are_attributed_to_the_allocating_method_at_rate_1
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000, max_allocation_samples: 100_000)
    sink = []
    c.start!
    leak_kib_strings(1000, sink)
    settle
    prof = decode(c.flush)
    truth = memsize_sum(sink)
    assert_operator truth, :>=, 1000 * 1024
    # The "x" literals die young; one may survive through conservative stack
    # marking, so the exact checks look at what String#* allocated.
    got = prof.sum("retained_size", func: /leak_kib_strings/, klass: "String")
    assert_in_delta truth, got, truth * 0.15
    assert_equal 1000, prof.sum("retained_objects", func: /leak_kib_strings/, klass: "String", leaf: "String#*")
    assert_equal truth, prof.sum("retained_size", func: /leak_kib_strings/, klass: "String", leaf: "String#*")
    # The leaf frame is the C method that allocated; the named method is its caller's caller.
    s = prof.select(func: /leak_kib_strings/, klass: "String").max_by { |x| x.value("retained_size") }
    assert_equal "String#*", s.locations.first.name
    assert(s.locations.any? { |l| l.name.end_with?("leak_kib_strings") && l.file == File.expand_path(__FILE__) && l.line.positive? })
  ensure
    c&.stop!
  end

  def test_retained_estimate_at_rate_0_1_is_within_5_sigma
    rate = 0.1
    n = 4000
    c = Collector.new(sample_rate: rate, max_heap_samples: 100_000)
    sink = []
    c.start!
    leak_kib_strings(n, sink)
    settle
    prof = decode(c.flush)
    avg = memsize_sum(sink).fdiv(n)
    # Each object is kept with probability p and weighs 1/p (scaled values).
    sigma_count = Math.sqrt(n * rate * (1 - rate)) / rate
    count = prof.sum("retained_objects", func: /leak_kib_strings/, klass: "String")
    size = prof.sum("retained_size", func: /leak_kib_strings/, klass: "String")
    assert_in_delta n, count, 5 * sigma_count
    assert_in_delta n * avg, size, 5 * sigma_count * avg
    assert_operator count, :>, 0
  ensure
    c&.stop!
  end

  def test_freed_objects_are_gone_from_the_next_profile
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000)
    sink = []
    c.start!
    leak_kib_strings(1000, sink)
    settle
    first = decode(c.flush)
    assert_equal 1000, first.sum("retained_objects", func: /leak_kib_strings/, klass: "String", leaf: "String#*")
    sink.clear
    settle
    second = decode(c.flush)
    # Conservative stack scanning may pin a stray one; the rest must be gone.
    assert_operator second.sum("retained_objects", func: /leak_kib_strings/), :<=, 5
    # Retained objects stay tracked across flushes; allocations do not.
    assert_equal 0, second.sum("allocations", func: /leak_kib_strings/)
  ensure
    c&.stop!
  end

  def test_allocations_section_counts_and_sizes
    c = Collector.new(sample_rate: 1, max_allocation_samples: 100_000, max_heap_samples: 100_000)
    c.start!
    allocate_probes(2000)
    settle
    # The heap is the oracle for what died: a conservatively marked stack
    # slot may keep the last probe alive (Ruby 3.3+ does).
    GC.disable
    in_heap = ObjectSpace.each_object(RmpAllocProbe).count
    prof = decode(c.flush)
    GC.enable
    assert_equal 2000, prof.sum("allocations", func: /allocate_probes/, klass: "RmpAllocProbe")
    assert_equal 2000 * ObjectSpace.memsize_of(RmpAllocProbe.new),
                 prof.sum("allocation_size", func: /allocate_probes/, klass: "RmpAllocProbe")
    # They died: allocated, but not retained.
    assert_operator in_heap, :<=, 2
    assert_equal in_heap, prof.sum("retained_objects", func: /allocate_probes/, klass: "RmpAllocProbe")
    # The allocations section is per interval.
    again = decode(c.flush)
    assert_equal 0, again.sum("allocations", func: /allocate_probes/)
  ensure
    GC.enable
    c&.stop!
  end

  def test_allocation_retain_rate_zero_empties_the_allocations_section
    c = Collector.new(sample_rate: 1, allocation_retain_rate: 0, max_heap_samples: 100_000)
    keep = []
    c.start!
    allocate_probes(500)
    leak_kib_strings(100, keep)
    settle
    prof = decode(c.flush)
    assert_equal 0, prof.samples.sum { |s| s.value("allocations") + s.value("allocation_size") }
    assert_equal 100, prof.sum("retained_objects", func: /leak_kib_strings/, klass: "String", leaf: "String#*")
  ensure
    c&.stop!
  end

  def make_objects(keep)
    anon = Class.new
    singleton = Object.new
    singleton.define_singleton_method(:hi) { 1 }
    keep << RmpNamedThing.new << anon.new << RmpStringSubclass.new("abc") << [1, 2] << { a: 1 } << singleton
    anon
  end

  def test_object_class_labels_including_anonymous_classes
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000)
    keep = []
    c.start!
    anon = make_objects(keep)
    settle
    prof = decode(c.flush)
    classes = prof.select(func: /make_objects/).map { |s| s.labels["object_class"] }.uniq
    %w[RmpNamedThing RmpStringSubclass Array Hash Object].each { |k| assert_includes classes, k }
    anon_label = classes.grep(/\A#<Class:0x\h+>\z/)
    refute_empty anon_label, "no anonymous-class label in #{classes.inspect}"
    assert_includes anon_label, anon.inspect
    # A singleton class is reported as the object's real class.
    refute(classes.any? { |k| k.start_with?("#<Class:#<") })
    # Every label is non-empty and either a class path or a <T_*> type tag.
    prof.classes.each { |k| assert_match(/\A(?:[A-Z][\w:]*|#<Class:0x\h+>|<T_[A-Z]+>|<hidden T_[A-Z]+>)\z/, k) }
  ensure
    c&.stop!
  end

  class RmpDeepThing; end

  def recurse_then_allocate(depth, keep)
    depth.zero? ? keep << RmpDeepThing.new : recurse_then_allocate(depth - 1, keep)
  end

  # Stacks deeper than the shim's 2048-frame buffer lose their root end.
  def test_deep_stacks_are_truncated_at_the_root
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000)
    keep = []
    c.start!
    recurse_then_allocate(3000, keep)
    settle
    prof = decode(c.flush)
    s = prof.select(klass: /RmpDeepThing/)
    assert_equal 1, s.sum { |x| x.value("retained_objects") }
    locs = s.first.locations
    assert_equal 2048, locs.size
    # The leaf end is kept: below any C frame of the allocation (Class#new
    # is a frame up to Ruby 3.4, inlined from 4.0), every frame is the
    # recursion, so the root end is what was cut.
    ruby_frames = locs.drop_while { |l| l.name == "Class#new" }
    assert_operator locs.size - ruby_frames.size, :<=, 1
    assert(ruby_frames.all? { |l| l.name.include?("recurse_then_allocate") }, locs.map(&:name).uniq.inspect)
    refute(locs.any? { |l| l.name.include?("test_deep_stacks_are_truncated_at_the_root") })
  ensure
    c&.stop!
  end

  # A thread whose body is a Symbol proc raises (no receiver) before any Ruby
  # or C method frame exists, so its ArgumentError is allocated on an empty
  # stack. go tool pprof drops samples without locations; the shim gives
  # them one synthetic frame instead.
  def test_allocations_without_ruby_frames_get_a_synthetic_frame
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000)
    errors = []
    c.start!
    5.times do
      t = Thread.new(&:rmp_no_receiver)
      t.report_on_exception = false
      begin
        t.join
      rescue ArgumentError => e
        errors << e
      end
    end
    settle
    prof = decode(c.flush)
    assert_equal 5, errors.size
    s = prof.select(klass: "ArgumentError")
    assert_equal 5, s.sum { |x| x.value("retained_objects") }
    s.each { |x| assert_equal ["(no Ruby frames)"], x.locations.map(&:name) }
  ensure
    c&.stop!
  end

  def comment_value(prof, key)
    line = prof.comments.find { |l| l.start_with?("#{key}=") }
    refute_nil line, "no #{key} comment in #{prof.comments.inspect}"
    Float(line.split("=", 2)[1])
  end

  # A full table is thinned, not dropped: the sample stays bounded and its
  # estimate stays unbiased. (The statistics are in the C suite; this
  # checks the shim passes weights and decisions through.)
  def keep_new_strings(n, sink) = n.times { |i| sink << "new #{i}" * 4 }

  # Retained means alive as of the last GC, as in Go's heap profiles.
  def test_objects_allocated_since_the_last_gc_are_not_yet_retained
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000)
    sink = []
    c.start!
    Thread.pass
    GC.start
    keep_new_strings(300, sink)
    Thread.pass # committed, but no GC since
    before_gc = decode(c.flush)
    assert_equal 0, before_gc.sum("retained_objects", func: /keep_new_strings/)
    assert_operator comment_value(before_gc, "young_objects_left_out"), :>=, 300
    assert_equal 300, before_gc.sum("allocations", func: /keep_new_strings/, klass: "String", leaf: "String#*")
    GC.start
    after_gc = decode(c.flush)
    assert_equal 300, after_gc.sum("retained_objects", func: /keep_new_strings/, klass: "String", leaf: "String#*")
    c.retain_new_objects = true
    keep_new_strings(200, sink)
    Thread.pass
    assert_equal 500, decode(c.flush).sum("retained_objects", func: /keep_new_strings/, klass: "String", leaf: "String#*")
  ensure
    c&.stop!
  end

  # The first thinning in a process says so once, through the logger.
  def test_the_first_thinning_is_logged_once_naming_the_setting
    code = <<~RUBY
      require "ruby_memprofiler_pprof"
      class Log; attr_reader :lines; def initialize = @lines = []; def warn(m) = @lines << m; end
      log = Log.new
      c = MemprofilerPprof::Collector.new(sample_rate: 1, max_heap_samples: 50, logger: log)
      c.start!
      keep = Array.new(2000) { Object.new }
      Thread.pass
      c.flush
      keep2 = Array.new(2000) { Object.new }
      Thread.pass
      print c.stats[:heap_thinnings], "\n", log.lines.join("\n")
    RUBY
    out, err, status = run_ruby(code)
    assert status.success?, err
    thinnings, *lines = out.lines(chomp: true)
    assert_operator Integer(thinnings), :>=, 2
    assert_equal 1, lines.size, out
    assert_match(/max_heap_samples \(50\)/, lines[0])
    assert_match(/RUBY_MEMPROFILER_PPROF_MAX_HEAP_SAMPLES/, lines[0])
  end

  # The logger is the app's and may release the GVL (here it sleeps, as a
  # write to a full pipe would): what the other threads allocate meanwhile
  # is sampled as usual. It was not, once: the shim's "inside the
  # profiler" flag, one for all threads, stayed set through the call, and a
  # CI run's retained estimate came out 13% short after its first thinning.
  def test_allocations_while_the_thinning_is_logged_are_sampled
    code = <<~RUBY
      require "ruby_memprofiler_pprof"
      class LoggedKept; end
      class SlowLog
        def initialize(q) = @q = q
        def warn(_m)
          @q << :logging
          sleep 0.5
        end
      end
      def keep_while_logging(kept) = 20_000.times { kept << LoggedKept.new }
      logging = Queue.new
      kept = []
      c = MemprofilerPprof::Collector.new(sample_rate: 1, max_heap_samples: 5000, logger: SlowLog.new(logging))
      worker = Thread.new { logging.pop; keep_while_logging(kept) }
      c.start!
      junk = Array.new(6000) { Object.new }
      worker.join(10) or abort("the thinning was never logged")
      GC.start(full_mark: true, immediate_sweep: true)
      Thread.pass
      File.binwrite(ARGV[0], c.flush)
      print c.stats[:heap_thinnings], " ", kept.size, " ", junk.size
    RUBY
    Dir.mktmpdir("rmp-log") do |dir|
      path = File.join(dir, "p.pb.gz")
      out, err, status = run_ruby_args(code, [path])
      assert status.success?, err
      thinnings, kept = out.split.map { |x| Integer(x) }
      assert_operator thinnings, :>=, 1
      assert_equal 20_000, kept
      # Horvitz-Thompson: each kept object stands for at most 2^t with
      # probability at least 2^-t; five standard deviations.
      slack = 5 * Math.sqrt(kept * ((2**thinnings) - 1))
      assert_in_delta kept, decode(File.binread(path)).sum("retained_objects", func: /keep_while_logging/,
                                                                             klass: /LoggedKept/), slack, out
    end
  end

  def test_max_heap_samples_bounds_the_table_by_thinning
    c = Collector.new(sample_rate: 1, max_heap_samples: 100)
    sink = []
    c.start!
    leak_kib_strings(1000, sink)
    settle
    stats = c.stats
    assert_operator stats[:live_samples], :<=, 100
    assert_operator stats[:heap_thinnings], :>=, 2
    assert_equal 0, stats[:heap_samples_dropped]
    prof = decode(c.flush)
    p = comment_value(prof, "heap_sample_probability")
    assert_in_delta 0.5**stats[:heap_thinnings], p, 1e-12
    assert_operator comment_value(prof, "heap_thinnings"), :>=, 2
    assert_equal 0, comment_value(prof, "dropped_heap_samples")
    # Each object is in the table with probability >= p: sd <= sqrt(n (1/p - 1)).
    est = prof.sum("retained_objects", func: /leak_kib_strings/, leaf: "String#*")
    assert_in_delta 1000, est, 5 * Math.sqrt(1000 * (1 / p - 1))
    assert_operator prof.samples.size, :<=, 100
  ensure
    c&.stop!
  end

  def test_max_allocation_samples_bounds_the_section_by_a_uniform_reservoir
    c = Collector.new(sample_rate: 1, max_allocation_samples: 50, max_heap_samples: 100_000)
    c.start!
    allocate_probes(1000)
    settle
    assert_equal 0, c.stats[:allocation_samples_dropped]
    prof = decode(c.flush)
    n = comment_value(prof, "allocation_candidates")
    assert_operator n, :>=, 1000
    assert_equal 50, comment_value(prof, "allocation_samples")
    assert_equal 0, comment_value(prof, "dropped_allocation_samples")
    # 50 drawn without replacement from n, of which 1000 are probes.
    q = 1000 / n
    sd = n * Math.sqrt(q * (1 - q) / 50 * (n - 50) / (n - 1))
    est = prof.sum("allocations", func: /allocate_probes/, klass: "RmpAllocProbe")
    assert_in_delta 1000, est, 5 * sd + 1
  ensure
    c&.stop!
  end
end
