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
[ $# -ge 1 ] || { sed -n 2,8p "$0"; exit 2; }
REPS=${REPS:-3}; SCENARIOS=${SCENARIOS:-"muc pep"}
GEN_CPUS=${GEN_CPUS:-0}; SERVER_CPUS=${SERVER_CPUS:-1}; PIN=${PIN:-1}
OUTDIR=${OUTDIR:-/tmp/parley-fanout/run-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUTDIR"; RAW=$OUTDIR/raw.jsonl
ulimit -n 20000 2>/dev/null || true
pin=(); [ "$PIN" = 1 ] && pin=(taskset -c "$GEN_CPUS")
. "$HERE/../machine_facts.sh"
machine_facts "$@"
for s in $SCENARIOS; do
  for rep in $(seq 1 "$REPS"); do
    for t in "$@"; do
      IFS=, read -r l p pf <<<"$t"; pid=$(cat "$pf")
      sleep 3
      echo "[$(date +%T)] $l $s rep $rep (loadavg $(cut -d' ' -f1 /proc/loadavg))" >&2
      line=$(timeout 600 "${pin[@]}" deno run -A "$HERE/run.ts" --port "$p" --server-pid "$pid" \
        --label "$l" --scenario "$s" ${GEN_ARGS:-} 2>>"$OUTDIR/stderr.log" | tail -1)
      [ -n "$line" ] || line="{\"label\":\"$l\",\"scenario\":\"$s\",\"aborted\":true}"
      echo "$line" | sed "s/^{/{\"rep\":$rep,/" >>"$RAW"
      tail -1 "$RAW" | cut -c1-300 >&2
    done
  done
done
deno run -A "$HERE/summarize.ts" "$RAW" | tee "$OUTDIR/summary.md"
