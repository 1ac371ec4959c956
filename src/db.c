/* db.c — the keyspace: key encoding, lookups that honour expiry, writes that
 * keep the expire index and the key counts, and the generic key commands
 * (DEL, EXISTS, TYPE, KEYS, SCAN, RENAME, COPY, RANDOMKEY, DBSIZE, FLUSH*,
 * SELECT) plus active expiry.
 *
 * Storage layout (all big-endian, so byte order is numeric order):
 *   data CF    slot(2) | user key                -> type(1) | expire_ms(8, 0 = none) | payload
 *   expire CF  expire_ms(8) | slot(2) | user key -> empty
 *   meta CF    "db:keys", "db:expires"           -> count(8)
 * The slot is Redis Cluster's (CRC16 mod 16384, hash tags honoured), so a slot
 * is one contiguous range and KEYS/SCAN walk the keyspace in slot order.
 * Collection types will keep this record as their metadata (adding version and
 * size after the expiry) with their elements in sub-records, Kvrocks-style.
 *
 * Happy path: a handler opens a dbEntry with a lookup (one storeGet), replies
 * from it and writes through it; every write that creates or deletes a key or
 * sets, changes or drops a TTL also updates the expire index in the same apply
 * batch. The counts live in memory (dbInit loads them) and are written once per
 * batch, just before the store writes it (storeSetBeforeWrite). Expiry is judged by c->now_ms: the wall clock for reads, the log
 * entry's time at apply. Reads hide expired keys and, on the leader, propose
 * EXPIREDEL; apply deletes an expired key a write meets; activeExpireCycle
 * proposes EXPIREDEL for keys found through the expire index.
 *
 * SCAN cursors: a cursor is (id << 14) | slot, where id indexes a ring of the
 * last SCAN_CURSORS positions (the last key returned). A cursor whose position
 * was evicted (or never existed) resumes at the start of its slot: keys of that
 * slot may come again, none present throughout is ever skipped.
 *
 * Failure modes: a malformed stored record is corruption, fail-stop
 * (serverPanic). Storage errors abort inside the store. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "db.h"
#include "fsm.h"
#include "replica.h"
#include "util.h"

#define META_KEYS "db:keys"
#define META_EXPIRES "db:expires"

static long long db_keys, db_expires;
static int counts_dirty; /* changed since the batch's last write of them */

/* ---------------------------------------------------------------- encoding */

static void putBE64(char *dst, uint64_t v) {
    for (int i = 0; i < 8; i++) dst[i] = (char)(v >> (56 - 8 * i));
}

static uint64_t getBE64(const char *src) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | (unsigned char)src[i];
    return v;
}

size_t dbEncodeKey(char *dst, const char *key, size_t len) {
    unsigned slot = keyHashSlot(key, len);
    dst[0] = (char)(slot >> 8);
    dst[1] = (char)(slot & 0xff);
    if (len) memcpy(dst + DB_SLOT_BYTES, key, len);
    return len + DB_SLOT_BYTES;
}

size_t dbEncodeExpireKey(char *dst, long long expire_ms, const char *key, size_t len) {
    putBE64(dst, (uint64_t)expire_ms);
    return 8 + dbEncodeKey(dst + 8, key, len);
}

void dbEncodeValueHeader(char *dst, int type, long long expire_ms) {
    dst[0] = (char)type;
    putBE64(dst + 1, (uint64_t)expire_ms);
}

int dbDecodeValue(const char *v, size_t vl, int *type, long long *expire_ms, slice *payload) {
    if (vl < DB_VALUE_HEADER) return 0;
    *type = (unsigned char)v[0];
    *expire_ms = (long long)getBE64(v + 1);
    payload->ptr = v + DB_VALUE_HEADER;
    payload->len = vl - DB_VALUE_HEADER;
    return 1;
}

/* ---------------------------------------------------------------- counts */

static void putCount(const char *name, long long v) {
    char buf[8];
    putBE64(buf, (uint64_t)v);
    storePut(STORE_CF_META, name, strlen(name), buf, 8);
}

static long long loadCount(const char *name) {
    storeValue v;
    long long n = 0;
    if (storeGet(STORE_CF_META, name, strlen(name), &v)) {
        if (v.len == 8) n = (long long)getBE64(v.ptr);
        storeValueFree(&v);
    }
    return n;
}

/* Before each write of an apply batch (storeSetBeforeWrite): the counts, once per
 * batch rather than once per command. */
