#!/bin/sh
# usage: test_install.sh BUILD_DIR CONSUMER_SRC EMBED_C VERSION CMAKE CC HAVE_REPORT
set -eu
build=$1 consumer=$2 embed=$3 version=$4 cmake=$5 cc=$6 have_report=$7
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

prefix="$tmp/prefix"
"$cmake" --install "$build" --prefix "$prefix" > "$tmp/install.log" || { cat "$tmp/install.log" >&2; exit 1; }
for f in include/rmp.h include/rmp_pprof.h lib/cmake/rmp/rmpConfig.cmake lib/cmake/rmp/rmpConfigVersion.cmake \
         lib/cmake/rmp/rmpTargets.cmake; do
  [ -f "$prefix/$f" ] && ok "installed $f" || fail "not installed: $f"
done
if [ "$have_report" = 1 ]; then
  [ "$("$prefix/bin/rmp-report" --version)" = "rmp-report $version" ] && ok "installed bin/rmp-report --version" \
    || fail "installed rmp-report"
fi

# The consumer sees only the prefix: its sources are copied away from the tree.
mkdir -p "$tmp/src"
cp "$consumer/CMakeLists.txt" "$embed" "$tmp/src/"
if "$cmake" -S "$tmp/src" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
     -DRMP_WANT_VERSION="$version" > "$tmp/cfg.log" 2>&1 \
   && "$cmake" --build "$tmp/b" > "$tmp/build.log" 2>&1; then
  ok "consumer: find_package(rmp $version EXACT) and rmp::rmp build the embedding example"
else
  fail "consumer build"; cat "$tmp/cfg.log" "$tmp/build.log" >&2 2> /dev/null || true
fi
grep -q -- "-I$prefix/include\|-isystem $prefix/include" "$tmp/b/CMakeFiles/consumer.dir/flags.make" \
  && ok "the include path is the prefix's" || fail "include path: $(grep _INCLUDES "$tmp/b/CMakeFiles/consumer.dir/flags.make")"
if "$tmp/b/consumer" "$tmp/embed.pb.gz" > /dev/null && [ -s "$tmp/embed.pb.gz" ]; then
  ok "the consumer wrote a profile"
  if [ "$have_report" = 1 ]; then
    "$prefix/bin/rmp-report" top "$tmp/embed.pb.gz" > "$tmp/top.txt" && grep -q 'build_cache' "$tmp/top.txt" \
      && ok "the installed rmp-report reads it" || { fail "rmp-report top on the consumer's profile"; cat "$tmp/top.txt" >&2; }
  fi
else fail "the consumer did not write a profile"; fi

# A version the package is not: find_package fails.
if "$cmake" -S "$tmp/src" -B "$tmp/b2" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
     -DRMP_WANT_VERSION=99.0.0 > "$tmp/cfg2.log" 2>&1; then fail "find_package(rmp 99.0.0 EXACT) succeeded"
else ok "find_package(rmp 99.0.0 EXACT) fails"; fi
[ $fails -eq 0 ] || { echo "$fails check(s) failed" >&2; exit 1; }
echo "all checks passed"
