#!/usr/bin/env bash
# A private Prosody 0.12 (Debian's `prosody`) for the fan-out benchmark:
# its own config and data in DIR (default /tmp/parley-fanout-prosody), c2s
# on 127.0.0.1:PORT (default 45322), MUC at conference.localhost.
#   bench/fanout/prosody.sh start [DIR] [PORT]   # prints the PID when listening
#   bench/fanout/prosody.sh stop  [DIR]          # stops that PID only
# PROSODY_CFG=other.cfg.lua.in picks another config template (bench/login/);
# PROSODY_KEY=ec makes a new DIR's certificate ECDSA P-256 (as Parley's) not RSA-2048.
set -euo pipefail
cmd=${1:-}; DIR=${2:-/tmp/parley-fanout-prosody}; PORT=${3:-45322}
HERE=$(cd "$(dirname "$0")" && pwd)

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop() {
  [ -f "$DIR/prosody.pid" ] || return 0
  local pid; pid=$(cat "$DIR/prosody.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" || true
  fi
  rm -f "$DIR/prosody.pid"
}

start() {
  stop
  if port_open "$PORT"; then echo "port $PORT is already in use" >&2; exit 1; fi
  mkdir -p "$DIR/data"
  if [ ! -f "$DIR/localhost.crt" ]; then
    local key=(-newkey rsa:2048)
    [ "${PROSODY_KEY:-rsa}" = ec ] && key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
    openssl req -x509 "${key[@]}" -nodes -days 3650 -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,DNS:conference.localhost" \
      -keyout "$DIR/localhost.key" -out "$DIR/localhost.crt" 2>/dev/null
  fi
  sed -e "s|@DIR@|$DIR|g" -e "s|@PORT@|$PORT|g" "${PROSODY_CFG:-$HERE/prosody.cfg.lua.in}" >"$DIR/prosody.cfg.lua"
  ulimit -n 20000 2>/dev/null || true
  prosody --config "$DIR/prosody.cfg.lua" -F >"$DIR/stdout.log" 2>&1 </dev/null &
  echo $! >"$DIR/prosody.pid"
  for _ in $(seq 1 100); do
    if port_open "$PORT"; then cat "$DIR/prosody.pid"; return 0; fi
    kill -0 "$(cat "$DIR/prosody.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "prosody did not come up; see $DIR/stdout.log" >&2
  tail -20 "$DIR/stdout.log" >&2 || true
  stop; exit 1
}

case "$cmd" in
  start) start;;
  stop) stop;;
  *) sed -n 2,9p "$0" >&2; exit 2;;
esac
