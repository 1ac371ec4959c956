/* Unit tests for the RocksDB store (src/store_rocks.c): log and hard state, apply
 * batches and their read-your-writes view, iterators, storeClear, durability across
 * reopen and across a crashed (never closed) process.
 *
 * `test_store --bench` instead prints timings: synced log writes of 1 and 100 entries,
 * and 16-byte puts committed in batches of 100; `test_store --bench-setget` the apply
 * and read paths of the redis-benchmark SET/GET workload (see benchSetGet). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include "store.h"
#include "test.h"

#include <ftw.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static int rmEntry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

/* Fresh empty directory for one test; the previous one is removed. */
static void freshDir(void) {
    if (dir[0]) nftw(dir, rmEntry, 16, FTW_DEPTH | FTW_PHYS);
    strcpy(dir, "/tmp/raftkv-test-store-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
}

static int openStoreAt(const char *path) {
    char *err = NULL;
    storeOptions o = {.block_cache_bytes = 8 << 20, .write_buffer_bytes = 4 << 20};
    if (storeOpen(path, &o, &err) != 0) {
        fprintf(stderr, "storeOpen: %s\n", err);
        free(err);
        return -1;
    }
    return 0;
}

static int openStore(void) {
    return openStoreAt(dir);
}

/* Takes a checkpoint into DIR/name and returns its applied index, that of the last
 * batch written to RocksDB, or -1 if it failed. The state database's memtables are
 * flushed first, so what it holds becomes what a crash keeps (storeAppliedDurable). */
static long long checkpointApplied(const char *name) {
    char path[128], *err = NULL;
    uint64_t applied;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (storeCheckpoint(path, &applied, &err) == 0) return (long long)applied;
    fprintf(stderr, "storeCheckpoint: %s\n", err);
    free(err);
    return -1;
}

/* checkpointApplied, 0 on success. */
static int checkpointTo(const char *name) {
    return checkpointApplied(name) >= 0 ? 0 : -1;
}

static void logAppend(uint64_t truncate_from, uint64_t first, size_t n, uint64_t term) {
    storeLogEntry ents[128];
    char payload[128][32];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(payload[i], sizeof(payload[i]), "cmd-%llu-t%llu",
                           (unsigned long long)(first + i), (unsigned long long)term);
        ents[i] = (storeLogEntry){.index = first + i, .term = term, .type = (uint8_t)((first + i) % 3),
                                  .data = payload[i], .len = (size_t)len};
    }
    storeLogWrite(truncate_from, ents, n, NULL);
}

/* Scan collector: records (index, term) and checks each payload's text. */
typedef struct {
    uint64_t idx[256], term[256];
    int n, bad, stop_after;
} scanned;

static int collect(const storeLogEntry *e, void *ud) {
    scanned *s = ud;
    char want[32];
    int len = snprintf(want, sizeof(want), "cmd-%llu-t%llu", (unsigned long long)e->index,
                       (unsigned long long)e->term);
    if ((size_t)len != e->len || memcmp(want, e->data, e->len) != 0) s->bad++;
    if (e->type != (uint8_t)(e->index % 3)) s->bad++;
    s->idx[s->n] = e->index;
    s->term[s->n] = e->term;
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 7 : 0;
}

static int getStr(int cf, const char *k, char *out, size_t cap) {
    storeValue v;
    if (!storeGet(cf, k, strlen(k), &v)) return 0;
    size_t n = v.len < cap - 1 ? v.len : cap - 1;
    memcpy(out, v.ptr, n);
    out[n] = '\0';
    storeValueFree(&v);
    return 1;
}

static void put(int cf, const char *k, const char *v) {
    storePut(cf, k, strlen(k), v, strlen(v));
}

TEST(test_fresh_store_is_empty) {
    freshDir();
    CHECK(openStore() == 0);
    storeHardState hs = {1, 2, 3};
    CHECK_EQ_INT(storeLoadHardState(&hs), 0);
    CHECK_EQ_INT(hs.term, 0);
    CHECK_EQ_INT(hs.vote, 0);
    CHECK_EQ_INT(hs.commit, 0);
    CHECK_EQ_INT(storeLogLastIndex(), 0);
    CHECK_EQ_INT(storeAppliedIndex(), 0);
    CHECK(strcmp(storeDir(), dir) == 0);
    scanned s = {0};
    CHECK_EQ_INT(storeLogScan(1, collect, &s), 0);
    CHECK_EQ_INT(s.n, 0);
    storeClose();
}

