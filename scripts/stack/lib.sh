# Shared settings and helpers of the local stack scripts. Sourced, never run.
# Everything lives under .local/ in the clone, except the PostgreSQL cluster, which
# the postgres user must be able to reach (see postgres.sh).

STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
LOCAL_DIR="$STACK_ROOT/.local"
RUN_DIR="$LOCAL_DIR/run"
LOG_DIR="$LOCAL_DIR/log"
ENV_FILE="$LOCAL_DIR/env"

PG_PORT="${PGPORT_LOCAL:-55432}"
DYNAMODB_PORT="${DYNAMODB_PORT_LOCAL:-8766}"
S3_PORT="${S3_PORT_LOCAL:-5055}"
# Seconds a service may take to answer its health check after a start.
HEALTH_TIMEOUT="${STACK_HEALTH_TIMEOUT:-60}"

# The cluster folder is named after the clone so that two clones never share one.
CLONE_HASH="$(printf '%s' "$STACK_ROOT" | sha256sum | cut -c1-12)"
PG_BASE="${PG_BASE_LOCAL:-/tmp/vendor-pipeline-pg-$CLONE_HASH}"
PG_DATA="$PG_BASE/data"
PG_SOCKET_DIR="$PG_BASE/socket"
PG_LOG="$PG_BASE/server.log"

log()  { printf '[stack] %s\n' "$*" >&2; }
die()  { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }
# Prints "<what> took 1.23 s" given a start time from now_ms.
took() {
    local start="$1" what="$2" end
    end="$(now_ms)"
    log "$(printf '%s took %d.%02d s' "$what" $(((end - start) / 1000)) $((((end - start) % 1000) / 10)))"
}

ensure_dirs() {
    mkdir -p "$RUN_DIR" "$LOG_DIR"
}

# Says early, and plainly, when the disk is nearly full: installs and the cargo build
# that follows would otherwise fail half-way with ENOSPC. A warning, not a refusal:
# the build may still fit.
warn_low_disk() {
    local dir="$1" want_mib="$2" free_mib
    free_mib="$(df -Pm "$dir" 2>/dev/null | awk 'NR == 2 { print $4 }')"
    [ -n "$free_mib" ] || return 0
    if [ "$free_mib" -lt "$want_mib" ]; then
        log "WARNING: only ${free_mib} MiB free under $dir; the services and a cold build need about ${want_mib} MiB (free space, e.g. an old cargo target directory)"
    fi
}

# apt-get update runs at most once per `make up`, and only when something is missing.
APT_UPDATED=""
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install $*"
        sudo="sudo"
    fi
    if [ -z "$APT_UPDATED" ]; then
        log "apt-get update"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed"
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 \
        || die "apt-get install $* failed"
}

# True when a process with this pid exists and its command line contains the pattern
# (a recycled pid belongs to someone else).
pid_is() {
    local pid="$1" pattern="$2"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

read_pid() {
    local file="$1"
    [ -f "$file" ] && head -n1 "$file" | tr -dc '0-9'
}

# Stops the process of a pid file this stack wrote; removes the file either way.
stop_pidfile() {
    local name="$1" pattern="$2" file="$RUN_DIR/$1.pid" pid i
    pid="$(read_pid "$file")"
    if [ -z "$pid" ]; then
        rm -f "$file"
        return 0
    fi
    if pid_is "$pid" "$pattern"; then
        log "stopping $name (pid $pid)"
        kill "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
            pid_is "$pid" "$pattern" || break
            sleep 0.1
        done
        if pid_is "$pid" "$pattern"; then
            log "$name did not stop in 10 s: SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
        fi
    else
        log "$name: pid file names no running process, removing it"
    fi
    rm -f "$file"
}

tcp_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Waits until "$@" succeeds, at most HEALTH_TIMEOUT seconds. Fails early when the pid
# (if given) dies.
wait_healthy() {
    local name="$1" pid="$2" logfile="$3"
    shift 3
    local deadline=$(($(date +%s) + HEALTH_TIMEOUT))
    while ! "$@" >/dev/null 2>&1; do
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            log "$name exited during start-up; last lines of $logfile:"
            tail -n 20 "$logfile" >&2 2>/dev/null || true
            die "$name failed to start (log: $logfile)"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "$name did not answer within ${HEALTH_TIMEOUT} s; last lines of $logfile:"
            tail -n 20 "$logfile" >&2 2>/dev/null || true
            die "$name is not healthy (log: $logfile)"
        fi
        sleep 0.2
    done
}
