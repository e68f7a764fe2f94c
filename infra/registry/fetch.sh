#!/usr/bin/env bash
# Unpacks Apicurio Registry (Confluent-compatible Schema Registry API) from Maven Central into
# infra/registry/dist (once per machine: Maven caches the archive in ~/.m2, and an existing dist/
# matching the pom is reused).
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$INFRA_DIR/registry"
stamp=dist/.pom.sha256
if [[ -f $stamp && -f dist/quarkus-run.jar ]] && sha256sum --quiet -c "$stamp" 2>/dev/null; then
  exit 0
fi
command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the schema registry: apt-get install maven"
log "fetching Apicurio Registry from Maven Central"
rm -rf dist
mkdir -p "$INFRA_DATA_DIR"
mvn -B package >"$INFRA_DATA_DIR/registry-fetch.log" 2>&1 \
  || { tail -30 "$INFRA_DATA_DIR/registry-fetch.log" >&2; die "could not fetch Apicurio Registry (is Maven Central reachable?)"; }
[[ -f dist/quarkus-run.jar ]] || die "dist/quarkus-run.jar missing after unpacking: check pom.xml"
sha256sum pom.xml > "$stamp"
log "schema registry in $(pwd)/dist ($(du -sh dist | cut -f1))"