TEST(test_open_errors_are_reported) {
    freshDir();
    char path[128], *err = NULL;
    snprintf(path, sizeof(path), "%s/file", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fclose(f);
    snprintf(path, sizeof(path), "%s/file/db", dir); /* parent is a regular file */
    CHECK_EQ_INT(storeOpen(path, NULL, &err), -1);
    CHECK(err != NULL && strstr(err, "cannot open RocksDB") == err);
    free(err);

    /* A store of the older layout (one database right in the directory) is refused. */
    snprintf(path, sizeof(path), "%s/olddb", dir);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof(path), "%s/olddb/CURRENT", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fclose(f);
    snprintf(path, sizeof(path), "%s/olddb", dir);
    CHECK_EQ_INT(storeOpen(path, NULL, &err), -1);
    CHECK(err != NULL && strstr(err, "older raftkv") != NULL);
    free(err);
    err = NULL;

    /* A missing directory is created; a second open in the process is refused. */
    snprintf(path, sizeof(path), "%s/db", dir);
    CHECK_EQ_INT(storeOpen(path, NULL, &err), 0);
    err = NULL;
    CHECK_EQ_INT(storeOpen(path, NULL, &err), -1);
    CHECK(err != NULL);
    free(err);
    storeClose();
}

TEST(test_log_append_truncate_scan) {
    freshDir();
    CHECK(openStore() == 0);
    logAppend(0, 1, 10, 1);
    CHECK_EQ_INT(storeLogLastIndex(), 10);

    scanned s = {0};
    CHECK_EQ_INT(storeLogScan(4, collect, &s), 0);
    CHECK_EQ_INT(s.n, 7);
    CHECK_EQ_INT(s.idx[0], 4);
    CHECK_EQ_INT(s.idx[6], 10);
    CHECK_EQ_INT(s.bad, 0);

    /* A conflicting suffix from index 6 with a new term: 6..10 replaced by 6..7. */
    logAppend(6, 6, 2, 2);
    CHECK_EQ_INT(storeLogLastIndex(), 7);
    memset(&s, 0, sizeof(s));
    CHECK_EQ_INT(storeLogScan(1, collect, &s), 0);
    CHECK_EQ_INT(s.n, 7);
    CHECK_EQ_INT(s.term[4], 1);
    CHECK_EQ_INT(s.idx[5], 6);
    CHECK_EQ_INT(s.term[5], 2);
    CHECK_EQ_INT(s.term[6], 2);
    CHECK_EQ_INT(s.bad, 0);

    /* Truncation alone, no new entries. */
    storeLogWrite(3, NULL, 0, NULL);
    CHECK_EQ_INT(storeLogLastIndex(), 2);

    /* The callback's non-zero return stops the scan and is passed through. */
    logAppend(0, 3, 5, 3);
    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    CHECK_EQ_INT(storeLogScan(1, collect, &s), 7);
    CHECK_EQ_INT(s.n, 2);

    /* Scanning past the end yields nothing. */
    memset(&s, 0, sizeof(s));
    CHECK_EQ_INT(storeLogScan(100, collect, &s), 0);
    CHECK_EQ_INT(s.n, 0);
    storeClose();
}

TEST(test_reopen_keeps_everything) {
    freshDir();
    CHECK(openStore() == 0);
    storeHardState hs = {.term = 5, .vote = 2, .commit = 3};
    storeLogEntry e = {.index = 1, .term = 5, .type = 1, .data = "x", .len = 1};
    storeLogWrite(0, &e, 1, &hs);
    storeApplyBegin();
    put(STORE_CF_DATA, "k1", "v1");
    put(STORE_CF_META, "count", "1");
    put(STORE_CF_EXPIRE, "exp-k1", "");
    storeApplyCommit(1);
    storeClose();

    CHECK(openStore() == 0);
    storeHardState got;
    CHECK_EQ_INT(storeLoadHardState(&got), 1);
    CHECK_EQ_INT(got.term, 5);
    CHECK_EQ_INT(got.vote, 2);
    CHECK_EQ_INT(got.commit, 3);
    CHECK_EQ_INT(storeLogLastIndex(), 1);
    CHECK_EQ_INT(storeAppliedIndex(), 1);
    char buf[32];
    CHECK(getStr(STORE_CF_DATA, "k1", buf, sizeof(buf)));
    CHECK(strcmp(buf, "v1") == 0);
    CHECK(getStr(STORE_CF_META, "count", buf, sizeof(buf)));
    CHECK(strcmp(buf, "1") == 0);
    CHECK(getStr(STORE_CF_EXPIRE, "exp-k1", buf, sizeof(buf)));
    CHECK_EQ_INT(strlen(buf), 0);
    CHECK(!getStr(STORE_CF_DATA, "count", buf, sizeof(buf))); /* CFs are separate */

    /* A hard-state-only write (no entries) replaces the record. */
    hs.term = 6;
    hs.vote = 0;
    storeLogWrite(0, NULL, 0, &hs);
    storeClose();
    CHECK(openStore() == 0);
    CHECK_EQ_INT(storeLoadHardState(&got), 1);
    CHECK_EQ_INT(got.term, 6);
    CHECK_EQ_INT(got.vote, 0);
    CHECK_EQ_INT(storeLogLastIndex(), 1);
    storeClose();
}

TEST(test_batch_reads_see_own_writes) {
    freshDir();
    CHECK(openStore() == 0);
    storeApplyBegin();
    put(STORE_CF_DATA, "a", "old-a");
    put(STORE_CF_DATA, "b", "old-b");
    storeApplyCommit(1);

    char buf[32];
    storeApplyBegin();
    put(STORE_CF_DATA, "a", "new-a");
    storeDelete(STORE_CF_DATA, "b", 1);
    put(STORE_CF_DATA, "c", "");
    CHECK(getStr(STORE_CF_DATA, "a", buf, sizeof(buf)));
    CHECK(strcmp(buf, "new-a") == 0);
    CHECK(!getStr(STORE_CF_DATA, "b", buf, sizeof(buf)));
    CHECK(getStr(STORE_CF_DATA, "c", buf, sizeof(buf))); /* empty value is found */
    CHECK_EQ_INT(strlen(buf), 0);
    CHECK(!getStr(STORE_CF_DATA, "zz", buf, sizeof(buf)));
    put(STORE_CF_DATA, "a", "newer-a"); /* the latest write wins */
    CHECK(getStr(STORE_CF_DATA, "a", buf, sizeof(buf)));
    CHECK(strcmp(buf, "newer-a") == 0);
    storeApplyCommit(2);

    /* Outside a batch, the committed state. */
    CHECK(getStr(STORE_CF_DATA, "a", buf, sizeof(buf)));
    CHECK(strcmp(buf, "newer-a") == 0);
    CHECK(!getStr(STORE_CF_DATA, "b", buf, sizeof(buf)));
    CHECK(getStr(STORE_CF_DATA, "c", buf, sizeof(buf)));
    CHECK_EQ_INT(storeAppliedIndex(), 2);
    storeClose();
}

TEST(test_log_compact_keeps_start) {
    freshDir();
    CHECK(openStore() == 0);
    uint64_t idx = 1, term = 1;
    CHECK_EQ_INT(storeLogStart(&idx, &term, NULL, NULL), 0);
    CHECK_EQ_INT(idx, 0);
    CHECK_EQ_INT(term, 0);
    logAppend(0, 1, 10, 1);
    storeApplyBegin();
    storeApplyCommit(6);
    storeApplyWait();
    CHECK_EQ_INT(storeAppliedDurable(), 0);     /* written, not yet flushed */
    CHECK(checkpointTo("c1") == 0);
    CHECK_EQ_INT(storeAppliedDurable(), 6);
    storeLogCompact(5, 1, "cf", 2);
    scanned s = {0};
    CHECK_EQ_INT(storeLogScan(1, collect, &s), 0);
    CHECK_EQ_INT(s.n, 5);
    CHECK_EQ_INT(s.idx[0], 6);
    CHECK_EQ_INT(s.bad, 0);
    CHECK_EQ_INT(storeLogLastIndex(), 10);
    storeClose();

    CHECK(openStore() == 0);
    char conf[STORE_CONF_MAX_LEN];
    size_t conflen = 0;
    CHECK_EQ_INT(storeLogStart(&idx, &term, conf, &conflen), 1);
    CHECK_EQ_INT(idx, 5);
    CHECK_EQ_INT(term, 1);
    CHECK_MEM(conf, conflen, "cf");
    /* Everything compacted: the last index is the log start; appends continue. */
    storeApplyBegin();
    storeApplyCommit(10);
    storeApplyWait();
    CHECK(checkpointTo("c2") == 0);
    storeLogCompact(10, 1, "cf", 2);
    CHECK_EQ_INT(storeLogLastIndex(), 10);
    memset(&s, 0, sizeof(s));
    CHECK_EQ_INT(storeLogScan(1, collect, &s), 0);
    CHECK_EQ_INT(s.n, 0);
    logAppend(0, 11, 2, 2);
    CHECK_EQ_INT(storeLogLastIndex(), 12);
    CHECK_EQ_INT(storeLogStart(&idx, &term, NULL, NULL), 1);
    CHECK_EQ_INT(idx, 10);
    storeClose();
}

/* Opens the store in sub/ of the test directory (created). */
static int openStoreIn(const char *sub) {
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    mkdir(path, 0755);
    return openStoreAt(path);
}

static void putData(const char *k, const char *v, uint64_t applied) {
    storeApplyBegin();
    storePut(STORE_CF_DATA, k, strlen(k), v, strlen(v));
    storeApplyCommit(applied);
}

static int hasData(const char *k) {
    storeValue v;
    if (!storeGet(STORE_CF_DATA, k, strlen(k), &v)) return 0;
    storeValueFree(&v);
    return 1;
}

/* The follower's side of a snapshot after the swap, checked before and after a reopen. */
static void checkInstalled(void) {
    CHECK_EQ_INT(storeAppliedIndex(), 10);
    CHECK(hasData("k1"));
    CHECK(!hasData("k2"));     /* written after the checkpoint */
    CHECK(!hasData("old"));    /* the follower's state before */
    storeHardState hs;
    CHECK_EQ_INT(storeLoadHardState(&hs), 1);
    CHECK_EQ_INT(hs.term, 5);
    CHECK_EQ_INT(hs.vote, 2);
    uint64_t idx, term;
    char conf[STORE_CONF_MAX_LEN];
    size_t conflen = 0;
    CHECK_EQ_INT(storeLogStart(&idx, &term, conf, &conflen), 1);
    CHECK_EQ_INT(idx, 10);
    CHECK_EQ_INT(term, 1);
    CHECK_MEM(conf, conflen, "conf");
    scanned s = {0};
    CHECK_EQ_INT(storeLogScan(1, collect, &s), 0);
    CHECK_EQ_INT(s.n, 2);          /* the follower's own 11 and 12, nothing of the leader's log */
    CHECK_EQ_INT(s.idx[0], 11);
    CHECK_EQ_INT(s.idx[1], 12);
    CHECK_EQ_INT(storeLogLastIndex(), 12);
}

TEST(test_checkpoint_prepare_swap) {
    freshDir();
    char ckpt[128], *err = NULL;
    snprintf(ckpt, sizeof(ckpt), "%s/ckpt", dir);
    /* The leader: entries 1..10 applied, k1 in its data. */
    CHECK(openStoreIn("leader") == 0);
    logAppend(0, 1, 10, 1);
    putData("k1", "v1", 10);
    storeApplyWait();           /* the checkpoint holds what RocksDB has: the batch written */
    uint64_t applied = 0;
    CHECK_EQ_INT(storeCheckpoint(ckpt, &applied, &err), 0);
    CHECK_EQ_INT(applied, 10);
    putData("k2", "v2", 11);
    /* A checkpoint into an existing directory fails and says so. */
    uint64_t ignored;
    CHECK_EQ_INT(storeCheckpoint(ckpt, &ignored, &err), -1);
    CHECK(err != NULL);
    free(err);
    err = NULL;
    storeClose();

    /* The follower: behind (applied 2), with a log of its own past 10. */
    CHECK(openStoreIn("follower") == 0);
    logAppend(0, 1, 10, 1);
    logAppend(0, 11, 2, 2);
    storeHardState hs = {5, 2, 10};
    storeLogWrite(0, NULL, 0, &hs);
    putData("old", "x", 2);
    /* The announced index must be the checkpoint's. */
    CHECK_EQ_INT(storeSnapshotPrepare(ckpt, 9, 1, "conf", 4, &err), -1);
    CHECK(err != NULL);
    free(err);
    err = NULL;
    CHECK_EQ_INT(storeSnapshotPrepare(ckpt, 10, 1, "conf", 4, &err), 0);
    CHECK_EQ_INT(storeSwap(ckpt, &err), 0);
    checkInstalled();
    /* The old store (its state and log databases) went to the checkpoint's place. */
    char current[160];
    snprintf(current, sizeof(current), "%s/state/CURRENT", ckpt);
    CHECK(access(current, F_OK) == 0);
    snprintf(current, sizeof(current), "%s/log/CURRENT", ckpt);
    CHECK(access(current, F_OK) == 0);
    storeClose();
    CHECK(openStoreIn("follower") == 0);
    checkInstalled();
    /* A failed exchange (nothing at dir) keeps the store open on its database. */
    nftw(ckpt, rmEntry, 16, FTW_DEPTH | FTW_PHYS);
    CHECK_EQ_INT(storeSwap(ckpt, &err), -1);
    CHECK(err != NULL);
    free(err);
    checkInstalled();
    storeClose();
}

/* Collects "key=value," for every key from `from` on. */
static void iterDump(int cf, const char *from, char *out, size_t cap) {
    storeIter *it = storeIterNew(cf);
    size_t used = 0;
    out[0] = '\0';
    for (storeIterSeek(it, from, strlen(from)); storeIterValid(it); storeIterNext(it)) {
        size_t kl, vl;
        const char *k = storeIterKey(it, &kl);
        const char *v = storeIterValue(it, &vl);
        used += (size_t)snprintf(out + used, cap - used, "%.*s=%.*s,", (int)kl, k, (int)vl, v);
    }
    storeIterFree(it);
}

TEST(test_iterator_merges_batch_and_db) {
    freshDir();
    CHECK(openStore() == 0);
    storeApplyBegin();
    put(STORE_CF_DATA, "b", "1");
    put(STORE_CF_DATA, "d", "2");
    put(STORE_CF_DATA, "f", "3");
    put(STORE_CF_META, "c", "other-cf");
    storeApplyCommit(1);

    char out[256];
    iterDump(STORE_CF_DATA, "", out, sizeof(out));
    CHECK(strcmp(out, "b=1,d=2,f=3,") == 0);

    storeApplyBegin();
    put(STORE_CF_DATA, "a", "new");
    put(STORE_CF_DATA, "d", "over");
    storeDelete(STORE_CF_DATA, "f", 1);
    put(STORE_CF_DATA, "e", "mid");
    storeDelete(STORE_CF_DATA, "nothing", 7);
    iterDump(STORE_CF_DATA, "", out, sizeof(out));
    CHECK(strcmp(out, "a=new,b=1,d=over,e=mid,") == 0);
    iterDump(STORE_CF_DATA, "c", out, sizeof(out));
    CHECK(strcmp(out, "d=over,e=mid,") == 0);
    storeApplyCommit(2);

    iterDump(STORE_CF_DATA, "", out, sizeof(out));
    CHECK(strcmp(out, "a=new,b=1,d=over,e=mid,") == 0);
    iterDump(STORE_CF_META, "", out, sizeof(out));
    CHECK(strcmp(out, "c=other-cf,") == 0);
    storeClose();
}

TEST(test_clear_is_atomic_with_applied_index) {
    freshDir();
    CHECK(openStore() == 0);
    storeApplyBegin();
    put(STORE_CF_DATA, "k1", "v1");
    put(STORE_CF_DATA, "k2", "v2");
    put(STORE_CF_EXPIRE, "e1", "");
    storeApplyCommit(5);

    /* Entries 6 (a write) and 7 (FLUSHALL: clear data + expire, reset the count). */
    char out[256], buf[32];
    storeApplyBegin();
    put(STORE_CF_DATA, "k3", "v3");
    put(STORE_CF_META, "count", "3");
    storeClear(STORE_CF_DATA, 7);
    CHECK_EQ_INT(storeAppliedIndex(), 6);
    storeClear(STORE_CF_EXPIRE, 7);
    iterDump(STORE_CF_DATA, "", out, sizeof(out));
    CHECK_EQ_INT(strlen(out), 0);
    CHECK(!getStr(STORE_CF_DATA, "k3", buf, sizeof(buf)));
    CHECK(getStr(STORE_CF_META, "count", buf, sizeof(buf))); /* entry 6's meta write */
    CHECK(strcmp(buf, "3") == 0);
    put(STORE_CF_META, "count", "0");
    put(STORE_CF_DATA, "k4", "after"); /* entry 8, same round */
    storeApplyCommit(8);
    storeClose();

    CHECK(openStore() == 0);
    CHECK_EQ_INT(storeAppliedIndex(), 8);
    iterDump(STORE_CF_DATA, "", out, sizeof(out));
    CHECK(strcmp(out, "k4=after,") == 0);
    iterDump(STORE_CF_EXPIRE, "", out, sizeof(out));
    CHECK_EQ_INT(strlen(out), 0);
    CHECK(getStr(STORE_CF_META, "count", buf, sizeof(buf)));
    CHECK(strcmp(buf, "0") == 0);

    /* Clearing META does not lose the applied index, and an empty CF clears fine. */
    storeApplyBegin();
    storeClear(STORE_CF_META, 9);
    storeClear(STORE_CF_EXPIRE, 9);
    storeApplyCommit(9);
    storeClose();
    CHECK(openStore() == 0);
    CHECK_EQ_INT(storeAppliedIndex(), 9);
    CHECK(!getStr(STORE_CF_META, "count", buf, sizeof(buf)));
    CHECK(getStr(STORE_CF_DATA, "k4", buf, sizeof(buf)));
    storeClose();
}

/* Child process: commits applied index 3 with one key and makes it durable, then
 * starts another batch (and, with `clear`, a storeClear of entry 5 after applying entry
 * 4, made durable too) and dies without closing, as a crash would. */
static void crashChild(int clear) {
    if (openStore() != 0) _exit(2);
    storeApplyBegin();
    put(STORE_CF_DATA, "kept", "yes");
    storeApplyCommit(3);
    storeApplyWait();
    if (checkpointTo("c1") != 0) _exit(3);
    storeApplyBegin();
    put(STORE_CF_DATA, "lost", "no");
    put(STORE_CF_META, "entry4", "applied");
    if (clear) {
        storeClear(STORE_CF_DATA, 5);
        if (checkpointTo("c2") != 0) _exit(3);
    }
    put(STORE_CF_META, "lost-after-clear", "no");
    _exit(0);
}

/* Runs crash child `which` (see main) on the test directory in a new process: an exec,
 * not just a fork, because RocksDB's flush threads, started by earlier tests, would be
 * missing in a forked copy, and a checkpoint there would wait for them forever. Returns
 * the child's exit status, -1 if it did not exit. */
static int runCrashChild(const char *which) {
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_store", "--crash-child", which, dir, (char *)NULL);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(test_crash_drops_uncommitted_batch) {
    freshDir();
    CHECK_EQ_INT(runCrashChild("batch"), 0);
    CHECK(openStore() == 0);
    char buf[32];
    CHECK_EQ_INT(storeAppliedIndex(), 3);
    CHECK(getStr(STORE_CF_DATA, "kept", buf, sizeof(buf)));
    CHECK(!getStr(STORE_CF_DATA, "lost", buf, sizeof(buf)));
    CHECK(!getStr(STORE_CF_META, "entry4", buf, sizeof(buf)));
    storeClose();
}

TEST(test_crash_after_clear_leaves_entry_to_replay) {
    freshDir();
    CHECK_EQ_INT(runCrashChild("clear"), 0);
    CHECK(openStore() == 0);
    char buf[32], out[64];
    CHECK_EQ_INT(storeAppliedIndex(), 4);          /* entry 5 must be replayed */
    CHECK(getStr(STORE_CF_META, "entry4", buf, sizeof(buf)));
    iterDump(STORE_CF_DATA, "", out, sizeof(out)); /* cleared whole, nothing half */
    CHECK_EQ_INT(strlen(out), 0);
    CHECK(!getStr(STORE_CF_META, "lost-after-clear", buf, sizeof(buf)));
    storeClose();
}

/* Child process: commits 50 batches of 20 keys (batch i: applied index i, keys
 * b<i>-<j>), has the first 25 written and durable, and dies at once, without
 * waiting for the last batches' writes. */
static void crashAfterCommits(void) {
    if (openStore() != 0) _exit(2);
    for (int i = 1; i <= 50; i++) {
        storeApplyBegin();
        for (int j = 0; j < 20; j++) {
            char k[32];
            snprintf(k, sizeof(k), "b%d-%d", i, j);
            put(STORE_CF_DATA, k, "v");
        }
        storeApplyCommit((uint64_t)i);
        if (i == 25) {
            storeApplyWait();
            if (checkpointTo("c1") != 0) _exit(3);
        }
    }
    _exit(0);
}

/* A crash right after commits may lose the last committed batches (carried or being
 * written), but only whole and only at the end: every batch up to the applied index is
 * there, none after it. */
TEST(test_crash_loses_only_whole_last_batches) {
    freshDir();
    CHECK_EQ_INT(runCrashChild("commits"), 0);
    CHECK(openStore() == 0);
    uint64_t applied = storeAppliedIndex();
    CHECK(applied >= 25 && applied <= 50);
    char buf[8];
    for (int i = 1; i <= 50; i++) {
        for (int j = 0; j < 20; j++) {
            char k[32];
            snprintf(k, sizeof(k), "b%d-%d", i, j);
            CHECK_EQ_INT(getStr(STORE_CF_DATA, k, buf, sizeof(buf)), (uint64_t)i <= applied);
        }
    }
    storeClose();
}

/* A committed batch is readable at once, also while its write is still in flight and
 * when the read cache keeps nothing; other CFs and iterators see it too. */
TEST(test_reads_see_committed_batch_in_flight) {
    freshDir();
    CHECK(openStore() == 0);
    char buf[16];
    for (int i = 1; i <= 200; i++) {
        char k[16], v[16];
        snprintf(k, sizeof(k), "k%03d", i);
        snprintf(v, sizeof(v), "v%d", i);
        storeApplyBegin();
        put(STORE_CF_DATA, k, v);
        put(STORE_CF_META, "last", k);
        storeApplyCommit((uint64_t)i);
        CHECK(getStr(STORE_CF_DATA, k, buf, sizeof(buf)) && strcmp(buf, v) == 0);
        if (i % 50 == 0) {
            CHECK(getStr(STORE_CF_META, "last", buf, sizeof(buf)) && strcmp(buf, k) == 0);
            int n = 0;
            storeIter *it = storeIterNew(STORE_CF_DATA);
            for (storeIterSeek(it, NULL, 0); storeIterValid(it); storeIterNext(it)) n++;
            storeIterFree(it);
            CHECK_EQ_INT(n, i);
        }
    }
    storeClose();
}

/* The persistence thread appends while the loop thread applies. */
static void *logWriter(void *arg) {
    (void)arg;
    for (uint64_t i = 1; i <= 200; i += 20) logAppend(0, i, 20, 1);
    return NULL;
}

TEST(test_log_writes_concurrent_with_apply) {
    freshDir();
    CHECK(openStore() == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, logWriter, NULL) == 0);
    for (int i = 1; i <= 200; i++) {
        char k[16];
        int kl = snprintf(k, sizeof(k), "key%04d", i);
        storeApplyBegin();
        storePut(STORE_CF_DATA, k, (size_t)kl, k, (size_t)kl);
        storeApplyCommit((uint64_t)i);
    }
    pthread_join(t, NULL);
    CHECK_EQ_INT(storeLogLastIndex(), 200);
    CHECK_EQ_INT(storeAppliedIndex(), 200);
    storeClose();
    CHECK(openStore() == 0);
    scanned s = {0};
    CHECK_EQ_INT(storeLogScan(1, collect, &s), 0);
    CHECK_EQ_INT(s.n, 200);
    CHECK_EQ_INT(s.bad, 0);
    char buf[32];
    CHECK(getStr(STORE_CF_DATA, "key0200", buf, sizeof(buf)));
    CHECK(strcmp(buf, "key0200") == 0);
    storeStats stats;
    storeGetStats(&stats);
    CHECK(stats.block_cache_capacity_bytes == 8 << 20);
    CHECK(stats.memtable_bytes > 0);
    storeClose();
}

