#!/usr/bin/env bash
# A private, throwaway PostgreSQL cluster for this clone, on 127.0.0.1:$PG_PORT.
#
# initdb refuses to run as root, so as root the cluster belongs to the postgres user;
# that user cannot reach a clone under a root-only folder, hence the cluster lives in
# /tmp, in a folder named after the clone. Usage: postgres.sh install|start|stop|status
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pg_bin_dir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        printf '%s\n' "$dir"
    fi
}

pg_install() {
    if [ -z "$(pg_bin_dir)" ]; then
        apt_install postgresql
        [ -n "$(pg_bin_dir)" ] || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb"
    fi
}

# Runs a PostgreSQL tool as the cluster's owner: the postgres user when we are root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

owner_name() {
    if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

psql_admin() {
    as_owner "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" \
        -U postgres -d postgres "$@"
}

pg_healthy() {
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d catalog -U pipeline \
        && PGPASSWORD=pipeline PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -At \
            "host=127.0.0.1 port=$PG_PORT user=pipeline dbname=catalog" -c 'select 1' >/dev/null
}

# The postmaster pid when this clone's cluster runs, nothing otherwise.
pg_running_pid() {
    local pid
    pid="$(read_pid "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && pid_is "$pid" "$PG_DATA"; then
        printf '%s\n' "$pid"
    fi
}

# A killed server leaves postmaster.pid and the socket lock behind; postgres then
# refuses to start. Remove them once we know the pid they name is gone.
pg_clear_stale() {
    [ -f "$PG_DATA/postmaster.pid" ] || return 0
    if [ -z "$(pg_running_pid)" ]; then
        log "postgres: removing stale postmaster.pid (pid $(read_pid "$PG_DATA/postmaster.pid" || true) is gone)"
        rm -f "$PG_DATA/postmaster.pid" "$PG_SOCKET_DIR"/.s.PGSQL.*
    fi
}

pg_init() {
    local owner
    owner="$(owner_name)"
    if [ -d "$PG_BASE" ] && [ "$(stat -c %U "$PG_BASE")" != "$owner" ]; then
        die "$PG_BASE exists but belongs to $(stat -c %U "$PG_BASE"), not $owner: remove it"
    fi
    if [ -f "$PG_DATA/PG_VERSION" ]; then
        local have want
        have="$(cat "$PG_DATA/PG_VERSION")"
        want="$(basename "$(dirname "$PG_BIN")")"
        if [ "$have" = "$want" ]; then
            return 0
        fi
        log "postgres: cluster is version $have, binaries are $want: re-creating the throwaway cluster"
    fi
    log "postgres: creating the cluster in $PG_DATA"
    rm -rf "$PG_DATA"
    mkdir -p "$PG_BASE" "$PG_SOCKET_DIR"
    chmod 700 "$PG_BASE"
    chown -R "$owner" "$PG_BASE"
    as_owner "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >"$LOG_DIR/postgres-initdb.log" 2>&1 \
        || { tail -n 20 "$LOG_DIR/postgres-initdb.log" >&2; die "initdb failed (log: $LOG_DIR/postgres-initdb.log)"; }
    # A throwaway cluster: durability buys nothing here, speed does.
    as_owner tee -a "$PG_DATA/postgresql.conf" >/dev/null <<CONF

# vendor-pipeline local stack
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
password_encryption = 'scram-sha-256'
CONF
}

pg_ensure_role_and_db() {
    if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'pipeline'")" != "1" ]; then
        log "postgres: creating role pipeline"
        psql_admin -c "CREATE ROLE pipeline LOGIN PASSWORD 'pipeline'"
    fi
    if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'catalog'")" != "1" ]; then
        log "postgres: creating database catalog"
        psql_admin -c "CREATE DATABASE catalog OWNER pipeline"
    fi
}

pg_start() {
    ensure_dirs
    PG_BIN="$(pg_bin_dir)"
    [ -n "$PG_BIN" ] || die "PostgreSQL binaries not found (run: $0 install)"
    ln -sfn "$PG_LOG" "$LOG_DIR/postgres.log"

    local pid attempt
    pid="$(pg_running_pid)"
    if [ -n "$pid" ] && pg_healthy; then
        log "postgres: already running (pid $pid, port $PG_PORT)"
        echo "$pid" >"$RUN_DIR/postgres.pid"
        return 0
    fi
    if [ -z "$pid" ] && pg_healthy; then
        # Another clone's cluster (or one we did not start) already serves this port
        # with our credentials: reuse it, and leave it to whoever started it.
        log "postgres: 127.0.0.1:$PG_PORT already answers with the pipeline credentials; reusing it"
        rm -f "$RUN_DIR/postgres.pid"
        return 0
    fi
    if [ -z "$pid" ] && tcp_open "$PG_PORT"; then
        die "postgres: port $PG_PORT is taken by something that does not accept the pipeline credentials (set PGPORT_LOCAL to another port)"
    fi
    pg_init
    if [ -z "$pid" ]; then
        pg_clear_stale
        # Right after a crash the old backends may still hold the shared memory for a
        # moment: postgres refuses to start until they are gone, so try again.
        for attempt in 1 2 3; do
            log "postgres: starting on 127.0.0.1:$PG_PORT"
            if as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$HEALTH_TIMEOUT" \
                -o "-c port=$PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_SOCKET_DIR" \
                start >/dev/null; then
                break
            fi
            if [ "$attempt" -eq 3 ]; then
                tail -n 20 "$PG_LOG" >&2 || true
                die "postgres failed to start (log: $PG_LOG)"
            fi
            sleep 2
            pg_clear_stale
        done
    fi
    pid="$(pg_running_pid)"
    echo "$pid" >"$RUN_DIR/postgres.pid"
    wait_healthy_admin
    pg_ensure_role_and_db
    wait_healthy postgres "$pid" "$PG_LOG" pg_healthy
    log "postgres: ready (pid $pid, port $PG_PORT, data $PG_DATA)"
}

wait_healthy_admin() {
    wait_healthy "postgres (socket)" "" "$PG_LOG" psql_admin -tAc 'SELECT 1'
}

pg_stop() {
    PG_BIN="$(pg_bin_dir)"
    if [ -z "$PG_BIN" ] || [ ! -d "$PG_DATA" ]; then
        rm -f "$RUN_DIR/postgres.pid"
        return 0
    fi
    if [ -n "$(pg_running_pid)" ]; then
        log "postgres: stopping"
        as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null \
            || die "pg_ctl stop failed (log: $PG_LOG)"
    fi
    rm -f "$RUN_DIR/postgres.pid"
}

pg_status() {
    PG_BIN="$(pg_bin_dir)"
    if [ -n "$PG_BIN" ] && [ -n "$(pg_running_pid)" ] && pg_healthy; then
        echo "postgres: running (pid $(pg_running_pid), 127.0.0.1:$PG_PORT, data $PG_DATA)"
    else
        echo "postgres: not running"
        return 1
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-start}" in
        install) pg_install ;;
        start) pg_install; pg_start ;;
        stop) pg_stop ;;
        status) pg_status ;;
        *) die "usage: $0 install|start|stop|status" ;;
    esac
fi
