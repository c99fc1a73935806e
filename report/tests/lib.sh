# shellcheck shell=sh
# Shared helpers for the rmp-report test scripts (sourced).
set -eu
# file order (shell globs, directory listings) must match strcmp order
export LC_ALL=C
: "${RMP_REPORT:?}" "${RMP_GEN:?}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
# The "#N  title" line of suspect N in a leaks output file.
suspect() { grep -E "^#$2  " "$1" | head -1; }
finish() { if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi; echo "all checks passed"; }
# An independent JSON parser for rmp-report's --format json (Debian's python3).
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || echo python3)
# top's rows as the oracle prints them: "flat cum name (file)", raw values.
top_rows() { # file, sample type
  "$RMP_REPORT" top "$1" --sample-type "$2" --nodecount 1000000 --format json | "$PYTHON" -c '
import json, sys
for f in json.load(sys.stdin)["functions"]:
    print(f["flat"], f["cum"], f["function"] + (" (%s)" % f["file"] if f["file"] else ""))'
}
