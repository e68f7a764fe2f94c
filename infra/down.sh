#!/usr/bin/env bash
# Stops what infra/up.sh started.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/registry/down.sh"
"$here/kafka/down.sh"
"$here/postgres/down.sh"
