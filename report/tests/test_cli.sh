#!/bin/sh
# The command line: --version (the gem's version.rb, read here on its own),
# help on stdout with exit 0, and usage errors that name the option, exit 2.
. "$RMP_TESTS/lib.sh"
root="$RMP_TESTS/../.."
want=$(sed -n 's/^ *VERSION = "\([0-9.]*\)".*/\1/p' "$root/ruby/lib/ruby_memprofiler_pprof/version.rb")
got=$("$RMP_REPORT" --version)
[ -n "$want" ] && [ "$got" = "rmp-report $want" ] && ok "--version: $got" || fail "--version '$got', version.rb says '$want'"

expect() { # description, exit status, stream (out|err), pattern, command...
  d=$1; rc=$2; stream=$3; pat=$4; shift 4
  set +e
  "$@" > "$WORK/o" 2> "$WORK/e"
  got=$?
  set -e
  if [ "$got" -ne "$rc" ]; then fail "$d: exit $got, want $rc"; cat "$WORK/e" >&2; return; fi
  if grep -q -E -- "$pat" "$WORK/$( [ "$stream" = out ] && echo o || echo e)"; then ok "$d"
  else fail "$d: no '$pat' on std$stream"; cat "$WORK/o" "$WORK/e" >&2; fi
}
expect "--help" 0 out '^usage: rmp-report COMMAND' "$RMP_REPORT" --help
expect "help with no command: usage on stderr" 2 err '^usage: rmp-report' "$RMP_REPORT"
for cmd in leaks merge top; do
  expect "$cmd --help" 0 out "^usage: rmp-report $cmd " "$RMP_REPORT" $cmd --help
  expect "$cmd -h" 0 out "^usage: rmp-report $cmd " "$RMP_REPORT" $cmd -h
  expect "help $cmd" 0 out "^usage: rmp-report $cmd " "$RMP_REPORT" help $cmd
  # help goes to stdout only, so it pipes
  [ ! -s "$WORK/e" ] && ok "help $cmd leaves stderr empty" || fail "help $cmd wrote to stderr"
  expect "$cmd --frobnicate" 2 err "^rmp-report $cmd: unknown option '--frobnicate'" "$RMP_REPORT" $cmd --frobnicate x
  expect "$cmd -Z" 2 err "^rmp-report $cmd: unknown option '-Z'" "$RMP_REPORT" $cmd -Z x
done
expect "leaks --top without a value" 2 err "option '--top' needs a value" "$RMP_REPORT" leaks x --top
expect "leaks --top=0" 2 err "--top takes a positive whole number, not '0'" "$RMP_REPORT" leaks x --top=0
expect "leaks --all=1" 2 err "option '--all' takes no value" "$RMP_REPORT" leaks x --all=1
expect "leaks --by=line" 2 err "--by takes stack, function, file or class, not 'line'" "$RMP_REPORT" leaks x --by=line
expect "leaks --format=xml" 2 err "--format takes text or json, not 'xml'" "$RMP_REPORT" leaks x --format=xml
expect "leaks --fail-above=lots" 2 err "--fail-above takes a number >= 0, not 'lots'" "$RMP_REPORT" leaks x --fail-above=lots
expect "top --nodecount x" 2 err "--nodecount takes a positive whole number" "$RMP_REPORT" top x --nodecount x
expect "merge -o without a value" 2 err "option '-o' needs a value" "$RMP_REPORT" merge x -o
expect "merge without -o" 2 err "usage: rmp-report merge" "$RMP_REPORT" merge x
expect "unknown command" 2 err "unknown command 'leak'" "$RMP_REPORT" leak x
expect "leaks without files" 2 err "no profiles given" "$RMP_REPORT" leaks --top 3
# getopt_long: options after the operands, and both --opt=v and --opt v
mkdir -p "$WORK/lin"
"$RMP_GEN" linear "$WORK/lin"
"$RMP_REPORT" leaks --top 1 "$WORK/lin" --by function > "$WORK/a"
"$RMP_REPORT" leaks "$WORK/lin" --top=1 --by=function > "$WORK/b"
cmp -s "$WORK/a" "$WORK/b" && grep -q 'grouped by function' "$WORK/a" && ok "options before and after operands, = or space" \
  || fail "option forms differ"
finish
