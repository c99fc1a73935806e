# frozen_string_literal: true

# Shared by test_collector*.rb. Profiles are decoded by `go tool pprof -raw`
# (Debian's golang-go + golang-github-google-pprof-dev), an implementation
# independent of ours; this file only parses its text output.
require "minitest/autorun"
require "objspace"
require "open3"
require "rbconfig"
require "tmpdir"
require "ruby_memprofiler_pprof/collector"

module CollectorSupport
  # Test files may share a process (rake test): start from no running collector.
  def setup
    super
    MemprofilerPprof::Collector.running_collector&.stop!
  end

  def teardown
    MemprofilerPprof::Collector.running_collector&.stop!
    super
  end

  Sample = Struct.new(:values, :locations, :labels) do
    def value(type)
      values.fetch(type)
    end
  end

  Location = Struct.new(:id, :name, :file, :line)

  # A decoded profile: samples with their location chains resolved (leaf first).
  class Profile
    attr_reader :samples, :comments, :types

    def initialize(types, samples, locations, comments)
      @types = types
      @comments = comments
      @samples = samples.map do |s|
        s.locations = s.locations.map { |id| locations.fetch(id) }
        s
      end
    end

    # func: some frame matches; leaf: the allocating (first) frame matches;
    # klass: the object_class label matches.
    def select(func: nil, klass: nil, leaf: nil)
      samples.select do |s|
        (func.nil? || s.locations.any? { |l| func === l.name }) &&
          (leaf.nil? || (s.locations.first && leaf === s.locations.first.name)) &&
          (klass.nil? || klass === s.labels["object_class"])
      end
    end

    def sum(type, func: nil, klass: nil, leaf: nil)
      select(func: func, klass: klass, leaf: leaf).sum { |s| s.value(type) }
    end

    def classes
      samples.map { |s| s.labels["object_class"] }.compact.uniq
    end
  end

  module_function

  def go_env(home)
    {
      "GO111MODULE" => "off",
      "GOPATH" => "/usr/share/gocode",
      "GOCACHE" => File.join(home, "cache"),
      "HOME" => home,
      "PPROF_TMPDIR" => File.join(home, "pprof"),
      "PATH" => ENV.fetch("PATH", "/usr/bin:/bin"),
    }
  end

  def go_home
    @go_home ||= Dir.mktmpdir("rmp-collector-go")
  end

  def decode(data)
    Dir.mktmpdir("rmp-profile") do |dir|
      path = File.join(dir, "p.pb.gz")
      File.binwrite(path, data)
      out, err, status = Open3.capture3(go_env(go_home), ENV.fetch("RMP_GO", "go"), "tool", "pprof", "-raw", path,
                                        unsetenv_others: true)
      raise "go tool pprof -raw failed (#{status}): #{err}" unless status.success?

      parse_raw(out)
    end
  end

  LOCATION_RE = /\A\s*(\d+): 0x\h+ (?:M=\d+ )?(.*) (\S*):(-?\d+) s=-?\d+(?:\(.*\))?\z/.freeze

  def parse_raw(text)
    lines = text.lines.map(&:chomp)
    comments = lines.grep(/\AComment: /).map { |l| l.delete_prefix("Comment: ") }
    i = lines.index("Samples:") or raise "no Samples: section in\n#{text}"
    types = lines[i + 1].split.map { |t| t.split("/").first }
    samples = []
    i += 2
    while i < lines.size && lines[i] != "Locations"
      line = lines[i]
      if (m = line.match(/\A\s*((?:-?\d+\s+)*-?\d+):\s*(.*)\z/))
        values = types.zip(m[1].split.map { |v| Integer(v) }).to_h
        samples << Sample.new(values, m[2].split.map { |v| Integer(v) }, {})
      elsif (m = line.match(/\A\s+([\w.]+):\[(.*)\]\z/))
        samples.last.labels[m[1]] = m[2]
      end
      i += 1
    end
    locations = {}
    i += 1
    while i < lines.size && lines[i] != "Mappings"
      if (m = lines[i].match(LOCATION_RE))
        locations[Integer(m[1])] = Location.new(Integer(m[1]), m[2], m[3], Integer(m[4]))
      end
      i += 1
    end
    Profile.new(types, samples, locations, comments)
  end

  # Lets the postponed job commit pending samples (it runs at an interrupt
  # check, which Ruby 3.3+ may defer past a GC.start), frees what can be
  # freed, and commits what that GC's own allocations sampled. A sample
  # still pending during the GC is marked by the collector and so cannot be
  # freed by it.
  def settle
    Thread.pass
    GC.start(full_mark: true, immediate_sweep: true)
    Thread.pass
  end

  def memsize_sum(objs)
    objs.sum { |o| ObjectSpace.memsize_of(o) }
  end

  # Runs a Ruby snippet in a fresh process with the extension on the load
  # path; returns [stdout, stderr, status].
  def run_ruby(code, env = {})
    run_ruby_args(code, [], env)
  end

  # run_ruby with ARGV for the snippet.
  def run_ruby_args(code, argv, env = {})
    args = $LOAD_PATH.flat_map { |d| ["-I", d] }
    Open3.capture3(env, RbConfig.ruby, *args, "-e", code, "--", *argv)
  end
end
