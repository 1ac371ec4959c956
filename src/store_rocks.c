/* store_rocks.c -- the node's storage: Raft log and hard state in one RocksDB, the
 * keyspace in another.
 *
 * What it owns: the process's RocksDB handles (the only file that includes
 * <rocksdb/c.h>): the log database (DIR/log: column family "raft") and the state
 * database (DIR/state: "data", "meta", "expire", "default"), each with its own WAL and
 * write queue, so a log write never waits behind an apply batch's memtable inserts;
 * the block cache they share, the apply writer thread, and three reusable batches: the
 * loop thread's apply batch (a WriteBatchWithIndex, so reads inside it see its own
 * writes), the committed one the apply writer is writing, and the persistence
 * thread's log batch.
 *
 * Layout. "raft": log entries under an 8-byte big-endian index, value = term (8 bytes
 * BE) + type (1 byte) + payload; the records below sort after every log key because
 * they start with 0xff: "\xffhs" hard state (term, vote, commit as 3 x 8 bytes BE) and
 * "\xffstart" the log start after compaction (index, term as 2 x 8 bytes BE). The state
 * database's "default" holds "\xffapplied", the applied index (8 bytes BE), out of
 * "meta" so that clearing "meta" cannot lose it. "data", "meta", "expire": opaque keys
 * from db.c.
 *
 * Happy path: the persistence thread appends entries (plus hard state) with one synced
 * write to the log database; the loop thread applies committed entries into the batch
 * and commits it with the applied index; the apply writer thread writes that in one
 * unsynced write to the state database while the loop thread goes on (usually once
 * many commits gathered: see "deferred apply writes"), or the loop thread itself when
 * the batch is small (see "apply writer"). The state database's writes skip the WAL and
 * its column families flush together: after a crash it is the state of its last flush,
 * whole, at the applied index that flush holds, and the log, compacted no further than
 * that index (storeAppliedDurable), replays the rest. Each log sync then carries only the
 * log's bytes, not the state's as well, and a row is not written twice on every node.
 * After a crash the log database recovers a prefix of its writes, each write whole.
 *
 * Failure modes: storeOpen reports errors to its caller. Any other storage error, and
 * any API misuse (a write outside a batch, an open batch at commit), prints a message
 * on stderr and aborts: a node that cannot trust its disk stops (fail-stop). */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Column family slots: the public STORE_CF_* values come first. CF_RAFT is the log
 * database's; the others, CF_DEFAULT included, the state database's. */
#define CF_RAFT STORE_CF_COUNT
#define CF_DEFAULT (STORE_CF_COUNT + 1)
#define CF_TOTAL (STORE_CF_COUNT + 2)

#define STATE_CFS (STORE_CF_COUNT + 1) /* the state database's: data, meta, expire, default */
static const char *const state_cf_names[STATE_CFS] = {"data", "meta", "expire", "default"};
static const char *const log_cf_names[2] = {"raft", "default"};
#define STATE_SUBDIR "state"
#define LOG_SUBDIR "log"

#define DEFAULT_BLOCK_CACHE_BYTES ((size_t)64 << 20)
#define DEFAULT_WRITE_BUFFER_BYTES ((size_t)8 << 20)
#define META_WRITE_BUFFER_BYTES ((size_t)4 << 20)
#define BLOOM_BITS_PER_KEY 10.0

/* Live WAL is kept to this: the META memtable, rarely full, would otherwise keep old
 * WAL files alive (up to 4x all write buffers), replayed at every restart. */
#define MAX_TOTAL_WAL_BYTES ((uint64_t)32 << 20)

#define LOG_KEY_LEN 8
/* ReadTier kPersistedTier: with the WAL off, a read that skips the memtables. */
#define READ_TIER_PERSISTED 2
#define LOG_HDR_LEN 9 /* term + type */
static const char key_hardstate[] = "\xffhs";
static const char key_applied[] = "\xff" "applied";
static const char key_logstart[] = "\xff" "start";
static const char log_upper_bound[] = "\xff"; /* every log key sorts below it */

typedef struct row row; /* a row of the read cache, see below */

static struct {
    rocksdb_t *db;                   /* the state machine */
    rocksdb_t *ldb;                  /* the Raft log and hard state */
    rocksdb_column_family_handle_t *ldefault; /* the log database's default CF (unused) */
    char *dir;
    rocksdb_cache_t *cache;
    rocksdb_column_family_handle_t *cf[CF_TOTAL];
    rocksdb_readoptions_t *ropt;     /* point reads and keyspace iterators */
    rocksdb_readoptions_t *log_ropt; /* iterators bounded to the log keys */
    rocksdb_readoptions_t *durable_ropt; /* reads of what a crash keeps (no memtables) */
    rocksdb_writeoptions_t *wnosync;
    rocksdb_writeoptions_t *wstate;  /* the state database's writes: no WAL */
    rocksdb_writebatch_wi_t *apply;  /* loop thread: the open apply batch */
    rocksdb_writebatch_t *flying;    /* the committed batch handed to the apply writer */
    rocksdb_writebatch_t *logbatch;  /* persistence thread, under loglock */
    pthread_mutex_t loglock;
    pthread_t writer;                /* the apply writer thread */
    pthread_mutex_t wlock;           /* guards writing, stop */
    pthread_cond_t wake;             /* to the writer: writing or stop was set */
    pthread_cond_t idle;             /* from the writer: writing went back to 0 */
    int writing, stop;
    int release;                     /* loop thread: hand the carry over at the next kick */
    int queued;                      /* loop thread: st.flying committed, not handed over */
    int carry;                       /* loop thread: the open batch holds committed writes */
    size_t carry_bytes;              /* bytes written into the open batch since it was handed over */
    uint64_t last_commit_us;         /* monotonic time of the last storeApplyCommit */
    uint64_t flying_applied;         /* the applied index st.flying writes */
    row **wrows;                     /* the data rows the writer adds to st.flying */
    size_t nwrows, wrows_cap;
    int in_batch;
    int batch_iters;                 /* iterators created inside the open batch */
    uint64_t applied;                /* written by the loop thread only; atomic access */
    storeOptions opt;                /* of the last storeOpen, for storeSwap */
} st;

static void (*before_write)(void); /* storeSetBeforeWrite; kept across close/open */

struct storeIter {
    rocksdb_iterator_t *it;
    int in_batch;
};

static void fatal(const char *what, char *err) __attribute__((noreturn));
static void fatal(const char *what, char *err) {
    fprintf(stderr, "store: FATAL %s%s%s\n", what, err ? ": " : "", err ? err : "");
    fflush(stderr);
    abort();
}

