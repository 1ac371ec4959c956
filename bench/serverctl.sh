# serverctl.sh — start and stop one server for a test or benchmark script (sourced, not run).
#
# Owns: picking a free loopback port, starting raftkv or a stock redis-server on a temp dir,
# waiting until it answers, and stopping it by the PID it recorded. Happy path:
#   port=$(pickPort) && startServer raftkv "$port" "$dir" && ... && stopServer "$SERVER_PID"
# Failure modes: no free port after 50 tries, or a server that does not answer PING within
# SERVER_READY_SECONDS (default 20) — both return 1 with a message on stderr; a server that
# answers PING but refuses writes (e.g. still electing) is waited for, then reported, not fatal.
# Used by redis-tests/run.sh and bench/bench.sh.
#
# Environment: RAFTKV_BIN (default <repo>/src/raftkv-server), RAFTKV_CONF (config file passed
# first, optional), RAFTKV_ARGS (extra arguments appended, word-split).

SERVERCTL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Prints a port in [lo, hi) on which nothing on 127.0.0.1 accepts connections. The default
# range stays below Linux's ephemeral ports (32768-60999): a port picked there can become some
# outgoing connection's local end before the server binds it (a CI run lost redis-tests so).
pickPort() {
    local lo=${1:-20000} hi=${2:-32000} p i
    for i in $(seq 1 50); do
        p=$((lo + RANDOM % (hi - lo)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    echo "serverctl: no free port found in $lo-$hi" >&2
    return 1
}

# startServer KIND PORT DIR: KIND is raftkv or redis (stock, appendonly + fsync always).
# Sets SERVER_PID; the server logs to DIR/server.log.
startServer() {
    local kind=$1 port=$2 dir=$3 bin
    mkdir -p "$dir"
    case $kind in
    raftkv)
        bin=${RAFTKV_BIN:-$SERVERCTL_ROOT/src/raftkv-server}
        # shellcheck disable=SC2086
        "$bin" ${RAFTKV_CONF:+"$RAFTKV_CONF"} --port "$port" --bind 127.0.0.1 \
            --dir "$dir" --logfile "$dir/server.log" ${RAFTKV_ARGS:-} >"$dir/stdout.log" 2>&1 &
        ;;
    redis)
        redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --logfile "$dir/server.log" \
            --appendonly yes --appendfsync always --save '' --enable-debug-command local \
            >"$dir/stdout.log" 2>&1 &
        ;;
    *)
        echo "serverctl: unknown server kind '$kind'" >&2
        return 1
        ;;
    esac
    SERVER_PID=$!
    waitReady "$port" "$SERVER_PID" && return 0
    tail -n 20 "$dir/stdout.log" "$dir/server.log" >&2 2>/dev/null
    return 1
}

# waitReady PORT PID: PING answered, then one write accepted (a fresh Raft node may still be
# electing itself). Returns 1 if the process died or PING never answered.
waitReady() {
    local port=$1 pid=$2 i limit=$((${SERVER_READY_SECONDS:-20} * 10))
    for ((i = 0; i < limit; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "serverctl: server pid $pid on port $port exited during startup" >&2
            return 1
        fi
        [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
        sleep 0.1
    done
    if ((i == limit)); then
        echo "serverctl: server on port $port did not answer PING" >&2
        return 1
    fi
    for ((; i < limit; i++)); do
        if [ "$(redis-cli -h 127.0.0.1 -p "$port" set __serverctl_ready__ 1 2>/dev/null)" = OK ]; then
            redis-cli -h 127.0.0.1 -p "$port" del __serverctl_ready__ >/dev/null 2>&1
            return 0
        fi
        sleep 0.1
    done
    echo "serverctl: warning: server on port $port answers PING but refuses SET" >&2
    return 0
}

# stopServer PID: SIGTERM, up to 10 s grace, then SIGKILL. Only ever our own child.
stopServer() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
