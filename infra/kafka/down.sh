#!/usr/bin/env bash
# Stops the broker started by up.sh (SIGTERM, then SIGKILL after a grace period).
set -euo pipefail
source "$(dirname "$0")/../env.sh"
stop_pidfile kafka "$INFRA_DATA_DIR/kafka-$KAFKA_PORT/kafka.pid"
