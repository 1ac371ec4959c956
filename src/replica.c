/* replica.c — drives the pure Raft core for the server.
 *
 * Owns the raft instance, the batch of commands proposed during the current
 * loop iteration, the FIFO of proposals waiting for their replies, and the
 * queue of log writes. Happy path, once per loop iteration (replicaBeforeSleep):
 * every command proposed since the last one goes into the core as ONE entry (a
 * leader with peers waits until its previous entry committed and the clients
 * it answered sent their next commands, see batchWaits)
 * ([now_ms][RESP command]...); the core's update is routed: messages to
 * peers, entries + hard state to the persistence thread (one synced write;
 * while it runs, later updates queue and go out merged as the next write:
 * group commit), committed entries to fsm.c, whose replies come back here
 * through replicaTakeWaiter in proposal order.
 *
 * Membership: a RAFT.NODE change is one CONF entry whose waiter is answered
 * when it applies, like a write. After every update the core's current
 * configuration (it changes when a CONF entry is appended and reverts when
 * one is truncated) and the known leader go to cluster.c and transport.c;
 * the addresses in CONF tails are learnt as the entries arrive (and from
 * the log loaded at startup). The leader promotes a caught-up learner on
 * its tick.
 *
 * Failure modes: a proposal the core refuses (not leader) is answered
 * -CLUSTERDOWN at once (never logged); proposals whose entry may or may not
 * commit when leadership is lost get -TIMEOUT, never OK; a storage error is
 * fail-stop (the store aborts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "commands.h"
#include "fsm.h"
#include "replica.h"
#include "replica_io.h"

typedef struct waiter {
    client *c;                      /* NULL: forgotten client, or server-issued */
    uint64_t index;                 /* log entry, 0 while in the open batch */
    uint64_t term;                  /* the term it was proposed in */
} waiter;

static raft *R;
static uint64_t self_id;
static int single_base;             /* the log starts from this node as the only voter */

/* The configuration and leader cluster.c and transport.c were last told
 * about (a leader removing itself is no member but must still hear its
 * followers until the removal commits). */
static raftConfState conf_now;
static uint64_t conf_leader;
static int conf_synced, was_member;

/* The open batch: 8-byte big-endian time, then RESP commands. */
static unsigned char *batch;
static size_t batch_len, batch_cap;
static size_t batch_cmds;

/* Waiters: a ring buffer in proposal order. */
static waiter *wq;
static size_t wq_head, wq_len, wq_cap;

/* Log writes: the one in flight, and the next one being filled. */
static int write_in_flight;
static replicaWrite *next_write;
static replicaWrite *free_writes;

static int role = RAFT_FOLLOWER;
static uint64_t cur_term, cur_leader;
static uint64_t applied_index;
static uint64_t compacted_index;
static uint64_t snapshot_index;     /* the newest durable snapshot */
static uint64_t term_start_index;   /* the leader's no-op: serves once applied */

/* Linearizable reads: clients wait for a ReadIndex round. All reads that
 * arrive during one loop iteration share the round asked at its end. */
typedef struct readRound {
    uint64_t id, index;             /* index 0 until the leader confirmed */
} readRound;
static client *read_waiters;        /* intrusive list through next_paused */
static uint64_t read_round_asked, read_round_next = 1;
static readRound *rounds;
static size_t nrounds, rounds_cap;

static void processUpdates(void);

/* RAFT.TRANSFER-LEADER: the client waiting for the outcome, and the target. */
static client *transfer_waiter;
static uint64_t transfer_target;
static long long transfer_start_ms;

/* ------------------------------------------------------------- proposals */

static void wqPush(client *c) {
    if (wq_len == wq_cap) {
        size_t ncap = wq_cap ? wq_cap * 2 : 1024;
        waiter *n = malloc(sizeof(*n) * ncap);
        serverAssert(n != NULL);
        for (size_t i = 0; i < wq_len; i++) n[i] = wq[(wq_head + i) % (wq_cap ? wq_cap : 1)];
        free(wq);
        wq = n;
        wq_cap = ncap;
        wq_head = 0;
    }
    waiter *w = &wq[(wq_head + wq_len) % wq_cap];
    w->c = c;
    w->index = 0;
    wq_len++;
}

static waiter *wqAt(size_t i) {
    return &wq[(wq_head + i) % wq_cap];
}

static void wqPop(void) {
    wq_head = (wq_head + 1) % wq_cap;
    wq_len--;
}

static void batchReserve(size_t extra) {
    if (batch_cap - batch_len >= extra) return;
    size_t cap = batch_cap ? batch_cap : 64 * 1024;
    while (cap - batch_len < extra) cap *= 2;
    batch = realloc(batch, cap);
    serverAssert(batch != NULL);
    batch_cap = cap;
}

static void batchAppend(int argc, const slice *argv) {
    size_t need = respCommandLen(argc, argv);
    if (batch_len == 0) {
        batchReserve(8 + need);
        uint64_t now = (uint64_t)mstime();
        for (int i = 0; i < 8; i++) batch[i] = (unsigned char)(now >> (56 - 8 * i));
        batch_len = 8;
    } else {
        batchReserve(need);
    }
    batch_len += respEncodeCommand((char *)batch + batch_len, argc, argv);
    batch_cmds++;
    server.stat_proposals++;
}

