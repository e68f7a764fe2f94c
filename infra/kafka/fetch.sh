#!/usr/bin/env bash
# Gathers the Kafka broker jars from Maven Central into infra/kafka/libs (once per machine:
# Maven caches them in ~/.m2, and an existing libs/ matching the pom is reused).
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$INFRA_DIR/kafka"
stamp=libs/.pom.sha256
if [[ -f $stamp ]] && sha256sum --quiet -c "$stamp" 2>/dev/null; then
  exit 0
fi
command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the Kafka jars: apt-get install maven"
command -v java >/dev/null || die "Java 17+ is needed to run Kafka: apt-get install openjdk-17-jre-headless"
log "fetching Kafka jars from Maven Central"
rm -rf libs
mkdir -p "$INFRA_DATA_DIR"
mvn -B package >"$INFRA_DATA_DIR/kafka-fetch.log" 2>&1 \
  || { tail -30 "$INFRA_DATA_DIR/kafka-fetch.log" >&2; die "could not fetch the Kafka jars (is Maven Central reachable?)"; }
sha256sum pom.xml > "$stamp"
log "kafka jars in $(pwd)/libs ($(ls libs/*.jar | wc -l) jars)"
