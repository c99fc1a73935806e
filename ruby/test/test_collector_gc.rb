# frozen_string_literal: true

require_relative "collector_support"

# Compaction, GC.stress and threads: attribution must survive them, not
# merely avoid crashing.
class TestCollectorGc < Minitest::Test
  include CollectorSupport
  Collector = MemprofilerPprof::Collector

  def teardown
    super
    GC.stress = false
    GC.auto_compact = false
    GC.enable
  end

  def leak_strings(n, sink)
    n.times { |i| sink << "compact-me-#{i}" * 20 }
  end

  def leak_arrays(n, sink)
    n.times { |i| sink << [i, i.to_s, nil] }
  end

  # Makes holes for compaction to fill by freeing every other object.
  def fragment(list)
    list.each_index { |i| list[i] = nil if i.odd? }
    list.compact!
  end

  def totals(prof)
    { strings: [prof.sum("retained_objects", func: /leak_strings/, klass: "String", leaf: "String#*"),
                prof.sum("retained_size", func: /leak_strings/, klass: "String", leaf: "String#*")],
      arrays: [prof.sum("retained_objects", func: /leak_arrays/, klass: "Array"),
               prof.sum("retained_size", func: /leak_arrays/, klass: "Array")] }
  end

  def test_gc_compact_twice_keeps_attribution
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000, max_allocation_samples: 100_000)
    strings = []
    arrays = []
    c.start!
    Array.new(20_000) { Object.new } # garbage: holes for compaction to fill
    leak_strings(2000, strings)
    leak_arrays(2000, arrays)
    fragment(strings)
    fragment(arrays)
    settle
    before = totals(decode(c.flush))
    assert_equal 1000, before[:strings][0]
    assert_equal 1000, before[:arrays][0]
    moved = 0
    2.times do
      GC.compact
      moved += GC.latest_compact_info[:moved].values.sum
    end
    assert_operator moved, :>, 0, "GC.compact moved nothing; the test proves nothing"
    assert_operator c.stats[:compaction_moved], :>, 0, "no tracked object moved"
    # Liveness after compaction: a sweep at the next mark must find the
    # moved objects at their new addresses.
    settle
    Array.new(20_000) { Object.new } # reuses the freed slots
    settle
    after = totals(decode(c.flush))
    assert_equal before, after
    assert_equal memsize_sum(strings), after[:strings][1]
    assert_equal memsize_sum(arrays), after[:arrays][1]
  ensure
    c&.stop!
  end

  def test_auto_compact_run_keeps_attribution
    skip "GC.auto_compact unsupported" unless GC.respond_to?(:auto_compact=)
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000, max_allocation_samples: 100_000)
    strings = []
    arrays = []
    GC.auto_compact = true
    c.start!
    5.times do
      Array.new(5000) { Object.new }
      leak_strings(200, strings)
      leak_arrays(200, arrays)
      GC.start
    end
    settle
    prof = decode(c.flush)
    assert_equal [1000, memsize_sum(strings)], totals(prof)[:strings]
    assert_equal [1000, memsize_sum(arrays)], totals(prof)[:arrays]
  ensure
    GC.auto_compact = false
    c&.stop!
  end

  class StressKept; end

  def stress_allocate(n, keep)
    n.times { |i| (i % 3).zero? ? keep << StressKept.new : "g#{i}" }
  end

  def test_gc_stress_short_run
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000, max_allocation_samples: 100_000)
    keep = []
    c.start!
    GC.stress = true
    begin
      stress_allocate(300, keep)
    ensure
      GC.stress = false
    end
    settle
    prof = decode(c.flush)
    assert_equal 100, prof.sum("retained_objects", func: /stress_allocate/, klass: /StressKept/)
    # Bounded: nothing beyond what this process really allocated is tracked.
    assert_operator c.stats[:live_samples], :<=, c.stats[:samples_taken]
    keep.clear
    settle
    GC.disable
    in_heap = ObjectSpace.each_object(StressKept).count
    data = c.flush
    GC.enable
    prof = decode(data)
    assert_equal in_heap, prof.sum("retained_objects", func: /stress_allocate/, klass: /StressKept/)
    assert_operator in_heap, :<=, 5
  ensure
    GC.stress = false
    c&.stop!
  end

  class ThreadKept; end

  def thread_work(id, keep, stop)
    i = 0
    until stop.true?
      keep << ThreadKept.new if (i % 10).zero?
      _garbage = "t#{id}-#{i}"
      Array.new(4) { i }
      i += 1
    end
  end

  # A tiny stand-in for a flag shared between threads.
  class Flag
    def initialize
      @v = false
    end

    def set!
      @v = true
    end

    def true?
      @v
    end
  end

  def test_four_allocating_threads_and_a_flushing_thread
    c = Collector.new(sample_rate: 1, max_heap_samples: 500_000, max_allocation_samples: 20_000)
    stop = Flag.new
    keeps = Array.new(4) { [] }
    profiles = Queue.new
    c.start!
    workers = 4.times.map { |id| Thread.new { thread_work(id, keeps[id], stop) } }
    # Two flushing threads: concurrent flushes must serialise, not race.
    flushers = 2.times.map do
      Thread.new do
        until stop.true?
          profiles << c.flush
          sleep 0.1
        end
      end
    end
    # The flusher competes with four busy threads for the GVL, so wait for
    # flushes rather than for a fixed time.
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
    sleep 0.1 until profiles.size >= 5 || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    stop.set!
    workers.each(&:join)
    flushers.each(&:join)
    settle
    final = decode(c.flush)
    intermediate = []
    intermediate << profiles.pop until profiles.empty?
    assert_operator intermediate.size, :>=, 5
    # Every concurrent flush produced a profile go tool pprof accepts.
    [intermediate.first, intermediate[intermediate.size / 2], intermediate.last].each { |d| decode(d) }
    # Exact while the live table is not thinned. At rate 1 the garbage
    # allocated between two GCs can fill it (CI runs on 3.4 and 4.0 did),
    # and the sums are then Horvitz-Thompson estimates: after t thinnings
    # each kept object stands for up to 2^t with probability down to 2^-t,
    # so their variance is at most sum(x^2) * (2^t - 1); five standard
    # deviations of slack, none without thinning.
    thinnings = c.stats[:heap_thinnings]
    kept = keeps.flatten(1)
    slack = ->(xs) { 5 * Math.sqrt(xs.sum { |x| x * x } * ((2**thinnings) - 1)) }
    info = c.stats.slice(:liveness_missed_gcs, :liveness_dropped, :gc_sweeps, :pending_dropped, :heap_thinnings).inspect
    assert_in_delta kept.size, final.sum("retained_objects", func: /thread_work/, klass: /ThreadKept/),
                    slack.call(kept.map { 1 }), info
    sizes = kept.map { |o| ObjectSpace.memsize_of(o) }
    assert_in_delta sizes.sum, final.sum("retained_size", func: /thread_work/, klass: /ThreadKept/), slack.call(sizes), info
    assert_equal 0, c.stats[:stacks_dropped], "stacks_dropped"
  ensure
    stop&.set!
    c&.stop!
  end
  class OracleOld; end
  class OracleYoung; end
  # Its own class: old objects of a test outlive it in the minor GCs of the
  # next, where the heap oracle would count them.
  class IncrementalKept; end
  ORACLE = { "old" => OracleOld, "young" => OracleYoung }.freeze

  # Dedicated classes: nothing else allocated here has them (a String group
  # would also count Integer#to_s temporaries kept by conservative marking).
  def make_old_group(n, keep)
    n.times { keep << OracleOld.new }
  end

  def make_young_group(n, keep)
    n.times { keep << OracleYoung.new }
  end

  # Objects of a group still in the heap (not yet freed): the oracle.
  def in_heap(tag)
    ObjectSpace.each_object(ORACLE.fetch(tag)).count
  end

  # The heap oracle and the flush must see the same heap: no GC in between.
  def heap_and_profile(collector)
    GC.disable
    heap = { "old" => in_heap("old"), "young" => in_heap("young") }
    data = collector.flush
    GC.enable
    [heap, decode(data)]
  ensure
    GC.enable
  end

  class AuditKept; end

  def audit_round(keep, round)
    3000.times do |i|
      keep << (i.even? ? "audit-#{round}-#{i}" : AuditKept.new) if (i % 3).zero?
      Array.new(2) { i } # garbage
    end
  end

  # The mark-bit pass against a FREEOBJ hook's ground truth (the test
  # build's shadow table): after every finished sweep, minor or major, with
  # compaction and with objects dying at every age, the live table holds
  # exactly the sampled objects Ruby has not freed. Returns the heap bits'
  # state after each round.
  def audit_rounds(rounds)
    c = Collector.new(sample_rate: 0.5, max_heap_samples: 500_000, max_allocation_samples: 10)
    keep = []
    c.send(:_audit_start) # first, so that it shadows every commit
    c.start!
    checked = 0
    states = Array.new(rounds) do |round|
      audit_round(keep, round)
      keep.shift(700) if round.odd? # objects of every age die
      Thread.pass
      case round % 4
      when 0, 1 then GC.start(full_mark: false, immediate_sweep: true)
      when 2 then GC.start(full_mark: true, immediate_sweep: true)
      when 3 then GC.respond_to?(:compact) ? GC.compact : GC.start
      end
      Thread.pass
      freed, lost, shadow = c.send(:_audit)
      assert_equal [0, 0], [freed, lost], "round #{round}: #{c.stats.slice(:gc_sweeps, :liveness_missed_gcs, :liveness_heap_bits)}"
      checked += shadow
      c.stats[:liveness_heap_bits]
    end
    assert_operator checked, :>, rounds * 500, "the audit tracked too little to prove anything"
    assert_equal 0, c.stats[:liveness_missed_gcs]
    [states, c.stats[:liveness_probe]]
  ensure
    c&.send(:_audit_stop)
    c&.stop!
  end

  # Where the default GC's page layout is known (3.3, 3.4, 4.0), the pass
  # reads mark and age bits in place once they agreed with the exported
  # probe on enough entries (heap_bits.h): here within the first rounds, so
  # that most of the audit covers them.
  def test_mark_bit_liveness_matches_the_freeobj_ground_truth
    skip "liveness is the FREEOBJ hook itself" unless MemprofilerPprof::LIVENESS == "gc_end_mark"
    Collector._heap_bits_recheck(0)
    states, probe = audit_rounds(24)
    if heap_bits_expected?
      assert_equal "trusted", states[4], "heap bits by round: #{states.inspect}"
      assert_equal ["trusted"], states.drop(4).uniq
      assert_equal "heap_page_bits", probe
    else
      assert_equal ["unavailable"], states.uniq
    end
  end

  # A wrong layout (here the mark bitmap read one bitmap too far on, the
  # uncollectible bits) is refused at the first disagreement, and the pass
  # stays exact on the exported probe.
  def test_heap_bits_of_a_wrong_layout_are_refused
    skip "no in-place reads on this Ruby" unless MemprofilerPprof::LIVENESS == "gc_end_mark" && heap_bits_expected?
    Collector._heap_bits_recheck(26 * 8)
    states, probe = audit_rounds(8)
    assert_equal "refused", states.first, "heap bits by round: #{states.inspect}"
    assert_equal ["refused"], states.uniq
    refute_equal "heap_page_bits", probe
  ensure
    Collector._heap_bits_recheck(0)
  end

  def heap_bits_expected?
    [[3, 3], [3, 4], [4, 0]].include?(RUBY_VERSION.split(".").first(2).map(&:to_i)) && [nil].pack("p").size == 8
  end

  # GC.start(immediate_mark: false) leaves a major GC marking between
  # allocations: counted already, its pass still to come. A flush then must
  # not take it for a GC that ran without the pass.
  def test_a_flush_during_incremental_marking_drops_nothing
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000)
    keep = []
    c.start!
    1000.times { keep << IncrementalKept.new }
    settle
    # From Ruby 3.3 a major GC marks incrementally only when many objects
    # were allocated since the last one, and (3.4) the postponed job that a
    # sample leaves behind can finish the marking before the flush: nothing
    # is sampled from here on.
    c.sample_rate = 0
    # Whether a major GC marks incrementally is Ruby's own call, and it
    # sometimes finishes the marking before the check (seen once on 4.0 in
    # CI, state :none): a few tries, each after a GC that finished.
    states = []
    data = nil
    5.times do
      ballast = Array.new(300_000) { Object.new }
      GC.start(full_mark: true, immediate_mark: false)
      states << GC.latest_gc_info(:state)
      if states.last == :marking
        data = c.flush
        assert_equal 300_000, ballast.size
        break
      end
      settle
    end
    assert_equal :marking, states.last,
                 "the GC never marked incrementally (#{states.inspect}), so this proves nothing"
    assert_equal 0, c.stats[:liveness_missed_gcs]
    assert_equal 1000, decode(data).sum("retained_objects", func: /test_a_flush_during_incremental_marking/,
                                         klass: /IncrementalKept/)
  ensure
    c&.stop!
  end

  # Minor GCs skip entries already seen old; the tracked set must still be
  # exactly what the heap holds, after minor and then major GCs. (Ruby may
  # turn a requested minor GC into a major one, so only equality with the
  # heap is asserted, not which objects a given GC freed.)
  def test_tracked_set_matches_the_heap_across_minor_and_major_gcs
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000, max_allocation_samples: 100_000)
    old = []
    young = []
    c.start!
    make_old_group(1000, old)
    4.times { GC.start(full_mark: false, immediate_sweep: true) }
    c.flush # keeps the old flags; ages in the profile must not see them
    4.times { GC.start(full_mark: false, immediate_sweep: true) }
    # A fresh (young) holder: an old one would promote its young children
    # straight to old at the next minor GC.
    young = []
    make_young_group(1000, young)
    GC.start(full_mark: false, immediate_sweep: true)
    old.clear
    young.clear
    GC.start(full_mark: false, immediate_sweep: true)
    heap, prof = heap_and_profile(c)
    assert_equal heap["old"], prof.sum("retained_objects", func: /make_old_group/, klass: /OracleOld/), "old after minor"
    assert_equal heap["young"], prof.sum("retained_objects", func: /make_young_group/, klass: /OracleYoung/),
                 "young after minor"
    GC.start(full_mark: true, immediate_sweep: true)
    heap, prof = heap_and_profile(c)
    assert_equal heap["old"], prof.sum("retained_objects", func: /make_old_group/, klass: /OracleOld/), "old after major"
    assert_operator heap["old"], :<=, 5
  ensure
    c&.stop!
  end

  # A GC that runs without the liveness pass: up to 3.4 one that another
  # Ractor starts (internal hooks are per Ractor there), up to 3.1 one that
  # starts inside another NEWOBJ hook. Objects it freed stay in the table,
  # and once their slots hold live objects a later pass would keep them:
  # the dead objects must not come back as retained, and what was committed
  # after that GC must stay. The test build skips the pass on demand, so
  # this runs on every Ruby.
  MISSED_GC_SETUP = <<~RUBY
    require "ruby_memprofiler_pprof/collector"
    def garbage_site = "g" * 10
    def keep_site = "k" * 10
    def keep_after = "a" * 10
    c = MemprofilerPprof::Collector.new(sample_rate: 0.05, max_heap_samples: 200_000, max_allocation_samples: 10)
    keep = []
    garbage = []
    # A major GC still marking at start! would be counted in GC.count before
    # it and passed after it: start from a finished GC.
    GC.start(full_mark: true, immediate_sweep: true)
    c.start!
    gcs = GC.count
    200_000.times { |i| garbage << garbage_site; keep << keep_site if (i % 4).zero? }
    Thread.pass
  RUBY

  MISSED_GC_FINISH = <<~RUBY
    # Live objects in the freed slots.
    reuse = Array.new(1_000_000) { "r" * 10 }
    GC.enable
    GC.start(full_mark: true, immediate_sweep: true)
    File.binwrite(ARGV[0] + ".missed", c.flush) # also resumes sampling after a Ractor
    2000.times { keep << keep_after }
    Thread.pass
    GC.start(full_mark: true, immediate_sweep: true)
    s = c.stats
    File.binwrite(ARGV[0], c.flush)
    print GC.count - gcs, " ", s[:gc_sweeps], " ", s[:liveness_missed_gcs], " ", s[:liveness_dropped], " ", reuse.size
  RUBY

  # Runs setup, then `miss` (which must let the garbage go and run a GC),
  # then the finish; returns [gcs, passes, missed, dropped, profile at the
  # missed GC, final profile].
  def run_missed_gc(miss)
    Dir.mktmpdir do |dir|
      path = File.join(dir, "missed.pb.gz")
      out, err, status = run_ruby_args(MISSED_GC_SETUP + miss + MISSED_GC_FINISH, [path])
      assert status.success?, "child failed: #{status.inspect}\n#{err}"
      gcs, passes, missed, dropped = out.split.map { |x| Integer(x) }
      # Every GC either ran the pass or was counted as missed.
      assert_equal gcs, passes + missed
      [gcs, passes, missed, dropped, decode(File.binread("#{path}.missed")), decode(File.binread(path))]
    end
  end

  def assert_no_dead_object_and_the_rest_kept(prof)
    assert_equal 0, prof.sum("retained_objects", func: /garbage_site/, klass: "String")
    after = prof.sum("retained_objects", func: /keep_after/, klass: "String")
    assert_in_delta 2000, after, 5 * Math.sqrt(2000 * 0.05 * 0.95) / 0.05
  end

  def test_gcs_that_skip_the_liveness_pass_leave_no_dead_object_in_the_profile
    _, _, missed, dropped, at_missed, prof = run_missed_gc(<<~RUBY)
      GC.disable
      MemprofilerPprof::Collector._skip_liveness_passes(1)
      garbage.clear
      GC.start(full_mark: true, immediate_sweep: true)
    RUBY
    assert_equal 1, missed
    assert_operator dropped, :>, 0
    assert_no_dead_object_and_the_rest_kept(prof)
    # Comments count each interval's: the missed GC was in the first.
    assert_includes at_missed.comments, "liveness_missed_gcs=1"
    assert_includes prof.comments, "liveness_missed_gcs=0"
  end

  # The same through a real Ractor. Whether its GC runs our pass depends on
  # the Ruby (not from 4.0); either way nothing dead may be reported.
  def test_a_gc_another_ractor_starts_leaves_no_dead_object_in_the_profile
    _, _, missed, dropped, at_missed, prof = run_missed_gc(<<~RUBY)
      def join(r) = r.respond_to?(:value) ? r.value : r.take # Ractor#take is gone in 4.0
      # Starting a Ractor runs a GC of the main Ractor's own, so the
      # garbage is let go only once the Ractor exists.
      r = Ractor.new { Ractor.receive; GC.start(full_mark: true, immediate_sweep: true); :done }
      GC.disable
      garbage.clear
      r.send(:go)
      join(r)
      sleep 0.01 until Ractor.count == 1
    RUBY
    assert_operator dropped, :>, 0 if missed.positive?
    assert_no_dead_object_and_the_rest_kept(prof)
    assert_includes at_missed.comments, "liveness_missed_gcs=#{missed}"
  end

  def wrap_before(n, keep) = n.times { keep << "wrap-before" * 3 }
  def wrap_after(n, keep) = n.times { keep << "wrap-after" * 3 }
  def wrap_garbage(n) = n.times { "wrap-garbage" * 3 }

  def minor_gcs(n) = n.times { GC.start(full_mark: false, immediate_sweep: true) }

  # Epochs are GC counts modulo 2^32 (the old flag is a field of its own).
  # Across the wrap, young garbage still goes in the minor GC that frees it,
  # and ages come out right on both sides.
  def test_minor_gc_drops_and_ages_survive_the_epoch_wrap
    Collector._set_epoch_offset((2**32 - 3 - GC.count) % 2**32) # wraps 3 GCs from now
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000, max_allocation_samples: 10)
    keep = []
    c.start!
    wrap_before(1000, keep)
    minor_gcs(6)
    wrap_after(1000, keep)
    minor_gcs(5) # both groups old now, and flagged so
    wrap_garbage(1000)
    Thread.pass
    swept = c.stats[:gc_swept]
    minor_gcs(1)
    # The heap says how much garbage is left: a conservatively marked stack
    # slot may keep a string alive (more of them under ASan).
    target = "wrap-garbage" * 3
    GC.disable
    in_heap = ObjectSpace.each_object(String).count { |x| !x.equal?(target) && x == target }
    swept = c.stats[:gc_swept] - swept
    prof = decode(c.flush)
    GC.enable
    assert_operator in_heap, :<=, 2
    assert_operator swept, :>=, 1000 - in_heap, "the garbage must go in the GC that freed it"
    assert_equal 1000, prof.sum("retained_objects", func: /wrap_before/, klass: "String")
    assert_equal 1000, prof.sum("retained_objects", func: /wrap_after/, klass: "String")
    assert_equal in_heap, prof.sum("retained_objects", func: /wrap_garbage/, klass: "String")
    age = ->(site) { prof.select(func: site, klass: "String").map { |x| x.labels["allocation_age"] }.uniq }
    assert_equal ["8 gcs"], age.call(/wrap_before/) # 12 GCs
    assert_equal ["4 gcs"], age.call(/wrap_after/) # 6 GCs
  ensure
    GC.enable
    Collector._set_epoch_offset(0)
    c&.stop!
  end
end
