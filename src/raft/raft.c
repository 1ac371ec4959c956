/* raft.c -- the pure Raft core: elections, log replication, commit, reads,
 * snapshots and membership changes.
 *
 * Owns one node's volatile Raft state, its configuration (as of the log
 * start, and current: the latest CONF entry applied on append) and an
 * in-memory copy of its log (the entries after the snapshot/compaction
 * point, each entry's data in its own allocation). Events come in through raftTick/raftStep/raftPropose/
 * raftPersisted/raftReadIndex; their effects accumulate (hard state, log
 * suffix not yet handed to the writer, outgoing messages in two queues,
 * committed entries, read answers) until the caller collects them with
 * raftGetUpdate and acknowledges them with raftAdvance.
 *
 * Happy path (leader): raftPropose appends to the log; raftGetUpdate sends
 * everything proposed since the previous update to each follower (pipelined
 * up to max_inflight_msgs per follower, batched up to max_msg_bytes per
 * AppendEntries); followers persist and answer; once a majority
 * (counting the leader only through raftPersisted) matches an entry of the
 * current term, commit advances and the entries are handed out to apply.
 *
 * Failure modes: lost/duplicated/reordered messages are tolerated (stale
 * responses are recognised by term and index; a rejected AppendEntries drops
 * the follower back to probing with the reject hint); a follower whose needed
 * entries were compacted away is sent a snapshot (state SNAPSHOT: nothing
 * but heartbeats until it answers, the server reports a failure, or a
 * timeout sends it back to probing). Out of
 * memory aborts: the core has no way to continue with a half-applied event.
 * A message that would truncate committed entries means a broken invariant
 * and aborts too. */
#include "raft.h"

#include <stdlib.h>
#include <string.h>

enum { PROGRESS_PROBE = 0, PROGRESS_REPLICATE = 1, PROGRESS_SNAPSHOT = 2 };
enum { VOTE_NONE = 0, VOTE_GRANTED = 1, VOTE_REJECTED = 2 };

typedef struct raftPeer {
    uint64_t id;
    uint64_t match, next;
    int state;              /* PROGRESS_* */
    int is_learner;
    int paused;             /* probe: one AppendEntries in flight */
    uint64_t *inflight;     /* replicate: ring of last indices in flight */
    int in_start, in_count;
    int recent_active;      /* heard from within this check-quorum window */
    int ticks_since_contact;
    uint64_t read_ack;      /* highest read round acknowledged */
    int vote;               /* VOTE_* in the current campaign */
    uint64_t pending_snapshot;  /* SNAPSHOT: index sent */
    int snapshot_elapsed;       /* SNAPSHOT: ticks since sent */
} raftPeer;

typedef struct pendingRead {
    uint64_t ctx, index, round;     /* round 0: confirmation not started */
} pendingRead;

typedef struct msgQueue {
    raftMsg *m;
    size_t n, cap;
} msgQueue;

struct raft {
    raftConfig cfg;         /* its voters/conf pointers are not kept */
    raftConfState base;     /* membership as of offset */
    raftConfState conf;     /* current membership */
    uint64_t conf_index;    /* latest CONF entry in the log, 0 = none */
    int conf_known;         /* 0: joining, refuses entries until a snapshot */
    int is_voter, is_learner;
    raftPeer peers[RAFT_MAX_MEMBERS];   /* members other than self */
    int npeers;
    int quorum;             /* of voters */

    uint64_t snap_index, snap_term;     /* snapshot for followers, >= offset */
    raftConfState snap_conf;

    int role;
    uint64_t term, vote, leader, commit;

    /* log: ents[i] has index offset+1+i */
    raftEntry *ents;
    size_t nents, capents;
    uint64_t offset, offset_term;

    uint64_t persisted;     /* durable prefix of the log (term-checked) */
    uint64_t applied;       /* committed entries handed out */
    uint64_t next_handoff;  /* first index not yet handed to the writer */
    uint64_t truncate_from; /* pending for the next update, 0 = none */

    int election_elapsed, heartbeat_elapsed, randomized_timeout;
    uint64_t rng;

    uint64_t transferee;
    int transfer_elapsed;
    int bcast_pending;      /* proposals not yet sent: batched at raftGetUpdate */

    msgQueue now, after;

    pendingRead *preads;
    size_t npreads, cappreads;
    uint64_t read_round;
    raftRead *ready;
    size_t nready, capready;
    uint64_t *dropped;
    size_t ndropped, capdropped;

    raftHardState prev_hs;  /* as handed out in the last update */
    int prev_role;
    uint64_t prev_term, prev_leader;
};

/* ---------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------- */

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) abort();
    return q;
}

#define GROW(arr, n, cap) do { \
    if ((n) == (cap)) { \
        (cap) = (cap) ? (cap) * 2 : 8; \
        (arr) = xrealloc((arr), (cap) * sizeof(*(arr))); \
    } \
} while (0)

