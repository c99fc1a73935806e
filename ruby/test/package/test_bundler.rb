# frozen_string_literal: true

require_relative "../rmp_test_helper"

# Real Bundler, offline, against a fresh git repository made from this
# checkout's files (uncommitted work included):
# - a `git:` source: `bundle install --local` compiles the extension, and
#   `bundle exec` loads and runs the collector;
# - a `path:` pin: Bundler does not compile extensions for path gems, so the
#   require fails with a message saying how, `rake compile` in the
#   checkout's ruby/ fixes it, and the wrapper then works under bundle exec.
# Nothing may reach the network (proxies point at a closed local port) or
# the user's ~/.bundle (every BUNDLE_* location is in a temporary directory).
class TestBundler < Minitest::Test
  include RmpTestHelper

  REPO_ROOT = File.expand_path("..", RUBY_DIR)

  def setup
    @tmp = Dir.mktmpdir("rmp-bundler")
    @env = clean_env(
      "HOME" => File.join(@tmp, "home"),
      "BUNDLE_USER_HOME" => File.join(@tmp, "bundle-user"),
      "BUNDLE_USER_CACHE" => File.join(@tmp, "bundle-user", "cache"),
      "BUNDLE_USER_CONFIG" => File.join(@tmp, "bundle-user", "config"),
      "BUNDLE_APP_CONFIG" => File.join(@tmp, "app", ".bundle"),
      "BUNDLE_PATH" => File.join(@tmp, "bundle"),
      "BUNDLE_GEMFILE" => File.join(@tmp, "app", "Gemfile"),
      "BUNDLE_SILENCE_ROOT_WARNING" => "true",
      "BUNDLE_DISABLE_VERSION_CHECK" => "true",
      "BUNDLE_IGNORE_MESSAGES" => "true",
      "http_proxy" => "http://127.0.0.1:9", "https_proxy" => "http://127.0.0.1:9",
      "HTTP_PROXY" => "http://127.0.0.1:9", "HTTPS_PROXY" => "http://127.0.0.1:9",
      "GIT_CONFIG_NOSYSTEM" => "1", "MAKEFLAGS" => "-j2"
    ).reject { |k, _| k.start_with?("RMP_EXT_") || k == "BUNDLE_FROZEN" }
    # scripts/with-ruby.sh's shims (ostruct for Debian's rake on 3.4+).
    @env["RUBYLIB"] = ENV["RMP_TEST_RUBYLIB"] if ENV["RMP_TEST_RUBYLIB"]
    FileUtils.mkdir_p([@env["HOME"], File.join(@tmp, "app")])
    _, _, status = run_cmd(@env, RUBY, "-e", 'require "bundler"')
    skip "no Bundler for Ruby #{RUBY_VERSION} (Debian: ruby-bundler)" unless status.success?
    @source = make_source_repo
  end

  def teardown
    FileUtils.rm_rf(@tmp)
  end

  def test_git_source_installs_offline_and_runs_the_collector
    gemfile(%(gem "ruby_memprofiler_pprof", git: "file://#{@source}"))
    bundle("install", "--local")
    out = bundle("exec", "ruby", "-e", PROFILE_SCRIPT)
    so = out[/^so=(.*)$/, 1]
    assert File.realpath(so).start_with?(File.realpath(File.join(@tmp, "bundle")) + "/"),
           "the extension was not Bundler's build: #{so}"
    assert_match(/rmp_bundled_method/, pprof_top(File.join(@tmp, "app", "bundled.pprof")))
    assert_equal "ruby_memprofiler_pprof_profile #{version}\n", bundle("exec", "ruby_memprofiler_pprof_profile", "--version")
  end

  def test_path_pin_needs_rake_compile_then_works_with_the_wrapper
    gemfile(%(gem "ruby_memprofiler_pprof", path: #{@source.inspect}))
    bundle("install", "--local")
    out, err, status = bundle_run("exec", "ruby", "-e", 'require "ruby_memprofiler_pprof"')
    refute status.success?, "the path gem loaded without a compiled extension:\n#{out}"
    assert_includes err, "cannot load the extension"
    assert_includes err, "`rake compile` in the checkout's ruby/ directory"

    out, err, status = run_cmd(@env, RUBY, "-S", "rake", "compile", chdir: File.join(@source, "ruby"), timeout: 600)
    assert status.success?, "rake compile failed:\n#{out}\n#{err}"

    out = bundle("exec", "ruby", "-e", PROFILE_SCRIPT)
    assert File.realpath(out[/^so=(.*)$/, 1]).start_with?(File.realpath(File.join(@source, "ruby", "lib")) + "/")
    File.write(File.join(@tmp, "app", "app.rb"), "def rmp_wrapped_method = Array.new(200) { 'w' * 300 }\n" \
                                                  "$keep = rmp_wrapped_method\nGC.start\n")
    bundle("exec", "ruby_memprofiler_pprof_profile", "--out", "prof/%{index}.pprof", "--", "ruby", "app.rb")
    assert_match(/rmp_wrapped_method/, pprof_top(File.join(@tmp, "app", "prof", "0.pprof")))
  end

  PROFILE_SCRIPT = <<~RUBY
    require "ruby_memprofiler_pprof"
    def rmp_bundled_method = Array.new(200) { "b" * 300 }
    keep = nil
    data = MemprofilerPprof::Collector.new(sample_rate: 1).profile { keep = rmp_bundled_method; GC.start }
    File.binwrite("bundled.pprof", data)
    puts "so=" + $LOADED_FEATURES.grep(%r{/ruby_memprofiler_pprof\\.so\\z}).first.to_s
  RUBY

  private

  def version
    File.read(File.join(LIB_DIR, "ruby_memprofiler_pprof", "version.rb"))[/VERSION = "([^"]+)"/, 1]
  end

  # A git repository of the files a Bundler source uses: those the root
  # gemspec packs, the gemspec itself and ruby/Rakefile (for rake compile),
  # as they are in this checkout, uncommitted changes included. (The rest of
  # the repository, thousands of fuzz corpus files, only slows git down.)
  def make_source_repo
    spec = Gem::Specification.load(File.join(REPO_ROOT, "ruby_memprofiler_pprof.gemspec"))
    src = File.join(@tmp, "source")
    (spec.files + ["ruby_memprofiler_pprof.gemspec", "ruby/Rakefile"]).uniq.each do |f|
      FileUtils.mkdir_p(File.join(src, File.dirname(f)))
      FileUtils.cp(File.join(REPO_ROOT, f), File.join(src, f), preserve: true)
    end
    git = ["git", "-C", src, "-c", "user.name=rmp test", "-c", "user.email=rmp@example.invalid", "-c", "init.defaultBranch=main"]
    [%w[init -q], %w[add -A], %w[commit -q -m source]].each do |args|
      _, err, status = run_cmd(@env, *git, *args)
      assert status.success?, "git #{args.join(' ')}: #{err}"
    end
    src
  end

  def gemfile(line)
    File.write(@env["BUNDLE_GEMFILE"], %(source "https://rubygems.org"\n#{line}\n))
  end

  def bundle_run(*args)
    run_cmd(@env, RUBY, "-S", "bundle", *args, chdir: File.join(@tmp, "app"), timeout: 600)
  end

  def bundle(*args)
    out, err, status = bundle_run(*args)
    assert status.success?, "bundle #{args.join(' ')} failed:\n#{out}\n#{err}"
    out
  end

  def pprof_top(path)
    out, err, status = go_pprof("-top", "-nodecount=200", path)
    assert status.success?, err
    out
  end
end
