/* Replication traces: follower append and its answers, conflicts and
 * truncation, the reject hint and the leader's fast backtracking, the commit
 * rule (majority of persisted copies, current-term entries only), batching
 * and pipelining, heartbeats, and ReadIndex. */
#include "raft_test.h"

static raftEntry ent(uint64_t index, uint64_t term) {
    raftEntry e = {term, index, RAFT_ENTRY_NORMAL, 0, NULL};
    return e;
}

/* A follower appends, persists, and only then answers with its match. */
TEST(test_follower_append) {
    raftConfig c = rtConfig(2, 3);
    raft *r = rtNodeLog(&c, 1, 0, NULL, 0);
    raftEntry es[2] = {ent(1, 1), ent(2, 1)};
    es[1].data = (unsigned char *)"abc";
    es[1].len = 3;
    raftMsg m = rtMsg(RAFT_MSG_APPEND, 1, 2, 1);
    m.entries = es;
    m.nentries = 2;
    m.commit = 5;
    raftStep(r, &m);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nentries, 2);
    CHECK_MEM(u.entries[1].data, u.entries[1].len, "abc");
    CHECK(u.entries[1].data != es[1].data);     /* copied */
    CHECK_EQ_INT(u.hs.commit, 2);               /* min(leader commit, last new) */
    CHECK_EQ_INT(u.ncommitted, 0);              /* not durable yet */
    CHECK_EQ_INT(u.nmsgs, 0);
    CHECK_EQ_INT(u.nmsgs_after_persist, 1);
    const raftMsg *resp = &u.msgs_after_persist[0];
    CHECK_EQ_INT(resp->type, RAFT_MSG_APPEND_RESP);
    CHECK_EQ_INT(resp->to, 1);
    CHECK_EQ_INT(resp->reject, 0);
    CHECK_EQ_INT(resp->index, 2);
    CHECK_EQ_INT(u.leader, 1);
    raftAdvance(r, &u);
    raftPersisted(r, 2, 1);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.ncommitted, 2);
    raftAdvance(r, &u);

    /* a duplicate is answered with the same match, nothing rewritten */
    raftStep(r, &m);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nentries, 0);
    CHECK_EQ_INT(u.truncate_from, 0);
    CHECK_EQ_INT(u.msgs_after_persist[0].index, 2);
    raftAdvance(r, &u);
    raftFree(r);
}

/* A conflicting suffix is truncated and replaced; the caller is told to
 * delete from the first conflicting index. */
TEST(test_conflict_truncates) {
    raftConfig c = rtConfig(2, 3);
    uint64_t terms[4] = {1, 1, 2, 2};
    raft *r = rtNodeLog(&c, 2, 0, terms, 4);
    raftEntry es[2] = {ent(2, 1), ent(3, 3)};
    raftMsg m = rtMsg(RAFT_MSG_APPEND, 1, 2, 3);
    m.index = 1;
    m.log_term = 1;
    m.entries = es;
    m.nentries = 2;
    raftStep(r, &m);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.truncate_from, 3);
    CHECK_EQ_INT(u.nentries, 1);
    CHECK_EQ_INT(u.entries[0].index, 3);
    CHECK_EQ_INT(u.entries[0].term, 3);
    CHECK_EQ_INT(u.msgs_after_persist[0].index, 3);
    raftAdvance(r, &u);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.last_index, 3);
    CHECK_EQ_INT(info.persisted, 2);
    /* a stale persist notice for the replaced entry is ignored */
    raftPersisted(r, 3, 2);
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.persisted, 2);
    raftFree(r);
}

/* The reject hint: the follower's term at the probed index and the first
 * index of that term, or its last index when its log is too short. */
TEST(test_reject_hint) {
    raftConfig c = rtConfig(2, 3);
    uint64_t terms[5] = {1, 1, 2, 2, 2};
    raft *r = rtNodeLog(&c, 3, 0, terms, 5);
    raftMsg m = rtMsg(RAFT_MSG_APPEND, 1, 2, 3);
    m.index = 5;
    m.log_term = 3;
    raftStep(r, &m);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nmsgs_after_persist, 1);
    const raftMsg *resp = &u.msgs_after_persist[0];
    CHECK_EQ_INT(resp->reject, 1);
    CHECK_EQ_INT(resp->index, 5);
    CHECK_EQ_INT(resp->hint_term, 2);
    CHECK_EQ_INT(resp->hint_index, 3);
    raftAdvance(r, &u);
    m.index = 8;
    raftStep(r, &m);
    raftGetUpdate(r, &u);
    resp = &u.msgs_after_persist[0];
    CHECK_EQ_INT(resp->reject, 1);
    CHECK_EQ_INT(resp->hint_term, 0);
    CHECK_EQ_INT(resp->hint_index, 5);
    raftAdvance(r, &u);
    raftFree(r);
}

