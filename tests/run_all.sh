#!/usr/bin/env bash
# make test: every suite in turn, each bounded in time. Prints each suite's
# result and, last, the total as "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
total_p=0; total_f=0; failed_suites=()

# run NAME TIMEOUT CMD...: runs CMD, reads its "N passed, N failed" line (or
# pytest's summary) and adds it to the totals.
run() {
    local name=$1 limit=$2; shift 2
    local log; log=$(mktemp)
    echo "=================== $name"
    timeout --kill-after=30 "$limit" "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    local p f line
    line=$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(sed -E 's/.*(^|: |[^0-9])([0-9]+) passed.*/\2/' <<<"$line")
        f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    else
        # pytest: "== 12 passed, 1 failed, 2 skipped in 3.1s =="
        line=$(grep -E '[0-9]+ (passed|failed)' "$log" | grep -E ' in [0-9.]+s' | tail -n 1)
        p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
        f=$(( $(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0) + \
              $(grep -oE '[0-9]+ errors?' <<<"$line" | grep -oE '[0-9]+' || echo 0) ))
    fi
    p=${p:-0}; f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    total_p=$((total_p + p)); total_f=$((total_f + f))
    [ "$f" -ne 0 ] && failed_suites+=("$name")
    rm -f "$log"
}

run unit 300 make -s unit-test
run raft 300 make -s raft-test
run sim 600 make -s sim-test
run blackbox 900 make -s blackbox
run cluster 900 make -s cluster-test
run docker 1200 make -s docker-test
run redis-tests 1500 make -s redis-tests
run fuzz 120 make -s fuzz-short
run bench-smoke 300 bash bench/bench.sh --smoke

echo "==================="
[ ${#failed_suites[@]} -gt 0 ] && echo "failing suites: ${failed_suites[*]}"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
