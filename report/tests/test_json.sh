#!/bin/sh
# --format json, read by an independent parser (python3's json), against the
# truth of the generated series (gen_profiles.c); --fail-above on both sides
# of the known score; --strict.
. "$RMP_TESTS/lib.sh"
: "${RMP_ORACLE:?}"
for sc in linear multi collection weird sawtooth; do
  mkdir -p "$WORK/$sc"
  "$RMP_GEN" "$sc" "$WORK/$sc"
done

check() { # description, json file, python assertions on d (the parsed output)
  c_what=$1; c_file=$2; shift 2
  if "$PYTHON" -c "import json, sys
d = json.load(open(sys.argv[1]))
$*" "$c_file" 2> "$WORK/py.err"; then ok "$c_what"; else fail "$c_what"; cat "$WORK/py.err" >&2; fi
}
# decoys of every scenario, which must never be suspects
DECOYS='{"Cache#store", "Parser#parse", "Config#load", "(no stack)"}'

"$RMP_REPORT" leaks "$WORK/linear" --format json > "$WORK/linear.json"
# linear: 48 KiB a minute (3/4 Request), exact fit; 10 of 12 chunks old at
# the last profile, so score = slope x 1 x 1 x (0.25 + 0.75 x 10/12)
check "linear: header" "$WORK/linear.json" '
assert d["command"] == "leaks" and d["by"] == "stack" and d["profiles"] == 12 and d["processes"] == 1, d
assert d["score_unit"] == "bytes/hour" and d["fail_above"] is None and d["left_off"] == []'
check "linear: #1 is the leak, with its function, file, line, class and stack" "$WORK/linear.json" '
s = d["suspects"][0]
assert s["rank"] == 1
assert (s["function"], s["file"], s["line"]) == ("Leaky#remember", "app/leaky.rb", 12), s
assert s["class"] == "Request" and abs(s["class_share"] - 0.75) < 1e-9, s
assert [(f["function"], f["file"], f["line"]) for f in s["stack"]] == [
    ("Leaky#remember", "app/leaky.rb", 12), ("Handler#call", "app/handler.rb", 40), ("<main>", "app/main.rb", 3)], s["stack"]
assert s["stack_kind"] == "key"'
check "linear: slope, R^2, first/last bytes, old share and score" "$WORK/linear.json" '
s = d["suspects"][0]
close = lambda a, b: abs(a - b) <= 1e-9 * max(1, abs(b))
slope = 48 * 1024 * 60
assert close(s["slope_bytes_per_hour"], slope) and close(s["r2"], 1) and s["nondecreasing"] == 1, s
assert s["first_bytes"] == 48 * 1024 and s["last_bytes"] == 12 * 48 * 1024, s
assert close(s["old_share"], 10 / 12), s
assert close(s["score"], slope * (0.25 + 0.75 * 10 / 12)), s
assert [p["pid"] for p in s["processes"]] == [101] and s["processes"][0]["profiles"] == 12
assert s["last_profile"].endswith("mem-101-2026-11-26T10:11:00Z.pprof"), s["last_profile"]
assert s["pprof_command"].startswith("go tool pprof ") and "-focus=^Leaky#remember$" in s["pprof_command"]'
check "linear: no decoy among the suspects" "$WORK/linear.json" "
assert not {s['function'] for s in d['suspects']} & $DECOYS, d['suspects']"

"$RMP_REPORT" leaks "$WORK/multi" --format json > "$WORK/multi.json"
check "multi: only pid 203 grows, 16 KiB a minute" "$WORK/multi.json" "
s = d['suspects'][0]
assert d['profiles'] == 40 and d['processes'] == 4
assert s['function'] == 'Leaky#remember' and [p['pid'] for p in s['processes']] == [203], s
assert abs(s['slope_bytes_per_hour'] - 16 * 1024 * 60) < 1e-6
assert not {x['function'] for x in d['suspects']} & $DECOYS"

"$RMP_REPORT" leaks "$WORK/collection" --by=function --format json > "$WORK/coll.json"
check "collection --by=function: Registry#initialize, one Hash growing 40 KiB a minute" "$WORK/coll.json" '
s = d["suspects"][0]
assert d["by"] == "function" and s["stack_kind"] == "heaviest"
assert (s["function"], s["file"], s["line"], s["class"]) == ("Registry#initialize", "app/registry.rb", 4, "Hash"), s
assert abs(s["slope_bytes_per_hour"] - 40 * 1024 * 60) < 1e-6 and s["first_bytes"] == 1024, s'

# escaping: a quote, a backslash, a control byte, a byte that is not UTF-8
# (U+FFFD) and UTF-8; the tab is a space (frame text is tab-separated)
"$RMP_REPORT" leaks "$WORK/weird" --format json > "$WORK/weird.json"
check "strings escaped: the name reads back" "$WORK/weird.json" '
s = d["suspects"][0]
assert s["function"] == "Weird#\"q\"\\b t\x01\ufffd\u00e9", ascii(s["function"])
assert s["stack"][0]["function"] == s["function"] and s["line"] == 12'
"$RMP_REPORT" top "$WORK/weird/mem-107-2026-11-26T10:11:00Z.pprof" --format json > "$WORK/weird-top.json"
check "top: strings escaped, the tab kept" "$WORK/weird-top.json" '
assert "Weird#\"q\"\\b\tt\x01\ufffd\u00e9" in [f["function"] for f in d["functions"]], d["functions"]'

