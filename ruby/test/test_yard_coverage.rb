# frozen_string_literal: true

require_relative "rmp_test_helper"

# Every public class, module, constant, attribute and method of the Ruby API
# (ruby/lib, as the root .yardopts lists it; the C methods are declared there
# with @!method) is documented, and YARD resolves every reference.
class TestYardCoverage < Minitest::Test
  include RmpTestHelper

  REPO_ROOT = File.expand_path("..", RUBY_DIR)

  def yard(*args)
    # Debian's yard runs on Debian's Ruby whatever Ruby runs this test.
    env = clean_env("HOME" => @home).reject { |k, _| %w[GEM_HOME GEM_PATH].include?(k) }
    run_cmd(env, "yard", *args, chdir: REPO_ROOT)
  end

  def setup
    skip "yard is not installed (Debian: yard)" unless ENV["PATH"].split(":").any? { |d| File.executable?(File.join(d, "yard")) }
    @home = Dir.mktmpdir("rmp-yard")
  end

  def teardown
    FileUtils.rm_rf(@home) if @home
  end

  def test_everything_public_is_documented
    out, err, status = yard("stats", "--list-undoc")
    assert status.success?, err
    assert_match(/^\s*100\.00% documented$/, out, out)
    assert_match(/^Methods:\s+[1-9]\d*\s/, out) # it did read the sources
    refute_match(/\[warn\]|\[error\]/, out + err)
  end

  def test_yard_doc_has_no_unresolved_reference
    out, err, status = yard("doc", "--no-save", "--output-dir", File.join(@home, "doc"))
    assert status.success?, err
    refute_match(/\[warn\]|\[error\]/, out + err)
    assert File.file?(File.join(@home, "doc", "MemprofilerPprof", "Collector.html"))
  end
end
