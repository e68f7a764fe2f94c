#!/usr/bin/env bash
# Starts everything the service and its tests need, without Docker: PostgreSQL, Kafka and a
# Confluent-compatible Schema Registry (Apicurio). The registry needs Java 21+; without one the
# service and tests run in local schema mode, and this says so (under CI=true it fails instead).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/postgres/up.sh"
"$here/kafka/up.sh"
rc=0; "$here/registry/up.sh" || rc=$?
if (( rc == 3 )) && [[ ${CI:-} == true ]]; then
  echo "[infra] error: no Schema Registry under CI (needs Java 21+: infra/registry/java.sh --install)" >&2
  exit 3
elif (( rc == 3 )); then
  echo "[infra] WARNING: no Schema Registry (needs Java 21+); using local schema mode" >&2
elif (( rc != 0 )); then
  exit "$rc"
fi