/* Gathering. The clients a commit answers mostly send their next command at
 * once, but over a few hundred microseconds: a batch that left with the first
 * few of them would leave the others for the round after, and the clients would
 * settle into two cohorts taking turns, each round half full. So once a commit
 * answered clients, the next batch also waits until each of them sent its next
 * command (of any kind: a read will not add to the batch), or GATHER_US passed,
 * as a group commit does. 3 nodes on 2 cores, redis-benchmark SET -c 50: at -P 1
 * ~50 commands per round instead of ~24, 38-42k vs 29-35k ops/s; at -P 16,
 * 209-262k vs 189-213k (3 alternating pairs each). A lone client is not
 * delayed: it is the only one awaited. Clients are marked with the round
 * (gather_round) rather than listed: a new batch makes every mark stale. */
#define GATHER_US 1000

static uint64_t gather_round = 1;
static size_t gather_waiting;       /* clients answered, next command not seen */
static uint64_t gather_since;

/* c's write was answered: awaited unless it still has writes in the batch or
 * in flight (it is represented already, and would wait for their replies). */
static void gatherAnswered(client *c) {
    if (role != RAFT_LEADER || c->pending_writes > 0 || c->gather_round == gather_round) return;
    if (gather_waiting == 0) gather_since = ioNowUs();
    c->gather_round = gather_round;
    gather_waiting++;
}

void replicaCommandArrived(client *c) {
    if (c->gather_round != gather_round) return;
    c->gather_round = 0;
    gather_waiting--;
}

/* The batch leaves or the bound passed: no client is awaited any more. */
static void gatherEnd(void) {
    gather_waiting = 0;
    gather_round++;
    ioWakeCancel();
}

/* Whether the open batch waits for answered clients (the loop is woken in
 * time to end the wait: no client may come). */
static int gathering(void) {
    if (gather_waiting == 0 || batch_cmds == 0) return 0;
    if (ioNowUs() - gather_since >= GATHER_US) {
        gatherEnd();
        return 0;
    }
    ioWakeSoon();
    return 1;
}

/* Answers a waiter that will never get its reply from apply. */
static void failWaiter(waiter *w, const char *err) {
    client *c = w->c;
    if (!c) return;
    addReplyError(c, err);
    c->pending_writes--;
    if (c->pending_writes == 0) unpauseClient(c);
}

/* Proposes the open batch as one entry. */
static void flushBatch(void) {
    if (batch_cmds == 0) return;
    uint64_t index = raftPropose(R, RAFT_ENTRY_NORMAL, batch, (uint32_t)batch_len);
    size_t first = wq_len - batch_cmds;
    for (size_t i = first; i < wq_len; i++) {
        wqAt(i)->index = index;
        wqAt(i)->term = cur_term;
    }
    batch_len = 0;
    batch_cmds = 0;
    gatherEnd();
    if (index == 0) {
        /* Refused: nothing was logged, the client may retry (elsewhere). */
        raftInfo in;
        raftGetInfo(R, &in);
        const char *err = in.role == RAFT_LEADER && in.transferee
                              ? "-TRYAGAIN leadership transfer in progress"
                              : "-CLUSTERDOWN No raft leader";
        while (wq_len > first) {
            waiter w = *wqAt(wq_len - 1);
            wq_len--;
            failWaiter(&w, err);
        }
    }
}

void replicaPropose(client *c) {
    batchAppend(c->argc, c->argv);
    wqPush(c);
    c->pending_writes++;
    if (batch_len >= (size_t)server.max_batch_bytes) flushBatch();
}

void replicaProposeCommand(int argc, const slice *argv) {
    batchAppend(argc, argv);
    wqPush(NULL);
    if (batch_len >= (size_t)server.max_batch_bytes) flushBatch();
}

uint64_t replicaUnapplied(void) {
    return wq_len;
}

static int writeInline(void);

/* A leader with peers keeps one batch of commands replicating at a time: what
 * arrives meanwhile goes out as the next entry once that one commits (or sooner
 * when it reaches max-batch-bytes). Each round costs every node a few thread and
 * process wake-ups, so fewer, larger rounds leave more CPU for the commands: 3 nodes
 * on 2 cores, SET -c 50 -P 1, 12.4-14.6k vs 10.9-12.5k ops/s and 85-95 vs 107-119 us
 * of CPU per SET (interleaved runs); a lone client's latency is unchanged (its next
 * write waits for its previous anyway). The core still pipelines AppendEntries to a
 * follower that is behind. */
static int batchWaits(void) {
    if (role != RAFT_LEADER || batch_len >= (size_t)server.max_batch_bytes || writeInline()) return 0;
    raftInfo in;
    raftGetInfo(R, &in);
    return in.commit < in.last_index || gathering();
}

int replicaHasWork(void) {
    return (batch_cmds > 0 && !batchWaits()) || (next_write && !write_in_flight);
}

