#!/usr/bin/env bash
# S3 from moto server (PyPI moto[server]) in a project-local virtualenv, on
# 127.0.0.1:$S3_PORT. Usage: moto.sh install|start|stop|status
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV_DIR="$LOCAL_DIR/venv"
MOTO_PID_FILE="$RUN_DIR/moto.pid"
MOTO_LOG="$LOG_DIR/moto.log"

moto_install() {
    if [ ! -x "$VENV_DIR/bin/moto_server" ]; then
        local python
        python="$(command -v python3 || true)"
        [ -n "$python" ] || die "python3 not found"
        if [ ! -x "$VENV_DIR/bin/pip" ]; then
            log "moto: creating the virtualenv $VENV_DIR"
            rm -rf "$VENV_DIR"
            "$python" -m venv "$VENV_DIR" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
        fi
        log "moto: pip install moto[server]"
        "$VENV_DIR/bin/pip" install -q --disable-pip-version-check --no-cache-dir 'moto[server]' >&2 \
            || die "pip install moto[server] failed"
    fi
}

moto_healthy() {
    curl -s -o /dev/null --max-time 3 "http://127.0.0.1:$S3_PORT/"
}

moto_start() {
    ensure_dirs
    local pid
    pid="$(read_pid "$MOTO_PID_FILE" || true)"
    if [ -n "$pid" ] && pid_is "$pid" moto_server; then
        wait_healthy moto "$pid" "$MOTO_LOG" moto_healthy
        log "moto: already running (pid $pid, port $S3_PORT)"
        return 0
    fi
    if [ -n "$pid" ]; then
        log "moto: pid file names a dead process ($pid): restarting"
        rm -f "$MOTO_PID_FILE"
    fi
    if moto_healthy; then
        log "moto: something this stack did not start answers on port $S3_PORT: reusing it"
        return 0
    fi
    log "moto: starting on 127.0.0.1:$S3_PORT"
    setsid nohup "$VENV_DIR/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$MOTO_LOG" 2>&1 </dev/null &
    echo $! >"$MOTO_PID_FILE"
    pid="$(read_pid "$MOTO_PID_FILE")"
    wait_healthy moto "$pid" "$MOTO_LOG" moto_healthy
    log "moto: ready (pid $pid, port $S3_PORT)"
}

moto_stop() {
    stop_pidfile moto moto_server
}

moto_status() {
    if moto_healthy; then
        echo "moto: running (pid $(read_pid "$MOTO_PID_FILE" || echo 'not ours'), 127.0.0.1:$S3_PORT)"
    else
        echo "moto: not running"
        return 1
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-start}" in
        install) moto_install ;;
        start) moto_install; moto_start ;;
        stop) moto_stop ;;
        status) moto_status ;;
        *) die "usage: $0 install|start|stop|status" ;;
    esac
fi