/* ----------------------------------------------------------- read cache */

static storeStats stats(void) {
    storeStats s;
    storeGetStats(&s);
    return s;
}

static uint64_t cacheHits(void) {
    return stats().read_cache_hits;
}

/* 1 if cf:k holds exactly want (NULL: absent). */
static int holds(const char *k, const char *want) {
    storeValue v;
    int found = storeGet(STORE_CF_DATA, k, strlen(k), &v);
    if (!found) return want == NULL;
    int ok = want && v.len == strlen(want) && memcmp(v.ptr, want, v.len) == 0;
    storeValueFree(&v);
    return ok;
}

/* Commits one write and has it written (storeApplyWait), so that its row moves from the
 * carried batch into the read cache. */
static void commitOne(uint64_t idx, const char *k, const char *v) {
    storeApplyBegin();
    if (v) put(STORE_CF_DATA, k, v);
    else storeDelete(STORE_CF_DATA, k, strlen(k));
    storeApplyCommit(idx);
    storeApplyWait();
}

/* Batches large enough to go to the apply writer thread, committed and kicked as the
 * loop does (a kick after most commits, so the next commit often finds the writer
 * still busy). Reads between commits (rows, other CFs, iterators) see every commit;
 * a clear, a close and a reopen keep them all. */
enum { KICK_KEYS = 300, KICK_ROWS = 120 };

