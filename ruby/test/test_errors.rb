# frozen_string_literal: true

require_relative "rmp_test_helper"
require "ruby_memprofiler_pprof/profile_app_config"

# MemprofilerPprof::Error is the base of the gem's own errors, defined alike
# by errors.rb and by the C extension, in either load order.
class TestErrors < Minitest::Test
  include RmpTestHelper

  def test_hierarchy
    assert_equal StandardError, MemprofilerPprof::Error.superclass
    assert_operator MemprofilerPprof::ProfileApp::ConfigError, :<, MemprofilerPprof::Error
  end

  def test_the_extension_and_errors_rb_agree_in_either_order
    so = "ruby_memprofiler_pprof/ruby_memprofiler_pprof"
    [[so, "ruby_memprofiler_pprof/errors"], ["ruby_memprofiler_pprof/errors", so]].each do |order|
      script = "#{order.map { |f| "require #{f.inspect}" }.join('; ')}; " \
               "c = MemprofilerPprof::Collector.allocate; print MemprofilerPprof::Error.superclass; " \
               "print ' ', (MemprofilerPprof::Collector.instance_method(:start!) && :ok)"
      out, err, status = run_cmd(clean_env, RUBY, "-I#{LIB_DIR}", "-e", script)
      assert status.success?, "#{order}: #{err}"
      assert_equal "StandardError ok", out, order.inspect
    end
  end

  def test_a_second_running_collector_raises_the_gems_error
    script = <<~RUBY
      require "ruby_memprofiler_pprof"
      a = MemprofilerPprof::Collector.new.start!
      begin
        MemprofilerPprof::Collector.new.start!
      rescue MemprofilerPprof::Error => e
        puts e.class, e.message
      end
      a.stop!
    RUBY
    out, err, status = run_cmd(clean_env, RUBY, "-I#{LIB_DIR}", "-e", script)
    assert status.success?, err
    assert_equal "MemprofilerPprof::Error\nanother MemprofilerPprof::Collector is already running\n", out
  end

  def test_a_missing_extension_raises_load_error_saying_how_to_build_it
    Dir.mktmpdir("rmp-noext") do |dir|
      lib = File.join(dir, "lib")
      FileUtils.cp_r(LIB_DIR, lib)
      Dir.glob(File.join(lib, "**", "*.{so,bundle}")).each { |f| File.delete(f) }
      script = 'begin; require "ruby_memprofiler_pprof"; rescue LoadError => e; print e.message; end'
      out, err, status = run_cmd(clean_env, RUBY, "-I#{lib}", "-e", script)
      assert status.success?, err
      assert_includes out, "cannot load the extension for Ruby #{RUBY_VERSION}"
      assert_includes out, "`rake compile` in the checkout's ruby/ directory"
      assert_includes out, "path:"
    end
  end
end
