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
 * entries, store the hard state when has_hs. Owns every buffer in it. */
typedef struct replicaWrite {
    uint64_t truncate_from;
    raftEntry *entries;
    size_t nentries, entries_cap;
    unsigned char *data;            /* the entries' payloads, back to back */
    size_t data_len, data_cap;
    int has_hs;
    raftHardState hs;
    raftMsg *after;                 /* messages to send once durable (no entries) */
    size_t nafter, after_cap;
    struct replicaWrite *next;
} replicaWrite;

/* Runs w on the persistence thread; replicaWriteDone(w) follows on the loop
 * thread. At most one write is in flight: the replica waits for the
 * completion before submitting the next, which is what orders them. */
void ioSubmitWrite(replicaWrite *w);
void replicaWriteDone(replicaWrite *w);

/* Sends a message to a peer (best effort; lost messages are Raft's normal
 * weather). m and its entries are borrowed for the call. */
void ioSend(const raftMsg *m);

/* Loads the persisted state for raftNew. With tail_only, the applied index
 * is taken as the snapshot point: only its term and the entries after it
 * load. Returned entries and their data are owned by the caller (free with
 * ioFreeEntries). */
typedef struct replicaLoaded {
    raftHardState hs;
    uint64_t applied;
    uint64_t snap_index, snap_term;
    raftEntry *entries;
    size_t nentries;
} replicaLoaded;
void ioLoad(replicaLoaded *out, int tail_only);
int ioWriteInFlight(void);
void ioFreeEntries(replicaLoaded *l);
/* Drops the persisted log up to index (of that term), which is applied. */
void ioCompactLog(uint64_t index, uint64_t term);

/* Applies committed entries (fsm.c over the store). */
void fsmApply(const raftEntry *entries, size_t n);

#endif
