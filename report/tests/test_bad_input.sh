#!/bin/sh
# Bad input: a clear message and a non-zero exit; one bad file among many is
# reported and skipped.
. "$RMP_TESTS/lib.sh"
mkdir -p "$WORK/good" "$WORK/go" "$WORK/empty"
"$RMP_GEN" linear "$WORK/good"
"$RMP_GEN" gotool "$WORK/go"
one="$WORK/good/mem-101-2026-11-26T10:05:00Z.pprof"
size=$(wc -c < "$one")
head -c $((size / 2)) "$one" > "$WORK/trunc-gz.pprof"
gzip -dc "$one" > "$WORK/raw.pb"
# Cut inside a string of the string table, so that the last field is
# incomplete (a cut at an arbitrary offset may land on a field boundary).
at=$(grep -a -b -o 'rmp_version=test' "$WORK/raw.pb" | head -1 | cut -d: -f1)
head -c $((at + 5)) "$WORK/raw.pb" > "$WORK/trunc-raw.pb"
printf 'hello, I am a text file and not a profile\n' > "$WORK/text.pprof"
: > "$WORK/zero.pprof"
# Seeded, so that every run sees the same bytes (perl's rand is drand48 on
# every platform); random bytes read as protobuf end either in a bad wire type
# or inside a field, and both are honest answers.
perl -e 'srand(20261201); print map { chr(int(rand(256))) } 1..4000' > "$WORK/random.pprof"
printf '\037\213garbage after a gzip magic' > "$WORK/badgz.pprof"

expect_fail() { # description, expected message pattern, command...
  d=$1; pat=$2; shift 2
  if "$@" > "$WORK/o" 2> "$WORK/e"; then fail "$d: exit 0"; return; fi
  if grep -q -E "$pat" "$WORK/e"; then ok "$d: $(head -1 "$WORK/e")"; else fail "$d: message"; cat "$WORK/e" >&2; fi
}
for cmd in leaks top; do
  expect_fail "$cmd truncated gzip" 'trunc.*(truncated|unexpected end)' "$RMP_REPORT" $cmd "$WORK/trunc-gz.pprof"
  expect_fail "$cmd truncated raw" 'trunc-raw.*truncated' "$RMP_REPORT" $cmd "$WORK/trunc-raw.pb"
  expect_fail "$cmd text file" 'text.pprof: not a valid pprof profile' "$RMP_REPORT" $cmd "$WORK/text.pprof"
  expect_fail "$cmd empty file" 'zero.pprof: empty file' "$RMP_REPORT" $cmd "$WORK/zero.pprof"
  expect_fail "$cmd random bytes" 'random.pprof: (not a valid pprof profile|truncated profile)' "$RMP_REPORT" $cmd "$WORK/random.pprof"
  expect_fail "$cmd bad gzip" 'badgz.pprof: .*gzip' "$RMP_REPORT" $cmd "$WORK/badgz.pprof"
  expect_fail "$cmd missing file" 'nope.pprof: .*No such file' "$RMP_REPORT" $cmd "$WORK/nope.pprof"
done
expect_fail "merge bad inputs" 'no usable profiles' "$RMP_REPORT" merge "$WORK/text.pprof" "$WORK/trunc-gz.pprof" -o "$WORK/m.pb.gz"
expect_fail "leaks empty directory" 'empty: directory holds no profiles' "$RMP_REPORT" leaks "$WORK/empty"
expect_fail "merge empty directory" 'empty: directory holds no profiles' "$RMP_REPORT" merge "$WORK/empty" -o "$WORK/m.pb.gz"
expect_fail "leaks other tool's profile" 'lacks|no retained_size/retained_objects sample types \(it has: alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes\)' \
  "$RMP_REPORT" leaks "$WORK/go/go-heap.pb.gz"
expect_fail "leaks too few profiles" 'at least 3 profiles' "$RMP_REPORT" leaks "$one"
expect_fail "usage" 'usage' "$RMP_REPORT"
expect_fail "unknown option" 'unknown option' "$RMP_REPORT" leaks --frobnicate "$WORK/good"

# one bad file among many: reported, skipped, the answer unchanged
cp "$WORK/trunc-gz.pprof" "$WORK/text.pprof" "$WORK/random.pprof" "$WORK/go/go-heap.pb.gz" "$WORK/good/"
if "$RMP_REPORT" leaks "$WORK/good" > "$WORK/o" 2> "$WORK/e"; then
  n=$(grep -c 'skipped$' "$WORK/e" || true)
  [ "$n" -eq 4 ] && ok "4 bad files reported and skipped" || { fail "skipped count $n"; cat "$WORK/e" >&2; }
  case "$(suspect "$WORK/o" 1)" in *Leaky#remember*) ok "leak still found" ;; *) fail "leak lost" ;; esac
  grep -q '^12 profiles from 1 process' "$WORK/o" && ok "12 good profiles used" || fail "good profile count"
else fail "a few bad files made the run fail"; cat "$WORK/e" >&2; fi
# the other tool's profile still works for top (it is a valid pprof)
"$RMP_REPORT" top "$WORK/go/go-heap.pb.gz" > "$WORK/o" && grep -q 'main.alloc' "$WORK/o" && ok "top reads a Go heap profile" || fail "top on Go profile"
finish
