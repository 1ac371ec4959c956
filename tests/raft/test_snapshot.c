/* Snapshot traces: a follower whose next entry was compacted away is sent a
 * snapshot and gets nothing but heartbeats until it answers; the follower
 * side of raftSnapshotInstalled (keeps a matching suffix, else empties its
 * log and has the writer truncate it) and its answer; failure and timeout
 * fall back to probing; a joining node asks for a snapshot. */
#include "raft_test.h"

static raftConfState conf3(void) {
    raftConfState cs;
    memset(&cs, 0, sizeof(cs));
    cs.nvoters = 3;
    for (int i = 0; i < 3; i++) cs.voters[i] = (uint64_t)i + 1;
    return cs;
}

/* Leader 1 of 3 in term 2, log 1..5 of term 1 + NOOP at 6, all committed
 * and applied, compacted up to 6 after a snapshot at 6. Follower 2 probed,
 * never answered. */
static raft *compactedLeader(void) {
    raftConfig c = rtConfig(1, 3);
    uint64_t terms[5] = {1, 1, 1, 1, 1};
    raft *r = rtNodeLog(&c, 1, 0, terms, 5);
    rtElect(r, 3);
    raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, 3, 1, 2);
    ack.index = 6;
    raftStep(r, &ack);
    rtDrain(r);
    raftSnapshotTaken(r, 6, 2);
    raftCompact(r, 6);
    return r;
}

/* next <= first index: a SNAPSHOT message (to the server) with the latest
 * snapshot's index, term and membership; replication to that peer pauses
 * (heartbeats continue) until it answers, then resumes after the snapshot. */
TEST(test_snapshot_sent_and_resumed) {
    raft *r = compactedLeader();
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.first_index, 7);
    CHECK_EQ_INT(info.snap_index, 6);
    CHECK_EQ_INT(info.snap_term, 2);
    CHECK_EQ_INT(raftSnapshotTaken(r, 5, 1), -1);  /* compacted away */
    CHECK_EQ_INT(raftTermAt(r, 5), 0);              /* so is its term */
    CHECK_EQ_INT(raftTermAt(r, 6), 2);              /* the entry before the log */
    CHECK_EQ_INT(raftTermAt(r, 7), 0);              /* beyond the last index */

    raftMsg rej = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 2);
    rej.reject = 1;
    rej.index = 5;          /* the probe after the election */
    raftStep(r, &rej);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nmsgs, 1);
    const raftMsg *s = &u.msgs[0];
    CHECK_EQ_INT(s->type, RAFT_MSG_SNAPSHOT);
    CHECK_EQ_INT(s->to, 2);
    CHECK_EQ_INT(s->index, 6);
    CHECK_EQ_INT(s->log_term, 2);
    CHECK(s->conf != NULL);
    CHECK_EQ_INT(s->conf->nvoters, 3);
    CHECK_EQ_INT(s->conf->nlearners, 0);
    raftAdvance(r, &u);
    raftPeerInfo peers[4];
    CHECK_EQ_INT(raftGetPeers(r, peers, 4), 2);
    CHECK_EQ_INT(peers[0].id, 2);
    CHECK_EQ_INT(peers[0].snapshot, 1);

    /* meanwhile: new entries go to 3 only; heartbeats to both */
    raftPropose(r, RAFT_ENTRY_NORMAL, "x", 1);
    raftGetUpdate(r, &u);
    CHECK(rtFind(u.msgs, u.nmsgs, RAFT_MSG_APPEND, 2) == NULL);
    CHECK(rtFind(u.msgs, u.nmsgs, RAFT_MSG_APPEND, 3) != NULL);
    raftAdvance(r, &u);
    raftTick(r);
    raftGetUpdate(r, &u);
    CHECK(rtFind(u.msgs, u.nmsgs, RAFT_MSG_HEARTBEAT, 2) != NULL);
    CHECK(rtFind(u.msgs, u.nmsgs, RAFT_MSG_APPEND, 2) == NULL);
    CHECK(rtFind(u.msgs, u.nmsgs, RAFT_MSG_SNAPSHOT, 2) == NULL);
    raftAdvance(r, &u);
    raftMsg hb = rtMsg(RAFT_MSG_HEARTBEAT_RESP, 2, 1, 2);
    raftStep(r, &hb);
    CHECK(!raftHasUpdate(r));
    /* a stale rejection changes nothing */
    raftStep(r, &rej);
    CHECK(!raftHasUpdate(r));

    /* the follower installed it and answers: replication resumes at 7 */
    raftMsg ack = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 2);
    ack.index = 6;
    raftStep(r, &ack);
    raftGetUpdate(r, &u);
    const raftMsg *a = rtFind(u.msgs, u.nmsgs, RAFT_MSG_APPEND, 2);
    CHECK(a != NULL);
    CHECK_EQ_INT(a->index, 6);
    CHECK_EQ_INT(a->log_term, 2);
    CHECK_EQ_INT(a->nentries, 1);
    CHECK_EQ_INT(a->entries[0].index, 7);
    raftAdvance(r, &u);
    raftGetPeers(r, peers, 4);
    CHECK_EQ_INT(peers[0].snapshot, 0);
    CHECK_EQ_INT(peers[0].match, 6);
    raftFree(r);
}

