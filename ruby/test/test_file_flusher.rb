# frozen_string_literal: true

require_relative "rmp_test_helper"
require "time"
require "ruby_memprofiler_pprof/file_flusher"

class TestFileFlusher < Minitest::Test
  include RmpTestHelper
  FileFlusher = MemprofilerPprof::FileFlusher

  def setup
    @dir = Dir.mktmpdir("rmp-file-flusher")
  end

  def teardown
    FileUtils.rm_rf(@dir)
  end

  def test_default_pattern_matches_the_readme
    flusher = FileFlusher.new(FakeCollector.new)
    assert_equal "tmp/profiles/mem-%{pid}-%{isotime}.pprof", flusher.pattern
    assert_equal 30, flusher.interval
  end

  def test_pattern_keys_expand
    flusher = FileFlusher.new(FakeCollector.new, pattern: "#{@dir}/p%{pid}-%{isotime}-%{unixtime}-%{index}-100%%.pprof")
    time = Time.at(1_700_000_000, 123_456, :usec, in: "+05:00")
    assert_equal "#{@dir}/p4242-20231114T221320.123456Z-1700000000-7-100%.pprof",
                 flusher.path_for(index: 7, time: time, pid: 4242)
    assert_equal "+05:00", time.strftime("%:z"), "path_for must not convert the caller's Time"
  end

  def test_written_files_use_pid_index_and_time
    collector = FakeCollector.new
    flusher = FileFlusher.new(collector, pattern: "#{@dir}/%{pid}-%{index}-%{unixtime}-%{isotime}.pprof",
                                         interval: 0.02)
    before = Time.now.to_i
    flusher.start!
    assert wait_until { Dir.children(@dir).count { |f| f.end_with?(".pprof") } >= 2 }
    flusher.stop!
    after = Time.now.to_i

    files = Dir.children(@dir).sort_by { |f| f.split("-")[1].to_i }
    assert_equal collector.flush_count, files.size
    files.each_with_index do |name, i|
      pid, index, unixtime, isotime = name.delete_suffix(".pprof").split("-")
      assert_equal Process.pid.to_s, pid
      assert_equal i.to_s, index
      assert_includes before..after, unixtime.to_i
      assert_match(/\A\d{8}T\d{6}\.\d{6}Z\z/, isotime)
      assert_equal unixtime.to_i, Time.strptime(isotime[0, 15] + "Z", "%Y%m%dT%H%M%S%z").to_i
      # Files in index order hold flushes in order.
      assert_equal "flush #{i + 1} ", Zlib.gunzip(File.binread(File.join(@dir, name)))[/\Aflush \d+ /]
    end
  end

  def test_unknown_key_is_an_error_at_construction
    err = assert_raises(ArgumentError) { FileFlusher.new(FakeCollector.new, pattern: "#{@dir}/%{pid}-%{hostname}.pprof") }
    assert_match(/unknown key %\{hostname\}/, err.message)
    assert_match(/%\{pid\}, %\{isotime\}, %\{unixtime\}, %\{index\}/, err.message)
    assert_empty Dir.children(@dir)
  end

  def test_malformed_patterns_are_errors
    ["#{@dir}/%d.pprof", "#{@dir}/x%", "#{@dir}/%{pid", "", "#{@dir}/", nil, :sym].each do |bad|
      assert_raises(ArgumentError, bad.inspect) { FileFlusher.new(FakeCollector.new, pattern: bad) }
    end
  end

  def test_an_existing_directory_is_no_pattern
    err = assert_raises(ArgumentError) { FileFlusher.new(FakeCollector.new, pattern: @dir) }
    assert_includes err.message, "#{@dir.inspect} is a directory"
    assert_includes err.message, "#{@dir}/mem-%{pid}-%{isotime}.pprof"
    # A keyless file path is fine (each interval replaces the file), and so
    # is a key that makes the directory's name part of a file's.
    FileFlusher.new(FakeCollector.new, pattern: "#{@dir}/latest.pprof")
    FileFlusher.new(FakeCollector.new, pattern: "#{@dir}%{index}")
  end

  def test_interval_is_validated
    err = assert_raises(ArgumentError) { FileFlusher.new(FakeCollector.new, pattern: "#{@dir}/x", interval: 0) }
    assert_match(/interval/, err.message)
  end

  def test_creates_directories_as_needed
    flusher = FileFlusher.new(FakeCollector.new, pattern: "#{@dir}/a/b/%{pid}/c/mem-%{index}.pprof", interval: 3600)
    flusher.start!
    flusher.stop!
    path = "#{@dir}/a/b/#{Process.pid}/c/mem-0.pprof"
    assert File.file?(path)
    assert gzip_readable?(path)
  end

  def test_relative_patterns_resolve_against_the_working_directory
    Dir.chdir(@dir) do
      FileFlusher.new(FakeCollector.new, pattern: "tmp/profiles/%{index}.pprof", interval: 3600).run {}
    end
    assert File.file?("#{@dir}/tmp/profiles/0.pprof")
  end

  def test_write_failures_are_logged_not_raised
    File.write("#{@dir}/blocker", "a file where a directory is needed")
    logger = ListLogger.new
    flusher = FileFlusher.new(FakeCollector.new, pattern: "#{@dir}/blocker/sub/%{index}.pprof",
                                                 interval: 3600, logger: logger)
    flusher.run {}
    assert_match(/Errno::EEXIST|Errno::ENOTDIR/, logger.errors.pop)
  end

  # A separate process polls the directory while profiles are written: every
  # finished-looking file it opens must be a complete gzip stream.
  def test_readers_never_see_partial_files
    out_dir = File.join(@dir, "out")
    Dir.mkdir(out_dir)
    stop_file = File.join(@dir, "stop")
    reader = <<~RUBY
      require "zlib"
      dir, stop = ARGV
      checked = 0
      bad = []
      until File.exist?(stop)
        Dir.children(dir).each do |name|
          next unless name.end_with?(".pprof")
          begin
            Zlib::GzipReader.open(File.join(dir, name)) { |gz| gz.read }
            checked += 1
          rescue Errno::ENOENT
          rescue Zlib::Error, EOFError => e
            bad << "\#{name}: \#{e.class}"
          end
        end
      end
      puts checked
      puts bad
    RUBY
    reader_io = IO.popen([RUBY, "-e", reader, out_dir, stop_file], "r")
    # Large members (about 2 MiB compressed) so writes span many syscalls.
    collector = FakeCollector.new(payload_bytes: 1)
    def collector.flush
      super
      Zlib.gzip(Random.new(flush_count).bytes(2 << 20), level: 0)
    end
    flusher = FileFlusher.new(collector, pattern: "#{out_dir}/mem-%{index}.pprof", interval: 0.005)
    flusher.start!
    assert wait_until(timeout: 60) { Dir.children(out_dir).count { |f| f.end_with?(".pprof") } >= 40 }
    flusher.stop!
    File.write(stop_file, "")
    checked, *bad = reader_io.read.lines.map(&:chomp)
    reader_io.close

    assert bad.empty?, "the reader saw #{bad.size} partial files, e.g. #{bad.first(3)}"
    assert_operator checked.to_i, :>, 0, "the reader never read a file"
    names = Dir.children(out_dir)
    assert(names.all? { |n| n.match?(/\Amem-\d+\.pprof\z/) }, "temporary files left behind: #{names.grep_v(/\.pprof\z/)}")
    assert_equal collector.flush_count, names.size
    names.each { |n| assert gzip_readable?(File.join(out_dir, n)), n }
  end
end
