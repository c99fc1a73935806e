#!/usr/bin/env bash
# Reads the example's profile with `go tool pprof` and checks what it says.
set -euo pipefail
go=$1 profile=$2
top=$("$go" tool pprof -top -sample_index=retained_objects "$profile")
echo "$top"
grep -q "build_cache" <<<"$top" || { echo "build_cache missing from retained objects"; exit 1; }
if grep -q "handle_request" <<<"$top"; then echo "handle_request objects died but are still retained"; exit 1; fi
# 1500 cache objects sampled at rate 0.1, scaled by 10: the estimate's
# standard deviation is sqrt(1500 * 0.1 * 0.9) / 0.1 = 116, so allow 5 sigma.
total=$(sed -n 's/.*Total samples = \([0-9]*\).*/\1/p' <<<"$top")
echo "retained_objects estimate: $total (truth 1500)"
[ -n "$total" ] && [ "$total" -ge 920 ] && [ "$total" -le 2080 ]