int replicaIsLeader(void) {
    return role == RAFT_LEADER;
}

int replicaLeaderReady(void) {
    return role == RAFT_LEADER && applied_index >= term_start_index;
}

/* Leader lease: every voter of a majority was heard from within the
 * election timeout less a drift margin (1/4 of it), so no other leader can
 * have been elected meanwhile (followers ignore votes while they hear from a
 * leader: check-quorum's stickiness). */
static int leaseValid(void) {
    raftPeerInfo peers[RAFT_MAX_MEMBERS];
    raftInfo in;
    raftGetInfo(R, &in);
    int n = raftGetPeers(R, peers, RAFT_MAX_MEMBERS);
    int election_ticks = (int)(server.election_timeout_ms / server.heartbeat_ms);
    int fresh = in.is_voter;     /* a leader removing itself does not count */
    for (int i = 0; i < n; i++)
        if (!peers[i].is_learner && peers[i].ticks_since_contact < election_ticks - election_ticks / 4) fresh++;
    return fresh * 2 > in.nvoters;
}

int replicaReadBarrier(client *c) {
    /* A follower reads only what the redirect rule let through: READONLY
     * connections and keyless commands, both documented as possibly stale. */
    if (role != RAFT_LEADER) return 1;
    raftInfo in;
    raftGetInfo(R, &in);
    if ((in.nvoters == 1 && in.is_voter) || server.read_mode == READ_STALE) return 1;
    if (c->read_granted && c->req_end <= c->grant_limit) return 1;
    if (server.read_mode == READ_LEASE && leaseValid()) return 1;
    c->grant_limit = SIZE_MAX;   /* the round is asked later: all buffered now came before */
    c->read_round = read_round_next;
    c->next_paused = read_waiters;
    read_waiters = c;
    return 0;
}

static void releaseReaders(void) {
    client **pp = &read_waiters;
    while (*pp) {
        client *c = *pp;
        int ready = 0, failed = 1;
        for (size_t i = 0; i < nrounds; i++) {
            if (rounds[i].id == c->read_round) {
                failed = 0;
                ready = rounds[i].index != 0 && applied_index >= rounds[i].index;
            }
        }
        if (c->read_round >= read_round_next) failed = 0;   /* not asked yet */
        if (ready || failed) {
            *pp = c->next_paused;
            c->next_paused = NULL;
            c->read_round = 0;
            c->read_granted = ready;
            unpauseClient(c);
        } else {
            pp = &c->next_paused;
        }
    }
    /* Forget rounds nobody waits for any more. */
    size_t k = 0;
    for (size_t i = 0; i < nrounds; i++) {
        int used = 0;
        for (client *c = read_waiters; c && !used; c = c->next_paused) used = c->read_round == rounds[i].id;
        if (used) rounds[k++] = rounds[i];
    }
    nrounds = k;
}

static void askReadRound(void) {
    if (!read_waiters || read_round_asked == read_round_next) return;
    if (nrounds == rounds_cap) {
        rounds_cap = rounds_cap ? rounds_cap * 2 : 16;
        rounds = realloc(rounds, sizeof(readRound) * rounds_cap);
        serverAssert(rounds != NULL);
    }
    rounds[nrounds].id = read_round_next;
    rounds[nrounds].index = 0;
    nrounds++;
    read_round_asked = read_round_next;
    raftReadIndex(R, read_round_next);
    read_round_next++;
}

static void answerReads(const raftUpdate *u) {
    for (size_t i = 0; i < u->nreads; i++)
        for (size_t j = 0; j < nrounds; j++)
            if (rounds[j].id == u->reads[i].ctx) rounds[j].index = u->reads[i].index;
    for (size_t i = 0; i < u->ndropped_reads; i++) {
        size_t k = 0;
        for (size_t j = 0; j < nrounds; j++)
            if (rounds[j].id != u->dropped_reads[i]) rounds[k++] = rounds[j];
        nrounds = k;
    }
}

/* Answers the RAFT.TRANSFER-LEADER waiter once the outcome is known: the
 * target leads (+OK), another node leads, or the core gave up after an
 * election timeout while this node still leads. */
static void checkTransfer(void) {
    if (!transfer_waiter) return;
    raftInfo in;
    raftGetInfo(R, &in);
    if (in.role == RAFT_LEADER && in.transferee == transfer_target) return;
    int timed_out = mstime() - transfer_start_ms > 3 * server.election_timeout_ms;
    if (in.role != RAFT_LEADER && in.leader == 0 && !timed_out) return;   /* who won is not known yet */
    client *c = transfer_waiter;
    transfer_waiter = NULL;
    if (in.leader == transfer_target && in.role != RAFT_LEADER)
        addReplyOK(c);
    else if (in.role != RAFT_LEADER && in.leader == 0)
        addReplyErrorFormat(c, "-TIMEOUT leadership moved away from this node; no new leader known yet");
    else if (in.role == RAFT_LEADER)
        addReplyErrorFormat(c, "leadership transfer to node %llu did not complete within the election timeout",
                            (unsigned long long)transfer_target);
    else
        addReplyErrorFormat(c, "leadership transfer to node %llu failed: node %llu leads now",
                            (unsigned long long)transfer_target, (unsigned long long)in.leader);
    c->pending_writes--;
    if (c->pending_writes == 0) unpauseClient(c);
}

