/* Membership traces: a CONF entry takes effect when appended and is undone
 * when truncated; one change at a time; learners neither vote nor count;
 * removing the leader; removed nodes never campaign and are not heard. */
#include "raft_test.h"

static unsigned char confBuf[8][RAFT_CONF_CHANGE_LEN];

static raftEntry confEnt(int slot, uint64_t index, uint64_t term, int op, uint64_t id) {
    raftConfChangeEncode(confBuf[slot], op, id);
    raftEntry e = {term, index, RAFT_ENTRY_CONF, RAFT_CONF_CHANGE_LEN, confBuf[slot]};
    return e;
}

/* Leader 1 of voters {1..n} in term 1 with its NOOP (index 1) committed. */
static raft *leader(int n) {
    raftConfig c = rtConfig(1, n);
    raft *r = rtNodeLog(&c, 0, 0, NULL, 0);
    rtElect(r, n);
    for (int id = 2; id <= n; id++) {
        raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, id, 1, 1);
        ack.index = 1;
        raftStep(r, &ack);
    }
    rtDrain(r);
    return r;
}

static void ackFrom(raft *r, uint64_t id, uint64_t index) {
    raftInfo info;
    raftGetInfo(r, &info);
    raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, id, 1, info.term);
    ack.index = index;
    raftStep(r, &ack);
}

static uint64_t commitOf(const raft *r) {
    raftInfo info;
    raftGetInfo(r, &info);
    return info.commit;
}

/* A follower adopts a change as soon as it appends it (before commit), and
 * drops it again when a new leader overwrites the entry. */
TEST(test_conf_on_append_and_truncate) {
    raftConfig c = rtConfig(2, 3);
    uint64_t terms[1] = {1};
    raft *r = rtNodeLog(&c, 1, 0, terms, 1);
    unsigned char tail[RAFT_CONF_CHANGE_LEN + 5];
    raftConfChangeEncode(tail, RAFT_CONF_ADD_LEARNER, 4);
    memcpy(tail + RAFT_CONF_CHANGE_LEN, "addr!", 5);
    raftEntry e = {1, 2, RAFT_ENTRY_CONF, sizeof(tail), tail};
    raftMsg m = rtMsg(RAFT_MSG_APPEND, 1, 2, 1);
    m.index = 1;
    m.log_term = 1;
    m.entries = &e;
    m.nentries = 1;
    raftStep(r, &m);
    rtDrain(r);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.commit, 0);
    CHECK_EQ_INT(info.nlearners, 1);
    CHECK_EQ_INT(info.conf_index, 2);
    raftPeerInfo peers[8];
    CHECK_EQ_INT(raftGetPeers(r, peers, 8), 3);
    CHECK_EQ_INT(peers[2].id, 4);
    CHECK_EQ_INT(peers[2].is_learner, 1);
    raftConfState cs;
    CHECK_EQ_INT(raftGetConfState(r, 1, &cs), 0);
    CHECK_EQ_INT(cs.nlearners, 0);
    CHECK_EQ_INT(raftGetConfState(r, 0, &cs), 0);
    CHECK_EQ_INT(cs.nlearners, 1);
    CHECK_EQ_INT(cs.learners[0], 4);

    /* leader 3 of term 2 overwrites index 2 */
    raftEntry e2 = {2, 2, RAFT_ENTRY_NOOP, 0, NULL};
    raftMsg m2 = rtMsg(RAFT_MSG_APPEND, 3, 2, 2);
    m2.index = 1;
    m2.log_term = 1;
    m2.entries = &e2;
    m2.nentries = 1;
    raftStep(r, &m2);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.truncate_from, 2);
    raftAdvance(r, &u);
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.nlearners, 0);
    CHECK_EQ_INT(info.conf_index, 0);
    CHECK_EQ_INT(raftGetPeers(r, peers, 8), 2);
    raftFree(r);
}

/* The leader takes one change at a time, only once its term has committed
 * an entry, and only changes that apply. */