static void writeCounts(void) {
    if (!counts_dirty) return;
    putCount(META_KEYS, db_keys);
    putCount(META_EXPIRES, db_expires);
    counts_dirty = 0;
}

void dbInit(void) {
    db_keys = loadCount(META_KEYS);
    db_expires = loadCount(META_EXPIRES);
    counts_dirty = 0;
    storeSetBeforeWrite(writeCounts);
}

long long dbSize(void) {
    return db_keys;
}

long long dbExpiresCount(void) {
    return db_expires;
}

static void countsAdd(long long keys, long long expires) {
    if (!keys && !expires) return;
    db_keys += keys;
    db_expires += expires;
    counts_dirty = 1;
}

/* ---------------------------------------------------------------- entries */

void dbEntryOpen(dbEntry *e, slice key) {
    e->key = key;
    size_t need = key.len + DB_SLOT_BYTES;
    e->ekey = need <= sizeof(e->ekey_inline) ? e->ekey_inline : malloc(need);
    serverAssert(e->ekey != NULL);
    e->ekey_len = dbEncodeKey(e->ekey, key.ptr, key.len);
    e->stored = storeGet(STORE_CF_DATA, e->ekey, e->ekey_len, &e->sv);
    e->type = OBJ_STRING;
    e->expire_ms = 0;
    e->val.ptr = NULL;
    e->val.len = 0;
    if (e->stored && !dbDecodeValue(e->sv.ptr, e->sv.len, &e->type, &e->expire_ms, &e->val))
        serverPanic("Corrupted record for a key of %zu bytes: %zu value bytes", key.len, e->sv.len);
}

/* Hints that dbEntryOpen(key) follows soon (see storePrefetchAdd); storePrefetchEnd
 * ends the group. Long keys are left out: a hint is not worth an allocation. */
void dbPrefetchKey(slice key) {
    char ekey[DB_SLOT_BYTES + 64];
    if (key.len > sizeof(ekey) - DB_SLOT_BYTES) return;
    storePrefetchAdd(ekey, dbEncodeKey(ekey, key.ptr, key.len));
}

static void entryDropValue(dbEntry *e) {
    if (e->stored && e->val.ptr) storeValueFree(&e->sv);
    e->val.ptr = NULL;
    e->val.len = 0;
}

void dbEntryRelease(dbEntry *e) {
    entryDropValue(e);
    if (e->ekey != e->ekey_inline) free(e->ekey);
    e->ekey = NULL;
}

/* Puts (put=1) or deletes the expire-index record of e's key at expire_ms. */
static void expireIndexWrite(const dbEntry *e, long long expire_ms, int put) {
    char inl[128];
    size_t need = e->ekey_len + 8;
    char *k = need <= sizeof(inl) ? inl : malloc(need);
    serverAssert(k != NULL);
    putBE64(k, (uint64_t)expire_ms);
    memcpy(k + 8, e->ekey, e->ekey_len);
    if (put) storePut(STORE_CF_EXPIRE, k, need, "", 0);
    else storeDelete(STORE_CF_EXPIRE, k, need);
    if (k != inl) free(k);
}

/* Reused record buffer: writes build header + payload here (no per-write malloc
 * for ordinary values); a huge one is given back after use. */
static char *vbuf;
static size_t vbuf_cap;
#define VBUF_KEEP_BYTES (1024 * 1024)

void dbEntrySetParts(dbEntry *e, int type, long long expire_ms, const slice *parts, int nparts) {
    size_t total = DB_VALUE_HEADER;
    for (int i = 0; i < nparts; i++) total += parts[i].len;
    if (total > vbuf_cap) {
        free(vbuf);
        vbuf = malloc(total);
        serverAssert(vbuf != NULL);
        vbuf_cap = total;
    }
    dbEncodeValueHeader(vbuf, type, expire_ms);
    size_t off = DB_VALUE_HEADER;
    for (int i = 0; i < nparts; i++) {
        if (parts[i].ptr) memcpy(vbuf + off, parts[i].ptr, parts[i].len);
        else memset(vbuf + off, 0, parts[i].len);
        off += parts[i].len;
    }
    storePut(STORE_CF_DATA, e->ekey, e->ekey_len, vbuf, total);
    if (vbuf_cap > VBUF_KEEP_BYTES) {
        free(vbuf);
        vbuf = NULL;
        vbuf_cap = 0;
    }

    long long old_expire = e->stored ? e->expire_ms : 0;
    if (old_expire != expire_ms) {
        if (old_expire) expireIndexWrite(e, old_expire, 0);
        if (expire_ms) expireIndexWrite(e, expire_ms, 1);
    }
    countsAdd(e->stored ? 0 : 1, (expire_ms != 0) - (old_expire != 0));
    entryDropValue(e);
    e->stored = 1;
    e->type = type;
    e->expire_ms = expire_ms;
}

