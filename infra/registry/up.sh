#!/usr/bin/env bash
# Starts Apicurio Registry 3.x (in-memory H2 storage, no auth) on loopback. Clients use its
# Confluent-compatible API: http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7
# Idempotent: does nothing when something already answers on REGISTRY_PORT.
# Apicurio 3.x is compiled for Java 21 (class file 65): Java 17 cannot run it. The JVM is the one
# java.sh finds: $REGISTRY_JAVA_HOME if set, else the first Java 21+ among `java` on PATH,
# /usr/lib/jvm/* and the JDK `java.sh --install` put in $INFRA_DATA_DIR/jdk.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
: "${REGISTRY_MANAGEMENT_PORT:=$((REGISTRY_PORT + 1000))}"  # Quarkus health/metrics (cannot be disabled at run time)
: "${REGISTRY_HEAP:=256m}"
: "${REGISTRY_READY_TIMEOUT:=90}"
: "${REGISTRY_JAVA_OPTS:=}"                                 # extra JVM options, appended last
: "${REGISTRY_COMPATIBILITY:=BACKWARD}"  # global level set after start (Confluent's default; Apicurio's is NONE)
"$INFRA_DIR/registry/fetch.sh"

url="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
if port_open "$REGISTRY_PORT"; then
  log "schema registry already listening on 127.0.0.1:$REGISTRY_PORT ($url)"
  exit 0
fi
port_open "$REGISTRY_MANAGEMENT_PORT" \
  && die "port $REGISTRY_MANAGEMENT_PORT (REGISTRY_MANAGEMENT_PORT) is taken: set another one"

rc=0; java_bin=$("$INFRA_DIR/registry/java.sh") || rc=$?
(( rc == 0 )) || exit "$rc"  # 3: no usable Java (infra/up.sh falls back to local schema mode, except under CI)

dir="$INFRA_DATA_DIR/registry-$REGISTRY_PORT"
mkdir -p "$dir/logs" "$dir/tmp"
# Quarkus reads every option below as a system property; application.properties in the jar holds the defaults.
java_opts=(-Xms64m "-Xmx$REGISTRY_HEAP" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=64m
  -Xss512k "-Djava.io.tmpdir=$dir/tmp"
  "-XX:SharedArchiveFile=$dir/registry.jsa" -XX:+AutoCreateSharedArchive -Xlog:cds=off  # ~4 s restarts instead of ~7 s (JDK 19+)
  -Dquarkus.http.host=127.0.0.1 "-Dquarkus.http.port=$REGISTRY_PORT"
  -Dquarkus.management.host=127.0.0.1 "-Dquarkus.management.port=$REGISTRY_MANAGEMENT_PORT"
  -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2
  "-Dapicurio.datasource.url=jdbc:h2:mem:registry"                      # in memory: lost on stop
  -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2
  -Dapicurio.datasource.jdbc.max-size=10
  -Dquarkus.oidc.tenant-enabled=false -Dapicurio.authn.basic-client-credentials.enabled=false
  -Dapicurio.auth.role-based-authorization=false
  "-Dapicurio.storage.snapshot.location=$dir/tmp" "-Dapicurio.import.work-dir=$dir/tmp"
  -Dquarkus.http.access-log.enabled=false
  "-Dquarkus.log.console.format=%d{yyyy-MM-dd HH:mm:ss} %p [%c{3.}] (%t) %s%e%n"
)
# shellcheck disable=SC2206  # REGISTRY_JAVA_OPTS is a space-separated list on purpose
java_opts+=($REGISTRY_JAVA_OPTS)

started=$SECONDS
cd "$INFRA_DIR/registry/dist"
nohup "$java_bin" "${java_opts[@]}" -jar quarkus-run.jar >"$dir/logs/stdout.log" 2>&1 &
echo $! > "$dir/registry.pid"
log "schema registry starting with $java_bin (pid $(cat "$dir/registry.pid"), logs in $dir/logs)"

exec 3>&2  # wait_for silences the check's stderr; a crash report goes to fd 3
ready() {
  kill -0 "$(cat "$dir/registry.pid")" || {
    tail -20 "$dir/logs/stdout.log" >&3; die "schema registry exited during start-up" 2>&3; }
  "$PYTHON" - "$url/subjects" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    assert r.status == 200
PY
}
if ! wait_for "schema registry on $url" "$REGISTRY_READY_TIMEOUT" ready; then
  tail -20 "$dir/logs/stdout.log" >&2
  die "schema registry did not become ready within ${REGISTRY_READY_TIMEOUT}s"
fi
echo "$((SECONDS - started))" > "$dir/startup-seconds"

# Storage is in memory, so the global compatibility level is reset on every start: set it again.
"$PYTHON" - "$url/config" "$REGISTRY_COMPATIBILITY" <<'PY' || die "could not set the global compatibility level"
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], method="PUT", data=json.dumps({"compatibility": sys.argv[2]}).encode(),
                             headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
urllib.request.urlopen(req, timeout=5).read()
PY
log "schema registry global compatibility: $REGISTRY_COMPATIBILITY"