static void kickRound(int round, int *val) {
    storeApplyBegin();
    for (int j = 0; j < KICK_ROWS; j++) {
        int key = (round * 37 + j * 11) % KICK_KEYS;
        char k[16], v[16];
        snprintf(k, sizeof(k), "c%03d", key);
        snprintf(v, sizeof(v), "r%d", round);
        put(STORE_CF_DATA, k, v);
        val[key] = round;
    }
    char r[16];
    snprintf(r, sizeof(r), "%d", round);
    put(STORE_CF_META, "round", r);
    storeApplyCommit((uint64_t)round);
}

static int kickMatches(const int *val) {
    int bad = 0, n = 0, present = 0;
    for (int key = 0; key < KICK_KEYS; key++) {
        char k[16], v[16];
        snprintf(k, sizeof(k), "c%03d", key);
        snprintf(v, sizeof(v), "r%d", val[key]);
        if (!holds(k, val[key] ? v : NULL)) bad++;
        present += val[key] != 0;
    }
    storeIter *it = storeIterNew(STORE_CF_DATA);
    for (storeIterSeek(it, NULL, 0); storeIterValid(it); storeIterNext(it)) n++;
    storeIterFree(it);
    return bad == 0 && n == present;
}

TEST(test_kicked_commits_are_read_and_kept) {
    static int val[KICK_KEYS];
    char buf[16];
    memset(val, 0, sizeof(val));
    freshDir();
    CHECK(openStore() == 0);
    for (int round = 1; round <= 150; round++) {
        kickRound(round, val);
        CHECK_EQ_INT(storeAppliedIndex(), (uint64_t)round);
        if (round % 3) storeApplyKick();
        int key = (round * 37) % KICK_KEYS;
        char k[16], v[16];
        snprintf(k, sizeof(k), "c%03d", key);
        snprintf(v, sizeof(v), "r%d", round);
        CHECK(holds(k, v));
        if (round % 10 == 0) {
            CHECK(getStr(STORE_CF_META, "round", buf, sizeof(buf)) && atoi(buf) == round);
            CHECK(kickMatches(val));
        }
        if (round == 100) {
            storeApplyBegin();
            storeClear(STORE_CF_DATA, 101);
            storeApplyCommit(101);
            memset(val, 0, sizeof(val));
            round = 101;
        }
    }
    CHECK(kickMatches(val));
    storeClose();
    CHECK(openStore() == 0);
    CHECK_EQ_INT(storeAppliedIndex(), 150);
    CHECK(getStr(STORE_CF_META, "round", buf, sizeof(buf)) && strcmp(buf, "150") == 0);
    CHECK(kickMatches(val));
    storeClose();
}

