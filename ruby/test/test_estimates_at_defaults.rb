# frozen_string_literal: true

require_relative "rmp_test_helper"
require_relative "collector_support"

# The README's promise, that values estimate the true totals, at the
# wrapper's defaults (sample rate 1, 50,000 heap samples, 10,000 allocation
# samples) on a program whose live set and allocations are many times those
# bounds. The truth is measured in the program itself; go tool pprof reads
# the estimate.
class TestEstimatesAtDefaults < Minitest::Test
  include RmpTestHelper

  def setup
    @dir = Dir.mktmpdir("rmp-defaults")
  end

  def teardown
    FileUtils.rm_rf(@dir)
  end

  def run_app(source)
    File.write(File.join(@dir, "app.rb"), source)
    env = clean_env("RUBY_MEMPROFILER_PPROF_FILE_PATTERN" => "profiles/mem.pprof")
    out, err, status = run_cmd(env, RUBY, File.join(RUBY_DIR, "exe", "ruby_memprofiler_pprof_profile"), RUBY,
                               "app.rb", chdir: @dir, timeout: 300)
    assert status.success?, "app failed (#{status.inspect}):\n#{out}\n#{err}"
    profile = File.join(@dir, "profiles", "mem.pprof")
    assert File.exist?(profile), err
    [out, err, profile]
  end

  def test_retained_and_allocated_totals_at_three_and_thirty_times_the_bounds
    out, err, profile = run_app(<<~RUBY)
      require "objspace"
      def rmp_kept_site = Array.new(150_000) { |i| "kept string \#{i} ".ljust(60, "x") }
      def rmp_churn_site = 300_000.times { |i| { i => i } }
      $kept = rmp_kept_site
      rmp_churn_site
      GC.start
      collector = MemprofilerPprof::ProfileApp.collector
      puts $kept.sum { |s| ObjectSpace.memsize_of(s) }, ObjectSpace.memsize_of(collector)
      puts collector.stats[:heap_thinnings]
    RUBY
    kept_bytes, collector_bytes, thinnings = out.split.map { |x| Integer(x) }
    # The bounds really were exceeded, and the run said so, once.
    assert_operator thinnings, :>=, 1
    assert_equal 1, err.scan(/Raise max_heap_samples/).size, err
    prof = CollectorSupport.decode(File.binread(profile))
    retained_n = prof.sum("retained_objects", func: /rmp_kept_site/, klass: "String")
    retained_b = prof.sum("retained_size", func: /rmp_kept_site/, klass: "String")
    allocated = prof.sum("allocations", func: /rmp_churn_site/, klass: "Hash")
    assert_in_delta 150_000, retained_n, 0.15 * 150_000
    assert_in_delta kept_bytes, retained_b, 0.15 * kept_bytes
    assert_in_delta 300_000, allocated, 0.15 * 300_000
    # Memory stays bounded: the collector's tables at these defaults.
    assert_operator collector_bytes, :<, 8 << 20, "collector holds #{collector_bytes} bytes"
  end
end
