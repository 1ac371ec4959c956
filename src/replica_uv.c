/* replica_uv.c — the replica's I/O on libuv and the store: the persistence
 * worker, loading the log at startup, the Raft tick.
 *
 * Owns the uv_work_t of the one log write in flight, the tick timer and the
 * wake-up timer that ends a leader's gathering (replica.c); messages go to
 * transport.c.
 * A write runs on libuv's thread pool (storeLogWrite: one synced RocksDB
 * write), or inline on the loop thread when the replica asks, and completes
 * on the loop thread through replicaWriteDone. A
 * storage error inside storeLogWrite aborts the process (fail-stop). */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "replica_io.h"
#include "server.h"
#include "store.h"
#include "transport.h"

static uv_work_t work;
static uv_timer_t tick_timer;
static uv_timer_t wake_timer;
static int in_flight;

void replicaTick(void);

/* The store's view of the write's entries; only the worker running the
 * single write in flight touches it. */
static storeLogEntry *ents;
static size_t ents_cap;

static void runWrite(uv_work_t *req) {
    replicaWrite *w = req->data;
    if (w->nentries > ents_cap) {
        ents_cap = w->nentries * 2;
        ents = realloc(ents, sizeof(storeLogEntry) * ents_cap);
        serverAssert(ents != NULL);
    }
    for (size_t i = 0; i < w->nentries; i++) {
        ents[i].index = w->entries[i].index;
        ents[i].term = w->entries[i].term;
        ents[i].type = w->entries[i].type;
        ents[i].data = w->entries[i].data;
        ents[i].len = w->entries[i].len;
    }
    storeHardState hs = {w->hs.term, w->hs.vote, w->hs.commit};
    storeLogWrite(w->truncate_from, ents, w->nentries, &hs);
}

static void afterWrite(uv_work_t *req, int status) {
    serverAssert(status == 0);
    in_flight = 0;
    replicaWriteDone(req->data);
}

void ioSubmitWrite(replicaWrite *w, int inline_write) {
    serverAssert(!in_flight);
    in_flight = 1;
    work.data = w;
    if (inline_write) {
        runWrite(&work);
        afterWrite(&work, 0);
        return;
    }
    int rc = uv_queue_work(uv_default_loop(), &work, runWrite, afterWrite);
    if (rc != 0) serverPanic("uv_queue_work: %s", uv_strerror(rc));
}

int ioWriteInFlight(void) {
    return in_flight;
}

void ioSend(const raftMsg *m) {
    transportSend(m);
}

void ioFlush(void) {
    transportFlush();
}

uint64_t ioNowUs(void) {
    return uv_hrtime() / 1000;
}

static void onWake(uv_timer_t *t) {
    (void)t;
}

void ioWakeSoon(void) {
    uv_timer_start(&wake_timer, onWake, 1, 0);
}

void ioWakeCancel(void) {
    uv_timer_stop(&wake_timer);
}

typedef struct loadState {
    replicaLoaded *l;
    size_t cap;
    size_t data_bytes;
} loadState;

static int loadEntry(const storeLogEntry *e, void *ud) {
    loadState *st = ud;
    replicaLoaded *l = st->l;
    if (l->snap_index && e->index == l->snap_index) {
        l->snap_term = e->term;
        return 0;
    }
    if (l->nentries == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 256;
        l->entries = realloc(l->entries, sizeof(raftEntry) * st->cap);
        serverAssert(l->entries != NULL);
    }
    raftEntry *d = &l->entries[l->nentries++];
    d->index = e->index;
    d->term = e->term;
    d->type = e->type;
    d->len = (uint32_t)e->len;
    d->data = malloc(e->len ? e->len : 1);
    serverAssert(d->data != NULL);
    memcpy(d->data, e->data, e->len);
    return 0;
}

void ioLoad(replicaLoaded *l, int tail_only) {
    memset(l, 0, sizeof(*l));
    storeHardState hs;
    storeLoadHardState(&hs);
    l->hs.term = hs.term;
    l->hs.vote = hs.vote;
    l->hs.commit = hs.commit;
    l->applied = storeAppliedIndex();
    unsigned char conf[STORE_CONF_MAX_LEN];
    size_t conflen = 0;
    storeLogStart(&l->snap_index, &l->snap_term, conf, &conflen);
    if (conflen) {
        if (raftConfStateDecode(conf, conflen, &l->conf) != 0) serverPanic("Corrupted log start record");
        l->has_conf = 1;
    }
    if (tail_only && l->applied > l->snap_index) {
        /* The entry at the applied index becomes the snapshot point: its
         * term is read by the scan, the entries after it are kept. */
        l->snap_index = l->applied;
        l->snap_term = 0;
        l->has_conf = 0;    /* the caller knows it: this node alone */
        loadState st = {l, 0, 0};
        storeLogScan(l->snap_index, loadEntry, &st);
        if (l->snap_term == 0)
            serverPanic("Log entry %llu (the applied index) is missing", (unsigned long long)l->snap_index);
        return;
    }
    loadState st = {l, 0, 0};
    storeLogScan(l->snap_index + 1, loadEntry, &st);
}

void ioCompactLog(uint64_t index, uint64_t term, const raftConfState *conf) {
    unsigned char buf[RAFT_CONF_STATE_MAX_LEN];
    size_t len = raftConfStateEncode(conf, buf);
    storeLogCompact(index, term, buf, len);
}

uint64_t ioAppliedDurable(void) {
    return storeAppliedDurable();
}

void ioFreeEntries(replicaLoaded *l) {
    for (size_t i = 0; i < l->nentries; i++) free(l->entries[i].data);
    free(l->entries);
    l->entries = NULL;
    l->nentries = 0;
}

static void onTick(uv_timer_t *t) {
    replicaTick();
}

void ioStartTicks(uv_loop_t *loop, uint64_t tick_ms) {
    uv_timer_init(loop, &tick_timer);
    uv_timer_init(loop, &wake_timer);
    uv_timer_start(&tick_timer, onTick, tick_ms, tick_ms);
}
