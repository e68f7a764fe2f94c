# Shared defaults for the infra scripts; every value can be overridden from the environment.
# Sourced, not executed.
INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$INFRA_DIR")"
: "${INFRA_DATA_DIR:=$REPO_DIR/.infra}"          # runtime data, logs and pid files (git-ignored)
: "${KAFKA_PORT:=9092}"
: "${KAFKA_CONTROLLER_PORT:=$((KAFKA_PORT + 1))}"
: "${KAFKA_HEAP:=512m}"
: "${KAFKA_READY_TIMEOUT:=90}"
: "${PG_PORT:=55432}"                          # not 5432: leaves a system cluster alone
: "${PG_USER:=sequence_qbo}"
: "${PG_PASSWORD:=sequence_qbo}"
: "${PG_DB:=sequence_qbo}"
: "${REGISTRY_PORT:=8081}"
: "${PYTHON:=$REPO_DIR/.venv/bin/python}"
export PYTHON INFRA_DIR REPO_DIR INFRA_DATA_DIR KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_HEAP PG_PORT PG_USER PG_PASSWORD PG_DB REGISTRY_PORT

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...: polls COMMAND until it succeeds or time runs out.
wait_for() {
  local what=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then return 1; fi
    sleep 0.5
  done
  log "$what ready"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_pidfile NAME PIDFILE: SIGTERM the process, SIGKILL it after 30 s, forget the pid file.
stop_pidfile() {
  local name=$1 pidfile=$2 pid
  [[ -f $pidfile ]] || { log "$name not running (no pid file)"; return 0; }
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    wait_for "$name stop" 30 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "$name stopped"
}

# pg_dir: the project's PostgreSQL folder. It lives under INFRA_DATA_DIR, unless the server's
# `postgres` user cannot reach that folder (a checkout under /root, say, when run as root):
# then under /var/lib/sequence-qbo, which it can.
pg_dir() {
  local dir="$INFRA_DATA_DIR/postgres-$PG_PORT"
  if [[ $(id -u) -eq 0 ]] && id postgres >/dev/null 2>&1; then
    mkdir -p "$INFRA_DATA_DIR"
    if ! runuser -u postgres -- test -x "$INFRA_DATA_DIR" 2>/dev/null; then
      dir="/var/lib/sequence-qbo/postgres-$PG_PORT"
    fi
  fi
  echo "$dir"
}
