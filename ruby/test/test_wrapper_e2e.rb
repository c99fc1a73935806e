# frozen_string_literal: true

require_relative "rmp_test_helper"

# The user's path: `ruby_memprofiler_pprof_profile ruby app.rb` with the real
# extension, checked with `go tool pprof`. By default this runs the source
# checkout's exe/ and lib/; with RMP_TEST_GEM_HOME set (scripts/test.sh does,
# after `gem install --local`), it runs the gem installed there instead.
class TestWrapperE2E < Minitest::Test
  include RmpTestHelper

  GEM_HOME = ENV["RMP_TEST_GEM_HOME"]

  def setup
    @dir = Dir.mktmpdir("rmp-e2e")
    File.write(File.join(@dir, "loaded_so.rb"), <<~RUBY)
      at_exit do
        so = $LOADED_FEATURES.grep(%r{/ruby_memprofiler_pprof\\.so\\z})
        File.write("loaded-\#{Process.pid}.txt", so.join("\\n"))
      end
    RUBY
  end

  def teardown
    FileUtils.rm_rf(@dir)
  end

  def wrapper_cmd
    if GEM_HOME
      [File.join(GEM_HOME, "bin", "ruby_memprofiler_pprof_profile")]
    else
      [RUBY, File.join(RUBY_DIR, "exe", "ruby_memprofiler_pprof_profile")]
    end
  end

  def base_env(extra = {})
    env = GEM_HOME ? { "GEM_HOME" => GEM_HOME, "GEM_PATH" => GEM_HOME } : {}
    clean_env(env.merge(extra))
  end

  # Runs app.rb under the wrapper in @dir; returns [stdout, stderr, profile paths].
  def profile_script(source, env: {})
    File.write(File.join(@dir, "app.rb"), source)
    out, err, status = run_cmd(base_env(env), *wrapper_cmd, RUBY, "-r./loaded_so", "app.rb", chdir: @dir)
    assert status.success?, "wrapper run failed (#{status.inspect}):\n#{out}\n#{err}"
    profiles = Dir.glob(File.join(@dir, "profiles", "*.pprof")).sort
    [out, err, profiles]
  end

  def pprof(*args)
    out, err, status = go_pprof(*args)
    assert status.success?, "go tool pprof #{args.join(' ')} failed:\n#{err}"
    out
  end

  PPROF_UNITS = { "ns" => 1e-9, "us" => 1e-6, "ms" => 1e-3, "s" => 1, "mins" => 60, "hrs" => 3600,
                  "days" => 86_400 }.freeze

  # `go tool pprof -top` prints e.g. "Duration: 1.05s, Total samples = ...".
  def pprof_duration_seconds(top)
    value, unit = top.match(/^Duration: ([\d.]+)([a-z]+)/)&.captures
    value && PPROF_UNITS[unit] && value.to_f * PPROF_UNITS[unit]
  end

  def assert_loaded_the_right_extension
    loaded = Dir.glob(File.join(@dir, "loaded-*.txt")).map { |f| File.read(f) }
    refute_empty loaded
    expected_root = GEM_HOME ? File.realpath(GEM_HOME) : File.realpath(LIB_DIR)
    loaded.each do |so|
      refute_empty so, "the extension was not loaded"
      assert File.realpath(so).start_with?(expected_root + "/"), "loaded #{so}, expected one under #{expected_root}"
    end
  end

  def test_short_script_gets_its_final_flush_and_go_pprof_reads_it
    env = { "RUBY_MEMPROFILER_PPROF_FILE_PATTERN" => "profiles/mem-%{pid}-%{index}.pprof" }
    out, err, profiles = profile_script(<<~RUBY, env: env)
      def rmp_e2e_retaining_method
        Array.new(2000) { |i| "retained string number \#{i} ".ljust(1024, "x") }
      end
      $keep = rmp_e2e_retaining_method
      GC.start # retained means alive as of the last GC
      puts Process.pid
    RUBY
    pid = out.to_i
    # The default interval is 30 s, so the only file is the at-exit flush.
    assert_equal ["mem-#{pid}-0.pprof"], profiles.map { |p| File.basename(p) }, err
    assert gzip_readable?(profiles[0])

    top = pprof("-top", profiles[0])
    assert_match(/flat%/, top)
    assert_includes top, "rmp_e2e_retaining_method"
    traces = pprof("-traces", profiles[0])
    assert_includes traces, "rmp_e2e_retaining_method"
    retained = pprof("-traces", "-sample_index=retained_size", profiles[0])
    assert_includes retained, "rmp_e2e_retaining_method", "the retained strings are missing from retained_size"
    assert_loaded_the_right_extension
  end

  # The profile covers the script's short life, not the time since the epoch.
  def test_profile_duration_is_the_scripts_lifetime
    _, err, = profile_script("def rmp_e2e_duration = Array.new(10) { 'x' * 100 }\n$k = rmp_e2e_duration\n")
    files = Dir.glob(File.join(@dir, "tmp", "profiles", "*.pprof"))
    assert_equal 1, files.size, err
    top = pprof("-top", files[0])
    duration = pprof_duration_seconds(top)
    assert duration && duration >= 0 && duration < 600, "implausible profile Duration in:\n#{top[/^Duration.*$/]}"
  end

  def test_default_pattern_writes_under_tmp_profiles
    _, err, = profile_script("def rmp_e2e_default_pattern = Array.new(10) { 'x' * 100 }\n$k = rmp_e2e_default_pattern\n")
    files = Dir.children(File.join(@dir, "tmp", "profiles"))
    assert_equal 1, files.size, err
    assert_match(/\Amem-\d+-\d{8}T\d{6}\.\d{6}Z\.pprof\z/, files[0])
    assert_includes pprof("-traces", File.join(@dir, "tmp", "profiles", files[0])), "rmp_e2e_default_pattern"
  end

  def test_periodic_flushes_then_the_final_one
    env = {
      "RUBY_MEMPROFILER_PPROF_FILE_PATTERN" => "profiles/mem-%{index}.pprof",
      "RUBY_MEMPROFILER_PPROF_INTERVAL" => "0.2",
      "RUBY_MEMPROFILER_PPROF_SAMPLE_RATE" => "0.5",
    }
    out, err, profiles = profile_script(<<~RUBY, env: env)
      $keep = []
      def rmp_e2e_before_periodic = $keep << Array.new(500) { "a" * 200 }
      def rmp_e2e_after_periodic = $keep << Array.new(500) { "b" * 200 }
      rmp_e2e_before_periodic
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 60
      sleep 0.05 until Dir.glob("profiles/*.pprof").size >= 2 || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      puts Dir.glob("profiles/*.pprof").size
      rmp_e2e_after_periodic
    RUBY
    seen_while_running = out.to_i
    assert_operator seen_while_running, :>=, 2, "no periodic flushes within 60 s: #{err}"
    assert_operator profiles.size, :>, seen_while_running, "no final flush at exit"
    # Allocations made after the script saw the periodic files can only be
    # in a later file; the last one is the exit flush.
    last = profiles.max_by { |p| File.basename(p)[/\d+/].to_i }
    assert_includes pprof("-traces", last), "rmp_e2e_after_periodic"
    profiles.each { |p| assert gzip_readable?(p), p }
  end

  def test_forked_child_writes_its_own_files_with_its_allocations
    env = {
      "RUBY_MEMPROFILER_PPROF_FILE_PATTERN" => "profiles/mem-%{pid}-%{index}.pprof",
      "RUBY_MEMPROFILER_PPROF_INTERVAL" => "0.3",
    }
    out, err, profiles = profile_script(<<~RUBY, env: env)
      def rmp_e2e_parent_method = Array.new(300) { "p" * 300 }
      def rmp_e2e_child_only_method = Array.new(300) { "c" * 300 }
      $parent_keep = rmp_e2e_parent_method
      puts "parent \#{Process.pid}"
      $stdout.flush
      child = fork do
        $child_keep = rmp_e2e_child_only_method
        # A periodic file from the child proves its flusher was restarted
        # (the parent's thread does not survive fork).
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 60
        sleep 0.05 until Dir.glob("profiles/mem-\#{Process.pid}-*.pprof").any? || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        puts "child \#{Process.pid} periodic=\#{Dir.glob("profiles/mem-\#{Process.pid}-*.pprof").size}"
      end
      Process.wait(child)
      exit($?.exitstatus)
    RUBY
    parent_pid = out[/^parent (\d+)/, 1]
    child_pid, periodic = out.match(/^child (\d+) periodic=(\d+)/)&.captures
    refute_nil child_pid, "child did not report: #{out}\n#{err}"
    assert_operator periodic.to_i, :>=, 1, "the child's flusher did not restart after fork"
    refute_equal parent_pid, child_pid

    by_pid = profiles.group_by { |p| File.basename(p)[/\Amem-(\d+)-/, 1] }
    assert_equal [child_pid, parent_pid].sort, by_pid.keys.sort
    child_traces = by_pid[child_pid].map { |p| pprof("-traces", p) }
    parent_traces = by_pid[parent_pid].map { |p| pprof("-traces", p) }
    assert child_traces.any? { |t| t.include?("rmp_e2e_child_only_method") }, "the child's profiles lack its allocations"
    refute parent_traces.any? { |t| t.include?("rmp_e2e_child_only_method") }, "the parent's profiles show the child's allocations"
    assert parent_traces.any? { |t| t.include?("rmp_e2e_parent_method") }
    assert_loaded_the_right_extension
  end

  # Process.daemon bypasses Process._fork; the daemon must still flush
  # periodically under its own pid.
  def test_daemonised_app_keeps_flushing
    env = {
      "RUBY_MEMPROFILER_PPROF_FILE_PATTERN" => "profiles/mem-%{pid}-%{index}.pprof",
      "RUBY_MEMPROFILER_PPROF_INTERVAL" => "0.3",
    }
    out, err, profiles = profile_script(<<~RUBY, env: env)
      def rmp_e2e_daemon_method = Array.new(300) { "d" * 300 }
      puts "parent \#{Process.pid}"
      $stdout.flush
      Process.daemon(true, true)
      $daemon_keep = rmp_e2e_daemon_method
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 60
      sleep 0.05 until Dir.glob("profiles/mem-\#{Process.pid}-*.pprof").any? || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      puts "daemon \#{Process.pid} periodic=\#{Dir.glob("profiles/mem-\#{Process.pid}-*.pprof").size}"
    RUBY
    # The daemon keeps our stdout pipe open, so run_cmd returned after it exited.
    daemon_pid, periodic = out.match(/^daemon (\d+) periodic=(\d+)/)&.captures
    refute_nil daemon_pid, "daemon did not report: #{out}\n#{err}"
    assert_operator periodic.to_i, :>=, 1, "the daemon's flusher did not restart"
    daemon_files = profiles.select { |p| File.basename(p).start_with?("mem-#{daemon_pid}-") }
    assert daemon_files.map { |p| pprof("-traces", p) }.any? { |t| t.include?("rmp_e2e_daemon_method") }
  end

  def test_library_api_works_without_the_wrapper
    script = <<~RUBY
      require "ruby_memprofiler_pprof"
      require "zlib"
      c = MemprofilerPprof::Collector.new(sample_rate: 1)
      keep = nil
      data = c.profile { keep = Array.new(100) { "z" * 500 } }
      File.binwrite("api.pprof", data)
      puts MemprofilerPprof::VERSION, Zlib.gunzip(data).bytesize > 0
      puts $LOADED_FEATURES.grep(%r{/ruby_memprofiler_pprof\\.so\\z})
    RUBY
    args = GEM_HOME ? [RUBY, "-e", script] : [RUBY, "-I#{LIB_DIR}", "-e", script]
    out, err, status = run_cmd(base_env, *args, chdir: @dir)
    assert status.success?, err
    version, gunzipped, so = out.lines.map(&:chomp)
    assert_equal "0.1.0", version
    assert_equal "true", gunzipped
    assert File.realpath(so).start_with?(File.realpath(GEM_HOME || LIB_DIR) + "/"), so
    assert_match(/flat%/, pprof("-top", File.join(@dir, "api.pprof")))
  end

  if GEM_HOME
    def test_installed_gem_is_self_contained
      gem_dir = Dir.glob(File.join(GEM_HOME, "gems", "ruby_memprofiler_pprof-*")).first
      refute_nil gem_dir
      %w[rmp.h rmp_pprof.h ruby/ext/ruby_memprofiler_pprof/extconf.rb LICENSE README.md CHANGELOG.md].each do |f|
        assert File.file?(File.join(gem_dir, f)), "#{f} missing from the gem"
      end
    end
  end
end