/* RAFT.TRANSFER-LEADER [id]: on the leader, hands leadership to voter id
 * (default: the most up-to-date one). The reply comes when the outcome is
 * known: +OK once the target leads; an error when the target did not win
 * within an election timeout (this node keeps leading) or another node won.
 * Writes meanwhile get -TRYAGAIN. */
void raftTransferLeaderCommand(client *c) {
    if (role != RAFT_LEADER) {
        if (!clusterRedirect(c, c->cmd)) addReplyError(c, "-CLUSTERDOWN No raft leader");
        return;
    }
    uint64_t target = 0;
    if (c->argc > 2) {
        addReplyErrorArity(c);
        return;
    }
    if (c->argc == 2) {
        long long id;
        if (getLongLongFromArgOrReply(c, &c->argv[1], &id, "invalid node id") != C_OK) return;
        target = (uint64_t)id;
    } else {
        raftPeerInfo peers[32];
        int n = raftGetPeers(R, peers, 32);
        uint64_t best = 0;
        for (int i = 0; i < n; i++) {
            if (!target || peers[i].match > best) {
                target = peers[i].id;
                best = peers[i].match;
            }
        }
    }
    if (transfer_waiter) {
        addReplyError(c, "a leadership transfer is already in progress");
        return;
    }
    if (target == 0 || raftTransferLeader(R, target) != 0) {
        addReplyErrorFormat(c, "cannot transfer leadership to node %llu: not another voter",
                            (unsigned long long)target);
        return;
    }
    transfer_waiter = c;
    transfer_target = target;
    transfer_start_ms = mstime();
    c->pending_writes++;
    processUpdates();
}

const char *replicaTransferLeadership(uint64_t target) {
    static char err[96];
    raftInfo in;
    raftGetInfo(R, &in);
    if (in.role != RAFT_LEADER) return "this node is not the raft leader";
    if (transfer_waiter || (in.transferee && in.transferee != target))
        return "a leadership transfer is already in progress";
    if (raftTransferLeader(R, target) != 0) {
        snprintf(err, sizeof(err), "cannot transfer leadership to node %llu: not another voter",
                 (unsigned long long)target);
        return err;
    }
    serverLog(LL_NOTICE, "Raft: handing leadership to node %llu, which asked for it (CLUSTER FAILOVER)",
              (unsigned long long)target);
    processUpdates();
    return NULL;
}

void replicaForgetClient(client *c) {
    if (transfer_waiter == c) transfer_waiter = NULL;
    for (size_t i = 0; i < wq_len; i++)
        if (wqAt(i)->c == c) wqAt(i)->c = NULL;
    c->pending_writes = 0;
    replicaCommandArrived(c);
    client **pp = &read_waiters;
    while (*pp && *pp != c) pp = &(*pp)->next_paused;
    if (*pp) *pp = c->next_paused;
}

/* fsm.c: the client waiting for the next command of entry `index`, or NULL.
 * Waiters of earlier entries that never applied (their entry was replaced
 * by another leader's) learn their write was lost. */
client *replicaTakeWaiter(uint64_t index) {
    while (wq_len > 0 && wqAt(0)->index != 0 && wqAt(0)->index < index) {
        waiter w = *wqAt(0);
        wqPop();
        failWaiter(&w, "-TIMEOUT the write was not committed: leadership changed");
    }
    if (wq_len == 0 || wqAt(0)->index != index) return NULL;
    client *c = wqAt(0)->c;
    wqPop();
    if (c) {
        c->pending_writes--;
        gatherAnswered(c);
    }
    return c;
}

/* ---------------------------------------------------------- membership */

static int isSelfOnly(const raftConfState *cs) {
    return cs->nvoters == 1 && cs->nlearners == 0 && cs->voters[0] == self_id;
}

static int confEqual(const raftConfState *a, const raftConfState *b) {
    return a->nvoters == b->nvoters && a->nlearners == b->nlearners &&
           memcmp(a->voters, b->voters, sizeof(uint64_t) * (size_t)a->nvoters) == 0 &&
           memcmp(a->learners, b->learners, sizeof(uint64_t) * (size_t)a->nlearners) == 0;
}

/* CONF entries carry the node's address "host:port" as their tail. */
static void learnAddresses(const raftEntry *e, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int op;
        uint64_t id;
        if (e[i].type != RAFT_ENTRY_CONF || raftConfChangeDecode(e[i].data, e[i].len, &op, &id) != 0) continue;
        if (e[i].len > RAFT_CONF_CHANGE_LEN)
            clusterLearnNode(id, (const char *)e[i].data + RAFT_CONF_CHANGE_LEN, e[i].len - RAFT_CONF_CHANGE_LEN);
    }
}

/* Keeps cluster.c's roles and transport.c's links in step with the core's
 * current configuration (changed by an append, or reverted by a
 * truncation) and the known leader. */
