#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite (Debian package `postgresql`; installed here if missing).
#   scripts/postgres.sh start PORT   install if needed, create a fresh cluster in a temp dir, start it, print nothing else
#   scripts/postgres.sh stop PORT    stop it and delete its files
#   scripts/postgres.sh restart PORT restart it (fast shutdown: every connection is cut), keeping its data
# Trust authentication on 127.0.0.1 only; durability settings off: this cluster holds nothing worth keeping.
# MOTCUA_PG_DURABLE=1 keeps PostgreSQL's durable defaults (fsync, synchronous_commit, full_page_writes on): the
# benchmarks use it, so that their figures include the commit's flush a production server pays.
set -euo pipefail
cmd=${1:?start|stop}; port=${2:-55432}
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/var/postgres-$port.dir"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
durability() {
  if [ "${MOTCUA_PG_DURABLE:-0}" = 1 ]; then echo "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  else echo "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
}
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

install_if_missing() {
  [ -n "$(bindir)" ] && return 0
  if [ "$(id -u)" != 0 ]; then echo "PostgreSQL is not installed; run: sudo apt-get install -y postgresql" >&2; exit 1; fi
  echo "installing PostgreSQL (Debian package postgresql)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
}

case "$cmd" in
  start)
    install_if_missing
    bin=$(bindir)
    mkdir -p "$root/var"
    if [ -f "$state" ] && [ -d "$(cat "$state")" ]; then "$0" stop "$port"; fi
    data=$(mktemp -d /tmp/motcua-pg-XXXXXX)
    echo "$data" >"$state"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
    as_owner "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
      -o "-p $port -k $data -c listen_addresses=127.0.0.1 $(durability) -c max_connections=300" >/dev/null
    echo "postgres ready on 127.0.0.1:$port" ;;
  restart)
    data=$(cat "$state")
    as_owner "$(bindir)/pg_ctl" -D "$data" -l "$data/server.log" -m fast -w -t 60 restart >/dev/null ;;
  stop)
    [ -f "$state" ] || exit 0
    data=$(cat "$state")
    bin=$(bindir)
    if [ -d "$data" ]; then
      as_owner "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
      rm -rf "$data"
    fi
    rm -f "$state" ;;
  *) echo "usage: $0 start|stop|restart [port]" >&2; exit 2 ;;
esac