# more suspects than --top (three leaking processes: linear, collection,
# weird): the rest are listed as left off
mkdir -p "$WORK/three"
cp "$WORK"/linear/* "$WORK"/collection/* "$WORK"/weird/* "$WORK/three/"
"$RMP_REPORT" leaks "$WORK/three" --top 1 --format json > "$WORK/top1.json"
"$RMP_REPORT" leaks "$WORK/three" --format json > "$WORK/top10.json"
"$PYTHON" -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert len(b["suspects"]) == 3, b["suspects"]
assert len(a["suspects"]) == 1 and a["suspect_count"] == b["suspect_count"] == len(b["suspects"])
assert [(x["rank"], x["title"]) for x in a["left_off"]] == [(x["rank"], x["title"]) for x in b["suspects"][1:]]
' "$WORK/top1.json" "$WORK/top10.json" && ok "--top 1: the others are left_off, by rank" || fail "left_off"

"$RMP_REPORT" leaks "$WORK/sawtooth" --format json > "$WORK/saw.json"
check "sawtooth: no suspects, still an object" "$WORK/saw.json" '
assert d["suspects"] == [] and d["suspect_count"] == 0'

# top --format json: the total is Go's total of the same profile
f="$WORK/linear/mem-101-2026-11-26T10:11:00Z.pprof"
for type in retained_size allocations; do
  "$RMP_REPORT" top "$f" --sample-type $type --format json > "$WORK/top.json"
  want=$("$RMP_ORACLE" totals "$f" | sed -n "s|^$type/[a-z]* ||p")
  check "top json $type: total $want as Go reads it, rows sum to it" "$WORK/top.json" "
assert d['sample_type'] == '$type' and d['total'] == $want, d['total']
assert sum(f['flat'] for f in d['functions']) + 400 * ('$type' == 'retained_size') + 10 * ('$type' == 'allocations') == d['total']"
done

# --fail-above: exit 3 above the score, 0 at or below it; JSON and text
score=$("$PYTHON" -c 'import json, sys; print(repr(json.load(open(sys.argv[1]))["suspects"][0]["score"]))' "$WORK/linear.json")
below=$("$PYTHON" -c "print($score * 0.999)")
above=$("$PYTHON" -c "print($score * 1.001)")
for fmt in json text; do
  set +e
  "$RMP_REPORT" leaks "$WORK/linear" --format $fmt --fail-above "$below" > "$WORK/o" 2> "$WORK/e"; rc=$?
  set -e
  [ $rc -eq 3 ] && grep -q 'suspect #1 (Leaky#remember (app/leaky.rb:12)) scores .* above --fail-above' "$WORK/e" \
    && ok "$fmt --fail-above $below (< score $score): exit 3, named" || { fail "$fmt fail-above below: exit $rc"; cat "$WORK/e" >&2; }
  [ $fmt = text ] || check "the report is still written with --fail-above" "$WORK/o" "assert d['fail_above'] == $below"
  "$RMP_REPORT" leaks "$WORK/linear" --format $fmt --fail-above "$above" > /dev/null \
    && ok "$fmt --fail-above $above (> score): exit 0" || fail "$fmt fail-above above"
done
"$RMP_REPORT" leaks "$WORK/sawtooth" --fail-above 0 > /dev/null && ok "--fail-above 0 with no suspects: exit 0" || fail "fail-above, no suspects"

# --strict: one unreadable file fails the run and is named; without it, skipped
mkdir -p "$WORK/mixed"
cp "$WORK"/linear/* "$WORK/mixed/"
printf 'not a profile\n' > "$WORK/mixed/broken.pprof"
"$RMP_REPORT" leaks "$WORK/mixed" > /dev/null 2> "$WORK/e" && grep -q 'broken.pprof: .*; skipped' "$WORK/e" \
  && ok "without --strict: skipped" || fail "without --strict"
for cmd in "leaks --format json" "merge -o $WORK/m.pb.gz"; do
  set +e
  # shellcheck disable=SC2086
  "$RMP_REPORT" $cmd --strict "$WORK/mixed" > "$WORK/o" 2> "$WORK/e"; rc=$?
  set -e
  if [ $rc -eq 1 ] && grep -q "broken.pprof: not a valid pprof profile" "$WORK/e" && grep -q -- '--strict: 1 input(s) unusable' "$WORK/e" \
     && [ ! -s "$WORK/o" ] && [ ! -e "$WORK/m.pb.gz" ]; then ok "${cmd%% *} --strict: exit 1, names broken.pprof, no output"
  else fail "${cmd%% *} --strict: exit $rc"; cat "$WORK/e" >&2; fi
done
set +e
"$RMP_REPORT" leaks --strict "$WORK/linear" "$WORK/missing.pprof" > /dev/null 2> "$WORK/e"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q 'missing.pprof: No such file' "$WORK/e" && ok "--strict: a missing file fails" || fail "--strict missing: $rc"
"$RMP_REPORT" leaks --strict "$WORK/linear" > /dev/null && ok "--strict with good input: exit 0" || fail "--strict good"
finish
