# snapshot.sh — the snapshot rows of make bench (sourced by bench.sh, after cluster.sh).
#
# Owns: a fresh three-node cluster (startCluster) loaded with incompressible data, the
# snapshot-during-load row, the catch-up row, and a fourth node (node id 4, started with
# --cluster-join, its PID kept in CLUSTER_PIDS[3] so stopCluster stops it too).
# Happy path: startCluster -> preload BENCH_SNAPSHOT_PRELOAD_MB (snapshots on) -> BENCH_ROUNDS x
# (snapshots off, snapshots on; the order alternates) `redis-benchmark -t set -P 16 -c 50 -d 16 -r 100000 --csv`
# against the leader -> row: best ops/s, worst p99 and max latency per mode, on/off ratio
# (target >= 0.8x) and the snapshots the nodes took during the "on" runs -> load up to
# BENCH_SNAPSHOT_GB -> wait until the leader's snapshot covers it and its log is compacted ->
# RAFT.NODE ADD 4 -> start node 4 empty -> time until it applied the leader's index at add
# time and is a voter -> row: seconds, MB/s, whether a snapshot was installed -> stopCluster.
# "Off" sets snapshot-threshold-entries to 10^12 on every node; "on" sets it and
# snapshot-trailing-entries to BENCH_SNAPSHOT_THRESHOLD entries (one log entry = one event-loop
# iteration's commands, a few hundred SETs at -P 16 -c 50), so the nodes snapshot continuously
# and each snapshot compacts the log. The catch-up lowers the trailing entries to
# BENCH_SNAPSHOT_TRAILING so that node 4 cannot catch up from the log alone. The data are SETs
# of random base64 values (redis-benchmark's own values are all "x", which LZ4 shrinks to nothing on disk); the
# row prints the values' size and the leader's raft_snapshot_bytes (the snapshot sent).
# Failure modes: no leader -> both rows say so (2 BELOW); a redis-benchmark run that fails or
# exceeds BENCH_TIMEOUT counts 0 ops/s; a snapshot that does not cover the data within
# BENCH_SNAPSHOT_WAIT s is reported and the catch-up still measured; node 4 not caught up within
# BENCH_CATCHUP_TIMEOUT s prints "not caught up" (BELOW). Every wait is bounded.
#
# Environment: BENCH_SNAPSHOT_N (requests per run, default 300000), BENCH_SNAPSHOT_PRELOAD_MB
# (256), BENCH_SNAPSHOT_GB (catch-up data set in GB, may be fractional, default 1), BENCH_SNAPSHOT_VALUE (value bytes of
# the loaded data, default 4096), BENCH_SNAPSHOT_THRESHOLD (entries, "on" runs and the catch-up,
# default 100), BENCH_SNAPSHOT_TRAILING (snapshot-trailing-entries for the catch-up, default 10),
# BENCH_SNAPSHOT_WAIT (120), BENCH_CATCHUP_TIMEOUT (300), BENCH_ROUNDS, BENCH_TIMEOUT.

SNAP_N=${BENCH_SNAPSHOT_N:-300000}
SNAP_VALUE=${BENCH_SNAPSHOT_VALUE:-4096}
SNAP_THRESHOLD=${BENCH_SNAPSHOT_THRESHOLD:-100}
SNAP_OFF=1000000000000

# raftField PORT FIELD: one INFO raft field's value (empty when the node does not answer).
raftField() {
    redis-cli -p "$1" INFO raft 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}

# sumField FIELD: FIELD summed over the three nodes.
sumField() {
    local i s=0 v
    for i in 0 1 2; do
        v=$(raftField "${CLUSTER_PORTS[$i]}" "$1")
        s=$((s + ${v:-0}))
    done
    echo "$s"
}

# setAll OPTION VALUE: CONFIG SET on the three nodes.
setAll() {
    local i
    for i in 0 1 2; do
        redis-cli -p "${CLUSTER_PORTS[$i]}" CONFIG SET "$1" "$2" >/dev/null
    done
}

# snapMode on|off: the snapshot options of the "on" or "off" runs, on the three nodes. "On"
# keeps as many entries as the threshold behind a snapshot, so each one compacts the log.
snapMode() {
    if [ "$1" = on ]; then
        setAll snapshot-trailing-entries "$SNAP_THRESHOLD"
        setAll snapshot-threshold-entries "$SNAP_THRESHOLD"
    else
        setAll snapshot-threshold-entries "$SNAP_OFF"
    fi
}

# waitSnapshotsIdle: until no node is taking a snapshot (at most 60 s).
waitSnapshotsIdle() {
    local deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)); do
        [ "$(sumField raft_snapshot_in_progress)" = 0 ] && return 0
        sleep 0.1
    done
    echo "bench: a snapshot was still in progress after 60 s" >&2
    return 1
}

