/* Election traces: vote granting, the log up-to-date check, campaigns with
 * and without PreVote, check-quorum, leader stickiness and leadership
 * transfer. Each test drives one core by hand and asserts the exact hard
 * state and messages of its updates. */
#include "raft_test.h"

/* A vote is granted once per term, persisted before the answer leaves. */
TEST(test_vote_granting) {
    raftConfig c = rtConfig(1, 3);
    raft *r = rtNodeLog(&c, 1, 0, NULL, 0);
    raftMsg v = rtMsg(RAFT_MSG_VOTE, 2, 1, 2);
    raftStep(r, &v);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs_changed, 1);
    CHECK_EQ_INT(u.hs.term, 2);
    CHECK_EQ_INT(u.hs.vote, 2);
    CHECK_EQ_INT(u.nmsgs, 0);
    CHECK_EQ_INT(u.nmsgs_after_persist, 1);
    const raftMsg *resp = &u.msgs_after_persist[0];
    CHECK_EQ_INT(resp->type, RAFT_MSG_VOTE_RESP);
    CHECK_EQ_INT(resp->to, 2);
    CHECK_EQ_INT(resp->term, 2);
    CHECK_EQ_INT(resp->reject, 0);
    raftAdvance(r, &u);

    /* another candidate of the same term: rejected, nothing to persist */
    v = rtMsg(RAFT_MSG_VOTE, 3, 1, 2);
    raftStep(r, &v);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs_changed, 0);
    CHECK_EQ_INT(u.nmsgs_after_persist, 1);
    CHECK_EQ_INT(u.msgs_after_persist[0].to, 3);
    CHECK_EQ_INT(u.msgs_after_persist[0].reject, 1);
    raftAdvance(r, &u);

    /* the same candidate again (a retry): granted again */
    v = rtMsg(RAFT_MSG_VOTE, 2, 1, 2);
    raftStep(r, &v);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.msgs_after_persist[0].reject, 0);
    raftAdvance(r, &u);

    /* a stale term: rejected with the current term, which the candidate
     * may have no other way to learn */
    v = rtMsg(RAFT_MSG_VOTE, 3, 1, 1);
    raftStep(r, &v);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nmsgs_after_persist, 1);
    CHECK_EQ_INT(u.msgs_after_persist[0].type, RAFT_MSG_VOTE_RESP);
    CHECK_EQ_INT(u.msgs_after_persist[0].reject, 1);
    CHECK_EQ_INT(u.msgs_after_persist[0].term, 2);
    CHECK_EQ_INT(u.hs_changed, 0);
    raftAdvance(r, &u);
    raftFree(r);
}

static int voteAnswer(raft *r, uint64_t term, uint64_t last_index, uint64_t last_term) {
    raftMsg v = rtMsg(RAFT_MSG_VOTE, 2, 1, term);
    v.index = last_index;
    v.log_term = last_term;
    raftStep(r, &v);
    raftUpdate u;
    raftGetUpdate(r, &u);
    int rej = u.nmsgs_after_persist == 1 ? u.msgs_after_persist[0].reject : -1;
    raftAdvance(r, &u);
    return rej;
}

/* Voter log: terms 1, 2 (last index 2, last term 2). */
TEST(test_log_up_to_date) {
    raftConfig c = rtConfig(1, 3);
    uint64_t terms[2] = {1, 2};
    raft *r = rtNodeLog(&c, 2, 0, terms, 2);
    CHECK_EQ_INT(voteAnswer(r, 3, 5, 1), 1);   /* longer but older last term */
    raftFree(r);
    r = rtNodeLog(&c, 2, 0, terms, 2);
    CHECK_EQ_INT(voteAnswer(r, 3, 1, 2), 1);   /* same last term, shorter */
    raftFree(r);
    r = rtNodeLog(&c, 2, 0, terms, 2);
    CHECK_EQ_INT(voteAnswer(r, 3, 2, 2), 0);   /* equal */
    raftFree(r);
    r = rtNodeLog(&c, 2, 0, terms, 2);
    CHECK_EQ_INT(voteAnswer(r, 3, 1, 3), 0);   /* newer last term, shorter */
    raftFree(r);
}

/* Without PreVote: timeout -> candidate of term+1 voting for itself; the
 * RequestVotes go out only after that hard state is durable; a majority
 * makes it leader, which appends its NOOP and sends it to everyone. */
