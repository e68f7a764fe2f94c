#!/usr/bin/env bash
# Stops the project's PostgreSQL cluster started by up.sh.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
dir=$(pg_dir)
[[ -f $dir/data/postmaster.pid ]] || { log "postgres not running"; exit 0; }
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
else "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; fi
log "postgres stopped"