static void encodeU64(char *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        p[i] = (char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t decodeU64(const char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | (unsigned char)p[i];
    return v;
}

static rocksdb_column_family_handle_t *cfHandle(int cf) {
    if (cf < 0 || cf >= STORE_CF_COUNT) fatal("bad column family", NULL);
    return st.cf[cf];
}

/* ------------------------------------------------------------------ row cache */

/* The data CF's point reads (GET, and the old record every write reads first) would
 * otherwise walk RocksDB's memtable skiplist, a cache miss per level; so would its
 * writes, put in random key order. Both go through rows kept here, loop thread only:
 *   rc.t   the read cache: key -> value or "absent" (a negative entry), filled by
 *          read misses and by every write as it is made (a batch always commits,
 *          nothing is rolled back, so the open batch's rows are as good as
 *          committed ones); CLOCK eviction over a byte budget (0: caches nothing).
 *   rc.ov  the open batch's data writes, key -> the latest row written; rc.batch
 *          lists those rows (row->pos is a row's index there).
 *   rc.fl  the committed batch the apply writer may still be writing (see "apply
 *          writer" below): the same pair of table and list, moved over from rc.ov at
 *          the commit, emptied once that write is known to be done.
 * A read looks at the cache first (a cached row is the latest of its key), then, as
 * the cache may have evicted a row or not taken it, the overlay, the flying rows,
 * then the DB (neither batch holds a write of that key, so the DB alone is the
 * truth, whether or not the flying write reached it). The cache is complete
 * (rc.complete) while it holds the row of every key present: from an open that finds
 * the data CF empty, or a clear of it, until it first drops a present row (evicted,
 * or too big to take). A key a complete cache lacks is absent, which a read then
 * answers without RocksDB, whose negative lookups otherwise cost every first write
 * of a key a walk of the memtable's bloom filter and each SST's. The overlay's rows
 * enter the WriteBatchWithIndex only when it is about to be written or iterated
 * (overlayFlush), once per key and in key order, so the memtable inserts follow
 * each other closely. A commit then moves the rows to rc.fl; storeClear
 * of the data CF empties all three. A row never disagrees with what
 * the DB plus the open batch hold. A row is one allocation (key, then value), reference
 * counted: a storeValue that borrows it keeps it alive after its eviction or
 * replacement. */
#define ROW_OVERHEAD 64      /* bytes charged per row besides key and value */
#define ROW_MAX_FRACTION 64  /* rows larger than budget / this are not cached */
#define ROW_ABSENT SIZE_MAX  /* vlen: the key is known absent (a delete, in a batch) */
#define NO_SLOT SIZE_MAX

struct row {
    size_t klen, vlen;
    size_t pos;      /* overlay rows: index in rc.batch */
    uint32_t refs;
    uint8_t used;    /* CLOCK reference bit */
    uint8_t flushed; /* overlay rows: already in the WriteBatchWithIndex */
    char data[];     /* key, then value */
};

typedef struct rowSlot {
    uint64_t hash;
    row *r; /* NULL: empty */
} rowSlot;

/* Open addressing with linear probing, power-of-two capacity, at most half full;
 * a removal shifts the rest of its run back (no tombstones). */
typedef struct rowTable {
    rowSlot *slots;
    size_t cap, count;
} rowTable;

static size_t read_cache_budget = STORE_DEFAULT_READ_CACHE_BYTES; /* kept across opens */

static struct {
    size_t budget, row_max, bytes, hand;
    int complete;            /* every present key has its row in rc.t (see above) */
    uint64_t hits, misses;
    rowTable t;              /* holds a reference to each row */
    rowTable ov;             /* no references: rc.batch holds them */
    row **batch, **sorted;   /* sorted: overlayFlush's scratch */
    size_t batch_len, batch_cap, sorted_cap;
    rowTable fl;             /* no references: rc.fl_batch holds them */
    row **fl_batch;
    size_t fl_len, fl_cap;
    uint64_t *ahead;         /* storePrefetchAdd's hashes, until storePrefetchEnd */
    size_t ahead_len, ahead_cap;
} rc;

static uint64_t rowHash(const char *k, size_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL), w;
    for (; n >= 8; k += 8, n -= 8) {
        memcpy(&w, k, 8);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 31;
    }
    w = 0;
    memcpy(&w, k, n);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 29);
}

static size_t rowValueBytes(const row *r) {
    return r->vlen == ROW_ABSENT ? 0 : r->vlen;
}

static size_t rowCharge(const row *r) {
    return ROW_OVERHEAD + r->klen + rowValueBytes(r);
}

/* Returns a row with one reference (the caller's); v is ignored for ROW_ABSENT. */
static row *rowNew(const char *k, size_t kl, const char *v, size_t vl) {
    size_t vb = vl == ROW_ABSENT ? 0 : vl;
    row *r = malloc(sizeof(*r) + kl + vb);
    if (!r) fatal("row cache", "out of memory");
    r->klen = kl;
    r->vlen = vl;
    r->pos = 0;
    r->refs = 1;
    r->used = 1;
    r->flushed = 0;
    memcpy(r->data, k, kl);
    if (vb) memcpy(r->data + kl, v, vb);
    return r;
}

static void rowUnref(row *r) {
    if (--r->refs == 0) free(r);
}

static size_t tableFind(const rowTable *t, uint64_t h, const char *k, size_t kl) {
    if (!t->count) return NO_SLOT;
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const row *r = t->slots[i].r;
        if (!r) return NO_SLOT;
        if (t->slots[i].hash == h && r->klen == kl && memcmp(r->data, k, kl) == 0) return i;
    }
}

static void tablePlace(rowSlot *slots, size_t cap, uint64_t h, row *r) {
    size_t i = h & (cap - 1);
    while (slots[i].r) i = (i + 1) & (cap - 1);
    slots[i].hash = h;
    slots[i].r = r;
}

/* Adds r, whose key must not be in t. */
static void tableAdd(rowTable *t, uint64_t h, row *r) {
    if ((t->count + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        rowSlot *slots = calloc(cap, sizeof(*slots));
        if (!slots) fatal("row cache", "out of memory");
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].r) tablePlace(slots, cap, t->slots[i].hash, t->slots[i].r);
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    tablePlace(t->slots, t->cap, h, r);
    t->count++;
}

/* Empties slot i; returns the row it held. */
static row *tableRemoveAt(rowTable *t, size_t i) {
    size_t mask = t->cap - 1;
    row *r = t->slots[i].r;
    for (size_t j = (i + 1) & mask; t->slots[j].r; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].r = NULL;
    t->count--;
    return r;
}

/* Forgets every row (no unref); a table left mostly empty by a big batch shrinks. */
static void tableReset(rowTable *t, size_t keep_count) {
    if (t->cap > 1024 && keep_count * 8 < t->cap) {
        free(t->slots);
        t->slots = NULL;
        t->cap = 0;
    } else if (t->slots) {
        memset(t->slots, 0, t->cap * sizeof(*t->slots));
    }
    t->count = 0;
}

static void statAdd(uint64_t *counter) {
    __atomic_store_n(counter, *counter + 1, __ATOMIC_RELAXED);
}

/* rc.bytes, rc.complete and the hit counters are read by storeGetStats from any
 * thread. */
static void cacheCharge(ptrdiff_t delta) {
    __atomic_store_n(&rc.bytes, rc.bytes + (size_t)delta, __ATOMIC_RELAXED);
}

static void cacheSetComplete(int complete) {
    __atomic_store_n(&rc.complete, complete, __ATOMIC_RELAXED);
}

static void cacheEvict(void) {
    while (rc.bytes > rc.budget && rc.t.count) {
        size_t i = rc.hand & (rc.t.cap - 1);
        row *r = rc.t.slots[i].r;
        if (r && !r->used) {
            if (r->vlen != ROW_ABSENT) cacheSetComplete(0);
            cacheCharge(-(ptrdiff_t)rowCharge(r));
            rowUnref(tableRemoveAt(&rc.t, i)); /* slot i now holds the next row, if any */
            continue;
        }
        if (r) r->used = 0;
        rc.hand = i + 1;
    }
}

/* Makes r (borrowed; the cache takes its own reference) the cached row of its key,
 * dropping the row it replaces. A row too big to cache just drops the old one. */
static void cachePut(uint64_t h, row *r) {
    size_t i = tableFind(&rc.t, h, r->data, r->klen);
    int fits = rowCharge(r) <= rc.row_max;
    if (i != NO_SLOT) {
        row *old = rc.t.slots[i].r;
        if (fits) rc.t.slots[i].r = r; /* same key, same hash: the slot stays */
        else tableRemoveAt(&rc.t, i);
        cacheCharge(-(ptrdiff_t)rowCharge(old));
        rowUnref(old);
    }
    if (!fits) {
        if (r->vlen != ROW_ABSENT) cacheSetComplete(0);
        return;
    }
    r->refs++;
    r->used = 1;
    cacheCharge((ptrdiff_t)rowCharge(r));
    if (i == NO_SLOT) tableAdd(&rc.t, h, r);
    cacheEvict();
}

static void cacheClear(void) {
    for (size_t i = 0; i < rc.t.cap; i++)
        if (rc.t.slots[i].r) rowUnref(rc.t.slots[i].r);
    tableReset(&rc.t, 0);
    cacheCharge(-(ptrdiff_t)rc.bytes);
}

/* Records a data-CF write of the open batch: value v/vl, or vl ROW_ABSENT (delete). */
static void overlayPut(const char *k, size_t kl, const char *v, size_t vl) {
    uint64_t h = rowHash(k, kl);
    row *r = rowNew(k, kl, v, vl);
    cachePut(h, r);
    size_t i = tableFind(&rc.ov, h, k, kl);
    if (i != NO_SLOT) {
        row *old = rc.ov.slots[i].r;
        r->pos = old->pos;
        rc.ov.slots[i].r = r;
        rc.batch[r->pos] = r;
        rowUnref(old);
        return;
    }
    if (rc.batch_len == rc.batch_cap) {
        size_t cap = rc.batch_cap ? rc.batch_cap * 2 : 256;
        row **b = realloc(rc.batch, cap * sizeof(*b));
        if (!b) fatal("row cache", "out of memory");
        rc.batch = b;
        rc.batch_cap = cap;
    }
    r->pos = rc.batch_len;
    rc.batch[rc.batch_len++] = r; /* rc.batch owns r's reference */
    tableAdd(&rc.ov, h, r);
}

