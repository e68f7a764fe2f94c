#!/usr/bin/env bash
# Stops the schema registry started by up.sh (SIGTERM, then SIGKILL after a grace period).
# Its storage is in memory: every subject and schema is gone afterwards.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
stop_pidfile "schema registry" "$INFRA_DATA_DIR/registry-$REGISTRY_PORT/registry.pid"
