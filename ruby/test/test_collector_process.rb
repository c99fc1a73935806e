# frozen_string_literal: true

require_relative "collector_support"

class RmpParentThing; end
class RmpChildThing; end

# fork (through Process._fork) and Ractors.
class TestCollectorProcess < Minitest::Test
  include CollectorSupport
  Collector = MemprofilerPprof::Collector

  def make_parent_things(keep)
    300.times { keep << RmpParentThing.new }
  end

  def make_child_things(keep)
    500.times { keep << RmpChildThing.new }
  end

  def test_fork_child_profiles_its_own_allocations_and_keeps_inherited_samples
    skip "no fork" unless Process.respond_to?(:fork)
    c = Collector.new(sample_rate: 1, max_heap_samples: 100_000)
    parent_keep = []
    child_keep = []
    hook_ran = false
    hook = -> { hook_ran = true }
    MemprofilerPprof.after_fork_child_hooks << hook
    c.start!
    make_parent_things(parent_keep)
    settle
    Dir.mktmpdir do |dir|
      path = File.join(dir, "child.pb.gz")
      pid = fork do
        status = 1
        begin
          make_child_things(child_keep)
          settle
          File.binwrite(path, c.flush) if c.running? && hook_ran
          status = 0
        ensure
          exit!(status)
        end
      end
      _, st = Process.wait2(pid)
      assert st.success?, "child failed: #{st.inspect}"
      child = decode(File.binread(path))
      assert_equal 500, child.sum("retained_objects", func: /make_child_things/, klass: "RmpChildThing")
      assert_equal 300, child.sum("retained_objects", func: /make_parent_things/, klass: "RmpParentThing")
      # The parent's allocations are the parent's to report: merging both
      # processes' profiles must count them once.
      assert_equal 500, child.sum("allocations", func: /make_child_things/, klass: "RmpChildThing")
      assert_equal 0, child.sum("allocations", func: /make_parent_things/)
      parent = decode(c.flush)
      assert_equal 0, parent.sum("retained_objects", klass: "RmpChildThing")
      assert_equal 300, parent.sum("retained_objects", func: /make_parent_things/, klass: "RmpParentThing")
    end
  ensure
    MemprofilerPprof.after_fork_child_hooks.delete(hook)
    c&.stop!
  end

  def test_allocations_in_a_non_main_ractor_are_ignored
    Dir.mktmpdir do |dir|
      path = File.join(dir, "ractor.pb.gz")
      code = <<~RUBY
        require "ruby_memprofiler_pprof/collector"
        def ractor_work
          r = Ractor.new { a = []; 2000.times { |i| a << "ractor-\#{i}" }; a.size }
          r.respond_to?(:value) ? r.value : r.take # Ractor#take is gone in 4.0
        end
        def main_work(keep)
          100.times { |i| keep << "main-\#{i}" }
        end
        c = MemprofilerPprof::Collector.new(sample_rate: 1, max_heap_samples: 100_000)
        c.start!
        keep = []
        main_work(keep)
        n = ractor_work
        GC.start
        first_missed = c.stats[:liveness_missed_gcs]
        paused = c.stats[:sampling_paused_for_ractors]
        File.binwrite(#{path.dump}, c.flush)
        sleep 0.01 until Ractor.count == 1
        c.flush # resumes sampling
        keep2 = []
        main_work(keep2)
        GC.start
        File.binwrite(#{path.dump} + ".2", c.flush)
        c.stop!
        print n, " ", paused, " ", first_missed
      RUBY
      out, err, status = run_ruby(code)
      assert status.success?, "ractor child failed: #{status.inspect}\n#{err}"
      n, paused, first_missed = out.split.map { |x| Integer(x) }
      assert_equal [2000, 1], [n, paused]
      # A GC that the Ractor starts (Ruby 3.4+ does, for its 2000 strings)
      # runs without the liveness pass, so the entries it might have freed
      # are dropped and counted: then the first 100 are gone.
      first_kept = first_missed.zero? ? 100 : 0
      resumed = decode(File.binread("#{path}.2"))
      # Sampling resumed: this interval allocated 100 more from main_work.
      assert_operator resumed.sum("allocations", func: /main_work/, klass: "String"), :>=, 100
      assert_equal first_kept + 100, resumed.sum("retained_objects", func: /main_work/, klass: "String", leaf: /main_work/)
      prof = decode(File.binread(path))
      assert_equal first_kept, prof.sum("retained_objects", func: /main_work/, klass: "String", leaf: /main_work/)
      assert_includes prof.comments, "liveness_missed_gcs=#{first_missed}"
      # The Ractor made 2000 strings (and as many Integer#to_s temporaries);
      # none may appear. Main-Ractor code made a few hundred at most.
      assert_operator prof.sum("allocations", klass: "String"), :<, 1000
    end
  end

  # The extension is not Ractor-safe, so the Ractor.new hook must not call
  # into it from a non-main Ractor (Ractor::UnsafeError there).
  def test_a_ractor_can_start_another_ractor
    code = <<~RUBY
      require "ruby_memprofiler_pprof/collector"
      c = MemprofilerPprof::Collector.new(sample_rate: 1)
      c.start!
      # Ractor#take is gone in 4.0; Ractor#value replaces it.
      r = Ractor.new { inner = Ractor.new { 6 * 7 }; inner.respond_to?(:value) ? inner.value : inner.take }
      print r.respond_to?(:value) ? r.value : r.take, " ", c.stats[:sampling_paused_for_ractors]
      c.stop!
    RUBY
    out, err, status = run_ruby(code)
    assert status.success?, "nested ractor failed: #{status.inspect}\n#{err}"
    assert_equal "42 1", out
  end

end
