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
# What the test setup itself needs: scripts/with-ruby.sh's shims for a Ruby
# built from source, --yjit for the YJIT runs.
[ -n "${RMP_TEST_RUBYLIB:-}" ] && export RUBYLIB="$RMP_TEST_RUBYLIB"
[ -n "${RMP_TEST_RUBYOPT:-}" ] && export RUBYOPT="$RMP_TEST_RUBYOPT"
mkdir -p "$HOME"
for v in $(env | grep -o '^RUBY_MEMPROFILER_PPROF_[A-Z_]*' || true); do unset "$v"; done

version="$(ruby -e 'require "./lib/ruby_memprofiler_pprof/version"; print MemprofilerPprof::VERSION')"
gem_file="pkg/ruby_memprofiler_pprof-${version}.gem"

echo "== compile and test the source tree"
# Debian's rake script names /usr/bin/ruby; -S runs it under the Ruby on PATH.
rake() { ruby -S rake "$@"; }
ruby -v
# lib/ holds one .so for whichever Ruby compiled last; make rake-compiler
# copy this Ruby's build there.
rm -f lib/ruby_memprofiler_pprof/ruby_memprofiler_pprof.so
# The source tree's build carries the test-only methods; the gem does not.
RMP_EXT_TESTING=1 rake compile
# Test failures do not stop the packaging checks below; the exit status
# still reports them.
failed=""
RMP_EXT_TESTING=1 rake test || failed="$failed source-tree-tests"

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
