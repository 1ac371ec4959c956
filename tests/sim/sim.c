/* sim.c -- deterministic simulator for the pure Raft core.
 *
 * One seed drives everything: a cluster of 3 or 5 cores, a simulated network
 * (random delay, so reordering; drops; duplicates; partitions that come and
 * go), simulated disks (each update's write completes after a random delay,
 * in order; a crash loses every write not completed, and the node restarts
 * from what was durable plus its applied state machine), clients proposing
 * entries, asking linearizable reads and leadership transfers.
 *
 * After every event the checker asserts: election safety (at most one leader
 * per term), log matching (an (index, term) pair always denotes the same log
 * prefix, on every node, at every time: checked through a hash chain),
 * leader completeness (a leader holds every entry known committed), state
 * machine safety (an index is applied with the same entry everywhere), the
 * persistence contract (an entry is applied only once durable) and ReadIndex
 * linearizability (a read's index covers every entry committed before the
 * read was asked). At the end the network heals and every node comes back:
 * one leader must emerge, all logs converge, and every committed entry is
 * applied on every node.
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

#define MAXN 5
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

typedef struct simLog {
    simEnt *e;      /* index i at e[i - 1] */
    size_t n, cap;
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

static void logTruncate(simLog *l, uint64_t from) {
    while (l->n >= from) free(l->e[--l->n].data);
}

static void logPush(simLog *l, const raftEntry *e) {
    GROW(l->e, l->n, l->cap);
    simEnt *s = &l->e[l->n];
    s->term = e->term;
    s->type = e->type;
    s->len = e->len;
    s->data = dupBytes(e->data, e->len);
    s->chain = entChain(l->n ? l->e[l->n - 1].chain : 0, e);
    l->n++;
}

static void logCopy(simLog *dst, const simLog *src) {
    logTruncate(dst, 1);
    for (size_t i = 0; i < src->n; i++) {
        raftEntry e = {src->e[i].term, i + 1, src->e[i].type, src->e[i].len, src->e[i].data};
        logPush(dst, &e);
    }
}