/* raftSnapshotFailed: back to probing, retried after a heartbeat answer. A
 * snapshot left unanswered for snapshot_timeout_ticks: probe right after it
 * (the answer may have been lost). */
TEST(test_snapshot_failed_and_timeout) {
    raft *r = compactedLeader();
    raftMsg rej = rtMsg(RAFT_MSG_APPEND_RESP, 2, 1, 2);
    rej.reject = 1;
    rej.index = 5;
    raftStep(r, &rej);
    rtDrain(r);
    raftSnapshotFailed(r, 2);
    CHECK(!raftHasUpdate(r));
    raftMsg hb = rtMsg(RAFT_MSG_HEARTBEAT_RESP, 2, 1, 2);
    raftStep(r, &hb);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nmsgs, 1);
    CHECK_EQ_INT(u.msgs[0].type, RAFT_MSG_SNAPSHOT);
    raftAdvance(r, &u);

    /* 10 * election_ticks later: probe at the snapshot index */
    int probed = 0;
    for (int i = 0; i < 100 && !probed; i++) {
        raftTick(r);
        raftGetUpdate(r, &u);
        const raftMsg *a = rtFind(u.msgs, u.nmsgs, RAFT_MSG_APPEND, 2);
        if (a) {
            CHECK_EQ_INT(i, 99);
            CHECK_EQ_INT(a->index, 6);
            probed = 1;
        }
        raftAdvance(r, &u);
        raftMsg hr = rtMsg(RAFT_MSG_HEARTBEAT_RESP, 3, 1, 2);
        raftStep(r, &hr);
        rtDrain(r);
    }
    CHECK(probed);
    /* not installed after all: its rejection brings the snapshot again */
    rej.index = 6;
    rej.hint_index = 0;
    raftStep(r, &rej);
    raftGetUpdate(r, &u);
    CHECK(rtFind(u.msgs, u.nmsgs, RAFT_MSG_SNAPSHOT, 2) != NULL);
    raftAdvance(r, &u);
    raftFree(r);
}

/* A follower whose log does not hold the snapshot's last entry empties its
 * log (the writer is told to delete from index + 1), takes commit/applied
 * from it and answers its leader once the update is durable. */