/* Leader log 1 1 3 3 3 (+ NOOP of term 4 at 6). */
static raft *leaderWithLog(int pre_vote) {
    raftConfig c = rtConfig(1, 3);
    c.pre_vote = pre_vote;
    uint64_t terms[5] = {1, 1, 3, 3, 3};
    raft *r = rtNodeLog(&c, 3, 0, terms, 5);
    rtElect(r, 3);
    return r;
}

static uint64_t nextProbe(raft *r, uint64_t rejected, uint64_t hint_term, uint64_t hint_index) {
    raftMsg m = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 4);
    m.reject = 1;
    m.index = rejected;
    m.hint_term = hint_term;
    m.hint_index = hint_index;
    raftStep(r, &m);
    raftUpdate u;
    raftGetUpdate(r, &u);
    const raftMsg *a = rtFind(u.msgs, u.nmsgs, RAFT_MSG_APPEND, 2);
    uint64_t prev = a ? a->index : 999;
    raftAdvance(r, &u);
    return prev;
}

/* Fast backtracking: one round trip per conflicting term, not per entry. */
TEST(test_fast_backtracking) {
    raft *r = leaderWithLog(0);
    CHECK_EQ_INT(rtTerm(r), 4);
    /* follower has term 2 from index 3 on: the leader has no term 2, so it
     * skips the whole term and probes from the hint index */
    CHECK_EQ_INT(nextProbe(r, 5, 2, 3), 2);
    raftFree(r);
    /* follower has term 1 up to its index 4 conflict: the leader's last
     * term-1 entry is 2, so next = 3 */
    r = leaderWithLog(0);
    CHECK_EQ_INT(nextProbe(r, 5, 1, 3), 2);
    raftFree(r);
    /* follower log too short (last index 1) */
    r = leaderWithLog(0);
    CHECK_EQ_INT(nextProbe(r, 5, 0, 1), 1);
    raftFree(r);
    /* a stale rejection (not of the index probed) is ignored */
    r = leaderWithLog(0);
    CHECK_EQ_INT(nextProbe(r, 3, 0, 1), 999);
    raftFree(r);
}

/* The commit rule: a majority of persisted copies of a current-term entry;
 * the leader counts itself only through raftPersisted. */
TEST(test_commit_rule) {
    raft *r = leaderWithLog(0);
    /* NOOP at 6 (term 4) is not persisted yet; follower 2 matches 6 */
    raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 4);
    ack.index = 6;
    raftStep(r, &ack);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.commit, 6);      /* rtElect persisted the NOOP */
    raftFree(r);

    /* now with the leader's own copy not yet durable */
    raftConfig c = rtConfig(1, 3);
    uint64_t terms[5] = {1, 1, 3, 3, 3};
    r = rtNodeLog(&c, 3, 0, terms, 5);
    rtTickUntilCampaign(r);
    rtDrain(r);
    raftMsg g = rtMsg(RAFT_MSG_VOTE_RESP, 2, 1, 4);
    raftStep(r, &g);
    rtStepUpdate(r, 0);                 /* NOOP handed out, not persisted */
    raftStep(r, &ack);
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.commit, 0);
    /* previous-term entries are not committed by counting replicas */
    ack.index = 5;
    ack.from = 3;
    raftStep(r, &ack);
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.commit, 0);
    raftPersisted(r, 6, 4);
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.commit, 6);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.ncommitted, 6);
    raftAdvance(r, &u);
    raftFree(r);
}

/* Figure 8 of the Raft paper, from the leader's side: with entries of an
 * old term replicated to a majority, nothing commits until an entry of the
 * current term does. */
TEST(test_no_commit_previous_term) {
    raftConfig c = rtConfig(1, 5);
    uint64_t terms[2] = {1, 2};
    raft *r = rtNodeLog(&c, 3, 0, terms, 2);
    rtElect(r, 5);                      /* term 4, NOOP at 3 persisted */
    for (uint64_t id = 2; id <= 3; id++) {
        raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, id, 1, 4);
        ack.index = 2;
        raftStep(r, &ack);
    }
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.commit, 0);
    raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 4);
    ack.index = 3;
    raftStep(r, &ack);
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.commit, 0);       /* 2 of 5 */
    ack.from = 4;
    raftStep(r, &ack);
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.commit, 3);
    raftFree(r);
}

/* Batching and pipelining: a follower in replicate state gets up to
 * max_inflight_msgs AppendEntries of at most max_msg_bytes each, then
 * nothing until an answer frees a slot. */