static void logFree(simLog *l) {
    logTruncate(l, 1);
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

typedef struct simWrite {
    uint64_t truncate_from;
    raftEntry *ents;                /* deep-copied */
    size_t nents;
    int hs_changed;
    raftHardState hs;
    raftMsg *msgs;                  /* after-persist messages, deep-copied */
    size_t nmsgs;
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
    uint64_t applied;               /* survives crashes (the state machine) */
    uint64_t checked_commit;        /* prefix already checked against committed */
    simWrite *writes;
    size_t nwrites, capwrites;
    int role;
    uint64_t term;
} simNode;

static simNode nodes[MAXN];
static int nnodes;
static uint64_t voter_ids[MAXN];
static raftConfig base_cfg;

static simMsgBuf *net;
static size_t nnet, capnet;
static double p_drop, p_dup, p_reorder;
static uint64_t link_due[MAXN][MAXN];  /* links are FIFO (as TCP) except reordered messages */
static uint64_t max_delay, max_disk_delay;
static double p_crash, p_crash_leader, p_partition, p_propose;
static uint64_t stat_msgs, stat_proposals, stat_elections, stat_reads;

static raftMsg msgCopy(const raftMsg *m) {
    raftMsg c = *m;
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

/* A leader's log must hold every entry committed in an earlier term. */
static void checkCompleteness(simNode *n) {
    uint64_t i = ncommitted;
    while (i && commit_term[i - 1] >= n->term) i--;
    if (!i) return;
    if (n->image.n < i || n->image.e[i - 1].chain != committed[i - 1])
        fail("leader completeness: leader %" PRIu64 " of term %" PRIu64 " lacks index %" PRIu64
             " committed by term %" PRIu64, n->id, n->term, i, commit_term[i - 1]);
}

static void recordCommitted(simNode *n, uint64_t commit) {
    if (commit > n->image.n) fail("node %" PRIu64 " commit %" PRIu64 " beyond its log %zu", n->id, commit, n->image.n);
    for (uint64_t i = n->checked_commit + 1; i <= commit; i++) {
        if (i <= ncommitted) {
            if (committed[i - 1] != n->image.e[i - 1].chain)
                fail("state machine safety: node %" PRIu64 " commits a different entry at %" PRIu64, n->id, i);
            continue;
        }
        if (ncommitted == capcommitted) {
            capcommitted = capcommitted ? capcommitted * 2 : 64;
            committed = realloc(committed, capcommitted * sizeof(uint64_t));
            commit_term = realloc(commit_term, capcommitted * sizeof(uint64_t));
        }
        committed[ncommitted] = n->image.e[i - 1].chain;
        commit_term[ncommitted++] = n->term;
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
    if (e->index > n->durable.n || n->durable.e[e->index - 1].term != e->term)
        fail("persistence: node %" PRIu64 " applies %" PRIu64 " before it is durable", n->id, e->index);
    uint64_t chain = n->durable.e[e->index - 1].chain;
    if (e->index <= ncommitted) {
        if (committed[e->index - 1] != chain)
            fail("state machine safety: node %" PRIu64 " applies a different entry at %" PRIu64, n->id, e->index);
    } else {
        /* applied => committed: record the prefix as committed */
        recordCommitted(n, e->index);
    }
    n->applied = e->index;
}

/* ---------------------------------------------------------------------------
 * Driving one node
 * ------------------------------------------------------------------------- */

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
    w.hs_changed = u->hs_changed;
    w.hs = u->hs;
    w.nmsgs = u->nmsgs_after_persist;
    w.msgs = xmalloc(w.nmsgs * sizeof(raftMsg));
    for (size_t i = 0; i < w.nmsgs; i++) w.msgs[i] = msgCopy(&u->msgs_after_persist[i]);
    w.due = now + rndRange(0, max_disk_delay);
    if (n->nwrites && w.due < n->writes[n->nwrites - 1].due) w.due = n->writes[n->nwrites - 1].due;
    GROW(n->writes, n->nwrites, n->capwrites);
    n->writes[n->nwrites++] = w;
}

static void processUpdates(simNode *n) {
    for (int guard = 0; n->up && raftHasUpdate(n->r); guard++) {
        if (guard > 100) fail("node %" PRIu64 " never runs out of updates", n->id);
        raftUpdate u;
        raftGetUpdate(n->r, &u);
        if (u.role_changed) {
            trace("node %" PRIu64 " is %s term %" PRIu64 " leader %" PRIu64, n->id,
                  raftRoleName(u.role), u.term, u.leader);
            if (u.role == RAFT_LEADER && (n->role != RAFT_LEADER || n->term != u.term)) stat_elections++;
            n->role = u.role;
            n->term = u.term;
        }
        if (u.role == RAFT_LEADER) checkLeader(n, u.term);
        if (u.truncate_from) {
            if (u.truncate_from <= n->applied)
                fail("node %" PRIu64 " truncates applied entries from %" PRIu64, n->id, u.truncate_from);
            logTruncate(&n->image, u.truncate_from);
        }
        for (size_t i = 0; i < u.nentries; i++) {
            if (u.entries[i].index != n->image.n + 1)
                fail("node %" PRIu64 " hands out entry %" PRIu64 " after %zu", n->id, u.entries[i].index, n->image.n);
            logPush(&n->image, &u.entries[i]);
            pairsInsert(u.entries[i].index, u.entries[i].term, n->image.e[n->image.n - 1].chain);
        }
        if (u.role == RAFT_LEADER && u.role_changed) checkCompleteness(n);
        recordCommitted(n, u.hs.commit);
        for (size_t i = 0; i < u.nmsgs; i++) netSend(&u.msgs[i]);

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
    }
}

static void writeFree(simWrite *w) {
    for (size_t i = 0; i < w->nents; i++) free(w->ents[i].data);
    free(w->ents);
    for (size_t i = 0; i < w->nmsgs; i++) msgFree(&w->msgs[i]);
    free(w->msgs);
}

/* Completes the node's writes that are due, in order. */
static void completeWrites(simNode *n) {
    size_t done = 0;
    while (done < n->nwrites && n->writes[done].due <= now) {
        simWrite *w = &n->writes[done++];
        if (w->truncate_from) logTruncate(&n->durable, w->truncate_from);
        for (size_t i = 0; i < w->nents; i++) {
            if (w->ents[i].index != n->durable.n + 1) fail("node %" PRIu64 " writes out of order", n->id);
            logPush(&n->durable, &w->ents[i]);
        }
        if (w->hs_changed) n->dhs = w->hs;
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
    raftEntry *ents = xmalloc(n->durable.n * sizeof(raftEntry));
    for (size_t i = 0; i < n->durable.n; i++) {
        simEnt *s = &n->durable.e[i];
        raftEntry e = {s->term, i + 1, s->type, s->len, s->data};
        ents[i] = e;
    }
    n->r = raftNew(&c, &n->dhs, 0, 0, ents, n->durable.n);
    free(ents);
    if (!n->r) fail("raftNew failed for node %" PRIu64, n->id);
    n->up = 1;
    n->role = RAFT_FOLLOWER;
    n->term = n->dhs.term;
    logCopy(&n->image, &n->durable);
    trace("node %" PRIu64 " starts: term %" PRIu64 " log %zu applied %" PRIu64, n->id, n->dhs.term,
          n->durable.n, n->applied);
}

static void nodeCrash(simNode *n) {
    trace("node %" PRIu64 " crashes (%zu writes lost)", n->id, n->nwrites);
    for (size_t i = 0; i < nreads; i++)
        if (reads[i].node == (int)(n - nodes)) reads[i].done = 1;
    if (n->checked_commit > n->durable.n) n->checked_commit = n->durable.n;
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
            raftStep(to->r, &b.m);
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
    stat_msgs = stat_proposals = stat_elections = stat_reads = 0;
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

/* One unit of simulated time: deliveries, disk completions, ticks, then
 * (mode permitting) clients and faults. */
static void stepTime(int mode) {
    deliverDue();
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
    if (!n->up || mode == QUIET) return;
    if (chance(p_propose)) propose(n);
    if (chance(0.05)) askRead(n);
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

static int converged(void) {
    simNode *leader = NULL;
    for (int i = 0; i < nnodes; i++) {
        simNode *n = &nodes[i];
        if (!n->up || n->nwrites) return 0;
        if (n->role == RAFT_LEADER) {
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
    for (int i = 0; i < nnodes; i++) {
        simNode *n = &nodes[i];
        if (n->image.n != leader->image.n || n->durable.n != leader->image.n ||
            n->applied != leader->image.n || n->term != leader->term)
            return 0;
        if (n->image.n && n->image.e[n->image.n - 1].chain != leader->image.e[leader->image.n - 1].chain)
            return 0;
    }
    return 1;
}

static int runSeed(uint64_t seed) {
    rng_state = seed * 0x2545f4914f6cdd1dULL + 1;
    now = 0;
    resetGlobals();
    nnodes = chance(0.5) ? 3 : 5;
    for (int i = 0; i < nnodes; i++) voter_ids[i] = (uint64_t)i + 1;
    memset(&base_cfg, 0, sizeof(base_cfg));
    base_cfg.voters = voter_ids;
    base_cfg.nvoters = nnodes;
    base_cfg.election_ticks = 10;
    base_cfg.heartbeat_ticks = (int)rndRange(1, 3);
    base_cfg.pre_vote = chance(0.75);
    base_cfg.check_quorum = chance(0.75);
    base_cfg.max_inflight_msgs = (int)rndRange(1, 8);
    base_cfg.max_msg_bytes = rndRange(8, 256);
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
    trace("seed %" PRIu64 ": %d nodes pre_vote %d check_quorum %d inflight %d msg_bytes %zu drop %.2f dup %.2f reorder %.2f delay %" PRIu64 " disk %" PRIu64 " crash %.3f leader crash %.3f partition %.3f",
          seed, nnodes, base_cfg.pre_vote, base_cfg.check_quorum, base_cfg.max_inflight_msgs,
          base_cfg.max_msg_bytes, p_drop, p_dup, p_reorder, max_delay, max_disk_delay, p_crash, p_crash_leader, p_partition);

    if (setjmp(fail_jmp)) {
        printf("seed %" PRIu64 " FAILED (replay: tests/sim/sim --seed %" PRIu64 " --verbose)\n", seed, seed);
        memset(nodes, 0, sizeof(nodes));
        nnet = 0;
        return 0;
    }
    for (int i = 0; i < nnodes; i++) {
        nodes[i].id = (uint64_t)i + 1;
        nodes[i].tick_phase = (int)rndRange(0, TICK_UNITS - 1);
        nodeStart(&nodes[i]);
    }
    for (now = 1; now <= CHAOS_UNITS; now++) stepTime(CHAOS);

    heal();
    p_drop = p_dup = p_reorder = 0;
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
    if (!ok) fail("no convergence after healing");
    if (ncommitted > nodes[0].image.n || (ncommitted && nodes[0].image.e[ncommitted - 1].chain != committed[ncommitted - 1]))
        fail("a committed entry is missing from the final log");
    trace("seed %" PRIu64 " ok: %" PRIu64 " proposals, %" PRIu64 " committed, %" PRIu64 " elections, %" PRIu64
          " msgs, %" PRIu64 " of %zu reads served", seed, stat_proposals, ncommitted, stat_elections, stat_msgs,
          stat_reads, nreads);
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
