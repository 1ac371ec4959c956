#!/usr/bin/env bash
# Run a libFuzzer binary on a copy of its seed corpus for a bounded time.
#
#   bash tests/fuzz/run.sh BIN SECONDS
#
# The corpus is tests/fuzz/corpus/<name> where BIN is tests/fuzz/fuzz_<name>;
# it is copied so a run never changes the committed seeds. A crash (or leak,
# timeout, sanitizer report) makes the script exit non-zero and keeps the
# crashing input under tests/fuzz/crashes/ to replay with `BIN FILE`.
# The last line is "fuzz: N passed, N failed".
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 BIN SECONDS" >&2
    exit 2
fi
bin=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$bin")
name=${name#fuzz_}
seeds="$here/corpus/$name"
crashes="$here/crashes"

if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is not built" >&2
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$crashes"
if [ -d "$seeds" ]; then
    cp "$seeds"/* "$work/corpus/" 2>/dev/null
fi

echo "fuzz: $bin for ${seconds}s on $(ls "$work/corpus" | wc -l) seeds"
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$crashes/${name}-" \
    "$work/corpus" > "$work/log" 2>&1
rc=$?
tail -n 25 "$work/log"

if [ $rc -ne 0 ]; then
    echo "fuzz: $bin exited with $rc; crashing inputs (if any) are in $crashes"
    ls -1 "$crashes" 2>/dev/null | sed 's/^/  /'
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi
echo "fuzz: 1 passed, 0 failed"
