/* replica_io.h — the I/O the replica needs, implemented on libuv and the
 * store by replica_uv.c (and by a test double in unit tests).
 *
 * replica.c never calls libuv or RocksDB itself: it hands log writes to
 * ioSubmitWrite and learns of their completion through replicaWriteDone. */
#ifndef RAFTKV_REPLICA_IO_H
#define RAFTKV_REPLICA_IO_H

#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"

/* One synced log write: delete entries >= truncate_from (0 = none), append
 * entries, store the hard state hs. Owns every buffer in it. */
typedef struct replicaWrite {
    uint64_t truncate_from;
    raftEntry *entries;
    size_t nentries, entries_cap;
    unsigned char *data;            /* the entries' payloads, back to back */
    size_t data_len, data_cap;
    raftHardState hs;
    raftMsg *after;                 /* messages to send once durable (no entries) */
    size_t nafter, after_cap;
    struct replicaWrite *next;
} replicaWrite;

/* Runs w on the persistence thread, then replicaWriteDone(w) on the loop
 * thread; with inline_write, runs w on the loop thread and calls
 * replicaWriteDone(w) before returning. At most one write is in flight: the
 * replica waits for the completion before submitting the next, which is what
 * orders them. */
void ioSubmitWrite(replicaWrite *w, int inline_write);
void replicaWriteDone(replicaWrite *w);

/* Sends a message to a peer (best effort; lost messages are Raft's normal
 * weather). m and its entries are borrowed for the call. */
void ioSend(const raftMsg *m);
/* Writes what ioSend queued to the peers' sockets now, rather than when the
 * loop next polls. */
void ioFlush(void);

/* A monotonic clock in microseconds, and a wake-up of the loop (so that
 * replicaBeforeSleep runs) within about a millisecond even if no event comes,
 * until cancelled. */
uint64_t ioNowUs(void);
void ioWakeSoon(void);
void ioWakeCancel(void);

/* Loads the persisted state for raftNew. With tail_only, the applied index
 * is taken as the snapshot point: only its term and the entries after it
 * load. Returned entries and their data are owned by the caller (free with
 * ioFreeEntries). */
typedef struct replicaLoaded {
    raftHardState hs;
    uint64_t applied;
    uint64_t snap_index, snap_term;
    int has_conf;                   /* conf = the membership as of snap_index */
    raftConfState conf;
    raftEntry *entries;
    size_t nentries;
} replicaLoaded;
void ioLoad(replicaLoaded *out, int tail_only);
int ioWriteInFlight(void);
void ioFreeEntries(replicaLoaded *l);
/* Drops the persisted log up to index (of that term, membership conf as of
 * it), which is applied. */
void ioCompactLog(uint64_t index, uint64_t term, const raftConfState *conf);
/* The highest applied index the state machine's storage keeps through a crash (it
 * defers its writes, and they reach the disk with its memtable flushes): how far
 * ioCompactLog may go. */
uint64_t ioAppliedDurable(void);

/* Snapshots (snapshot.c). */
/* Starts taking a snapshot of the state machine at its applied index, on a
 * worker thread; no-op while one is being taken (ioSnapshotBusy). Once it
 * is durable, replicaSnapshotTaken follows on the loop thread. */
void ioTakeSnapshot(void);
int ioSnapshotBusy(void);
/* Index of the newest durable snapshot, 0 = none. */
uint64_t ioLatestSnapshotIndex(void);
/* Leader: streams peer the newest snapshot if its index >= min_index, else
 * a fresh one; ignored while a transfer to peer runs. A transfer that fails
 * calls replicaSnapshotSendFailed(peer). */
void ioSendSnapshot(uint64_t peer, uint64_t min_index);
/* Follower: a received snapshot waits to be installed. Call
 * ioSnapshotInstall only with no log write in flight (the store is
 * swapped); it calls replicaSnapshotInstalled once the new state is in. */
int ioSnapshotInstallPending(void);
void ioSnapshotInstall(void);

/* The replica's side, called by snapshot.c on the loop thread. */
/* Term and membership as of index (in the log); 0, or -1 when unknown. */
int replicaSnapshotMeta(uint64_t index, uint64_t *term, raftConfState *conf);
void replicaSnapshotTaken(uint64_t index, uint64_t term);
void replicaSnapshotSendFailed(uint64_t peer);
/* index > applied: the store holds the snapshot now; index <= applied: it
 * was not needed (the core tells the leader this node's applied index). */
void replicaSnapshotInstalled(uint64_t index, uint64_t term, const raftConfState *conf);
uint64_t replicaAppliedIndex(void);

/* Applies committed entries (fsm.c over the store). */
void fsmApply(const raftEntry *entries, size_t n);

#endif
