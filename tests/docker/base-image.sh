#!/usr/bin/env bash
# Makes sure the image the Dockerfile's FROM names (debian:bookworm) exists
# in the local engine. With a registry, `docker pull` is all it takes; without
# one (the test machines), the image is built once with `debootstrap
# --variant=minbase bookworm` from the Debian mirror apt already uses and
# imported with `docker import`. The engine keeps it, so later runs on the same
# machine find it and return at once.
#
# Usage: tests/docker/base-image.sh [tag]     (default debian:bookworm)
set -euo pipefail
TAG="${1:-debian:bookworm}"
SUITE="${TAG#*:}"

if docker image inspect "$TAG" >/dev/null 2>&1; then
    exit 0
fi
if timeout 60 docker pull -q "$TAG" >/dev/null 2>&1; then
    echo "base-image: pulled $TAG"
    exit 0
fi

# The mirror apt uses: the first URIs: line of a deb822 .sources file, else
# the first "deb <uri> <suite>" line, else Debian's default.
mirror_of_apt() {
    local f uri
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$f")
        [ -n "$uri" ] && { echo "$uri"; return; }
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri=$(awk '$1 == "deb" && $0 !~ /security/ && $0 ~ /debian/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' "$f")
        [ -n "$uri" ] && { echo "$uri"; return; }
    done
    echo "http://deb.debian.org/debian"
}

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "base-image: $TAG is missing, docker pull failed and debootstrap is not installed (deps/install.sh)" >&2
    exit 1
fi
MIRROR="$(mirror_of_apt)"
ROOT="$(mktemp -d /tmp/raftkv-rootfs.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT
echo "base-image: building $TAG with debootstrap --variant=minbase $SUITE from $MIRROR (once per machine)"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! $SUDO debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1; then
    tail -20 "$ROOT.log" >&2
    rm -f "$ROOT.log"
    exit 1
fi
rm -f "$ROOT.log"
# apt inside containers uses the same mirror; no caches in the image.
$SUDO rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
$SUDO tar -C "$ROOT" -c . | docker import -c 'CMD ["bash"]' - "$TAG" >/dev/null
echo "base-image: imported $TAG"
