#!/bin/sh
# merge must equal go tool pprof -proto: the same sample types and totals,
# and per (stack, labels) the same values, read back by Go's pprof package.
. "$RMP_TESTS/lib.sh"
: "${RMP_ORACLE:?}"
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$WORK/gocache" HOME="$WORK" PPROF_TMPDIR="$WORK"
mkdir -p "$WORK/multi" "$WORK/lin"
"$RMP_GEN" multi "$WORK/multi"
"$RMP_GEN" linear "$WORK/lin"

# go tool pprof -proto = profile.Merge + the driver's filters, which drop
# samples that have no stack at all (FilterSamplesByName keeps only samples
# with a focused location). rmp-report merge is profile.Merge exactly, so it
# keeps them; passed through go tool pprof it then equals go's own merge.
check_merge() { # name, files...
  name=$1; shift
  "$RMP_REPORT" merge "$@" -o "$WORK/$name.ours.pb.gz" || { fail "$name: merge exit $?"; return; }
  go tool pprof -proto "$@" > "$WORK/$name.go.pb.gz" 2> "$WORK/$name.go.err" || { fail "$name: go tool pprof"; cat "$WORK/$name.go.err" >&2; return; }
  go tool pprof -proto "$WORK/$name.ours.pb.gz" > "$WORK/$name.ours-go.pb.gz" 2> /dev/null || { fail "$name: go tool pprof reading ours"; return; }
  "$RMP_ORACLE" totals "$WORK/$name.ours-go.pb.gz" > "$WORK/$name.ours-go.tot"
  "$RMP_ORACLE" totals "$WORK/$name.go.pb.gz" > "$WORK/$name.go.tot"
  if [ -s "$WORK/$name.go.tot" ] && cmp -s "$WORK/$name.ours-go.tot" "$WORK/$name.go.tot"; then
    ok "$name: go tool pprof totals equal ($(tr '\n' ' ' < "$WORK/$name.go.tot"))"
  else fail "$name: go tool pprof totals differ"; paste "$WORK/$name.ours-go.tot" "$WORK/$name.go.tot" >&2; fi
  # ours holds exactly the sums of the inputs (profile.Merge), empty stacks included
  "$RMP_ORACLE" totals "$WORK/$name.ours.pb.gz" > "$WORK/$name.ours.tot"
  "$RMP_ORACLE" totals "$@" > "$WORK/$name.sum.tot"
  cmp -s "$WORK/$name.ours.tot" "$WORK/$name.sum.tot" && ok "$name: totals are the inputs' sums" || { fail "$name: sums"; paste "$WORK/$name.ours.tot" "$WORK/$name.sum.tot" >&2; }
  # per (stack, labels) and header. go tool pprof's default symbolization
  # rewrites Ruby names such as "<main>" (it strips C++-style <...>);
  # -symbolize=none keeps them as written.
  go tool pprof -symbolize=none -proto "$@" > "$WORK/$name.gon.pb.gz" 2> /dev/null
  go tool pprof -symbolize=none -proto "$WORK/$name.ours.pb.gz" > "$WORK/$name.oursn.pb.gz" 2> /dev/null
  "$RMP_ORACLE" compare "$WORK/$name.oursn.pb.gz" "$WORK/$name.gon.pb.gz" && ok "$name: same per stack and header" || fail "$name: per-stack values differ"
}

check_merge two "$WORK/multi/mem-201-2026-11-26T10:00:00Z.pprof" "$WORK/multi/mem-203-2026-11-26T10:09:00Z.pprof"
check_merge four "$WORK"/multi/mem-20?-2026-11-26T10:05:00Z.pprof
check_merge all40 "$WORK"/multi/*
check_merge one "$WORK/lin/mem-101-2026-11-26T10:11:00Z.pprof"

# a directory works as input, and one bad file is reported and skipped
printf 'not a profile' > "$WORK/lin/zz-bad.pprof"
"$RMP_REPORT" merge "$WORK/lin" -o "$WORK/dir.pb.gz" 2> "$WORK/dir.err" && grep -q 'zz-bad.pprof' "$WORK/dir.err" \
  && ok "merge of a directory skips a bad file" || fail "merge dir with a bad file"
rm "$WORK/lin/zz-bad.pprof"
go tool pprof -symbolize=none -proto "$WORK"/lin/* > "$WORK/dir.go.pb.gz" 2>/dev/null
go tool pprof -symbolize=none -proto "$WORK/dir.pb.gz" > "$WORK/dir.ours-go.pb.gz" 2>/dev/null
"$RMP_ORACLE" compare "$WORK/dir.ours-go.pb.gz" "$WORK/dir.go.pb.gz" > /dev/null && ok "directory merge equals go" || fail "directory merge"

# mismatched sample types: the odd file is skipped with the types named
mkdir -p "$WORK/go"; "$RMP_GEN" gotool "$WORK/go"
"$RMP_REPORT" merge "$WORK/lin/mem-101-2026-11-26T10:00:00Z.pprof" "$WORK/go/go-heap.pb.gz" -o "$WORK/mix.pb.gz" 2> "$WORK/mix.err" || true
grep -q 'inuse_space/bytes' "$WORK/mix.err" && ok "merge names mismatched types" || { fail "merge mismatched types"; cat "$WORK/mix.err" >&2; }
finish
