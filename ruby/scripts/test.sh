#!/usr/bin/env bash
# The gem's whole test, offline, from any directory:
#   1. compile the extension (rake compile; extconf.rb uses the root rmp.h/rmp_pprof.h)
#   2. run every test in ruby/test against the source tree (rake test)
#   3. stage the gem with copies of the headers and build
#      pkg/ruby_memprofiler_pprof-<version>.gem (rake gem)
#   4. `gem install --local` it into a temporary GEM_HOME
#   5. rerun the wrapper end-to-end test against the installed gem.
set -euo pipefail

ruby_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ruby_dir"

work="$(mktemp -d "${TMPDIR:-/tmp}/rmp-gem-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Nothing here may reach the network, and the user's own settings must not
# leak into the tests.
export HOME="$work/home" MAKEFLAGS=-j2
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/go-cache" GOPROXY=off
unset RUBYOPT RUBYLIB BUNDLE_GEMFILE
mkdir -p "$HOME"
for v in $(env | grep -o '^RUBY_MEMPROFILER_PPROF_[A-Z_]*' || true); do unset "$v"; done

version="$(ruby -e 'require "./lib/ruby_memprofiler_pprof/version"; print MemprofilerPprof::VERSION')"
gem_file="pkg/ruby_memprofiler_pprof-${version}.gem"

echo "== compile and test the source tree"
rake compile
# Test failures do not stop the packaging checks below; the exit status
# still reports them.
failed=""
rake test || failed="$failed source-tree-tests"

echo "== build $gem_file"
rm -f "$gem_file"
rake gem

echo "== install it offline into a temporary GEM_HOME"
installed="$work/installed"
gem install --local --no-document --install-dir "$installed" "$gem_file"

echo "== wrapper end-to-end against the installed gem"
RMP_TEST_GEM_HOME="$installed" ruby -Itest test/test_wrapper_e2e.rb || failed="$failed installed-gem-e2e"

if [ -n "$failed" ]; then
  echo "FAIL: ruby gem tests failed:$failed" >&2
  exit 1
fi
echo "OK: ruby gem tests passed"
