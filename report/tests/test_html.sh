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
render() { # page, dom output
  prof=$(mktemp -d)
  "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$prof" --dump-dom "file://$1" \
    > "$2" 2> "$WORK/chrome.err" || { fail "chromium exit $?"; cat "$WORK/chrome.err" >&2; }
  rm -rf "$prof"
}
render "$WORK/report.html" "$WORK/dom.html"
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

# The x axis is wall-clock time (UTC): the first tick is the earliest
# profile's snapshot, gen_profiles' T0 + one 60 s interval, as date(1) says.
first_tick=$(grep -o '<text class="xtick"[^>]*>[^<]*</text>' "$WORK/dom.html" | head -1 | sed 's/<[^>]*>//g')
want=$(date -u -d @1795600060 +%H:%M:%S)
[ "$first_tick" = "$want" ] && ok "x axis in wall-clock time: first tick $first_tick" || fail "first tick '$first_tick', want $want"
grep -q "UTC, from $(date -u -d @1795600060 '+%Y-%m-%d %H:%M:%S')" "$WORK/dom.html" && ok "x axis says UTC and the date" || fail "x axis caption"
if grep -q -E '<text[^>]*>[0-9]+ s</text>' "$WORK/dom.html"; then fail "ticks in seconds"; else ok "no tick in seconds"; fi
grep -q -E '<span class="score">[0-9.]+ (kB|MB)/hour</span>' "$WORK/dom.html" && ok "scores carry units (bytes/hour)" || fail "score units"

# Three suspects with one title (Leaky#remember (app/leaky.rb:12)), told
# apart by leaf and class; --top 2 leaves the third off, and the page lists it.
mkdir -p "$WORK/sib"
"$RMP_GEN" siblings "$WORK/sib"
"$RMP_REPORT" leaks "$WORK/sib" --top 2 --html "$WORK/sib.html" > /dev/null
render "$WORK/sib.html" "$WORK/sib-dom.html"
"$PYTHON" - "$WORK/sib-dom.html" << 'PY' && ok "index labels distinct, with leaf and class; the third suspect listed as left off" || fail "labels / left off"
import html, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
idx = [html.unescape(x) for x in re.findall(r'<li class="index-entry"><a href="#suspect-\d+">([^<]*)</a>', dom)]
assert idx == ["Leaky#remember (app/leaky.rb:12) \u00b7 leaf Array#push (<cfunc>) \u00b7 String",
               "Leaky#remember (app/leaky.rb:12) \u00b7 leaf Hash#[]= (<cfunc>) \u00b7 Symbol"], idx
left = [html.unescape(re.sub("<[^>]*>", "", x)) for x in re.findall(r'<li class="left-off">(.*?)</li>', dom)]
assert len(left) == 1 and left[0].startswith("Leaky#remember (app/leaky.rb:12) \u00b7 Request: score "), left
assert re.search(r'<ol id="left-off" start="3">', dom)
PY

# Each suspect's pprof command runs as given (here with -top added): its
# focus keeps the three stacks through Leaky#remember, (48 + 32 + 16) KiB x 12.
cmd=$("$PYTHON" -c 'import html, re, sys; print(html.unescape(re.findall(r"<pre class=\"pprof\"><code>(.*?)</code>", open(sys.argv[1]).read())[0]))' "$WORK/sib-dom.html")
case "$cmd" in "go tool pprof "*"-focus="*) ok "pprof command: $cmd" ;; *) fail "pprof command '$cmd'" ;; esac
mkdir -p "$WORK/gocache"
(cd "$WORK" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$WORK/gocache" HOME="$WORK" GOFLAGS='' \
  eval "go tool pprof -top ${cmd#go tool pprof }") > "$WORK/focus.out" 2>&1 || true
grep -q 'Showing nodes accounting for 1152kB' "$WORK/focus.out" && grep -q 'focus=^Leaky#remember\$' "$WORK/focus.out" \
  && ok "the pprof command focuses on the suspect: 1152kB" || { fail "pprof command output"; cat "$WORK/focus.out" >&2; }
finish