TEST(test_snapshot_installed_replaces_log) {
    raftConfig c = rtConfig(2, 3);
    uint64_t terms[7] = {1, 1, 2, 2, 2, 2, 2};
    raft *r = rtNodeLog(&c, 2, 0, terms, 7);
    raftMsg hb = rtMsg(RAFT_MSG_HEARTBEAT, 1, 2, 3);
    raftStep(r, &hb);
    rtDrain(r);
    raftConfState cs = conf3();
    raftSnapshotInstalled(r, 5, 3, &cs);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.truncate_from, 6);
    CHECK_EQ_INT(u.nentries, 0);
    CHECK_EQ_INT(u.ncommitted, 0);
    CHECK_EQ_INT(u.hs.commit, 5);
    CHECK_EQ_INT(u.nmsgs, 0);
    CHECK_EQ_INT(u.nmsgs_after_persist, 1);
    const raftMsg *a = &u.msgs_after_persist[0];
    CHECK_EQ_INT(a->type, RAFT_MSG_APPEND_RESP);
    CHECK_EQ_INT(a->to, 1);
    CHECK_EQ_INT(a->reject, 0);
    CHECK_EQ_INT(a->index, 5);
    raftAdvance(r, &u);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.first_index, 6);
    CHECK_EQ_INT(info.last_index, 5);
    CHECK_EQ_INT(info.applied, 5);
    CHECK_EQ_INT(info.commit, 5);
    CHECK_EQ_INT(info.snap_index, 5);

    /* the leader continues after it */
    raftEntry e = {3, 6, RAFT_ENTRY_NORMAL, 0, NULL};
    raftMsg m = rtMsg(RAFT_MSG_APPEND, 1, 2, 3);
    m.index = 5;
    m.log_term = 3;
    m.entries = &e;
    m.nentries = 1;
    m.commit = 6;
    raftStep(r, &m);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nentries, 1);
    CHECK_EQ_INT(u.msgs_after_persist[0].index, 6);
    CHECK_EQ_INT(u.msgs_after_persist[0].reject, 0);
    raftAdvance(r, &u);
    raftPersisted(r, 6, 3);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.ncommitted, 1);
    CHECK_EQ_INT(u.committed[0].index, 6);
    raftAdvance(r, &u);

    /* an older snapshot (<= applied) changes nothing, but the leader hears
     * where this log is (it may have missed the answer to the install) */
    raftSnapshotInstalled(r, 4, 3, &cs);
    CHECK(raftHasUpdate(r));
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nentries, 0);
    CHECK_EQ_INT(u.ncommitted, 0);
    CHECK_EQ_INT(u.truncate_from, 0);
    CHECK_EQ_INT(u.nmsgs_after_persist, 1);
    CHECK_EQ_INT(u.msgs_after_persist[0].type, RAFT_MSG_APPEND_RESP);
    CHECK_EQ_INT(u.msgs_after_persist[0].to, 1);
    CHECK_EQ_INT(u.msgs_after_persist[0].reject, 0);
    CHECK_EQ_INT(u.msgs_after_persist[0].index, 6);
    raftAdvance(r, &u);
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.applied, 6);
    CHECK_EQ_INT(info.first_index, 6);
    CHECK_EQ_INT(info.last_index, 6);
    raftFree(r);
}

/* A log holding the snapshot's last entry keeps what follows it. */
TEST(test_snapshot_installed_keeps_suffix) {
    raftConfig c = rtConfig(2, 3);
    uint64_t terms[5] = {1, 1, 2, 2, 2};
    raft *r = rtNodeLog(&c, 2, 0, terms, 5);
    raftMsg hb = rtMsg(RAFT_MSG_HEARTBEAT, 1, 2, 2);
    raftStep(r, &hb);
    rtDrain(r);
    raftConfState cs = conf3();
    raftSnapshotInstalled(r, 3, 2, &cs);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.truncate_from, 0);
    CHECK_EQ_INT(u.ncommitted, 0);
    CHECK_EQ_INT(u.hs.commit, 3);
    CHECK_EQ_INT(u.msgs_after_persist[0].index, 3);
    raftAdvance(r, &u);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.first_index, 4);
    CHECK_EQ_INT(info.last_index, 5);
    CHECK_EQ_INT(info.applied, 3);
    raftFree(r);
}

/* A node created with no configuration (joining) never campaigns, refuses
 * entries asking for a snapshot, and the leader sends one; once installed
 * with a membership that lists it as a learner it is a learner. */
