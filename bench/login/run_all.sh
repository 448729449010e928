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
[ $# -ge 1 ] || { sed -n 2,9p "$0"; exit 2; }
REPS=${REPS:-3}; SCENARIOS=${SCENARIOS:-"sasl1 fast fastrot scram2 tls"}
GEN_CPUS=${GEN_CPUS:-0}; SERVER_CPUS=${SERVER_CPUS:-1}; PIN=${PIN:-1}
OUTDIR=${OUTDIR:-/tmp/parley-login/run-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUTDIR"; RAW=$OUTDIR/raw.jsonl
ulimit -n 20000 2>/dev/null || true
pin=(); [ "$PIN" = 1 ] && pin=(taskset -c "$GEN_CPUS")
. "$HERE/../machine_facts.sh"
machine_facts "$@"
for rep in $(seq 1 "$REPS"); do
  for s in $SCENARIOS; do
    for t in "$@"; do
      IFS=, read -r l p pf only <<<"$t"; pid=$(cat "$pf")
      [ -n "$only" ] && [[ "+$only+" != *"+$s+"* ]] && continue
      sleep 2
      echo "[$(date +%T)] $l $s rep $rep (loadavg $(cut -d' ' -f1 /proc/loadavg))" >&2
      line=$(timeout 300 "${pin[@]}" deno run -A "$HERE/run.ts" --port "$p" --server-pid "$pid" \
        --label "$l" --scenario "$s" ${GEN_ARGS:-} 2>>"$OUTDIR/stderr.log" | tail -1)
      [ -n "$line" ] || line="{\"label\":\"$l\",\"scenario\":\"$s\",\"aborted\":true}"
      echo "$line" | sed "s/^{/{\"rep\":$rep,/" >>"$RAW"
      tail -1 "$RAW" | cut -c1-300 >&2
    done
  done
done
deno run -A "$HERE/summarize.ts" "$RAW" | tee "$OUTDIR/summary.md"
