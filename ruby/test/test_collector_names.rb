# frozen_string_literal: true

require_relative "collector_support"

# A real script run as `ruby script.rb`, its profile read by go tool pprof
# with no flags: Ruby's own frame names (<main>, <top (required)>,
# block in <main>) come out as written, each stack ends in one <main>, and
# pprof finds the program's name and asks for no binary.
class TestCollectorNames < Minitest::Test
  include CollectorSupport

  SCRIPT = <<~RUBY
    require "ruby_memprofiler_pprof"
    c = MemprofilerPprof::Collector.new(sample_rate: 1, max_heap_samples: 100_000)
    c.start!
    $keep = []
    2000.times { $keep << ("x" * 100) }
    require_relative "names_lib"
    GC.start
    File.binwrite(ARGV.fetch(0), c.flush)
    c.stop!
  RUBY

  LIB = <<~RUBY
    500.times { $keep << [1, 2, 3].map { |i| i.to_s * 50 } }
  RUBY

  def profile_of_script(dir)
    File.write(File.join(dir, "names_script.rb"), SCRIPT)
    File.write(File.join(dir, "names_lib.rb"), LIB)
    includes = $LOAD_PATH.flat_map { |d| ["-I", File.expand_path(d)] }
    # A relative script path, as people type it: Ruby's dummy top frame
    # carries it, the script's own <main> the absolute path.
    _out, err, status = Open3.capture3(RbConfig.ruby, *includes, "names_script.rb", "p.pb.gz", chdir: dir)
    assert status.success?, "the script failed: #{err}"
    File.join(dir, "p.pb.gz")
  end

  def test_every_stack_ends_in_the_scripts_one_main_frame
    Dir.mktmpdir do |dir|
      path = profile_of_script(dir)
      prof = decode(File.binread(path))
      script = File.join(File.realpath(dir), "names_script.rb")
      stacks = prof.samples.map(&:locations).reject(&:empty?)
      assert_operator stacks.size, :>, 3
      stacks.each do |locs|
        names = locs.map { |l| "#{l.name} #{l.file}:#{l.line}" }
        root = locs.last
        assert_equal "<main>", root.name, names.inspect
        assert_equal script, root.file, names.inspect
        assert_operator root.line, :>, 0, names.inspect
        assert_equal 1, locs.count { |l| l.name == "<main>" }, names.inspect
      end
      assert(stacks.any? { |locs| locs.any? { |l| l.name == "<top (required)>" && l.file.end_with?("names_lib.rb") } })
      assert(stacks.any? { |locs| locs.first.name == "String#*" && locs[1].name == "block in <main>" })
    end
  end

  def test_go_tool_pprof_top_shows_ruby_names_with_no_flags
    Dir.mktmpdir do |dir|
      path = profile_of_script(dir)
      out, err, status = Open3.capture3(go_env(go_home), ENV.fetch("RMP_GO", "go"), "tool", "pprof", "-top",
                                        "-sample_index=allocation_size", path, unsetenv_others: true)
      assert status.success?, "go tool pprof -top failed: #{err}"
      rows = out.lines.map(&:strip)
      ["<main>", "<top (required)>", "block in <main>", "block in <top (required)>", "String#*"].each do |name|
        assert(rows.any? { |r| r.match?(/%\s+#{Regexp.escape(name)}\z/) }, "-top lacks #{name}:\n#{out}")
      end
      refute_match(/<unknown>/, out)
      refute_match(/Main binary filename not available/, err)
      assert_includes rows, "File: names_script.rb"
    end
  end
end
