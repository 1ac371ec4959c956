/* Helpers shared by the Raft core trace tests: build a node, build a
 * message, collect one update. The tests drive the core by hand and assert
 * every message and update it produces. */
#ifndef RAFTKV_RAFT_TEST_H
#define RAFTKV_RAFT_TEST_H

#include <stdlib.h>

#include "raft.h"
#include "test.h"

static const uint64_t rtVoters[5] = {1, 2, 3, 4, 5};

static inline raftConfig rtConfig(uint64_t id, int nvoters) {
    raftConfig c;
    memset(&c, 0, sizeof(c));
    c.id = id;
    c.voters = rtVoters;
    c.nvoters = nvoters;
    c.election_ticks = 10;
    c.heartbeat_ticks = 1;
    c.max_inflight_msgs = 4;
    c.max_msg_bytes = 1024;
    c.seed = id;
    return c;
}

/* A node with the given persisted term/vote and a log of entries whose terms
 * are terms[0..n) (indices 1..n). */
static inline raft *rtNodeLog(const raftConfig *c, uint64_t term, uint64_t vote,
                       const uint64_t *terms, size_t n) {
    raftEntry ents[64];
    for (size_t i = 0; i < n; i++) {
        memset(&ents[i], 0, sizeof(ents[i]));
        ents[i].term = terms[i];
        ents[i].index = i + 1;
    }
    raftHardState hs = {term, vote, 0};
    return raftNew(c, &hs, 0, 0, ents, n);
}

static inline raftMsg rtMsg(int type, uint64_t from, uint64_t to, uint64_t term) {
    raftMsg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = from;
    m.to = to;
    m.term = term;
    return m;
}

/* Takes and acknowledges one update; when persist is set its entries are
 * reported durable right after. Returns the copied scalar parts. */
static inline raftUpdate rtStepUpdate(raft *r, int persist) {
    raftUpdate u;
    raftGetUpdate(r, &u);
    uint64_t li = 0, lt = 0;
    if (u.nentries) {
        li = u.entries[u.nentries - 1].index;
        lt = u.entries[u.nentries - 1].term;
    }
    raftAdvance(r, &u);
    if (persist && li) raftPersisted(r, li, lt);
    return u;
}

/* Takes and acknowledges updates until none is left (persisting entries). */
static inline void rtDrain(raft *r) {
    for (int i = 0; i < 16 && raftHasUpdate(r); i++) rtStepUpdate(r, 1);
}

/* Finds the first message of a type (to any peer when to is 0), or NULL. */
static inline const raftMsg *rtFind(const raftMsg *ms, size_t nms, int type, uint64_t to) {
    for (size_t i = 0; i < nms; i++)
        if (ms[i].type == type && (!to || ms[i].to == to)) return &ms[i];
    return NULL;
}

static inline int rtCount(const raftMsg *ms, size_t nms, int type) {
    int n = 0;
    for (size_t i = 0; i < nms; i++) n += ms[i].type == type;
    return n;
}

static inline int rtRole(const raft *r) {
    raftInfo info;
    raftGetInfo(r, &info);
    return info.role;
}

static inline uint64_t rtTerm(const raft *r) {
    raftInfo info;
    raftGetInfo(r, &info);
    return info.term;
}

/* Ticks until the node starts a campaign (at most 2 election timeouts);
 * returns the number of ticks it took. Leaves the update uncollected. */
static inline int rtTickUntilCampaign(raft *r) {
    for (int i = 1; i <= 40; i++) {
        raftTick(r);
        if (rtRole(r) != RAFT_FOLLOWER) return i;
    }
    return -1;
}

/* Makes node r (no PreVote) leader: campaign, grant from every peer in
 * [2, nvoters], persist the NOOP; leaves the peers' progress in probe. */
static inline void rtElect(raft *r, int nvoters) {
    rtTickUntilCampaign(r);
    rtDrain(r);
    uint64_t term = rtTerm(r);
    raftInfo info;
    raftGetInfo(r, &info);
    for (int id = 1; id <= nvoters; id++) {
        if ((uint64_t)id == info.id) continue;
        raftMsg m = rtMsg(RAFT_MSG_VOTE_RESP, id, info.id, term);
        raftStep(r, &m);
    }
    rtDrain(r);
}

#endif
