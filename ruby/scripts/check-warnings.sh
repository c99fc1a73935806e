#!/bin/sh
# Builds the extension for the Ruby on PATH with gcc and with clang, with
# the mark-bit probes and with the FREEOBJ fallback forced, and fails on any
# compiler warning (extconf.rb adds -Wall -Wextra to Ruby's own flags).
set -u
ext=$(cd "$(dirname "$0")/../ext/ruby_memprofiler_pprof" && pwd)
status=0
for cc in gcc clang; do
  for variant in default freeobj; do
    dir=$(mktemp -d "${TMPDIR:-/tmp}/rmp-warnings.XXXXXX")
    if [ "$variant" = freeobj ]; then force=1; else force=; fi
    if ! (cd "$dir" && CC=$cc RMP_EXT_FORCE_FREEOBJ=$force ruby "$ext/extconf.rb" && make V=1) >"$dir/log" 2>&1; then
      echo "FAILED: $cc $variant build"; tail -20 "$dir/log"; status=1
    elif grep -q "warning:" "$dir/log"; then
      echo "FAILED: $cc $variant warnings:"; grep -A3 "warning:" "$dir/log"; status=1
    else
      echo "ok: $cc $variant, $(ruby -e 'print RUBY_VERSION'), no warnings"
    fi
    rm -rf "$dir"
  done
done
exit $status
