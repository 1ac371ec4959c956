/* sim.c -- deterministic simulator for the pure Raft core.
 *
 * One seed drives everything: a cluster of 3 or 5 cores, a simulated network
 * (random delay, so reordering; drops; duplicates; partitions that come and
 * go), simulated disks (each update's write completes after a random delay,
 * in order; a crash loses every write not completed, and the node restarts
 * from what was durable plus its applied state machine), clients proposing
 * entries, asking linearizable reads and leadership transfers. Nodes take
 * snapshots now and then (the state machine's digest at the applied index
 * plus the membership, as a checkpoint) and compact their logs; a leader's
 * SNAPSHOT request streams one out of band (it may fail, or arrive late),
 * and the receiver installs it in order with its log writes. Spare nodes
 * start with no configuration and join as learners; the operator promotes
 * learners that caught up and removes voters (the leader too) and learners.
 *
 * After every event the checker asserts: election safety (at most one leader
 * per term), log matching (an (index, term) pair always denotes the same log
 * prefix, on every node, at every time: checked through a hash chain),
 * leader completeness (a leader holds every entry known committed), state
 * machine safety (an index is applied with the same entry everywhere), the
 * persistence contract (an entry is applied only once durable) and ReadIndex
 * linearizability (a read's index covers every entry committed before the
 * read was asked), snapshot safety (a snapshot sent is the committed state
 * at its index), and that a removed node (its removal committed) is never
 * elected again and never brings a member to a term no member had (with
 * PreVote). Leader completeness counts a leader's snapshot point (it must
 * be committed) as holding the prefix. At the end the network heals and
 * every node comes back: one leader must emerge, all members of its
 * configuration converge, and every committed entry is in the final log.
 *
 *   tests/sim/sim --seeds 1000          seeds 1..1000, prints failing seeds
 *   tests/sim/sim --seed 42 --verbose   replays one seed with a trace
 *
 * A failed check prints the seed and the reason and abandons that seed's run
 * (longjmp; its memory is not reclaimed). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft.h"

#define TICK_UNITS 10
#define CHAOS_UNITS 8000
#define SETTLE_UNITS 10000

static int verbose;
static jmp_buf fail_jmp;
static uint64_t now;

static void trace(const char *fmt, ...) {
    if (!verbose) return;
    va_list ap;
    va_start(ap, fmt);
    printf("[%6" PRIu64 "] ", now);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("[%6" PRIu64 "] CHECK FAILED: ", now);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    longjmp(fail_jmp, 1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* A malloc'd copy of len bytes (data may be NULL when len is 0). */
static unsigned char *dupBytes(const unsigned char *data, uint32_t len) {
    unsigned char *p = xmalloc(len);
    if (len) memcpy(p, data, len);
    return p;
}

#define GROW(arr, n, cap) do { \
    if ((n) == (cap)) { \
        (cap) = (cap) ? (cap) * 2 : 16; \
        (arr) = realloc((arr), (cap) * sizeof(*(arr))); \
        if (!(arr)) abort(); \
    } \
} while (0)

/* ---------------------------------------------------------------------------
 * Randomness: everything derives from the seed.
 * ------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rndRange(uint64_t lo, uint64_t hi) { return lo + rnd() % (hi - lo + 1); }
static int chance(double p) { return (double)(rnd() >> 11) / (double)(1ULL << 53) < p; }

/* ---------------------------------------------------------------------------
 * Logs as the simulator sees them: each entry carries a hash chain over the
 * whole prefix, so equal chains mean equal prefixes.
 * ------------------------------------------------------------------------- */

typedef struct simEnt {
    uint64_t term, chain;
    uint8_t type;
    uint32_t len;
    unsigned char *data;
} simEnt;

/* The entries after base (a snapshot or compaction point, whose chain and
 * term are kept). */
typedef struct simLog {
    simEnt *e;      /* index base + 1 + i at e[i] */
    size_t n, cap;
    uint64_t base, base_term, base_chain;
} simLog;

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdULL;
}

static uint64_t entChain(uint64_t prev, const raftEntry *e) {
    uint64_t h = mix(prev, e->term);
    h = mix(h, e->type);
    for (uint32_t i = 0; i < e->len; i++) h = mix(h, e->data[i]);
    return mix(h, e->len);
}

static uint64_t logLast(const simLog *l) { return l->base + l->n; }
static simEnt *logAt(const simLog *l, uint64_t i) { return &l->e[i - l->base - 1]; }

/* Chain/term at i (base <= i <= last). */
static uint64_t logChain(const simLog *l, uint64_t i) { return i == l->base ? l->base_chain : logAt(l, i)->chain; }
static uint64_t logTerm(const simLog *l, uint64_t i) { return i == l->base ? l->base_term : logAt(l, i)->term; }

/* Deletes entries >= from (all of them when from <= base). */
static void logTruncate(simLog *l, uint64_t from) {
    while (l->n && logLast(l) >= from) free(l->e[--l->n].data);
}

static void logPush(simLog *l, const raftEntry *e) {
    GROW(l->e, l->n, l->cap);
    simEnt *s = &l->e[l->n];
    s->term = e->term;
    s->type = e->type;
    s->len = e->len;
    s->data = dupBytes(e->data, e->len);
    s->chain = entChain(logChain(l, logLast(l)), e);
    l->n++;
}

/* Empties the log and makes (base, term, chain) its start. */
static void logReset(simLog *l, uint64_t base, uint64_t term, uint64_t chain) {
    logTruncate(l, 0);
    l->base = base;
    l->base_term = term;
    l->base_chain = chain;
}

/* Drops the entries up to to (base < to <= last). */
static void logCompact(simLog *l, uint64_t to) {
    uint64_t term = logTerm(l, to), chain = logChain(l, to);
    size_t k = to - l->base;
    for (size_t i = 0; i < k; i++) free(l->e[i].data);
    memmove(l->e, l->e + k, (l->n - k) * sizeof(simEnt));
    l->n -= k;
    l->base = to;
    l->base_term = term;
    l->base_chain = chain;
}

