#!/usr/bin/env bash
# The gem's whole test, offline, from any directory:
#   1. compile the extension (rake compile; extconf.rb uses the root rmp.h/rmp_pprof.h)
#   2. run every test in ruby/test against the source tree (rake test)
#   3. `gem build ruby_memprofiler_pprof.gemspec` at the repository root, as
#      a user would (its output is checked for warnings)
#   4. `gem install --local` it into a temporary GEM_HOME
#   5. rerun the wrapper end-to-end test against the installed gem, and
#      check the package itself (test/package/test_installed_gem.rb)
#   6. Bundler, offline: a git: source and a path: pin (test/package/test_bundler.rb),
#      with this Ruby's own Bundler (a default gem from Ruby 2.6; Debian's
#      ruby-bundler for 3.1), skipped with the reason if it has none.
set -euo pipefail

ruby_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo_root="$(dirname "$ruby_dir")"
cd "$ruby_dir"

work="$(mktemp -d "${TMPDIR:-/tmp}/rmp-gem-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Nothing here may reach the network, and the user's own settings must not
# leak into the tests.
export HOME="$work/home" MAKEFLAGS=-j2
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/go-cache" GOPROXY=off
unset RUBYOPT RUBYLIB
for v in $(env | grep -o '^BUNDLE_[A-Z_]*' || true); do unset "$v"; done
# What the test setup itself needs: scripts/with-ruby.sh's shims for a Ruby
# built from source, --yjit for the YJIT runs.
[ -n "${RMP_TEST_RUBYLIB:-}" ] && export RUBYLIB="$RMP_TEST_RUBYLIB"
[ -n "${RMP_TEST_RUBYOPT:-}" ] && export RUBYOPT="$RMP_TEST_RUBYOPT"
mkdir -p "$HOME"
for v in $(env | grep -o '^RUBY_MEMPROFILER_PPROF_[A-Z_]*' || true); do unset "$v"; done

version="$(ruby -e 'require "./lib/ruby_memprofiler_pprof/version"; print MemprofilerPprof::VERSION')"
gem_file="$work/ruby_memprofiler_pprof-${version}.gem"

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

echo "== gem build of the root gemspec"
build_log="$work/gem-build.log"
(cd "$repo_root" && gem build ruby_memprofiler_pprof.gemspec --output "$gem_file") >"$build_log" 2>&1 \
  || { cat "$build_log"; echo "FAIL: gem build" >&2; exit 1; }
cat "$build_log"

echo "== install it offline into a temporary GEM_HOME"
installed="$work/installed"
gem install --local --no-document --install-dir "$installed" "$gem_file"

echo "== the installed gem: wrapper end-to-end, the package"
export RMP_TEST_GEM_HOME="$installed" RMP_TEST_GEM_FILE="$gem_file" RMP_TEST_GEM_BUILD_LOG="$build_log"
ruby -Itest test/test_wrapper_e2e.rb || failed="$failed installed-gem-e2e"
ruby -Itest test/package/test_installed_gem.rb || failed="$failed installed-gem-package"
unset RMP_TEST_GEM_HOME RMP_TEST_GEM_FILE RMP_TEST_GEM_BUILD_LOG

echo "== Bundler: git: source and path: pin, offline"
ruby -Itest test/package/test_bundler.rb || failed="$failed bundler"

if [ -n "$failed" ]; then
  echo "FAIL: ruby gem tests failed:$failed" >&2
  exit 1
fi
echo "OK: ruby gem tests passed"
