/* db.h — the keyspace over the store (db.c): key encoding, lookups with
 * expiry, writes that keep the expire index and the key counts, active expiry.
 *
 * Handlers work on a dbEntry: open it with a lookup (which reads the stored
 * record once), reply from it, then write through it (dbEntrySet*, dbEntryDelete)
 * and release it. Writes must run inside a store apply batch (fsm.c opens it).
 * Nothing here reads the local clock except activeExpireCycle: lookups judge
 * expiry by c->now_ms. */
#ifndef RAFTKV_DB_H
#define RAFTKV_DB_H

#include <stdint.h>

#include "server.h"
#include "store.h"

/* Value types (first byte of a data record). Only strings exist for now. */
#define OBJ_STRING 0
#define OBJ_LIST 1
#define OBJ_SET 2
#define OBJ_ZSET 3
#define OBJ_HASH 4

/* Data CF key: 2-byte BE slot + user key. Expire CF key: 8-byte BE expire ms +
 * 2-byte BE slot + user key. Data record: type byte + 8-byte BE expire ms (0 = none)
 * + payload. */
#define DB_SLOT_BYTES 2
#define DB_EXPIRE_KEY_PREFIX 10
#define DB_VALUE_HEADER 9

/* Writes slot + key to dst (at least len + DB_SLOT_BYTES bytes); returns the length. */
size_t dbEncodeKey(char *dst, const char *key, size_t len);
/* Writes expire + slot + key to dst (at least len + DB_EXPIRE_KEY_PREFIX bytes). */
size_t dbEncodeExpireKey(char *dst, long long expire_ms, const char *key, size_t len);
/* Writes the 9-byte record header to dst. */
void dbEncodeValueHeader(char *dst, int type, long long expire_ms);
/* Splits a stored record; payload borrows from v. Returns 0 if v is malformed. */
int dbDecodeValue(const char *v, size_t vl, int *type, long long *expire_ms, slice *payload);
/* 1 if a record with this expiry is logically gone at now_ms (expire_ms <= now_ms). */
static inline int dbIsExpired(long long expire_ms, long long now_ms) {
    return expire_ms != 0 && expire_ms <= now_ms;
}

/* One key as read from the store. The struct is the caller's (usually on its
 * stack); open it with dbLookup*, release it with dbEntryRelease. */
typedef struct dbEntry {
    slice key;               /* user key, borrowed from the caller until release */
    char *ekey;              /* encoded data-CF key: ekey_inline or malloc'd */
    size_t ekey_len;
    int stored;              /* a record is stored (it may be logically expired) */
    int type;
    long long expire_ms;     /* 0 = no TTL */
    slice val;               /* payload; valid until release or the entry's next write */
    storeValue sv;           /* owns val's bytes when stored */
    char ekey_inline[64];
} dbEntry;

/* Reads key's record into *e (no expiry logic, no stats). Always pair with
 * dbEntryRelease. */
void dbEntryOpen(dbEntry *e, slice key);
/* A hint that dbEntryOpen(key) follows soon; storePrefetchEnd closes a group of them. */
void dbPrefetchKey(slice key);
/* Read-side lookup: opens *e and returns 1 if the key is live at c->now_ms.
 * Counts keyspace hits/misses. An expired record counts as absent; on the
 * leader, off the apply client, it also proposes EXPIREDEL (lazy expiry). */
int dbLookupRead(client *c, slice key, dbEntry *e);
/* Write-side lookup (apply): opens *e and returns 1 if live at c->now_ms; a
 * logically expired record is deleted right away (deterministic: same entry
 * time on every node) and counted in stat_expiredkeys. */
int dbLookupWrite(client *c, slice key, dbEntry *e);
/* Like dbLookupWrite without deleting anything (prepare hooks: no side effect). */
int dbLookupPeek(client *c, slice key, dbEntry *e);
void dbEntryRelease(dbEntry *e);

/* Writes e's key as type/expire_ms with the concatenation of parts as payload; a
 * part with ptr NULL stands for len zero bytes. parts may borrow e->val. Keeps
 * the expire index and the counts. Afterwards e->stored is 1, e->val is empty. */
void dbEntrySetParts(dbEntry *e, int type, long long expire_ms, const slice *parts, int nparts);
void dbEntrySet(dbEntry *e, int type, long long expire_ms, const char *val, size_t len);
/* Changes only the TTL (0 removes it) of a stored record, keeping its payload. */
void dbEntrySetExpire(dbEntry *e, long long expire_ms);
/* Deletes the stored record, if any. Returns 1 if one was deleted. */
int dbEntryDelete(dbEntry *e);

/* Replies WRONGTYPE and returns 1 if e is stored with another type. */
int dbCheckType(client *c, const dbEntry *e, int type);

/* Loads the key counts from the meta CF and registers their once-per-batch write
 * (storeSetBeforeWrite). Call after storeOpen, and again after the store's
 * contents were replaced. */
void dbInit(void);
/* Stored keys, including expired ones not yet deleted (DBSIZE). */
long long dbSize(void);
/* Stored keys with a TTL (INFO keyspace). */
long long dbExpiresCount(void);
/* Removes every key, atomically with the applied index (FLUSHDB/FLUSHALL at
 * apply: storeClear of the data and expire CFs as entry fsmCurrentIndex()). */
void dbFlush(void);

/* Leader only, called server.hz times a second: proposes EXPIREDEL for up to
 * DB_ACTIVE_EXPIRE_MAX keys whose expiry passed (wall clock), skipping keys
 * already proposed while those proposals are still in flight. */
#define DB_ACTIVE_EXPIRE_MAX 200
void activeExpireCycle(void);
/* Proposes EXPIREDEL key when on the leader (not on the apply client); repeated
 * calls for the same key within a short window propose once. */
void dbProposeExpire(client *c, slice key);

#endif