static int rowKeyCompare(const void *a, const void *b) {
    const row *x = *(row *const *)a, *y = *(row *const *)b;
    int c = memcmp(x->data, y->data, x->klen < y->klen ? x->klen : y->klen);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Puts rows[0..n) (sorted here) into the WriteBatchWithIndex wi, or the plain batch b
 * when wi is NULL. Key order keeps consecutive memtable inserts close together. */
static void putRows(row **rows, size_t n, rocksdb_writebatch_wi_t *wi, rocksdb_writebatch_t *b) {
    if (n > 1) qsort(rows, n, sizeof(*rows), rowKeyCompare);
    rocksdb_column_family_handle_t *h = st.cf[STORE_CF_DATA];
    for (size_t i = 0; i < n; i++) {
        const row *r = rows[i];
        int del = r->vlen == ROW_ABSENT;
        if (wi && del) rocksdb_writebatch_wi_delete_cf(wi, h, r->data, r->klen);
        else if (wi) rocksdb_writebatch_wi_put_cf(wi, h, r->data, r->klen, r->data + r->klen, r->vlen);
        else if (del) rocksdb_writebatch_delete_cf(b, h, r->data, r->klen);
        else rocksdb_writebatch_put_cf(b, h, r->data, r->klen, r->data + r->klen, r->vlen);
    }
}

/* Copies the overlay's rows not yet in the WriteBatchWithIndex into *out (grown to
 * *cap) and marks them flushed; returns how many. */
static size_t overlayUnflushed(row ***out, size_t *cap) {
    size_t n = 0;
    if (*cap < rc.batch_len) {
        row **a = realloc(*out, rc.batch_cap * sizeof(*a));
        if (!a) fatal("row cache", "out of memory");
        *out = a;
        *cap = rc.batch_cap;
    }
    for (size_t i = 0; i < rc.batch_len; i++) {
        if (rc.batch[i]->flushed) continue;
        rc.batch[i]->flushed = 1;
        (*out)[n++] = rc.batch[i];
    }
    return n;
}

/* An iterator over the open batch (or storeClear) is about to look: the overlay's
 * rows enter the WriteBatchWithIndex. */
static void overlayFlush(void) {
    size_t n = overlayUnflushed(&rc.sorted, &rc.sorted_cap);
    putRows(rc.sorted, n, st.apply, NULL);
}

/* The batch was written, or is dropped: its rows leave the overlay. */
static void overlayEnd(void) {
    for (size_t i = 0; i < rc.batch_len; i++) rowUnref(rc.batch[i]);
    tableReset(&rc.ov, rc.batch_len);
    rc.batch_len = 0;
}

/* The flying write is done: its rows leave rc.fl (the cache keeps its own). */
static void flyingEnd(void) {
    for (size_t i = 0; i < rc.fl_len; i++) rowUnref(rc.fl_batch[i]);
    tableReset(&rc.fl, rc.fl_len);
    rc.fl_len = 0;
}

/* The batch was committed (rc.fl must be empty): its rows move to rc.fl, where reads
 * find them until its write is done. */
static void overlayToFlying(void) {
    row **b = rc.fl_batch;
    size_t cap = rc.fl_cap;
    rowTable t = rc.fl;
    rc.fl = rc.ov;
    rc.fl_batch = rc.batch;
    rc.fl_len = rc.batch_len;
    rc.fl_cap = rc.batch_cap;
    rc.ov = t;
    rc.batch = b;
    rc.batch_cap = cap;
    rc.batch_len = 0;
}

static int dataEmpty(void) {
    storeIter *it = storeIterNewWritten(STORE_CF_DATA);
    storeIterSeek(it, NULL, 0);
    int empty = !storeIterValid(it);
    storeIterFree(it);
    return empty;
}

/* After storeOpen has opened the databases. */
static void rowCacheInit(void) {
    memset(&rc, 0, sizeof(rc));
    rc.budget = read_cache_budget;
    rc.row_max = rc.budget / ROW_MAX_FRACTION;
    cacheSetComplete(rc.budget > 0 && dataEmpty());
}

static void rowCacheFree(void) {
    overlayEnd();
    flyingEnd();
    cacheClear();
    free(rc.t.slots);
    free(rc.ov.slots);
    free(rc.fl.slots);
    free(rc.fl_batch);
    free(rc.batch);
    free(rc.sorted);
    free(rc.ahead);
    memset(&rc, 0, sizeof(rc));
}

/* ---------------------------------------------------------------- apply writer */

/* Adds "applied index = idx" to a plain write batch. */
static void putApplied(rocksdb_writebatch_t *b, uint64_t idx) {
    char v[8];
    encodeU64(v, idx);
    rocksdb_writebatch_put_cf(b, st.cf[CF_DEFAULT], key_applied, sizeof(key_applied) - 1, v, 8);
}

/* Inserting a batch into the memtables is most of an apply's cost (a skiplist insert
 * per key), so the loop thread does not wait for it: storeApplyCommit readies the
 * batch (st.flying, and st.wrows, the data rows the writer sorts and adds to it) and
 * storeApplyKick hands it to this thread (a batch of at most APPLY_INLINE_MAX_ROWS rows
 * it writes itself); those rows stay readable (and alive) in
 * rc.fl. One batch is in flight at a time: the next commit, and every read that rc.fl
 * cannot answer (other CFs, iterators, storeClear), waits for it first
 * (storeApplyWait, which writes a batch not handed over yet itself), so RocksDB sees
 * the batches in commit order and a read never misses one. The write is unsynced as
 * before: the next synced log write covers it. A crash may lose the last committed
 * batch; its entries are in the log, after the applied index, and replay. */
static void writeFlying(void) {
    char *rerr = NULL;
    putRows(st.wrows, st.nwrows, NULL, st.flying);
    putApplied(st.flying, st.flying_applied);
    rocksdb_write(st.db, st.wstate, st.flying, &rerr);
    if (rerr) fatal("apply batch write failed", rerr);
}

/* RocksDB counts into a thread-local perf context on every operation unless the
 * calling thread turned it off: ~5% of a follower's samples under SET load went to
 * __tls_get_addr and the context's TLS init (perf). The threads on the write and
 * read paths turn it off: the loop thread (storeOpen), the apply writer, and the
 * persistence worker (storeLogWrite, which any pool thread may run); a snapshot's
 * worker keeps counting (a few calls per snapshot). */
static void perfOff(void) {
    rocksdb_set_perf_level(rocksdb_disable);
}

/* The apply writer runs at nice 10: off the reply path, it yields the cores to the loop
 * thread (and to the clients, on the same machine in the benchmark). One node, SET -P 16:
 * 329-341k vs 285-293k ops/s at nice 0 (3 interleaved pairs), 174k vs 175k with two
 * CPU-bound processes beside it.
 * Not lower: with two CPU-bound processes beside the node, at 15 a starved writer made the
 * loop wait for it at the carry bound (74k ops/s, 22k at 19, against 175k at 0 and 173k
 * at 10). RocksDB's flush threads stay at 0 for the same reason (a stalled flush stalls
 * the writer). */
#define WRITER_NICE 10

static void *applyWriter(void *arg) {
    (void)arg;
    perfOff();
    setpriority(PRIO_PROCESS, (id_t)gettid(), WRITER_NICE);
    pthread_mutex_lock(&st.wlock);
    for (;;) {
        while (!st.writing && !st.stop) pthread_cond_wait(&st.wake, &st.wlock);
        if (!st.writing) break;
        pthread_mutex_unlock(&st.wlock);
        writeFlying();
        pthread_mutex_lock(&st.wlock);
        st.writing = 0;
        pthread_cond_broadcast(&st.idle);
    }
    pthread_mutex_unlock(&st.wlock);
    return NULL;
}

/* A committed batch of at most this many data rows is written on the loop thread
 * itself: waking the writer costs more than its memtable inserts (~2 us a row; a
 * wake-up 50-150 us of CPU in a VM). SET -c 50 -P 1 (batches of ~30) on one node:
 * ~7% less server CPU per SET. */
#define APPLY_INLINE_MAX_ROWS 64

/* Deferred apply writes. A committed batch stays in the open batch ("carried": reads
 * find its rows in the overlay, its other writes in the WriteBatchWithIndex) until
 * CARRY_ROWS rows or CARRY_BYTES bytes have gathered, or no commit came for
 * CARRY_IDLE_US (seen by the next kick: the loop wakes at least every 1000/hz ms); then
 * it goes to the writer as one sorted batch. Memtable inserts of a large sorted batch
 * cost less (a C program: 1.46 us a row in batches of 400, 0.85 in batches of 40,000)
 * and the writer wakes once per many commits; a key written twice in one carry is
 * inserted once. 65,536 rows against 16,384, three nodes, SET -P 16 on the leader, 3
 * interleaved pairs: server CPU per SET summed over the nodes 9.1-10.2 us vs 11.6-13.9
 * (the writers 0.8-1.1 vs 1.6-2.1 us each, the loops within 0.3), 139-147k vs 126-136k SET/s;
 * with keys that never repeat (-r 100000000) 112-117k vs 99-103k. While the writer is
 * busy a full carry keeps growing, up to 4x those bounds, before a commit waits. A read
 * that must see every commit through RocksDB itself (an iterator or a non-data read
 * outside a batch, storeClose) writes the carry first, on the loop thread: at worst one
 * carry's inserts (tens of ms) before a SCAN or KEYS under a heavy write load. */
#define CARRY_ROWS 65536
#define CARRY_BYTES ((size_t)32 << 20)
#define CARRY_IDLE_US 20000

static uint64_t nowUs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int carryFull(size_t times) {
    return rc.batch_len >= times * CARRY_ROWS || st.carry_bytes >= times * CARRY_BYTES;
}

static int writerBusy(void) {
    pthread_mutex_lock(&st.wlock);
    int busy = st.writing;
    pthread_mutex_unlock(&st.wlock);
    return busy;
}

static void commitToFlying(void);

void storeApplyKick(void) {
    int idle = st.carry && nowUs() - st.last_commit_us >= CARRY_IDLE_US;
    int due = idle || st.release || carryFull(1);
    if (st.carry && !st.in_batch && !st.queued && due && !writerBusy()) {
        flyingEnd();
        commitToFlying();
    }
    if (!st.queued) return;
    st.queued = 0;
    if (st.nwrows <= APPLY_INLINE_MAX_ROWS) {
        writeFlying();
        return;
    }
    pthread_mutex_lock(&st.wlock);
    st.writing = 1;
    pthread_mutex_unlock(&st.wlock);
    pthread_cond_signal(&st.wake);
}

void storeApplyRelease(void) {
    st.release = st.carry;
}

/* Returns once st.flying is in RocksDB and rc.fl is empty. */
static void waitWriter(void) {
    if (st.queued) {
        /* Waiting for the writer would cost two thread wake-ups. */
        st.queued = 0;
        writeFlying();
    }
    pthread_mutex_lock(&st.wlock);
    while (st.writing) pthread_cond_wait(&st.idle, &st.wlock);
    pthread_mutex_unlock(&st.wlock);
    flyingEnd();
}

/* Every commit made is in RocksDB once it returns, except, inside a batch, the
 * carried writes: those are in the open batch, which reads inside it see. */
void storeApplyWait(void) {
    waitWriter();
    if (st.carry && !st.in_batch) {
        commitToFlying();
        st.queued = 0;
        writeFlying();
        flyingEnd();
    }
}

/* ------------------------------------------------------------------ open/close */

/* Options shared by every column family: level compaction, lz4, the shared cache. */
static rocksdb_options_t *cfOptions(size_t write_buffer_bytes, int bloom) {
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(t, st.cache);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(t, 1);
    rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(t, 1);
    rocksdb_block_based_options_set_format_version(t, 5);
    if (bloom) {
        /* Point lookups dominate: a full bloom per SST, a hash index inside each
         * data block, and a memtable bloom over whole keys. */
        rocksdb_block_based_options_set_filter_policy(t,
            rocksdb_filterpolicy_create_bloom_full(BLOOM_BITS_PER_KEY));
        rocksdb_block_based_options_set_data_block_index_type(t,
            rocksdb_block_based_table_data_block_index_type_binary_search_and_hash);
        rocksdb_options_set_memtable_prefix_bloom_size_ratio(o, 0.1);
        rocksdb_options_set_memtable_whole_key_filtering(o, 1);
    }
    rocksdb_options_set_block_based_table_factory(o, t);
    rocksdb_block_based_options_destroy(t);
    rocksdb_options_set_write_buffer_size(o, write_buffer_bytes);
    rocksdb_options_set_compression(o, rocksdb_lz4_compression);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
    return o;
}

static int setErr(char **err, const char *what, char *rerr) {
    if (err) {
        size_t n = strlen(what) + (rerr ? strlen(rerr) : 0) + 3;
        *err = malloc(n);
        if (*err) snprintf(*err, n, "%s%s%s", what, rerr ? ": " : "", rerr ? rerr : "");
    }
    rocksdb_free(rerr);
    return -1;
}

/* Options shared by both databases. */
static rocksdb_options_t *dbOptions(void) {
    rocksdb_options_t *dbo = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(dbo, 1);
    rocksdb_options_set_create_missing_column_families(dbo, 1);
    rocksdb_options_set_max_background_jobs(dbo, 2);
    rocksdb_options_set_bytes_per_sync(dbo, 1 << 20);
    rocksdb_options_set_keep_log_file_num(dbo, 3);
    rocksdb_options_set_max_log_file_size(dbo, 8 << 20);
    rocksdb_options_set_max_total_wal_size(dbo, MAX_TOTAL_WAL_BYTES);
    return dbo;
}

/* Opens the state database in dir (created if missing) into h[STATE_CFS]. Its writes
 * skip the WAL (st.wstate) and its column families flush together, so what a crash
 * keeps is the last flush: a consistent state at the applied index it holds. */
static rocksdb_t *openState(const char *dir, size_t wbuf, rocksdb_column_family_handle_t **h, char **rerr) {
    rocksdb_options_t *dbo = dbOptions();
    rocksdb_options_set_atomic_flush(dbo, 1);
    rocksdb_options_t *cfo[STATE_CFS] = {
        cfOptions(wbuf, 1), cfOptions(META_WRITE_BUFFER_BYTES, 1), cfOptions(wbuf / 2, 0),
        cfOptions(META_WRITE_BUFFER_BYTES, 0)};
    rocksdb_t *db = rocksdb_open_column_families(dbo, dir, STATE_CFS, state_cf_names,
                                                 (const rocksdb_options_t *const *)cfo, h, rerr);
    for (int i = 0; i < STATE_CFS; i++) rocksdb_options_destroy(cfo[i]);
    rocksdb_options_destroy(dbo);
    return db;
}

/* Opens the log database in dir (created if missing) into h[2]. */
static rocksdb_t *openLog(const char *dir, size_t wbuf, rocksdb_column_family_handle_t **h, char **rerr) {
    rocksdb_options_t *dbo = dbOptions();
    rocksdb_options_t *cfo[2] = {cfOptions(wbuf / 2, 0), cfOptions(META_WRITE_BUFFER_BYTES, 0)};
    rocksdb_t *db = rocksdb_open_column_families(dbo, dir, 2, log_cf_names,
                                                 (const rocksdb_options_t *const *)cfo, h, rerr);
    for (int i = 0; i < 2; i++) rocksdb_options_destroy(cfo[i]);
    rocksdb_options_destroy(dbo);
    return db;
}

/* dir + "/" + sub into out (PATH_MAX); -1 when too long. */
static int subPath(char *out, const char *dir, const char *sub) {
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, sub);
    return n >= 0 && n < PATH_MAX ? 0 : -1;
}