TEST(test_one_change_at_a_time) {
    raftConfig c = rtConfig(1, 3);
    raft *r = rtNodeLog(&c, 0, 0, NULL, 0);
    rtElect(r, 3);
    CHECK_EQ_INT(raftProposeConfChange(r, RAFT_CONF_ADD_LEARNER, 4, NULL, 0), 0);  /* NOOP not committed */
    ackFrom(r, 2, 1);
    rtDrain(r);
    CHECK_EQ_INT(raftPropose(r, RAFT_ENTRY_CONF, "x", 1), 0);
    CHECK_EQ_INT(raftProposeConfChange(r, RAFT_CONF_PROMOTE, 4, NULL, 0), 0);      /* not a learner */
    CHECK_EQ_INT(raftProposeConfChange(r, RAFT_CONF_ADD_LEARNER, 2, NULL, 0), 0);  /* a voter */
    CHECK_EQ_INT(raftProposeConfChange(r, RAFT_CONF_REMOVE, 9, NULL, 0), 0);       /* not a member */
    CHECK_EQ_INT(raftProposeConfChange(r, RAFT_CONF_ADD_LEARNER, 4, "a", 1), 2);
    CHECK_EQ_INT(raftProposeConfChange(r, RAFT_CONF_ADD_LEARNER, 5, NULL, 0), 0);  /* 2 uncommitted */
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nentries, 1);
    CHECK_EQ_INT(u.entries[0].type, RAFT_ENTRY_CONF);
    CHECK_EQ_INT(u.entries[0].len, RAFT_CONF_CHANGE_LEN + 1);
    int op;
    uint64_t id;
    CHECK_EQ_INT(raftConfChangeDecode(u.entries[0].data, u.entries[0].len, &op, &id), 0);
    CHECK_EQ_INT(op, RAFT_CONF_ADD_LEARNER);
    CHECK_EQ_INT(id, 4);
    CHECK_EQ_INT(u.entries[0].data[RAFT_CONF_CHANGE_LEN], 'a');
    /* the new learner is probed at once, with the others */
    CHECK(rtFind(u.msgs, u.nmsgs, RAFT_MSG_APPEND, 4) != NULL);
    raftAdvance(r, &u);
    raftPersisted(r, 2, 1);
    ackFrom(r, 2, 2);
    CHECK_EQ_INT(commitOf(r), 2);
    CHECK_EQ_INT(raftProposeConfChange(r, RAFT_CONF_PROMOTE, 4, NULL, 0), 3);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.nvoters, 4);
    CHECK_EQ_INT(info.nlearners, 0);
    raftFree(r);
}

/* A learner's acknowledgement does not count for commit, its vote is not
 * counted, it is not asked to vote, leadership cannot go to it, and a node
 * that knows it is a learner never campaigns. */
TEST(test_learner_does_not_count) {
    raft *r = leader(3);
    CHECK_EQ_INT(raftProposeConfChange(r, RAFT_CONF_ADD_LEARNER, 4, NULL, 0), 2);
    rtDrain(r);
    ackFrom(r, 2, 2);
    rtDrain(r);
    raftPropose(r, RAFT_ENTRY_NORMAL, "v", 1);
    rtDrain(r);                         /* 3 persisted locally */
    ackFrom(r, 4, 3);
    CHECK_EQ_INT(commitOf(r), 2);       /* leader + learner: no majority of 3 */
    ackFrom(r, 3, 3);
    CHECK_EQ_INT(commitOf(r), 3);
    CHECK_EQ_INT(raftTransferLeader(r, 4), -1);
    raftFree(r);

    /* a candidate with learner 4: not asked, its grant does not count */
    raftConfig c = rtConfig(1, 3);
    raftConfState cs = {3, 1, {1, 2, 3}, {4}};
    c.conf = &cs;
    r = rtNodeLog(&c, 0, 0, NULL, 0);
    rtTickUntilCampaign(r);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(rtCount(u.msgs_after_persist, u.nmsgs_after_persist, RAFT_MSG_VOTE), 2);
    CHECK(rtFind(u.msgs_after_persist, u.nmsgs_after_persist, RAFT_MSG_VOTE, 4) == NULL);
    raftAdvance(r, &u);
    raftMsg g = rtMsg(RAFT_MSG_VOTE_RESP, 4, 1, 1);
    raftStep(r, &g);
    CHECK_EQ_INT(rtRole(r), RAFT_CANDIDATE);
    g.from = 2;
    raftStep(r, &g);
    CHECK_EQ_INT(rtRole(r), RAFT_LEADER);
    raftFree(r);

    /* the learner itself */
    c = rtConfig(4, 3);
    c.conf = &cs;
    r = rtNodeLog(&c, 0, 0, NULL, 0);
    for (int i = 0; i < 40; i++) {
        raftTick(r);
        CHECK_EQ_INT(rtRole(r), RAFT_LEARNER);
    }
    raftMsg tn = rtMsg(RAFT_MSG_TIMEOUT_NOW, 1, 4, 0);
    raftStep(r, &tn);
    CHECK_EQ_INT(rtRole(r), RAFT_LEARNER);
    CHECK_EQ_INT(rtTerm(r), 0);
    raftFree(r);
}