TEST(test_campaign_and_win) {
    raftConfig c = rtConfig(1, 3);
    uint64_t terms[1] = {1};
    raft *r = rtNodeLog(&c, 1, 0, terms, 1);
    int ticks = rtTickUntilCampaign(r);
    CHECK(ticks >= 10 && ticks < 20);
    CHECK_EQ_INT(rtRole(r), RAFT_CANDIDATE);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs.term, 2);
    CHECK_EQ_INT(u.hs.vote, 1);
    CHECK_EQ_INT(u.nmsgs, 0);
    CHECK_EQ_INT(u.nmsgs_after_persist, 2);
    for (int i = 0; i < 2; i++) {
        const raftMsg *m = &u.msgs_after_persist[i];
        CHECK_EQ_INT(m->type, RAFT_MSG_VOTE);
        CHECK_EQ_INT(m->to, 2 + i);
        CHECK_EQ_INT(m->term, 2);
        CHECK_EQ_INT(m->index, 1);
        CHECK_EQ_INT(m->log_term, 1);
    }
    CHECK_EQ_INT(u.role_changed, 1);
    CHECK_EQ_INT(u.role, RAFT_CANDIDATE);
    raftAdvance(r, &u);

    raftMsg g = rtMsg(RAFT_MSG_VOTE_RESP, 3, 1, 2);
    raftStep(r, &g);
    CHECK_EQ_INT(rtRole(r), RAFT_LEADER);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nentries, 1);
    CHECK_EQ_INT(u.entries[0].index, 2);
    CHECK_EQ_INT(u.entries[0].term, 2);
    CHECK_EQ_INT(u.entries[0].type, RAFT_ENTRY_NOOP);
    CHECK_EQ_INT(u.nmsgs, 2);
    CHECK_EQ_INT(u.nmsgs_after_persist, 0);
    for (int i = 0; i < 2; i++) {
        const raftMsg *m = &u.msgs[i];
        CHECK_EQ_INT(m->type, RAFT_MSG_APPEND);
        CHECK_EQ_INT(m->index, 1);
        CHECK_EQ_INT(m->log_term, 1);
        CHECK_EQ_INT(m->nentries, 1);
        CHECK_EQ_INT(m->entries[0].index, 2);
    }
    CHECK_EQ_INT(u.role, RAFT_LEADER);
    CHECK_EQ_INT(u.leader, 1);
    raftAdvance(r, &u);
    raftFree(r);
}

/* A majority of rejections sends the candidate back to follower. */
TEST(test_campaign_lost) {
    raftConfig c = rtConfig(1, 3);
    raft *r = rtNodeLog(&c, 1, 0, NULL, 0);
    rtTickUntilCampaign(r);
    rtDrain(r);
    raftMsg m = rtMsg(RAFT_MSG_VOTE_RESP, 2, 1, 2);
    m.reject = 1;
    raftStep(r, &m);
    CHECK_EQ_INT(rtRole(r), RAFT_CANDIDATE);
    m.from = 3;
    raftStep(r, &m);
    CHECK_EQ_INT(rtRole(r), RAFT_FOLLOWER);
    CHECK_EQ_INT(rtTerm(r), 2);
    raftFree(r);
}

/* PreVote: the node asks for term+1 without moving its own term; only after
 * a majority grants does it become a real candidate. Responders do not move
 * their term either. */
TEST(test_prevote) {
    raftConfig c = rtConfig(1, 3);
    c.pre_vote = 1;
    raft *r = rtNodeLog(&c, 5, 0, NULL, 0);
    rtTickUntilCampaign(r);
    CHECK_EQ_INT(rtRole(r), RAFT_PRECANDIDATE);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs_changed, 0);
    CHECK_EQ_INT(u.nmsgs, 2);
    CHECK_EQ_INT(u.nmsgs_after_persist, 0);
    CHECK_EQ_INT(u.msgs[0].type, RAFT_MSG_PREVOTE);
    CHECK_EQ_INT(u.msgs[0].term, 6);
    raftAdvance(r, &u);
    raftMsg g = rtMsg(RAFT_MSG_PREVOTE_RESP, 2, 1, 6);
    raftStep(r, &g);
    CHECK_EQ_INT(rtRole(r), RAFT_CANDIDATE);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs.term, 6);
    CHECK_EQ_INT(u.hs.vote, 1);
    CHECK_EQ_INT(rtCount(u.msgs_after_persist, u.nmsgs_after_persist, RAFT_MSG_VOTE), 2);
    raftAdvance(r, &u);
    raftFree(r);

    /* the responder side */
    c = rtConfig(2, 3);
    c.pre_vote = 1;
    r = rtNodeLog(&c, 5, 0, NULL, 0);
    raftMsg pv = rtMsg(RAFT_MSG_PREVOTE, 1, 2, 6);
    raftStep(r, &pv);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs_changed, 0);
    CHECK_EQ_INT(u.nmsgs, 1);
    CHECK_EQ_INT(u.msgs[0].type, RAFT_MSG_PREVOTE_RESP);
    CHECK_EQ_INT(u.msgs[0].term, 6);
    CHECK_EQ_INT(u.msgs[0].reject, 0);
    raftAdvance(r, &u);
    CHECK_EQ_INT(rtTerm(r), 5);
    raftFree(r);
}

