#!/bin/sh
# Builds the extension out of tree and runs the Collector tests against it,
# once with the default liveness (GC_END_MARK + mark bits) and once with the
# FREEOBJ fallback forced, so both paths are tested.
#   ruby/test/run_collector_tests.sh [test_collector_x.rb ...]
# RMP_EXT_BUILD sets the build dir (default: a fresh temp dir).
# RMP_EXT_SANITIZE=1 / RMP_EXT_DEBUG=1 are passed through to extconf.rb;
# with RMP_EXT_SANITIZE=1 the tests' Ruby preloads gcc's ASan and UBSan
# runtimes (leak checking off: Ruby frees little at exit; no sigaltstack:
# ASan cannot unmap Ruby threads' own alternate stacks).
# RMP_EXT_VARIANTS="default" skips the fallback run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ruby_dir=$(dirname "$here")
if [ -n "${RMP_EXT_BUILD:-}" ]; then
  build=$RMP_EXT_BUILD
else
  build=$(mktemp -d /tmp/rmp-ext-build.XXXXXX)
  trap 'rm -rf "$build"' EXIT
fi
[ "$#" -eq 0 ] && set -- "$here"/test_collector*.rb
status=0
for variant in ${RMP_EXT_VARIANTS:-default freeobj}; do
  dir="$build/$variant"
  mkdir -p "$dir/ext" "$dir/lib/ruby_memprofiler_pprof"
  (
    cd "$dir/ext"
    if [ "$variant" = freeobj ]; then export RMP_EXT_FORCE_FREEOBJ=1; fi
    export RMP_EXT_TESTING=1
    ruby "$ruby_dir/ext/ruby_memprofiler_pprof/extconf.rb" >/dev/null
    make -j2 V=0 >/dev/null
  )
  cp "$dir/ext/ruby_memprofiler_pprof.so" "$dir/lib/ruby_memprofiler_pprof/"
  for t in "$@"; do
    case "$t" in /*) ;; *) t="$here/$t" ;; esac
    echo "== [$variant] $(basename "$t")"
    if [ -n "${RMP_EXT_SANITIZE:-}" ]; then
      LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
        ASAN_OPTIONS=detect_leaks=0:use_sigaltstack=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        ruby -W0 -I "$dir/lib" -I "$ruby_dir/lib" -I "$here" "$t" || status=1
    else
      ruby -W0 -I "$dir/lib" -I "$ruby_dir/lib" -I "$here" "$t" || status=1
    fi
  done
done
exit $status
