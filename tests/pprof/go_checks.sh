#!/usr/bin/env bash
# Oracles 2-4 for rmp_pprof.h, all driven by Go's pprof:
#   2. the validator (profile.Parse + CheckValid + UTF-8) prints totals per
#      sample type; they must equal the totals of the C test's model;
#   3. `go tool pprof -top` and `-raw` read the profiles, with no flags,
#      and show the functions the scenario called, Ruby's "<main>" and
#      "<top (required)>" by name, with no complaint about symbols;
#   4. `go tool pprof -proto a b` merges two profiles of different sample
#      rates, and the merged totals are the sums.
# usage: go_checks.sh GO VALIDATOR GEN OUTDIR
set -euo pipefail
go=$1 validator=$2 gen=$3 out=$4
rm -rf "$out" && mkdir -p "$out"
"$gen" "$out"

fail=0
die() { echo "FAIL: $*" >&2; fail=1; }

# 3 and 4 first: the merged profile is validated together with the rest.
# No -symbolize flag: the profiles must read right with pprof's defaults.
pprof() { "$go" tool pprof "$@"; }
for f in "$out"/*.pb.gz "$out"/basic.pb; do
  pprof -top "$f" > "$f.top" 2> "$f.top.err" || die "go tool pprof -top $f: $(cat "$f.top.err")"
  pprof -raw "$f" > "$f.raw" 2> "$f.raw.err" || die "go tool pprof -raw $f: $(cat "$f.raw.err")"
done
# Every stack of the basic scenario runs through Mod0#meth_0 .. Mod2#meth_2
# (its roots); -top's cumulative view and -raw's sample dump must show them.
for name in 'Mod0#meth_0' 'Mod1#meth_1' 'Mod2#meth_2'; do
  grep -qF "$name" "$out/basic.pb.gz.top" || die "-top of basic lacks $name"
  grep -qF "$name" "$out/basic.pb.gz.raw" || die "-raw of basic lacks $name"
done
grep -qF 'retained_size' "$out/basic.pb.gz.raw" || die "-raw of basic lacks the sample types"
grep -qF 'Thin#me' "$out/thinsmall.pb.gz.top" || die "-top of thinsmall lacks Thin#me"
grep -qF 'object_class' "$out/basic.pb.gz.raw" || die "-raw of basic lacks the object_class label"
grep -qF 'allocation_age' "$out/basic.pb.gz.raw" || die "-raw of basic lacks the allocation_age label"
# The mapping's has_* flags keep pprof from looking for a binary; its file
# names the program in the header.
for f in "$out"/*.pb.gz "$out"/basic.pb; do
  ! grep -qF 'Main binary filename not available' "$f.top.err" "$f.raw.err" \
    || die "go tool pprof says 'Main binary filename not available' for $f"
done
top=$out/rubynames.pb.gz.top
for name in '<main>' '<top (required)>' 'block in <main>' 'Kernel#require_relative' 'Native#call'; do
  grep -qF " $name" "$top" || die "-top of rubynames lacks $name"
done
! grep -qF '<unknown>' "$top" || die "-top of rubynames shows <unknown>"
grep -qx 'File: server' "$top" || die "-top of rubynames lacks the header line 'File: server'"

pprof -proto "$out/basic.pb.gz" "$out/scaled.pb.gz" > "$out/merged.pb.gz" 2> "$out/merge.err" \
  || die "go tool pprof -proto merge: $(cat "$out/merge.err")"

files=$(cut -d' ' -f1 "$out/expected.txt")
# shellcheck disable=SC2086
"$validator" $files > "$out/got.txt" || die "validator rejected a profile"

# Field by field; "*" in the expectation accepts anything.
awk 'NR == FNR { want[$1] = $0; next }
     {
       if (!($1 in want)) { print "unexpected " $1; bad = 1; next }
       n = split(want[$1], w, " "); m = split($0, g, " ")
       if (n != m) { print "field count differs for " $1; bad = 1; next }
       for (i = 2; i <= n; i++) {
         split(w[i], wk, "="); split(g[i], gk, "=")
         if (wk[1] != gk[1] || (wk[2] != "*" && wk[2] != gk[2])) {
           print $1 ": " g[i] ", want " w[i]; bad = 1
         }
       }
       seen++
     }
     END { if (seen != length(want)) { print "missing files"; bad = 1 } exit bad }' \
  "$out/expected.txt" "$out/got.txt" || die "totals differ from the model"

cat "$out/got.txt"
if [ "$fail" != 0 ]; then exit 1; fi
echo "all Go pprof checks passed"
