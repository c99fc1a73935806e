#!/bin/sh
# top's flat and cumulative values per function, against Go's pprof package.
. "$RMP_TESTS/lib.sh"
: "${RMP_ORACLE:?}"
mkdir -p "$WORK/lin"
"$RMP_GEN" linear "$WORK/lin"
f="$WORK/lin/mem-101-2026-11-26T10:11:00Z.pprof"
for type in retained_size retained_objects allocation_size; do
  "$RMP_REPORT" top "$f" --sample-type "$type" --nodecount 1000 > "$WORK/top.out"
  top_rows "$f" "$type" | sort > "$WORK/ours"
  "$RMP_ORACLE" top "$f" "$type" | sort > "$WORK/go"
  if [ -s "$WORK/go" ] && cmp -s "$WORK/ours" "$WORK/go"; then ok "top $type: $(wc -l < "$WORK/go") functions agree"
  else fail "top $type"; diff "$WORK/ours" "$WORK/go" >&2 || true; fi
done
# the default sample type is the profile's default_sample_type (retained_size)
"$RMP_REPORT" top "$f" | head -1 | grep -q 'retained_size (bytes)' && ok "default type" || fail "default type"
# the cumulative table is sorted by cum: <main> holds everything
awk '/^Cumulative/{getline; getline; print $NF; exit}' "$WORK/top.out" | grep -q 'app/main.rb)' && ok "cum order" || fail "cum order"
# an unknown type names the ones present
if "$RMP_REPORT" top "$f" --sample-type inuse_space 2> "$WORK/err"; then fail "unknown type accepted"
elif grep -q 'retained_objects/count' "$WORK/err"; then ok "unknown type names the types"; else fail "unknown type message"; fi

# Values labelled as go tool pprof -top labels them (one unit per table,
# 1722.71kB, counts plain, its percentages and order): the rows, less our
# " (file)", are go tool pprof's rows byte for byte, flat and -cum tables,
# on the linear series and on the wide one (3000 functions of all sizes).
mkdir -p "$WORK/wide" "$WORK/gocache"
"$RMP_GEN" wide "$WORK/wide"
wide=$(ls "$WORK"/wide/*.pprof | tail -1)
gotop() { # file, type, extra flags: the rows of go tool pprof -top
  GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$WORK/gocache" HOME="$WORK" GOFLAGS='' \
    go tool pprof -symbolize=none -top -nodecount=100000 -nodefraction=0 -edgefraction=0 -sample_index="$2" $3 "$1" \
    2> /dev/null | sed -n '/^ *flat  flat%/,$p' | sed 1d
}
ourtop() { # file, type, table title: our rows without the " (file)"
  "$RMP_REPORT" top "$1" --sample-type "$2" --nodecount 100000 \
    | awk -v t="$3" 'index($0, t) == 1 {on = 1; getline; next} on && /^$/ {exit} on' | sed 's/ ([^()]*)$//'
}
for f in "$f" "$wide"; do
  for type in retained_size retained_objects allocation_size; do
    gotop "$f" "$type" "" > "$WORK/go.flat"
    ourtop "$f" "$type" "Flat, by function" > "$WORK/ours.flat"
    gotop "$f" "$type" -cum > "$WORK/go.cum"
    ourtop "$f" "$type" "Cumulative, by function" > "$WORK/ours.cum"
    for t in flat cum; do
      if [ -s "$WORK/go.$t" ] && cmp -s "$WORK/go.$t" "$WORK/ours.$t"; then
        ok "$(basename "$f") $type $t table: $(wc -l < "$WORK/go.$t") rows as go tool pprof -top prints them"
      else fail "$(basename "$f") $type $t table"; diff "$WORK/go.$t" "$WORK/ours.$t" | head >&2 || true; fi
    done
  done
done
grep -q -E '^ +[0-9.]+(kB|MB) ' "$WORK/ours.flat" && ok "sizes carry units" || fail "no units"

# One function per (name, file): <main> of "script.rb" and of
# "/srv/app/script.rb" is one function; Other#go of "x.rb", "/a/x.rb" and
# "/b/x.rb" stays three, since "x.rb" could be either. The truth is in
# gen_profiles.c: at profile 11, 8 KiB x 12 + 24 KiB x 12 under <main>.
mkdir -p "$WORK/dup"
"$RMP_GEN" dupmain "$WORK/dup"
dup=$(ls "$WORK"/dup/*.pprof | tail -1)
"$RMP_REPORT" top "$dup" --format json --nodecount 1000 > "$WORK/dup.json"
"$PYTHON" - "$WORK/dup.json" << 'PY' && ok "top: <main> once (script.rb = /srv/app/script.rb), Other#go three times" || fail "top: function normalisation"
import json, sys
d = json.load(open(sys.argv[1]))
mains = [f for f in d["functions"] if f["function"] == "<main>" and f["file"].endswith("script.rb")]
assert len(mains) == 1, mains
assert mains[0]["file"] == "/srv/app/script.rb" and mains[0]["flat"] == (8 + 24) * 1024 * 12, mains
others = sorted(f["file"] for f in d["functions"] if f["function"] == "Other#go")
assert others == ["/a/x.rb", "/b/x.rb", "x.rb"], others
PY
"$RMP_REPORT" top "$dup" --nodecount 1000 > "$WORK/dup.txt"
[ "$(grep -c -E '  <main> \((/srv/app/)?script.rb\)$' "$WORK/dup.txt")" -eq 2 ] && ok "top text: one <main> row per table" || { fail "top text rows"; cat "$WORK/dup.txt" >&2; }
# leaks: the two spellings are one series (their sum: 32 KiB a minute),
# by function and by stack
for by in function stack; do
  "$RMP_REPORT" leaks "$WORK/dup" --by=$by --format json > "$WORK/dupl.json"
  "$PYTHON" - "$WORK/dupl.json" << 'PY' && ok "leaks --by=$by: one <main> suspect, 32 KiB/min" || fail "leaks --by=$by: normalisation"
import json, sys
d = json.load(open(sys.argv[1]))
s = [x for x in d["suspects"] if x["function"] == "<main>"]
assert len(s) == 1 and s[0]["file"] == "/srv/app/script.rb", d["suspects"]
assert abs(s[0]["slope_bytes_per_hour"] - 32 * 1024 * 60) < 1e-6 * 32 * 1024 * 60, s[0]
PY
done
finish
