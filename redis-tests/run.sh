#!/usr/bin/env bash
# run.sh — run Redis 7.0's own Tcl test units against raftkv and compare with expectations.
#
# Owns: fetching Redis's test suite (Debian source package, cached in redis-tests/.cache/, never
# committed), starting one server, running each unit as its own tclsh process in external-server
# mode, parsing [ok]/[err]/[ignore]/[skip]/[exception] lines, and checking that every test named in
# redis-tests/expected/<unit>.passed still passes. Happy path: fetch (once) -> start server ->
# per unit: run, parse -> stop server -> per-unit counts, regressions, newly passing tests ->
# "redis-tests: N passed, N failed" (failed = expected-passing tests that did not pass).
# Failure modes: a unit that dies (harness exception, timeout, server crash) is recorded and the
# next unit still runs (the server is restarted if it died); tests it never reached count as not
# passed. Exit 1 on any regression or if setup (fetch, server start) fails.
#
# Usage: redis-tests/run.sh [--update]
#   --update            rewrite expected/*.passed from this run (raftkv target only)
#   RAFTKV_TARGET=redis run against a stock redis-server (appendonly, fsync always) instead
#   REDIS_TEST_UNITS    space-separated units (default: the four below)
#   REDIS_TEST_TIMEOUT  seconds per unit (default 360: four units fit make test's 1500 s)
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../bench/serverctl.sh
. "$HERE/../bench/serverctl.sh"

CACHE=$HERE/.cache
EXPECTED=$HERE/expected
TARGET=${RAFTKV_TARGET:-raftkv}
UNITS=${REDIS_TEST_UNITS:-unit/type/string unit/type/incr unit/keyspace unit/expire}
UNIT_TIMEOUT=${REDIS_TEST_TIMEOUT:-360}
UPDATE=0
export LC_ALL=C

for arg in "$@"; do
    case $arg in
    --update) UPDATE=1 ;;
    *) echo "usage: $0 [--update]" >&2; exit 2 ;;
    esac
done
if [ "$UPDATE" = 1 ] && [ "$TARGET" != raftkv ]; then
    echo "redis-tests: --update only records raftkv's results (RAFTKV_TARGET=$TARGET)" >&2
    exit 2
fi

# Debian 12 ships deb822 sources without deb-src; add it (root only) so apt-get source works.
enableDebSrc() {
    local f=/etc/apt/sources.list.d/debian.sources
    if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return 0
    fi
    if [ ! -w "$f" ]; then
        echo "redis-tests: no deb-src entry and cannot edit $f; enable source packages first" >&2
        return 1
    fi
    sed -i 's/^Types: deb$/Types: deb deb-src/' "$f" && apt-get update -qq
}

# Prints the directory of the unpacked Redis source, fetching it into the cache if needed.
fetchSuite() {
    local dir
    dir=$(ls -d "$CACHE"/redis-7.0.*/ 2>/dev/null | head -n 1)
    if [ -n "$dir" ] && [ -f "$dir/tests/test_helper.tcl" ]; then
        echo "${dir%/}"
        return 0
    fi
    command -v dpkg-source >/dev/null || { echo "redis-tests: dpkg-dev is required" >&2; return 1; }
    command -v tclsh >/dev/null || { echo "redis-tests: tcl is required" >&2; return 1; }
    enableDebSrc || return 1
    mkdir -p "$CACHE/src"
    # a deb-src entry without fetched Sources lists fails once: refresh and retry
    echo "redis-tests: fetching Redis's test suite (apt-get source redis) into $CACHE" >&2
    (cd "$CACHE/src" && { apt-get source -qq redis || { apt-get update -qq && apt-get source -qq redis; }; }) \
        >"$CACHE/fetch.log" 2>&1 || {
        cat "$CACHE/fetch.log" >&2
        echo "redis-tests: apt-get source redis failed" >&2
        return 1
    }
    dir=$(ls -d "$CACHE"/src/redis-7.0.*/ 2>/dev/null | head -n 1)
    if [ -z "$dir" ] || [ ! -f "$dir/tests/test_helper.tcl" ]; then
        echo "redis-tests: the source package is not Redis 7.0 ($(ls "$CACHE/src"))" >&2
        return 1
    fi
    mv "${dir%/}" "$CACHE/" && rm -rf "$CACHE/src"
    case $dir in */redis-7.0.15/) ;; *) echo "redis-tests: warning: suite is $(basename "$dir"), not 7.0.15" >&2 ;; esac
    ls -d "$CACHE"/redis-7.0.*
}

SUITE=$(fetchSuite) || exit 1
LOGS=$CACHE/logs/$TARGET
rm -rf "$LOGS"
mkdir -p "$LOGS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/raftkv-redis-tests.XXXXXX")
SERVER_PID=
trap 'stopServer "$SERVER_PID"; rm -rf "$WORK"' EXIT

