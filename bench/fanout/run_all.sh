#!/bin/bash
# MUC and PEP fan-out against one or more running servers, interleaved per
# repetition (machine noise hits every target alike); raw JSON lines and a
# markdown summary of medians (min–max) in OUTDIR.
#   usage: bench/fanout/run_all.sh LABEL,PORT,PIDFILE [more targets ...]
# Each target needs the users first: run.ts --scenario prepare --port PORT.
# Env: REPS=3 SCENARIOS="muc pep" GEN_CPUS=0 SERVER_CPUS=1 (taskset; PIN=0 off)
#      OUTDIR=/tmp/parley-fanout/run-DATE, extra run.ts flags in GEN_ARGS.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../shared/run_all.sh"
run_all_setup 2,8 "muc pep" /tmp/parley-fanout "$@"
for s in $SCENARIOS; do
  for rep in $(seq 1 "$REPS"); do
    for t in "$@"; do
      IFS=, read -r l p pf <<<"$t"; pid=$(cat "$pf")
      sleep 3
      run_one "$HERE/run.ts" 600 "$l" "$p" "$pid" "$s" "$rep"
    done
  done
done
deno run -A "$HERE/summarize.ts" "$RAW" | tee "$OUTDIR/summary.md"
