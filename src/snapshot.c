/* snapshot.c — state machine snapshots: taking them, streaming them to a
 * follower, receiving and installing them.
 *
 * What it owns, under the data directory D (the store lives in D/db):
 *   D/snapshots/<index>-<term>/  this node's newest sealed snapshot: a RocksDB
 *       checkpoint (hard links to the store's SST files, copies of its live
 *       WAL) plus SNAPSHOT_META, written last, which names the snapshot's
 *       index, term, membership and every file with its size and CRC-32C.
 *       Older ones are deleted once no transfer reads them.
 *   D/snapshots/tmp/  a checkpoint being taken (on a libuv worker thread).
 *   D/snapshot-recv/  a snapshot being received from the leader.
 * Both temporary directories are removed at startup: whatever they held is
 * either incomplete or an old database already replaced.
 *
 * Taking one: the store makes the checkpoint and reports its applied index;
 * the replica supplies the term and membership as of that index; the meta
 * file is synced and the directory renamed into place; then the core hears
 * of it (raftSnapshotTaken) and the replica compacts its log.
 *
 * Sending one (leader, on the core's RAFT_MSG_SNAPSHOT): RAFT.SNAPSHOT BEGIN
 * <id> <meta> asks the follower where to resume (file, offset); CHUNK <id>
 * <file> <offset> <bytes> carries snapshot-chunk-bytes at a time, read
 * asynchronously, at most SEND_WINDOW unanswered (flow control: the link
 * and the loop stay free for other traffic); END <id> asks the follower to
 * install it, answered once it did. Any error or a lost link ends the
 * transfer and tells the core (raftSnapshotFailed), which asks again
 * later; the next BEGIN of the same snapshot resumes where the follower is.
 *
 * Receiving one: chunks are written in order, each file's size and CRC-32C
 * checked (and the file fsynced) when its last byte arrives. END waits
 * until no log write is in flight, then the store prepares the received
 * database (this node's hard state and log tail go into it) and swaps it in
 * atomically (storeSwap); in-memory state is reloaded from it and the core
 * told (raftSnapshotInstalled). A crash before the swap leaves the old
 * database, after it the new one.
 *
 * Failure modes: a checkpoint that fails is logged and retried on a later
 * tick; a transfer that fails is retried by the core; a corrupt chunk
 * (checksum, order, names) is refused, never installed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <limits.h>
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
#include "replica_io.h"
#include "server.h"
#include "snapshot.h"
#include "store.h"
#include "transport.h"
#include "util.h"

#define SNAPSHOT_META "raftkv-snapshot.meta"
#define META_MAGIC "raftkv-snapshot 1"
#define SEND_WINDOW 2               /* CHUNKs sent and not answered, per transfer */
#define MAX_FILE_NAME 128
#define MAX_FILES 100000

typedef struct snapFile {
    char name[MAX_FILE_NAME];
    uint64_t size;
    uint32_t crc;
} snapFile;

/* A sealed snapshot, referenced by `latest` and by each transfer reading it. */
typedef struct snapshot {
    uint64_t index, term;
    raftConfState conf;
    char dir[PATH_MAX];
    char *meta;                     /* the meta file's text, sent in BEGIN */
    size_t meta_len;
    snapFile *files;
    int nfiles;
    uint64_t bytes;
    int refs;
} snapshot;

static char snaps_dir[PATH_MAX], tmp_dir[PATH_MAX], recv_dir[PATH_MAX];
static snapshot *latest;
static snapshotStats stats;

/* ------------------------------------------------------------- files */

