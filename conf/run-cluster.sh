#!/usr/bin/env bash
# Starts the three-node local cluster of conf/node{1,2,3}.conf (client ports
# 7001-7003, data under ./data/nodeN), prints which node leads, and stops all
# three on Ctrl-C (or when any of them exits).
set -u
cd "$(dirname "$0")/.."
SERVER=src/raftkv-server
mkdir -p data
pids=()
stop() {
    trap - INT TERM EXIT
    echo "stopping the cluster"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap stop INT TERM EXIT
for i in 1 2 3; do
    mkdir -p "data/node$i"
    "$SERVER" "conf/node$i.conf" &
    pids+=($!)
done
leader=""
for _ in $(seq 1 100); do
    for i in 1 2 3; do
        role=$(redis-cli -p "700$i" INFO raft 2>/dev/null | tr -d '\r' | sed -n 's/^raft_role://p')
        [ "$role" = leader ] && leader=$i
    done
    [ -n "$leader" ] && break
    sleep 0.1
done
if [ -n "$leader" ]; then
    echo "cluster up: node $leader leads (127.0.0.1:700$leader); logs in data/nodeN.log"
    echo "try: redis-cli -c -p 7002 SET k v"
else
    echo "no leader elected yet; see data/node*.log"
fi
wait -n "${pids[@]}"