/* Child process: 60 such rounds, kicked, the first 30 made durable, then dies
 * without closing. */
static void crashAfterKickedCommits(void) {
    static int val[KICK_KEYS];
    if (openStore() != 0) _exit(2);
    for (int round = 1; round <= 60; round++) {
        kickRound(round, val);
        storeApplyKick();
        if (round == 30) {
            storeApplyWait();
            if (checkpointTo("c1") != 0) _exit(3);
        }
    }
    _exit(0);
}

/* A crash may lose the commits still in flight, but only whole commits and only the
 * last ones: the store holds exactly the rounds up to its applied index. */
TEST(test_crash_with_kicked_commits_keeps_a_prefix) {
    static int val[KICK_KEYS];
    freshDir();
    CHECK_EQ_INT(runCrashChild("kicked"), 0);
    CHECK(openStore() == 0);
    uint64_t applied = storeAppliedIndex();
    CHECK(applied >= 30 && applied <= 60);
    memset(val, 0, sizeof(val));
    for (int round = 1; round <= (int)applied; round++)
        for (int j = 0; j < KICK_ROWS; j++) val[(round * 37 + j * 11) % KICK_KEYS] = round;
    CHECK(kickMatches(val));
    char buf[16];
    if (applied) CHECK(getStr(STORE_CF_META, "round", buf, sizeof(buf)) && (uint64_t)atoi(buf) == applied);
    storeClose();
}

static int countWritten(int cf) {
    int n = 0;
    storeIter *it = storeIterNewWritten(cf);
    for (storeIterSeek(it, NULL, 0); storeIterValid(it); storeIterNext(it)) n++;
    storeIterFree(it);
    return n;
}

/* Small commits are carried while more keep coming, readable at once; a kick once no
 * commit came for a while (20 ms) writes them. */