/* A PreVote lost by majority: back to follower, term unchanged. */
TEST(test_prevote_lost) {
    raftConfig c = rtConfig(1, 3);
    c.pre_vote = 1;
    raft *r = rtNodeLog(&c, 5, 0, NULL, 0);
    rtTickUntilCampaign(r);
    rtDrain(r);
    raftMsg m = rtMsg(RAFT_MSG_PREVOTE_RESP, 2, 1, 5);
    m.reject = 1;
    raftStep(r, &m);
    m.from = 3;
    raftStep(r, &m);
    CHECK_EQ_INT(rtRole(r), RAFT_FOLLOWER);
    CHECK_EQ_INT(rtTerm(r), 5);
    raftFree(r);
}

/* A node cut off from the others keeps timing out in PreVote rounds: each
 * timeout starts a new PreVote for the same term+1, and its term never grows,
 * so when it comes back it cannot depose a healthy leader. */
TEST(test_prevote_timeout_repeats_prevote) {
    raftConfig c = rtConfig(1, 3);
    c.pre_vote = 1;
    raft *r = rtNodeLog(&c, 5, 0, NULL, 0);
    rtTickUntilCampaign(r);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 40 && !raftHasUpdate(r); i++) raftTick(r);
        CHECK_EQ_INT(rtRole(r), RAFT_PRECANDIDATE);
        CHECK_EQ_INT(rtTerm(r), 5);
        raftUpdate u;
        raftGetUpdate(r, &u);
        CHECK_EQ_INT(u.hs_changed, 0);
        CHECK_EQ_INT(rtCount(u.msgs, u.nmsgs, RAFT_MSG_PREVOTE), 2);
        CHECK_EQ_INT(rtCount(u.msgs_after_persist, u.nmsgs_after_persist, RAFT_MSG_VOTE), 0);
        CHECK_EQ_INT(u.msgs[0].term, 6);
        raftAdvance(r, &u);
    }
    raftFree(r);
}

/* Check-quorum: a leader that hears from no one for an election timeout
 * steps down; one that hears from a majority stays. */
TEST(test_check_quorum) {
    raftConfig c = rtConfig(1, 3);
    c.check_quorum = 1;
    raft *r = rtNodeLog(&c, 1, 0, NULL, 0);
    rtElect(r, 3);
    CHECK_EQ_INT(rtRole(r), RAFT_LEADER);
    uint64_t term = rtTerm(r);
    /* the first window counts the votes as contact */
    for (int i = 0; i < 10; i++) raftTick(r);
    rtDrain(r);
    CHECK_EQ_INT(rtRole(r), RAFT_LEADER);
    for (int i = 0; i < 9; i++) {
        raftTick(r);
        if (i == 4) {
            raftMsg hb = rtMsg(RAFT_MSG_HEARTBEAT_RESP, 2, 1, term);
            raftStep(r, &hb);
        }
    }
    raftTick(r);
    CHECK_EQ_INT(rtRole(r), RAFT_LEADER);
    rtDrain(r);
    for (int i = 0; i < 10; i++) raftTick(r);
    CHECK_EQ_INT(rtRole(r), RAFT_FOLLOWER);
    CHECK_EQ_INT(rtTerm(r), term);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.role_changed, 1);
    CHECK_EQ_INT(u.leader, 0);
    raftAdvance(r, &u);
    raftFree(r);
}

/* Leader stickiness: a follower that heard from its leader within the
 * election timeout ignores (Pre)Votes of higher terms, unless they come from
 * a leadership transfer. */
TEST(test_leader_stickiness) {
    raftConfig c = rtConfig(2, 3);
    c.check_quorum = 1;
    raft *r = rtNodeLog(&c, 1, 0, NULL, 0);
    raftMsg hb = rtMsg(RAFT_MSG_HEARTBEAT, 1, 2, 1);
    raftStep(r, &hb);
    rtDrain(r);
    raftMsg v = rtMsg(RAFT_MSG_VOTE, 3, 2, 2);
    raftStep(r, &v);
    CHECK(!raftHasUpdate(r));
    CHECK_EQ_INT(rtTerm(r), 1);
    raftMsg pv = rtMsg(RAFT_MSG_PREVOTE, 3, 2, 2);
    raftStep(r, &pv);
    CHECK(!raftHasUpdate(r));
    v.ctx = 1;      /* transfer */
    raftStep(r, &v);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs.term, 2);
    CHECK_EQ_INT(u.hs.vote, 3);
    CHECK_EQ_INT(u.msgs_after_persist[0].reject, 0);
    raftAdvance(r, &u);
    raftFree(r);

    /* without check-quorum there is no stickiness */
    c.check_quorum = 0;
    r = rtNodeLog(&c, 1, 0, NULL, 0);
    raftStep(r, &hb);
    rtDrain(r);
    v.ctx = 0;
    raftStep(r, &v);
    CHECK_EQ_INT(rtTerm(r), 2);
    raftFree(r);
}

