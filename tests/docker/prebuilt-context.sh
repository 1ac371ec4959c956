#!/usr/bin/env bash
# Assembles in DIR the build context of tests/docker/Dockerfile.prebuilt from
# what the host built and has installed: src/raftkv-server, redis-cli, and
# every shared library they load except those of the C library (libc6 is in
# the base image, and the same Debian release on both sides keeps them
# compatible).
# Usage: tests/docker/prebuilt-context.sh DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:?usage: prebuilt-context.sh DIR}
mkdir -p "$dir/lib"
cp src/raftkv-server "$dir/"
cp "$(command -v redis-cli)" "$dir/"
cp tests/docker/Dockerfile.prebuilt "$dir/Dockerfile"
cp conf/docker.conf "$dir/raftkv.conf"
ldd src/raftkv-server "$(command -v redis-cli)" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
while read -r lib; do
    case "$(basename "$lib")" in
        libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*) continue ;;
    esac
    cp -L "$lib" "$dir/lib/"
done