TEST(test_carried_commits_go_out_when_the_loop_idles) {
    freshDir();
    CHECK(openStore() == 0);
    char k[16];
    for (int i = 1; i <= 3; i++) {
        snprintf(k, sizeof(k), "c%d", i);
        storeApplyBegin();
        put(STORE_CF_DATA, k, "v");
        storeApplyCommit((uint64_t)i);
        storeApplyKick();                           /* a commit came just now */
        CHECK(holds(k, "v"));
    }
    CHECK_EQ_INT(storeAppliedIndex(), 3);
    CHECK_EQ_INT(checkpointApplied("c0"), 0);      /* all three carried */
    CHECK_EQ_INT(countWritten(STORE_CF_DATA), 0);
    usleep(30 * 1000);
    storeApplyKick();                               /* 30 ms without a commit */
    storeApplyWait();
    CHECK_EQ_INT(checkpointApplied("c1"), 3);
    CHECK_EQ_INT(countWritten(STORE_CF_DATA), 3);
    logAppend(0, 1, 3, 1);
    storeLogCompact(3, 1, NULL, 0);
    storeClose();
    CHECK(openStore() == 0);
    CHECK_EQ_INT(storeAppliedIndex(), 3);
    CHECK(holds("c2", "v"));
    storeClose();
}

/* One commit of k = "v", kicked as the loop does (it stays carried). */
static void commitKicked(uint64_t idx, const char *k) {
    storeApplyBegin();
    put(STORE_CF_DATA, k, "v");
    storeApplyCommit(idx);
    storeApplyKick();
}

/* Polls the data rows RocksDB holds until there are n, at most ms; returns the count. */
static int waitRowsWritten(int n, int ms) {
    int got = countWritten(STORE_CF_DATA);
    for (int i = 0; i < ms && got < n; i++) {
        usleep(1000);
        got = countWritten(STORE_CF_DATA);
    }
    return got;
}

/* A checkpoint is about to be taken while commits are carried: storeApplyRelease has the
 * next kick hand the carry to the writer however small (here the writer thread writes
 * it: 102 rows), once. */
TEST(test_released_carry_goes_to_the_writer) {
    freshDir();
    CHECK(openStore() == 0);
    char k[16];
    storeApplyBegin();
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "r%d", i);
        put(STORE_CF_DATA, k, "v");
    }
    storeApplyCommit(1);
    storeApplyKick();
    commitKicked(2, "c2");
    CHECK_EQ_INT(waitRowsWritten(101, 50), 0);      /* carried: nothing asked for it */
    commitKicked(3, "c3");                          /* a commit came just now */
    storeApplyRelease();
    storeApplyKick();
    CHECK_EQ_INT(waitRowsWritten(102, 5000), 102);
    CHECK_EQ_INT(checkpointApplied("c0"), 3);
    commitKicked(4, "c4");
    CHECK_EQ_INT(waitRowsWritten(103, 50), 102);    /* the release was for one carry */
    storeApplyWait();
    CHECK_EQ_INT(countWritten(STORE_CF_DATA), 103);
    storeClose();
}

TEST(test_read_cache_overwrite_delete_absent) {
    freshDir();
    CHECK(openStore() == 0);
    commitOne(1, "k", "v1");
    uint64_t h0 = cacheHits();
    CHECK(holds("k", "v1")); /* the commit cached the row */
    CHECK(holds("k", "v1"));
    CHECK_EQ_INT(cacheHits() - h0, 2);
    commitOne(2, "k", "value-two");
    CHECK(holds("k", "value-two"));
    commitOne(3, "k", NULL);
    CHECK(holds("k", NULL));
    CHECK(holds("never", NULL)); /* miss: cached as absent */
    h0 = cacheHits();
    CHECK(holds("never", NULL));
    CHECK_EQ_INT(cacheHits() - h0, 1);
    commitOne(4, "never", "now");
    CHECK(holds("never", "now"));
    commitOne(5, "k", "");
    CHECK(holds("k", ""));
    storeStats st;
    storeGetStats(&st);
    CHECK(st.read_cache_capacity_bytes == STORE_DEFAULT_READ_CACHE_BYTES);
    CHECK(st.read_cache_used_bytes > 0);
    storeClose();
}

TEST(test_read_cache_batch_overlay) {
    freshDir();
    CHECK(openStore() == 0);
    commitOne(1, "a", "a1");
    commitOne(2, "b", "b1");
    CHECK(holds("a", "a1"));

    storeApplyBegin();
    storeValue held;
    CHECK(storeGet(STORE_CF_DATA, "a", 1, &held)); /* borrowed across writes and commit */
    put(STORE_CF_DATA, "a", "a2");
    CHECK(holds("a", "a2"));
    CHECK(holds("b", "b1"));
    storeDelete(STORE_CF_DATA, "a", 1);
    CHECK(holds("a", NULL));
    put(STORE_CF_DATA, "a", "a3");
    put(STORE_CF_DATA, "new", "n1");
    CHECK(holds("a", "a3"));
    CHECK(holds("new", "n1"));
    storeDelete(STORE_CF_DATA, "b", 1);
    CHECK(holds("b", NULL));
    storeApplyCommit(3);
    CHECK_MEM(held.ptr, held.len, "a1");
    storeValueFree(&held);
    CHECK(holds("a", "a3"));
    CHECK(holds("b", NULL));
    CHECK(holds("new", "n1"));

    /* After a reopen (cache empty) the DB agrees with what the cache served. */
    storeClose();
    CHECK(openStore() == 0);
    CHECK(holds("a", "a3"));
    CHECK(holds("b", NULL));
    CHECK(holds("new", "n1"));
    storeClose();
}

TEST(test_read_cache_clear) {
    freshDir();
    CHECK(openStore() == 0);
    commitOne(1, "k1", "v1");
    commitOne(2, "k2", "v2");
    CHECK(holds("k1", "v1"));
    CHECK(holds("k2", "v2"));

    /* Entry 3 writes k3, entry 4 clears expire (k3 is then committed), entry 5 clears
     * data and writes k4. */
    storeApplyBegin();
    put(STORE_CF_DATA, "k3", "v3");
    storeClear(STORE_CF_EXPIRE, 4);
    CHECK(holds("k3", "v3"));
    put(STORE_CF_DATA, "k1", "v1b");
    storeClear(STORE_CF_DATA, 5);
    CHECK(holds("k1", NULL));
    CHECK(holds("k2", NULL));
    CHECK(holds("k3", NULL));
    put(STORE_CF_DATA, "k4", "v4");
    CHECK(holds("k4", "v4"));
    storeApplyCommit(5);
    CHECK(holds("k1", NULL));
    CHECK(holds("k3", NULL));
    CHECK(holds("k4", "v4"));
    storeClose();
    CHECK(openStore() == 0);
    CHECK(holds("k1", NULL));
    CHECK(holds("k4", "v4"));
    storeClose();
}

/* A cache that holds every present key answers a key it lacks as absent without
 * asking RocksDB (no miss counted); once it drops a present row it asks again. */
