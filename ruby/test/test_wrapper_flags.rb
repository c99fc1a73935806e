# frozen_string_literal: true

require_relative "rmp_test_helper"

# The wrapper's OptionParser flags, through a real subprocess: each flag
# reaches the app as its RUBY_MEMPROFILER_PPROF_* variable and wins over it,
# options end at the command or at --, and a bad value stops before the
# command runs with a message naming the flag and its variable.
class TestWrapperFlags < Minitest::Test
  include RmpTestHelper

  WRAPPER = File.join(RUBY_DIR, "exe", "ruby_memprofiler_pprof_profile")
  VARS = %w[RUBY_MEMPROFILER_PPROF_SAMPLE_RATE RUBY_MEMPROFILER_PPROF_INTERVAL RUBY_MEMPROFILER_PPROF_FILE_PATTERN].freeze

  def wrapper(*args, env: {})
    run_cmd(clean_env(env), RUBY, WRAPPER, *args)
  end

  # `env` is not Ruby, so the profiler does not load: this shows exactly
  # what the wrapper hands to the command.
  def env_seen(*args, env: {})
    out, err, status = wrapper(*args, "env", env: env)
    assert status.success?, err
    out.lines.to_h { |l| l.chomp.split("=", 2) }.slice(*VARS)
  end

  def test_flags_set_the_variables
    seen = env_seen("--rate", "0.25", "--interval=2.5", "--out", "p/%{pid}-%{index}.pprof")
    assert_equal({ "RUBY_MEMPROFILER_PPROF_SAMPLE_RATE" => "0.25", "RUBY_MEMPROFILER_PPROF_INTERVAL" => "2.5",
                   "RUBY_MEMPROFILER_PPROF_FILE_PATTERN" => "p/%{pid}-%{index}.pprof" }, seen)
  end

  def test_flags_win_over_the_environment_and_unset_flags_leave_it
    seen = env_seen("--rate", "0.5", env: { "RUBY_MEMPROFILER_PPROF_SAMPLE_RATE" => "0.1",
                                             "RUBY_MEMPROFILER_PPROF_INTERVAL" => "7" })
    assert_equal "0.5", seen["RUBY_MEMPROFILER_PPROF_SAMPLE_RATE"]
    assert_equal "7", seen["RUBY_MEMPROFILER_PPROF_INTERVAL"]
    refute seen.key?("RUBY_MEMPROFILER_PPROF_FILE_PATTERN")
  end

  def test_double_dash_ends_options_and_the_commands_own_flags_stay_its_own
    out, err, status = wrapper("--rate", "1", "--", "echo", "--", "--rate", "x")
    assert status.success?, err
    assert_equal "-- --rate x\n", out
    out, err, status = wrapper("echo", "--help", "--rate")
    assert status.success?, err
    assert_equal "--help --rate\n", out
  end

  def test_the_flags_reach_a_profiled_app
    Dir.mktmpdir("rmp-flags") do |dir|
      app = "def rmp_flags_method = Array.new(50) { 'f' * 100 }\n$k = rmp_flags_method\nGC.start\n"
      File.write(File.join(dir, "app.rb"), app)
      _, err, status = run_cmd(clean_env, RUBY, WRAPPER, "--out", "out/x-%{index}.pprof", "--interval", "60",
                               "--rate", "1", "--", RUBY, "app.rb", chdir: dir)
      assert status.success?, err
      assert_equal ["x-0.pprof"], Dir.children(File.join(dir, "out"))
      assert gzip_readable?(File.join(dir, "out", "x-0.pprof"))
    end
  end

  BAD = {
    "--rate" => [%w[abc 2 -0.5 nan], "RUBY_MEMPROFILER_PPROF_SAMPLE_RATE", "must be a number from 0 to 1"],
    "--interval" => [%w[0 -1 x 1e400], "RUBY_MEMPROFILER_PPROF_INTERVAL", "must be a number of seconds greater than 0"],
    "--out" => [["", "out/%{host}", "out/"], "RUBY_MEMPROFILER_PPROF_FILE_PATTERN", ""],
  }.freeze

  # Seen when a user typed --out DIR: every flush failed at its rename.
  def test_out_naming_an_existing_directory_stops_before_the_command
    Dir.mktmpdir("rmp-outdir") do |dir|
      marker = File.join(dir, "ran")
      out, err, status = run_cmd(clean_env, RUBY, WRAPPER, "--out", dir, "--", "touch", marker)
      assert_equal 2, status.exitstatus, err
      assert_includes err, "--out #{dir.inspect} is invalid (RUBY_MEMPROFILER_PPROF_FILE_PATTERN)"
      assert_includes err, "is a directory"
      assert_empty out
      refute File.exist?(marker)
    end
  end

  def test_bad_values_stop_before_the_command_naming_the_flag_and_variable
    Dir.mktmpdir("rmp-badflag") do |dir|
      marker = File.join(dir, "ran")
      BAD.each do |flag, (values, var, problem)|
        values.each do |bad|
          out, err, status = run_cmd(clean_env, RUBY, WRAPPER, flag, bad, "--", "touch", marker)
          assert_equal 2, status.exitstatus, "#{flag} #{bad.inspect}: #{err}"
          assert_includes err, "#{flag} #{bad.inspect} is invalid (#{var}): #{problem}"
          assert_empty out
          refute File.exist?(marker), "#{flag} #{bad.inspect}: the command ran"
        end
      end
    end
  end

  def test_unknown_and_incomplete_options_are_usage_errors
    [%w[--bogus true], %w[--rate]].each do |args|
      out, err, status = wrapper(*args)
      assert_equal 2, status.exitstatus, err
      assert_match(/invalid option: --bogus|missing argument: --rate/, err)
      assert_includes err, "--help"
      assert_empty out
    end
  end

  def test_help_and_version
    out, err, status = wrapper("--help")
    assert status.success?, err
    %w[--rate --interval --out --version -- RUBY_MEMPROFILER_PPROF_SAMPLE_RATE].each { |w| assert_includes out, w }
    out, err, status = wrapper("--version")
    assert status.success?, err
    version = File.read(File.join(LIB_DIR, "ruby_memprofiler_pprof", "version.rb"))[/VERSION = "([^"]+)"/, 1]
    assert_equal "ruby_memprofiler_pprof_profile #{version}\n", out
  end
end