# loadData PORT MB: about MB megabytes of SETs of one random BENCH_SNAPSHOT_VALUE-byte base64
# value under random keys (at least one block of the store per value, so nothing compresses).
loadData() {
    local port=$1 mb=$2 value n
    value=$(head -c $((SNAP_VALUE * 3 / 4 + 3)) /dev/urandom | base64 -w0 | head -c "$SNAP_VALUE")
    n=$((mb * 1048576 / SNAP_VALUE))
    timeout "${BENCH_LOAD_TIMEOUT:-1200}" redis-benchmark -h 127.0.0.1 -p "$port" -n "$n" \
        -r 1000000000 -c 50 -P 16 -q SET snap:__rand_int__ "$value" >/dev/null 2>&1
}

# snapRun PORT OUT: one load run; OUT gets "rps p99 max" (zeros when the run failed).
snapRun() {
    timeout "$BENCH_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$1" -t set -n "$SNAP_N" -r 100000 \
        -c 50 -d 16 -P 16 --csv -q 2>/dev/null | tr -d '"' |
        awk -F, '$1 == "SET" { print $2, $7, $8; ok = 1 } END { if (!ok) print 0, 0, 0 }' >"$2"
}

# snapshotLoadRow LEADER_PORT: the snapshot-during-load row.
snapshotLoadRow() {
    local port=$1 round mode before after taken=0 leader_taken=0 lb off on ratio verdict
    for ((round = 1; round <= ROUNDS; round++)); do
        for mode in $( ((round % 2)) && echo "off on" || echo "on off"); do
            waitSnapshotsIdle
            snapMode "$mode"
            before=$(sumField raft_snapshots_taken)
            lb=$(raftField "$port" raft_snapshots_taken)
            snapRun "$port" "$WORK/snap.$mode.$round"
            after=$(sumField raft_snapshots_taken)
            if [ "$mode" = on ]; then
                taken=$((taken + after - before))
                leader_taken=$((leader_taken + $(raftField "$port" raft_snapshots_taken) - lb))
            elif [ "$after" != "$before" ]; then
                echo "bench: $((after - before)) snapshot(s) finished during an \"off\" run" >&2
            fi
        done
    done
    snapMode off
    # Best ops/s, worst p99 and max latency over the rounds, per mode.
    off=$(awk '$1 > r { r = $1 } $2 > p { p = $2 } $3 > m { m = $3 } END { print r + 0, p + 0, m + 0 }' "$WORK"/snap.off.*)
    on=$(awk '$1 > r { r = $1 } $2 > p { p = $2 } $3 > m { m = $3 } END { print r + 0, p + 0, m + 0 }' "$WORK"/snap.on.*)
    ratio=$(awk -v a="${on%% *}" -v b="${off%% *}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    verdict=$(awk -v r="$ratio" 'BEGIN { print (r + 0 >= 0.8 ? "ok" : "BELOW") }')
    [ "$taken" -gt 0 ] || verdict=BELOW
    [ "$verdict" = ok ] || BELOW=$((BELOW + 1))
    echo "snapshot during load: redis-benchmark -t set -P 16 -c 50 -d 16 -r 100000 -n $SNAP_N on the leader," \
        "best ops/s / worst p99 / worst max of $ROUNDS round(s), over $(raftField "$port" raft_snapshot_bytes) bytes of snapshot"
    printf '  snapshots off: %10s ops/s  p99 %8s ms  max %8s ms\n' $off
    printf '  snapshots on:  %10s ops/s  p99 %8s ms  max %8s ms  (threshold %s entries)\n' $on "$SNAP_THRESHOLD"
    if [ "$taken" -gt 0 ]; then
        printf '  on/off %sx, target >= 0.8x %s; %s snapshot(s) taken during the "on" runs (leader %s)\n' \
            "$ratio" "$verdict" "$taken" "$leader_taken"
    else
        printf '  on/off %sx; NO snapshot was taken during the "on" runs: the row measures nothing %s\n' \
            "$ratio" "$verdict"
    fi
}

# catchUpRow LEADER_INDEX: load up to BENCH_SNAPSHOT_GB, compact, add node 4, time its catch-up.
catchUpRow() {
    local l=$1 port=${CLUSTER_PORTS[$1]} gb=${BENCH_SNAPSHOT_GB:-1} applied target bytes sent0 sent
    local start now secs role idx how mb deadline loaded total
    snapMode on
    total=$(awk -v g="$gb" 'BEGIN { printf "%d", g * 1024 }') # BENCH_SNAPSHOT_GB may be fractional
    mb=$((total - ${BENCH_SNAPSHOT_PRELOAD_MB:-256}))
    loaded=${BENCH_SNAPSHOT_PRELOAD_MB:-256}
    [ "$mb" -gt 0 ] && loadData "$port" "$mb" && loaded=$total
    setAll snapshot-trailing-entries "${BENCH_SNAPSHOT_TRAILING:-10}"
    applied=$(raftField "$port" raft_applied_index)
    # One more batch of writes so that a snapshot past the load's last entry is due.
    timeout "$BENCH_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$port" -t set -n $((SNAP_THRESHOLD * 800)) \
        -r 100000 -c 50 -d 16 -P 16 -q >/dev/null 2>&1
    deadline=$((SECONDS + ${BENCH_SNAPSHOT_WAIT:-120}))
    while ((SECONDS < deadline)); do
        idx=$(raftField "$port" raft_snapshot_index)
        [ "${idx:-0}" -ge "$applied" ] && [ "$(raftField "$port" raft_snapshot_in_progress)" = 0 ] &&
            [ "$(raftField "$port" raft_first_index)" -gt 1 ] && break
        sleep 0.1
    done
    bytes=$(raftField "$port" raft_snapshot_bytes)
    echo "catch-up: $loaded MB of values loaded; the leader's snapshot is at index" \
        "$(raftField "$port" raft_snapshot_index) (the load ended at $applied), ${bytes:-0} bytes;" \
        "its log starts at index $(raftField "$port" raft_first_index)"
    CLUSTER_PORTS[3]=$(pickPort) || return 1
    mkdir -p "$CLUSTER_DIR/n3"
    if [ "$(redis-cli -p "$port" RAFT.NODE ADD 4 "127.0.0.1:${CLUSTER_PORTS[3]}")" != OK ]; then
        echo "catch-up: RAFT.NODE ADD 4 refused by the leader BELOW"
        BELOW=$((BELOW + 1))
        return 1
    fi
    target=$(raftField "$port" raft_applied_index)
    sent0=$(raftField "$port" raft_snapshot_bytes_sent)
    start=$(date +%s%N)
    "${RAFTKV_BIN:-$SERVERCTL_ROOT/src/raftkv-server}" --port "${CLUSTER_PORTS[3]}" --bind 127.0.0.1 \
        --dir "$CLUSTER_DIR/n3" --logfile "$CLUSTER_DIR/n3.log" --node-id 4 \
        --cluster-join "127.0.0.1:$port" --cluster-id bench --cluster-secret bench-secret \
        --election-timeout-ms "$ELECTION_MS" --heartbeat-ms $((ELECTION_MS / 10)) \
        >>"$CLUSTER_DIR/n3.stdout" 2>&1 &
    CLUSTER_PIDS[3]=$!
    secs=
    deadline=$((SECONDS + ${BENCH_CATCHUP_TIMEOUT:-300}))
    while ((SECONDS < deadline)); do
        kill -0 "${CLUSTER_PIDS[3]}" 2>/dev/null || break
        idx=$(raftField "${CLUSTER_PORTS[3]}" raft_applied_index)
        role=$(raftField "${CLUSTER_PORTS[3]}" raft_role)
        if [ "${idx:-0}" -ge "$target" ] && [ "$role" = follower ]; then
            now=$(date +%s%N)
            secs=$(awk -v ns=$((now - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
            break
        fi
        sleep 0.1
    done
    sent=$(($(raftField "$port" raft_snapshot_bytes_sent) - sent0))
    if grep -q "Snapshot: installed index" "$CLUSTER_DIR/n3.log" 2>/dev/null; then
        how="by snapshot ($sent bytes sent)"
    else
        how="from the log, NOT by snapshot"
    fi
    if [ -n "$secs" ]; then
        printf 'catch-up: new empty node 4 applied index %s and is a voter after %s s: %s MB/s of values, %s MB/s of snapshot, %s\n' \
            "$target" "$secs" "$(awk -v m="$loaded" -v s="$secs" 'BEGIN { printf "%.1f", m / (s > 0 ? s : 1) }')" \
            "$(awk -v b="${bytes:-0}" -v s="$secs" 'BEGIN { printf "%.1f", b / 1048576 / (s > 0 ? s : 1) }')" "$how"
    else
        BELOW=$((BELOW + 1))
        printf 'catch-up: new node 4 not caught up to index %s (applied %s, role %s) within %s s, %s BELOW\n' \
            "$target" "${idx:-?}" "${role:-?}" "${BENCH_CATCHUP_TIMEOUT:-300}" "$how"
    fi
}

# snapshotBench DIR: both rows on a fresh cluster under DIR; stops it afterwards.
snapshotBench() {
    local l
    if ! startCluster "$1"; then
        echo "snapshot rows: the cluster elected no leader BELOW BELOW"
        BELOW=$((BELOW + 2))
        return 1
    fi
    l=$(clusterLeader)
    snapMode on
    loadData "${CLUSTER_PORTS[$l]}" "${BENCH_SNAPSHOT_PRELOAD_MB:-256}"
    snapshotLoadRow "${CLUSTER_PORTS[$l]}"
    l=$(clusterLeader) || l=0
    catchUpRow "$l"
    for l in 0 1 2 3; do
        [ -f "$1/n$l.log" ] || continue
        grep -q "Snapshot: .*fail" "$1/n$l.log" &&
            echo "bench: node $((l + 1)) logged $(grep -c "Snapshot: .*fail" "$1/n$l.log") snapshot failure(s), first:" \
                "$(grep -m1 "Snapshot: .*fail" "$1/n$l.log")" >&2
    done
    stopCluster
}