/* splitmix64: the core's own deterministic PRNG. */
static uint64_t rngNext(raft *r) {
    uint64_t z = (r->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void resetElectionTimer(raft *r) {
    r->election_elapsed = 0;
    r->randomized_timeout = r->cfg.election_ticks +
        (int)(rngNext(r) % (uint64_t)r->cfg.election_ticks);
}

static raftPeer *findPeer(raft *r, uint64_t id) {
    for (int i = 0; i < r->npeers; i++)
        if (r->peers[i].id == id) return &r->peers[i];
    return NULL;
}

/* ---------------------------------------------------------------------------
 * In-memory log
 * ------------------------------------------------------------------------- */

static uint64_t lastIndex(const raft *r) { return r->offset + r->nents; }

static raftEntry *entryAt(const raft *r, uint64_t index) {
    return &r->ents[index - r->offset - 1];
}

/* Term of the entry at index, or 0 when it is not in memory. */
static uint64_t termAt(const raft *r, uint64_t index) {
    if (index == r->offset) return r->offset_term;
    if (index < r->offset || index > lastIndex(r)) return 0;
    return entryAt(r, index)->term;
}

static uint64_t lastTerm(const raft *r) { return termAt(r, lastIndex(r)); }

/* ---------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------- */

static void put64le(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64le(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int idsFind(const uint64_t *ids, int n, uint64_t id) {
    for (int i = 0; i < n; i++)
        if (ids[i] == id) return i;
    return -1;
}

static void idsRemove(uint64_t *ids, int *n, int i) {
    memmove(ids + i, ids + i + 1, (size_t)(*n - i - 1) * sizeof(uint64_t));
    (*n)--;
}

static int confIsMember(const raftConfState *c, uint64_t id) {
    return idsFind(c->voters, c->nvoters, id) >= 0 || idsFind(c->learners, c->nlearners, id) >= 0;
}

/* Applies one change; returns 0 (c untouched) when it does not apply. */
static int confApply(raftConfState *c, int op, uint64_t id) {
    int v = idsFind(c->voters, c->nvoters, id), l = idsFind(c->learners, c->nlearners, id);
    switch (op) {
    case RAFT_CONF_ADD_LEARNER:
        if (!id || v >= 0 || l >= 0 || c->nvoters + c->nlearners >= RAFT_MAX_MEMBERS) return 0;
        c->learners[c->nlearners++] = id;
        return 1;
    case RAFT_CONF_PROMOTE:
        if (l < 0) return 0;
        idsRemove(c->learners, &c->nlearners, l);
        c->voters[c->nvoters++] = id;
        return 1;
    case RAFT_CONF_REMOVE:
        if (v >= 0) idsRemove(c->voters, &c->nvoters, v);
        else if (l >= 0) idsRemove(c->learners, &c->nlearners, l);
        else return 0;
        return 1;
    default:
        return 0;
    }
}

static void confApplyEntry(raftConfState *c, const raftEntry *e) {
    int op;
    uint64_t id;
    if (e->type == RAFT_ENTRY_CONF && raftConfChangeDecode(e->data, e->len, &op, &id) == 0)
        confApply(c, op, id);
}

/* The membership as of index (offset <= index <= last). */
static void confAt(const raft *r, uint64_t index, raftConfState *out) {
    if (index >= r->conf_index) {
        *out = r->conf;
        return;
    }
    *out = r->base;
    for (uint64_t i = r->offset + 1; i <= index; i++) confApplyEntry(out, entryAt(r, i));
}

static void maybeCommit(raft *r);

static void addPeer(raft *r, uint64_t id, int is_learner) {
    raftPeer *p = &r->peers[r->npeers++];
    memset(p, 0, sizeof(*p));
    p->id = id;
    p->is_learner = is_learner;
    p->next = lastIndex(r) ? lastIndex(r) : 1;     /* a leader's first probe carries the CONF entry */
    p->recent_active = 1;
    p->inflight = xrealloc(NULL, r->cfg.max_inflight_msgs * sizeof(uint64_t));
}

/* Brings peers, own status and quorum in line with r->conf. */
static void confChanged(raft *r) {
    const raftConfState *c = &r->conf;
    r->is_voter = idsFind(c->voters, c->nvoters, r->cfg.id) >= 0;
    r->is_learner = idsFind(c->learners, c->nlearners, r->cfg.id) >= 0;
    r->quorum = c->nvoters / 2 + 1;
    for (int i = 0; i < r->npeers;) {
        raftPeer *p = &r->peers[i];
        if (!confIsMember(c, p->id)) {
            free(p->inflight);
            memmove(p, p + 1, (size_t)(r->npeers - i - 1) * sizeof(raftPeer));
            r->npeers--;
            continue;
        }
        p->is_learner = idsFind(c->learners, c->nlearners, p->id) >= 0;
        i++;
    }
    for (int i = 0; i < c->nvoters; i++)
        if (c->voters[i] != r->cfg.id && !findPeer(r, c->voters[i])) addPeer(r, c->voters[i], 0);
    for (int i = 0; i < c->nlearners; i++)
        if (c->learners[i] != r->cfg.id && !findPeer(r, c->learners[i])) addPeer(r, c->learners[i], 1);
    if (r->role == RAFT_FOLLOWER && r->is_learner) r->role = RAFT_LEARNER;
    else if (r->role == RAFT_LEARNER && !r->is_learner) r->role = RAFT_FOLLOWER;
    if (r->role == RAFT_LEADER) maybeCommit(r);
}

/* Recomputes the current membership from the base and the log. */
static void confRecompute(raft *r) {
    r->conf = r->base;
    r->conf_index = 0;
    for (uint64_t i = r->offset + 1; i <= lastIndex(r); i++) {
        const raftEntry *e = entryAt(r, i);
        if (e->type != RAFT_ENTRY_CONF) continue;
        confApplyEntry(&r->conf, e);
        r->conf_index = i;
    }
    confChanged(r);
}

size_t raftConfStateEncode(const raftConfState *cs, unsigned char *out) {
    unsigned char *p = out;
    *p++ = (unsigned char)cs->nvoters;
    *p++ = (unsigned char)cs->nlearners;
    for (int i = 0; i < cs->nvoters; i++, p += 8) put64le(p, cs->voters[i]);
    for (int i = 0; i < cs->nlearners; i++, p += 8) put64le(p, cs->learners[i]);
    return (size_t)(p - out);
}

int raftConfStateDecode(const unsigned char *buf, size_t len, raftConfState *cs) {
    if (len < 2) return -1;
    int nv = buf[0], nl = buf[1];
    if (nv + nl > RAFT_MAX_MEMBERS || len != 2 + (size_t)(nv + nl) * 8) return -1;
    memset(cs, 0, sizeof(*cs));
    const unsigned char *p = buf + 2;
    for (int i = 0; i < nv + nl; i++, p += 8) {
        uint64_t id = get64le(p);
        if (!id || confIsMember(cs, id)) return -1;
        if (i < nv) cs->voters[cs->nvoters++] = id;
        else cs->learners[cs->nlearners++] = id;
    }
    return 0;
}

void raftConfChangeEncode(unsigned char out[RAFT_CONF_CHANGE_LEN], int op, uint64_t id) {
    out[0] = (unsigned char)op;
    put64le(out + 1, id);
}

int raftConfChangeDecode(const unsigned char *data, uint32_t len, int *op, uint64_t *id) {
    if (len < RAFT_CONF_CHANGE_LEN || data[0] < RAFT_CONF_ADD_LEARNER || data[0] > RAFT_CONF_REMOVE)
        return -1;
    *op = data[0];
    *id = get64le(data + 1);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Appending and truncating
 * ------------------------------------------------------------------------- */

/* Appends an entry; a CONF entry takes effect at once. */
static void logAppend(raft *r, uint64_t term, uint8_t type, const void *data, uint32_t len) {
    GROW(r->ents, r->nents, r->capents);
    raftEntry *e = &r->ents[r->nents++];
    e->term = term;
    e->index = lastIndex(r);
    e->type = type;
    e->len = len;
    e->data = NULL;
    if (len) {
        e->data = xrealloc(NULL, len);
        memcpy(e->data, data, len);
    }
    if (type == RAFT_ENTRY_CONF) {
        confApplyEntry(&r->conf, e);
        r->conf_index = e->index;
        confChanged(r);
    }
}

/* Removes the queued AppendEntries whose entries reach index from or beyond:
 * their entries are about to be freed (only a deposed leader has any). */
static void dropAppendsFrom(msgQueue *q, uint64_t from) {
    size_t j = 0;
    for (size_t i = 0; i < q->n; i++) {
        raftMsg *m = &q->m[i];
        if (m->type == RAFT_MSG_APPEND && m->nentries && m->index + m->nentries >= from) continue;
        q->m[j++] = *m;
    }
    q->n = j;
}

/* Removes the queued AppendEntries carrying entries <= index (about to be
 * compacted away; a later heartbeat response resends from what is left). */
static void dropAppendsBelow(msgQueue *q, uint64_t index) {
    size_t j = 0;
    for (size_t i = 0; i < q->n; i++) {
        raftMsg *m = &q->m[i];
        if (m->type == RAFT_MSG_APPEND && m->nentries && m->index + 1 <= index) continue;
        q->m[j++] = *m;
    }
    q->n = j;
}

/* Deletes entries >= from (never committed ones). */
static void logTruncate(raft *r, uint64_t from) {
    if (from <= r->commit) abort();
    for (uint64_t i = from; i <= lastIndex(r); i++) free(entryAt(r, i)->data);
    r->nents = from - r->offset - 1;
    if (r->persisted >= from) r->persisted = from - 1;
    if (from < r->next_handoff) {
        if (!r->truncate_from || from < r->truncate_from) r->truncate_from = from;
        r->next_handoff = from;
    }
    dropAppendsFrom(&r->now, from);
    dropAppendsFrom(&r->after, from);
    if (from <= r->conf_index) confRecompute(r);
}

/* ---------------------------------------------------------------------------
 * Outgoing messages
 * ------------------------------------------------------------------------- */

static raftMsg *newMsg(raft *r, int type, uint64_t to, int after_persist) {
    msgQueue *q = after_persist ? &r->after : &r->now;
    GROW(q->m, q->n, q->cap);
    raftMsg *m = &q->m[q->n++];
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->from = r->cfg.id;
    m->to = to;
    m->term = r->term;
    return m;
}

static void inflightAdd(raft *r, raftPeer *p, uint64_t last) {
    int cap = r->cfg.max_inflight_msgs;
    p->inflight[(p->in_start + p->in_count) % cap] = last;
    p->in_count++;
}

static void inflightFreeTo(raft *r, raftPeer *p, uint64_t index) {
    int cap = r->cfg.max_inflight_msgs;
    while (p->in_count && p->inflight[p->in_start] <= index) {
        p->in_start = (p->in_start + 1) % cap;
        p->in_count--;
    }
}

static void inflightReset(raftPeer *p) {
    p->in_start = 0;
    p->in_count = 0;
}

static void setProbe(raftPeer *p) {
    p->state = PROGRESS_PROBE;
    p->paused = 0;
    p->next = p->match + 1;
    inflightReset(p);
}

/* Asks the server to send p the snapshot (index, term and conf filled in
 * at raftGetUpdate: the latest one then); p gets nothing else meanwhile. */
static void sendSnapshot(raft *r, raftPeer *p) {
    p->state = PROGRESS_SNAPSHOT;
    p->pending_snapshot = r->snap_index;
    p->snapshot_elapsed = 0;
    p->paused = 0;
    inflightReset(p);
    newMsg(r, RAFT_MSG_SNAPSHOT, p->id, 0);
}

/* Sends the next AppendEntries to p if flow control allows (a snapshot when
 * its next entry was compacted away). With send_empty an AppendEntries
 * without entries goes out when there is nothing new (it probes the
 * follower's log). Returns 1 when a message was queued. */
static int sendAppend(raft *r, raftPeer *p, int send_empty) {
    if (p->state == PROGRESS_SNAPSHOT) return 0;
    if (p->state == PROGRESS_PROBE && p->paused) return 0;
    if (p->state == PROGRESS_REPLICATE && p->in_count >= r->cfg.max_inflight_msgs) return 0;
    uint64_t prev = p->next - 1;
    if (prev < r->offset) {
        sendSnapshot(r, p);
        return 1;
    }
    uint64_t last = lastIndex(r);
    if (p->next > last && !send_empty) return 0;
    size_t n = 0, bytes = 0;
    for (uint64_t i = p->next; i <= last; i++) {
        bytes += entryAt(r, i)->len;
        if (n > 0 && bytes > r->cfg.max_msg_bytes) break;
        n++;
    }
    raftMsg *m = newMsg(r, RAFT_MSG_APPEND, p->id, 0);
    m->index = prev;
    m->log_term = termAt(r, prev);
    m->commit = r->commit;
    m->nentries = n;    /* entries pointer resolved in raftGetUpdate */
    if (p->state == PROGRESS_REPLICATE) {
        if (n) {
            p->next = prev + n + 1;
            inflightAdd(r, p, prev + n);
        }
    } else {
        p->paused = 1;
    }
    return 1;
}

/* Sends as much as flow control allows to p. */
static void sendAppends(raft *r, raftPeer *p) {
    while (sendAppend(r, p, 0))
        if (p->state == PROGRESS_PROBE) break;
}

static void bcastAppend(raft *r) {
    for (int i = 0; i < r->npeers; i++) sendAppends(r, &r->peers[i]);
}

static void bcastHeartbeat(raft *r) {
    for (int i = 0; i < r->npeers; i++) {
        raftPeer *p = &r->peers[i];
        raftMsg *m = newMsg(r, RAFT_MSG_HEARTBEAT, p->id, 0);
        m->commit = p->match < r->commit ? p->match : r->commit;
        m->ctx = r->read_round;
    }
}

static int cmpDesc(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The highest value that a majority of voters (self, when a voter, counted
 * as mine) reach; learners do not count. */
static uint64_t quorumValue(raft *r, uint64_t mine, size_t field_off) {
    uint64_t vals[RAFT_MAX_MEMBERS + 1];
    int n = 0;
    if (r->is_voter) vals[n++] = mine;
    for (int i = 0; i < r->npeers; i++)
        if (!r->peers[i].is_learner)
            vals[n++] = *(const uint64_t *)((const char *)&r->peers[i] + field_off);
    if (n < r->quorum) return 0;
    qsort(vals, n, sizeof(vals[0]), cmpDesc);
    return vals[r->quorum - 1];
}

/* ---------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------- */

static void dropReads(raft *r) {
    for (size_t i = 0; i < r->npreads; i++) {
        GROW(r->dropped, r->ndropped, r->capdropped);
        r->dropped[r->ndropped++] = r->preads[i].ctx;
    }
    r->npreads = 0;
}

static void readyReadsUpTo(raft *r, uint64_t round) {
    size_t j = 0;
    for (size_t i = 0; i < r->npreads; i++) {
        pendingRead *pr = &r->preads[i];
        if (pr->round && pr->round <= round) {
            GROW(r->ready, r->nready, r->capready);
            r->ready[r->nready].ctx = pr->ctx;
            r->ready[r->nready].index = pr->index;
            r->nready++;
        } else {
            r->preads[j++] = *pr;
        }
    }
    r->npreads = j;
}

static int committedInTerm(const raft *r) { return termAt(r, r->commit) == r->term; }

static int readsStartable(const raft *r) {
    if (r->role != RAFT_LEADER || !committedInTerm(r)) return 0;
    for (size_t i = 0; i < r->npreads; i++)
        if (!r->preads[i].round) return 1;
    return 0;
}

/* Starts one confirmation round for every read not yet in one. */
static void startReadRound(raft *r) {
    if (!readsStartable(r)) return;
    r->read_round++;
    for (size_t i = 0; i < r->npreads; i++) {
        if (r->preads[i].round) continue;
        r->preads[i].round = r->read_round;
        r->preads[i].index = r->commit;
    }
    if (r->npeers) bcastHeartbeat(r);
    /* a lone voter (learners aside) confirms on its own */
    readyReadsUpTo(r, quorumValue(r, r->read_round, offsetof(raftPeer, read_ack)));
}

/* ---------------------------------------------------------------------------
 * Role changes
 * ------------------------------------------------------------------------- */

static void becomeFollower(raft *r, uint64_t term, uint64_t leader) {
    if (term != r->term) {
        r->term = term;
        r->vote = 0;
    }
    if (r->role == RAFT_LEADER) dropReads(r);
    r->role = r->is_learner ? RAFT_LEARNER : RAFT_FOLLOWER;
    r->leader = leader;
    r->transferee = 0;
    resetElectionTimer(r);
}

static void becomeLeader(raft *r) {
    r->role = RAFT_LEADER;
    r->leader = r->cfg.id;
    r->heartbeat_elapsed = 0;
    r->transferee = 0;
    resetElectionTimer(r);
    for (int i = 0; i < r->npeers; i++) {
        raftPeer *p = &r->peers[i];
        p->match = 0;
        p->next = lastIndex(r) + 1;
        p->state = PROGRESS_PROBE;
        p->paused = 0;
        p->recent_active = 1;
        p->pending_snapshot = 0;
        p->read_ack = 0;
        inflightReset(p);
    }
    logAppend(r, r->term, RAFT_ENTRY_NOOP, NULL, 0);
    bcastAppend(r);
}

/* How an election starts: a PreVote round (election timeout with pre_vote
 * on), the real election (PreVote won, or pre_vote off), or a leadership
 * transfer (TimeoutNow: no PreVote, ignores stickiness). */
enum { CAMPAIGN_PRE, CAMPAIGN_ELECTION, CAMPAIGN_TRANSFER };
static void campaign(raft *r, int kind);

/* Counts the votes of the current campaign; acts when it is decided. */
static void pollVotes(raft *r) {
    int granted = r->is_voter ? 1 : 0, rejected = 0;
    for (int i = 0; i < r->npeers; i++) {
        if (r->peers[i].is_learner) continue;
        if (r->peers[i].vote == VOTE_GRANTED) granted++;
        else if (r->peers[i].vote == VOTE_REJECTED) rejected++;
    }
    if (granted >= r->quorum) {
        if (r->role == RAFT_PRECANDIDATE) campaign(r, CAMPAIGN_ELECTION);
        else becomeLeader(r);
    } else if (rejected >= r->quorum) {
        becomeFollower(r, r->term, 0);
    }
}

/* Starts a PreVote round or an election. A timeout during a PreVote round
 * starts a new PreVote round: the term only grows once a majority agreed
 * it could win, so a node cut off from the others never disrupts them. */
static void campaign(raft *r, int kind) {
    if (!r->is_voter) return;
    int type;
    int transfer = kind == CAMPAIGN_TRANSFER;
    uint64_t term;
    if (kind == CAMPAIGN_PRE && r->cfg.pre_vote) {
        r->role = RAFT_PRECANDIDATE;
        type = RAFT_MSG_PREVOTE;
        term = r->term + 1;
    } else {
        r->role = RAFT_CANDIDATE;
        r->term++;
        r->vote = r->cfg.id;
        type = RAFT_MSG_VOTE;
        term = r->term;
    }
    r->leader = 0;
    r->transferee = 0;
    resetElectionTimer(r);
    for (int i = 0; i < r->npeers; i++) {
        raftPeer *p = &r->peers[i];
        p->vote = VOTE_NONE;
        if (p->is_learner) continue;
        raftMsg *m = newMsg(r, type, p->id, type == RAFT_MSG_VOTE);
        m->term = term;
        m->index = lastIndex(r);
        m->log_term = lastTerm(r);
        m->ctx = transfer ? 1 : 0;
    }
    pollVotes(r);
}

/* ---------------------------------------------------------------------------
 * Commit
 * ------------------------------------------------------------------------- */

static void sendTimeoutNow(raft *r, raftPeer *p) {
    newMsg(r, RAFT_MSG_TIMEOUT_NOW, p->id, 0);
}

/* A leader whose own removal committed steps down, and hands leadership to
 * an up-to-date voter at once rather than letting the others time out. */
static void stepDownRemoved(raft *r) {
    raftPeer *best = NULL;
    for (int i = 0; i < r->npeers && !best; i++)
        if (!r->peers[i].is_learner && r->peers[i].match == lastIndex(r)) best = &r->peers[i];
    becomeFollower(r, r->term, 0);
    if (best) sendTimeoutNow(r, best);
}

static void maybeCommit(raft *r) {
    uint64_t q = quorumValue(r, r->persisted, offsetof(raftPeer, match));
    if (q > r->commit && termAt(r, q) == r->term) r->commit = q;
    if (!r->is_voter && r->conf_index && r->commit >= r->conf_index) stepDownRemoved(r);
}

/* ---------------------------------------------------------------------------
 * Message handling
 * ------------------------------------------------------------------------- */

static void handleVote(raft *r, const raftMsg *m) {
    int pre = m->type == RAFT_MSG_PREVOTE;
    int can_vote = r->vote == m->from || (r->vote == 0 && r->leader == 0) ||
                   (pre && m->term > r->term);
    uint64_t lt = lastTerm(r);
    int up_to_date = m->log_term > lt || (m->log_term == lt && m->index >= lastIndex(r));
    int grant = can_vote && up_to_date;
    raftMsg *resp = newMsg(r, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP, m->from, !pre);
    resp->reject = !grant;
    if (grant) {
        resp->term = m->term;
        if (!pre) {
            r->vote = m->from;
            r->election_elapsed = 0;
        }
    }
}

static void handleAppend(raft *r, const raftMsg *m) {
    raftMsg *resp;
    if (!r->conf_known) {
        resp = newMsg(r, RAFT_MSG_APPEND_RESP, m->from, 1);
        resp->reject = 1;
        resp->index = m->index;
        resp->hint_index = lastIndex(r);
        resp->ctx = 1;      /* needs a snapshot */
        return;
    }
    if (m->index < r->commit) {
        resp = newMsg(r, RAFT_MSG_APPEND_RESP, m->from, 1);
        resp->index = r->commit;
        return;
    }
    uint64_t last = lastIndex(r);
    if (m->index > last || termAt(r, m->index) != m->log_term) {
        resp = newMsg(r, RAFT_MSG_APPEND_RESP, m->from, 1);
        resp->reject = 1;
        resp->index = m->index;
        if (m->index > last) {
            resp->hint_index = last;
        } else {
            uint64_t t = termAt(r, m->index), i = m->index;
            while (i - 1 > r->offset && termAt(r, i - 1) == t) i--;
            resp->hint_term = t;
            resp->hint_index = i;
        }
        return;
    }
    for (size_t k = 0; k < m->nentries; k++) {
        const raftEntry *e = &m->entries[k];
        uint64_t idx = m->index + 1 + k;
        if (idx <= lastIndex(r)) {
            if (termAt(r, idx) == e->term) continue;
            logTruncate(r, idx);
        }
        logAppend(r, e->term, e->type, e->data, e->len);
    }
    uint64_t last_new = m->index + m->nentries;
    uint64_t c = m->commit < last_new ? m->commit : last_new;
    if (c > r->commit) r->commit = c;
    resp = newMsg(r, RAFT_MSG_APPEND_RESP, m->from, 1);
    resp->index = last_new;
}

static void handleHeartbeat(raft *r, const raftMsg *m) {
    uint64_t c = m->commit < lastIndex(r) ? m->commit : lastIndex(r);
    if (c > r->commit) r->commit = c;
    raftMsg *resp = newMsg(r, RAFT_MSG_HEARTBEAT_RESP, m->from, 0);
    resp->ctx = m->ctx;
}

static void leaderAppendResp(raft *r, raftPeer *p, const raftMsg *m) {
    if (m->reject) {
        if (m->ctx == 1) {
            if (p->state != PROGRESS_SNAPSHOT) sendSnapshot(r, p);
            return;
        }
        if (p->state == PROGRESS_SNAPSHOT) return;     /* stale */
        if (p->state == PROGRESS_REPLICATE ? m->index <= p->match : m->index != p->next - 1)
            return;     /* stale */
        uint64_t next;
        if (m->hint_term == 0) {
            next = m->hint_index + 1;
        } else {
            uint64_t j = m->index < lastIndex(r) ? m->index : lastIndex(r);
            while (j > r->offset && termAt(r, j) > m->hint_term) j--;
            next = termAt(r, j) == m->hint_term ? j + 1 : m->hint_index;
        }
        if (next > m->index) next = m->index;
        if (next < p->match + 1) next = p->match + 1;
        setProbe(p);
        p->next = next;
        sendAppend(r, p, 1);
        return;
    }
    if (m->index > p->match) {
        p->match = m->index;
        if (p->next < p->match + 1) p->next = p->match + 1;
        inflightFreeTo(r, p, p->match);
        /* out of SNAPSHOT once the entries after match are in memory */
        if (p->state == PROGRESS_PROBE || (p->state == PROGRESS_SNAPSHOT && p->match >= r->offset)) {
            p->state = PROGRESS_REPLICATE;
            p->next = p->match + 1;
            inflightReset(p);
        }
        maybeCommit(r);
        if (r->role != RAFT_LEADER) return;     /* its own removal committed */
    }
    p->paused = 0;
    if (r->transferee == p->id && p->match == lastIndex(r)) sendTimeoutNow(r, p);
    sendAppends(r, p);
}

static void leaderHeartbeatResp(raft *r, raftPeer *p, const raftMsg *m) {
    if (m->ctx > p->read_ack) {
        p->read_ack = m->ctx;
        readyReadsUpTo(r, quorumValue(r, r->read_round, offsetof(raftPeer, read_ack)));
    }
    if (p->match < lastIndex(r)) {
        if (p->state == PROGRESS_PROBE) {
            p->paused = 0;
        } else if (p->in_count >= r->cfg.max_inflight_msgs) {
            p->in_start = (p->in_start + 1) % r->cfg.max_inflight_msgs;
            p->in_count--;
        }
        sendAppend(r, p, 1);
    }
}

void raftStep(raft *r, const raftMsg *m) {
    if (m->to != r->cfg.id || m->from == r->cfg.id || m->type == RAFT_MSG_SNAPSHOT) return;
    raftPeer *p = findPeer(r, m->from);
    /* A non-member is heard as a leader (this node's configuration lags,
     * or it is joining), or as the leader it just was handing over after
     * its own removal. Its vote requests are ignored once the configuration
     * that left it out is committed, so a removed node never disrupts the
     * cluster; before that the entry may still be undone (the sender may
     * be the one to win) and the usual rules apply. Its answers never
     * count. */
    int vote_req = m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE;
    if (!p && m->type != RAFT_MSG_APPEND && m->type != RAFT_MSG_HEARTBEAT &&
        !(vote_req && r->conf_index > r->commit) &&
        !(m->type == RAFT_MSG_TIMEOUT_NOW && m->from == r->leader && m->term == r->term))
        return;
    if (p) p->ticks_since_contact = 0;

    if (m->term > r->term) {
        if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) {
            int in_lease = r->cfg.check_quorum && r->leader != 0 &&
                           r->election_elapsed < r->cfg.election_ticks;
            if (in_lease && m->ctx != 1) return;
        }
        if (m->type == RAFT_MSG_PREVOTE || (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject)) {
            /* a PreVote does not move terms */
        } else if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT) {
            becomeFollower(r, m->term, m->from);
        } else {
            becomeFollower(r, m->term, 0);
        }
    } else if (m->term < r->term) {
        if ((r->cfg.check_quorum || r->cfg.pre_vote || !p) &&
            (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT)) {
            /* tell a stale leader about the new term (it may be cut off
             * from everyone else, and PreVote would never bump it; a
             * removed one hears from no leader at all) */
            newMsg(r, RAFT_MSG_APPEND_RESP, m->from, 1);
        } else if (m->type == RAFT_MSG_PREVOTE) {
            raftMsg *resp = newMsg(r, RAFT_MSG_PREVOTE_RESP, m->from, 0);
            resp->reject = 1;
        } else if (m->type == RAFT_MSG_VOTE) {
            /* the candidate learns the term: one whose configuration few
             * others share would hear of it from nobody else */
            raftMsg *resp = newMsg(r, RAFT_MSG_VOTE_RESP, m->from, 1);
            resp->reject = 1;
        }
        return;
    }

    if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) {
        handleVote(r, m);
        return;
    }

    switch (r->role) {
    case RAFT_LEADER:
        if (m->type == RAFT_MSG_APPEND_RESP) {
            p->recent_active = 1;
            leaderAppendResp(r, p, m);
        } else if (m->type == RAFT_MSG_HEARTBEAT_RESP) {
            p->recent_active = 1;
            leaderHeartbeatResp(r, p, m);
        }
        break;
    case RAFT_PRECANDIDATE:
    case RAFT_CANDIDATE:
        if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT) {
            becomeFollower(r, m->term, m->from);
            if (m->type == RAFT_MSG_APPEND) handleAppend(r, m);
            else handleHeartbeat(r, m);
        } else if ((m->type == RAFT_MSG_PREVOTE_RESP && r->role == RAFT_PRECANDIDATE &&
                    (m->reject || m->term == r->term + 1)) ||
                   (m->type == RAFT_MSG_VOTE_RESP && r->role == RAFT_CANDIDATE)) {
            /* (a PreVote grant names the term asked for: older rounds' do not count) */
            if (p->vote == VOTE_NONE) p->vote = m->reject ? VOTE_REJECTED : VOTE_GRANTED;
            pollVotes(r);
        }
        break;
    default:
        if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT) {
            r->election_elapsed = 0;
            r->leader = m->from;
            if (m->type == RAFT_MSG_APPEND) handleAppend(r, m);
            else handleHeartbeat(r, m);
        } else if (m->type == RAFT_MSG_TIMEOUT_NOW) {
            campaign(r, CAMPAIGN_TRANSFER);
        }
        break;
    }
}

/* ---------------------------------------------------------------------------
 * Public events
 * ------------------------------------------------------------------------- */

void raftTick(raft *r) {
    for (int i = 0; i < r->npeers; i++) r->peers[i].ticks_since_contact++;
    r->election_elapsed++;
    if (r->role != RAFT_LEADER) {
        if (r->is_voter && r->election_elapsed >= r->randomized_timeout) campaign(r, CAMPAIGN_PRE);
        return;
    }
    if (r->transferee && ++r->transfer_elapsed >= r->cfg.election_ticks) r->transferee = 0;
    for (int i = 0; i < r->npeers; i++) {
        raftPeer *p = &r->peers[i];
        if (p->state != PROGRESS_SNAPSHOT || ++p->snapshot_elapsed < r->cfg.snapshot_timeout_ticks)
            continue;
        /* unanswered: probe just after it (installed, answer lost?) */
        setProbe(p);
        if (p->next < p->pending_snapshot + 1) p->next = p->pending_snapshot + 1;
        sendAppend(r, p, 1);
    }
    if (r->election_elapsed >= r->cfg.election_ticks) {
        r->election_elapsed = 0;
        if (r->cfg.check_quorum) {
            int active = r->is_voter ? 1 : 0;
            for (int i = 0; i < r->npeers; i++) {
                if (!r->peers[i].is_learner) active += r->peers[i].recent_active;
                r->peers[i].recent_active = 0;
            }
            if (active < r->quorum) {
                becomeFollower(r, r->term, 0);
                return;
            }
        }
    }
    if (++r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
        r->heartbeat_elapsed = 0;
        bcastHeartbeat(r);
    }
}

uint64_t raftPropose(raft *r, uint8_t type, const void *data, uint32_t len) {
    if (r->role != RAFT_LEADER || r->transferee || type == RAFT_ENTRY_CONF) return 0;
    logAppend(r, r->term, type, data, len);
    r->bcast_pending = 1;
    return lastIndex(r);
}

uint64_t raftProposeConfChange(raft *r, int op, uint64_t id, const void *tail, uint32_t taillen) {
    if (r->role != RAFT_LEADER || r->transferee) return 0;
    /* one change at a time, and only once this term has committed an entry
     * (else a change of a previous term might still be lost) */
    if (r->conf_index > r->commit || !committedInTerm(r)) return 0;
    raftConfState c = r->conf;
    if (!confApply(&c, op, id) || c.nvoters == 0) return 0;
    uint32_t len = RAFT_CONF_CHANGE_LEN + taillen;
    unsigned char *buf = xrealloc(NULL, len);
    raftConfChangeEncode(buf, op, id);
    if (taillen) memcpy(buf + RAFT_CONF_CHANGE_LEN, tail, taillen);
    logAppend(r, r->term, RAFT_ENTRY_CONF, buf, len);
    free(buf);
    r->bcast_pending = 1;
    return lastIndex(r);
}

void raftPersisted(raft *r, uint64_t index, uint64_t term) {
    if (index <= r->persisted || index >= r->next_handoff || termAt(r, index) != term) return;
    r->persisted = index;
    if (r->role == RAFT_LEADER) maybeCommit(r);
}

void raftReadIndex(raft *r, uint64_t ctx) {
    if (r->role != RAFT_LEADER) {
        GROW(r->dropped, r->ndropped, r->capdropped);
        r->dropped[r->ndropped++] = ctx;
        return;
    }
    GROW(r->preads, r->npreads, r->cappreads);
    r->preads[r->npreads].ctx = ctx;
    r->preads[r->npreads].index = 0;
    r->preads[r->npreads].round = 0;
    r->npreads++;
}

int raftTransferLeader(raft *r, uint64_t id) {
    raftPeer *p = findPeer(r, id);
    if (r->role != RAFT_LEADER || !p || p->is_learner) return -1;
    if (r->transferee == id) return 0;
    r->transferee = id;
    r->transfer_elapsed = 0;
    if (p->match == lastIndex(r)) sendTimeoutNow(r, p);
    else sendAppend(r, p, 1);
    return 0;
}

/* Drops in-memory entries up to index (offset < index <= last). */
static void logCompact(raft *r, uint64_t index) {
    dropAppendsBelow(&r->now, index);
    dropAppendsBelow(&r->after, index);
    confAt(r, index, &r->base);
    size_t n = index - r->offset;
    for (size_t i = 0; i < n; i++) free(r->ents[i].data);
    r->offset_term = termAt(r, index);
    memmove(r->ents, r->ents + n, (r->nents - n) * sizeof(raftEntry));
    r->nents -= n;
    r->offset = index;
}

void raftCompact(raft *r, uint64_t index) {
    if (index > r->applied) index = r->applied;
    if (index <= r->offset) return;
    logCompact(r, index);
    if (index > r->snap_index) {
        r->snap_index = index;
        r->snap_term = r->offset_term;
        r->snap_conf = r->base;
    }
}

int raftSnapshotTaken(raft *r, uint64_t index, uint64_t term) {
    if (index > r->applied || index < r->offset || termAt(r, index) != term) return -1;
    if (index > r->snap_index) {
        r->snap_index = index;
        r->snap_term = term;
        confAt(r, index, &r->snap_conf);
    }
    return 0;
}

void raftSnapshotFailed(raft *r, uint64_t id) {
    raftPeer *p = findPeer(r, id);
    if (r->role != RAFT_LEADER || !p || p->state != PROGRESS_SNAPSHOT) return;
    setProbe(p);
    p->paused = 1;      /* the next heartbeat answer retries */
}

void raftSnapshotInstalled(raft *r, uint64_t index, uint64_t term, const raftConfState *conf) {
    if (index <= r->applied) {
        /* Already there (say, installed before a restart the leader did not
         * see): the applied entries are committed, so they match the
         * leader's log; telling it so ends its snapshot attempts. */
        if (r->leader && r->leader != r->cfg.id) {
            raftMsg *resp = newMsg(r, RAFT_MSG_APPEND_RESP, r->leader, 1);
            resp->index = r->applied;
        }
        return;
    }
    if (index >= r->offset && index <= lastIndex(r) && termAt(r, index) == term) {
        /* the log holds the snapshot's last entry: keep what follows */
        if (index > r->offset) logCompact(r, index);
    } else {
        for (size_t i = 0; i < r->nents; i++) free(r->ents[i].data);
        r->nents = 0;
        dropAppendsFrom(&r->now, 0);
        dropAppendsFrom(&r->after, 0);
        if (r->commit > index) abort();     /* committed entries never conflict */
        if (r->next_handoff > index + 1 && (!r->truncate_from || r->truncate_from > index + 1))
            r->truncate_from = index + 1;
        r->next_handoff = index + 1;
        r->persisted = index;
        r->offset = index;
        r->offset_term = term;
    }
    r->base = *conf;
    r->conf_known = 1;
    r->snap_index = index;
    r->snap_term = term;
    r->snap_conf = *conf;
    r->applied = index;
    if (r->commit < index) r->commit = index;
    if (r->persisted < index) r->persisted = index;
    if (r->next_handoff < index + 1) r->next_handoff = index + 1;
    confRecompute(r);
    if (r->leader) {
        raftMsg *resp = newMsg(r, RAFT_MSG_APPEND_RESP, r->leader, 1);
        resp->index = index;
    }
}

int raftGetConfState(const raft *r, uint64_t index, raftConfState *out) {
    if (index == 0) {
        *out = r->conf;
        return 0;
    }
    if (index < r->offset || index > lastIndex(r)) return -1;
    confAt(r, index, out);
    return 0;
}

uint64_t raftTermAt(const raft *r, uint64_t index) {
    return termAt(r, index);
}

/* ---------------------------------------------------------------------------
 * Updates
 * ------------------------------------------------------------------------- */

static raftHardState hardState(const raft *r) {
    raftHardState hs = { r->term, r->vote, r->commit };
    return hs;
}

static uint64_t committedReady(const raft *r) {
    return r->commit < r->persisted ? r->commit : r->persisted;
}

int raftHasUpdate(const raft *r) {
    raftHardState hs = hardState(r);
    return memcmp(&hs, &r->prev_hs, sizeof(hs)) != 0 || r->truncate_from ||
           r->next_handoff <= lastIndex(r) || r->now.n || r->after.n ||
           committedReady(r) > r->applied || r->nready || r->ndropped ||
           r->role != r->prev_role || r->term != r->prev_term || r->leader != r->prev_leader ||
           readsStartable(r);
}

static void resolveEntries(raft *r, msgQueue *q) {
    for (size_t i = 0; i < q->n; i++) {
        raftMsg *m = &q->m[i];
        m->entries = m->nentries ? entryAt(r, m->index + 1) : NULL;
        if (m->type == RAFT_MSG_SNAPSHOT) {
            m->index = r->snap_index;
            m->log_term = r->snap_term;
            m->conf = &r->snap_conf;
        }
    }
}

void raftGetUpdate(raft *r, raftUpdate *u) {
    if (r->bcast_pending && r->role == RAFT_LEADER) bcastAppend(r);
    r->bcast_pending = 0;
    startReadRound(r);
    memset(u, 0, sizeof(*u));
    u->hs = hardState(r);
    u->hs_changed = u->hs.term != r->prev_hs.term || u->hs.vote != r->prev_hs.vote;
    u->truncate_from = r->truncate_from;
    if (r->next_handoff <= lastIndex(r)) {
        u->entries = entryAt(r, r->next_handoff);
        u->nentries = lastIndex(r) - r->next_handoff + 1;
    }
    resolveEntries(r, &r->now);
    resolveEntries(r, &r->after);
    u->msgs = r->now.m;
    u->nmsgs = r->now.n;
    u->msgs_after_persist = r->after.m;
    u->nmsgs_after_persist = r->after.n;
    uint64_t c = committedReady(r);
    if (c > r->applied) {
        u->committed = entryAt(r, r->applied + 1);
        u->ncommitted = c - r->applied;
    }
    u->reads = r->ready;
    u->nreads = r->nready;
    u->dropped_reads = r->dropped;
    u->ndropped_reads = r->ndropped;
    u->role = r->role;
    u->term = r->term;
    u->leader = r->leader;
    u->role_changed = r->role != r->prev_role || r->term != r->prev_term ||
                      r->leader != r->prev_leader;
}

void raftAdvance(raft *r, raftUpdate *u) {
    r->prev_hs = u->hs;
    r->truncate_from = 0;
    if (u->nentries) r->next_handoff = u->entries[u->nentries - 1].index + 1;
    r->applied += u->ncommitted;
    r->now.n = 0;
    r->after.n = 0;
    r->nready = 0;
    r->ndropped = 0;
    r->prev_role = u->role;
    r->prev_term = u->term;
    r->prev_leader = u->leader;
}

/* ---------------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------------- */

raft *raftNew(const raftConfig *cfg, const raftHardState *hs, uint64_t snap_index,
              uint64_t snap_term, const raftEntry *entries, size_t nentries) {
    if (!cfg->id || cfg->election_ticks < 1 || cfg->heartbeat_ticks < 1) return NULL;
    if (cfg->conf ? cfg->conf->nvoters < 0 || cfg->conf->nlearners < 0 ||
                    cfg->conf->nvoters + cfg->conf->nlearners > RAFT_MAX_MEMBERS
                  : cfg->nvoters < 0 || cfg->nvoters > RAFT_MAX_MEMBERS)
        return NULL;
    for (size_t i = 0; i < nentries; i++)
        if (entries[i].index != snap_index + 1 + i) return NULL;
    raft *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->cfg = *cfg;
    r->cfg.voters = NULL;
    r->cfg.conf = NULL;
    if (r->cfg.max_inflight_msgs < 1) r->cfg.max_inflight_msgs = 1;
    if (r->cfg.max_msg_bytes == 0) r->cfg.max_msg_bytes = SIZE_MAX;
    if (r->cfg.snapshot_timeout_ticks < 1) r->cfg.snapshot_timeout_ticks = 10 * cfg->election_ticks;
    if (cfg->conf) {
        r->base = *cfg->conf;
    } else {
        for (int i = 0; i < cfg->nvoters; i++)
            if (cfg->voters[i] && idsFind(r->base.voters, r->base.nvoters, cfg->voters[i]) < 0)
                r->base.voters[r->base.nvoters++] = cfg->voters[i];
    }
    r->conf_known = cfg->conf || cfg->nvoters > 0;
    r->conf = r->base;
    r->snap_conf = r->base;
    r->snap_index = snap_index;
    r->snap_term = snap_term;
    r->rng = cfg->seed;
    r->role = r->prev_role = RAFT_FOLLOWER;
    confChanged(r);

    r->offset = snap_index;
    r->offset_term = snap_term;
    for (size_t i = 0; i < nentries; i++)
        logAppend(r, entries[i].term, entries[i].type, entries[i].data, entries[i].len);
    r->persisted = lastIndex(r);
    r->next_handoff = lastIndex(r) + 1;
    if (hs) {
        r->term = hs->term;
        r->vote = hs->vote;
        r->commit = hs->commit;
    }
    r->prev_hs = hardState(r);
    r->applied = cfg->applied > snap_index ? cfg->applied : snap_index;
    if (r->applied > lastIndex(r)) r->applied = lastIndex(r);
    if (r->commit < r->applied) r->commit = r->applied;
    if (r->commit > lastIndex(r)) r->commit = lastIndex(r);

    r->prev_term = r->term;
    resetElectionTimer(r);
    if (r->is_voter && r->quorum == 1) campaign(r, CAMPAIGN_PRE);
    return r;
}

void raftFree(raft *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nents; i++) free(r->ents[i].data);
    free(r->ents);
    for (int i = 0; i < r->npeers; i++) free(r->peers[i].inflight);
    free(r->now.m);
    free(r->after.m);
    free(r->preads);
    free(r->ready);
    free(r->dropped);
    free(r);
}

