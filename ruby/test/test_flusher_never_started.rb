# frozen_string_literal: true

require_relative "rmp_test_helper"

# A flusher that is created but never started writes nothing; the process
# says so once, at exit. Each case is a real Ruby process, since the warning
# comes from an at_exit hook.
class TestFlusherNeverStarted < Minitest::Test
  include RmpTestHelper

  PRELUDE = <<~RUBY
    require "ruby_memprofiler_pprof/file_flusher"
    FAKE = Object.new
    def FAKE.flush = "x".b
  RUBY

  def run_app(body)
    Dir.mktmpdir("rmp-unstarted") do |dir|
      File.write(File.join(dir, "app.rb"), PRELUDE + body)
      out, err, status = run_cmd(clean_env, RUBY, "-I#{LIB_DIR}", "app.rb", chdir: dir)
      assert status.success?, err
      [out, err.lines.grep(/ruby_memprofiler_pprof:/)]
    end
  end

  def test_a_never_started_block_flusher_warns_once_naming_where_it_was_made
    _, warnings = run_app(<<~RUBY)
      $f = MemprofilerPprof::BlockFlusher.new(FAKE, on_flush: ->(_) {})
      puts "app done"
    RUBY
    assert_equal 1, warnings.size, warnings.join
    assert_match(/1 flusher\(s\) created but never started/, warnings[0])
    assert_includes warnings[0], "MemprofilerPprof::BlockFlusher created at app.rb:4"
    assert_includes warnings[0], "#start!"
  end

  def test_several_never_started_flushers_share_one_warning_and_file_flushers_are_named
    _, warnings = run_app(<<~RUBY)
      $a = MemprofilerPprof::FileFlusher.new(FAKE, pattern: "out/%{index}.pprof")
      $b = MemprofilerPprof::BlockFlusher.new(FAKE, on_flush: ->(_) {})
    RUBY
    assert_equal 1, warnings.size, warnings.join
    assert_match(/2 flusher\(s\)/, warnings[0])
    assert_includes warnings[0], "MemprofilerPprof::FileFlusher created at app.rb:4"
    assert_includes warnings[0], "MemprofilerPprof::BlockFlusher created at app.rb:5"
  end

  def test_started_stopped_or_run_flushers_do_not_warn
    out, warnings = run_app(<<~RUBY)
      a = MemprofilerPprof::BlockFlusher.new(FAKE, on_flush: ->(_) {})
      a.start!
      a.stop!
      MemprofilerPprof::BlockFlusher.new(FAKE, on_flush: ->(_) {}).run { 1 }
      $c = MemprofilerPprof::FileFlusher.new(FAKE, pattern: "out/%{index}.pprof").start!
      $d = MemprofilerPprof::BlockFlusher.new(FAKE, on_flush: ->(d) { puts d }).start! # stopped at exit
    RUBY
    assert_empty warnings
    assert_includes out, "x"
  end

  def test_a_forked_child_does_not_repeat_the_parents_warning
    _, warnings = run_app(<<~RUBY)
      $f = MemprofilerPprof::BlockFlusher.new(FAKE, on_flush: ->(_) {})
      Process.wait(fork { puts "child" })
    RUBY
    assert_equal 1, warnings.size, warnings.join
  end
end
