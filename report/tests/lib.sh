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
