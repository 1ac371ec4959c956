/* main.c — startup and the event loop.
 *
 * Order: configuration (file + --options), storage, keyspace counters, the
 * state machine, the Raft replica (which replays the log tail), then the
 * listening socket. Each loop iteration ends in beforeSleep: the commands
 * proposed during it go to the log as one entry, then replies are written.
 * SIGTERM/SIGINT stop accepting work and exit once no log write is in
 * flight; an unclean stop (kill -9) is safe too: acknowledged writes are in
 * the synced log. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "cluster.h"
#include "commands.h"
#include "db.h"
#include "fsm.h"
#include "networking.h"
#include "replica.h"
#include "replica_io.h"
#include "snapshot.h"
#include "store.h"
#include "transport.h"

void replicaInit(uint64_t id, const uint64_t *voters, int nvoters);
void replicaBeforeSleep(void);
void ioStartTicks(uv_loop_t *loop, uint64_t tick_ms);
void serverCron(void);

/* jemalloc's options (read at its first allocation; MALLOC_CONF in the environment
 * overrides them). Transparent huge pages for the heap: the read cache's tables and
 * rows and RocksDB's memtable skiplists are walked at random, and a TLB miss costs
 * most on a virtual machine. One node, SET -P 16, 3 interleaved pairs: 13-25% less
 * CPU in the loop and store threads, 9-16% more SET/s. Costs ~20 MB more resident. */
const char *malloc_conf = "thp:always,metadata_thp:always";

static uv_prepare_t before_sleep;
static uv_idle_t pending_batch;
static uv_timer_t cron_timer;
static uv_signal_t sigterm, sigint;

static void shutdownNow(void) {
    serverLog(LL_NOTICE, "Saving the final state and exiting: bye.");
    transportStop();
    storeClose();
    exit(0);
}

static void onPendingBatch(uv_idle_t *h) {
    (void)h;
}

static void beforeSleep(uv_prepare_t *h) {
    replicaBeforeSleep();
    handleClientsBeforeSleep();
    storeApplyKick();
    /* Clients resumed just now may have proposed, or an inline log write may have
     * been queued inside the completion of the one before: the next iteration must
     * not wait for an event to start them (an active idle handle makes the poll
     * return at once). */
    if (replicaHasWork()) uv_idle_start(&pending_batch, onPendingBatch);
    else uv_idle_stop(&pending_batch);
    if (server.shutdown_asap && !ioWriteInFlight() && !ioSnapshotBusy()) shutdownNow();
    transportFlush();
}

static void onCron(uv_timer_t *t) {
    uv_timer_set_repeat(t, (uint64_t)(1000 / server.hz));   /* CONFIG SET hz */
    serverCron();
    clientsCron();
    if (replicaIsLeader() && server.active_expire_enabled) activeExpireCycle();
}

static void onSignal(uv_signal_t *h, int signum) {
    serverLog(LL_WARNING, "Received %s, scheduling shutdown...", signum == SIGINT ? "SIGINT" : "SIGTERM");
    server.shutdown_asap = 1;
    uv_stop(h->loop);
}

static void makeRunId(void) {
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[20];
    if (uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL) != 0) {
        unsigned long long seed = (unsigned long long)ustime() ^ (unsigned long long)getpid();
        for (size_t i = 0; i < sizeof(rnd); i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            rnd[i] = (unsigned char)(seed >> 56);
        }
    }
    for (int i = 0; i < 20; i++) {
        server.runid[2 * i] = hex[rnd[i] >> 4];
        server.runid[2 * i + 1] = hex[rnd[i] & 15];
    }
    server.runid[40] = '\0';
}

int main(int argc, char **argv) {
    initServerConfigDefaults();
    server.executable = argv[0];
    loadServerConfig(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    server.pid = getpid();
    server.start_time_ms = mstime();
    makeRunId();
    serverLog(LL_NOTICE, "raftkv starting (Redis %s compatible), pid=%d", RAFTKV_VERSION, (int)server.pid);

    if (mkdir(server.dir, 0755) != 0 && access(server.dir, W_OK) != 0) {
        serverLog(LL_WARNING, "Can't use data directory '%s'", server.dir);
        exit(1);
    }
    /* The store lives in <dir>/db, so that a received snapshot can replace
     * it by one atomic directory exchange (snapshot.c). */
    char dbdir[PATH_MAX], probe[PATH_MAX];
    snprintf(dbdir, sizeof(dbdir), "%s/db", server.dir);
    snprintf(probe, sizeof(probe), "%s/CURRENT", server.dir);
    if (access(probe, F_OK) == 0) {
        serverLog(LL_WARNING, "'%s' holds a store in the layout of an earlier version (directly in the data "
                              "directory): move its files into '%s' first", server.dir, dbdir);
        exit(1);
    }
    storeOptions so = {(size_t)server.rocksdb_cache_bytes, (size_t)server.rocksdb_write_buffer_bytes};
    storeSetReadCacheBytes((size_t)server.read_cache_bytes);
    char *err = NULL;
    if (storeOpen(dbdir, &so, &err) != 0) {
        serverLog(LL_WARNING, "Opening the store in '%s': %s", dbdir, err ? err : "unknown error");
        exit(1);
    }
    snapshotInit();
    initCommandTable();
    dbInit();
    fsmInit();

    if (clusterInit() != C_OK) exit(1);
    uv_loop_t *loop = uv_default_loop();
    int nvoters;
    const uint64_t *voters = clusterVoters(&nvoters);
    replicaInit(server.node_id, voters, nvoters);
    /* A single voter leads at once; it listens when its term's no-op has
     * applied, so no client ever meets a leader that cannot serve yet. (A
     * member of a larger group listens at once: its peers need it.) */
    if (replicaSoleVoter())
        while (!replicaLeaderReady()) {
            replicaBeforeSleep();   /* its log writes are inline (see replica.c) */
            if (!replicaLeaderReady()) uv_run(loop, UV_RUN_ONCE);
        }
    if (listenToPort(loop) != C_OK) exit(1);
    if (transportInit(loop) != C_OK) exit(1);

    uv_idle_init(loop, &pending_batch);
    uv_prepare_init(loop, &before_sleep);
    uv_prepare_start(&before_sleep, beforeSleep);
    ioStartTicks(loop, (uint64_t)server.heartbeat_ms);
    uv_timer_init(loop, &cron_timer);
    uv_timer_start(&cron_timer, onCron, (uint64_t)(1000 / server.hz), (uint64_t)(1000 / server.hz));
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigterm, onSignal, SIGTERM);
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigint, onSignal, SIGINT);

    serverLog(LL_NOTICE, "Ready to accept connections tcp %s:%d", server.bindaddr, server.port);
    uv_run(loop, UV_RUN_DEFAULT);
    /* A signal stopped the loop: let the write in flight and a checkpoint
     * being taken (it reads the store) finish, then exit. */
    while (ioWriteInFlight() || ioSnapshotBusy()) uv_run(loop, UV_RUN_ONCE);
    shutdownNow();
    return 0;
}
