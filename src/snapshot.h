/* snapshot.h — state machine snapshots (snapshot.c): taking, sending,
 * receiving and installing them. The replica drives it through the io*
 * functions of replica_io.h; the rest is for startup, INFO and clients. */
#ifndef RAFTKV_SNAPSHOT_H
#define RAFTKV_SNAPSHOT_H

#include <stdint.h>

#include "server.h"

/* Startup, after storeOpen and before replicaInit: removes temporary
 * directories left by a crash (see snapshot.c) and finds the newest sealed
 * snapshot. Exits when the snapshot directory cannot be created. */
void snapshotInit(void);

typedef struct snapshotStats {
    uint64_t index, term, bytes;        /* the newest sealed snapshot, 0 = none */
    long long taken, sent, installed, failed;
    int in_progress;                    /* a checkpoint is being taken */
    int sending;                        /* transfers to followers running */
    int receiving;                      /* a transfer from the leader in progress */
    uint64_t receive_bytes, receive_total_bytes;
    uint64_t bytes_sent;
} snapshotStats;
void snapshotGetStats(snapshotStats *out);

/* A client goes away: an END it sent no longer waits for the install. */
void snapshotForgetClient(client *c);

#endif
