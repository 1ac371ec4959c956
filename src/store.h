/* store.h -- everything raftkv keeps on disk (implemented over RocksDB in store_rocks.c).
 *
 * Two RocksDB databases per node under one directory: the Raft log and hard state
 * (log appends are fsynced), and the keyspace with its side tables and applied index
 * (an apply batch is one atomic, unsynced write; the state is synced before the log
 * entries that would replay it are compacted away).
 *
 * Threads: storeLogWrite runs on the persistence thread; the apply batch, storeGet and
 * iterators belong to the loop thread; the store's own apply writer thread writes
 * committed apply batches into RocksDB (see storeApplyCommit). The log reads
 * (storeLoadHardState, storeLogScan, storeLogLastIndex) and storeGetStats are safe from
 * any thread, also while storeLogWrite runs: each read sees the log before or after a whole write, never part of one.
 * Storage errors on a write path are fail-stop: the store logs to stderr and aborts.
 *
 * Keys and values of the data column families are opaque bytes here; db.c owns their
 * encoding (2-byte slot prefix + user key -> type/expiry/value). */
#ifndef RAFTKV_STORE_H
#define RAFTKV_STORE_H

#include <stddef.h>
#include <stdint.h>

/* Column families of the state machine, as passed in `cf` below. */
enum {
    STORE_CF_DATA = 0,   /* the keyspace */
    STORE_CF_META = 1,   /* small records (key count, ...) */
    STORE_CF_EXPIRE = 2, /* expiry index: opaque keys, empty values */
    STORE_CF_COUNT = 3
};

typedef struct storeOptions {
    size_t block_cache_bytes;  /* shared LRU block cache; 0 = default (64 MB) */
    size_t write_buffer_bytes; /* memtable size of the data CF; 0 = default (32 MB) */
} storeOptions;

/* Opens (creating if missing) the store in `dir`: its log database (dir/log) and state
 * database (dir/state). A directory holding one database of the older layout (log and
 * state together) is refused. `opt` is borrowed for the call; NULL means all defaults.
 * Returns 0 on success; on failure returns -1 and sets *err to a malloc'd message the
 * caller frees. */
int storeOpen(const char *dir, const storeOptions *opt, char **err);

/* Closes the database. No iterator may be live, no apply batch open, and the
 * persistence thread must have stopped calling storeLogWrite. */
void storeClose(void);

/* The directory given to storeOpen; borrowed, valid until storeClose. */
const char *storeDir(void);

/* Budget of the data CF's read cache (see storeGet): keys + values + a fixed charge per
 * row; 0 turns it off. Default STORE_DEFAULT_READ_CACHE_BYTES. Loop thread; before
 * storeOpen or while open (shrinking evicts at once); kept across storeClose/storeOpen. */
#define STORE_DEFAULT_READ_CACHE_BYTES ((size_t)64 << 20)
void storeSetReadCacheBytes(size_t bytes);

/* ---------------------------------------------------------------- Raft state */

typedef struct storeHardState {
    uint64_t term, vote, commit;
} storeHardState;

/* Loads the hard state into *hs. Returns 1 if one is stored, 0 if none (*hs zeroed). */
int storeLoadHardState(storeHardState *hs);

typedef struct storeLogEntry {
    uint64_t index, term;
    uint8_t type;
    const void *data; /* payload, `len` bytes */
    size_t len;
} storeLogEntry;

/* One synced write: deletes entries with index >= truncate_from (0 = none), appends
 * ents[0..n) (borrowed for the call; indexes must be consecutive), and stores *hs if
 * hs is non-NULL. Thread-safe against the loop thread's apply batches and reads; meant
 * for the single persistence thread. Aborts the process on any error (fail-stop). */
void storeLogWrite(uint64_t truncate_from, const storeLogEntry *ents, size_t n,
                   const storeHardState *hs);

/* Calls cb for each stored entry with index >= from, in index order. The entry and
 * its data are borrowed only for the duration of the callback. A non-zero return
 * from cb stops the scan and is returned; returns 0 after the last entry, -1 if a
 * stored entry is malformed (message on stderr). */
int storeLogScan(uint64_t from, int (*cb)(const storeLogEntry *e, void *ud), void *ud);

/* Index of the last stored entry; when no entry is stored, the log start (see below),
 * 0 for a log never compacted. */
uint64_t storeLogLastIndex(void);

/* Drops the entries with index <= `index` and records (index, term, conf) as the log
 * start: the entry just before the first one kept (raftNew's snap_index, snap_term) and
 * the membership as of it (conf: conflen opaque bytes, at most STORE_CONF_MAX_LEN; the
 * caller's encoding). `index` must not exceed storeAppliedDurable() (aborts), so after a
 * crash the state machine is never behind the log start. The compaction itself is
 * unsynced: lost in a crash, it only keeps entries longer. Loop thread; aborts on error. */
#define STORE_CONF_MAX_LEN 1024
void storeLogCompact(uint64_t index, uint64_t term, const void *conf, size_t conflen);

