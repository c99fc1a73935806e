#!/usr/bin/env bash
# CI fuzz stage (called by scripts/test-all.sh with a work directory):
#  1. build every harness with clang -fsanitize=fuzzer,address,undefined;
#  2. replay every committed corpus and regression input through every
#     harness (any bytes are a valid input to any harness), then the ctest
#     regression cases;
#  3. fuzz each harness with libFuzzer for RMP_FUZZ_SECONDS (default 30);
#  4. build every harness with AFL++ (afl-clang-fast + libAFLDriver) and run
#     each AFL binary once over its corpus, to prove that engine works too.
# Any crash, leak, sanitizer report or model mismatch fails the stage.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$root/build-fuzz-ci}
secs=${RMP_FUZZ_SECONDS:-30}
jobs=${RMP_JOBS:-2}
harnesses=(live trie sampler encode e2e)
mkdir -p "$work"
fail=0
t0=$SECONDS

configure() { # configure DIR CC CXX
  cmake -S "$root" -B "$1" -DRMP_BUILD_FUZZ=ON -DRMP_BUILD_REPORT=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="$2" -DCMAKE_CXX_COMPILER="$3" >"$1.configure.log" 2>&1 || { cat "$1.configure.log"; return 1; }
  local targets=()
  for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
  AFL_QUIET=1 cmake --build "$1" -j"$jobs" "${targets[@]}" >"$1.build.log" 2>&1 || { tail -40 "$1.build.log"; return 1; }
}

echo "-- building the harnesses (libFuzzer)"
configure "$work/libfuzzer" clang clang++ || exit 1

echo "-- replaying every corpus and regression input through every harness"
inputs=()
for d in "$root"/fuzz/corpus/* "$root"/fuzz/regress/*; do [ -d "$d" ] && inputs+=("$d"); done
for h in "${harnesses[@]}"; do
  if ! "$work/libfuzzer/fuzz/fuzz_$h" -runs=0 "${inputs[@]}" >"$work/replay-$h.log" 2>&1; then
    grep -E 'check failed|ERROR|runtime error|Running:' "$work/replay-$h.log" | tail -5
    echo "FAIL: replay through fuzz_$h"; fail=1
  fi
done
ctest --test-dir "$work/libfuzzer" -L fuzz --output-on-failure -j"$jobs" | tail -15
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "FAIL: fuzz ctest cases"; fail=1; }

echo "-- fuzzing each harness for ${secs}s (libFuzzer)"
for h in "${harnesses[@]}"; do
  tmp="$work/corpus-$h"; rm -rf "$tmp"; mkdir -p "$tmp"
  dict=(); [ -f "$root/fuzz/dict/$h.dict" ] && dict=(-dict="$root/fuzz/dict/$h.dict")
  if "$work/libfuzzer/fuzz/fuzz_$h" -max_total_time="$secs" -print_final_stats=1 "${dict[@]}" \
       -artifact_prefix="$work/crash-$h-" "$tmp" "$root/fuzz/corpus/$h" >"$work/fuzz-$h.log" 2>&1; then
    echo "fuzz_$h: ok, $(grep -E '^stat::number_of_executed_units' "$work/fuzz-$h.log" | awk '{print $2}') execs," \
         "$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/fuzz-$h.log" | tail -1)"
  else
    grep -E 'check failed|ERROR|runtime error|SUMMARY' "$work/fuzz-$h.log" | head -5
    echo "FAIL: fuzz_$h crashed; input saved as $(ls "$work"/crash-$h-* 2>/dev/null | head -1)"; fail=1
  fi
done

echo "-- building the harnesses with AFL++"
if command -v afl-clang-fast >/dev/null; then
  if configure "$work/afl" afl-clang-fast afl-clang-fast++; then
    for h in "${harnesses[@]}"; do
      files=("$root"/fuzz/corpus/"$h"/*)
      "$work/afl/fuzz/fuzz_$h" "${files[@]}" >"$work/afl-$h.log" 2>&1 \
        || { tail -5 "$work/afl-$h.log"; echo "FAIL: AFL++ build of fuzz_$h crashed on its corpus"; fail=1; }
    done
    echo "AFL++: ${#harnesses[@]} harnesses built and run over their corpora"
  else
    echo "FAIL: AFL++ build"; fail=1
  fi
else
  echo "FAIL: afl-clang-fast not installed (Debian package afl++)"; fail=1
fi

echo "-- fuzz stage: $((SECONDS - t0)) s, $([ $fail -eq 0 ] && echo ok || echo FAILED)"
exit $fail
