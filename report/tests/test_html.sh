#!/bin/sh
# The HTML report renders in headless Chromium and the expected suspects are
# in the rendered DOM (built by the page's own script), the decoys are not.
. "$RMP_TESTS/lib.sh"
CHROME=$(command -v chromium || command -v chromium-browser || true)
mkdir -p "$WORK/p"
"$RMP_GEN" multi "$WORK/p"
"$RMP_GEN" linear "$WORK/p"
"$RMP_REPORT" leaks "$WORK/p" --top 5 --html "$WORK/report.html" > "$WORK/out"
# self-contained: nothing is fetched
if grep -q -E '(src|href)="(https?:|//)' "$WORK/report.html"; then fail "external asset"; else ok "no external assets"; fi
grep -q '<svg' "$WORK/report.html" && ok "inline svg" || fail "no svg"
if [ -z "$CHROME" ]; then
  echo "SKIP: chromium is not installed (apt-get install chromium); the render check did not run"
  exit 77
fi
prof=$(mktemp -d)
"$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$prof" --dump-dom "file://$WORK/report.html" \
  > "$WORK/dom.html" 2> "$WORK/chrome.err" || { fail "chromium exit $?"; cat "$WORK/chrome.err" >&2; }
rm -rf "$prof"
grep -q 'data-rendered="yes"' "$WORK/dom.html" && ok "page script ran" || fail "page script did not run"
# the index entries exist only in the rendered DOM, not in the file
n=$(grep -o '<li class="index-entry"><a href="#suspect-[0-9]*">[^<]*</a>' "$WORK/dom.html" | wc -l)
[ "$n" -eq 1 ] && ok "one index entry rendered (one leaking stack, in two processes)" || fail "index entries: $n"
first=$(grep -o '<li class="index-entry"><a href="#suspect-1">[^<]*</a>' "$WORK/dom.html" | sed 's/<[^>]*>//g')
case "$first" in *"Leaky#remember (app/leaky.rb:12)"*) ok "suspect #1 in DOM: $first" ;; *) fail "suspect #1 in DOM: '$first'" ;; esac
grep -q 'pid 203' "$WORK/dom.html" && grep -q 'pid 101' "$WORK/dom.html" && ok "both leaking processes charted" || fail "processes"
grep -q '<polyline' "$WORK/dom.html" && ok "charts rendered" || fail "charts"
if grep -o '<li class="index-entry">.*' "$WORK/dom.html" | grep -q -E 'Cache#store|Parser#parse|Config#load'; then fail "a decoy is a suspect"; else ok "no decoy among suspects"; fi
grep -q 'Handler#call' "$WORK/dom.html" && ok "stack frames present" || fail "stack frames"
finish