/* The log start recorded by the last storeLogCompact (or snapshot install): returns 1 and
 * fills *index, *term and conf (room for STORE_CONF_MAX_LEN; NULL: not wanted) with
 * *conflen bytes (0 when none was recorded), or returns 0 (all zero) if the log was never
 * compacted. conflen may be NULL when conf is. */
int storeLogStart(uint64_t *index, uint64_t *term, void *conf, size_t *conflen);

/* ------------------------------------------------------------------ Snapshots */

/* Creates `dir` (must not exist; its parent must) holding a checkpoint of the state
 * database (a snapshot carries no log): its memtables are flushed first (writers go on
 * meanwhile), then hard links to its SST files, i.e. the state as of one instant (every
 * write whole). Run it on a worker thread (any thread is safe, also during apply batches
 * and log writes). *applied gets the checkpoint's applied index, read back from the
 * checkpoint itself: commits not yet written to the database (carried, or with the apply
 * writer) are missing: storeApplyRelease has them written soon (a checkpoint right
 * after may still miss them), storeApplyWait at once. Returns 0, or -1 and sets *err
 * (malloc'd; the caller frees it and removes whatever `dir` holds). */
int storeCheckpoint(const char *dir, uint64_t *applied, char **err);

/* Makes the checkpoint in `dir` (a received snapshot whose files are synced) ready to
 * become this node's store: opens it, checks its applied index is `index`, moves it into
 * dir/state and writes a new log database in dir/log holding this node's hard state,
 * its log entries after `index` as stored in the open store, and the log start (index,
 * term, conf): one synced write; then syncs the directories. Loop thread, with no log
 * write in flight. Returns 0, or -1 and sets *err (malloc'd; the caller removes `dir`). */
int storeSnapshotPrepare(const char *dir, uint64_t index, uint64_t term, const void *conf,
                         size_t conflen, char **err);

/* Replaces the open database by the prepared one in `dir`: closes the store, exchanges
 * the two directories atomically (renameat2 RENAME_EXCHANGE, then the parent directory
 * is synced), and opens the new one with the options of the last storeOpen; the old
 * database is then in `dir`, for the caller to remove. A crash at any point leaves the
 * store directory holding either the old or the new database, whole. Same conditions as
 * storeClose (loop thread, no batch, no iterator, no log write in flight). Returns 0;
 * -1 and *err when the exchange failed (the old database is reopened) — a failure to
 * reopen after the exchange is fatal. */
int storeSwap(const char *dir, char **err);

/* ---------------------------------------------------- State machine (loop thread) */

/* Starts an apply batch. Until storeApplyCommit, storeGet and iterators see the
 * batch's writes over the database. Batches do not nest. */
void storeApplyBegin(void);

/* Buffer a write into the open batch; key and value are copied (borrowed for the call).
 * Data CF writes wait in the store's overlay (one row per key, the last write) and enter
 * the RocksDB batch in key order when it is written or iterated. */
void storePut(int cf, const char *k, size_t kl, const char *v, size_t vl);
void storeDelete(int cf, const char *k, size_t kl);

/* cb (NULL: none) runs inside the open batch right before the batch is written, by
 * storeApplyCommit and storeClear: the place to put records kept in memory during the
 * batch (db.c's key counts), so they are written atomically with the data. cb may
 * storePut/storeDelete; it must not call storeClear or storeApplyCommit. */
void storeSetBeforeWrite(void (*cb)(void));

/* Deletes every key of cf (FLUSHALL / FLUSHDB), inside a batch, as part of the apply
 * of log entry `entry_index` (several calls, one per CF, for the same entry are fine).
 * It writes at once, in ONE atomic (unsynced) write: the batch so far, the deletion of
 * the whole CF (a range deletion: O(1) whatever the CF's size), and applied index =
 * entry_index - 1; the batch then continues, empty, and later reads see the cleared CF.
 * A crash never leaves part of the CF deleted or the batch so far half-written. A crash
 * after the call but before storeApplyCommit leaves the CF cleared with entry_index
 * still to apply, so Raft replays entry_index on top of that state: the caller must make
 * that replay converge. It does when whatever the entry wrote before the clear is
 * either cleared by it or overwritten idempotently (FLUSHALL clearing data + expire and
 * resetting the key counts with puts: yes). Clearing META also drops records the replay
 * cannot rebuild from entry_index onwards (e.g. a max() clock): prefer puts there. */
void storeClear(int cf, uint64_t entry_index);

/* Ends the batch: its writes are committed, and reads (storeGet, iterators) see them at
 * once. They usually stay in the open batch ("carried") while more commits gather; the
 * carried commits then go to RocksDB together with the last applied index as one atomic
 * write (unsynced: the log holds the entries until storeLogCompact syncs it), made by
 * the store's apply writer thread once storeApplyKick hands it over, so the loop thread
 * does not wait for the memtable inserts: one write in flight, in commit order.
 * A crash may lose the last committed batches whole (never part of one):
 * storeAppliedIndex after the restart says which, and the log must still hold the
 * entries after it (storeLogCompact checks). Aborts on error. No iterator may be live. */
