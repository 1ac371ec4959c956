# raftkv — one Makefile, no other build system.
#
#   make            install missing libraries (deps/), build src/raftkv-server
#   make test       every test: unit, raft traces, simulator, black-box, Redis's Tcl suite, short fuzz
#   make run        start the three-node local cluster (ports 7001-7003, data under ./data/nodeN)
#   make run-single start one server on 127.0.0.1:6379 with data under ./data
#   make bench      redis-benchmark against raftkv and a stock redis-server, side by side
#   make fuzz       a longer libFuzzer campaign on the request parser (FUZZ_SECONDS=600)
#   make sim SEED=n replay one simulator seed
#   make SANITIZE=address   ASan + UBSan build

CC ?= cc
PKGS := libuv hiredis jemalloc rocksdb
OPT ?= -O2
WARN := -Wall -Wextra -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 $(OPT) -g $(WARN) -D_GNU_SOURCE -MMD -MP
ifeq ($(SANITIZE),address)
BASE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
SAN_LDFLAGS := -fsanitize=address,undefined
endif

DEPS_STAMP := deps/.installed
# pkg-config is asked only after deps/install.sh has run, so a fresh machine works.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# The Raft core is pure: built with no dependency's include path.
RAFT_CFLAGS := $(BASE_CFLAGS) -Isrc/raft
CFLAGS_ALL = $(BASE_CFLAGS) $(PKG_CFLAGS) -Isrc
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm $(SAN_LDFLAGS)

RAFT_SRC := $(wildcard src/raft/*.c)
RAFT_OBJ := $(RAFT_SRC:.c=.o)
SRV_SRC := $(wildcard src/*.c)
SRV_OBJ := $(SRV_SRC:.c=.o)
LIB_OBJ := $(filter-out src/main.o,$(SRV_OBJ)) $(RAFT_OBJ)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:.c=)
RAFTTEST_SRC := $(wildcard tests/raft/test_*.c)
RAFTTEST_BIN := $(RAFTTEST_SRC:.c=)
SIM_SRC := $(wildcard tests/sim/*.c)
SIM_BIN := tests/sim/sim

SERVER := src/raftkv-server

.PHONY: all test unit-test raft-test sim-test blackbox cluster-test docker-test redis-tests fuzz fuzz-short bench run run-single sim clean deps

all: $(SERVER)

deps: $(DEPS_STAMP)
$(DEPS_STAMP): deps/install.sh deps/packages.txt
	bash deps/install.sh
	touch $@

src/raft/%.o: src/raft/%.c | $(DEPS_STAMP)
	$(CC) $(RAFT_CFLAGS) -c $< -o $@

src/%.o: src/%.c | $(DEPS_STAMP)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(SERVER): $(SRV_OBJ) $(RAFT_OBJ)
	$(CC) -o $@ $^ $(LDLIBS_ALL)

# Unit tests link against the whole server library (minus main).
tests/unit/test_%: tests/unit/test_%.c $(LIB_OBJ)
	$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(LIB_OBJ) $(LDLIBS_ALL)

# Raft core tests and the simulator link only the pure core.
tests/raft/test_%: tests/raft/test_%.c $(RAFT_OBJ)
	$(CC) $(RAFT_CFLAGS) -Itests/unit -o $@ $< $(RAFT_OBJ) $(SAN_LDFLAGS)

$(SIM_BIN): $(SIM_SRC) $(RAFT_OBJ)
	$(CC) $(RAFT_CFLAGS) -Itests/unit -Itests/sim -o $@ $(SIM_SRC) $(RAFT_OBJ) $(SAN_LDFLAGS)

unit-test: $(UNIT_BIN)
	bash tests/run_bins.sh unit $(UNIT_BIN)

raft-test: $(RAFTTEST_BIN)
	bash tests/run_bins.sh raft $(RAFTTEST_BIN)

SIM_SEEDS ?= 1000
sim-test: $(SIM_BIN)
	$(SIM_BIN) --seeds $(SIM_SEEDS)

sim: $(SIM_BIN)
	$(SIM_BIN) --seed $(SEED) --verbose

blackbox: $(SERVER)
	/usr/bin/python3 -m pytest -q tests/blackbox

cluster-test: $(SERVER)
	/usr/bin/python3 -m pytest -q tests/cluster

docker-test: $(SERVER)
	bash tests/docker/run.sh

redis-tests: $(SERVER)
	bash redis-tests/run.sh

FUZZ_SECONDS ?= 600
FUZZ_BIN := tests/fuzz/fuzz_resp
$(FUZZ_BIN): tests/fuzz/fuzz_resp.c src/resp.c src/resp.h src/util.c src/util.h | $(DEPS_STAMP)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -o $@ tests/fuzz/fuzz_resp.c src/resp.c src/util.c

fuzz: $(FUZZ_BIN)
	bash tests/fuzz/run.sh $(FUZZ_BIN) $(FUZZ_SECONDS)

fuzz-short: $(FUZZ_BIN)
	bash tests/fuzz/run.sh $(FUZZ_BIN) 30

test: $(SERVER) $(UNIT_BIN) $(RAFTTEST_BIN) $(SIM_BIN) $(FUZZ_BIN)
	bash tests/run_all.sh

bench: $(SERVER)
	bash bench/bench.sh

run: $(SERVER)
	bash conf/run-cluster.sh

run-single: $(SERVER)
	mkdir -p data
	$(SERVER) conf/raftkv.conf --dir ./data

clean:
	rm -f $(SERVER) src/*.o src/*.d src/raft/*.o src/raft/*.d $(UNIT_BIN) $(RAFTTEST_BIN) $(SIM_BIN) $(FUZZ_BIN) tests/*/*.d

-include $(SRV_OBJ:.o=.d) $(RAFT_OBJ:.o=.d)
