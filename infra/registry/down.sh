#!/usr/bin/env bash
# Stops the schema registry started by up.sh (SIGTERM, then SIGKILL after a grace period).
# Its storage is in memory: every subject and schema is gone afterwards.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
pidfile="$INFRA_DATA_DIR/registry-$REGISTRY_PORT/registry.pid"
[[ -f $pidfile ]] || { log "schema registry not running (no pid file)"; exit 0; }
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  wait_for "schema registry stop" 30 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
fi
rm -f "$pidfile"
log "schema registry stopped"