TEST(test_joining_node) {
    raftConfig c = rtConfig(4, 0);
    raft *r = raftNew(&c, NULL, 0, 0, NULL, 0);
    CHECK(r != NULL);
    for (int i = 0; i < 50; i++) raftTick(r);
    CHECK_EQ_INT(rtRole(r), RAFT_FOLLOWER);
    CHECK(!raftHasUpdate(r));
    raftMsg m = rtMsg(RAFT_MSG_APPEND, 1, 4, 2);
    m.index = 6;
    m.log_term = 2;
    raftStep(r, &m);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nmsgs_after_persist, 1);
    raftMsg rej = u.msgs_after_persist[0];
    CHECK_EQ_INT(rej.reject, 1);
    CHECK_EQ_INT(rej.ctx, 1);
    CHECK_EQ_INT(u.leader, 1);
    raftAdvance(r, &u);

    raft *l = compactedLeader();
    CHECK(raftProposeConfChange(l, RAFT_CONF_ADD_LEARNER, 4, NULL, 0) == 7);
    rtDrain(l);
    raftStep(l, &rej);
    raftGetUpdate(l, &u);
    const raftMsg *s = rtFind(u.msgs, u.nmsgs, RAFT_MSG_SNAPSHOT, 4);
    CHECK(s != NULL);
    CHECK_EQ_INT(s->index, 6);
    raftAdvance(l, &u);

    raftConfState cs = conf3();
    cs.learners[cs.nlearners++] = 4;
    raftSnapshotInstalled(r, 6, 2, &cs);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.role, RAFT_LEARNER);
    CHECK_EQ_INT(u.msgs_after_persist[0].index, 6);
    raftAdvance(r, &u);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.is_learner, 1);
    CHECK_EQ_INT(info.nlearners, 1);
    raftFree(r);
    raftFree(l);
}

/* raftNew from a snapshot point and its membership (a restart). */
TEST(test_restart_from_snapshot) {
    raftConfig c = rtConfig(2, 3);
    raftConfState cs = conf3();
    cs.learners[cs.nlearners++] = 5;
    c.conf = &cs;
    c.nvoters = 0;
    raftEntry e = {4, 11, RAFT_ENTRY_NORMAL, 0, NULL};
    raftHardState hs = {4, 1, 11};
    raft *r = raftNew(&c, &hs, 10, 4, &e, 1);
    CHECK(r != NULL);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.first_index, 11);
    CHECK_EQ_INT(info.applied, 10);
    CHECK_EQ_INT(info.nvoters, 3);
    CHECK_EQ_INT(info.nlearners, 1);
    CHECK_EQ_INT(info.snap_index, 10);
    raftConfState got;
    CHECK_EQ_INT(raftGetConfState(r, 10, &got), 0);
    CHECK_EQ_INT(got.nlearners, 1);
    CHECK_EQ_INT(got.learners[0], 5);
    CHECK_EQ_INT(raftGetConfState(r, 9, &got), -1);
    raftFree(r);
}

TEST(test_conf_state_encoding) {
    raftConfState cs = conf3();
    cs.learners[cs.nlearners++] = 0x0102030405060708ULL;
    unsigned char buf[RAFT_CONF_STATE_MAX_LEN];
    size_t n = raftConfStateEncode(&cs, buf);
    CHECK_EQ_INT(n, 2 + 4 * 8);
    raftConfState back;
    CHECK_EQ_INT(raftConfStateDecode(buf, n, &back), 0);
    CHECK_EQ_INT(back.nvoters, 3);
    CHECK_EQ_INT(back.voters[2], 3);
    CHECK(back.learners[0] == 0x0102030405060708ULL);
    CHECK_EQ_INT(raftConfStateDecode(buf, n - 1, &back), -1);
    buf[2 + 8] = 1;     /* voter 2 becomes a second 1 */
    CHECK_EQ_INT(raftConfStateDecode(buf, n, &back), -1);
}

int main(void) {
    RUN(test_snapshot_sent_and_resumed);
    RUN(test_snapshot_failed_and_timeout);
    RUN(test_snapshot_installed_replaces_log);
    RUN(test_snapshot_installed_keeps_suffix);
    RUN(test_joining_node);
    RUN(test_restart_from_snapshot);
    RUN(test_conf_state_encoding);
    return TEST_REPORT();
}