void storeApplyCommit(uint64_t applied_index);
/* Loop thread: hands the carried commits to the apply writer once enough have gathered,
 * none came for a while (20 ms) or storeApplyRelease asked, or writes a small batch
 * itself (cheaper than the wake-up). Waking that thread costs the caller ~100 us in a
 * VM, so the loop calls this once per iteration after the replies are written; a batch
 * never handed over is written by the next storeApplyWait (storeApplyCommit calls it)
 * on the calling thread. */
void storeApplyKick(void);

/* Loop thread: returns once every committed batch is written to RocksDB (a process
 * crash no longer loses it; a power loss still can, until storeLogCompact syncs it);
 * outside a batch that includes the carried ones (see storeApplyCommit), written on the
 * calling thread.
 * Whatever reads or copies the database itself rather than through storeGet or an
 * iterator (a checkpoint, a test after a simulated crash) calls it first. */
void storeApplyWait(void);

/* Loop thread: the carried commits go to the apply writer at the next storeApplyKick
 * that finds it idle, however few they are (a checkpoint is about to be taken). */
void storeApplyRelease(void);

/* Last applied index as committed (0 on a fresh store). */
uint64_t storeAppliedIndex(void);

/* The applied index a crash keeps (<= storeAppliedIndex): the state database's writes
 * skip the WAL, so a crash rolls it back to its last flush (all its column families
 * flush together), and the log must keep the entries after it to replay them. How far
 * storeLogCompact may go. Flushes happen as memtables fill, and in storeCheckpoint. */
uint64_t storeAppliedDurable(void);

/* A value read by storeGet: ptr/len valid until storeValueFree (also across later
 * writes, commits and storeClear); the other fields are the store's. */
typedef struct storeValue {
    const char *ptr;
    size_t len;
    void *pin;  /* pinned block, or NULL */
    char *copy; /* malloc'd copy (read through the batch), or NULL */
    void *row;  /* row of the read cache, referenced, or NULL */
} storeValue;

/* Looks up k (borrowed for the call). Returns 1 and fills *v if found (release it with
 * storeValueFree), 0 if not found (nothing to free). Aborts on a read error.
 * Data CF reads go through the read cache (storeSetReadCacheBytes): a hit
 * costs a hash lookup; a miss reads RocksDB and caches the row, or its absence. */
int storeGet(int cf, const char *k, size_t kl, storeValue *v);

/* A hint that data-CF storeGets of these keys follow: storePrefetchAdd each key, then
 * storePrefetchEnd. Loads the read cache's memory for them; changes nothing. */
void storePrefetchAdd(const char *k, size_t kl);
void storePrefetchEnd(void);
void storeValueFree(storeValue *v);

/* Forward iterator over one CF. Created inside a batch it sees batch + database as of
 * its creation (a key deleted in the batch is hidden; whether writes made while it
 * lives show is unspecified); it must then be freed before storeApplyCommit
 * or storeClear. Key and value pointers are valid until the next call on the iterator
 * or the next storePut/storeDelete; copy a key before deleting it. */
typedef struct storeIter storeIter;
storeIter *storeIterNew(int cf);                 /* returns owned; unpositioned */
/* An iterator over what RocksDB holds now, outside any batch, without waiting for or
 * writing the committed batches not written yet: it may miss the newest commits (and show
 * what they overwrote). For scans that tolerate that (the active expiry cycle). */
storeIter *storeIterNewWritten(int cf);
void storeIterSeek(storeIter *it, const char *k, size_t kl); /* first key >= k; kl 0 = first */
int storeIterValid(storeIter *it);
void storeIterNext(storeIter *it);
const char *storeIterKey(storeIter *it, size_t *len);
const char *storeIterValue(storeIter *it, size_t *len);
void storeIterFree(storeIter *it);

/* ---------------------------------------------------------------------- INFO */

typedef struct storeStats {
    uint64_t data_keys_estimate;        /* rocksdb.estimate-num-keys of the data CF */
    uint64_t data_sst_bytes;            /* SST bytes of data + meta + expire */
    uint64_t log_sst_bytes;             /* SST bytes of the raft CF */
    uint64_t memtable_bytes;            /* all memtables, all CFs */
    uint64_t block_cache_capacity_bytes;
    uint64_t block_cache_usage_bytes;
    uint64_t block_cache_pinned_bytes;
    uint64_t read_cache_capacity_bytes; /* 0: no read cache */
    uint64_t read_cache_used_bytes;
    uint64_t read_cache_hits;
    uint64_t read_cache_misses;
    int read_cache_complete;            /* a key the read cache lacks is absent */
} storeStats;

/* Fills *st with current, approximate figures (cheap: in-memory properties only). */
void storeGetStats(storeStats *st);

#endif