int storeOpen(const char *dir, const storeOptions *opt, char **err) {
    size_t cache_bytes = opt && opt->block_cache_bytes ? opt->block_cache_bytes
                                                       : DEFAULT_BLOCK_CACHE_BYTES;
    size_t wbuf = opt && opt->write_buffer_bytes ? opt->write_buffer_bytes
                                                 : DEFAULT_WRITE_BUFFER_BYTES;
    char *rerr = NULL, sdir[PATH_MAX], ldir[PATH_MAX], old[PATH_MAX];

    if (st.db) return setErr(err, "store already open", NULL);
    if (subPath(sdir, dir, STATE_SUBDIR) != 0 || subPath(ldir, dir, LOG_SUBDIR) != 0 ||
        subPath(old, dir, "CURRENT") != 0)
        return setErr(err, "store path too long", NULL);
    if (access(old, F_OK) == 0)
        return setErr(err, "the store has the layout of an older raftkv (one database for log and "
                           "state); start from an empty data directory", NULL);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        char msg[256];
        snprintf(msg, sizeof(msg), "cannot open RocksDB: %s", strerror(errno));
        return setErr(err, msg, NULL);
    }
    st.opt = (storeOptions){cache_bytes, wbuf};
    st.cache = rocksdb_cache_create_lru(cache_bytes);

    perfOff();
    rocksdb_column_family_handle_t *sh[STATE_CFS], *lh[2];
    st.db = openState(sdir, wbuf, sh, &rerr);
    if (st.db) {
        st.ldb = openLog(ldir, wbuf, lh, &rerr);
        if (!st.ldb) {
            for (int i = 0; i < STATE_CFS; i++) rocksdb_column_family_handle_destroy(sh[i]);
            rocksdb_close(st.db);
            st.db = NULL;
        }
    }
    if (!st.db) {
        rocksdb_cache_destroy(st.cache);
        memset(&st, 0, sizeof(st));
        return setErr(err, "cannot open RocksDB", rerr);
    }
    for (int i = 0; i < STORE_CF_COUNT; i++) st.cf[i] = sh[i];
    st.cf[CF_DEFAULT] = sh[STORE_CF_COUNT];
    st.cf[CF_RAFT] = lh[0];
    st.ldefault = lh[1];

    st.dir = strdup(dir);
    st.ropt = rocksdb_readoptions_create();
    st.log_ropt = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(st.log_ropt, log_upper_bound, 1);
    st.durable_ropt = rocksdb_readoptions_create();
    rocksdb_readoptions_set_read_tier(st.durable_ropt, READ_TIER_PERSISTED);
    st.wnosync = rocksdb_writeoptions_create();
    st.wstate = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(st.wstate, 1);
    st.apply = rocksdb_writebatch_wi_create(0, 1);
    st.flying = rocksdb_writebatch_create();
    st.logbatch = rocksdb_writebatch_create();
    pthread_mutex_init(&st.loglock, NULL);
    pthread_mutex_init(&st.wlock, NULL);
    pthread_cond_init(&st.wake, NULL);
    pthread_cond_init(&st.idle, NULL);
    st.writing = st.stop = st.queued = st.carry = st.release = 0;
    st.carry_bytes = 0;
    if (pthread_create(&st.writer, NULL, applyWriter, NULL) != 0)
        fatal("starting the apply writer", NULL);
    st.in_batch = 0;
    st.batch_iters = 0;
    rowCacheInit();

    rocksdb_pinnableslice_t *p = rocksdb_get_pinned_cf(st.db, st.ropt, st.cf[CF_DEFAULT],
        key_applied, sizeof(key_applied) - 1, &rerr);
    if (rerr) fatal("reading applied index", rerr);
    st.applied = 0;
    if (p) {
        size_t len;
        const char *v = rocksdb_pinnableslice_value(p, &len);
        if (len != 8) fatal("malformed applied index record", NULL);
        st.applied = decodeU64(v);
        rocksdb_pinnableslice_destroy(p);
    }
    return 0;
}