void dbEntrySet(dbEntry *e, int type, long long expire_ms, const char *val, size_t len) {
    slice part = {val, len};
    dbEntrySetParts(e, type, expire_ms, &part, 1);
}

void dbEntrySetExpire(dbEntry *e, long long expire_ms) {
    serverAssert(e->stored);
    if (e->expire_ms == expire_ms) return;
    dbEntrySetParts(e, e->type, expire_ms, &e->val, 1);
}

int dbEntryDelete(dbEntry *e) {
    if (!e->stored) return 0;
    storeDelete(STORE_CF_DATA, e->ekey, e->ekey_len);
    if (e->expire_ms) expireIndexWrite(e, e->expire_ms, 0);
    countsAdd(-1, e->expire_ms ? -1 : 0);
    entryDropValue(e);
    e->stored = 0;
    e->expire_ms = 0;
    return 1;
}

int dbCheckType(client *c, const dbEntry *e, int type) {
    if (e->stored && e->type != type) {
        addReplyError(c, "-WRONGTYPE Operation against a key holding the wrong kind of value");
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- lookups */

/* Recently proposed lazy expirations, so a hot expired key is proposed once. */
#define RECENT_EXPIRE_SLOTS 256
#define RECENT_EXPIRE_MS 1000
static struct {
    uint64_t hash;
    long long ms;
} recent_expire[RECENT_EXPIRE_SLOTS];

static uint64_t keyHash64(const char *p, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

void dbProposeExpire(client *c, slice key) {
    if (c && (c->flags & CLIENT_APPLY)) return;
    if (!replicaIsLeader()) return;
    long long now = c ? c->now_ms : mstime();
    uint64_t h = keyHash64(key.ptr, key.len);
    unsigned i = (unsigned)(h % RECENT_EXPIRE_SLOTS);
    if (recent_expire[i].hash == h && now - recent_expire[i].ms < RECENT_EXPIRE_MS &&
        now >= recent_expire[i].ms)
        return;
    recent_expire[i].hash = h;
    recent_expire[i].ms = now;
    slice argv[2] = {{"EXPIREDEL", 9}, key};
    replicaProposeCommand(2, argv);
}

/* At apply an expired record is deleted at once (deterministic: entry time). */
static void expireOnApply(client *c, dbEntry *e) {
    dbEntryDelete(e);
    server.stat_expiredkeys++;
    (void)c;
}

int dbLookupRead(client *c, slice key, dbEntry *e) {
    dbEntryOpen(e, key);
    if (e->stored && dbIsExpired(e->expire_ms, c->now_ms)) {
        if (c->flags & CLIENT_APPLY) expireOnApply(c, e);
        else dbProposeExpire(c, key);
        server.stat_keyspace_misses++;
        return 0;
    }
    if (e->stored) server.stat_keyspace_hits++;
    else server.stat_keyspace_misses++;
    return e->stored;
}

int dbLookupWrite(client *c, slice key, dbEntry *e) {
    dbEntryOpen(e, key);
    if (e->stored && dbIsExpired(e->expire_ms, c->now_ms)) {
        if (c->flags & CLIENT_APPLY) expireOnApply(c, e);
        return 0;
    }
    return e->stored;
}

int dbLookupPeek(client *c, slice key, dbEntry *e) {
    dbEntryOpen(e, key);
    return e->stored && !dbIsExpired(e->expire_ms, c->now_ms);
}

/* ---------------------------------------------------------------- flush */

void dbFlush(void) {
    uint64_t idx = fsmCurrentIndex();
    storeClear(STORE_CF_DATA, idx);
    storeClear(STORE_CF_EXPIRE, idx);
    db_keys = 0;
    db_expires = 0;
    counts_dirty = 1;
}

/* FLUSHDB / FLUSHALL [ASYNC|SYNC]: both run synchronously at apply. */
static int parseFlushArgs(client *c) {
    if (c->argc == 1 || (c->argc == 2 && (argIs(&c->argv[1], "sync") || argIs(&c->argv[1], "async"))))
        return C_OK;
    addReplyErrorSyntax(c);
    return C_ERR;
}

int flushPrepare(client *c) {
    return parseFlushArgs(c);
}

void flushdbCommand(client *c) {
    if (parseFlushArgs(c) != C_OK) return;
    dbFlush();
    addReplyOK(c);
}

void flushallCommand(client *c) {
    flushdbCommand(c);
}

/* ---------------------------------------------------------------- commands */

static const char *typeName(int type) {
    switch (type) {
    case OBJ_STRING: return "string";
    case OBJ_LIST: return "list";
    case OBJ_SET: return "set";
    case OBJ_ZSET: return "zset";
    case OBJ_HASH: return "hash";
    default: return "unknown";
    }
}

static void delGeneric(client *c) {
    long long deleted = 0;
    for (int j = 1; j < c->argc; j++) {
        dbEntry e;
        if (dbLookupWrite(c, c->argv[j], &e)) deleted += dbEntryDelete(&e);
        dbEntryRelease(&e);
    }
    addReplyLongLong(c, deleted);
}

void delCommand(client *c) {
    delGeneric(c);
}

void unlinkCommand(client *c) {
    delGeneric(c);
}

static void countLive(client *c) {
    long long n = 0;
    for (int j = 1; j < c->argc; j++) {
        dbEntry e;
        n += dbLookupRead(c, c->argv[j], &e);
        dbEntryRelease(&e);
    }
    addReplyLongLong(c, n);
}

void existsCommand(client *c) {
    countLive(c);
}

void touchCommand(client *c) {
    countLive(c);
}

void typeCommand(client *c) {
    dbEntry e;
    const char *t = dbLookupRead(c, c->argv[1], &e) ? typeName(e.type) : "none";
    dbEntryRelease(&e);
    addReplyStatus(c, t);
}

void dbsizeCommand(client *c) {
    addReplyLongLong(c, dbSize());
}

/* Redis's getIntFromObjectOrReply texts. */
static int getIntFromArgOrReply(client *c, const slice *a, int *v) {
    long long ll;
    if (getLongLongFromArgOrReply(c, a, &ll, NULL) != C_OK) return C_ERR;
    if (ll < INT_MIN || ll > INT_MAX) {
        addReplyErrorFormat(c, "value is out of range, value must between %d and %d", INT_MIN, INT_MAX);
        return C_ERR;
    }
    *v = (int)ll;
    return C_OK;
}

void selectCommand(client *c) {
    int id;
    if (getIntFromArgOrReply(c, &c->argv[1], &id) != C_OK) return;
    if (id != 0) {
        addReplyError(c, "DB index is out of range");
        return;
    }
    addReplyOK(c);
}

/* KEYS pattern: every live key matching, in slot order. */
void keysCommand(client *c) {
    const slice *pat = &c->argv[1];
    int allkeys = pat->len == 1 && pat->ptr[0] == '*';
    size_t handle = addReplyDeferredLen(c);
    long n = 0;
    storeIter *it = storeIterNew(STORE_CF_DATA);
    for (storeIterSeek(it, NULL, 0); storeIterValid(it); storeIterNext(it)) {
        size_t kl, vl;
        const char *k = storeIterKey(it, &kl);
        const char *v = storeIterValue(it, &vl);
        int type;
        long long exp;
        slice payload;
        if (kl < DB_SLOT_BYTES || !dbDecodeValue(v, vl, &type, &exp, &payload)) continue;
        if (dbIsExpired(exp, c->now_ms)) continue;
        const char *uk = k + DB_SLOT_BYTES;
        size_t ul = kl - DB_SLOT_BYTES;
        if (!allkeys && !stringmatchlen(pat->ptr, (int)pat->len, uk, (int)ul, 0)) continue;
        addReplyBulkCBuffer(c, uk, ul);
        n++;
    }
    storeIterFree(it);
    setDeferredArrayLen(c, handle, n);
}

/* SCAN cursor ring (see the top comment). */
#define SCAN_CURSORS 4096
#define SCAN_SLOT_BITS 14
static struct {
    uint64_t id;
    char *ekey;       /* owned: last data-CF key returned under this cursor */
    size_t len;
} scan_ring[SCAN_CURSORS];
static uint64_t scan_seq;

/* Takes ownership of ekey (malloc'd); returns the cursor number to hand out. */
static unsigned long long scanSaveCursor(char *ekey, size_t len) {
    uint64_t id = ++scan_seq;
    unsigned i = (unsigned)(id % SCAN_CURSORS);
    free(scan_ring[i].ekey);
    scan_ring[i].ekey = ekey;
    scan_ring[i].len = len;
    scan_ring[i].id = id;
    unsigned slot = len >= DB_SLOT_BYTES ? ((unsigned)(unsigned char)ekey[0] << 8 | (unsigned char)ekey[1]) : 0;
    return ((unsigned long long)id << SCAN_SLOT_BITS) | slot;
}

/* Positions it for cursor (non-zero); returns 1 if the key it stands on was
 * already returned (to be skipped). */
static int scanSeekCursor(storeIter *it, unsigned long long cursor) {
    uint64_t id = cursor >> SCAN_SLOT_BITS;
    unsigned i = (unsigned)(id % SCAN_CURSORS);
    if (id != 0 && scan_ring[i].id == id) {
        storeIterSeek(it, scan_ring[i].ekey, scan_ring[i].len);
        if (storeIterValid(it)) {
            size_t kl;
            const char *k = storeIterKey(it, &kl);
            return kl == scan_ring[i].len && memcmp(k, scan_ring[i].ekey, kl) == 0;
        }
        return 0;
    }
    char slot[DB_SLOT_BYTES];
    unsigned s = (unsigned)(cursor & (CLUSTER_SLOTS - 1));
    slot[0] = (char)(s >> 8);
    slot[1] = (char)(s & 0xff);
    storeIterSeek(it, slot, DB_SLOT_BYTES);
    return 0;
}

/* Keys gathered by one SCAN call before the reply is written: reused buffer of
 * [len(4)][bytes] records. */
static char *scan_buf;
static size_t scan_buf_len, scan_buf_cap;

static void scanBufAdd(const char *k, size_t len) {
    size_t need = scan_buf_len + 4 + len;
    if (need > scan_buf_cap) {
        size_t cap = scan_buf_cap ? scan_buf_cap : 4096;
        while (cap < need) cap *= 2;
        char *nb = realloc(scan_buf, cap);
        serverAssert(nb != NULL);
        scan_buf = nb;
        scan_buf_cap = cap;
    }
    uint32_t l = (uint32_t)len;
    memcpy(scan_buf + scan_buf_len, &l, 4);
    memcpy(scan_buf + scan_buf_len + 4, k, len);
    scan_buf_len = need;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
void scanCommand(client *c) {
    const slice *cur = &c->argv[1];
    char inl[32];
    char *num = cur->len < sizeof(inl) ? inl : malloc(cur->len + 1);
    serverAssert(num != NULL);
    memcpy(num, cur->ptr, cur->len);
    num[cur->len] = '\0';
    char *end;
    errno = 0;
    unsigned long long cursor = strtoull(num, &end, 10);
    int bad = (cur->len && isspace((unsigned char)num[0])) || *end != '\0' || errno == ERANGE;
    if (num != inl) free(num);
    if (bad) {
        addReplyError(c, "invalid cursor");
        return;
    }

    long long count = 10;
    const slice *pat = NULL, *type = NULL;
    for (int i = 2; i < c->argc; i += 2) {
        int has_value = i + 1 < c->argc;
        if (argIs(&c->argv[i], "count") && has_value) {
            if (getLongLongFromArgOrReply(c, &c->argv[i + 1], &count, NULL) != C_OK) return;
            if (count < 1) {
                addReplyErrorSyntax(c);
                return;
            }
        } else if (argIs(&c->argv[i], "match") && has_value) {
            pat = &c->argv[i + 1];
            if (pat->len == 1 && pat->ptr[0] == '*') pat = NULL;
        } else if (argIs(&c->argv[i], "type") && has_value) {
            type = &c->argv[i + 1];
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }

    storeIter *it = storeIterNew(STORE_CF_DATA);
    if (cursor == 0) storeIterSeek(it, NULL, 0);
    else if (scanSeekCursor(it, cursor)) storeIterNext(it);

    scan_buf_len = 0;
    long long examined = 0, found = 0;
    char *last = NULL;
    size_t last_len = 0;
    while (examined < count && storeIterValid(it)) {
        size_t kl, vl;
        const char *k = storeIterKey(it, &kl);
        const char *v = storeIterValue(it, &vl);
        int t;
        long long exp;
        slice payload;
        examined++;
        if (kl >= DB_SLOT_BYTES && dbDecodeValue(v, vl, &t, &exp, &payload)) {
            slice uk = {k + DB_SLOT_BYTES, kl - DB_SLOT_BYTES};
            if (dbIsExpired(exp, c->now_ms)) {
                dbProposeExpire(c, uk);
            } else if ((!pat || stringmatchlen(pat->ptr, (int)pat->len, uk.ptr, (int)uk.len, 0)) &&
                       (!type || argIs(type, typeName(t)))) {
                scanBufAdd(uk.ptr, uk.len);
                found++;
            }
        }
        if (examined == count) {
            last = malloc(kl ? kl : 1);
            serverAssert(last != NULL);
            memcpy(last, k, kl);
            last_len = kl;
        }
        storeIterNext(it);
    }
    unsigned long long next = 0;
    if (last && storeIterValid(it)) next = scanSaveCursor(last, last_len);
    else free(last);
    storeIterFree(it);

    char nbuf[32];
    int nl = snprintf(nbuf, sizeof(nbuf), "%llu", next);
    addReplyArrayLen(c, 2);
    addReplyBulkCBuffer(c, nbuf, (size_t)nl);
    addReplyArrayLen(c, found);
    for (size_t off = 0; off < scan_buf_len;) {
        uint32_t l;
        memcpy(&l, scan_buf + off, 4);
        addReplyBulkCBuffer(c, scan_buf + off + 4, l);
        off += 4 + l;
    }
    if (scan_buf_cap > VBUF_KEEP_BYTES) {
        free(scan_buf);
        scan_buf = NULL;
        scan_buf_cap = 0;
    }
}

/* RENAME / RENAMENX: the value and its TTL move to the new name. */
static void renameGeneric(client *c, int nx) {
    const slice *src = &c->argv[1], *dst = &c->argv[2];
    int samekey = src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0;
    dbEntry s;
    if (!dbLookupWrite(c, *src, &s)) {
        dbEntryRelease(&s);
        addReplyError(c, "no such key");
        return;
    }
    if (samekey) {
        dbEntryRelease(&s);
        if (nx) addReplyLongLong(c, 0);
        else addReplyOK(c);
        return;
    }
    dbEntry d;
    if (dbLookupWrite(c, *dst, &d) && nx) {
        addReplyLongLong(c, 0);
    } else {
        dbEntrySetParts(&d, s.type, s.expire_ms, &s.val, 1);
        dbEntryDelete(&s);
        if (nx) addReplyLongLong(c, 1);
        else addReplyOK(c);
    }
    dbEntryRelease(&d);
    dbEntryRelease(&s);
}

void renameCommand(client *c) {
    renameGeneric(c, 0);
}

void renamenxCommand(client *c) {
    renameGeneric(c, 1);
}

/* COPY source destination [DB destination-db] [REPLACE]: parses and checks the
 * options; *replace set. Only db 0 exists. */
static int parseCopyArgs(client *c, int *replace) {
    *replace = 0;
    for (int j = 3; j < c->argc; j++) {
        if (argIs(&c->argv[j], "replace")) {
            *replace = 1;
        } else if (argIs(&c->argv[j], "db") && j + 1 < c->argc) {
            int id;
            if (getIntFromArgOrReply(c, &c->argv[j + 1], &id) != C_OK) return C_ERR;
            if (id != 0) {
                addReplyError(c, "DB index is out of range");
                return C_ERR;
            }
            j++;
        } else {
            addReplyErrorSyntax(c);
            return C_ERR;
        }
    }
    const slice *src = &c->argv[1], *dst = &c->argv[2];
    if (src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0) {
        addReplyError(c, "source and destination objects are the same");
        return C_ERR;
    }
    return C_OK;
}

int copyPrepare(client *c) {
    int replace;
    return parseCopyArgs(c, &replace);
}

void copyCommand(client *c) {
    int replace;
    if (parseCopyArgs(c, &replace) != C_OK) return;
    dbEntry s, d;
    if (!dbLookupWrite(c, c->argv[1], &s)) {
        dbEntryRelease(&s);
        addReplyLongLong(c, 0);
        return;
    }
    if (dbLookupWrite(c, c->argv[2], &d) && !replace) {
        addReplyLongLong(c, 0);
    } else {
        dbEntrySetParts(&d, s.type, s.expire_ms, &s.val, 1);
        addReplyLongLong(c, 1);
    }
    dbEntryRelease(&d);
    dbEntryRelease(&s);
}

/* RANDOMKEY: seek to a random point of the keyspace (slot + random bytes),
 * wrap around once, skip expired keys (at most RANDOMKEY_MAX_SKIP of them). */
#define RANDOMKEY_MAX_SKIP 100

static int keyCompare(const char *a, size_t al, const char *b, size_t bl) {
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

void randomkeyCommand(client *c) {
    char start[DB_SLOT_BYTES + 8];
    for (size_t i = 0; i < sizeof(start); i++) start[i] = (char)(random() & 0xff);
    start[0] &= (char)((CLUSTER_SLOTS - 1) >> 8);
    storeIter *it = storeIterNew(STORE_CF_DATA);
    storeIterSeek(it, start, sizeof(start));
    int wrapped = 0, skipped = 0;
    for (;;) {
        if (!storeIterValid(it)) {
            if (wrapped) break;
            wrapped = 1;
            storeIterSeek(it, NULL, 0);
            continue;
        }
        size_t kl, vl;
        const char *k = storeIterKey(it, &kl);
        const char *v = storeIterValue(it, &vl);
        int t;
        long long exp;
        slice payload;
        if (wrapped && keyCompare(k, kl, start, sizeof(start)) >= 0) break;
        if (kl >= DB_SLOT_BYTES && dbDecodeValue(v, vl, &t, &exp, &payload)) {
            slice uk = {k + DB_SLOT_BYTES, kl - DB_SLOT_BYTES};
            if (!dbIsExpired(exp, c->now_ms)) {
                addReplyBulkCBuffer(c, uk.ptr, uk.len);
                storeIterFree(it);
                return;
            }
            dbProposeExpire(c, uk);
            if (++skipped == RANDOMKEY_MAX_SKIP) break;
        }
        storeIterNext(it);
    }
    storeIterFree(it);
    addReplyNull(c);
}

/* ---------------------------------------------------------------- active expiry */

/* Expire-CF key after which the last cycle stopped proposing, while its
 * proposals may still be in flight; forgotten once this node has nothing
 * unapplied or after ACTIVE_EXPIRE_RETRY_MS (a lost proposal is retried). */
#define ACTIVE_EXPIRE_RETRY_MS 1000
static char *ae_cursor;
static size_t ae_cursor_len, ae_cursor_cap;
static long long ae_cursor_ms;

void activeExpireCycle(void) {
    if (!server.active_expire_enabled || !replicaIsLeader()) return;
    long long now = mstime();
    if (ae_cursor_len && (replicaUnapplied() == 0 || now - ae_cursor_ms >= ACTIVE_EXPIRE_RETRY_MS ||
                          now < ae_cursor_ms))
        ae_cursor_len = 0;
    /* What RocksDB holds already is enough here: an expiry the store still carries is
     * found by a later cycle, and a proposal for a key whose expiry changed meanwhile
     * deletes nothing (EXPIREDEL checks the key when applied). */
    storeIter *it = storeIterNewWritten(STORE_CF_EXPIRE);
    storeIterSeek(it, ae_cursor, ae_cursor_len);
    if (ae_cursor_len && storeIterValid(it)) {
        size_t kl;
        const char *k = storeIterKey(it, &kl);
        if (kl == ae_cursor_len && memcmp(k, ae_cursor, kl) == 0) storeIterNext(it);
    }
    int n = 0;
    for (; n < DB_ACTIVE_EXPIRE_MAX && storeIterValid(it); storeIterNext(it)) {
        size_t kl;
        const char *k = storeIterKey(it, &kl);
        if (kl < DB_EXPIRE_KEY_PREFIX) continue;
        long long exp = (long long)getBE64(k);
        if (exp > now) break;
        slice argv[2] = {{"EXPIREDEL", 9}, {k + DB_EXPIRE_KEY_PREFIX, kl - DB_EXPIRE_KEY_PREFIX}};
        replicaProposeCommand(2, argv);
        if (kl > ae_cursor_cap) {
            char *nb = realloc(ae_cursor, kl);
            serverAssert(nb != NULL);
            ae_cursor = nb;
            ae_cursor_cap = kl;
        }
        memcpy(ae_cursor, k, kl);
        ae_cursor_len = kl;
        n++;
    }
    storeIterFree(it);
    if (n) ae_cursor_ms = now;
}
