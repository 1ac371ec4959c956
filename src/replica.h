/* replica.h — the server's view of the replicated log (replica.c).
 *
 * Commands never touch the Raft core directly: writes are proposed here,
 * batched into one log entry per event-loop iteration, and come back through
 * fsm.c once committed. */
#ifndef RAFTKV_REPLICA_H
#define RAFTKV_REPLICA_H

#include <stdint.h>
#include "raft/raft.h"
#include "server.h"

/* Appends c->argv (copied) to the batch proposed at the end of this loop
 * iteration, and counts it in c->pending_writes; its reply arrives when the
 * entry applies. Leader only (the caller checked replicaIsLeader). */
void replicaPropose(client *c);
/* Same for a command the server itself issues (leader-driven expiry);
 * nobody waits for its reply. argv is copied. */
void replicaProposeCommand(int argc, const slice *argv);
/* Proposals (client or server) made on this node and not applied yet. */
uint64_t replicaUnapplied(void);
/* 1 while commands wait to be proposed, or a log write waits to start, at the next
 * replicaBeforeSleep (not while commands wait for the leader's entry in flight to
 * commit, nor while a write runs: their completions wake the loop). */
int replicaHasWork(void);
int replicaIsLeader(void);
/* Leader, and its term's no-op is applied: it may serve reads and writes. */
int replicaLeaderReady(void);
/* Linearizable reads: returns 1 when c may read now; 0 when c must pause
 * (it is unpaused once a ReadIndex round confirmed leadership and the state
 * machine caught up). */
int replicaReadBarrier(client *c);
/* Leader only: starts handing leadership to voter target, for its CLUSTER
 * FAILOVER (RAFT.FAILOVER): the core brings it up to date and sends it
 * TimeoutNow; writes get -TRYAGAIN meanwhile and the core gives up after
 * an election timeout. Nobody here waits for the outcome: the target
 * watches it. Returns NULL when started (or already under way to target),
 * else why not (not leader, another transfer in progress, target not
 * another voter); the text is borrowed until the next call. */
const char *replicaTransferLeadership(uint64_t target);
/* A client is going away: replies still to come for it are dropped. */
void replicaForgetClient(client *c);
/* A command of c is about to run (processCommand), or c is going away
 * (replicaForgetClient): a batch gathering for c's next command stops waiting
 * for it. */
void replicaCommandArrived(client *c);

/* For INFO raft / CLUSTER. */
typedef struct replicaInfo {
    uint64_t node_id, term, leader_id, commit_index, applied_index, first_index, last_index;
    const char *role;             /* "leader", "follower", "candidate", "learner" */
    int nvoters, nlearners;       /* the current configuration (latest CONF entry appended) */
} replicaInfo;
void replicaGetInfo(replicaInfo *ri);
typedef struct replicaPeer {
    uint64_t id, match_index, next_index;   /* indexes are the leader's view */
    long long last_contact_ms;              /* since this node last heard from it */
    int is_learner;
} replicaPeer;
/* The other members (voters and learners); returns how many (at most max). */
int replicaGetPeers(replicaPeer *out, int max);

/* Leader only: proposes a configuration change (RAFT_CONF_*) of node id
 * with tail (the node's "host:port", copied; may be NULL with taillen 0).
 * Returns NULL when proposed: c->pending_writes counts it and c gets +OK
 * once the entry applies (or -TIMEOUT as a write would when leadership is
 * lost); otherwise the error to reply (nothing was logged). */
const char *replicaProposeConf(client *c, int op, uint64_t id, const char *tail, size_t taillen);
/* 1 when this node is the only voter of the current configuration (it
 * leads at once, learners or not). */
int replicaSoleVoter(void);
/* 1 when node id is neither in the current configuration nor in the one
 * as of the commit index (its removal, or never being added, is final). */
int replicaIsRemoved(uint64_t id);
/* The configuration as of log index (0 = the current one); 0 or -1 (see
 * raftGetConfState). Also valid while fsm.c applies entries. */
int replicaConfAt(uint64_t index, raftConfState *cs);

#endif