static void logCopy(simLog *dst, const simLog *src) {
    logReset(dst, src->base, src->base_term, src->base_chain);
    for (size_t i = 0; i < src->n; i++) {
        raftEntry e = {src->e[i].term, src->base + 1 + i, src->e[i].type, src->e[i].len, src->e[i].data};
        logPush(dst, &e);
    }
}

static void logFree(simLog *l) {
    logTruncate(l, 0);
    free(l->e);
    memset(l, 0, sizeof(*l));
}

/* ---------------------------------------------------------------------------
 * Global knowledge for the checks
 * ------------------------------------------------------------------------- */

/* (index, term) -> chain, for log matching across nodes and time. */
typedef struct pairSlot { uint64_t index, term, chain; } pairSlot;
static pairSlot *pairs;
static size_t npairs, cappairs;

static void pairsReset(void) {
    free(pairs);
    cappairs = 1024;
    npairs = 0;
    pairs = calloc(cappairs, sizeof(pairSlot));
}

static void pairsInsert(uint64_t index, uint64_t term, uint64_t chain);

static void pairsGrow(void) {
    pairSlot *old = pairs;
    size_t oldcap = cappairs;
    cappairs *= 2;
    npairs = 0;
    pairs = calloc(cappairs, sizeof(pairSlot));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].index) pairsInsert(old[i].index, old[i].term, old[i].chain);
    free(old);
}

static void pairsInsert(uint64_t index, uint64_t term, uint64_t chain) {
    if (npairs * 2 >= cappairs) pairsGrow();
    size_t h = mix(index, term) & (cappairs - 1);
    while (pairs[h].index) {
        if (pairs[h].index == index && pairs[h].term == term) {
            if (pairs[h].chain != chain)
                fail("log matching: two different logs end in (index %" PRIu64 ", term %" PRIu64 ")",
                     index, term);
            return;
        }
        h = (h + 1) & (cappairs - 1);
    }
    pairs[h].index = index;
    pairs[h].term = term;
    pairs[h].chain = chain;
    npairs++;
}

static uint64_t *leader_of_term;    /* term -> node id */
static size_t cap_leader_of_term;
static uint64_t *committed;         /* index -> chain of the committed prefix */
static uint64_t *commit_term;       /* index -> a term by which it was committed */
static uint64_t ncommitted, capcommitted;

typedef struct simRead { uint64_t floor; int node, done; } simRead;
static simRead *reads;
static size_t nreads, capreads;

/* ---------------------------------------------------------------------------
 * Nodes, disks and the network
 * ------------------------------------------------------------------------- */

typedef struct simMsgBuf {
    raftMsg m;                      /* entries deep-copied */
    uint64_t due;
} simMsgBuf;

/* A snapshot: the state machine's digest (the chain of the applied prefix)
 * at index, and the membership as of index. */
typedef struct simSnap {
    uint64_t index, term, chain;
    raftConfState conf;
} simSnap;

typedef struct simWrite {
    uint64_t truncate_from;
    raftEntry *ents;                /* deep-copied */
    size_t nents;
    raftHardState hs;
    raftMsg *msgs;                  /* after-persist messages, deep-copied */
    size_t nmsgs;
    int install;                    /* instead: install snap (state machine + log start) */
    simSnap snap;
    uint64_t due;
} simWrite;

typedef struct simNode {
    uint64_t id;
    raft *r;
    int up;
    uint64_t down_until;
    int group;                      /* partition side */
    int tick_phase;
    simLog image;                   /* the log as handed out by updates */
    simLog durable;
    raftHardState dhs;
    int conf_known;                 /* durable: membership as of durable.base known */
    raftConfState dconf;
    uint64_t applied, applied_term, applied_chain;  /* the state machine: survives crashes */
    simSnap snap;                   /* latest checkpoint: survives crashes */
    uint64_t checked_commit;        /* prefix already checked against committed */
    simWrite *writes;
    size_t nwrites, capwrites;
    int role;
    uint64_t term;
} simNode;

/* A snapshot on its way (out of band, as the server streams it). */
typedef struct simTransfer {
    uint64_t from, to, due;
    simSnap snap;
} simTransfer;

#define MAXN 7

static simNode nodes[MAXN];
static int nnodes;                  /* started: the initial voters and the spares */
static int ninitial;
static uint64_t voter_ids[MAXN];
static raftConfig base_cfg;
static int added[MAXN + 1], removed[MAXN + 1];  /* removed: the removal committed */
static uint64_t removed_term[MAXN + 1];             /* its term then */

static simMsgBuf *net;
static size_t nnet, capnet;
static simTransfer *xfers;
static size_t nxfers, capxfers;
static double p_drop, p_dup, p_reorder;
static uint64_t link_due[MAXN][MAXN];  /* links are FIFO (as TCP) except reordered messages */
static uint64_t max_delay, max_disk_delay;
static double p_crash, p_crash_leader, p_partition, p_propose, p_snapshot, p_conf, p_xfer_fail;
static uint64_t stat_msgs, stat_proposals, stat_elections, stat_reads, stat_snap_sent, stat_snap_installed,
    stat_conf;

static raftMsg msgCopy(const raftMsg *m) {
    raftMsg c = *m;
    c.conf = NULL;
    if (m->nentries) {
        c.entries = xmalloc(m->nentries * sizeof(raftEntry));
        for (size_t i = 0; i < m->nentries; i++) {
            c.entries[i] = m->entries[i];
            c.entries[i].data = dupBytes(m->entries[i].data, m->entries[i].len);
        }
    } else {
        c.entries = NULL;
    }
    return c;
}

static void msgFree(raftMsg *m) {
    for (size_t i = 0; i < m->nentries; i++) free(m->entries[i].data);
    free(m->entries);
}

