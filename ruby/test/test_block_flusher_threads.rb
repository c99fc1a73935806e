# frozen_string_literal: true

require_relative "rmp_test_helper"
require "ruby_memprofiler_pprof"

# The real Collector under a BlockFlusher flushing every 100 ms while four
# threads allocate: every profile is usable and nothing the threads kept is
# lost or double-counted across the concurrent flushes.
class TestBlockFlusherThreads < Minitest::Test
  include RmpTestHelper

  PER_ROUND = 200

  def rmp_thread_worker(id, keep, stop)
    round = 0
    until stop.true?
      PER_ROUND.times { |i| keep << "rmp-thread-#{id}-#{round}-#{i}" }
      round += 1
      Thread.pass
    end
  end

  class Flag
    def initialize = @set = false
    def set! = @set = true
    def true? = @set
  end

  def test_four_allocating_threads_with_a_block_flusher
    collector = MemprofilerPprof::Collector.new(sample_rate: 1, max_heap_samples: 2_000_000,
                                                max_allocation_samples: 50_000)
    profiles = Queue.new
    flusher = MemprofilerPprof::BlockFlusher.new(collector, interval: 0.1, on_flush: ->(data) { profiles << [Thread.current, data] })
    stop = Flag.new
    keeps = Array.new(4) { [] }
    collector.start!
    flusher.start!
    workers = 4.times.map { |id| Thread.new { rmp_thread_worker(id, keeps[id], stop) } }
    assert wait_until(timeout: 60) { profiles.size >= 5 }, "fewer than 5 periodic flushes in 60 s"
    stop.set!
    workers.each(&:join)
    GC.start # the interpolation temporaries die; the kept strings stay
    flusher.stop!
    collector.stop!

    flushes = []
    flushes << profiles.pop until profiles.empty?
    threads = flushes.map(&:first)
    assert_equal [Thread.current], threads.select { |t| t == Thread.current }, "stop! must flush exactly once, itself"
    assert_equal Thread.current, threads.last, "the final flush comes last"
    all = flushes.map(&:last)
    all.each { |d| Zlib.gunzip(d) }

    Dir.mktmpdir("rmp-threads") do |dir|
      paths = all.each_with_index.map do |d, i|
        File.join(dir, "p#{i}.pprof").tap { |p| File.binwrite(p, d) }
      end
      [paths.first, paths[paths.size / 2]].each do |p|
        _, err, status = go_pprof("-top", p)
        assert status.success?, err
      end
      out, err, status = go_pprof("-top", "-sample_index=retained_objects", "-tagfocus=object_class=^String$",
                                  "-nodecount=1000", paths.last)
      assert status.success?, err
      row = out.lines.find { |l| l.include?("rmp_thread_worker") }
      refute_nil row, out
      flat = Integer(row.split.first)
      assert_equal keeps.sum(&:size), flat, "retained Strings attributed to the workers"
    end
  end
end
