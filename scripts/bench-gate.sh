#!/usr/bin/env bash
# Deterministic performance gate: counts instructions per core operation
# under callgrind (bench/gate/ops.c) and fails if any operation costs more
# than 10% over bench/gate/baseline.txt.
#
#   scripts/bench-gate.sh [--update] [--no-build] [WORKDIR]
#
# WORKDIR (default: a fresh temp dir) holds the Release build and the
# callgrind dumps. --update rewrites the baseline from this run instead of
# comparing; commit the result only for a deliberate change in cost.
# --no-build reruns the binary already in WORKDIR (to check that counts
# repeat exactly for one binary).
# Counts depend on the compiler, so the build pins gcc (CC=gcc) and the
# baseline records its version; a different version only warns.
set -euo pipefail

update=0
build_it=1
workdir=""
for arg in "$@"; do
  case "$arg" in
    --update) update=1 ;;
    --no-build) build_it=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "bench-gate: unknown option $arg" >&2; exit 2 ;;
    *) workdir="$arg" ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
baseline="$root/bench/gate/baseline.txt"
threshold="${RMP_GATE_THRESHOLD:-10}"   # percent
if [ -z "$workdir" ]; then
  workdir="$(mktemp -d /tmp/rmp-bench-gate.XXXXXX)"
  # A temp dir of our own is removed after a pass and kept for inspection otherwise.
  trap 'rc=$?; if [ "$rc" -eq 0 ]; then rm -rf "$workdir"; else echo "bench-gate: kept $workdir" >&2; fi' EXIT
fi
mkdir -p "$workdir"
build="$workdir/build"
dumps="$workdir/callgrind"

command -v valgrind >/dev/null || { echo "bench-gate: valgrind is not installed" >&2; exit 2; }

cc_version="$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)"
if [ "$build_it" -eq 1 ]; then
  echo "bench-gate: building rmp_gate_ops (Release, gcc $cc_version) in $build"
  CC=gcc CXX=g++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRMP_BUILD_BENCH=ON \
    -DRMP_BUILD_TESTS=OFF -DRMP_BUILD_REPORT=OFF -DRMP_BUILD_FUZZ=OFF -DRMP_SANITIZE=OFF >"$workdir/cmake.log" 2>&1 \
    || { cat "$workdir/cmake.log" >&2; exit 2; }
  cmake --build "$build" --target rmp_gate_ops -j2 >"$workdir/build.log" 2>&1 \
    || { cat "$workdir/build.log" >&2; exit 2; }
fi
[ -x "$build/bench/rmp_gate_ops" ] || { echo "bench-gate: no $build/bench/rmp_gate_ops" >&2; exit 2; }

rm -rf "$dumps" && mkdir -p "$dumps"
echo "bench-gate: running under callgrind"
start=$(date +%s)
# --instr-atstart=no: only the sections ops.c brackets are simulated, so the
# fixture building in between runs at near-native speed.
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dumps/callgrind.out" \
  "$build/bench/rmp_gate_ops" >"$workdir/ops.log" 2>"$workdir/valgrind.log" \
  || { cat "$workdir/ops.log" "$workdir/valgrind.log" >&2; echo "bench-gate: rmp_gate_ops failed" >&2; exit 1; }
echo "bench-gate: callgrind took $(( $(date +%s) - start ))s"

# Each dump is named by its client request "op N"; Ir/N is the op's cost.
current="$workdir/current.txt"
for f in "$dumps"/callgrind.out.*; do
  awk '/^desc: Trigger: Client Request: /{name=$5; n=$6}
       /^summary: /{ir=$2}
       END{ if (name == "" || n == 0) exit 1; printf "%s %.1f\n", name, ir / n }' "$f"
done | sort >"$current"
expected_ops=$(grep -c '^op ' "$workdir/ops.log")
if [ "$(wc -l <"$current")" -ne "$expected_ops" ]; then
  echo "bench-gate: expected $expected_ops dumps, parsed $(wc -l <"$current")" >&2
  exit 2
fi

if [ "$update" -eq 1 ]; then
  {
    echo "# Instructions per operation under callgrind (bench/gate/ops.c, Release, gcc $cc_version)."
    echo "# Checked by scripts/bench-gate.sh (fails above +${threshold}%). Refresh deliberately:"
    echo "#   scripts/bench-gate.sh --update"
    cat "$current"
  } >"$baseline"
  echo "bench-gate: wrote $baseline"
  cat "$current"
  exit 0
fi

[ -f "$baseline" ] || { echo "bench-gate: no baseline at $baseline (run with --update)" >&2; exit 2; }
base_cc="$(sed -n 's/.*Release, gcc \([^)]*\)).*/\1/p' "$baseline" | head -1)"
if [ -n "$base_cc" ] && [ "$base_cc" != "$cc_version" ]; then
  echo "bench-gate: WARNING baseline was made with gcc $base_cc, this is gcc $cc_version"
fi

grep -v '^#' "$baseline" | awk 'NF == 2' | sort >"$workdir/baseline.sorted"
# join pairs the two lists by op name; "-" marks an op missing on one side.
join -a1 -a2 -e - -o 0,1.2,2.2 "$workdir/baseline.sorted" "$current" | awk -v thr="$threshold" '
  BEGIN { fail = 0; printf "%-44s %14s %14s %8s\n", "operation", "baseline Ir", "current Ir", "change" }
  {
    op = $1; b = $2; c = $3
    if (c == "-") { printf "%-44s %14s %14s %8s  FAIL: no longer measured\n", op, b, c, "-"; fail = 1; next }
    if (b == "-") { printf "%-44s %14s %14s %8s  new: not in baseline (run --update)\n", op, b, c, "-"; next }
    change = b > 0 ? (c - b) * 100.0 / b : 0
    verdict = ""
    if (change > thr + 0) { verdict = "  FAIL: regression"; fail = 1 }
    else if (change < -thr) verdict = "  faster: consider --update"
    printf "%-44s %14s %14s %+7.1f%%%s\n", op, b, c, change, verdict
  }
  END { exit fail }' && status=0 || status=$?

if [ "$status" -ne 0 ]; then
  echo "bench-gate: FAILED (an operation costs more than ${threshold}% over the baseline, or vanished)"
  exit 1
fi
echo "bench-gate: OK (every operation within +${threshold}% of the baseline)"