void storeClose(void) {
    if (!st.db) return;
    if (st.in_batch) fatal("storeClose with an open apply batch", NULL);
    storeApplyWait();
    pthread_mutex_lock(&st.wlock);
    st.stop = 1;
    pthread_mutex_unlock(&st.wlock);
    pthread_cond_signal(&st.wake);
    pthread_join(st.writer, NULL);
    pthread_mutex_destroy(&st.wlock);
    pthread_cond_destroy(&st.wake);
    pthread_cond_destroy(&st.idle);
    rowCacheFree();
    rocksdb_writebatch_wi_destroy(st.apply);
    rocksdb_writebatch_destroy(st.flying);
    free(st.wrows);
    rocksdb_writebatch_destroy(st.logbatch);
    pthread_mutex_destroy(&st.loglock);
    rocksdb_readoptions_destroy(st.ropt);
    rocksdb_readoptions_destroy(st.log_ropt);
    rocksdb_readoptions_destroy(st.durable_ropt);
    rocksdb_writeoptions_destroy(st.wnosync);
    rocksdb_writeoptions_destroy(st.wstate);
    for (int i = 0; i < CF_TOTAL; i++) rocksdb_column_family_handle_destroy(st.cf[i]);
    rocksdb_column_family_handle_destroy(st.ldefault);
    rocksdb_close(st.db);
    rocksdb_close(st.ldb);
    rocksdb_cache_destroy(st.cache);
    free(st.dir);
    memset(&st, 0, sizeof(st));
}

const char *storeDir(void) {
    return st.dir;
}

void storeSetReadCacheBytes(size_t bytes) {
    read_cache_budget = bytes;
    rc.budget = bytes;
    rc.row_max = bytes / ROW_MAX_FRACTION;
    if (!bytes) cacheSetComplete(0);
    cacheEvict();
}

/* ------------------------------------------------------------------ Raft state */

int storeLoadHardState(storeHardState *hs) {
    char *rerr = NULL;
    memset(hs, 0, sizeof(*hs));
    rocksdb_pinnableslice_t *p = rocksdb_get_pinned_cf(st.ldb, st.ropt, st.cf[CF_RAFT],
        key_hardstate, sizeof(key_hardstate) - 1, &rerr);
    if (rerr) fatal("reading hard state", rerr);
    if (!p) return 0;
    size_t len;
    const char *v = rocksdb_pinnableslice_value(p, &len);
    if (len != 24) fatal("malformed hard state record", NULL);
    hs->term = decodeU64(v);
    hs->vote = decodeU64(v + 8);
    hs->commit = decodeU64(v + 16);
    rocksdb_pinnableslice_destroy(p);
    return 1;
}

/* Adds log entry e to b: key = index, value = term + type + payload. */
static void putLogEntry(rocksdb_writebatch_t *b, rocksdb_column_family_handle_t *raft, const storeLogEntry *e) {
    char key[LOG_KEY_LEN], hdr[LOG_HDR_LEN];
    encodeU64(key, e->index);
    encodeU64(hdr, e->term);
    hdr[8] = (char)e->type;
    const char *kp = key, *parts[2] = {hdr, e->data ? e->data : ""};
    size_t kl = LOG_KEY_LEN, sizes[2] = {LOG_HDR_LEN, e->len};
    rocksdb_writebatch_putv_cf(b, raft, 1, &kp, &kl, 2, parts, sizes);
}

void storeLogWrite(uint64_t truncate_from, const storeLogEntry *ents, size_t n,
                   const storeHardState *hs) {
    rocksdb_column_family_handle_t *raft = st.cf[CF_RAFT];
    char key[LOG_KEY_LEN], *rerr = NULL;

    perfOff();
    pthread_mutex_lock(&st.loglock);
    rocksdb_writebatch_clear(st.logbatch);
    if (truncate_from) {
        encodeU64(key, truncate_from);
        rocksdb_writebatch_delete_range_cf(st.logbatch, raft, key, LOG_KEY_LEN,
                                           log_upper_bound, 1);
    }
    for (size_t i = 0; i < n; i++) {
        const storeLogEntry *e = &ents[i];
        if (e->index == 0 || (unsigned char)(e->index >> 56) == 0xff ||
            (i > 0 && e->index != ents[i - 1].index + 1))
            fatal("storeLogWrite: entry indexes not consecutive or out of range", NULL);
        putLogEntry(st.logbatch, raft, e);
    }
    if (hs) {
        char v[24];
        encodeU64(v, hs->term);
        encodeU64(v + 8, hs->vote);
        encodeU64(v + 16, hs->commit);
        rocksdb_writebatch_put_cf(st.logbatch, raft, key_hardstate,
                                  sizeof(key_hardstate) - 1, v, sizeof(v));
    }
    /* Written unsynced, then the WAL is synced (SyncWAL): the same durability as a
     * synced write, but the sync does not hold RocksDB's write queue, so the apply
     * writer's batches do not wait for it. */
    rocksdb_write(st.ldb, st.wnosync, st.logbatch, &rerr);
    if (rerr) fatal("log write failed", rerr);
    rocksdb_flush_wal(st.ldb, 1, &rerr);
    if (rerr) fatal("syncing the log write failed", rerr);
    pthread_mutex_unlock(&st.loglock);
}

