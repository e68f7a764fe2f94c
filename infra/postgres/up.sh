#!/usr/bin/env bash
# Starts a PostgreSQL cluster of the project's own (data under INFRA_DATA_DIR) from Debian's
# `postgresql` package, installing the package when it is missing. Idempotent: an already
# running cluster on PG_PORT is reused. Creates the PG_USER role (superuser: tests create one
# database per test from a template) and the PG_DB database.
set -euo pipefail
source "$(dirname "$0")/../env.sh"

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [[ -z $(pg_bin) ]]; then
  command -v apt-get >/dev/null || die "PostgreSQL is missing and apt-get is not available"
  log "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # The package may start a cluster of its own on 5432; ours runs beside it on PG_PORT.
  apt-get install -y -qq postgresql >/dev/null || die "apt-get install postgresql failed"
fi
bin=$(pg_bin)
dir=$(pg_dir)
sock="$dir/run"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if ! as_pg "$bin/pg_isready" -q -h "$sock" -p "$PG_PORT" 2>/dev/null && ! port_open "$PG_PORT"; then
  mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    log "initialising a PostgreSQL cluster in $dir/data"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || die "initdb failed: see $dir/initdb.log"
    as_pg mkdir -p "$sock"
    # A development and test cluster: durability traded for speed (tests create many databases).
    cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sock'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  fi
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null \
    || die "PostgreSQL did not start: see $dir/postgres.log"
  log "postgres started on 127.0.0.1:$PG_PORT"
else
  log "postgres already running on 127.0.0.1:$PG_PORT"
fi

if [[ -S $sock/.s.PGSQL.$PG_PORT ]]; then
  psql_pg() { as_pg "$bin/../bin/psql" -h "$sock" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
  if [[ -z $(psql_pg -c "select 1 from pg_roles where rolname = '$PG_USER'") ]]; then
    psql_pg -c "create role \"$PG_USER\" login superuser password '$PG_PASSWORD'"
  fi
  if [[ -z $(psql_pg -c "select 1 from pg_database where datname = '$PG_DB'") ]]; then
    psql_pg -c "create database \"$PG_DB\" owner \"$PG_USER\""
  fi
fi