/* ---------------------------------------------------------------------------
 * Introspection
 * ------------------------------------------------------------------------- */

void raftGetInfo(const raft *r, raftInfo *info) {
    memset(info, 0, sizeof(*info));
    info->id = r->cfg.id;
    info->role = r->role;
    info->term = r->term;
    info->vote = r->vote;
    info->leader = r->leader;
    info->commit = r->commit;
    info->applied = r->applied;
    info->persisted = r->persisted;
    info->first_index = r->offset + 1;
    info->last_index = lastIndex(r);
    info->transferee = r->transferee;
    info->nvoters = r->conf.nvoters;
    info->nlearners = r->conf.nlearners;
    info->is_voter = r->is_voter;
    info->is_learner = r->is_learner;
    info->conf_index = r->conf_index;
    info->snap_index = r->snap_index;
    info->snap_term = r->snap_term;
}

int raftGetPeers(const raft *r, raftPeerInfo *out, int max) {
    int n = 0;
    for (int i = 0; i < r->npeers && n < max; i++, n++) {
        const raftPeer *p = &r->peers[i];
        out[n].id = p->id;
        out[n].match = p->match;
        out[n].next = p->next;
        out[n].ticks_since_contact = p->ticks_since_contact;
        out[n].active = p->recent_active;
        out[n].is_learner = p->is_learner;
        out[n].snapshot = p->state == PROGRESS_SNAPSHOT;
    }
    return n;
}

const char *raftRoleName(int role) {
    switch (role) {
    case RAFT_FOLLOWER: return "follower";
    case RAFT_PRECANDIDATE: return "precandidate";
    case RAFT_CANDIDATE: return "candidate";
    case RAFT_LEADER: return "leader";
    case RAFT_LEARNER: return "learner";
    default: return "unknown";
    }
}

const char *raftMsgTypeName(int type) {
    switch (type) {
    case RAFT_MSG_APPEND: return "AppendEntries";
    case RAFT_MSG_APPEND_RESP: return "AppendEntriesResp";
    case RAFT_MSG_VOTE: return "RequestVote";
    case RAFT_MSG_VOTE_RESP: return "RequestVoteResp";
    case RAFT_MSG_PREVOTE: return "PreVote";
    case RAFT_MSG_PREVOTE_RESP: return "PreVoteResp";
    case RAFT_MSG_HEARTBEAT: return "Heartbeat";
    case RAFT_MSG_HEARTBEAT_RESP: return "HeartbeatResp";
    case RAFT_MSG_TIMEOUT_NOW: return "TimeoutNow";
    case RAFT_MSG_SNAPSHOT: return "Snapshot";
    default: return "Unknown";
    }
}
