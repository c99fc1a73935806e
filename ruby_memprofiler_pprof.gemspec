# frozen_string_literal: true

require_relative "ruby/lib/ruby_memprofiler_pprof/version"

# The one gemspec, at the repository root, so that `gem build`, Bundler's
# git: sources and path: checkouts all see the same tree: rmp.h and
# rmp_pprof.h stay at the root, where ruby/ext/.../extconf.rb finds them
# two directories up, in a checkout and in an installed gem alike.
Gem::Specification.new do |spec|
  spec.name = "ruby_memprofiler_pprof"
  spec.version = MemprofilerPprof::VERSION
  spec.summary = "A sampling heap profiler for Ruby that writes pprof profiles"
  spec.description = "Samples allocations, tracks which sampled objects are still live, and " \
                     "periodically writes pprof profiles of allocated and retained objects " \
                     "by stack trace; meant to run continuously in production."
  spec.authors = ["ruby_memprofiler_pprof contributors"]
  spec.license = "Apache-2.0"
  spec.homepage = "https://github.com/zendesk/ruby_memprofiler_pprof"
  # No homepage_uri: RubyGems >= 3.4 warns when two keys repeat one URI.
  spec.metadata = {
    "source_code_uri" => spec.homepage,
    "changelog_uri" => "#{spec.homepage}/blob/main/CHANGELOG.md",
    "bug_tracker_uri" => "#{spec.homepage}/issues",
    "rubygems_mfa_required" => "true",
  }
  spec.required_ruby_version = ">= 3.1"

  spec.files = Dir.glob(
    %w[
      rmp.h
      rmp_pprof.h
      ruby/lib/**/*.rb
      ruby/ext/ruby_memprofiler_pprof/*.{c,h,rb}
      ruby/exe/*
      README.md
      LICENSE
      CHANGELOG.md
    ],
    base: __dir__
  ).sort
  spec.extra_rdoc_files = %w[README.md LICENSE CHANGELOG.md]
  spec.bindir = "ruby/exe"
  spec.executables = ["ruby_memprofiler_pprof_profile"]
  spec.extensions = ["ruby/ext/ruby_memprofiler_pprof/extconf.rb"]
  spec.require_paths = ["ruby/lib"]
end
