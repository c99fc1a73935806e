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
finish