TEST(test_read_cache_complete_until_a_present_row_goes) {
    freshDir();
    CHECK(openStore() == 0);
    CHECK(stats().read_cache_complete);        /* fresh: the data CF is empty */
    uint64_t m0 = stats().read_cache_misses;
    commitOne(1, "a", "1");
    commitOne(2, "gone", "x");
    commitOne(3, "gone", NULL);
    CHECK(holds("a", "1"));
    CHECK(holds("gone", NULL));
    CHECK(holds("never", NULL));
    CHECK_EQ_INT(stats().read_cache_misses - m0, 0);
    CHECK(stats().read_cache_complete);

    /* Reopened over data: the cache starts empty, so incomplete; RocksDB answers. */
    storeClose();
    CHECK(openStore() == 0);
    CHECK(!stats().read_cache_complete);
    m0 = stats().read_cache_misses;
    CHECK(holds("a", "1"));
    CHECK(holds("never", NULL));
    CHECK_EQ_INT(stats().read_cache_misses - m0, 2);

    /* Clearing the data CF makes it complete again. */
    storeApplyBegin();
    storeClear(STORE_CF_DATA, 4);
    CHECK(stats().read_cache_complete);
    CHECK(holds("a", NULL));
    put(STORE_CF_DATA, "b", "2");
    storeApplyCommit(4);
    CHECK(holds("b", "2"));
    CHECK(holds("a", NULL));

    /* A present row too big to cache ends it; the row is still read from the DB. */
    char big[2000];
    memset(big, 'B', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    storeSetReadCacheBytes(64 << 10);           /* rows over 1 KB are not cached */
    commitOne(5, "big", big);
    CHECK(!stats().read_cache_complete);
    CHECK(holds("big", big));
    CHECK(holds("b", "2"));
    CHECK(holds("a", NULL));
    storeClose();

    /* Eviction of a present row ends it as well; every row stays readable. */
    freshDir();
    CHECK(openStore() == 0);
    CHECK(stats().read_cache_complete);
    char k[32];
    storeApplyBegin();
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof(k), "key%d", i);
        put(STORE_CF_DATA, k, k);
    }
    storeApplyCommit(1);
    CHECK(!stats().read_cache_complete);
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof(k), "key%d", i);
        CHECK(holds(k, k));
    }
    CHECK(holds("never", NULL));
    storeClose();
    storeSetReadCacheBytes(STORE_DEFAULT_READ_CACHE_BYTES);
}

TEST(test_read_cache_eviction_and_big_rows) {
    freshDir();
    storeSetReadCacheBytes(64 << 10); /* rows over 1 KB are not cached */
    CHECK(openStore() == 0);
    char k[32], v[64], big[3000];
    storeApplyBegin();
    for (int i = 0; i < 3000; i++) {
        snprintf(k, sizeof(k), "key%d", i);
        snprintf(v, sizeof(v), "value-%d-%0*d", i, i % 40, 0);
        put(STORE_CF_DATA, k, v);
    }
    storeApplyCommit(1);
    storeApplyWait(); /* written: the rows go through the read cache from here on */
    storeValue held;
    CHECK(storeGet(STORE_CF_DATA, "key7", 4, &held));
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3000; i++) {
            snprintf(k, sizeof(k), "key%d", i);
            snprintf(v, sizeof(v), "value-%d-%0*d", i, i % 40, 0);
            CHECK(holds(k, v));
        }
    }
    storeStats st;
    storeGetStats(&st);
    CHECK(st.read_cache_used_bytes <= 64 << 10);
    CHECK(st.read_cache_used_bytes > 32 << 10);
    CHECK_MEM(held.ptr, held.len, "value-7-0000000");
    storeValueFree(&held);

    /* A big row (served by the batch's overlay, then not cached) and overwrites both
     * ways. */
    memset(big, 'B', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(holds("key1", "value-1-0"));
    storeApplyBegin();
    put(STORE_CF_DATA, "key1", big);
    CHECK(holds("key1", big));
    storeApplyCommit(2);
    CHECK(holds("key1", big));
    CHECK(holds("key1", big));
    commitOne(3, "key1", "small");
    CHECK(holds("key1", "small"));
    commitOne(4, "key1", big);
    CHECK(holds("key1", big));
    storeApplyBegin();
    put(STORE_CF_DATA, "key1", "small2");
    CHECK(holds("key1", "small2"));
    put(STORE_CF_DATA, "key1", big);
    CHECK(holds("key1", big));
    storeApplyCommit(5);
    CHECK(holds("key1", big));

    /* Shrinking evicts at once; 0 turns the cache off. */
    storeSetReadCacheBytes(4 << 10);
    storeGetStats(&st);
    CHECK(st.read_cache_used_bytes <= 4 << 10);
    storeSetReadCacheBytes(0);
    storeGetStats(&st);
    CHECK_EQ_INT(st.read_cache_used_bytes, 0);
    CHECK(holds("key2", "value-2-00"));
    storeClose();
    storeSetReadCacheBytes(STORE_DEFAULT_READ_CACHE_BYTES);
}

/* Random writes, deletes, clears, commits and reopens over 40 keys, with a cache small
 * enough to evict and values on both sides of the cacheable size, checked against a
 * model after every step. Bounded: 6000 steps. */
TEST(test_read_cache_matches_model) {
    enum { KEYS = 40, STEPS = 6000 };
    static char model[KEYS][700], pending[KEYS][700];
    static int present[KEYS], pend_present[KEYS];
    char k[16];
    unsigned seed = 12345;
    uint64_t idx = 1;
    int in_batch = 0;

    freshDir();
    storeSetReadCacheBytes(8 << 10); /* rows over 128 bytes are not cached */
    CHECK(openStore() == 0);
    memset(present, 0, sizeof(present));
    for (int step = 0; step < STEPS; step++) {
        int op = rand_r(&seed) % 100, i = rand_r(&seed) % KEYS;
        snprintf(k, sizeof(k), "k%d", i);
        if (!in_batch && op < 30) {
            storeApplyBegin();
            memcpy(pending, model, sizeof(model));
            memcpy(pend_present, present, sizeof(present));
            in_batch = 1;
        } else if (in_batch && op < 12) {
            storeApplyCommit(idx++);
            memcpy(model, pending, sizeof(model));
            memcpy(present, pend_present, sizeof(present));
            in_batch = 0;
        } else if (in_batch && op < 40) {
            int len = rand_r(&seed) % 3 ? rand_r(&seed) % 60 : rand_r(&seed) % 600;
            for (int j = 0; j < len; j++) pending[i][j] = (char)('a' + rand_r(&seed) % 26);
            pending[i][len] = '\0';
            pend_present[i] = 1;
            put(STORE_CF_DATA, k, pending[i]);
        } else if (in_batch && op < 50) {
            pend_present[i] = 0;
            storeDelete(STORE_CF_DATA, k, strlen(k));
        } else if (in_batch && op == 50) {
            storeClear(STORE_CF_DATA, ++idx);
            memset(pend_present, 0, sizeof(pend_present));
        } else if (!in_batch && op == 51) {
            storeClose();
            CHECK(openStore() == 0);
        } else if (op >= 97) {
            /* A prefetch hint over a run of keys, some cached, some not, then
             * the reads below must still agree with the model. */
            int n = 1 + rand_r(&seed) % 300;
            for (int j = 0; j < n; j++) {
                snprintf(k, sizeof(k), "k%d", (i + j) % (KEYS + 5));
                storePrefetchAdd(k, strlen(k));
            }
            storePrefetchEnd();
        } else {
            int want = in_batch ? pend_present[i] : present[i];
            CHECK(holds(k, want ? (in_batch ? pending[i] : model[i]) : NULL));
        }
    }
    if (in_batch) storeApplyCommit(idx);
    storeClose();
    storeSetReadCacheBytes(STORE_DEFAULT_READ_CACHE_BYTES);
}

