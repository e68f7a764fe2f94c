#!/usr/bin/env bash
# Stops the broker started by up.sh (SIGTERM, then SIGKILL after a grace period).
set -euo pipefail
source "$(dirname "$0")/../env.sh"
pidfile="$INFRA_DATA_DIR/kafka-$KAFKA_PORT/kafka.pid"
[[ -f $pidfile ]] || { log "kafka not running (no pid file)"; exit 0; }
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  wait_for "kafka stop" 30 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
fi
rm -f "$pidfile"
log "kafka stopped"