TEST(test_pipelining) {
    raftConfig c = rtConfig(1, 3);
    c.max_inflight_msgs = 2;
    c.max_msg_bytes = 8;
    raft *r = rtNodeLog(&c, 0, 0, NULL, 0);
    rtElect(r, 3);                      /* term 1, NOOP at 1 */
    raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 1);
    ack.index = 1;
    raftStep(r, &ack);                  /* 2: probe -> replicate */
    rtDrain(r);
    for (int i = 0; i < 4; i++) raftPropose(r, RAFT_ENTRY_NORMAL, "1234", 4);
    raftUpdate u;
    raftGetUpdate(r, &u);
    /* to 2: two messages of two entries (8 bytes) each; to 3 (probing,
     * never answered): nothing new while its probe is in flight */
    int n2 = 0;
    for (size_t i = 0; i < u.nmsgs; i++) {
        const raftMsg *m = &u.msgs[i];
        CHECK(m->to == 2);
        CHECK_EQ_INT(m->type, RAFT_MSG_APPEND);
        CHECK_EQ_INT(m->nentries, 2);
        CHECK_EQ_INT(m->index, 1 + 2 * n2);
        n2++;
    }
    CHECK_EQ_INT(n2, 2);
    raftAdvance(r, &u);
    raftPropose(r, RAFT_ENTRY_NORMAL, "1234", 4);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nmsgs, 0);           /* window full */
    raftAdvance(r, &u);
    ack.index = 3;
    raftStep(r, &ack);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nmsgs, 1);
    CHECK_EQ_INT(u.msgs[0].index, 5);
    CHECK_EQ_INT(u.msgs[0].nentries, 1);
    raftAdvance(r, &u);
    /* a rejection drops back to probing from the hint */
    raftMsg rej = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 1);
    rej.reject = 1;
    rej.index = 5;
    rej.hint_index = 4;
    raftStep(r, &rej);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nmsgs, 1);
    CHECK_EQ_INT(u.msgs[0].index, 4);
    CHECK_EQ_INT(u.msgs[0].nentries, 2);
    raftAdvance(r, &u);
    raftFree(r);
}

/* Heartbeats carry the commit index capped at the follower's match. */
TEST(test_heartbeat_commit) {
    raftConfig c = rtConfig(1, 3);
    raft *r = rtNodeLog(&c, 0, 0, NULL, 0);
    rtElect(r, 3);
    raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 1);
    ack.index = 1;
    raftStep(r, &ack);
    rtDrain(r);
    raftTick(r);
    raftUpdate u;
    raftGetUpdate(r, &u);
    const raftMsg *h2 = rtFind(u.msgs, u.nmsgs, RAFT_MSG_HEARTBEAT, 2);
    const raftMsg *h3 = rtFind(u.msgs, u.nmsgs, RAFT_MSG_HEARTBEAT, 3);
    CHECK(h2 && h3);
    CHECK_EQ_INT(h2->commit, 1);
    CHECK_EQ_INT(h3->commit, 0);
    raftAdvance(r, &u);
    raftFree(r);

    /* follower side: commit follows, answer carries the context back */
    c = rtConfig(2, 3);
    uint64_t terms[2] = {1, 1};
    r = rtNodeLog(&c, 1, 0, terms, 2);
    raftMsg hb = rtMsg(RAFT_MSG_HEARTBEAT, 1, 2, 1);
    hb.commit = 2;
    hb.ctx = 7;
    raftStep(r, &hb);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs.commit, 2);
    CHECK_EQ_INT(u.hs_changed, 0);              /* a commit alone asks for no write */
    CHECK_EQ_INT(u.nentries + u.nmsgs_after_persist, 0);
    CHECK_EQ_INT(u.ncommitted, 2);
    CHECK_EQ_INT(u.nmsgs, 1);
    CHECK_EQ_INT(u.msgs[0].type, RAFT_MSG_HEARTBEAT_RESP);
    CHECK_EQ_INT(u.msgs[0].ctx, 7);
    raftAdvance(r, &u);
    raftFree(r);
}

/* ReadIndex: held until the term's first commit; then one heartbeat round
 * serves every read asked meanwhile, answered when a majority echoes it. */
