# frozen_string_literal: true

require_relative "collector_support"

# Flush shares the profiler's stack and string tables with the profile it
# encodes without the GVL, and compacts them there too, while other threads
# keep allocating into them (and GC.compact moves objects and frame keys,
# GC.stress collects at every allocation). Every profile must decode, and the retained objects must come
# out exactly, under the stacks that made them.
class TestCollectorFlushThreads < Minitest::Test
  include CollectorSupport
  Collector = MemprofilerPprof::Collector

  def teardown
    super
    GC.stress = false
  end

  # Three call sites, one per thread, each reached over thousands of
  # distinct stacks (a recursion that takes one of two lines per level), so
  # that the trie keeps growing and flushes compact it.
  def flush_site_a(n, kept)
    return kept << "a-#{kept.size}" * 3 if n < 2

    if n.odd?
      flush_site_a(n / 2, kept)
    else
      flush_site_a(n / 2, kept)
    end
  end

  def flush_site_b(n, kept)
    return kept << [kept.size, "b"] if n < 2

    if n.odd?
      flush_site_b(n / 2, kept)
    else
      flush_site_b(n / 2, kept)
    end
  end

  def flush_site_c(n, kept)
    return kept << { kept.size => "c" } if n < 2

    if n.odd?
      flush_site_c(n / 2, kept)
    else
      flush_site_c(n / 2, kept)
    end
  end

  def allocating_thread(site, stop)
    Thread.new do
      kept = []
      i = 0
      until stop[0]
        send(site, 4096 + (i % 4096), kept)
        send(site, 4096 + ((i * 7) % 4096), []) # garbage
        kept.shift(500) if kept.size > 3000
        i += 1
      end
      # shift leaves kept sharing a buffer that still holds the 500 it shifted
      # off, and marks them, until the next push copies it: a copy of our own,
      # so that the heap holds exactly what the thread returns (a CI run on 4.0
      # counted 3001 retained arrays for 2501 kept when the thread stopped
      # right after a shift).
      Array.new(kept.size) { |j| kept[j] }
    end
  end

  def test_flush_while_threads_allocate_under_compaction_and_stress
    c = Collector.new(sample_rate: 1, max_heap_samples: 1_000_000, max_allocation_samples: 1000)
    c.start!
    stop = [false]
    threads = %i[flush_site_a flush_site_b flush_site_c].map { |site| allocating_thread(site, stop) }
    profiles = []
    12.times do |round|
      sleep 0.02
      GC.compact if round % 3 == 2 && GC.respond_to?(:compact)
      profiles << c.flush
    end
    GC.stress = true
    profiles << c.flush
    GC.stress = false
    stop[0] = true
    kept = threads.map(&:value)
    GC.start
    final = decode(c.flush)
    profiles.each { |p| refute_empty decode(p).samples }
    refute c.send(:_last_encode_held_gvl), "flush encoded while holding the GVL"
    assert_operator c.stats[:stack_compactions], :>=, 1, "no flush compacted: #{c.stats.slice(:stacks)}"
    [[/flush_site_a/, "String", "String#*", kept[0]], [/flush_site_b/, "Array", /flush_site_b/, kept[1]],
     [/flush_site_c/, "Hash", /flush_site_c/, kept[2]]].each do |func, klass, leaf, objs|
      assert_operator objs.size, :>, 0
      assert_equal objs.size, final.sum("retained_objects", func: func, klass: klass, leaf: leaf), "#{func} #{klass}"
    end
  ensure
    stop[0] = true if stop
    threads&.each(&:join)
    c&.stop!
  end
end
