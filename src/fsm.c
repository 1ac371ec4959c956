/* fsm.c — the state machine: applies committed log entries to the keyspace.
 *
 * Owns the apply client (no connection) and the apply clock. An entry of
 * type NORMAL is [8-byte big-endian leader time][RESP command]...; each
 * command runs through the same handler a client's command would, on the
 * apply client, with c->now_ms = max(previous entry time, this entry's
 * time), so every replica computes the same result without reading its own
 * clock. All entries of one call go into one store batch, written together
 * with the new applied index and apply clock: a crash re-applies either all
 * of them or none. The reply of a command this node proposed goes to the
 * client that waits for it.
 *
 * Failure modes: an entry that does not parse is a corrupted log, which is
 * fail-stop (serverPanic). A command the table no longer knows gets the
 * unknown-command error as its reply, identically on every replica. Arity is
 * not checked again: prepare hooks may log another form of a command (as
 * INCRBYFLOAT's 4-argument one) and handlers check their own arguments.
 *
 * A CONF entry (membership change) records the configuration as of its
 * index and the known nodes' addresses in META, in the same batch, and
 * answers the RAFT.NODE client that proposed it with +OK. */
#include <string.h>

#include "cluster.h"
#include "commands.h"
#include "db.h"
#include "fsm.h"
#include "replica.h"
#include "replica_io.h"
#include "store.h"

static client *ac;                 /* the apply client */
static respParser parser;
static respParser ahead;           /* parses the commands prefetchAhead looks at */
static long long apply_now_ms;     /* max entry time applied so far */
static uint64_t cur_index;

#define META_APPLY_NOW "apply-now-ms"
#define META_APPLIED_CONF "raft-conf-applied"

void fsmReload(void) {
    apply_now_ms = 0;
    storeValue v;
    if (storeGet(STORE_CF_META, META_APPLY_NOW, sizeof(META_APPLY_NOW) - 1, &v)) {
        long long t = 0;
        for (size_t i = 0; i < v.len && i < 8; i++) t = (t << 8) | (unsigned char)v.ptr[i];
        apply_now_ms = t;
        storeValueFree(&v);
    }
}

void fsmInit(void) {
    ac = createApplyClient();
    respParserInit(&parser);
    respParserInit(&ahead);
    parser.max_bulk_len = 1LL << 62;   /* entries were checked against the limit when proposed */
    ahead.max_bulk_len = parser.max_bulk_len;
    fsmReload();
}

uint64_t fsmCurrentIndex(void) {
    return cur_index;
}

static void applyCommand(uint64_t index) {
    const struct redisCommand *cmd = lookupCommand(&ac->argv[0]);
    ac->obuf_len = 0;
    ac->now_ms = apply_now_ms;
    if (!cmd) {
        addReplyErrorFormat(ac, "unknown command '%.*s'", (int)(ac->argv[0].len < 128 ? ac->argv[0].len : 128),
                            ac->argv[0].ptr);
    } else {
        call(ac, cmd);
    }
    client *waiter = replicaTakeWaiter(index);
    if (waiter) {
        if (ac->obuf_len && ac->obuf[0] == '-') {
            server.stat_total_error_replies++;
            statsErrorReply(ac->obuf, ac->obuf_len);
        }
        addReplyProto(waiter, ac->obuf, ac->obuf_len);
        if (waiter->pending_writes == 0) unpauseClient(waiter);
    }
}

int fsmLoadAppliedConf(raftConfState *cs) {
    storeValue v;
    if (!storeGet(STORE_CF_META, META_APPLIED_CONF, sizeof(META_APPLIED_CONF) - 1, &v)) return 0;
    int rc = raftConfStateDecode((const unsigned char *)v.ptr, v.len, cs);
    storeValueFree(&v);
    if (rc != 0) serverPanic("Corrupted %s record", META_APPLIED_CONF);
    return 1;
}

/* A configuration change took effect when appended (replica.c); applying
 * it records, in this batch, the configuration as of its index and the
 * addresses known (so a restart after the log is compacted still has
 * them), and answers the RAFT.NODE client waiting for it. */
static void applyConf(const raftEntry *e) {
    raftConfState cs;
    if (replicaConfAt(e->index, &cs) == 0) {
        unsigned char buf[RAFT_CONF_STATE_MAX_LEN];
        size_t len = raftConfStateEncode(&cs, buf);
        storePut(STORE_CF_META, META_APPLIED_CONF, sizeof(META_APPLIED_CONF) - 1, (const char *)buf, len);
    }
    clusterPersistNodes();
    client *waiter = replicaTakeWaiter(e->index);
    if (waiter) {
        addReplyOK(waiter);
        if (waiter->pending_writes == 0) unpauseClient(waiter);
    }
}

/* Commands of an entry whose first keys are prefetched together (see dbPrefetchKey):
 * enough to overlap the memory latencies, few enough to stay in the CPU cache. */
#define PREFETCH_GROUP 128

/* Hints the first keys of the next PREFETCH_GROUP commands at *p (left bytes);
 * advances *p and *left past them and returns how many it looked at. */
static size_t prefetchAhead(char **p, size_t *left) {
    size_t n = 0;
    while (*left > 0 && n < PREFETCH_GROUP) {
        size_t consumed = 0;
        const char *err;
        /* A command that does not parse stops the hints; applying it panics. */
        if (respParse(&ahead, *p, *left, &consumed, &err) != RESP_OK || ahead.argc == 0) break;
        const struct redisCommand *cmd = lookupCommand(&ahead.argv[0]);
        if (cmd && cmd->firstkey > 0 && cmd->firstkey < ahead.argc) dbPrefetchKey(ahead.argv[cmd->firstkey]);
        *p += consumed;
        *left -= consumed;
        n++;
    }
    storePrefetchEnd();
    return n;
}

static void applyEntry(const raftEntry *e) {
    cur_index = e->index;
    if (e->type == RAFT_ENTRY_CONF) applyConf(e);
    if (e->type != RAFT_ENTRY_NORMAL) return;
    if (e->len < 8) serverPanic("Corrupted log entry %llu: %u bytes", (unsigned long long)e->index, e->len);
    long long t = 0;
    for (int i = 0; i < 8; i++) t = (t << 8) | e->data[i];
    if (t > apply_now_ms) apply_now_ms = t;
    char *p = (char *)e->data + 8, *ahead_p = p;
    size_t left = e->len - 8, ahead_left = left, hinted = 0;
    while (left > 0) {
        if (hinted == 0) hinted = prefetchAhead(&ahead_p, &ahead_left);
        if (hinted) hinted--;
        size_t consumed = 0;
        const char *err = NULL;
        if (respParse(&parser, p, left, &consumed, &err) != RESP_OK || parser.argc == 0)
            serverPanic("Corrupted log entry %llu: %s", (unsigned long long)e->index, err ? err : "truncated command");
        ac->argc = parser.argc;
        ac->argv = parser.argv;
        applyCommand(e->index);
        p += consumed;
        left -= consumed;
    }
}

void fsmApply(const raftEntry *entries, size_t n) {
    storeApplyBegin();
    for (size_t i = 0; i < n; i++) applyEntry(&entries[i]);
    char buf[8];
    for (int i = 0; i < 8; i++) buf[i] = (char)((unsigned long long)apply_now_ms >> (56 - 8 * i));
    storePut(STORE_CF_META, META_APPLY_NOW, sizeof(META_APPLY_NOW) - 1, buf, 8);
    storeApplyCommit(entries[n - 1].index);
}