int storeLogScan(uint64_t from, int (*cb)(const storeLogEntry *e, void *ud), void *ud) {
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(st.ldb, st.log_ropt, st.cf[CF_RAFT]);
    char key[LOG_KEY_LEN], *rerr = NULL;
    int ret = 0;

    encodeU64(key, from);
    for (rocksdb_iter_seek(it, key, LOG_KEY_LEN); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        if (kl != LOG_KEY_LEN || vl < LOG_HDR_LEN) {
            fprintf(stderr, "store: malformed log record (key %zu bytes, value %zu bytes)\n",
                    kl, vl);
            ret = -1;
            break;
        }
        storeLogEntry e = {.index = decodeU64(k), .term = decodeU64(v),
                           .type = (uint8_t)v[8], .data = v + LOG_HDR_LEN,
                           .len = vl - LOG_HDR_LEN};
        if ((ret = cb(&e, ud)) != 0) break;
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr) fatal("scanning the log", rerr);
    rocksdb_iter_destroy(it);
    return ret;
}

uint64_t storeLogLastIndex(void) {
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(st.ldb, st.log_ropt, st.cf[CF_RAFT]);
    char *rerr = NULL;
    uint64_t last = 0;

    rocksdb_iter_seek_to_last(it);
    if (rocksdb_iter_valid(it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl != LOG_KEY_LEN) fatal("malformed log key", NULL);
        last = decodeU64(k);
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr) fatal("reading the last log index", rerr);
    rocksdb_iter_destroy(it);
    if (last == 0) {
        uint64_t term;
        storeLogStart(&last, &term, NULL, NULL);
    }
    return last;
}

/* The log start record: index, term (8 bytes BE each), then the conf bytes. */
static void putLogStart(rocksdb_writebatch_t *b, rocksdb_column_family_handle_t *raft, uint64_t index,
                        uint64_t term, const void *conf, size_t conflen) {
    char v[16 + STORE_CONF_MAX_LEN];
    if (conflen > STORE_CONF_MAX_LEN) fatal("log start", "configuration record too long");
    encodeU64(v, index);
    encodeU64(v + 8, term);
    if (conflen) memcpy(v + 16, conf, conflen);
    rocksdb_writebatch_put_cf(b, raft, key_logstart, sizeof(key_logstart) - 1, v, 16 + conflen);
}

void storeLogCompact(uint64_t index, uint64_t term, const void *conf, size_t conflen) {
    char from[LOG_KEY_LEN], to[LOG_KEY_LEN], *rerr = NULL;

    if (index == 0 || (unsigned char)(index >> 56) == 0xff) fatal("storeLogCompact", "bad index");
    /* The entries that would replay what a crash loses must stay. */
    if (index > storeAppliedDurable()) fatal("storeLogCompact", "index beyond the durable applied index");
    encodeU64(from, 0);
    encodeU64(to, index + 1);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    rocksdb_writebatch_delete_range_cf(b, st.cf[CF_RAFT], from, LOG_KEY_LEN, to, LOG_KEY_LEN);
    putLogStart(b, st.cf[CF_RAFT], index, term, conf, conflen);
    rocksdb_write(st.ldb, st.wnosync, b, &rerr);
    if (rerr) fatal("log compaction write failed", rerr);
    rocksdb_writebatch_destroy(b);
}

int storeLogStart(uint64_t *index, uint64_t *term, void *conf, size_t *conflen) {
    char *rerr = NULL;
    *index = *term = 0;
    if (conflen) *conflen = 0;
    rocksdb_pinnableslice_t *p = rocksdb_get_pinned_cf(st.ldb, st.ropt, st.cf[CF_RAFT],
        key_logstart, sizeof(key_logstart) - 1, &rerr);
    if (rerr) fatal("reading the log start", rerr);
    if (!p) return 0;
    size_t len;
    const char *v = rocksdb_pinnableslice_value(p, &len);
    if (len < 16 || len > 16 + STORE_CONF_MAX_LEN) fatal("malformed log start record", NULL);
    *index = decodeU64(v);
    *term = decodeU64(v + 8);
    if (conf) {
        memcpy(conf, v + 16, len - 16);
        *conflen = len - 16;
    }
    rocksdb_pinnableslice_destroy(p);
    return 1;
}

/* ------------------------------------------------------------------ snapshots */

static int syncDir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The applied index stored in a state database (0 when none); -1 on a read error. */
static int readApplied(rocksdb_t *db, const rocksdb_readoptions_t *ro, rocksdb_column_family_handle_t *def,
                       uint64_t *applied, char **rerr) {
    size_t len = 0;
    char *v = rocksdb_get_cf(db, ro, def, key_applied, sizeof(key_applied) - 1, &len, rerr);
    if (*rerr) return -1;
    *applied = v && len == 8 ? decodeU64(v) : 0;
    rocksdb_free(v);
    return 0;
}

/* A checkpoint of the state database alone: the snapshot a peer installs. */
int storeCheckpoint(const char *dir, uint64_t *applied, char **err) {
    char *rerr = NULL;
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(st.db, &rerr);
    if (!cp) return setErr(err, "cannot create a checkpoint object", rerr);
    /* The memtables are flushed first (writers go on into new ones meanwhile): the
     * state database has no WAL that could carry them. */
    rocksdb_checkpoint_create(cp, dir, 0, &rerr);
    rocksdb_checkpoint_object_destroy(cp);
    if (rerr) return setErr(err, "checkpoint failed", rerr);
    /* Only the default column family is opened: the data's table files are left
     * alone. */
    const char *names[1] = {"default"};
    rocksdb_options_t *o = rocksdb_options_create();
    const rocksdb_options_t *cfo[1] = {o};
    rocksdb_column_family_handle_t *cf[1];
    rocksdb_t *db = rocksdb_open_for_read_only_column_families(o, dir, 1, names, cfo, cf, 0, &rerr);
    rocksdb_options_destroy(o);
    if (!db) return setErr(err, "cannot open the checkpoint", rerr);
    int rc = readApplied(db, st.ropt, cf[0], applied, &rerr);
    rocksdb_column_family_handle_destroy(cf[0]);
    rocksdb_close(db);
    if (rc != 0) return setErr(err, "reading the checkpoint's applied index", rerr);
    return 0;
}

typedef struct copyLog {
    rocksdb_writebatch_t *b;
    rocksdb_column_family_handle_t *raft;
} copyLog;

static int copyLogEntry(const storeLogEntry *e, void *ud) {
    copyLog *c = ud;
    putLogEntry(c->b, c->raft, e);
    return 0;
}

/* Moves every entry of dir into its new subdirectory STATE_SUBDIR. */
static int moveIntoState(const char *dir, char **err) {
    char sdir[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
    if (subPath(sdir, dir, STATE_SUBDIR) != 0) return setErr(err, "path too long", NULL);
    if (mkdir(sdir, 0755) != 0) return setErr(err, strerror(errno), NULL);
    DIR *d = opendir(dir);
    if (!d) return setErr(err, strerror(errno), NULL);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, STATE_SUBDIR)) continue;
        if (subPath(from, dir, e->d_name) != 0 || subPath(to, sdir, e->d_name) != 0)
            rc = setErr(err, "path too long", NULL);
        else if (rename(from, to) != 0)
            rc = setErr(err, strerror(errno), NULL);
    }
    closedir(d);
    return rc;
}

/* Writes a new log database in ldir: this node's hard state, its log after index,
 * and the log start (index, term, conf); synced. */
static int writeLogAfter(const char *ldir, uint64_t index, uint64_t term, const void *conf, size_t conflen,
                         char **err) {
    char *rerr = NULL;
    rocksdb_column_family_handle_t *h[2];
    rocksdb_t *db = openLog(ldir, st.opt.write_buffer_bytes, h, &rerr);
    if (!db) return setErr(err, "cannot create the new log", rerr);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    storeHardState hs;
    if (storeLoadHardState(&hs)) {
        char v[24];
        encodeU64(v, hs.term);
        encodeU64(v + 8, hs.vote);
        encodeU64(v + 16, hs.commit);
        rocksdb_writebatch_put_cf(b, h[0], key_hardstate, sizeof(key_hardstate) - 1, v, sizeof(v));
    }
    copyLog c = {b, h[0]};
    int rc = 0;
    if (storeLogScan(index + 1, copyLogEntry, &c) != 0) {
        rc = setErr(err, "copying this node's log tail", NULL);
    } else {
        putLogStart(b, h[0], index, term, conf, conflen);
        rocksdb_writeoptions_t *wsync = rocksdb_writeoptions_create();
        rocksdb_writeoptions_set_sync(wsync, 1);
        rocksdb_write(db, wsync, b, &rerr);
        rocksdb_writeoptions_destroy(wsync);
        if (rerr) rc = setErr(err, "writing the new log", rerr);
    }
    rocksdb_writebatch_destroy(b);
    for (int i = 0; i < 2; i++) rocksdb_column_family_handle_destroy(h[i]);
    rocksdb_close(db);
    return rc;
}

