# raftkv: a Redis-protocol key-value server replicated with Raft into RocksDB.
#
#   docker build -t raftkv .
#   docker run -d -p 127.0.0.1:6379:6379 -v raftkv-data:/data raftkv
#   docker-compose up -d            # three nodes, see docker-compose.yml
#
# Build stage: the same Debian packages a bare-metal build uses (deps/), then
# the ordinary `make`. Runtime stage: only the shared libraries the server
# links, redis-tools for redis-cli (health check, debugging), a non-root user.

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential pkg-config libuv1-dev libhiredis-dev libjemalloc-dev librocksdb-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY deps ./deps
COPY src ./src
# The packages are installed above: mark deps/ done so make does not run apt.
RUN touch deps/.installed && make src/raftkv-server && strip src/raftkv-server

FROM debian:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libuv1 libhiredis0.14 libjemalloc2 librocksdb7.8 redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /data --shell /usr/sbin/nologin raftkv \
 && mkdir -p /data /etc/raftkv \
 && chown raftkv:raftkv /data
COPY --from=build /src/src/raftkv-server /usr/local/bin/raftkv-server
COPY conf/docker.conf /etc/raftkv/raftkv.conf
USER raftkv
WORKDIR /data
VOLUME /data
EXPOSE 6379
# With --requirepass, also set REDISCLI_AUTH in the container's environment
# so that the health check (and redis-cli inside) can authenticate.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD redis-cli -p 6379 PING | grep -q PONG
# Options after the image name are appended: --node-id 2 --cluster-members ...
ENTRYPOINT ["raftkv-server", "/etc/raftkv/raftkv.conf"]