static double nowSec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench(void) {
    freshDir();
    if (openStore() != 0) exit(2);
    const int rounds = 200;
    double t0 = nowSec();
    for (int i = 0; i < rounds; i++) logAppend(0, (uint64_t)i + 1, 1, 1);
    double one = (nowSec() - t0) / rounds;
    t0 = nowSec();
    for (int i = 0; i < rounds; i++) logAppend(0, (uint64_t)rounds + 1 + (uint64_t)i * 100, 100, 1);
    double hundred = (nowSec() - t0) / rounds;
    printf("synced storeLogWrite: 1 entry %.3f ms, 100 entries %.3f ms (avg of %d)\n",
           one * 1e3, hundred * 1e3, rounds);

    const int batches = 2000;
    char k[16], v[16];
    memset(v, 'v', sizeof(v));
    t0 = nowSec();
    for (int b = 0; b < batches; b++) {
        storeApplyBegin();
        for (int i = 0; i < 100; i++) {
            snprintf(k, sizeof(k), "key%012d", b * 100 + i);
            storePut(STORE_CF_DATA, k, 16, v, 16);
        }
        storeApplyCommit((uint64_t)b + 1);
    }
    double el = nowSec() - t0;
    printf("apply: %d puts of 16+16 bytes in batches of 100: %.0f puts/s (%.3f ms/batch)\n",
           batches * 100, batches * 100 / el, el / batches * 1e3);

    for (int in_batch = 0; in_batch <= 1; in_batch++) {
        storeValue got;
        int found = 0;
        if (in_batch) storeApplyBegin();
        t0 = nowSec();
        for (int i = 0; i < batches * 100; i++) {
            snprintf(k, sizeof(k), "key%012d", (i * 7919) % (batches * 100));
            if (storeGet(STORE_CF_DATA, k, 16, &got)) {
                found++;
                storeValueFree(&got);
            }
        }
        el = nowSec() - t0;
        if (in_batch) storeApplyCommit((uint64_t)batches + 1);
        printf("storeGet %s a batch: %.0f gets/s (%d found)\n", in_batch ? "inside" : "outside",
               batches * 100 / el, found);
    }
    storeClose();
}

static double cpuSec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The apply path of redis-benchmark -t set,get -r 100000 -d 16 -P 16 -c 50: batches of
 * 800 SETs (read the old record, put the new one) on random keys, then as many GETs.
 * Environment: BENCH_WBUF_MB (data memtable, default 64), BENCH_READ_CACHE (bytes,
 * 0 = off; default the store's). Prints process CPU (all threads) per operation. */
static void benchSetGet(void) {
    const int ops = 400000, per_batch = 800, keyspace = 100000;
    const char *wb = getenv("BENCH_WBUF_MB"), *rcb = getenv("BENCH_READ_CACHE");
    storeOptions o = {.block_cache_bytes = 256 << 20,
                      .write_buffer_bytes = (size_t)(wb ? atoi(wb) : 64) << 20};
    if (rcb) storeSetReadCacheBytes((size_t)strtoull(rcb, NULL, 10));
    char *err = NULL, k[32], v[25];
    freshDir();
    if (storeOpen(dir, &o, &err) != 0) exit(2);
    memset(v, 'x', sizeof(v));
    unsigned seed = 1;
    double c0 = cpuSec(), t0 = nowSec();
    for (int n = 0, b = 1; n < ops; b++) {
        storeApplyBegin();
        for (int i = 0; i < per_batch; i++, n++) {
            int kl = snprintf(k, sizeof(k), "\x01\x02key:%012d", rand_r(&seed) % keyspace);
            storeValue got;
            if (storeGet(STORE_CF_DATA, k, (size_t)kl, &got)) storeValueFree(&got);
            storePut(STORE_CF_DATA, k, (size_t)kl, v, sizeof(v));
        }
        storeApplyCommit((uint64_t)b);
    }
    printf("set: %.2f us cpu/op, %.2f us wall/op\n", (cpuSec() - c0) / ops * 1e6,
           (nowSec() - t0) / ops * 1e6);
    c0 = cpuSec();
    t0 = nowSec();
    for (int n = 0; n < ops; n++) {
        int kl = snprintf(k, sizeof(k), "\x01\x02key:%012d", rand_r(&seed) % keyspace);
        storeValue got;
        if (storeGet(STORE_CF_DATA, k, (size_t)kl, &got)) storeValueFree(&got);
    }
    printf("get: %.2f us cpu/op, %.2f us wall/op\n", (cpuSec() - c0) / ops * 1e6,
           (nowSec() - t0) / ops * 1e6);
    storeClose();
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--crash-child") == 0) {
        snprintf(dir, sizeof(dir), "%s", argv[3]);
        if (strcmp(argv[2], "batch") == 0) crashChild(0);
        if (strcmp(argv[2], "clear") == 0) crashChild(1);
        if (strcmp(argv[2], "commits") == 0) crashAfterCommits();
        if (strcmp(argv[2], "kicked") == 0) crashAfterKickedCommits();
        return 2;
    }
    if (argc > 1 && strcmp(argv[1], "--bench-setget") == 0) {
        benchSetGet();
    } else if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
        bench();
    } else {
        RUN(test_fresh_store_is_empty);
        RUN(test_open_errors_are_reported);
        RUN(test_log_append_truncate_scan);
        RUN(test_log_compact_keeps_start);
        RUN(test_checkpoint_prepare_swap);
        RUN(test_reopen_keeps_everything);
        RUN(test_batch_reads_see_own_writes);
        RUN(test_iterator_merges_batch_and_db);
        RUN(test_clear_is_atomic_with_applied_index);
        RUN(test_crash_drops_uncommitted_batch);
        RUN(test_crash_after_clear_leaves_entry_to_replay);
        RUN(test_crash_loses_only_whole_last_batches);
        RUN(test_reads_see_committed_batch_in_flight);
        RUN(test_log_writes_concurrent_with_apply);
        RUN(test_kicked_commits_are_read_and_kept);
        RUN(test_crash_with_kicked_commits_keeps_a_prefix);
        RUN(test_carried_commits_go_out_when_the_loop_idles);
        RUN(test_released_carry_goes_to_the_writer);
        RUN(test_read_cache_overwrite_delete_absent);
        RUN(test_read_cache_batch_overlay);
        RUN(test_read_cache_clear);
        RUN(test_read_cache_complete_until_a_present_row_goes);
        RUN(test_read_cache_eviction_and_big_rows);
        RUN(test_read_cache_matches_model);
        /* The batch read paths again, with a read cache that keeps nothing. */
        storeSetReadCacheBytes(0);
        RUN(test_batch_reads_see_own_writes);
        RUN(test_clear_is_atomic_with_applied_index);
        RUN(test_reopen_keeps_everything);
        RUN(test_reads_see_committed_batch_in_flight);
        RUN(test_kicked_commits_are_read_and_kept);
        storeSetReadCacheBytes(STORE_DEFAULT_READ_CACHE_BYTES);
    }
    if (dir[0]) nftw(dir, rmEntry, 16, FTW_DEPTH | FTW_PHYS);
    return argc > 1 ? 0 : TEST_REPORT();
}