/* dir holds a received checkpoint of a peer's state database. It becomes a store
 * directory (STATE_SUBDIR: that database; LOG_SUBDIR: a new log holding this node's
 * hard state and log after index), ready for storeSwap. */
int storeSnapshotPrepare(const char *dir, uint64_t index, uint64_t term, const void *conf,
                         size_t conflen, char **err) {
    char *rerr = NULL, sdir[PATH_MAX], ldir[PATH_MAX];
    if (conflen > STORE_CONF_MAX_LEN) return setErr(err, "configuration record too long", NULL);
    if (subPath(sdir, dir, STATE_SUBDIR) != 0 || subPath(ldir, dir, LOG_SUBDIR) != 0)
        return setErr(err, "path too long", NULL);
    rocksdb_column_family_handle_t *h[STATE_CFS];
    rocksdb_t *db = openState(dir, st.opt.write_buffer_bytes, h, &rerr);
    if (!db) return setErr(err, "cannot open the received snapshot", rerr);
    uint64_t applied = 0;
    int rc = readApplied(db, st.ropt, h[STORE_CF_COUNT], &applied, &rerr);
    for (int i = 0; i < STATE_CFS; i++) rocksdb_column_family_handle_destroy(h[i]);
    rocksdb_close(db);
    if (rc != 0) return setErr(err, "reading the snapshot's applied index", rerr);
    if (applied != index) return setErr(err, "the snapshot's applied index is not the announced one", NULL);
    if (moveIntoState(dir, err) != 0) return -1;
    if (writeLogAfter(ldir, index, term, conf, conflen, err) != 0) return -1;
    if (syncDir(sdir) != 0 || syncDir(dir) != 0) return setErr(err, "cannot sync the snapshot's directories", NULL);
    return 0;
}


int storeSwap(const char *dir, char **err) {
    char *cur = strdup(st.dir), *parent = strdup(st.dir), *oerr = NULL;
    if (!cur || !parent) fatal("storeSwap", "out of memory");
    storeOptions o = st.opt;
    char *slash = strrchr(parent, '/');
    if (slash == parent) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else strcpy(parent, ".");
    storeClose();
    int rc = renameat2(AT_FDCWD, dir, AT_FDCWD, cur, RENAME_EXCHANGE);
    int saved = errno;
    if (rc == 0 && syncDir(parent) != 0) fatal("storeSwap", "cannot sync the data directory");
    if (storeOpen(cur, &o, &oerr) != 0) fatal("storeSwap: reopening the store", oerr);
    free(cur);
    free(parent);
    if (rc != 0) return setErr(err, strerror(saved), NULL);
    return 0;
}

/* ------------------------------------------------------------ state machine */

static void requireBatch(const char *what) {
    if (!st.in_batch) fatal(what, "called outside an apply batch");
}

void storeApplyBegin(void) {
    if (st.in_batch) fatal("storeApplyBegin", "a batch is already open");
    st.in_batch = 1;
}

void storePut(int cf, const char *k, size_t kl, const char *v, size_t vl) {
    requireBatch("storePut");
    st.carry_bytes += kl + vl;
    if (cf == STORE_CF_DATA) overlayPut(k, kl, v, vl);
    else rocksdb_writebatch_wi_put_cf(st.apply, cfHandle(cf), k, kl, v, vl);
}

void storeDelete(int cf, const char *k, size_t kl) {
    requireBatch("storeDelete");
    st.carry_bytes += kl;
    if (cf == STORE_CF_DATA) overlayPut(k, kl, NULL, ROW_ABSENT);
    else rocksdb_writebatch_wi_delete_cf(st.apply, cfHandle(cf), k, kl);
}

void storeSetBeforeWrite(void (*cb)(void)) {
    before_write = cb;
}

static void requireNoBatchIters(const char *what) {
    if (st.batch_iters) fatal(what, "an iterator over the batch is still live");
}

void storeClear(int cf, uint64_t entry_index) {
    rocksdb_column_family_handle_t *h = cfHandle(cf);
    char *rerr = NULL;

    requireBatch("storeClear");
    requireNoBatchIters("storeClear");
    storeApplyWait();
    if (entry_index == 0 || entry_index - 1 < st.applied)
        fatal("storeClear", "entry index not after the applied index");
    if (before_write) before_write();
    overlayFlush();

    /* The apply batch cannot hold a range deletion, so this round's writes move to a
     * plain batch (a copy of its serialized form) followed by the deletion, and the
     * whole goes to RocksDB as one write. The range spans the first to the last key
     * visible through batch + DB; its end is exclusive, so the last key is deleted
     * on its own. */
    size_t repl;
    const char *rep = rocksdb_writebatch_wi_data(st.apply, &repl);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create_from(rep, repl);
    rocksdb_iterator_t *it = rocksdb_writebatch_wi_create_iterator_with_base_cf(
        st.apply, rocksdb_create_iterator_cf(st.db, st.ropt, h), h);
    rocksdb_iter_seek_to_first(it);
    if (rocksdb_iter_valid(it)) {
        size_t fl, ll;
        const char *f = rocksdb_iter_key(it, &fl);
        char *first = malloc(fl ? fl : 1);
        if (!first) fatal("storeClear", "out of memory");
        memcpy(first, f, fl);
        rocksdb_iter_seek_to_last(it);
        const char *last = rocksdb_iter_key(it, &ll);
        if (fl != ll || memcmp(first, last, fl) != 0)
            rocksdb_writebatch_delete_range_cf(b, h, first, fl, last, ll);
        rocksdb_writebatch_delete_cf(b, h, last, ll);
        free(first);
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr) fatal("storeClear: iterating", rerr);
    rocksdb_iter_destroy(it);

    putApplied(b, entry_index - 1);
    rocksdb_write(st.db, st.wstate, b, &rerr);
    if (rerr) fatal("storeClear: write failed", rerr);
    rocksdb_writebatch_destroy(b);
    rocksdb_writebatch_wi_clear(st.apply);
    st.carry = st.release = 0;
    st.carry_bytes = 0;
    __atomic_store_n(&st.applied, entry_index - 1, __ATOMIC_RELEASE);
    overlayEnd();
    if (cf == STORE_CF_DATA) {
        cacheClear();
        cacheSetComplete(rc.budget > 0);
    }
}

/* The open batch (committed: st.applied) becomes st.flying, queued for the writer,
 * which must be idle with rc.fl empty. */
static void commitToFlying(void) {
    /* The writer gets a plain batch holding the WriteBatchWithIndex's writes (other
     * column families, rows flushed for an iterator) and the list of the overlay's
     * other rows, which it sorts and appends, then the applied index: the loop thread
     * spends no time on them. The rows stay alive in rc.fl until storeApplyWait. */
    size_t repl;
    const char *rep = rocksdb_writebatch_wi_data(st.apply, &repl);
    rocksdb_writebatch_destroy(st.flying);
    st.flying = rocksdb_writebatch_create_from(rep, repl);
    st.nwrows = overlayUnflushed(&st.wrows, &st.wrows_cap);
    rocksdb_writebatch_wi_clear(st.apply);
    overlayToFlying();
    st.flying_applied = st.applied;
    st.carry = st.release = 0;
    st.carry_bytes = 0;
    st.queued = 1;
}

void storeApplyCommit(uint64_t applied_index) {
    requireBatch("storeApplyCommit");
    requireNoBatchIters("storeApplyCommit");
    if (applied_index < st.applied) fatal("storeApplyCommit", "applied index went backwards");
    if (before_write) before_write();
    st.in_batch = 0;
    __atomic_store_n(&st.applied, applied_index, __ATOMIC_RELEASE);
    st.carry = 1;
    st.last_commit_us = nowUs();
    if (!carryFull(1) || (!carryFull(4) && writerBusy())) return;
    waitWriter();
    commitToFlying();
    /* To the writer now: another commit before the loop's next kick (a follower
     * applies each AppendEntries it reads) would otherwise find the batch still
     * queued and write it itself. */
    storeApplyKick();
}

uint64_t storeAppliedIndex(void) {
    return st.applied;
}

uint64_t storeAppliedDurable(void) {
    char *rerr = NULL;
    uint64_t applied;
    if (readApplied(st.db, st.durable_ropt, st.cf[CF_DEFAULT], &applied, &rerr) != 0)
        fatal("reading the durable applied index", rerr);
    return applied;
}

