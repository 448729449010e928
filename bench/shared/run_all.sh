#!/bin/bash
# Sourced by the run_all.sh scripts (fan-out, logins): what they share.
# Uses and sets REPS, SCENARIOS, GEN_CPUS, SERVER_CPUS, PIN, GEN_ARGS, OUTDIR, RAW, pin.

# run_all_setup USAGE_LINES DEFAULT_SCENARIOS OUTDIR_PREFIX TARGET…: with no target, prints
# the calling script's usage (its lines USAGE_LINES, e.g. 2,8) and exits 2. Else the
# environment's parameters with their defaults, OUTDIR created, RAW=$OUTDIR/raw.jsonl, the
# generator's taskset prefix in `pin`, and the targets' machine facts written.
run_all_setup() {
  local usage=$1 scenarios=$2 prefix=$3; shift 3
  [ $# -ge 1 ] || { sed -n "${usage}p" "$0"; exit 2; }
  REPS=${REPS:-3}; SCENARIOS=${SCENARIOS:-"$scenarios"}
  GEN_CPUS=${GEN_CPUS:-0}; SERVER_CPUS=${SERVER_CPUS:-1}; PIN=${PIN:-1}
  OUTDIR=${OUTDIR:-$prefix/run-$(date +%Y%m%d-%H%M%S)}
  mkdir -p "$OUTDIR"; RAW=$OUTDIR/raw.jsonl
  ulimit -n 20000 2>/dev/null || true
  pin=(); [ "$PIN" = 1 ] && pin=(taskset -c "$GEN_CPUS")
  machine_facts "$@"
}

# `machine_facts LABEL,PORT,PIDFILE[,…] …` pins each target server to $SERVER_CPUS (unless
# PIN=0) and writes what a result needs to be read (machine, load, versions, parameters, each
# server's command line and CPU affinity) to $OUTDIR/env.txt and stderr.
machine_facts() {
  {
    echo "date: $(date -Is)"; echo "host: $(uname -srm)"; echo "nproc: $(nproc)"
    grep -m1 'model name' /proc/cpuinfo; echo "loadavg: $(cat /proc/loadavg)"
    echo "deno: $(deno --version | head -1)"; echo "prosody: $(dpkg-query -W -f '${Version}' prosody 2>/dev/null)"
    echo "params: REPS=$REPS SCENARIOS=$SCENARIOS GEN_CPUS=$GEN_CPUS SERVER_CPUS=$SERVER_CPUS GEN_ARGS=${GEN_ARGS:-}"
    for t in "$@"; do IFS=, read -r l p pf _ <<<"$t"; pid=$(cat "$pf")
      [ "$PIN" = 1 ] && taskset -a -p -c "$SERVER_CPUS" "$pid" >/dev/null
      echo "$l port $p pid $pid: $(tr '\0' ' ' </proc/$pid/cmdline | cut -c1-160)"; echo "  $(taskset -p "$pid")"
    done
  } >"$OUTDIR/env.txt"
  cat "$OUTDIR/env.txt" >&2
}

# run_one RUN_TS TIMEOUT LABEL PORT PID SCENARIO REP: one generator run (pinned, bounded by
# TIMEOUT seconds); its last stdout line, or an `aborted` line, goes to $RAW tagged with REP.
run_one() {
  local l=$3 s=$6 rep=$7 line
  echo "[$(date +%T)] $l $s rep $rep (loadavg $(cut -d' ' -f1 /proc/loadavg))" >&2
  # GEN_ARGS is split into words on purpose: extra run.ts flags.
  # shellcheck disable=SC2086
  line=$(timeout "$2" "${pin[@]}" deno run -A "$1" --port "$4" --server-pid "$5" \
    --label "$l" --scenario "$s" ${GEN_ARGS:-} 2>>"$OUTDIR/stderr.log" | tail -1)
  [ -n "$line" ] || line="{\"label\":\"$l\",\"scenario\":\"$s\",\"aborted\":true}"
  echo "$line" | sed "s/^{/{\"rep\":$rep,/" >>"$RAW"
  tail -1 "$RAW" | cut -c1-300 >&2
}
