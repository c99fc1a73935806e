#!/bin/sh
# The leak finder on profiles written by the real producer (rmp.h's
# profiler + rmp_pprof.h's encoder): three simulated processes, a leak in
# pid 302 only, an LRU cache that warms up then churns, garbage, boot objects.
. "$RMP_TESTS/lib.sh"
: "${RMP_GEN_RMP:?}" "${RMP_ORACLE:?}"
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$WORK/gocache" HOME="$WORK" PPROF_TMPDIR="$WORK"
mkdir -p "$WORK/p"
"$RMP_GEN_RMP" "$WORK/p"
"$RMP_REPORT" leaks "$WORK/p" --all > "$WORK/out"
case "$(suspect "$WORK/out" 1)" in
  *"Leaky#remember (app/leaky.rb:14)"*) ok "#1 is the leak" ;;
  *) fail "#1: $(suspect "$WORK/out" 1)"; cat "$WORK/out" >&2 ;;
esac
grep -q '^36 profiles from 3 processes' "$WORK/out" && ok "3 processes (pid= comments)" || fail "grouping"
grep -q '^    pid 302 ' "$WORK/out" && ok "pid 302 listed" || fail "pid 302"
# the leak's block lists only the leaking process
sed -n '/^#1 /,/^#2 /p' "$WORK/out" > "$WORK/first"
if grep -q -E '^    pid 30[13] ' "$WORK/first"; then fail "a healthy process listed under the leak"; else ok "healthy processes not listed under the leak"; fi
# 200 Request objects of 96 bytes a minute, at sample rate 1
grep -A2 '^#1 ' "$WORK/out" | grep -q 'grows 1.1 MB/hour, R^2 1.00' && ok "slope 200*96 B/min = 1.1 MiB/h" || { fail "slope"; grep -A3 '^#1 ' "$WORK/out" >&2; }
# the warming cache may rank, but never above the leak; the garbage never
n_leak=$(grep -n -E '^#[0-9]+  Leaky#remember' "$WORK/out" | head -1 | cut -d: -f1)
n_cache=$(grep -n -E '^#[0-9]+  Cache#store' "$WORK/out" | head -1 | cut -d: -f1)
if [ -n "$n_cache" ] && [ "$n_cache" -lt "$n_leak" ]; then fail "cache above leak"; else ok "cache not above leak"; fi
if grep -q -E '^#[0-9]+  (Parser#parse|Config#load)' "$WORK/out"; then fail "garbage or boot objects ranked"; else ok "garbage and boot objects not ranked"; fi
# merge equals go tool pprof -proto, per stack
"$RMP_REPORT" merge "$WORK/p" -o "$WORK/m.pb.gz" 2> /dev/null
go tool pprof -symbolize=none -proto "$WORK"/p/* > "$WORK/g.pb.gz" 2> /dev/null
go tool pprof -symbolize=none -proto "$WORK/m.pb.gz" > "$WORK/mg.pb.gz" 2> /dev/null
"$RMP_ORACLE" compare "$WORK/mg.pb.gz" "$WORK/g.pb.gz" && ok "merge of 36 producer profiles equals go" || fail "merge"
"$RMP_ORACLE" totals "$WORK/m.pb.gz" > "$WORK/m.tot"; "$RMP_ORACLE" totals "$WORK"/p/* > "$WORK/sum.tot"
cmp -s "$WORK/m.tot" "$WORK/sum.tot" && ok "merge totals are the inputs' sums" || fail "merge sums"
# the producers' one mapping stays one: go tool pprof (no flags) names the
# program and does not ask for a binary
go tool pprof -top "$WORK/m.pb.gz" > "$WORK/m.top" 2> "$WORK/m.top.err"
go tool pprof -raw "$WORK/m.pb.gz" 2> /dev/null | sed -n '/^Mappings/,$p' | grep -c '^[0-9]*: ' > "$WORK/m.nmap"
if grep -qx 'File: gen_rmp' "$WORK/m.top" && ! grep -q 'Main binary' "$WORK/m.top.err" && [ "$(cat "$WORK/m.nmap")" = 1 ]; then
  ok "merged profile keeps the one mapping"
else fail "merged mapping"; cat "$WORK/m.top.err" "$WORK/m.nmap" >&2; fi
# top agrees with go's reading
f=$(ls "$WORK"/p/mem-302-* | tail -1)
top_rows "$f" retained_size | sort > "$WORK/ours"
"$RMP_ORACLE" top "$f" retained_size | sort > "$WORK/go"
cmp -s "$WORK/ours" "$WORK/go" && ok "top agrees with go" || { fail "top"; diff "$WORK/ours" "$WORK/go" >&2; }
finish