serverUp() {
    PORT=$(pickPort) || return 1
    SERVER_DIR=$WORK/server.$PORT
    startServer "$TARGET" "$PORT" "$SERVER_DIR"
}
serverUp || { echo "redis-tests: cannot start $TARGET"; echo "redis-tests: 0 passed, 1 failed"; exit 1; }

# parseUnit LOG NAME: writes NAME.passed / .failed / .ignored (sorted test names, one per
# occurrence), NAME.failures (name<TAB>message) and NAME.status (complete | aborted: reason).
parseUnit() {
    local log=$1 out=$2 rc=$3
    sed -n 's/^\[ok\]: \(.*\) ([0-9]* ms)$/\1/p' "$log" | sort >"$out.passed"
    {
        sed -n 's/^\[err\]: \(.*\) in tests\/[^ ]*\.tcl$/\1/p' "$log"
        # an error outside any test loses the rest of its start_server block
        sed -n '/^\[err\]: .* in tests\/[^ ]*\.tcl$/!s/^\[err\]: \(.*\)/(block aborted) \1/p' "$log"
    } | sort >"$out.failed"
    sed -n 's/^\[\(ignore\|skip\)\]: //p' "$log" | sort >"$out.ignored"
    # name, tab, the first line of the harness's message (for the README's failure table)
    awk '/^\[err\]: / { n = substr($0, 8); sub(/ in tests\/[^ ]*\.tcl$/, "", n); getline m;
                         print n "\t" substr(m, 1, 200) }' "$log" >"$out.failures"
    if [ "$rc" = 124 ]; then
        echo "aborted: killed after ${UNIT_TIMEOUT}s" >"$out.status"
    elif grep -q '^\[TIMEOUT\]' "$log"; then
        echo "aborted: harness timeout (no progress for 120s)" >"$out.status"
    elif grep -q '^\[exception\]' "$log"; then
        echo "aborted: $(grep -m1 '^\[exception\]' "$log" | cut -c1-160)" >"$out.status"
    elif grep -q '^\[1/1 done\]' "$log"; then
        echo complete >"$out.status"
    else
        echo "aborted: harness exit $rc" >"$out.status"
    fi
}

total_passed=0
total_failed=0
for unit in $UNITS; do
    name=$(echo "${unit#unit/}" | tr / _)
    log=$LOGS/$name.log
    baseport=$(pickPort 20100 29900) || baseport=21111
    (cd "$SUITE" && TERM=dumb timeout "$UNIT_TIMEOUT" tclsh tests/test_helper.tcl \
        --host 127.0.0.1 --port "$PORT" --baseport "$baseport" --singledb --durable \
        --timeout 120 --single "$unit") >"$log" 2>&1
    rc=$?
    parseUnit "$log" "$LOGS/$name" "$rc"
    status=$(cat "$LOGS/$name.status")
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        status="$status; server died (log kept in $LOGS/$name.server.log)"
        cp "$SERVER_DIR/server.log" "$LOGS/$name.server.log" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        serverUp || { echo "redis-tests: cannot restart $TARGET"; status="$status; no restart"; }
    fi

    if [ -f "$EXPECTED/$name.passed" ]; then sort "$EXPECTED/$name.passed"; fi >"$LOGS/$name.expected"
    comm -23 "$LOGS/$name.expected" "$LOGS/$name.passed" >"$LOGS/$name.regressed"
    comm -13 "$LOGS/$name.expected" "$LOGS/$name.passed" >"$LOGS/$name.new"
    np=$(wc -l <"$LOGS/$name.passed")
    nf=$(wc -l <"$LOGS/$name.failed")
    ni=$(wc -l <"$LOGS/$name.ignored")
    nr=$(wc -l <"$LOGS/$name.regressed")
    nn=$(wc -l <"$LOGS/$name.new")
    printf '%-18s %4d passed %4d failed %4d skipped | expected %4d: %d regressed, %d newly passing | %s\n' \
        "$unit" "$np" "$nf" "$ni" "$(wc -l <"$LOGS/$name.expected")" "$nr" "$nn" "$status"
    sed 's/^/    REGRESSED: /' "$LOGS/$name.regressed"
    if [ "$UPDATE" = 0 ] && [ "$TARGET" = raftkv ]; then
        head -n 20 "$LOGS/$name.new" | sed 's/^/    newly passing: /'
        [ "$nn" -le 20 ] || echo "    ... $((nn - 20)) more newly passing in $LOGS/$name.new"
    fi
    if [ "$UPDATE" = 1 ]; then mkdir -p "$EXPECTED" && cp "$LOGS/$name.passed" "$EXPECTED/$name.passed"; fi
    total_passed=$((total_passed + np))
    total_failed=$((total_failed + nr))
done

echo "logs: $LOGS (<unit>.failures: failed test and message; <unit>.log: harness output)"
[ "$UPDATE" = 1 ] && echo "expectations rewritten in $EXPECTED"
echo "redis-tests: $total_passed passed, $total_failed failed"
[ "$total_failed" = 0 ]
