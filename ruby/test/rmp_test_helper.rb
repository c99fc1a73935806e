# frozen_string_literal: true

require "minitest/autorun"
require "fileutils"
require "open3"
require "rbconfig"
require "stringio"
require "tmpdir"
require "zlib"

module RmpTestHelper
  RUBY_DIR = File.expand_path("..", __dir__)
  LIB_DIR = File.join(RUBY_DIR, "lib")
  RUBY = RbConfig.ruby

  # Stands in for the C Collector in flusher unit tests: every flush returns
  # a distinct gzip member, so tests can tell which flush produced what.
  class FakeCollector
    attr_reader :flush_count, :flush_threads

    def initialize(payload_bytes: 64, raise_on_flush: nil)
      @flush_count = 0
      @flush_threads = []
      @payload_bytes = payload_bytes
      @raise_on_flush = raise_on_flush
      @mutex = Mutex.new
    end

    def flush
      n = @mutex.synchronize do
        @flush_threads << Thread.current
        @flush_count += 1
      end
      raise @raise_on_flush, "fake flush failure #{n}" if @raise_on_flush

      Zlib.gzip("flush #{n} ".ljust(@payload_bytes, "x"))
    end
  end

  # Collects Logger#error calls.
  class ListLogger
    attr_reader :errors

    def initialize
      @errors = Queue.new
    end

    def error(msg)
      @errors << msg
    end
  end

  module_function

  # Polls instead of sleeping a fixed time, so slow machines only wait longer.
  def wait_until(timeout: 20, interval: 0.01)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    loop do
      result = yield
      return result if result
      return nil if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep interval
    end
  end

  # Environment for a child Ruby that must see neither this process's load
  # path tweaks nor the user's profiler settings.
  def clean_env(extra = {})
    env = ENV.to_h.reject { |k, _| k.start_with?("RUBY_MEMPROFILER_PPROF_") || %w[RUBYOPT RUBYLIB].include?(k) }
    env.merge(extra)
  end

  # Runs argv with a clean environment (unsetenv_others) and a timeout.
  def run_cmd(env, *argv, chdir: Dir.pwd, timeout: 120)
    out = err = nil
    status = nil
    Open3.popen3(env, *argv, chdir: chdir, unsetenv_others: true, pgroup: true) do |stdin, o, e, wt|
      stdin.close
      out_t = Thread.new { o.read }
      err_t = Thread.new { e.read }
      unless wt.join(timeout)
        Process.kill("KILL", -wt.pid)
        raise "timed out after #{timeout}s: #{argv.join(' ')}"
      end
      status = wt.value
      out = out_t.value
      err = err_t.value
    end
    [out, err, status]
  end

  def gzip_readable?(path)
    Zlib::GzipReader.open(path) { |gz| gz.read }
    true
  rescue Zlib::Error, EOFError
    false
  end

  # `go tool pprof` from Debian's golang-go, offline.
  def go_pprof(*args)
    go = ENV.fetch("RMP_GO", "go")
    @go_home ||= Dir.mktmpdir("rmp-go-home").tap { |d| Minitest.after_run { FileUtils.rm_rf(d) } }
    env = clean_env(
      "GO111MODULE" => "off",
      "GOPATH" => "/usr/share/gocode",
      "GOCACHE" => File.join(@go_home, "cache"),
      "HOME" => @go_home,
      "PPROF_TMPDIR" => File.join(@go_home, "pprof")
    )
    run_cmd(env, go, "tool", "pprof", *args, timeout: 120)
  end
end
