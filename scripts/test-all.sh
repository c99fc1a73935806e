#!/usr/bin/env bash
# The one test command (README "Run every test"; .ci/run calls exactly this).
# On a fresh Debian 12 machine it installs its packages, then builds and runs
# every test: the C suite plain (gcc) and under ASan+UBSan (clang), the gem's
# suite against an offline-installed .gem, the collector tests again with the
# FREEOBJ fallback and with the extension under ASan+UBSan, all of the gem's
# stages again on Rubies 3.3, 3.4 and 4.0 (and with --yjit), the fuzz
# regression run and the instruction-count benchmark gate. Exits non-zero if
# any stage fails.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${RMP_TEST_DIR:-$root/build-test}
jobs=${RMP_JOBS:-2}
mkdir -p "$out"

bash "$root/scripts/install-deps.sh" || { echo "FAILED: installing Debian packages"; exit 1; }

passed=0 failed=0 failed_names=()
stage() { # stage NAME COMMAND...
  local name=$1; shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failed_names+=("$name"); echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
}

c_suite() { # c_suite DIR CC CXX CMAKE_ARGS...
  local dir=$1 cc=$2 cxx=$3; shift 3
  cmake -S "$root" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" "$@" >"$dir.configure.log" 2>&1 \
    || { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j"$jobs" || return 1
  ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

stage "C tests (gcc, plain)" c_suite "$out/gcc" gcc g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
stage "C tests (clang, ASan+UBSan)" c_suite "$out/clang-asan" clang clang++ -DCMAKE_BUILD_TYPE=Debug -DRMP_SANITIZE=ON
stage "Ruby extension warning-free (gcc, clang)" sh "$root/ruby/scripts/check-warnings.sh"
[ -f "$root/ruby/scripts/test.sh" ] && stage "Ruby gem tests" bash "$root/ruby/scripts/test.sh"
[ -f "$root/ruby/test/run_collector_tests.sh" ] && \
  stage "Ruby collector tests (FREEOBJ liveness fallback)" env RMP_EXT_VARIANTS=freeobj bash "$root/ruby/test/run_collector_tests.sh"
[ -f "$root/ruby/test/run_collector_tests.sh" ] && \
  stage "Ruby collector tests (extension under ASan+UBSan)" \
    env RMP_EXT_VARIANTS=default RMP_EXT_SANITIZE=1 bash "$root/ruby/test/run_collector_tests.sh"
# The gem on more Rubies: those in RMP_RUBIES (paths of ruby executables,
# space-separated), or else the three that ../shared/rubies builds (the
# first run on a machine builds each in ~10 minutes; later runs reuse
# /opt/rmp-rubies).
shared=${RMP_SHARED:-$root/../shared}
extra_rubies=()
build_ruby() { # build_ruby NAME: adds its ruby to extra_rubies
  local log="$out/build-$1.log" ruby
  bash "$shared/rubies/build.sh" "$1" >"$log" 2>&1 || { tail -20 "$log"; return 1; }
  ruby=$(tail -n 1 "$log")
  echo "$ruby: $("$ruby" -v)"
  extra_rubies+=("$ruby")
}
if [ -n "${RMP_RUBIES:-}" ]; then
  read -r -a extra_rubies <<<"$RMP_RUBIES"
elif [ -f "$shared/rubies/build.sh" ]; then
  for name in ruby-3.3 ruby-3.4 ruby-4.0; do stage "Build $name" build_ruby "$name"; done
else
  echo "=== Other Rubies: skipped (no $shared/rubies/build.sh and no RMP_RUBIES)"
fi
for ruby in "${extra_rubies[@]}"; do
  v=$("$ruby" -e 'print RUBY_VERSION') || { failed=$((failed + 1)); failed_names+=("Ruby $ruby"); continue; }
  with=("$root/scripts/with-ruby.sh" "$ruby")
  stage "Ruby $v: extension warning-free (gcc, clang)" "${with[@]}" sh "$root/ruby/scripts/check-warnings.sh"
  stage "Ruby $v: gem tests" "${with[@]}" bash "$root/ruby/scripts/test.sh"
  stage "Ruby $v: collector tests (FREEOBJ liveness fallback)" \
    "${with[@]}" env RMP_EXT_VARIANTS=freeobj bash "$root/ruby/test/run_collector_tests.sh"
  stage "Ruby $v: collector tests (extension under ASan+UBSan)" \
    "${with[@]}" env RMP_EXT_VARIANTS=default RMP_EXT_SANITIZE=1 bash "$root/ruby/test/run_collector_tests.sh"
  if "$ruby" --yjit -e 'exit(RubyVM::YJIT.enabled? ? 0 : 1)' 2>/dev/null; then
    stage "Ruby $v --yjit: gem tests" "${with[@]}" env RMP_TEST_RUBYOPT=--yjit bash "$root/ruby/scripts/test.sh"
  else
    echo "=== Ruby $v --yjit: skipped (built without YJIT)"
  fi
done
[ -f "$root/scripts/test-fuzz.sh" ] && stage "Fuzz regression" bash "$root/scripts/test-fuzz.sh" "$out/fuzz"
[ -f "$root/scripts/bench-gate.sh" ] && stage "Benchmark gate (callgrind)" bash "$root/scripts/bench-gate.sh" "$out/gate"

echo
[ "$failed" -gt 0 ] && printf 'failed stage: %s\n' "${failed_names[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