static void syncConf(void) {
    raftConfState cs;
    raftGetConfState(R, 0, &cs);
    if (conf_synced && confEqual(&cs, &conf_now) && conf_leader == cur_leader) return;
    conf_now = cs;
    conf_leader = cur_leader;
    conf_synced = 1;
    clusterSetConfiguration(&cs);
    raftInfo in;
    raftGetInfo(R, &in);
    int member = in.is_voter || in.is_learner;
    if (was_member && !member)
        serverLog(LL_WARNING, "Raft: this node was removed from the cluster configuration: it stays silent from now "
                              "on (its id may never be used again)");
    was_member = member;
}

/* A node's address as a CONF tail: "host:port" ("[v6]:port"). */
static size_t addrTail(uint64_t id, char *out, size_t len) {
    const clusterMember *m = clusterGetMember(id);
    if (!m) return 0;
    int n = snprintf(out, len, strchr(m->host, ':') ? "[%s]:%d" : "%s:%d", m->host, m->port);
    return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

const char *replicaProposeConf(client *c, int op, uint64_t id, const char *tail, size_t taillen) {
    raftInfo in;
    raftGetInfo(R, &in);
    if (in.role != RAFT_LEADER) return "-CLUSTERDOWN No raft leader";
    if (in.transferee) return "-TRYAGAIN leadership transfer in progress";
    if (in.conf_index > in.commit) return "a membership change is in progress";
    flushBatch();
    uint64_t index = raftProposeConfChange(R, op, id, tail, (uint32_t)taillen);
    if (index == 0) return "the membership change was refused (it does not apply to the current configuration, "
                           "or would leave no voter or too many members)";
    wqPush(c);
    wqAt(wq_len - 1)->index = index;
    wqAt(wq_len - 1)->term = cur_term;
    c->pending_writes++;
    serverLog(LL_NOTICE, "Raft: proposed %s of node %llu at index %llu",
              op == RAFT_CONF_ADD_LEARNER ? "the addition" : op == RAFT_CONF_REMOVE ? "the removal" : "the promotion",
              (unsigned long long)id, (unsigned long long)index);
    return NULL;
}

int replicaSoleVoter(void) {
    raftConfState cs;
    return raftGetConfState(R, 0, &cs) == 0 && cs.nvoters == 1 && cs.voters[0] == self_id;
}

int replicaIsRemoved(uint64_t id) {
    if (clusterNodeRole(id) != CLUSTER_ROLE_NONE) return 0;
    raftInfo in;
    raftGetInfo(R, &in);
    raftConfState cs;
    if (!in.commit || raftGetConfState(R, in.commit, &cs) != 0) return 0;
    for (int i = 0; i < cs.nvoters; i++)
        if (cs.voters[i] == id) return 0;
    for (int i = 0; i < cs.nlearners; i++)
        if (cs.learners[i] == id) return 0;
    return 1;
}

int replicaConfAt(uint64_t index, raftConfState *cs) {
    return raftGetConfState(R, index, cs);
}

/* Leader, on its tick: a learner whose log is within
 * learner-promote-lag-entries of the leader's becomes a voter (one change
 * at a time: nothing while a CONF entry is uncommitted). */
static void promoteLearners(void) {
    if (!replicaLeaderReady()) return;
    raftInfo in;
    raftGetInfo(R, &in);
    if (in.conf_index > in.commit || in.transferee || in.nlearners == 0) return;
    raftPeerInfo peers[RAFT_MAX_MEMBERS];
    int n = raftGetPeers(R, peers, RAFT_MAX_MEMBERS);
    for (int i = 0; i < n; i++) {
        const raftPeerInfo *p = &peers[i];
        if (!p->is_learner || p->match == 0 || p->match + (uint64_t)server.learner_promote_lag_entries < in.last_index)
            continue;
        char tail[CLUSTER_HOST_MAX + 16];
        size_t len = addrTail(p->id, tail, sizeof(tail));
        uint64_t index = raftProposeConfChange(R, RAFT_CONF_PROMOTE, p->id, tail, (uint32_t)len);
        if (index)
            serverLog(LL_NOTICE, "Raft: learner %llu caught up (match %llu of %llu): promoting it to voter at index %llu",
                      (unsigned long long)p->id, (unsigned long long)p->match, (unsigned long long)in.last_index,
                      (unsigned long long)index);
        return;
    }
}

/* -------------------------------------------------------------- updates */

static replicaWrite *newWrite(void) {
    replicaWrite *w = free_writes;
    if (w) free_writes = w->next;
    else {
        w = calloc(1, sizeof(*w));
        serverAssert(w != NULL);
    }
    w->truncate_from = 0;
    w->nentries = 0;
    w->data_len = 0;
    w->nafter = 0;
    w->next = NULL;
    return w;
}

static void recycleWrite(replicaWrite *w) {
    w->next = free_writes;
    free_writes = w;
}

/* Copies the update's persistent part into the write being filled. Entries'
 * data pointers are fixed up when the write is submitted (data may move). */
static void queueWrite(const raftUpdate *u) {
    if (next_write && u->truncate_from) {
        /* Entries queued at or past the cut never reach the disk, and the
         * cut itself happens before the write's appends. */
        replicaWrite *w = next_write;
        while (w->nentries > 0 && w->entries[w->nentries - 1].index >= u->truncate_from) {
            w->nentries--;
            w->data_len -= w->entries[w->nentries].len;
        }
        if (!w->truncate_from || w->truncate_from > u->truncate_from) w->truncate_from = u->truncate_from;
    }
    if (!next_write) {
        next_write = newWrite();
        next_write->truncate_from = u->truncate_from;
    }
    replicaWrite *w = next_write;
    w->hs = u->hs;
    for (size_t i = 0; i < u->nentries; i++) {
        const raftEntry *e = &u->entries[i];
        if (w->nentries == w->entries_cap) {
            w->entries_cap = w->entries_cap ? w->entries_cap * 2 : 64;
            w->entries = realloc(w->entries, sizeof(raftEntry) * w->entries_cap);
            serverAssert(w->entries != NULL);
        }
        if (w->data_cap - w->data_len < e->len) {
            size_t cap = w->data_cap ? w->data_cap : 64 * 1024;
            while (cap - w->data_len < e->len) cap *= 2;
            w->data = realloc(w->data, cap);
            serverAssert(w->data != NULL);
            w->data_cap = cap;
        }
        if (e->len) memcpy(w->data + w->data_len, e->data, e->len);
        raftEntry *d = &w->entries[w->nentries++];
        *d = *e;
        d->data = NULL;
        w->data_len += e->len;
    }
    for (size_t i = 0; i < u->nmsgs_after_persist; i++) {
        if (w->nafter == w->after_cap) {
            w->after_cap = w->after_cap ? w->after_cap * 2 : 16;
            w->after = realloc(w->after, sizeof(raftMsg) * w->after_cap);
            serverAssert(w->after != NULL);
        }
        raftMsg *m = &w->after[w->nafter++];
        *m = u->msgs_after_persist[i];
        m->entries = NULL;
        m->nentries = 0;
    }
}

/* A cluster whose only member is this node writes its log on the loop thread,
 * as Redis's appendfsync always does: it has no peer to serve meanwhile, and
 * the hand-over to the persistence thread and back cost about 150 us of
 * thread wake-ups per write on the development machine (SET -P 1: 22-24k ->
 * 28-32k ops/s inline). Other nodes keep the loop free while the log syncs.
 * Followers writing inline saved 0.3-0.7 ms of wake-ups per round under load,
 * but a follower's loop then waits out every slow sync: in make bench's
 * catch-up load (1 GB, every node snapshotting every 100 entries) the leader's
 * links to followers went 2 s without a reply and a follower won an election,
 * in all three runs tried; with the writes on the persistence thread, none. */
static int writeInline(void) {
    raftConfState now;
    return raftGetConfState(R, 0, &now) == 0 && isSelfOnly(&now);
}

static int in_write_done;   /* replicaWriteDone is running */

static void submitNextWrite(void) {
    if (write_in_flight) return;
    /* No write in flight: the store may be swapped for a received snapshot. */
    if (ioSnapshotInstallPending()) ioSnapshotInstall();
    if (!next_write) return;
    int inl = writeInline();
    /* An inline write would nest inside the completion of the one before; it
     * waits for the loop's next call instead (which comes at once: see
     * replicaHasWork). */
    if (inl && in_write_done) return;
    replicaWrite *w = next_write;
    next_write = NULL;
    size_t off = 0;
    for (size_t i = 0; i < w->nentries; i++) {
        w->entries[i].data = w->data + off;
        off += w->entries[i].len;
    }
    write_in_flight = 1;
    ioSubmitWrite(w, inl);
}

void replicaWriteDone(replicaWrite *w) {
    write_in_flight = 0;
    in_write_done = 1;
    /* The entries proposed meanwhile go to disk at once, so their fsync
     * overlaps the apply of the ones just made durable. */
    submitNextWrite();
    /* The messages waiting for the write leave at once, not when the loop next
     * polls. */
    for (size_t i = 0; i < w->nafter; i++) ioSend(&w->after[i]);
    if (w->nafter) ioFlush();
    if (w->nentries > 0) {
        const raftEntry *last = &w->entries[w->nentries - 1];
        raftPersisted(R, last->index, last->term);
    }
    recycleWrite(w);
    processUpdates();
    submitNextWrite();
    in_write_done = 0;
}

/* An update with entries to persist and entries to apply (on a follower, an
 * AppendEntries also brings the leader's commit index): the write starts first, so
 * that its sync runs on the persistence thread during the apply, and the
 * acknowledgement leaves as soon as it is durable (replicaWriteDone). */
static void writeBeforeApply(const raftUpdate *u) {
    if (u->ncommitted && next_write && !write_in_flight && !writeInline() && !ioSnapshotInstallPending())
        submitNextWrite();
}

/* Leadership lost in lost_term with commit index lost_commit: the waiters
 * of entries up to lost_commit get their real replies when those apply
 * (a leader's own committed removal ends its leadership before its local
 * copy is persisted and applied); the others of terms up to lost_term may
 * or may not commit. They are answered -TIMEOUT once the committed ones
 * applied, so that each client's replies stay in order. */
static uint64_t lost_term, lost_commit;

static void failLostWaiters(void) {
    if (!lost_term || applied_index < lost_commit) return;
    while (wq_len > 0 && wqAt(0)->index != 0 && wqAt(0)->term <= lost_term) {
        waiter w = *wqAt(0);
        wqPop();
        failWaiter(&w, "-TIMEOUT leadership lost: the write may or may not have been applied");
    }
    lost_term = 0;
}

static void processUpdates(void) {
    uint64_t snap_to[RAFT_MAX_MEMBERS], snap_min[RAFT_MAX_MEMBERS];
    while (raftHasUpdate(R)) {
        raftUpdate u;
        raftGetUpdate(R, &u);
        if (u.role_changed) {
            int was_leader = role == RAFT_LEADER;
            if (was_leader && u.role != RAFT_LEADER) {
                raftInfo in;
                raftGetInfo(R, &in);
                lost_term = cur_term;
                if (in.commit > lost_commit) lost_commit = in.commit;
            }
            role = u.role;
            cur_term = u.term;
            cur_leader = u.leader;
            if (!was_leader && role == RAFT_LEADER) {
                raftInfo in;
                raftGetInfo(R, &in);
                term_start_index = in.last_index;
            }
            serverLog(LL_NOTICE, "Raft: %s in term %llu (leader %llu)", raftRoleName(role),
                      (unsigned long long)cur_term, (unsigned long long)cur_leader);
        }
        size_t nsnaps = 0;
        for (size_t i = 0; i < u.nmsgs; i++) {
            if (u.msgs[i].type != RAFT_MSG_SNAPSHOT) ioSend(&u.msgs[i]);
            else if (nsnaps < RAFT_MAX_MEMBERS) {
                snap_to[nsnaps] = u.msgs[i].to;
                snap_min[nsnaps++] = u.msgs[i].index;
            }
        }
        learnAddresses(u.entries, u.nentries);
        if (u.nentries || u.hs_changed || u.truncate_from || u.nmsgs_after_persist) queueWrite(&u);
        writeBeforeApply(&u);
        if (u.ncommitted) {
            const raftEntry *last = &u.committed[u.ncommitted - 1];
            fsmApply(u.committed, u.ncommitted);
            applied_index = last->index;
            server.stat_entries_applied += (long long)u.ncommitted;
        }
        failLostWaiters();
        answerReads(&u);
        raftAdvance(R, &u);
        /* After raftAdvance: a fresh checkpoint calls into the core. */
        for (size_t i = 0; i < nsnaps; i++) ioSendSnapshot(snap_to[i], snap_min[i]);
    }
    syncConf();
    if (read_waiters) releaseReaders();
    checkTransfer();
    clusterFailoverCheck();
    commandsAfterApply();
}

/* Once per loop iteration, before replies are written. */
void replicaBeforeSleep(void) {
    if (!batchWaits()) flushBatch();
    askReadRound();
    processUpdates();
    submitNextWrite();
}

/* Log compaction. A node that is this cluster's only member serves no
 * follower: once applied, its log is history, dropped every
 * COMPACT_EVERY_ENTRIES applied entries (only while it is that only member
 * both as of the applied index and now, and its log starts from itself as
 * the only voter: so a restart that loads only the tail knows the
 * configuration as of its start, see replicaInit). Any other node takes a
 * snapshot once snapshot-threshold-entries entries applied past the last
 * one, then drops its log up to snapshot-trailing-entries before the
 * snapshot's index (followers a little behind still catch up from the
 * log; those further behind get the snapshot). */
#define COMPACT_EVERY_ENTRIES 1024

static int soleMemberNow(void) {
    raftConfState at_applied, now;
    return raftGetConfState(R, applied_index, &at_applied) == 0 && raftGetConfState(R, 0, &now) == 0 &&
           isSelfOnly(&at_applied) && isSelfOnly(&now);
}

static void compactLog(void) {
    if (ioSnapshotBusy()) return;   /* the checkpoint's index must stay in the log */
    if (soleMemberNow()) {
        /* Up to what the state database keeps through a crash: the entries after it
         * replay what a crash rolls back. */
        if (!single_base || applied_index < compacted_index + COMPACT_EVERY_ENTRIES) return;
        uint64_t idx = ioAppliedDurable();
        raftConfState cs;
        if (idx < compacted_index + COMPACT_EVERY_ENTRIES) return;
        if (raftGetConfState(R, idx, &cs) != 0 || !isSelfOnly(&cs)) return;
        uint64_t term = raftTermAt(R, idx);
        raftCompact(R, idx);
        ioCompactLog(idx, term, &cs);
        compacted_index = idx;
        return;
    }
    uint64_t last = snapshot_index > compacted_index ? snapshot_index : compacted_index;
    if (applied_index >= last + (uint64_t)server.snapshot_threshold_entries) ioTakeSnapshot();
}

int replicaSnapshotMeta(uint64_t index, uint64_t *term, raftConfState *conf) {
    *term = raftTermAt(R, index);
    if (*term == 0 || raftGetConfState(R, index, conf) != 0) return -1;
    return 0;
}

void replicaSnapshotTaken(uint64_t index, uint64_t term) {
    if (raftSnapshotTaken(R, index, term) != 0) return;
    snapshot_index = index;
    uint64_t keep = (uint64_t)server.snapshot_trailing_entries;
    uint64_t c = index > keep ? index - keep : 0;
    raftConfState cs;
    uint64_t cterm = raftTermAt(R, c);
    if (c <= compacted_index || cterm == 0 || raftGetConfState(R, c, &cs) != 0) return;
    raftCompact(R, c);
    ioCompactLog(c, cterm, &cs);
    compacted_index = c;
    serverLog(LL_VERBOSE, "Raft: log compacted up to index %llu (snapshot at %llu)", (unsigned long long)c,
              (unsigned long long)index);
}

void replicaSnapshotSendFailed(uint64_t peer) {
    raftSnapshotFailed(R, peer);
    processUpdates();
}

uint64_t replicaAppliedIndex(void) {
    return applied_index;
}

/* The store now holds the snapshot's state, durably, with the log start
 * (index, term, conf) and this node's log after index; or, with index <=
 * applied, a snapshot this node does not need was offered. */
void replicaSnapshotInstalled(uint64_t index, uint64_t term, const raftConfState *conf) {
    raftSnapshotInstalled(R, index, term, conf);    /* index <= applied: only answers the leader */
    if (index > applied_index) {
        applied_index = index;
        compacted_index = index;
        snapshot_index = 0;
    }
    processUpdates();
}

void replicaTick(void) {
    compactLog();
    promoteLearners();
    raftTick(R);
    processUpdates();
    checkTransfer();
    submitNextWrite();
}

void replicaStep(const raftMsg *m) {
    raftStep(R, m);
    processUpdates();
    submitNextWrite();
}

/* ----------------------------------------------------------------- setup */

void replicaInit(uint64_t id, const uint64_t *voters, int nvoters_) {
    self_id = id;
    single_base = nvoters_ == 1 && voters[0] == id;
    /* A single voter serves no follower, so its log before the applied
     * index is never needed again: load only the tail, when the
     * configuration as of the applied index is still this node alone (the
     * tail's CONF entries apply on top). */
    raftConfState applied_conf;
    int tail_only = single_base && (!fsmLoadAppliedConf(&applied_conf) || isSelfOnly(&applied_conf));
    replicaLoaded l;
    ioLoad(&l, tail_only);
    learnAddresses(l.entries, l.nentries);
    applied_index = l.applied;
    raftConfig cfg = {
        .id = id,
        .voters = voters,
        .nvoters = nvoters_,
        .heartbeat_ticks = 1,
        .election_ticks = (int)(server.election_timeout_ms / server.heartbeat_ms),
        .pre_vote = 1,
        .check_quorum = 1,
        .max_inflight_msgs = 64,
        .max_msg_bytes = 1024 * 1024,
        .seed = (uint64_t)ustime() ^ id,
        .applied = l.applied,
        .conf = l.has_conf ? &l.conf : NULL,
    };
    if (cfg.election_ticks < 2) cfg.election_ticks = 2;
    R = raftNew(&cfg, &l.hs, l.snap_index, l.snap_term, l.entries, l.nentries);
    serverAssert(R != NULL);
    serverLog(LL_NOTICE, "Raft: loaded term %llu, log (%llu, %llu], applied %llu",
              (unsigned long long)l.hs.term, (unsigned long long)l.snap_index,
              (unsigned long long)(l.nentries ? l.entries[l.nentries - 1].index : l.snap_index),
              (unsigned long long)l.applied);
    compacted_index = l.snap_index;
    snapshot_index = ioLatestSnapshotIndex();
    ioFreeEntries(&l);
    syncConf();
    processUpdates();
    submitNextWrite();
}

int replicaGetPeers(replicaPeer *out, int max) {
    raftPeerInfo peers[32];
    int n = raftGetPeers(R, peers, max < 32 ? max : 32);
    for (int i = 0; i < n; i++) {
        out[i].id = peers[i].id;
        out[i].match_index = peers[i].match;
        out[i].next_index = peers[i].next;
        out[i].last_contact_ms = (long long)peers[i].ticks_since_contact * server.heartbeat_ms;
        out[i].is_learner = peers[i].is_learner;
    }
    return n;
}

void replicaGetInfo(replicaInfo *ri) {
    raftInfo in;
    raftGetInfo(R, &in);
    ri->node_id = in.id;
    ri->term = in.term;
    ri->leader_id = in.leader;
    ri->commit_index = in.commit;
    ri->applied_index = applied_index;
    ri->first_index = in.first_index;
    ri->last_index = in.last_index;
    ri->nvoters = in.nvoters;
    ri->nlearners = in.nlearners;
    ri->role = in.role == RAFT_LEADER     ? "leader"
               : in.role == RAFT_FOLLOWER ? "follower"
               : in.role == RAFT_LEARNER  ? "learner"
                                          : "candidate";
}
