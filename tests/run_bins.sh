#!/usr/bin/env bash
# Runs test binaries one after another; each prints "N passed, N failed" last.
# Prints the suite's total the same way and fails if any binary failed.
set -u
suite=$1; shift
passed=0; failed=0; broken=0
for bin in "$@"; do
    echo "== $suite: $bin"
    out=$("$bin" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -v '^ok ' || true
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        echo "$bin: no result line (exit $rc)"; broken=$((broken + 1)); continue
    fi
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    passed=$((passed + p)); failed=$((failed + f))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && broken=$((broken + 1))
done
echo "$suite: $passed passed, $((failed + broken)) failed"
[ $((failed + broken)) -eq 0 ]
