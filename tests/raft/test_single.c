/* Single-voter traces: the write path of a one-node server. The node leads
 * from raftNew on, never sends a message, and commits an entry as soon as
 * raftPersisted() covers it. */
#include "raft_test.h"

TEST(test_leader_at_creation) {
    raftConfig c = rtConfig(1, 1);
    raft *r = raftNew(&c, NULL, 0, 0, NULL, 0);
    CHECK(r != NULL);
    CHECK(raftHasUpdate(r));
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs_changed, 1);
    CHECK_EQ_INT(u.hs.term, 1);
    CHECK_EQ_INT(u.hs.vote, 1);
    CHECK_EQ_INT(u.hs.commit, 0);
    CHECK_EQ_INT(u.truncate_from, 0);
    CHECK_EQ_INT(u.nentries, 1);
    CHECK_EQ_INT(u.entries[0].index, 1);
    CHECK_EQ_INT(u.entries[0].term, 1);
    CHECK_EQ_INT(u.entries[0].type, RAFT_ENTRY_NOOP);
    CHECK_EQ_INT(u.nmsgs + u.nmsgs_after_persist, 0);
    CHECK_EQ_INT(u.ncommitted, 0);
    CHECK_EQ_INT(u.role_changed, 1);
    CHECK_EQ_INT(u.role, RAFT_LEADER);
    CHECK_EQ_INT(u.leader, 1);
    raftAdvance(r, &u);
    CHECK(!raftHasUpdate(r));

    raftPersisted(r, 1, 1);
    CHECK(raftHasUpdate(r));
    raftGetUpdate(r, &u);
    /* The commit index moved alone: no write of its own is due, the next
     * write carries it. */
    CHECK_EQ_INT(u.hs_changed, 0);
    CHECK_EQ_INT(u.hs.commit, 1);
    CHECK_EQ_INT(u.nentries, 0);
    CHECK_EQ_INT(u.ncommitted, 1);
    CHECK_EQ_INT(u.committed[0].index, 1);
    CHECK_EQ_INT(u.role_changed, 0);
    raftAdvance(r, &u);
    CHECK(!raftHasUpdate(r));
    raftFree(r);
}

TEST(test_commit_on_persist) {
    raftConfig c = rtConfig(1, 1);
    raft *r = raftNew(&c, NULL, 0, 0, NULL, 0);
    rtDrain(r);
    CHECK_EQ_INT(raftPropose(r, RAFT_ENTRY_NORMAL, "set a", 5), 2);
    CHECK_EQ_INT(raftPropose(r, RAFT_ENTRY_NORMAL, "set b", 5), 3);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nentries, 2);
    CHECK_MEM(u.entries[0].data, u.entries[0].len, "set a");
    CHECK_MEM(u.entries[1].data, u.entries[1].len, "set b");
    CHECK_EQ_INT(u.ncommitted, 0);
    CHECK_EQ_INT(u.hs_changed, 0);
    raftAdvance(r, &u);
    /* ticks do nothing while the write is in flight */
    for (int i = 0; i < 50; i++) raftTick(r);
    CHECK(!raftHasUpdate(r));
    /* a later proposal is not committed by an earlier persist */
    CHECK_EQ_INT(raftPropose(r, RAFT_ENTRY_NORMAL, "set c", 5), 4);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nentries, 1);
    raftAdvance(r, &u);
    raftPersisted(r, 3, 1);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs.commit, 3);
    CHECK_EQ_INT(u.ncommitted, 2);
    CHECK_EQ_INT(u.committed[0].index, 2);
    CHECK_EQ_INT(u.committed[1].index, 3);
    raftAdvance(r, &u);
    raftPersisted(r, 4, 2);    /* wrong term: ignored */
    CHECK(!raftHasUpdate(r));
    raftPersisted(r, 4, 1);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.ncommitted, 1);
    CHECK_MEM(u.committed[0].data, u.committed[0].len, "set c");
    raftAdvance(r, &u);
    raftInfo info;
    raftGetInfo(r, &info);
    CHECK_EQ_INT(info.commit, 4);
    CHECK_EQ_INT(info.applied, 4);
    CHECK_EQ_INT(info.last_index, 4);
    raftFree(r);
}

TEST(test_read_index_single) {
    raftConfig c = rtConfig(1, 1);
    raft *r = raftNew(&c, NULL, 0, 0, NULL, 0);
    rtStepUpdate(r, 0);
    /* asked before the term's NOOP commits: held back */
    raftReadIndex(r, 77);
    CHECK(!raftHasUpdate(r));
    raftPersisted(r, 1, 1);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nreads, 1);
    CHECK_EQ_INT(u.reads[0].ctx, 77);
    CHECK_EQ_INT(u.reads[0].index, 1);
    raftAdvance(r, &u);
    raftReadIndex(r, 78);
    raftReadIndex(r, 79);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.nreads, 2);
    CHECK_EQ_INT(u.reads[1].ctx, 79);
    CHECK_EQ_INT(u.nmsgs, 0);
    raftAdvance(r, &u);
    raftFree(r);
}

TEST(test_restart) {
    raftConfig c = rtConfig(1, 1);
    uint64_t terms[3] = {1, 1, 2};
    raftHardState hs = {2, 1, 2};
    raftEntry ents[3];
    memset(ents, 0, sizeof(ents));
    for (int i = 0; i < 3; i++) { ents[i].term = terms[i]; ents[i].index = i + 1; }
    c.applied = 1;
    raft *r = raftNew(&c, &hs, 0, 0, ents, 3);
    raftUpdate u;
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.hs.term, 3);
    CHECK_EQ_INT(u.hs.vote, 1);
    CHECK_EQ_INT(u.nentries, 1);
    CHECK_EQ_INT(u.entries[0].index, 4);
    CHECK_EQ_INT(u.entries[0].term, 3);
    /* entries 2..3 are durable; 2 was committed, 1 applied already */
    CHECK_EQ_INT(u.ncommitted, 1);
    CHECK_EQ_INT(u.committed[0].index, 2);
    raftAdvance(r, &u);
    raftPersisted(r, 4, 3);
    raftGetUpdate(r, &u);
    CHECK_EQ_INT(u.ncommitted, 2);
    CHECK_EQ_INT(u.committed[1].type, RAFT_ENTRY_NOOP);
    raftAdvance(r, &u);
    raftFree(r);
}

int main(void) {
    RUN(test_leader_at_creation);
    RUN(test_commit_on_persist);
    RUN(test_read_index_single);
    RUN(test_restart);
    return TEST_REPORT();
}
