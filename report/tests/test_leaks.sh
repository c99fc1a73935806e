#!/bin/sh
# Synthetic series whose truth is known: the leak must be suspect #1 and the
# decoys (a sawtooth cache, noise, constant boot objects) must not rank.
. "$RMP_TESTS/lib.sh"

for sc in linear step multi sawtooth wide collection; do
  mkdir -p "$WORK/$sc"
  "$RMP_GEN" "$sc" "$WORK/$sc"
done

check_leak() { # scenario, extra args, expected title pattern
  sc=$1; shift; want=$1; shift
  tag=$(printf '%s' "$*" | tr -c 'a-z' _); out="$WORK/$sc.${tag:-base}.out"
  "$RMP_REPORT" leaks "$WORK/$sc" "$@" > "$out" || { fail "$sc $*: exit $?"; return; }
  s1=$(suspect "$out" 1)
  case "$s1" in *"$want"*) ok "$sc $*: #1 is $s1" ;; *) fail "$sc $*: #1 is '$s1', want $want"; cat "$out" >&2 ;; esac
  # decoys must not appear as suspects at all
  if grep -E '^#[0-9]+  ' "$out" | grep -q -E 'Cache#store|Parser#parse|Config#load|app/cache.rb|app/parser.rb|app/config.rb|CacheEntry|Hash'; then
    fail "$sc $*: a decoy ranked"; grep -E '^#[0-9]+  ' "$out" >&2
  else ok "$sc $*: no decoy ranked"; fi
}

check_leak linear "Leaky#remember (app/leaky.rb:12)"
check_leak linear "Leaky#remember (app/leaky.rb)" --by=function
check_leak linear "app/leaky.rb" --by file
check_leak linear "Request" --by=class
check_leak step "Leaky#remember (app/leaky.rb:12)"
check_leak multi "Leaky#remember (app/leaky.rb:12)"
# 3000 steady stacks of 600 classes around the leak (every table reallocates)
check_leak wide "Leaky#remember (app/leaky.rb:12)"
check_leak wide "Leaky#remember (app/leaky.rb)" --by=function
check_leak wide "app/leaky.rb" --by=file
check_leak wide "Request" --by=class

# linear: the slope is known, 48 KiB per minute = 2.8 MB (MiB) per hour, and the fit is exact
grep -q 'grows 2.8 MB/hour, R^2 1.00, 100% of intervals non-decreasing' "$WORK/linear.base.out" \
  && ok "linear slope 2.8 MiB/hour" || { fail "linear slope"; cat "$WORK/linear.base.out" >&2; }
# linear: where rmp thinned its table, in time order, and nothing else
grep -q 'heap_sample_probability 1 -> 0.5 from profile 5 of 12' "$WORK/linear.base.out" \
  && grep -q 'heap_sample_probability 0.5 -> 0.25 from profile 9 of 12' "$WORK/linear.base.out" \
  && [ "$(grep -c -E '^  pid [0-9]+: (sample_rate|heap_sample_probability) ' "$WORK/linear.base.out")" -eq 2 ] \
  && ok "sampling changes listed" || { fail "sampling changes"; cat "$WORK/linear.base.out" >&2; }
grep -q 'Sampling changed' "$WORK/step.base.out" && fail "a change listed where there is none" || ok "no change listed in step"
# linear: the objects are spread over 12 allocation times; the oldest three quarters are 'old'
grep -q '83% of objects old' "$WORK/linear.base.out" && ok "old share" || fail "old share"
# step: flat, then one jump, then flat: every interval is non-decreasing
grep -q '200.0 kB -> 1.2 MB over 12 profiles' "$WORK/step.base.out" && ok "step series" || fail "step series"

# multi: only pid 203 grows; the other three processes are not listed
out="$WORK/multi.base.out"
grep -q '^    pid 203 ' "$out" && ok "multi: pid 203 listed" || fail "multi: pid 203 not listed"
if grep -q -E '^    pid (201|202|204) ' "$out"; then fail "multi: a healthy process listed"; else ok "multi: healthy processes not listed"; fi
grep -q '40 profiles from 4 processes' "$out" && ok "multi: 4 processes from pid= comments" || fail "multi: process grouping"

# sawtooth only: nothing ranks, whichever grouping
for by in stack function file class; do
  "$RMP_REPORT" leaks "$WORK/sawtooth" --by=$by > "$WORK/saw.out"
  if grep -q '^No suspects' "$WORK/saw.out"; then ok "sawtooth --by=$by: no suspects"
  else fail "sawtooth --by=$by ranked something"; cat "$WORK/saw.out" >&2; fi
done

# --all explains the decoys: the sawtooth grows faster than the leak (its
# slope is bigger) yet it is rejected, because a line does not explain it
"$RMP_REPORT" leaks "$WORK/linear" --all > "$WORK/all-lin.out"
grep -A1 -E '^-   Cache#store' "$WORK/all-lin.out" | grep -q 'no steady trend: R\^2 < 0.2' && ok "sawtooth rejected for R^2" || { fail "sawtooth reason"; cat "$WORK/all-lin.out" >&2; }
grep -A1 -E '^-   Config#load' "$WORK/all-lin.out" | grep -q 'not growing' && ok "constant boot objects rejected" || fail "boot reason"
grep -A1 -E '^-   \(no stack\)' "$WORK/all-lin.out" | grep -q 'not growing' && ok "an empty stack is a key of its own" || fail "empty stack"
saw_slope=$(grep -A2 -E '^-   Cache#store' "$WORK/all-lin.out" | sed -n 's/.*slope \([0-9.]*\) MB\/hour.*/\1/p')
leak_slope=$(sed -n 's/.*grows \([0-9.]*\) MB\/hour.*/\1/p' "$WORK/all-lin.out" | head -1)
if awk -v a="$saw_slope" -v b="$leak_slope" 'BEGIN{exit !(a > b && b > 0)}'; then ok "sawtooth slope $saw_slope > leak slope $leak_slope MB/h, still not ranked"
else fail "slopes: saw '$saw_slope' leak '$leak_slope'"; fi

# one object whose size grows (a Hash never pruned) ranks, with the note
check_leak collection "Registry#initialize (app/registry.rb:4)"
grep -q '^    note: the same objects keep growing' "$WORK/collection.base.out" && ok "collection note" || fail "collection note"
if grep -q 'note: the same objects' "$WORK/linear.base.out"; then fail "note on a leak of many objects"; else ok "no collection note for many objects"; fi

# the leak still wins when all scenarios' files are mixed into one run
mkdir -p "$WORK/all"
cp "$WORK"/linear/* "$WORK"/multi/* "$WORK"/sawtooth/* "$WORK/all/"
"$RMP_REPORT" leaks "$WORK/all" --top 3 > "$WORK/all.out"
case "$(suspect "$WORK/all.out" 1)" in *Leaky#remember*) ok "mixed: leak first" ;; *) fail "mixed"; cat "$WORK/all.out" >&2 ;; esac
grep -q '64 profiles from 6 processes' "$WORK/all.out" && ok "mixed: 6 processes" || fail "mixed: grouping"
finish
