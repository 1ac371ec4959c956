#!/usr/bin/env bash
# Docker tests: the image (self-contained Dockerfile and the prebuilt path)
# and the docker-compose three-node cluster, with real containers.
#
#   bash tests/docker/run.sh        (needs src/raftkv-server built: make)
#
# Without a Docker engine it prints "docker: skipped (no engine)" and a zero
# count. Each run uses its own compose project name (raftkvtest<pid>...) and
# removes every container, network and volume of that project or labelled
# raftkv.test=<project>, and nothing else. The base image (debian:bookworm,
# built once by base-image.sh when it cannot be pulled) and the test images
# raftkv:test / raftkv:test-prebuilt stay as the cache of the next run.
# Last line: "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."

if ! timeout 20 docker info >/dev/null 2>&1; then
    echo "docker: skipped (no engine)"
    echo "0 passed, 0 failed"
    exit 0
fi
if command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
else
    echo "docker: skipped (no compose tool)"
    echo "0 passed, 0 failed"
    exit 0
fi

export RAFTKV_TEST_PROJECT="raftkvtest$$$(date +%s)"

# Client ports on the host: 7001-7003 when free, else three free ones.
read -r p1 p2 p3 < <(/usr/bin/python3 - <<'PY'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
ports = [7001, 7002, 7003]
if not all(free(p) for p in ports):
    ports = []
    for _ in range(1000):
        p = random.randint(20000, 32000)
        if p not in ports and free(p):
            ports.append(p)
        if len(ports) == 3:
            break
print(*ports)
PY
)
export RAFTKV_PORT1=$p1 RAFTKV_PORT2=$p2 RAFTKV_PORT3=$p3

cleanup() {
    RAFTKV_IMAGE=raftkv:test "${COMPOSE[@]}" -p "$RAFTKV_TEST_PROJECT" -f docker-compose.yml \
        -f tests/docker/compose.test.yml down -v --remove-orphans -t 2 >/dev/null 2>&1
    local ids
    ids=$(docker ps -aq --filter "label=raftkv.test=$RAFTKV_TEST_PROJECT"
          docker ps -aq --filter "label=com.docker.compose.project=$RAFTKV_TEST_PROJECT")
    [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1
    ids=$(docker volume ls -q --filter "label=com.docker.compose.project=$RAFTKV_TEST_PROJECT")
    [ -n "$ids" ] && docker volume rm $ids >/dev/null 2>&1
    ids=$(docker network ls -q --filter "label=com.docker.compose.project=$RAFTKV_TEST_PROJECT")
    [ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "docker: project $RAFTKV_TEST_PROJECT, client ports $p1 $p2 $p3"
if ! bash tests/docker/base-image.sh debian:bookworm; then
    echo "docker: cannot create the base image debian:bookworm"
    echo "0 passed, 1 failed"
    exit 1
fi

log=$(mktemp)
/usr/bin/python3 -m pytest -p no:cacheprovider -v tests/docker/test_docker.py 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$log" | tail -n 1)
rm -f "$log"
passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || true)
failed=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || true)
errors=$(grep -oE '[0-9]+ errors?' <<<"$summary" | grep -oE '[0-9]+' || true)
passed=${passed:-0}
failed=$(( ${failed:-0} + ${errors:-0} ))
[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