/* Promoting a learner makes it count at once (on append). */
TEST(test_promote_counts_on_append) {
    raft *r = leader(3);
    raftProposeConfChange(r, RAFT_CONF_ADD_LEARNER, 4, NULL, 0);
    rtDrain(r);
    ackFrom(r, 2, 2);
    rtDrain(r);
    CHECK_EQ_INT(raftProposeConfChange(r, RAFT_CONF_PROMOTE, 4, NULL, 0), 3);
    rtDrain(r);
    ackFrom(r, 2, 3);
    CHECK_EQ_INT(commitOf(r), 2);       /* 2 of 4 voters */
    ackFrom(r, 4, 3);
    CHECK_EQ_INT(commitOf(r), 3);
    raftPeerInfo peers[8];
    CHECK_EQ_INT(raftGetPeers(r, peers, 8), 3);
    CHECK_EQ_INT(peers[2].id, 4);
    CHECK_EQ_INT(peers[2].is_learner, 0);
    raftFree(r);
}

/* Removing the leader: it stops counting itself once the entry is
 * appended, leads until it commits, then steps down, hands leadership to
 * an up-to-date voter and never campaigns again. */
TEST(test_remove_leader) {
    raft *r = leader(3);
    CHECK_EQ_INT(raftProposeConfChange(r, RAFT_CONF_REMOVE, 1, NULL, 0), 2);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.is_voter, 0);
    CHECK_EQ_INT(info.nvoters, 2);
    CHECK_EQ_INT(info.role, RAFT_LEADER);
    rtDrain(r);                         /* persisted locally: does not count */
    ackFrom(r, 2, 2);
    CHECK_EQ_INT(commitOf(r), 1);
    CHECK_EQ_INT(rtRole(r), RAFT_LEADER);
    raftUpdate u;
    raftGetUpdate(r, &u);
    raftAdvance(r, &u);
    ackFrom(r, 3, 2);
    CHECK_EQ_INT(commitOf(r), 2);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.role, RAFT_FOLLOWER);
    CHECK(u.role_changed);
    CHECK_EQ_INT(u.leader, 0);
    CHECK_EQ_INT(u.nmsgs, 1);
    CHECK_EQ_INT(u.msgs[0].type, RAFT_MSG_TIMEOUT_NOW);
    CHECK_EQ_INT(u.msgs[0].to, 2);
    CHECK_EQ_INT(u.ncommitted, 1);      /* the removal applies */
    raftAdvance(r, &u);
    for (int i = 0; i < 100; i++) {
        raftTick(r);
        CHECK(!raftHasUpdate(r));
    }
    raftFree(r);

    /* the follower it hands over to, whose configuration no longer holds
     * the old leader, accepts that one TimeoutNow and campaigns */
    raftConfig c = rtConfig(2, 3);
    raft *f = rtNodeLog(&c, 1, 0, NULL, 0);
    raftEntry es[2] = {{1, 1, RAFT_ENTRY_NOOP, 0, NULL}, confEnt(0, 2, 1, RAFT_CONF_REMOVE, 1)};
    raftMsg m = rtMsg(RAFT_MSG_APPEND, 1, 2, 1);
    m.entries = es;
    m.nentries = 2;
    m.commit = 2;
    raftStep(f, &m);
    rtDrain(f);
    raftMsg tn = rtMsg(RAFT_MSG_TIMEOUT_NOW, 1, 2, 1);
    raftStep(f, &tn);
    CHECK_EQ_INT(rtRole(f), RAFT_CANDIDATE);
    CHECK_EQ_INT(rtTerm(f), 2);
    raftGetUpdate(f, &u);
    CHECK_EQ_INT(rtCount(u.msgs_after_persist, u.nmsgs_after_persist, RAFT_MSG_VOTE), 1);
    CHECK(rtFind(u.msgs_after_persist, u.nmsgs_after_persist, RAFT_MSG_VOTE, 3) != NULL);
    raftAdvance(f, &u);
    raftFree(f);
}