TEST(test_read_index) {
    raftConfig c = rtConfig(1, 3);
    raft *r = rtNodeLog(&c, 0, 0, NULL, 0);
    rtElect(r, 3);
    raftReadIndex(r, 100);
    raftReadIndex(r, 101);
    raftUpdate u;
    CHECK(!raftHasUpdate(r));           /* NOOP not committed */
    raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 1);
    ack.index = 1;
    raftStep(r, &ack);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.ncommitted, 1);
    CHECK_EQ_INT(u.nreads, 0);
    CHECK_EQ_INT(rtCount(u.msgs, u.nmsgs, RAFT_MSG_HEARTBEAT), 2);
    const raftMsg *hb = rtFind(u.msgs, u.nmsgs, RAFT_MSG_HEARTBEAT, 3);
    CHECK_EQ_INT(hb->ctx, 1);
    raftAdvance(r, &u);
    raftReadIndex(r, 102);              /* next round */
    raftGetUpdate(r, &u);
    hb = rtFind(u.msgs, u.nmsgs, RAFT_MSG_HEARTBEAT, 3);
    CHECK_EQ_INT(hb->ctx, 2);
    raftAdvance(r, &u);
    raftMsg echo = rtMsg(RAFT_MSG_HEARTBEAT_RESP, 3, 1, 1);
    echo.ctx = 1;
    raftStep(r, &echo);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nreads, 2);
    CHECK_EQ_INT(u.reads[0].ctx, 100);
    CHECK_EQ_INT(u.reads[0].index, 1);
    CHECK_EQ_INT(u.reads[1].ctx, 101);
    raftAdvance(r, &u);
    /* losing leadership drops what is pending */
    raftMsg up = rtMsg(RAFT_MSG_HEARTBEAT, 2, 1, 5);
    raftStep(r, &up);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nreads, 0);
    CHECK_EQ_INT(u.ndropped_reads, 1);
    CHECK_EQ_INT(u.dropped_reads[0], 102);
    raftAdvance(r, &u);
    /* a follower drops at once */
    raftReadIndex(r, 103);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.ndropped_reads, 1);
    CHECK_EQ_INT(u.dropped_reads[0], 103);
    raftAdvance(r, &u);
    raftFree(r);
}

/* Compaction frees applied entries; a follower needing them is no longer
 * sent AppendEntries; introspection reports per-peer progress. */
TEST(test_compact_and_peers) {
    raftConfig c = rtConfig(1, 3);
    raft *r = rtNodeLog(&c, 0, 0, NULL, 0);
    rtElect(r, 3);
    raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 1);
    ack.index = 1;
    raftStep(r, &ack);
    for (int i = 0; i < 3; i++) raftPropose(r, RAFT_ENTRY_NORMAL, "v", 1);
    rtDrain(r);
    ack.index = 4;
    raftStep(r, &ack);
    rtDrain(r);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.commit, 4);
    CHECK_EQ_INT(info.applied, 4);
    raftCompact(r, 10);                 /* capped at applied */
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.first_index, 5);
    CHECK_EQ_INT(info.last_index, 4);
    raftPeerInfo peers[4];
    CHECK_EQ_INT(raftGetPeers(r, peers, 4), 2);
    CHECK_EQ_INT(peers[0].id, 2);
    CHECK_EQ_INT(peers[0].match, 4);
    CHECK_EQ_INT(peers[0].next, 5);
    CHECK_EQ_INT(peers[0].ticks_since_contact, 0);
    CHECK_EQ_INT(peers[1].id, 3);
    CHECK_EQ_INT(peers[1].match, 0);
    /* peer 3 would need entry 1 onwards: nothing can be sent to it */
    raftMsg hb = rtMsg(RAFT_MSG_HEARTBEAT_RESP, 3, 1, 1);
    raftStep(r, &hb);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(rtCount(u.msgs, u.nmsgs, RAFT_MSG_APPEND), 0);
    raftAdvance(r, &u);
    raftPropose(r, RAFT_ENTRY_NORMAL, "w", 1);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nentries, 1);
    CHECK_EQ_INT(u.entries[0].index, 5);
    CHECK(rtFind(u.msgs, u.nmsgs, RAFT_MSG_APPEND, 2) != NULL);
    CHECK(rtFind(u.msgs, u.nmsgs, RAFT_MSG_APPEND, 3) == NULL);
    raftAdvance(r, &u);
    raftTick(r);
    raftGetPeers(r, peers, 4);
    CHECK_EQ_INT(peers[1].ticks_since_contact, 1);
    raftFree(r);
}

int main(void) {
    RUN(test_follower_append);
    RUN(test_conflict_truncates);
    RUN(test_reject_hint);
    RUN(test_fast_backtracking);
    RUN(test_commit_rule);
    RUN(test_no_commit_previous_term);
    RUN(test_pipelining);
    RUN(test_heartbeat_commit);
    RUN(test_read_index);
    RUN(test_compact_and_peers);
    return TEST_REPORT();
}