static void netSend(const raftMsg *m) {
    stat_msgs++;
    int copies = chance(p_dup) ? 2 : 1;
    if (chance(p_drop)) {
        trace("drop %s %" PRIu64 "->%" PRIu64, raftMsgTypeName(m->type), m->from, m->to);
        return;
    }
    for (int i = 0; i < copies; i++) {
        GROW(net, nnet, capnet);
        net[nnet].m = msgCopy(m);
        uint64_t due = now + rndRange(1, max_delay);
        uint64_t *last = &link_due[m->from - 1][m->to - 1];
        if (!chance(p_reorder)) {
            if (due < *last) due = *last;
            *last = due;
        }
        net[nnet].due = due;
        nnet++;
    }
}

static simNode *nodeById(uint64_t id) { return &nodes[id - 1]; }

static int inConf(const raftConfState *c, uint64_t id) {
    for (int i = 0; i < c->nvoters; i++)
        if (c->voters[i] == id) return 1;
    for (int i = 0; i < c->nlearners; i++)
        if (c->learners[i] == id) return 1;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------- */

static void checkLeader(simNode *n, uint64_t term) {
    if (term >= cap_leader_of_term) {
        size_t old = cap_leader_of_term;
        while (term >= cap_leader_of_term) cap_leader_of_term = cap_leader_of_term ? cap_leader_of_term * 2 : 64;
        leader_of_term = realloc(leader_of_term, cap_leader_of_term * sizeof(uint64_t));
        memset(leader_of_term + old, 0, (cap_leader_of_term - old) * sizeof(uint64_t));
    }
    if (leader_of_term[term] && leader_of_term[term] != n->id)
        fail("election safety: nodes %" PRIu64 " and %" PRIu64 " both lead term %" PRIu64,
             leader_of_term[term], n->id, term);
    leader_of_term[term] = n->id;
}

/* A leader's state (snapshot point + log) must hold every entry committed
 * in an earlier term: its log start is committed, and the chain at the
 * last such entry is the committed one. */
static void checkCompleteness(simNode *n) {
    uint64_t i = ncommitted;
    while (i && commit_term[i - 1] >= n->term) i--;
    if (!i) return;
    const simLog *l = &n->image;
    if (l->base && (l->base > ncommitted || committed[l->base - 1] != l->base_chain))
        fail("leader completeness: leader %" PRIu64 " starts from an uncommitted point %" PRIu64, n->id, l->base);
    if (i <= l->base) return;
    if (logLast(l) < i || logChain(l, i) != committed[i - 1])
        fail("leader completeness: leader %" PRIu64 " of term %" PRIu64 " lacks index %" PRIu64
             " committed by term %" PRIu64, n->id, n->term, i, commit_term[i - 1]);
}

/* A committed CONF entry that removes a node: that node must never lead
 * again nor disturb the others. */
static void noteCommittedConf(const simEnt *e) {
    int op;
    uint64_t id;
    if (e->type != RAFT_ENTRY_CONF || raftConfChangeDecode(e->data, e->len, &op, &id) != 0) return;
    if (op == RAFT_CONF_REMOVE && id >= 1 && id <= MAXN && !removed[id]) {
        removed[id] = 1;
        removed_term[id] = nodeById(id)->term;
        trace("removal of node %" PRIu64 " committed", id);
    }
}

static void recordCommitted(simNode *n, uint64_t commit) {
    if (commit > logLast(&n->image))
        fail("node %" PRIu64 " commit %" PRIu64 " beyond its log %" PRIu64, n->id, commit, logLast(&n->image));
    uint64_t from = n->checked_commit + 1;
    if (from <= n->image.base) from = n->image.base + 1;
    for (uint64_t i = from; i <= commit; i++) {
        uint64_t chain = logChain(&n->image, i);
        if (i <= ncommitted) {
            if (committed[i - 1] != chain)
                fail("state machine safety: node %" PRIu64 " commits a different entry at %" PRIu64, n->id, i);
            continue;
        }
        if (i != ncommitted + 1) fail("node %" PRIu64 " commits %" PRIu64 " past the known prefix %" PRIu64,
                                      n->id, i, ncommitted);
        if (ncommitted == capcommitted) {
            capcommitted = capcommitted ? capcommitted * 2 : 64;
            committed = realloc(committed, capcommitted * sizeof(uint64_t));
            commit_term = realloc(commit_term, capcommitted * sizeof(uint64_t));
        }
        committed[ncommitted] = chain;
        commit_term[ncommitted++] = n->term;
        noteCommittedConf(logAt(&n->image, i));
        for (int k = 0; k < nnodes; k++) {
            simNode *o = &nodes[k];
            if (o->up && o->role == RAFT_LEADER && o->term > n->term) checkCompleteness(o);
        }
    }
    if (commit > n->checked_commit) n->checked_commit = commit;
}

static void checkApply(simNode *n, const raftEntry *e) {
    if (e->index != n->applied + 1)
        fail("node %" PRIu64 " applies %" PRIu64 " after %" PRIu64, n->id, e->index, n->applied);
    const simLog *d = &n->durable;
    if (e->index <= d->base || e->index > logLast(d) || logTerm(d, e->index) != e->term)
        fail("persistence: node %" PRIu64 " applies %" PRIu64 " before it is durable", n->id, e->index);
    uint64_t chain = logChain(d, e->index);
    if (e->index <= ncommitted) {
        if (committed[e->index - 1] != chain)
            fail("state machine safety: node %" PRIu64 " applies a different entry at %" PRIu64, n->id, e->index);
    } else {
        /* applied => committed: record the prefix as committed */
        recordCommitted(n, e->index);
    }
    n->applied = e->index;
    n->applied_term = e->term;
    n->applied_chain = chain;
}

/* ---------------------------------------------------------------------------
 * Snapshots: taken at the applied index, sent out of band
 * ------------------------------------------------------------------------- */

/* The node checkpoints its state machine and compacts its log a little
 * behind it (memory and disk alike). */
static void takeSnapshot(simNode *n) {
    if (n->applied <= n->snap.index) return;
    simSnap s = {n->applied, n->applied_term, n->applied_chain, {0}};
    if (raftGetConfState(n->r, s.index, &s.conf) != 0)
        fail("node %" PRIu64 " has no configuration at its applied index %" PRIu64, n->id, s.index);
    if (raftSnapshotTaken(n->r, s.index, s.term) != 0)
        fail("node %" PRIu64 " refuses its snapshot at %" PRIu64, n->id, s.index);
    n->snap = s;
    uint64_t margin = rndRange(0, 20), to = s.index > margin ? s.index - margin : 0;
    if (to > n->durable.base && to > n->image.base && to <= logLast(&n->durable)) {
        raftConfState cs;
        if (raftGetConfState(n->r, to, &cs) != 0) fail("node %" PRIu64 ": no configuration at %" PRIu64, n->id, to);
        raftCompact(n->r, to);
        logCompact(&n->durable, to);
        logCompact(&n->image, to);
        n->dconf = cs;
        n->conf_known = 1;
    }
    trace("node %" PRIu64 " snapshot at %" PRIu64 ", log from %" PRIu64, n->id, s.index, n->durable.base + 1);
}

static void transferFailed(size_t k) {
    simTransfer *t = &xfers[k];
    simNode *from = nodeById(t->from);
    trace("snapshot transfer %" PRIu64 "->%" PRIu64 " fails", t->from, t->to);
    if (from->up) raftSnapshotFailed(from->r, t->to);
    xfers[k] = xfers[--nxfers];
}

/* The leader's server on a SNAPSHOT message (after raftAdvance, as it may
 * take a checkpoint): streams its latest checkpoint, or a fresh one when
 * that is older than asked (or empty). */
static void startTransfer(simNode *n, uint64_t to, uint64_t index) {
    for (size_t i = 0; i < nxfers; i++)
        if (xfers[i].from == n->id && xfers[i].to == to) return;     /* already streaming */
    if (n->snap.index < index || !n->snap.index) takeSnapshot(n);
    if (n->snap.index < index)
        fail("node %" PRIu64 " asked for a snapshot at %" PRIu64 " beyond its applied %" PRIu64, n->id, index,
             n->applied);
    if (!n->snap.index) {
        raftSnapshotFailed(n->r, to);   /* nothing applied yet */
        return;
    }
    GROW(xfers, nxfers, capxfers);
    simTransfer *t = &xfers[nxfers++];
    t->from = n->id;
    t->to = to;
    t->snap = n->snap;
    t->due = now + rndRange(max_delay, 8 * max_delay);
    stat_snap_sent++;
    trace("node %" PRIu64 " streams snapshot %" PRIu64 " to %" PRIu64, n->id, t->snap.index, t->to);
}

static void queueInstall(simNode *n, const simSnap *s);

/* Delivers or fails the transfers that are due. */
static void transfersDue(void) {
    for (size_t k = 0; k < nxfers;) {
        simTransfer *t = &xfers[k];
        simNode *from = nodeById(t->from), *to = nodeById(t->to);
        if (!from->up || !to->up) {
            transferFailed(k);
            continue;
        }
        if (t->due > now) {
            k++;
            continue;
        }
        if (from->group != to->group || chance(p_xfer_fail)) {
            transferFailed(k);
            continue;
        }
        simSnap s = t->snap;
        xfers[k] = xfers[--nxfers];
        if (!s.index || s.index > ncommitted || committed[s.index - 1] != s.chain)
            fail("state machine safety: snapshot %" PRIu64 " of node %" PRIu64 " is not the committed state",
                 s.index, t->from);
        queueInstall(to, &s);
    }
}

/* ---------------------------------------------------------------------------
 * Driving one node
 * ------------------------------------------------------------------------- */

static void pushWrite(simNode *n, simWrite *w) {
    w->due = now + rndRange(0, max_disk_delay);
    if (n->nwrites && w->due < n->writes[n->nwrites - 1].due) w->due = n->writes[n->nwrites - 1].due;
    GROW(n->writes, n->nwrites, n->capwrites);
    n->writes[n->nwrites++] = *w;
}

/* Queues the update's write on the node's disk: it completes after a random
 * delay, never before an earlier one. */
static void queueWrite(simNode *n, const raftUpdate *u) {
    simWrite w;
    memset(&w, 0, sizeof(w));
    w.truncate_from = u->truncate_from;
    w.nents = u->nentries;
    w.ents = xmalloc(u->nentries * sizeof(raftEntry));
    for (size_t i = 0; i < u->nentries; i++) {
        w.ents[i] = u->entries[i];
        w.ents[i].data = dupBytes(u->entries[i].data, u->entries[i].len);
    }
    w.hs = u->hs;
    w.nmsgs = u->nmsgs_after_persist;
    w.msgs = xmalloc(w.nmsgs * sizeof(raftMsg));
    for (size_t i = 0; i < w.nmsgs; i++) w.msgs[i] = msgCopy(&u->msgs_after_persist[i]);
    pushWrite(n, &w);
}

/* The receiver's server installs a snapshot in order with its log writes. */
static void queueInstall(simNode *n, const simSnap *s) {
    simWrite w;
    memset(&w, 0, sizeof(w));
    w.install = 1;
    w.snap = *s;
    pushWrite(n, &w);
}

static void processUpdates(simNode *n) {
    for (int guard = 0; n->up && raftHasUpdate(n->r); guard++) {
        if (guard > 100) fail("node %" PRIu64 " never runs out of updates", n->id);
        raftUpdate u;
        raftGetUpdate(n->r, &u);
        uint64_t snap_to[2 * RAFT_MAX_MEMBERS], snap_index[2 * RAFT_MAX_MEMBERS];
        int nsnap = 0;
        if (u.role_changed) {
            trace("node %" PRIu64 " is %s term %" PRIu64 " leader %" PRIu64, n->id,
                  raftRoleName(u.role), u.term, u.leader);
            if (u.role == RAFT_LEADER && (n->role != RAFT_LEADER || n->term != u.term)) stat_elections++;
            n->role = u.role;
            n->term = u.term;
        }
        if (u.role == RAFT_LEADER) checkLeader(n, u.term);
        if (u.role == RAFT_LEADER && u.role_changed && removed[n->id])
            fail("removed node %" PRIu64 " is elected in term %" PRIu64, n->id, u.term);
        if (u.role == RAFT_CANDIDATE && u.role_changed && removed[n->id] && base_cfg.pre_vote &&
            u.term > removed_term[n->id])
            fail("removed node %" PRIu64 " campaigns in term %" PRIu64, n->id, u.term);
        if (u.truncate_from) {
            if (u.truncate_from <= n->applied)
                fail("node %" PRIu64 " truncates applied entries from %" PRIu64, n->id, u.truncate_from);
            logTruncate(&n->image, u.truncate_from);
        }
        for (size_t i = 0; i < u.nentries; i++) {
            if (u.entries[i].index != logLast(&n->image) + 1)
                fail("node %" PRIu64 " hands out entry %" PRIu64 " after %" PRIu64, n->id, u.entries[i].index,
                     logLast(&n->image));
            logPush(&n->image, &u.entries[i]);
            pairsInsert(u.entries[i].index, u.entries[i].term, logChain(&n->image, logLast(&n->image)));
        }
        if (u.role == RAFT_LEADER && u.role_changed) checkCompleteness(n);
        recordCommitted(n, u.hs.commit);
        for (size_t i = 0; i < u.nmsgs; i++) {
            const raftMsg *m = &u.msgs[i];
            if (m->type != RAFT_MSG_SNAPSHOT) {
                netSend(m);
                continue;
            }
            if (!m->conf || m->index < n->image.base)
                fail("node %" PRIu64 " asks for a snapshot before its log start", n->id);
            if (nsnap == 2 * RAFT_MAX_MEMBERS) continue;    /* the core times it out */
            snap_to[nsnap] = m->to;
            snap_index[nsnap++] = m->index;
        }

        if (u.truncate_from || u.nentries || u.hs_changed || u.nmsgs_after_persist) queueWrite(n, &u);

        for (size_t i = 0; i < u.ncommitted; i++) checkApply(n, &u.committed[i]);
        for (size_t i = 0; i < u.nreads; i++) {
            uint64_t ctx = u.reads[i].ctx;
            if (ctx >= nreads || reads[ctx].done || reads[ctx].node != (int)(n - nodes))
                fail("node %" PRIu64 " answers unknown read %" PRIu64, n->id, ctx);
            if (u.reads[i].index < reads[ctx].floor)
                fail("linearizability: read %" PRIu64 " at index %" PRIu64 " misses committed %" PRIu64,
                     ctx, u.reads[i].index, reads[ctx].floor);
            reads[ctx].done = 1;
            stat_reads++;
        }
        for (size_t i = 0; i < u.ndropped_reads; i++) {
            uint64_t ctx = u.dropped_reads[i];
            if (ctx >= nreads || reads[ctx].done) fail("node %" PRIu64 " drops unknown read", n->id);
            reads[ctx].done = 1;
        }
        raftAdvance(n->r, &u);
        for (int i = 0; i < nsnap; i++) startTransfer(n, snap_to[i], snap_index[i]);
    }
}

static void writeFree(simWrite *w) {
    for (size_t i = 0; i < w->nents; i++) free(w->ents[i].data);
    free(w->ents);
    for (size_t i = 0; i < w->nmsgs; i++) msgFree(&w->msgs[i]);
    free(w->msgs);
}

/* Swaps the state machine to the snapshot and moves the durable log start
 * to it (keeping the entries after it only if the log holds its last
 * entry), all at once; then tells the core. Dropped when not newer than
 * the state machine. */
static void completeInstall(simNode *n, const simSnap *s) {
    if (s->index <= n->applied) {
        trace("node %" PRIu64 " drops snapshot %" PRIu64 " (applied %" PRIu64 ")", n->id, s->index, n->applied);
        return;
    }
    simLog *d = &n->durable, *im = &n->image;
    if (s->index >= d->base && s->index <= logLast(d) && logTerm(d, s->index) == s->term && s->index > d->base)
        logCompact(d, s->index);
    else
        logReset(d, s->index, s->term, s->chain);
    if (s->index >= im->base && s->index <= logLast(im) && logTerm(im, s->index) == s->term) {
        if (s->index > im->base) logCompact(im, s->index);
    } else {
        logReset(im, s->index, s->term, s->chain);
    }
    n->dconf = s->conf;
    n->conf_known = 1;
    n->applied = s->index;
    n->applied_term = s->term;
    n->applied_chain = s->chain;
    if (n->checked_commit < s->index) n->checked_commit = s->index;
    n->snap = *s;
    stat_snap_installed++;
    trace("node %" PRIu64 " installs snapshot %" PRIu64 " term %" PRIu64, n->id, s->index, s->term);
    raftSnapshotInstalled(n->r, s->index, s->term, &s->conf);
}

/* Completes the node's writes that are due, in order. */
static void completeWrites(simNode *n) {
    size_t done = 0;
    while (n->up && done < n->nwrites && n->writes[done].due <= now) {
        simWrite *w = &n->writes[done++];
        simLog *d = &n->durable;
        if (w->install) {
            completeInstall(n, &w->snap);
            processUpdates(n);
            continue;
        }
        if (w->truncate_from) logTruncate(d, w->truncate_from);
        for (size_t i = 0; i < w->nents; i++) {
            if (w->ents[i].index <= d->base) continue;  /* under an installed snapshot */
            if (w->ents[i].index != logLast(d) + 1) fail("node %" PRIu64 " writes out of order", n->id);
            logPush(d, &w->ents[i]);
        }
        n->dhs = w->hs;
        for (size_t i = 0; i < w->nmsgs; i++) netSend(&w->msgs[i]);
        if (w->nents) raftPersisted(n->r, w->ents[w->nents - 1].index, w->ents[w->nents - 1].term);
        writeFree(w);
        processUpdates(n);
    }
    if (!done) return;
    memmove(n->writes, n->writes + done, (n->nwrites - done) * sizeof(simWrite));
    n->nwrites -= done;
}

static void nodeStart(simNode *n) {
    raftConfig c = base_cfg;
    c.id = n->id;
    c.seed = rnd();
    c.applied = n->applied;
    if (n->conf_known) c.conf = &n->dconf;
    else if (n->id > (uint64_t)ninitial) c.nvoters = 0;     /* joining */
    const simLog *d = &n->durable;
    raftEntry *ents = xmalloc(d->n * sizeof(raftEntry));
    for (size_t i = 0; i < d->n; i++) {
        const simEnt *s = &d->e[i];
        raftEntry e = {s->term, d->base + 1 + i, s->type, s->len, s->data};
        ents[i] = e;
    }
    n->r = raftNew(&c, &n->dhs, d->base, d->base_term, ents, d->n);
    free(ents);
    if (!n->r) fail("raftNew failed for node %" PRIu64, n->id);
    n->up = 1;
    n->role = RAFT_FOLLOWER;
    n->term = n->dhs.term;
    logCopy(&n->image, d);
    trace("node %" PRIu64 " starts: term %" PRIu64 " log (%" PRIu64 ", %" PRIu64 "] applied %" PRIu64, n->id,
          n->dhs.term, d->base, logLast(d), n->applied);
}

static void nodeCrash(simNode *n) {
    trace("node %" PRIu64 " crashes (%zu writes lost)", n->id, n->nwrites);
    for (size_t i = 0; i < nreads; i++)
        if (reads[i].node == (int)(n - nodes)) reads[i].done = 1;
    if (n->checked_commit > logLast(&n->durable)) n->checked_commit = logLast(&n->durable);
    for (size_t i = 0; i < n->nwrites; i++) writeFree(&n->writes[i]);
    n->nwrites = 0;
    raftFree(n->r);
    n->r = NULL;
    n->up = 0;
    n->role = RAFT_FOLLOWER;
}

static void deliverDue(void) {
    size_t i = 0;
    while (i < nnet) {
        if (net[i].due > now) { i++; continue; }
        simMsgBuf b = net[i];
        net[i] = net[--nnet];
        simNode *to = nodeById(b.m.to), *from = nodeById(b.m.from);
        if (to->up && to->group == from->group) {
            trace("deliver %s %" PRIu64 "->%" PRIu64 " term %" PRIu64 " idx %" PRIu64 " lt %" PRIu64
                  " n %zu commit %" PRIu64 " rej %d", raftMsgTypeName(b.m.type), b.m.from, b.m.to, b.m.term,
                  b.m.index, b.m.log_term, b.m.nentries, b.m.commit, b.m.reject);
            uint64_t member_term = 0;
            for (int k = 0; k < nnodes; k++) {
                const simNode *o = &nodes[k];
                if (removed[o->id]) continue;
                if (o->term > member_term) member_term = o->term;
                if (o->dhs.term > member_term) member_term = o->dhs.term;
            }
            raftStep(to->r, &b.m);
            raftInfo after;
            raftGetInfo(to->r, &after);
            /* a removed node never disturbs the members: it never brings
             * one to a term no member had (its hand-over TimeoutNow as a
             * leader aside); PreVote is what keeps one unaware of its
             * removal from growing its term */
            if (removed[b.m.from] && !removed[b.m.to] && base_cfg.pre_vote &&
                b.m.type != RAFT_MSG_TIMEOUT_NOW && after.term > member_term &&
                after.term > removed_term[b.m.from])
                fail("removed node %" PRIu64 " raises node %" PRIu64 "'s term to %" PRIu64, b.m.from, b.m.to,
                     after.term);
            processUpdates(to);
        }
        msgFree(&b.m);
    }
}

/* ---------------------------------------------------------------------------
 * One seed
 * ------------------------------------------------------------------------- */

static void resetGlobals(void) {
    pairsReset();
    free(leader_of_term);
    leader_of_term = NULL;
    cap_leader_of_term = 0;
    free(committed);
    free(commit_term);
    committed = commit_term = NULL;
    ncommitted = capcommitted = 0;
    free(reads);
    reads = NULL;
    nreads = capreads = 0;
    for (size_t i = 0; i < nnet; i++) msgFree(&net[i].m);
    nnet = 0;
    nxfers = 0;
    memset(added, 0, sizeof(added));
    memset(removed, 0, sizeof(removed));
    memset(removed_term, 0, sizeof(removed_term));
    stat_msgs = stat_proposals = stat_elections = stat_reads = 0;
    stat_snap_sent = stat_snap_installed = stat_conf = 0;
}

static void freeNodes(void) {
    for (int i = 0; i < nnodes; i++) {
        simNode *n = &nodes[i];
        for (size_t k = 0; k < n->nwrites; k++) writeFree(&n->writes[k]);
        raftFree(n->r);
        free(n->writes);
        logFree(&n->image);
        logFree(&n->durable);
    }
    memset(nodes, 0, sizeof(nodes));
}

static void propose(simNode *n) {
    char buf[32];
    int len = snprintf(buf, sizeof(buf), "p%" PRIu64, stat_proposals);
    uint64_t idx = raftPropose(n->r, RAFT_ENTRY_NORMAL, buf, (uint32_t)len);
    if (idx) {
        stat_proposals++;
        trace("node %" PRIu64 " proposes %s at %" PRIu64, n->id, buf, idx);
    }
    processUpdates(n);
}

static void askRead(simNode *n) {
    GROW(reads, nreads, capreads);
    reads[nreads].floor = ncommitted;
    reads[nreads].node = (int)(n - nodes);
    reads[nreads].done = 0;
    raftReadIndex(n->r, nreads);
    nreads++;
    processUpdates(n);
}

/* The operator's membership changes, through the leader: add a spare node
 * as a learner, promote a learner that caught up, remove a voter (the
 * leader itself too) or a learner. Removed ids never come back. */
static void changeMembership(simNode *n) {
    raftConfState cs;
    raftGetConfState(n->r, 0, &cs);
    raftInfo info;
    raftGetInfo(n->r, &info);
    int op = 0;
    uint64_t id = 0;
    int kind = (int)rndRange(0, 2);
    if (kind == 0) {
        for (uint64_t k = (uint64_t)ninitial + 1; k <= (uint64_t)nnodes && !id; k++)
            if (!added[k]) id = k;
        op = RAFT_CONF_ADD_LEARNER;
    } else if (kind == 1) {
        raftPeerInfo peers[RAFT_MAX_MEMBERS];
        int np = raftGetPeers(n->r, peers, RAFT_MAX_MEMBERS);
        for (int i = 0; i < np && !id; i++)
            if (peers[i].is_learner && peers[i].match + 5 >= info.last_index) id = peers[i].id;
        op = RAFT_CONF_PROMOTE;
    } else if (cs.nvoters >= 3 || cs.nlearners) {
        op = RAFT_CONF_REMOVE;
        if (cs.nlearners && chance(0.3)) id = cs.learners[rndRange(0, cs.nlearners - 1)];
        else if (cs.nvoters >= 3) id = cs.voters[rndRange(0, cs.nvoters - 1)];
    }
    if (!id) return;
    char tail[16];
    int tl = snprintf(tail, sizeof(tail), "addr%" PRIu64, id);
    uint64_t idx = raftProposeConfChange(n->r, op, id, tail, (uint32_t)tl);
    trace("node %" PRIu64 " proposes conf change %d of node %" PRIu64 ": index %" PRIu64, n->id, op, id, idx);
    if (idx) {
        stat_conf++;
        if (op == RAFT_CONF_ADD_LEARNER) added[id] = 1;
    }
    processUpdates(n);
}

static void partition(void) {
    int kind = (int)rndRange(0, 2);
    for (int i = 0; i < nnodes; i++) nodes[i].group = 0;
    if (kind == 0) {
        nodes[rndRange(0, nnodes - 1)].group = 1;
    } else {
        for (int i = 0; i < nnodes; i++) nodes[i].group = (int)rndRange(0, 1);
    }
    if (verbose) {
        char s[16];
        for (int i = 0; i < nnodes; i++) s[i] = (char)('0' + nodes[i].group);
        s[nnodes] = 0;
        trace("partition %s", s);
    }
}

static void heal(void) {
    for (int i = 0; i < nnodes; i++) nodes[i].group = 0;
    trace("heal");
}

enum { QUIET = 0, CLIENTS = 1, CHAOS = 2 };

/* One unit of simulated time: deliveries, transfers, disk completions,
 * ticks, then (mode permitting) clients, snapshots, membership changes and
 * faults. */
static void stepTime(int mode) {
    deliverDue();
    transfersDue();
    for (int i = 0; i < nnodes; i++) {
        simNode *n = &nodes[i];
        if (!n->up) {
            if (now >= n->down_until) {
                nodeStart(n);
                processUpdates(n);
            }
            continue;
        }
        completeWrites(n);
        if (n->up && (now + n->tick_phase) % TICK_UNITS == 0) {
            raftTick(n->r);
            processUpdates(n);
        }
    }
    simNode *n = &nodes[rndRange(0, nnodes - 1)];
    if (!n->up) return;
    if (chance(p_snapshot)) {
        takeSnapshot(n);
        processUpdates(n);
    }
    if (mode == QUIET) return;
    if (chance(p_propose)) propose(n);
    if (chance(0.05)) askRead(n);
    if (n->role == RAFT_LEADER && chance(p_conf)) changeMembership(n);
    if (mode != CHAOS) return;
    if (chance(0.001) && n->role == RAFT_LEADER) {
        uint64_t to = rndRange(1, nnodes);
        trace("node %" PRIu64 " transfers leadership to %" PRIu64 ": %d", n->id, to,
              raftTransferLeader(n->r, to));
        processUpdates(n);
    }
    if (chance(p_crash) || (n->role == RAFT_LEADER && chance(p_crash_leader))) {
        nodeCrash(n);
        n->down_until = now + rndRange(1, 400);
    }
    if (chance(p_partition)) partition();
    if (chance(0.003)) heal();
}

/* Converged: one leader; every member of its configuration up, with its
 * log, term and applied state; every read answered. Removed nodes and
 * spares never added are left out. */
static int converged(void) {
    simNode *leader = NULL;
    for (int i = 0; i < nnodes; i++) {
        simNode *n = &nodes[i];
        if (n->up && n->role == RAFT_LEADER) {
            if (leader) return 0;
            leader = n;
        }
    }
    if (!leader) return 0;
    for (size_t i = 0; i < nreads; i++)
        if (!reads[i].done) return 0;
    raftInfo li;
    raftGetInfo(leader->r, &li);
    if (li.commit != li.last_index) return 0;
    raftConfState cs;
    raftGetConfState(leader->r, 0, &cs);
    uint64_t last = logLast(&leader->image), chain = logChain(&leader->image, last);
    for (int i = 0; i < nnodes; i++) {
        simNode *n = &nodes[i];
        if (!inConf(&cs, n->id)) continue;
        if (!n->up || n->nwrites) return 0;
        if (logLast(&n->image) != last || logLast(&n->durable) != last || n->applied != last ||
            n->term != leader->term || logChain(&n->image, last) != chain)
            return 0;
    }
    return 1;
}

static int runSeed(uint64_t seed) {
    rng_state = seed * 0x2545f4914f6cdd1dULL + 1;
    now = 0;
    resetGlobals();
    ninitial = chance(0.5) ? 3 : 5;
    nnodes = ninitial + (int)rndRange(0, MAXN - ninitial);
    for (int i = 0; i < ninitial; i++) voter_ids[i] = (uint64_t)i + 1;
    for (int i = 1; i <= ninitial; i++) added[i] = 1;
    memset(&base_cfg, 0, sizeof(base_cfg));
    base_cfg.voters = voter_ids;
    base_cfg.nvoters = ninitial;
    base_cfg.election_ticks = 10;
    base_cfg.heartbeat_ticks = (int)rndRange(1, 3);
    base_cfg.pre_vote = chance(0.75);
    base_cfg.check_quorum = chance(0.75);
    base_cfg.max_inflight_msgs = (int)rndRange(1, 8);
    base_cfg.max_msg_bytes = rndRange(8, 256);
    base_cfg.snapshot_timeout_ticks = (int)rndRange(5, 30);
    p_drop = chance(0.5) ? 0.05 : 0.0;
    p_dup = chance(0.5) ? 0.03 : 0.0;
    p_reorder = chance(0.5) ? 0.1 : 0.0;
    memset(link_due, 0, sizeof(link_due));
    max_delay = rndRange(2, 25);
    max_disk_delay = rndRange(1, 3) == 1 ? 60 : 15;
    p_crash = rndRange(1, 3) == 1 ? 0.01 : 0.002;
    p_partition = rndRange(1, 3) == 1 ? 0.01 : 0.002;
    p_crash_leader = chance(0.5) ? 0.02 : 0.0;
    p_propose = chance(0.5) ? 0.3 : 0.1;
    p_snapshot = chance(0.5) ? 0.02 : 0.002;
    p_conf = nnodes > ninitial || chance(0.5) ? 0.01 : 0.0;
    p_xfer_fail = chance(0.5) ? 0.2 : 0.0;
    trace("seed %" PRIu64 ": %d voters %d spares pre_vote %d check_quorum %d inflight %d msg_bytes %zu drop %.2f dup %.2f reorder %.2f delay %" PRIu64 " disk %" PRIu64 " crash %.3f leader crash %.3f partition %.3f snapshot %.3f conf %.3f",
          seed, ninitial, nnodes - ninitial, base_cfg.pre_vote, base_cfg.check_quorum, base_cfg.max_inflight_msgs,
          base_cfg.max_msg_bytes, p_drop, p_dup, p_reorder, max_delay, max_disk_delay, p_crash, p_crash_leader,
          p_partition, p_snapshot, p_conf);

    if (setjmp(fail_jmp)) {
        printf("seed %" PRIu64 " FAILED (replay: tests/sim/sim --seed %" PRIu64 " --verbose)\n", seed, seed);
        memset(nodes, 0, sizeof(nodes));
        nnet = 0;
        nxfers = 0;
        return 0;
    }
    for (int i = 0; i < nnodes; i++) {
        nodes[i].id = (uint64_t)i + 1;
        nodes[i].tick_phase = (int)rndRange(0, TICK_UNITS - 1);
        nodeStart(&nodes[i]);
    }
    for (now = 1; now <= CHAOS_UNITS; now++) stepTime(CHAOS);

    heal();
    p_drop = p_dup = p_reorder = p_xfer_fail = 0;
    for (int i = 0; i < nnodes; i++)
        if (!nodes[i].up) nodes[i].down_until = now;
    uint64_t end = now + SETTLE_UNITS;
    int ok = 0;
    for (; now < end; now++) {
        /* clients keep going on the healed cluster, then stop so it settles */
        int quiet = now > end - SETTLE_UNITS * 4 / 5;
        stepTime(quiet ? QUIET : CLIENTS);
        if (quiet && converged()) {
            ok = 1;
            break;
        }
    }
    if (!ok) {
        for (int i = 0; i < nnodes && verbose; i++) {
            simNode *n = &nodes[i];
            raftInfo in;
            raftConfState cs;
            raftGetInfo(n->r, &in);
            raftGetConfState(n->r, 0, &cs);
            trace("node %" PRIu64 ": %s term %" PRIu64 " commit %" PRIu64 " log (%" PRIu64 ", %" PRIu64 "] conf at %"
                  PRIu64 ": %d voters (%" PRIu64 " %" PRIu64 " %" PRIu64 "...) %d learners", n->id,
                  raftRoleName(in.role), in.term, in.commit, in.first_index - 1, in.last_index, in.conf_index,
                  cs.nvoters, cs.voters[0], cs.voters[1], cs.voters[2], cs.nlearners);
        }
        fail("no convergence after healing");
    }
    simNode *leader = NULL;
    for (int i = 0; i < nnodes; i++)
        if (nodes[i].role == RAFT_LEADER) leader = &nodes[i];
    const simLog *l = &leader->image;
    if (ncommitted > logLast(l) || (ncommitted > l->base && logChain(l, ncommitted) != committed[ncommitted - 1]) ||
        (l->base && committed[l->base - 1] != l->base_chain))
        fail("a committed entry is missing from the final log");
    trace("seed %" PRIu64 " ok: %" PRIu64 " proposals, %" PRIu64 " committed, %" PRIu64 " elections, %" PRIu64
          " msgs, %" PRIu64 " of %zu reads served, %" PRIu64 " snapshots sent, %" PRIu64 " installed, %" PRIu64
          " membership changes", seed, stat_proposals, ncommitted, stat_elections, stat_msgs, stat_reads, nreads,
          stat_snap_sent, stat_snap_installed, stat_conf);
    freeNodes();
    return 1;
}

int main(int argc, char **argv) {
    uint64_t first = 1, last = 100;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
            first = 1;
            last = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            first = last = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--verbose")) {
            verbose = 1;
        } else {
            fprintf(stderr, "usage: %s [--seeds N | --seed N] [--verbose]\n", argv[0]);
            return 2;
        }
    }
    int passed = 0, failed = 0;
    for (uint64_t s = first; s <= last; s++) {
        if (runSeed(s)) passed++;
        else failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
