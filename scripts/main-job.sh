#!/usr/bin/env bash
# The README's main job, end to end, on a fresh Debian 12 machine:
#   1. install the Debian packages in scripts/packages.txt (skipped when all present);
#   2. build rmp-report (CMake) and the gem's C extension (extconf.rb + make);
#   3. run examples/leaky_app under ruby_memprofiler_pprof_profile, writing a
#      profile every RUBY_MEMPROFILER_PPROF_INTERVAL seconds (default 2) for
#      MAIN_JOB_DURATION seconds (default 30);
#   4. run `rmp-report leaks` on the profiles (text, JSON and HTML), write a
#      merged profile, and say where everything is.
# Exits non-zero unless the planted leak (RequestHistory, in
# examples/leaky_app/request_history.rb) is suspect #1.
#
# Everything it writes goes under MAIN_JOB_DIR (default <repo>/tmp/main-job).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${MAIN_JOB_DIR:-$root/tmp/main-job}"
duration="${MAIN_JOB_DURATION:-30}"
interval="${RUBY_MEMPROFILER_PPROF_INTERVAL:-2}"
# Sampling one allocation in ten keeps the live-object table (50000 entries
# by default) from filling up: at rate 1 the leak plus not-yet-collected
# garbage overflow it within ~20 s, new samples are dropped and the leak's
# series flattens. Values are scaled by 1/rate, so sizes stay estimates of
# the true totals.
sample_rate="${RUBY_MEMPROFILER_PPROF_SAMPLE_RATE:-0.1}"
say() { printf '\n==> %s\n' "$*"; }

say "1/4 Debian packages (scripts/packages.txt)"
mapfile -t pkgs < <(grep -v -E '^\s*(#|$)' "$root/scripts/packages.txt")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all ${#pkgs[@]} packages already installed"
else
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}"
fi

say "2/4 build rmp-report and the gem's extension"
mkdir -p "$work"
cmake -S "$root" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRMP_BUILD_TESTS=OFF > "$work/cmake.log" \
  || { cat "$work/cmake.log"; exit 1; }
cmake --build "$work/build" -j2 --target rmp-report > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
report="$work/build/report/rmp-report"
echo "rmp-report: $report"
# The extension is built out of tree, so the checkout stays clean; its
# extconf.rb finds rmp.h and rmp_pprof.h at the repository root.
rm -rf "$work/ext" "$work/gem-lib"
mkdir -p "$work/ext" "$work/gem-lib/ruby_memprofiler_pprof"
(cd "$work/ext" && ruby "$root/ruby/ext/ruby_memprofiler_pprof/extconf.rb" && make -j2) > "$work/ext.log" 2>&1 \
  || { tail -40 "$work/ext.log"; exit 1; }
cp "$work/ext/ruby_memprofiler_pprof.so" "$work/gem-lib/ruby_memprofiler_pprof/"
echo "gem extension: $work/gem-lib/ruby_memprofiler_pprof/ruby_memprofiler_pprof.so"

say "3/4 run examples/leaky_app for ${duration}s under ruby_memprofiler_pprof_profile (a profile every ${interval}s, sample rate ${sample_rate})"
profiles="$work/profiles"
rm -rf "$profiles"
mkdir -p "$profiles"
# -I puts the freshly built extension ahead of ruby/lib, which the wrapper adds.
(
  cd "$work"
  RUBYOPT="-I$work/gem-lib${RUBYOPT:+ $RUBYOPT}" \
    RUBY_MEMPROFILER_PPROF_INTERVAL="$interval" \
    RUBY_MEMPROFILER_PPROF_SAMPLE_RATE="$sample_rate" \
    RUBY_MEMPROFILER_PPROF_FILE_PATTERN="$profiles/mem-%{pid}-%{isotime}.pprof" \
    LEAKY_APP_DURATION="$duration" \
    ruby "$root/ruby/exe/ruby_memprofiler_pprof_profile" ruby "$root/examples/leaky_app/app.rb"
)
n=$(find "$profiles" -name '*.pprof' | wc -l)
echo "$n profiles in $profiles"

say "4/4 rmp-report leaks"
html="$work/leaks.html"
"$report" leaks "$profiles" --top 5 --html "$html" | tee "$work/leaks.txt"
"$report" leaks "$profiles" --top 5 --format json > "$work/leaks.json"
merged="$work/merged.pb.gz"
"$report" merge "$profiles" -o "$merged"

# Suspect #1 from the JSON report: its function, then its title.
read_first='s = JSON.parse(File.read(ARGV[0]))["suspects"][0]; puts s ? "#{s["function"]}\t#{s["title"]}" : ""'
first=$(ruby -rjson -e "$read_first" "$work/leaks.json")
first_function=${first%%$'\t'*}
first_title=${first#*$'\t'}
echo
# The planted leak is RequestHistory: the entries it keeps are allocated in
# #remember, and the Hash holding them (one object that keeps growing) in
# #initialize. With sampling, that Hash is in the profiles only in runs that
# happened to sample it, and then it may rank first: both name the leak.
case "$first_function" in
  *"RequestHistory#remember"* | *"RequestHistory#initialize"*)
    echo "FOUND: the planted leak (RequestHistory, examples/leaky_app/request_history.rb) is suspect #1:"
    echo "       $first_title"
    ;;
  *)
    echo "NOT FOUND: suspect #1 is '${first_title:-none}', not the planted leak in RequestHistory" >&2
    exit 1
    ;;
esac
last=$(find "$profiles" -name '*.pprof' | sort | tail -1)
cat << EOF

Leak report (text):  $work/leaks.txt
Leak report (JSON):  $work/leaks.json
Leak report (HTML):  $html
Profiles:            $profiles ($n files; merged into $merged)
Open a profile in pprof's web UI (the last one holds what was retained at exit;
the merged one sums every interval, which suits the allocation sample types):
  go tool pprof -http :8987 $last
  go tool pprof -http :8987 $merged
EOF
