#!/bin/bash
# Login load against one or more running servers, interleaved per
# repetition and scenario (machine noise hits every target alike); raw JSON
# lines and a markdown summary of medians (min–max) in OUTDIR.
#   usage: bench/login/run_all.sh LABEL,PORT,PIDFILE[,SCENARIO+SCENARIO] [more targets ...]
# A target runs the scenarios listed after its PID file, else all of SCENARIOS.
# Each target needs the users first: run.ts --scenario prepare --port PORT.
# Env: REPS=3 SCENARIOS="sasl1 fast fastrot scram2 tls" GEN_CPUS=0 SERVER_CPUS=1 (taskset; PIN=0 off)
#      OUTDIR=/tmp/parley-login/run-DATE, extra run.ts flags in GEN_ARGS.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../shared/run_all.sh"
run_all_setup 2,9 "sasl1 fast fastrot scram2 tls" /tmp/parley-login "$@"
for rep in $(seq 1 "$REPS"); do
  for s in $SCENARIOS; do
    for t in "$@"; do
      IFS=, read -r l p pf only <<<"$t"; pid=$(cat "$pf")
      [ -n "$only" ] && [[ "+$only+" != *"+$s+"* ]] && continue
      sleep 2
      run_one "$HERE/run.ts" 300 "$l" "$p" "$pid" "$s" "$rep"
    done
  done
done
deno run -A "$HERE/summarize.ts" "$RAW" | tee "$OUTDIR/summary.md"
