# frozen_string_literal: true

require_relative "../rmp_test_helper"
require "rubygems/package"

# The .gem that a plain `gem build ruby_memprofiler_pprof.gemspec` made at
# the repository root, and its offline install (scripts/test.sh does both
# and passes them in): the build printed no warning, the spec carries the
# licence, homepage and metadata, the package holds the headers, the
# extension's sources, LICENSE, README and CHANGELOG, and the installed
# gem's wrapper runs.
class TestInstalledGem < Minitest::Test
  include RmpTestHelper

  GEM_FILE = ENV["RMP_TEST_GEM_FILE"]
  GEM_HOME = ENV["RMP_TEST_GEM_HOME"]
  BUILD_LOG = ENV["RMP_TEST_GEM_BUILD_LOG"]

  def setup
    return if GEM_FILE && GEM_HOME && BUILD_LOG

    flunk "run by scripts/test.sh, which sets RMP_TEST_GEM_FILE, RMP_TEST_GEM_HOME and RMP_TEST_GEM_BUILD_LOG"
  end

  def spec
    @spec ||= Gem::Package.new(GEM_FILE).spec
  end

  def test_gem_build_printed_no_warning
    log = File.read(BUILD_LOG)
    assert_includes log, "Successfully built RubyGem"
    refute_match(/warn/i, log)
  end

  def test_licence_homepage_and_metadata
    assert_equal ["Apache-2.0"], spec.licenses
    home = "https://github.com/zendesk/ruby_memprofiler_pprof"
    assert_equal home, spec.homepage
    assert_equal({ "source_code_uri" => home, "changelog_uri" => "#{home}/blob/main/CHANGELOG.md",
                   "bug_tracker_uri" => "#{home}/issues", "rubygems_mfa_required" => "true" }, spec.metadata)
    assert_equal ["ruby_memprofiler_pprof_profile"], spec.executables
  end

  def test_the_package_is_self_contained
    contents = Gem::Package.new(GEM_FILE).contents
    %w[rmp.h rmp_pprof.h LICENSE README.md CHANGELOG.md ruby/ext/ruby_memprofiler_pprof/extconf.rb
       ruby/ext/ruby_memprofiler_pprof/collector.c ruby/lib/ruby_memprofiler_pprof.rb
       ruby/exe/ruby_memprofiler_pprof_profile].each { |f| assert_includes contents, f }
    assert_empty contents.grep(/\.(so|o|gem)\z/), "build products in the package"
    assert_includes File.read(File.join(installed_dir, "LICENSE")), "Apache License\n                           Version 2.0, January 2004"
  end

  def test_the_installed_wrapper_runs
    env = clean_env("GEM_HOME" => GEM_HOME, "GEM_PATH" => GEM_HOME)
    out, err, status = run_cmd(env, File.join(GEM_HOME, "bin", "ruby_memprofiler_pprof_profile"), "--version")
    assert status.success?, err
    assert_equal "ruby_memprofiler_pprof_profile #{spec.version}\n", out
  end

  private

  def installed_dir
    File.join(GEM_HOME, "gems", "#{spec.name}-#{spec.version}")
  end
end