/* Reads through the open batch (its writes over the DB). */
static int batchGet(rocksdb_column_family_handle_t *h, const char *k, size_t kl, storeValue *v) {
    /* The C API can only return a copy of a value read through the batch. */
    char *rerr = NULL;
    size_t len;
    char *p = rocksdb_writebatch_wi_get_from_batch_and_db_cf(st.apply, st.db, st.ropt,
                                                             h, k, kl, &len, &rerr);
    if (rerr) fatal("read through the apply batch failed", rerr);
    if (!p) return 0;
    *v = (storeValue){.ptr = p, .len = len, .copy = p};
    return 1;
}

/* Reads the DB alone (no batch); *pin is the pinned value, NULL if absent. */
static rocksdb_pinnableslice_t *dbGet(rocksdb_column_family_handle_t *h, const char *k,
                                      size_t kl) {
    char *rerr = NULL;
    rocksdb_pinnableslice_t *p = rocksdb_get_pinned_cf(st.db, st.ropt, h, k, kl, &rerr);
    if (rerr) fatal("read failed", rerr);
    return p;
}

static int pinnedValue(rocksdb_pinnableslice_t *p, storeValue *v) {
    if (!p) return 0;
    *v = (storeValue){.pin = p};
    v->ptr = rocksdb_pinnableslice_value(p, &v->len);
    return 1;
}

/* Lends r's value to *v (0 if r says absent). */
static int rowValue(row *r, storeValue *v) {
    if (r->vlen == ROW_ABSENT) return 0;
    r->refs++;
    *v = (storeValue){.ptr = r->data + r->klen, .len = r->vlen, .row = r};
    return 1;
}

/* A group of data-CF reads about to happen (the commands of a log entry): each
 * would miss the CPU cache twice in a row, on its slot and then on its row. Fetching
 * every slot first and then every row lets those misses overlap. */
void storePrefetchAdd(const char *k, size_t kl) {
    if (!rc.t.count) return;
    if (rc.ahead_len == rc.ahead_cap) {
        size_t cap = rc.ahead_cap ? rc.ahead_cap * 2 : 256;
        uint64_t *a = realloc(rc.ahead, cap * sizeof(*a));
        if (!a) return;
        rc.ahead = a;
        rc.ahead_cap = cap;
    }
    uint64_t h = rowHash(k, kl);
    rc.ahead[rc.ahead_len++] = h;
    __builtin_prefetch(&rc.t.slots[h & (rc.t.cap - 1)]);
    /* The write's overlayPut looks there, and adds to it, next. */
    if (rc.ov.cap) __builtin_prefetch(&rc.ov.slots[h & (rc.ov.cap - 1)], 1);
}

void storePrefetchEnd(void) {
    size_t mask = rc.t.cap - 1;
    for (size_t n = 0; n < rc.ahead_len && rc.t.count; n++) {
        uint64_t h = rc.ahead[n];
        for (size_t i = h & mask; rc.t.slots[i].r; i = (i + 1) & mask) {
            if (rc.t.slots[i].hash != h) continue;
            const char *r = (const char *)rc.t.slots[i].r;
            __builtin_prefetch(r);
            __builtin_prefetch(r + 64);
            break;
        }
    }
    rc.ahead_len = 0;
}

/* storeGet of the data CF through the row cache (see "row cache" above). */
static int rowGet(rocksdb_column_family_handle_t *h, const char *k, size_t kl, storeValue *v) {
    uint64_t hash = rowHash(k, kl);
    size_t i;
    if ((i = tableFind(&rc.t, hash, k, kl)) != NO_SLOT) {
        row *r = rc.t.slots[i].r;
        r->used = 1;
        statAdd(&rc.hits);
        return rowValue(r, v);
    }
    if (rc.complete) {
        statAdd(&rc.hits);
        return 0;
    }
    if ((st.in_batch || st.carry) && (i = tableFind(&rc.ov, hash, k, kl)) != NO_SLOT)
        return rowValue(rc.ov.slots[i].r, v);
    if ((i = tableFind(&rc.fl, hash, k, kl)) != NO_SLOT) return rowValue(rc.fl.slots[i].r, v);
    statAdd(&rc.misses);
    rocksdb_pinnableslice_t *p = dbGet(h, k, kl);
    size_t len = 0;
    const char *val = p ? rocksdb_pinnableslice_value(p, &len) : NULL;
    if (ROW_OVERHEAD + kl + len > rc.row_max) return pinnedValue(p, v);
    row *r = rowNew(k, kl, val, p ? len : ROW_ABSENT);
    if (p) rocksdb_pinnableslice_destroy(p);
    cachePut(hash, r);
    int found = rowValue(r, v);
    rowUnref(r);
    return found;
}

int storeGet(int cf, const char *k, size_t kl, storeValue *v) {
    rocksdb_column_family_handle_t *h = cfHandle(cf);
    if (cf == STORE_CF_DATA) return rowGet(h, k, kl, v);
    storeApplyWait();
    if (st.in_batch) return batchGet(h, k, kl, v);
    return pinnedValue(dbGet(h, k, kl), v);
}

void storeValueFree(storeValue *v) {
    if (v->pin) rocksdb_pinnableslice_destroy(v->pin);
    rocksdb_free(v->copy);
    if (v->row) rowUnref(v->row);
    *v = (storeValue){0};
}

storeIter *storeIterNewWritten(int cf) {
    storeIter *si = malloc(sizeof(*si));
    if (!si) fatal("storeIterNew", "out of memory");
    si->it = rocksdb_create_iterator_cf(st.db, st.ropt, cfHandle(cf));
    si->in_batch = 0;
    return si;
}

storeIter *storeIterNew(int cf) {
    storeApplyWait();
    storeIter *si = storeIterNewWritten(cf);
    if (st.in_batch) {
        if (cf == STORE_CF_DATA) overlayFlush();
        si->it = rocksdb_writebatch_wi_create_iterator_with_base_cf(st.apply, si->it, cfHandle(cf));
        si->in_batch = 1;
        st.batch_iters++;
    }
    return si;
}

void storeIterSeek(storeIter *it, const char *k, size_t kl) {
    rocksdb_iter_seek(it->it, k, kl);
}

int storeIterValid(storeIter *it) {
    if (rocksdb_iter_valid(it->it)) return 1;
    char *rerr = NULL;
    rocksdb_iter_get_error(it->it, &rerr);
    if (rerr) fatal("iterator failed", rerr);
    return 0;
}

void storeIterNext(storeIter *it) {
    rocksdb_iter_next(it->it);
}

const char *storeIterKey(storeIter *it, size_t *len) {
    return rocksdb_iter_key(it->it, len);
}

const char *storeIterValue(storeIter *it, size_t *len) {
    return rocksdb_iter_value(it->it, len);
}

void storeIterFree(storeIter *it) {
    if (!it) return;
    if (it->in_batch) st.batch_iters--;
    rocksdb_iter_destroy(it->it);
    free(it);
}

/* ---------------------------------------------------------------------- INFO */

static uint64_t propInt(int cf, const char *name) {
    uint64_t v = 0;
    if (rocksdb_property_int_cf(cf == CF_RAFT ? st.ldb : st.db, st.cf[cf], name, &v) != 0) return 0;
    return v;
}

void storeGetStats(storeStats *s) {
    memset(s, 0, sizeof(*s));
    s->data_keys_estimate = propInt(STORE_CF_DATA, "rocksdb.estimate-num-keys");
    for (int i = 0; i < STORE_CF_COUNT; i++)
        s->data_sst_bytes += propInt(i, "rocksdb.total-sst-files-size");
    s->log_sst_bytes = propInt(CF_RAFT, "rocksdb.total-sst-files-size");
    for (int i = 0; i < CF_TOTAL; i++)
        s->memtable_bytes += propInt(i, "rocksdb.cur-size-all-mem-tables");
    s->block_cache_capacity_bytes = rocksdb_cache_get_capacity(st.cache);
    s->block_cache_usage_bytes = rocksdb_cache_get_usage(st.cache);
    s->block_cache_pinned_bytes = rocksdb_cache_get_pinned_usage(st.cache);
    s->read_cache_capacity_bytes = rc.budget;
    s->read_cache_used_bytes = __atomic_load_n(&rc.bytes, __ATOMIC_RELAXED);
    s->read_cache_hits = __atomic_load_n(&rc.hits, __ATOMIC_RELAXED);
    s->read_cache_misses = __atomic_load_n(&rc.misses, __ATOMIC_RELAXED);
    s->read_cache_complete = __atomic_load_n(&rc.complete, __ATOMIC_RELAXED);
}
