# frozen_string_literal: true

require_relative "rmp_test_helper"
require "ruby_memprofiler_pprof/profile_app_config"

# Environment parsing for profile_app (the wrapper's configuration). None of
# these needs the C extension: a bad value must stop the process before the
# extension is even loaded.
class TestProfileAppEnv < Minitest::Test
  include RmpTestHelper
  ProfileApp = MemprofilerPprof::ProfileApp

  RATES = %w[RUBY_MEMPROFILER_PPROF_SAMPLE_RATE RUBY_MEMPROFILER_PPROF_ALLOC_RETAIN_RATE].freeze
  COUNTS = %w[RUBY_MEMPROFILER_PPROF_MAX_ALLOC_SAMPLES RUBY_MEMPROFILER_PPROF_MAX_HEAP_SAMPLES].freeze
  INTERVAL = "RUBY_MEMPROFILER_PPROF_INTERVAL"
  PATTERN = "RUBY_MEMPROFILER_PPROF_FILE_PATTERN"
  FLAG = "RUBY_MEMPROFILER_PPROF_RETAIN_NEW_OBJECTS"

  BAD_VALUES = {
    rate: ["abc", "2", "-1", "nan", "NaN", "1e400", "inf", "", " ", "0x1", "1_0", "1.5", "0.5abc"],
    count: ["abc", "-1", "0", "1.5", "nan", "", "1e3", "0x10", "99999999999999999999"],
    interval: ["abc", "0", "-1", "nan", "1e400", "", "Infinity"],
    pattern: ["", "out/%{host}.pprof", "out/%d.pprof", "out/"],
    flag: ["", "2", "maybe", "tru", "-1"],
  }.freeze

  def each_bad_setting
    RATES.each { |v| BAD_VALUES[:rate].each { |bad| yield v, bad } }
    COUNTS.each { |v| BAD_VALUES[:count].each { |bad| yield v, bad } }
    BAD_VALUES[:interval].each { |bad| yield INTERVAL, bad }
    BAD_VALUES[:pattern].each { |bad| yield PATTERN, bad }
    BAD_VALUES[:flag].each { |bad| yield FLAG, bad }
  end

  def test_defaults_match_the_readme
    config = ProfileApp.parse_env({})
    assert_equal({ sample_rate: 1.0, allocation_retain_rate: 1.0, max_allocation_samples: 10_000,
                   max_heap_samples: 50_000, retain_new_objects: false,
                   file_pattern: "tmp/profiles/mem-%{pid}-%{isotime}.pprof", interval: 30.0 }, config)
  end

  def test_the_retain_new_objects_flag
    %w[1 true yes on TRUE].each { |v| assert_equal true, ProfileApp.parse_env(FLAG => v)[:retain_new_objects], v }
    %w[0 false no off].each { |v| assert_equal false, ProfileApp.parse_env(FLAG => v)[:retain_new_objects], v }
  end

  def test_valid_values
    config = ProfileApp.parse_env(
      "RUBY_MEMPROFILER_PPROF_SAMPLE_RATE" => "0.25", "RUBY_MEMPROFILER_PPROF_ALLOC_RETAIN_RATE" => "0",
      "RUBY_MEMPROFILER_PPROF_MAX_ALLOC_SAMPLES" => "7", "RUBY_MEMPROFILER_PPROF_MAX_HEAP_SAMPLES" => " 100 ",
      INTERVAL => "0.5", PATTERN => "x/%{index}.pprof"
    )
    assert_equal 0.25, config[:sample_rate]
    assert_equal 0.0, config[:allocation_retain_rate]
    assert_equal 7, config[:max_allocation_samples]
    assert_equal 100, config[:max_heap_samples]
    assert_equal 0.5, config[:interval]
    assert_equal "x/%{index}.pprof", config[:file_pattern]
    assert_equal 1.0, ProfileApp.parse_env(RATES[0] => "1")[:sample_rate]
    assert_equal 0.001, ProfileApp.parse_env(RATES[0] => "1e-3")[:sample_rate]
  end

  def test_each_invalid_value_is_rejected_with_its_name
    each_bad_setting do |name, bad|
      err = assert_raises(ProfileApp::ConfigError, "#{name}=#{bad.inspect}") { ProfileApp.parse_env(name => bad) }
      assert_includes err.message, name
      assert_includes err.message, bad.inspect
    end
  end

  def test_every_invalid_variable_is_reported_at_once
    err = assert_raises(ProfileApp::ConfigError) do
      ProfileApp.parse_env(RATES[0] => "abc", COUNTS[1] => "0", INTERVAL => "-1")
    end
    [RATES[0], COUNTS[1], INTERVAL].each { |name| assert_includes err.message, name }
    assert_equal 3, err.message.lines.size
  end

  # The real thing: loaded through RUBYOPT-style -r, the process must exit
  # non-zero, name the variable and never run the application.
  def test_invalid_environment_stops_the_process_before_the_app_runs
    Dir.mktmpdir("rmp-env") do |dir|
      marker = File.join(dir, "app-ran")
      app = "File.write(#{marker.inspect}, 'ran'); at_exit { File.write(#{marker.inspect}, 'at_exit') }"
      each_bad_setting do |name, bad|
        _, err, status = run_cmd(clean_env(name => bad, "RUBYOPT" => "-I#{LIB_DIR} -rruby_memprofiler_pprof/profile_app"),
                                 RUBY, "-e", app, chdir: dir)
        assert_equal 1, status.exitstatus, "#{name}=#{bad.inspect}: #{err}"
        assert_includes err, name
        assert_includes err, bad.inspect
        refute File.exist?(marker), "#{name}=#{bad.inspect}: the application ran"
        assert_empty Dir.children(dir), "#{name}=#{bad.inspect}: something was written"
      end
    end
  end

  def test_missing_extension_stops_the_process_with_a_clear_error
    Dir.mktmpdir("rmp-noext") do |dir|
      lib = File.join(dir, "lib")
      FileUtils.cp_r(LIB_DIR, lib)
      Dir.glob(File.join(lib, "**", "*.{so,bundle}")).each { |f| File.delete(f) }
      out, err, status = run_cmd(clean_env("RUBYOPT" => "-I#{lib} -rruby_memprofiler_pprof/profile_app"),
                                 RUBY, "--disable-gems", "-e", "puts 'app ran'", chdir: dir)
      assert_equal 1, status.exitstatus, err
      assert_match(/cannot load the extension/, err)
      assert_empty out
    end
  end

  def test_invalid_environment_through_the_wrapper
    wrapper = File.join(RUBY_DIR, "exe", "ruby_memprofiler_pprof_profile")
    Dir.mktmpdir("rmp-env") do |dir|
      out, err, status = run_cmd(clean_env(COUNTS[0] => "1.5"), RUBY, wrapper, RUBY, "-e", "puts 'app ran'", chdir: dir)
      assert_equal 1, status.exitstatus
      assert_match(/RUBY_MEMPROFILER_PPROF_MAX_ALLOC_SAMPLES="1\.5" is invalid: must be a positive integer/, err)
      assert_empty out
    end
  end

  def test_wrapper_without_a_command_prints_usage_and_exits_2
    wrapper = File.join(RUBY_DIR, "exe", "ruby_memprofiler_pprof_profile")
    out, err, status = run_cmd(clean_env, RUBY, wrapper)
    assert_equal 2, status.exitstatus
    assert_match(/\AUsage: ruby_memprofiler_pprof_profile \[OPTIONS\] \[--\] CMD/, err)
    assert_empty out
  end

  def test_wrapper_with_a_missing_command_exits_127
    wrapper = File.join(RUBY_DIR, "exe", "ruby_memprofiler_pprof_profile")
    _, err, status = run_cmd(clean_env, RUBY, wrapper, "/nonexistent/rmp-cmd")
    assert_equal 127, status.exitstatus
    assert_match(%r{/nonexistent/rmp-cmd: command not found}, err)
  end

  def test_wrapper_preserves_rubyopt_and_execs_without_a_shell
    wrapper = File.join(RUBY_DIR, "exe", "ruby_memprofiler_pprof_profile")
    # `env` is not Ruby, so profile_app does not load: this isolates RUBYOPT.
    out, err, status = run_cmd(clean_env("RUBYOPT" => "-W0 -rset"), RUBY, wrapper, "env")
    assert status.success?, err
    rubyopt = out[/^RUBYOPT=(.*)$/, 1].split
    assert_equal ["-W0", "-rset", "-I#{LIB_DIR}", "-rruby_memprofiler_pprof/profile_app"], rubyopt

    out, = run_cmd(clean_env, RUBY, wrapper, "echo", "a;b", "$HOME")
    assert_equal "a;b $HOME\n", out
  end
end
