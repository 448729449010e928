#!/bin/bash
# Sourced by the run_all.sh scripts: `machine_facts LABEL,PORT,PIDFILE[,…] …` pins each
# target server to $SERVER_CPUS (unless PIN=0) and writes what a result needs to be read
# (machine, load, versions, parameters, each server's command line and CPU affinity) to
# $OUTDIR/env.txt and stderr. Uses REPS, SCENARIOS, GEN_CPUS, SERVER_CPUS, PIN, GEN_ARGS.
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
