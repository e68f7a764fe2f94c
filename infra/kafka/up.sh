#!/usr/bin/env bash
# Starts a single-node Apache Kafka broker in KRaft mode (broker + controller) on loopback.
# Idempotent: does nothing when the broker already answers on KAFKA_PORT.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
"$INFRA_DIR/kafka/fetch.sh"

if port_open "$KAFKA_PORT"; then
  log "kafka already listening on 127.0.0.1:$KAFKA_PORT"
  exit 0
fi

dir="$INFRA_DATA_DIR/kafka-$KAFKA_PORT"
mkdir -p "$dir/data" "$dir/logs"
cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS

cp_arg="$INFRA_DIR/kafka/libs/*"
java_opts=(-Xms256m "-Xmx$KAFKA_HEAP" -XX:+UseSerialGC -XX:TieredStopAtLevel=1
  "-Dkafka.logs.dir=$dir/logs" "-Dlog4j2.configurationFile=$INFRA_DIR/kafka/log4j2.properties")

if [[ ! -f $dir/data/meta.properties ]]; then
  cluster_id=$(java -cp "$cp_arg" kafka.tools.StorageTool random-uuid)
  java "${java_opts[@]}" -cp "$cp_arg" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$dir/server.properties" --ignore-formatted >"$dir/logs/format.log" 2>&1 \
    || die "formatting Kafka storage failed: see $dir/logs/format.log"
fi

started=$SECONDS
nohup java "${java_opts[@]}" -cp "$cp_arg" kafka.Kafka "$dir/server.properties" \
  >"$dir/logs/stdout.log" 2>&1 &
echo $! > "$dir/kafka.pid"
log "kafka starting (pid $(cat "$dir/kafka.pid"), logs in $dir/logs)"

ready() {
  kill -0 "$(cat "$dir/kafka.pid")" || return 0  # exited: stop waiting, reported below
  "$PYTHON" - "$KAFKA_PORT" <<'PY'
import sys
from confluent_kafka.admin import AdminClient
AdminClient({"bootstrap.servers": f"127.0.0.1:{sys.argv[1]}"}).list_topics(timeout=2)
PY
}
if ! wait_for "kafka on 127.0.0.1:$KAFKA_PORT" "$KAFKA_READY_TIMEOUT" ready \
   || ! kill -0 "$(cat "$dir/kafka.pid")" 2>/dev/null; then
  tail -20 "$dir/logs/stdout.log" >&2
  die "kafka did not become ready within ${KAFKA_READY_TIMEOUT}s (logs in $dir/logs)"
fi
echo "$((SECONDS - started))" > "$dir/startup-seconds"
