# cluster.sh — the three-node rows of make bench (sourced by bench.sh, after serverctl.sh).
#
# Owns: a three-node raftkv cluster on 127.0.0.1 (three free ports, one temp dir each), finding
# its leader, and the failover measurement. Happy path: startCluster -> benchPair cluster
# <leader port> <redis port> -> failoverBench (5 x: kill -9 the leader, time until a remaining
# node accepts a SET, restart the killed node, wait until it caught up) -> stopCluster.
# Failure modes: a cluster with no leader within 20 s returns 1 (the caller reports it); a
# failover round with no new leader within FAILOVER_LIMIT_MS counts as that limit.
# Every node is started and stopped by the PID recorded here.

CLUSTER_PORTS=()
CLUSTER_PIDS=()
CLUSTER_DIR=
CLUSTER_ARGS=()
ELECTION_MS=${BENCH_ELECTION_MS:-1000}

startNode() {
    local i=$1 bin=${RAFTKV_BIN:-$SERVERCTL_ROOT/src/raftkv-server}
    "$bin" --port "${CLUSTER_PORTS[$i]}" --bind 127.0.0.1 --dir "$CLUSTER_DIR/n$i" \
        --logfile "$CLUSTER_DIR/n$i.log" --node-id $((i + 1)) "${CLUSTER_ARGS[@]}" \
        >>"$CLUSTER_DIR/n$i.stdout" 2>&1 &
    CLUSTER_PIDS[$i]=$!
}

startCluster() {
    local i members=""
    CLUSTER_DIR=$1
    for i in 0 1 2; do
        CLUSTER_PORTS[$i]=$(pickPort) || return 1
        members+="${members:+,}$((i + 1))@127.0.0.1:${CLUSTER_PORTS[$i]}"
        mkdir -p "$CLUSTER_DIR/n$i"
    done
    CLUSTER_ARGS=(--cluster-members "$members" --cluster-id bench --cluster-secret bench-secret
        --election-timeout-ms "$ELECTION_MS" --heartbeat-ms $((ELECTION_MS / 10)))
    for i in 0 1 2; do startNode "$i"; done
    for i in $(seq 1 200); do
        clusterLeader >/dev/null && return 0
        sleep 0.1
    done
    echo "bench: the three-node cluster elected no leader (logs in $CLUSTER_DIR)" >&2
    return 1
}

stopCluster() {
    local pid
    for pid in "${CLUSTER_PIDS[@]}"; do stopServer "$pid"; done
    CLUSTER_PIDS=()
}

# clusterLeader: prints the index (0-2) of the node that says it leads; 1 if none.
clusterLeader() {
    local i
    for i in 0 1 2; do
        if redis-cli -p "${CLUSTER_PORTS[$i]}" INFO raft 2>/dev/null | grep -q '^raft_role:leader'; then
            echo "$i"
            return 0
        fi
    done
    return 1
}

appliedIndex() {
    redis-cli -p "$1" INFO raft 2>/dev/null | tr -d '\r' | sed -n 's/^raft_applied_index://p'
}

# failoverBench: median of 5 rounds of kill -9 of the leader -> first SET accepted elsewhere.
failoverBench() {
    local round leader start now i ms times=() limit=${FAILOVER_LIMIT_MS:-$((ELECTION_MS * 10))} done_
    for round in 1 2 3 4 5; do
        leader=$(clusterLeader) || { echo "bench: failover round $round: no leader" >&2; return 1; }
        redis-cli -p "${CLUSTER_PORTS[$leader]}" SET failover:before "$round" >/dev/null
        start=$(date +%s%N)
        kill -KILL "${CLUSTER_PIDS[$leader]}"
        wait "${CLUSTER_PIDS[$leader]}" 2>/dev/null
        done_=0
        while [ "$done_" = 0 ]; do
            for i in 0 1 2; do
                [ "$i" = "$leader" ] && continue
                if [ "$(redis-cli -p "${CLUSTER_PORTS[$i]}" SET failover:round "$round" 2>/dev/null)" = OK ]; then
                    done_=1
                    break
                fi
            done
            now=$(date +%s%N)
            ms=$(((now - start) / 1000000))
            [ "$ms" -ge "$limit" ] && done_=1
            [ "$done_" = 1 ] || sleep 0.01
        done
        times+=("$ms")
        echo "bench: failover round $round: leader node $((leader + 1)) killed, a new leader took a write after ${ms} ms"
        startNode "$leader"
        # Let the restarted node catch up before the next round kills someone else.
        for i in $(seq 1 100); do
            local l a b
            l=$(clusterLeader) || { sleep 0.1; continue; }
            a=$(appliedIndex "${CLUSTER_PORTS[$l]}")
            b=$(appliedIndex "${CLUSTER_PORTS[$leader]}")
            [ -n "$a" ] && [ "$a" = "$b" ] && break
            sleep 0.1
        done
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
    local verdict=ok
    [ "$median" -le $((2 * ELECTION_MS)) ] || { verdict=BELOW; BELOW=$((BELOW + 1)); }
    printf 'failover: kill -9 of the leader -> first write accepted, median of 5: %s ms (rounds: %s); target <= %s ms (2x election timeout) %s\n' \
        "$median" "${times[*]}" $((2 * ELECTION_MS)) "$verdict"
}