/* A node whose log removes it never campaigns; the members ignore a
 * removed node's vote requests (no term change, no answer) and answers. */
TEST(test_removed_node_ignored) {
    raftConfig c = rtConfig(3, 3);
    raftEntry es[2] = {{1, 1, RAFT_ENTRY_NOOP, 0, NULL}, confEnt(1, 2, 1, RAFT_CONF_REMOVE, 3)};
    raftHardState hs = {1, 0, 2};
    raft *r = raftNew(&c, &hs, 0, 0, es, 2);
    rtDrain(r);
    CHECK_EQ_INT(rtTickUntilCampaign(r), -1);
    CHECK(!raftHasUpdate(r));
    raftFree(r);

    c = rtConfig(1, 3);
    es[1] = confEnt(2, 2, 1, RAFT_CONF_REMOVE, 4);
    raftConfState four = {4, 0, {1, 2, 3, 4}, {0}};
    c.conf = &four;
    r = raftNew(&c, &hs, 0, 0, es, 2);
    rtDrain(r);
    raftMsg v = rtMsg(RAFT_MSG_VOTE, 4, 1, 9);
    v.index = 50;
    v.log_term = 8;
    raftStep(r, &v);
    v.type = RAFT_MSG_PREVOTE;
    raftStep(r, &v);
    raftMsg resp = rtMsg(RAFT_MSG_APPEND_RESP, 4, 1, 9);
    resp.reject = 1;
    raftStep(r, &resp);
    CHECK_EQ_INT(rtTerm(r), 1);
    CHECK(!raftHasUpdate(r));
    /* a member's request is answered */
    v.from = 2;
    raftStep(r, &v);
    CHECK(raftHasUpdate(r));
    raftFree(r);
}

TEST(test_conf_change_encoding) {
    unsigned char b[RAFT_CONF_CHANGE_LEN];
    raftConfChangeEncode(b, RAFT_CONF_REMOVE, 0x1122334455667788ULL);
    CHECK_EQ_INT(b[0], RAFT_CONF_REMOVE);
    CHECK_EQ_INT(b[1], 0x88);
    CHECK_EQ_INT(b[8], 0x11);
    int op;
    uint64_t id;
    CHECK_EQ_INT(raftConfChangeDecode(b, sizeof(b), &op, &id), 0);
    CHECK(id == 0x1122334455667788ULL);
    CHECK_EQ_INT(raftConfChangeDecode(b, sizeof(b) - 1, &op, &id), -1);
    b[0] = 7;
    CHECK_EQ_INT(raftConfChangeDecode(b, sizeof(b), &op, &id), -1);
}

int main(void) {
    RUN(test_conf_on_append_and_truncate);
    RUN(test_one_change_at_a_time);
    RUN(test_learner_does_not_count);
    RUN(test_promote_counts_on_append);
    RUN(test_remove_leader);
    RUN(test_removed_node_ignored);
    RUN(test_conf_change_encoding);
    return TEST_REPORT();
}