static int rmEntry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static void rmTree(const char *path) {
    if (access(path, F_OK) != 0) return;
    if (nftw(path, rmEntry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        serverLog(LL_WARNING, "Snapshot: cannot remove %s: %s", path, strerror(errno));
}

/* dir + "/" + name into out (PATH_MAX); 0, or -1 (out empty) when too long. */
static int pathJoin(char *out, const char *dir, const char *name) {
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    if (n >= 0 && n < PATH_MAX) return 0;
    out[0] = '\0';
    return -1;
}

static int syncPath(const char *path, int flags) {
    int fd = open(path, flags);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* A file name a peer may make us write: no path, no dot names. */
static int validFileName(const char *s, size_t len) {
    if (len == 0 || len >= MAX_FILE_NAME || (s[0] == '.')) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* Size and CRC-32C of dir/name. */
static int fileSum(const char *dir, const char *name, uint64_t *size, uint32_t *crc) {
    char path[PATH_MAX];
    if (pathJoin(path, dir, name) != 0) return -1;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    char *buf = malloc(1 << 20);
    if (!buf) {
        close(fd);
        return -1;
    }
    uint32_t c = 0;
    uint64_t n = 0;
    ssize_t r;
    while ((r = read(fd, buf, 1 << 20)) > 0) {
        c = crc32c(c, buf, (size_t)r);
        n += (uint64_t)r;
    }
    close(fd);
    free(buf);
    if (r < 0) return -1;
    *size = n;
    *crc = c;
    return 0;
}

/* ------------------------------------------------------------- meta */

static void snapshotFree(snapshot *s) {
    free(s->meta);
    free(s->files);
    free(s);
}

typedef struct rmJob {
    uv_work_t req;
    char dir[PATH_MAX];
} rmJob;

static void runRemove(uv_work_t *req) {
    rmTree(((rmJob *)req->data)->dir);
}

static void afterRemove(uv_work_t *req, int status) {
    free(req->data);
}

/* Removes r->dir on a worker thread: unlinking a directory's files took the loop
 * up to ~100 ms on a busy disk. */
static void removeOnWorker(rmJob *r) {
    r->req.data = r;
    int rc = uv_queue_work(uv_default_loop(), &r->req, runRemove, afterRemove);
    if (rc != 0) serverPanic("uv_queue_work: %s", uv_strerror(rc));
}

/* Drops a reference. The last one removes the snapshot's directory on a worker
 * thread; a crash first leaves a directory that the next start removes. */
static void unref(snapshot *s) {
    if (!s || --s->refs) return;
    rmJob *r = malloc(sizeof(*r));
    serverAssert(r != NULL);
    memcpy(r->dir, s->dir, sizeof(r->dir));
    removeOnWorker(r);
    snapshotFree(s);
}

#define TRASH_PREFIX "trash-"

/* Moves dir (under server.dir) to a fresh TRASH_PREFIX name, so that its path is
 * free at once, and removes it on a worker thread; a crash first leaves the trash
 * directory, which the next start removes (snapshotInit). */
static void removeLater(const char *dir) {
    static unsigned long long seq;
    rmJob *r = malloc(sizeof(*r));
    serverAssert(r != NULL);
    char name[64];
    snprintf(name, sizeof(name), TRASH_PREFIX "%llu", ++seq);
    if (pathJoin(r->dir, server.dir, name) != 0 || rename(dir, r->dir) != 0) {
        free(r);
        rmTree(dir);
        return;
    }
    removeOnWorker(r);
}

static char *formatMeta(const snapshot *s, size_t *len) {
    unsigned char conf[RAFT_CONF_STATE_MAX_LEN];
    size_t clen = raftConfStateEncode(&s->conf, conf);
    size_t cap = 256 + 2 * clen + (size_t)s->nfiles * (MAX_FILE_NAME + 48);
    char *m = malloc(cap);
    serverAssert(m != NULL);
    size_t n = (size_t)snprintf(m, cap, "%s\nindex %llu\nterm %llu\nconf ", META_MAGIC,
                                (unsigned long long)s->index, (unsigned long long)s->term);
    for (size_t i = 0; i < clen; i++) n += (size_t)snprintf(m + n, cap - n, "%02x", conf[i]);
    n += (size_t)snprintf(m + n, cap - n, "\nfiles %d\n", s->nfiles);
    for (int i = 0; i < s->nfiles; i++)
        n += (size_t)snprintf(m + n, cap - n, "%llu %08x %s\n", (unsigned long long)s->files[i].size,
                              s->files[i].crc, s->files[i].name);
    *len = n;
    return m;
}

/* Parses a meta text (len bytes) into s (files allocated). Returns 0 or -1. */
static int parseMeta(const char *text, size_t len, snapshot *s) {
    char *t = malloc(len + 1);
    serverAssert(t != NULL);
    memcpy(t, text, len);
    t[len] = '\0';
    char *save = NULL, *line = strtok_r(t, "\n", &save);
    unsigned long long index, term;
    const char *hex = NULL;
    int nfiles, ok = line && strcmp(line, META_MAGIC) == 0;
    ok = ok && (line = strtok_r(NULL, "\n", &save)) && sscanf(line, "index %llu", &index) == 1;
    ok = ok && (line = strtok_r(NULL, "\n", &save)) && sscanf(line, "term %llu", &term) == 1;
    ok = ok && (line = strtok_r(NULL, "\n", &save)) && strncmp(line, "conf ", 5) == 0;
    if (ok) hex = line + 5;
    ok = ok && (line = strtok_r(NULL, "\n", &save)) && sscanf(line, "files %d", &nfiles) == 1 && nfiles > 0 &&
         nfiles <= MAX_FILES;
    if (ok) {
        unsigned char conf[RAFT_CONF_STATE_MAX_LEN];
        size_t hl = strlen(hex);
        ok = hl % 2 == 0 && hl / 2 <= sizeof(conf) && strspn(hex, "0123456789abcdef") == hl;
        for (size_t i = 0; ok && i < hl / 2; i++) {
            unsigned v;
            ok = sscanf(hex + 2 * i, "%2x", &v) == 1;
            conf[i] = (unsigned char)v;
        }
        ok = ok && raftConfStateDecode(conf, hl / 2, &s->conf) == 0 && index > 0 && term > 0;
    }
    if (ok) {
        s->index = index;
        s->term = term;
        s->files = calloc((size_t)nfiles, sizeof(snapFile));
        serverAssert(s->files != NULL);
        s->nfiles = nfiles;
        s->bytes = 0;
        for (int i = 0; ok && i < nfiles; i++) {
            unsigned long long size;
            unsigned crc;
            char name[MAX_FILE_NAME + 1];
            ok = (line = strtok_r(NULL, "\n", &save)) && sscanf(line, "%llu %8x %128s", &size, &crc, name) == 3 &&
                 validFileName(name, strlen(name));
            if (ok) {
                for (int j = 0; j < i && ok; j++) ok = strcmp(s->files[j].name, name) != 0;
                memcpy(s->files[i].name, name, strlen(name) + 1);
                s->files[i].size = size;
                s->files[i].crc = crc;
                s->bytes += size;
            }
        }
        ok = ok && strtok_r(NULL, "\n", &save) == NULL;
        if (!ok) {
            free(s->files);
            s->files = NULL;
        }
    }
    free(t);
    return ok ? 0 : -1;
}

/* Loads the sealed snapshot in dir, or NULL. */
static snapshot *loadSealed(const char *dir) {
    char path[PATH_MAX];
    if (pathJoin(path, dir, SNAPSHOT_META) != 0) return NULL;
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *text = NULL;
    size_t cap = 0, len = 0, r;
    do {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            text = realloc(text, cap);
            serverAssert(text != NULL);
        }
        r = fread(text + len, 1, cap - len, f);
        len += r;
    } while (r > 0);
    fclose(f);
    snapshot *s = calloc(1, sizeof(*s));
    serverAssert(s != NULL);
    if (parseMeta(text, len, s) != 0) {
        free(text);
        free(s);
        return NULL;
    }
    s->meta = text;
    s->meta_len = len;
    memcpy(s->dir, path, strlen(dir));
    s->dir[strlen(dir)] = '\0';
    s->refs = 1;
    return s;
}

/* -------------------------------------------------------- taking one */

typedef struct ckptJob {
    uv_work_t req;
    snapshot *prev;                 /* referenced: its SST files' sums are reused */
    uint64_t applied;
    char *err;
    snapFile *files;
    int nfiles;
    uint64_t bytes;
    long long start_ms;
    snapshot *sealing;              /* the snapshot being sealed (runSeal) */
} ckptJob;

static ckptJob *ckpt;               /* the checkpoint being taken */

typedef struct snapSend snapSend;
static void startWaitingSends(void);
static void failWaitingSends(void);

static int cmpFile(const void *a, const void *b) {
    return strcmp(((const snapFile *)a)->name, ((const snapFile *)b)->name);
}

/* SST files never change once written: one the previous snapshot holds
 * (same name, same size here) keeps its checksum, so a snapshot reads only
 * the files written since. */
static int reuseSum(const snapshot *prev, snapFile *f) {
    size_t len = strlen(f->name);
    if (!prev || len < 4 || strcmp(f->name + len - 4, ".sst") != 0) return 0;
    snapFile key;
    memcpy(key.name, f->name, len + 1);
    const snapFile *old = bsearch(&key, prev->files, (size_t)prev->nfiles, sizeof(snapFile), cmpFile);
    char path[PATH_MAX];
    struct stat sb;
    if (!old || pathJoin(path, tmp_dir, f->name) != 0 || stat(path, &sb) != 0 || (uint64_t)sb.st_size != old->size)
        return 0;
    f->size = old->size;
    f->crc = old->crc;
    return 1;
}

static void runCheckpoint(uv_work_t *req) {
    ckptJob *j = req->data;
    if (storeCheckpoint(tmp_dir, &j->applied, &j->err) != 0) return;
    DIR *d = opendir(tmp_dir);
    if (!d) {
        j->err = strdup("cannot list the checkpoint");
        return;
    }
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && !j->err) {
        if (e->d_name[0] == '.') continue;
        if (!validFileName(e->d_name, strlen(e->d_name)) || j->nfiles == MAX_FILES) {
            j->err = strdup("unexpected file in the checkpoint");
            break;
        }
        if (j->nfiles == cap) {
            cap = cap ? cap * 2 : 64;
            j->files = realloc(j->files, sizeof(snapFile) * (size_t)cap);
            serverAssert(j->files != NULL);
        }
        snapFile *f = &j->files[j->nfiles++];
        memcpy(f->name, e->d_name, strlen(e->d_name) + 1);
        if (reuseSum(j->prev, f)) j->bytes += f->size;
        else if (fileSum(tmp_dir, f->name, &f->size, &f->crc) != 0) j->err = strdup("cannot read a checkpoint file");
        else j->bytes += f->size;
    }
    closedir(d);
    if (!j->err) qsort(j->files, (size_t)j->nfiles, sizeof(snapFile), cmpFile);
}

/* Ends job j (ckpt is free again) without a new snapshot: s, the one it would have
 * been (or NULL), is dropped; why (or NULL: nothing new to take) is logged as a
 * failure, which fails the sends waiting for a fresh snapshot. */
static void ckptEnd(ckptJob *j, snapshot *s, const char *why) {
    ckpt = NULL;
    rmTree(tmp_dir);
    if (why) {
        serverLog(LL_WARNING, "Snapshot: taking a checkpoint failed: %s", why);
        stats.failed++;
        failWaitingSends();
    } else {
        startWaitingSends();
    }
    if (s) snapshotFree(s);
    free(j->files);
    free(j->err);
    free(j);
}

/* Worker thread: writes the meta file into the checkpoint and seals it under its
 * final name, every step synced. */
static void runSeal(uv_work_t *req) {
    ckptJob *j = req->data;
    snapshot *s = j->sealing;
    char path[PATH_MAX];
    pathJoin(path, tmp_dir, SNAPSHOT_META);
    FILE *f = fopen(path, "w");
    int ok = f && fwrite(s->meta, 1, s->meta_len, f) == s->meta_len;
    ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    if (f) fclose(f);
    ok = ok && syncPath(tmp_dir, O_RDONLY | O_DIRECTORY) == 0 && rename(tmp_dir, s->dir) == 0 &&
         syncPath(snaps_dir, O_RDONLY | O_DIRECTORY) == 0;
    if (!ok) j->err = strdup(strerror(errno));
}

static void afterSeal(uv_work_t *req, int status) {
    ckptJob *j = req->data;
    snapshot *s = j->sealing;
    if (j->err) {
        ckptEnd(j, s, j->err);
        return;
    }
    ckpt = NULL;
    serverLog(LL_NOTICE, "Snapshot: taken at index %llu (term %llu): %d files, %llu bytes, in %lld ms",
              (unsigned long long)s->index, (unsigned long long)s->term, s->nfiles, (unsigned long long)s->bytes,
              mstime() - j->start_ms);
    stats.taken++;
    unref(latest);
    latest = s;
    free(j);   /* its files moved into s */
    replicaSnapshotTaken(s->index, s->term);
    startWaitingSends();
}

/* Loop thread: the checkpoint is taken; names its index's term and membership (the
 * core's, so here), then hands the sealing's synced writes to a worker: the loop
 * never waits on the disk. The job stays ckpt (ioSnapshotBusy) until sealed. */
static void afterCheckpoint(uv_work_t *req, int status) {
    ckptJob *j = req->data;
    unref(j->prev);
    j->prev = NULL;
    if (j->err) {
        ckptEnd(j, NULL, j->err);
        return;
    }
    snapshot *s = calloc(1, sizeof(*s));
    serverAssert(s != NULL);
    s->index = j->applied;
    s->files = j->files;
    s->nfiles = j->nfiles;
    s->bytes = j->bytes;
    j->files = NULL;
    s->refs = 1;
    if (latest && latest->index >= s->index) {
        ckptEnd(j, s, NULL);   /* nothing applied since the last one: keep that */
        return;
    }
    if (replicaSnapshotMeta(s->index, &s->term, &s->conf) != 0) {
        ckptEnd(j, s, "the log no longer holds the checkpoint's index");
        return;
    }
    s->meta = formatMeta(s, &s->meta_len);
    char name[64];
    snprintf(name, sizeof(name), "%llu-%llu", (unsigned long long)s->index, (unsigned long long)s->term);
    pathJoin(s->dir, snaps_dir, name);
    j->sealing = s;
    int rc = uv_queue_work(uv_default_loop(), &j->req, runSeal, afterSeal);
    if (rc != 0) serverPanic("uv_queue_work: %s", uv_strerror(rc));
}

void ioTakeSnapshot(void) {
    if (ckpt) return;
    rmTree(tmp_dir);
    ckpt = calloc(1, sizeof(*ckpt));
    serverAssert(ckpt != NULL);
    ckpt->req.data = ckpt;
    ckpt->start_ms = mstime();
    /* The carried commits go to the writer now: under a steady load a carry could
     * otherwise stay out of every checkpoint for long (this one may still miss them,
     * the next has them). Waiting for them made each snapshot longer: in
     * test_log_stays_bounded... the log spanned up to 338-450 entries vs 298-355. */
    storeApplyRelease();
    ckpt->prev = latest;
    if (latest) latest->refs++;
    int rc = uv_queue_work(uv_default_loop(), &ckpt->req, runCheckpoint, afterCheckpoint);
    if (rc != 0) serverPanic("uv_queue_work: %s", uv_strerror(rc));
}

int ioSnapshotBusy(void) {
    return ckpt != NULL;
}

uint64_t ioLatestSnapshotIndex(void) {
    return latest ? latest->index : 0;
}

/* ----------------------------------------------------------- sending */

struct snapSend {
    uint64_t peer, min_index;
    snapshot *s;                    /* NULL while waiting for a checkpoint */
    char id[64];
    int active;                     /* in `sends`; 0 once finished or failed */
    int pending;                    /* callbacks still to come (reads, replies) */
    int began, ending, reading, inflight;
    int file;                       /* next chunk to read: file, offset */
    uint64_t offset;
    uv_file fd;
    uv_fs_t req;
    char *buf;
    uint64_t sent_bytes;
    long long start_ms;
    snapSend *next;
};

static snapSend *sends;

static void sendRelease(snapSend *ss) {
    if (ss->active || ss->pending) return;
    if (ss->fd >= 0) {
        uv_fs_t r;
        uv_fs_close(uv_default_loop(), &r, ss->fd, NULL);
        uv_fs_req_cleanup(&r);
    }
    unref(ss->s);
    free(ss->buf);
    free(ss);
}

static void sendUnlink(snapSend *ss) {
    snapSend **pp = &sends;
    while (*pp && *pp != ss) pp = &(*pp)->next;
    if (*pp) *pp = ss->next;
    ss->active = 0;
}

static void sendFail(snapSend *ss, const char *why) {
    if (!ss->active) return;
    serverLog(LL_WARNING, "Snapshot: sending index %llu to node %llu failed: %s (the transfer resumes when retried)",
              (unsigned long long)(ss->s ? ss->s->index : 0), (unsigned long long)ss->peer, why);
    stats.failed++;
    sendUnlink(ss);
    replicaSnapshotSendFailed(ss->peer);
    sendRelease(ss);
}

static void pump(snapSend *ss);

static int sendCall(snapSend *ss, int argc, const char **argv, const size_t *lens, transportReplyFn *cb) {
    if (transportCall(ss->peer, argc, argv, lens, cb, ss) != C_OK) {
        sendFail(ss, "the link to the peer is down");
        return -1;
    }
    ss->pending++;
    return 0;
}

/* Takes the reply's turn: returns 1 when the transfer goes on with r. */
static int replyTurn(snapSend *ss, redisReply *r, const char *what) {
    ss->pending--;
    if (!ss->active) {
        sendRelease(ss);
        return 0;
    }
    if (!r) {
        sendFail(ss, "the link to the peer was lost");
        return 0;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        char why[256];
        snprintf(why, sizeof(why), "%s refused: %s", what, r->str);
        sendFail(ss, why);
        return 0;
    }
    return 1;
}

static void onEndReply(redisReply *r, void *pd) {
    snapSend *ss = pd;
    if (!replyTurn(ss, r, "END")) return;
    serverLog(LL_NOTICE, "Snapshot: index %llu sent to node %llu and installed there: %llu bytes in %lld ms",
              (unsigned long long)ss->s->index, (unsigned long long)ss->peer, (unsigned long long)ss->sent_bytes,
              mstime() - ss->start_ms);
    stats.sent++;
    sendUnlink(ss);
    sendRelease(ss);
}

static void onChunkReply(redisReply *r, void *pd) {
    snapSend *ss = pd;
    ss->inflight--;
    if (!replyTurn(ss, r, "CHUNK")) return;
    pump(ss);
}

static void sendChunk(snapSend *ss, const char *data, size_t len, int file, uint64_t offset) {
    char fs[24], os[24];
    snprintf(fs, sizeof(fs), "%d", file);
    snprintf(os, sizeof(os), "%llu", (unsigned long long)offset);
    const char *argv[6] = {"RAFT.SNAPSHOT", "CHUNK", ss->id, fs, os, data};
    size_t lens[6] = {13, 5, strlen(ss->id), strlen(fs), strlen(os), len};
    if (sendCall(ss, 6, argv, lens, onChunkReply) != 0) return;
    ss->inflight++;
    ss->sent_bytes += len;
    stats.bytes_sent += len;
}

/* Moves to the next chunk after one of len bytes at (file, offset). */
static void advance(snapSend *ss, size_t len) {
    ss->offset += len;
    if (ss->offset >= ss->s->files[ss->file].size) {
        if (ss->fd >= 0) {
            uv_fs_t r;
            uv_fs_close(uv_default_loop(), &r, ss->fd, NULL);
            uv_fs_req_cleanup(&r);
            ss->fd = -1;
        }
        ss->file++;
        ss->offset = 0;
    }
}

static void onRead(uv_fs_t *req) {
    snapSend *ss = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    ss->reading = 0;
    ss->pending--;
    if (!ss->active) {
        sendRelease(ss);
        return;
    }
    uint64_t left = ss->s->files[ss->file].size - ss->offset;
    size_t want = left < (uint64_t)server.snapshot_chunk_bytes ? (size_t)left : (size_t)server.snapshot_chunk_bytes;
    if (n < 0 || (size_t)n != want) {
        sendFail(ss, n < 0 ? uv_strerror((int)n) : "a snapshot file is shorter than recorded");
        return;
    }
    int file = ss->file;
    uint64_t offset = ss->offset;
    advance(ss, want);
    sendChunk(ss, ss->buf, want, file, offset);
    if (ss->active) pump(ss);
}

static void pump(snapSend *ss) {
    snapshot *s = ss->s;
    if (!ss->active || !ss->began || ss->reading || ss->ending) return;
    while (ss->active && !ss->reading && ss->inflight < SEND_WINDOW && ss->file < s->nfiles) {
        const snapFile *f = &s->files[ss->file];
        if (f->size == 0) {
            /* An empty file still has to exist on the other side. */
            int file = ss->file;
            advance(ss, 0);
            sendChunk(ss, "", 0, file, 0);
            continue;
        }
        if (ss->fd < 0) {
            char path[PATH_MAX];
            pathJoin(path, s->dir, f->name);
            uv_fs_t r;
            int fd = uv_fs_open(uv_default_loop(), &r, path, O_RDONLY, 0, NULL);
            uv_fs_req_cleanup(&r);
            if (fd < 0) {
                sendFail(ss, uv_strerror(fd));
                return;
            }
            ss->fd = fd;
        }
        uint64_t left = f->size - ss->offset;
        size_t want = left < (uint64_t)server.snapshot_chunk_bytes ? (size_t)left : (size_t)server.snapshot_chunk_bytes;
        ss->buf = realloc(ss->buf, (size_t)server.snapshot_chunk_bytes);
        serverAssert(ss->buf != NULL);
        uv_buf_t b = uv_buf_init(ss->buf, (unsigned)want);
        ss->req.data = ss;
        int rc = uv_fs_read(uv_default_loop(), &ss->req, ss->fd, &b, 1, (int64_t)ss->offset, onRead);
        if (rc < 0) {
            sendFail(ss, uv_strerror(rc));
            return;
        }
        ss->reading = 1;
        ss->pending++;
    }
    if (ss->active && ss->file >= s->nfiles && ss->inflight == 0 && !ss->reading) {
        const char *argv[3] = {"RAFT.SNAPSHOT", "END", ss->id};
        size_t lens[3] = {13, 3, strlen(ss->id)};
        if (sendCall(ss, 3, argv, lens, onEndReply) == 0) ss->ending = 1;
    }
}

static void onBeginReply(redisReply *r, void *pd) {
    snapSend *ss = pd;
    if (!replyTurn(ss, r, "BEGIN")) return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER || r->element[0]->integer < 0 ||
        r->element[0]->integer > ss->s->nfiles || r->element[1]->integer < 0 ||
        (r->element[0]->integer < ss->s->nfiles &&
         (uint64_t)r->element[1]->integer > ss->s->files[r->element[0]->integer].size)) {
        sendFail(ss, "unexpected BEGIN reply");
        return;
    }
    ss->file = (int)r->element[0]->integer;
    ss->offset = (uint64_t)r->element[1]->integer;
    ss->began = 1;
    if (ss->file > 0 || ss->offset > 0)
        serverLog(LL_NOTICE, "Snapshot: node %llu already has part of index %llu: resuming at file %d offset %llu",
                  (unsigned long long)ss->peer, (unsigned long long)ss->s->index, ss->file,
                  (unsigned long long)ss->offset);
    pump(ss);
}

static void startSend(snapSend *ss) {
    ss->s = latest;
    latest->refs++;
    snprintf(ss->id, sizeof(ss->id), "%llu-%llu-%llu", (unsigned long long)latest->index,
             (unsigned long long)latest->term, (unsigned long long)server.node_id);
    ss->start_ms = mstime();
    serverLog(LL_NOTICE, "Snapshot: sending index %llu (term %llu, %d files, %llu bytes) to node %llu",
              (unsigned long long)latest->index, (unsigned long long)latest->term, latest->nfiles,
              (unsigned long long)latest->bytes, (unsigned long long)ss->peer);
    const char *argv[4] = {"RAFT.SNAPSHOT", "BEGIN", ss->id, latest->meta};
    size_t lens[4] = {13, 5, strlen(ss->id), latest->meta_len};
    sendCall(ss, 4, argv, lens, onBeginReply);
}

static void startWaitingSends(void) {
    for (snapSend *ss = sends, *next; ss; ss = next) {
        next = ss->next;
        if (ss->s) continue;
        if (latest && latest->index >= ss->min_index) startSend(ss);
        else sendFail(ss, "no snapshot recent enough");
    }
}

static void failWaitingSends(void) {
    for (snapSend *ss = sends, *next; ss; ss = next) {
        next = ss->next;
        if (!ss->s) sendFail(ss, "taking the snapshot failed");
    }
}

void ioSendSnapshot(uint64_t peer, uint64_t min_index) {
    for (snapSend *ss = sends; ss; ss = ss->next)
        if (ss->peer == peer) return;   /* already running */
    snapSend *ss = calloc(1, sizeof(*ss));
    serverAssert(ss != NULL);
    ss->peer = peer;
    ss->min_index = min_index;
    ss->fd = -1;
    ss->active = 1;
    ss->next = sends;
    sends = ss;
    if (latest && latest->index >= min_index) startSend(ss);
    else ioTakeSnapshot();
}

/* --------------------------------------------------------- receiving */

static struct {
    char id[64];                    /* "" = none */
    uint64_t from;
    snapshot s;                     /* index, term, conf, files */
    int cur;                        /* file being received */
    uint64_t got;                   /* its bytes so far */
    uint32_t crc;                   /* and their CRC */
    int fd;
    uint64_t bytes_got;
    client *end_client;             /* END waiting for the install */
    long long start_ms;
} rx = {.fd = -1};

static void rxReset(void) {
    if (rx.fd >= 0) close(rx.fd);
    free(rx.s.files);
    memset(&rx, 0, sizeof(rx));
    rx.fd = -1;
    rmTree(recv_dir);
}

static int peerOnly(client *c) {
    if (c->flags & CLIENT_PEER) return 1;
    addReplyError(c, "-NOPERM this connection is not an authenticated raft peer");
    return 0;
}

static void snapshotBegin(client *c) {
    if (c->argc != 4) {
        addReplyErrorArity(c);
        return;
    }
    if (rx.end_client) {
        addReplyError(c, "a snapshot install is pending");
        return;
    }
    if (c->argv[2].len == 0 || c->argv[2].len >= sizeof(rx.id)) {
        addReplyError(c, "bad snapshot id");
        return;
    }
    if (rx.id[0] && strlen(rx.id) == c->argv[2].len && memcmp(rx.id, c->argv[2].ptr, c->argv[2].len) == 0 &&
        rx.from == c->peer_id) {
        addReplyArrayLen(c, 2);
        addReplyLongLong(c, rx.cur);
        addReplyLongLong(c, (long long)rx.got);
        return;
    }
    snapshot s = {0};
    if (parseMeta(c->argv[3].ptr, c->argv[3].len, &s) != 0) {
        addReplyError(c, "malformed snapshot description");
        return;
    }
    uint64_t applied = replicaAppliedIndex();
    if (s.index <= applied) {
        /* The core answers the leader with this node's applied index. */
        replicaSnapshotInstalled(s.index, s.term, &s.conf);
        free(s.files);
        addReplyErrorFormat(c, "snapshot not needed: this node applied index %llu already", (unsigned long long)applied);
        return;
    }
    rxReset();
    if (mkdir(recv_dir, 0755) != 0) {
        free(s.files);
        addReplyErrorFormat(c, "cannot create %s: %s", recv_dir, strerror(errno));
        return;
    }
    memcpy(rx.id, c->argv[2].ptr, c->argv[2].len);
    rx.id[c->argv[2].len] = '\0';
    rx.from = c->peer_id;
    rx.s = s;
    rx.start_ms = mstime();
    serverLog(LL_NOTICE, "Snapshot: receiving index %llu (term %llu, %d files, %llu bytes) from node %llu",
              (unsigned long long)s.index, (unsigned long long)s.term, s.nfiles, (unsigned long long)s.bytes,
              (unsigned long long)c->peer_id);
    addReplyArrayLen(c, 2);
    addReplyLongLong(c, 0);
    addReplyLongLong(c, 0);
}

static int sameTransfer(client *c) {
    if (rx.id[0] && rx.from == c->peer_id && strlen(rx.id) == c->argv[2].len &&
        memcmp(rx.id, c->argv[2].ptr, c->argv[2].len) == 0)
        return 1;
    addReplyError(c, "no such snapshot transfer in progress");
    return 0;
}

/* The file just completed failed its check: it is received again. */
static void rxFileFailed(client *c, const char *why) {
    snapFile *f = &rx.s.files[rx.cur];
    serverLog(LL_WARNING, "Snapshot: file %s of index %llu from node %llu: %s", f->name,
              (unsigned long long)rx.s.index, (unsigned long long)rx.from, why);
    addReplyErrorFormat(c, "snapshot file %s: %s", f->name, why);
    if (rx.fd >= 0) close(rx.fd);
    rx.fd = -1;
    rx.bytes_got -= rx.got;
    rx.got = 0;
    rx.crc = 0;
}

static void snapshotChunk(client *c) {
    long long file, offset;
    if (c->argc != 6) {
        addReplyErrorArity(c);
        return;
    }
    if (!sameTransfer(c)) return;
    if (string2ll(c->argv[3].ptr, c->argv[3].len, &file) == 0 || string2ll(c->argv[4].ptr, c->argv[4].len, &offset) == 0 ||
        file != rx.cur || (uint64_t)offset != rx.got || rx.cur >= rx.s.nfiles) {
        addReplyErrorFormat(c, "snapshot chunk out of order: expected file %d offset %llu", rx.cur,
                            (unsigned long long)rx.got);
        return;
    }
    snapFile *f = &rx.s.files[rx.cur];
    const slice *data = &c->argv[5];
    if (rx.got + data->len > f->size) {
        rxFileFailed(c, "more bytes than its recorded size");
        return;
    }
    if (rx.fd < 0) {
        char path[PATH_MAX];
        pathJoin(path, recv_dir, f->name);
        rx.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (rx.fd < 0) {
            addReplyErrorFormat(c, "cannot create %s: %s", path, strerror(errno));
            return;
        }
    }
    size_t done = 0;
    while (done < data->len) {
        ssize_t w = write(rx.fd, data->ptr + done, data->len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            rxFileFailed(c, strerror(errno));
            return;
        }
        done += (size_t)w;
    }
    rx.crc = crc32c(rx.crc, data->ptr, data->len);
    rx.got += data->len;
    rx.bytes_got += data->len;
    if (rx.got == f->size) {
        if (rx.crc != f->crc) {
            rxFileFailed(c, "checksum mismatch");
            return;
        }
        if (fsync(rx.fd) != 0) {
            rxFileFailed(c, strerror(errno));
            return;
        }
        close(rx.fd);
        rx.fd = -1;
        rx.cur++;
        rx.got = 0;
        rx.crc = 0;
    }
    addReplyOK(c);
}

static void snapshotEnd(client *c) {
    if (c->argc != 3) {
        addReplyErrorArity(c);
        return;
    }
    if (!sameTransfer(c)) return;
    if (rx.end_client) {
        addReplyError(c, "a snapshot install is pending");
        return;
    }
    if (rx.cur != rx.s.nfiles) {
        addReplyErrorFormat(c, "snapshot incomplete: %d of %d files received", rx.cur, rx.s.nfiles);
        return;
    }
    if (syncPath(recv_dir, O_RDONLY | O_DIRECTORY) != 0) {
        addReplyErrorFormat(c, "cannot sync %s: %s", recv_dir, strerror(errno));
        return;
    }
    /* Installed by ioSnapshotInstall once no log write is in flight. */
    rx.end_client = c;
    c->pending_writes++;
}

/* RAFT.SNAPSHOT BEGIN|CHUNK|END ... (authenticated peers only). */
void raftSnapshotCommand(client *c) {
    if (!peerOnly(c)) return;
    if (argIs(&c->argv[1], "chunk")) snapshotChunk(c);
    else if (argIs(&c->argv[1], "begin")) snapshotBegin(c);
    else if (argIs(&c->argv[1], "end")) snapshotEnd(c);
    else addReplyError(c, "unknown RAFT.SNAPSHOT subcommand");
}

int ioSnapshotInstallPending(void) {
    return rx.end_client != NULL && ckpt == NULL;
}

static void answerEnd(const char *err) {
    client *c = rx.end_client;
    rx.end_client = NULL;
    if (!c) return;
    if (err) addReplyError(c, err);
    else addReplyOK(c);
    c->pending_writes--;
    if (c->pending_writes == 0) unpauseClient(c);
}

void ioSnapshotInstall(void) {
    if (!ioSnapshotInstallPending()) return;
    snapshot *s = &rx.s;
    if (s->index <= replicaAppliedIndex()) {
        replicaSnapshotInstalled(s->index, s->term, &s->conf);
        answerEnd(NULL);
        rxReset();
        return;
    }
    unsigned char conf[RAFT_CONF_STATE_MAX_LEN];
    size_t clen = raftConfStateEncode(&s->conf, conf);
    char *err = NULL;
    long long t0 = mstime();
    if (storeSnapshotPrepare(recv_dir, s->index, s->term, conf, clen, &err) != 0 || storeSwap(recv_dir, &err) != 0) {
        serverLog(LL_WARNING, "Snapshot: installing index %llu failed: %s", (unsigned long long)s->index,
                  err ? err : "unknown error");
        char msg[512];
        snprintf(msg, sizeof(msg), "installing the snapshot failed: %s", err ? err : "unknown error");
        free(err);
        stats.failed++;
        answerEnd(msg);
        rxReset();
        return;
    }
    /* The old database is in recv_dir now. */
    removeLater(recv_dir);
    dbInit();
    fsmReload();
    clusterReloadNodes();
    serverLog(LL_NOTICE, "Snapshot: installed index %llu (term %llu) from node %llu: %llu bytes received in %lld ms, "
                         "swapped in %lld ms",
              (unsigned long long)s->index, (unsigned long long)s->term, (unsigned long long)rx.from,
              (unsigned long long)s->bytes, t0 - rx.start_ms, mstime() - t0);
    stats.installed++;
    uint64_t index = s->index, term = s->term;
    raftConfState cs = s->conf;
    answerEnd(NULL);
    rxReset();
    replicaSnapshotInstalled(index, term, &cs);
}

void snapshotForgetClient(client *c) {
    if (rx.end_client == c) {
        rx.end_client = NULL;
        c->pending_writes--;
    }
}

/* ------------------------------------------------------------ setup */

/* Trash a crash left behind (see removeLater). */
static void removeTrash(void) {
    DIR *d = opendir(server.dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        if (strncmp(e->d_name, TRASH_PREFIX, sizeof(TRASH_PREFIX) - 1) != 0) continue;
        if (pathJoin(path, server.dir, e->d_name) == 0) rmTree(path);
    }
    closedir(d);
}

void snapshotInit(void) {
    /* Room for file names under each directory. */
    if (strlen(server.dir) > PATH_MAX - 2 * MAX_FILE_NAME - 64) {
        serverLog(LL_WARNING, "The data directory's path is too long");
        exit(1);
    }
    pathJoin(snaps_dir, server.dir, "snapshots");
    pathJoin(tmp_dir, snaps_dir, "tmp");
    pathJoin(recv_dir, server.dir, "snapshot-recv");
    rmTree(recv_dir);
    rmTree(tmp_dir);
    removeTrash();
    if (mkdir(snaps_dir, 0755) != 0 && errno != EEXIST) {
        serverLog(LL_WARNING, "Cannot create %s: %s", snaps_dir, strerror(errno));
        exit(1);
    }
    DIR *d = opendir(snaps_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[PATH_MAX];
        if (pathJoin(path, snaps_dir, e->d_name) != 0) continue;
        snapshot *s = loadSealed(path);
        if (s && (!latest || s->index > latest->index)) {
            unref(latest);
            latest = s;
        } else if (s) {
            unref(s);
        } else {
            rmTree(path);
        }
    }
    closedir(d);
    if (latest)
        serverLog(LL_NOTICE, "Snapshot: latest at index %llu (term %llu), %llu bytes in %s",
                  (unsigned long long)latest->index, (unsigned long long)latest->term,
                  (unsigned long long)latest->bytes, latest->dir);
}

void snapshotGetStats(snapshotStats *out) {
    *out = stats;
    out->index = latest ? latest->index : 0;
    out->term = latest ? latest->term : 0;
    out->bytes = latest ? latest->bytes : 0;
    out->sending = 0;
    for (snapSend *ss = sends; ss; ss = ss->next) out->sending++;
    out->receiving = rx.id[0] != '\0';
    out->receive_bytes = rx.bytes_got;
    out->receive_total_bytes = rx.id[0] ? rx.s.bytes : 0;
    out->in_progress = ckpt != NULL;
}