/* A stale leader hearing a higher term steps down; with PreVote a node that
 * moved ahead tells a stale leader its term. */
TEST(test_stale_leader) {
    raftConfig c = rtConfig(1, 3);
    raft *r = rtNodeLog(&c, 1, 0, NULL, 0);
    rtElect(r, 3);
    raftMsg m = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 9);
    raftStep(r, &m);
    CHECK_EQ_INT(rtRole(r), RAFT_FOLLOWER);
    CHECK_EQ_INT(rtTerm(r), 9);
    raftFree(r);

    c = rtConfig(2, 3);
    c.pre_vote = 1;
    r = rtNodeLog(&c, 9, 0, NULL, 0);
    raftMsg hb = rtMsg(RAFT_MSG_HEARTBEAT, 1, 2, 3);
    raftStep(r, &hb);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nmsgs, 0);
    CHECK_EQ_INT(u.nmsgs_after_persist, 1);
    CHECK_EQ_INT(u.msgs_after_persist[0].type, RAFT_MSG_APPEND_RESP);
    CHECK_EQ_INT(u.msgs_after_persist[0].term, 9);
    raftAdvance(r, &u);
    raftFree(r);
}

/* Leadership transfer: the leader brings the target up to date, sends
 * TimeoutNow and refuses proposals meanwhile; the target campaigns at once
 * (no PreVote) with the transfer flag. */
TEST(test_transfer) {
    raftConfig c = rtConfig(1, 3);
    raft *r = rtNodeLog(&c, 1, 0, NULL, 0);
    rtElect(r, 3);
    uint64_t term = rtTerm(r);
    CHECK_EQ_INT(raftTransferLeader(r, 1), -1);
    CHECK_EQ_INT(raftTransferLeader(r, 7), -1);
    /* target 2 is not caught up yet: the transfer waits for its ack */
    CHECK_EQ_INT(raftTransferLeader(r, 2), 0);
    CHECK_EQ_INT(raftPropose(r, RAFT_ENTRY_NORMAL, "x", 1), 0);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(rtCount(u.msgs, u.nmsgs, RAFT_MSG_TIMEOUT_NOW), 0);
    raftAdvance(r, &u);
    raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, term);
    ack.index = 1;
    raftStep(r, &ack);
    raftGetUpdate(r, &u);
    const raftMsg *tn = rtFind(u.msgs, u.nmsgs, RAFT_MSG_TIMEOUT_NOW, 2);
    CHECK(tn != NULL);
    CHECK_EQ_INT(tn->term, term);
    raftAdvance(r, &u);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.transferee, 2);
    /* it aborts after an election timeout */
    for (int i = 0; i < 10; i++) raftTick(r);
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.transferee, 0);
    CHECK(raftPropose(r, RAFT_ENTRY_NORMAL, "x", 1) != 0);
    raftFree(r);

    /* the target side */
    c = rtConfig(2, 3);
    c.pre_vote = 1;
    c.check_quorum = 1;
    r = rtNodeLog(&c, 1, 0, NULL, 0);
    raftMsg t = rtMsg(RAFT_MSG_TIMEOUT_NOW, 1, 2, 1);
    raftStep(r, &t);
    CHECK_EQ_INT(rtRole(r), RAFT_CANDIDATE);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs.term, 2);
    CHECK_EQ_INT(u.nmsgs_after_persist, 2);
    CHECK_EQ_INT(u.msgs_after_persist[0].type, RAFT_MSG_VOTE);
    CHECK_EQ_INT(u.msgs_after_persist[0].ctx, 1);
    raftAdvance(r, &u);
    raftFree(r);
}

/* Election timeouts are randomized in [election_ticks, 2*election_ticks)
 * and differ between seeds. */
TEST(test_randomized_timeout) {
    int seen[20] = {0}, distinct = 0;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        raftConfig c = rtConfig(1, 3);
        c.seed = seed;
        raft *r = rtNodeLog(&c, 0, 0, NULL, 0);
        int t = rtTickUntilCampaign(r);
        CHECK(t >= 10 && t < 20);
        if (!seen[t]++) distinct++;
        raftFree(r);
    }
    CHECK(distinct >= 5);
}

int main(void) {
    RUN(test_vote_granting);
    RUN(test_log_up_to_date);
    RUN(test_campaign_and_win);
    RUN(test_campaign_lost);
    RUN(test_prevote);
    RUN(test_prevote_lost);
    RUN(test_prevote_timeout_repeats_prevote);
    RUN(test_check_quorum);
    RUN(test_leader_stickiness);
    RUN(test_stale_leader);
    RUN(test_transfer);
    RUN(test_randomized_timeout);
    return TEST_REPORT();
}
