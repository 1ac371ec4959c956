/* membership.c — RAFT.NODE ADD / REMOVE: the operator's membership changes.
 *
 * Owns nothing but the commands' checks; the change itself is a CONF entry
 * of the Raft log (single-server changes with learners, one at a time, no
 * joint consensus: see raft/raft.h). Happy path: on the ready leader, ADD
 * proposes "add <id> as a learner" with the node's client address
 * "host:port" as the entry's tail, REMOVE proposes the removal; every node
 * uses the new configuration as soon as the entry is appended (replica.c
 * keeps cluster.c's member table and transport.c's links in step) and the
 * client gets +OK once the entry applies. The new node, started with
 * cluster-join, receives the log as a learner; the leader promotes it to
 * voter once it is within learner-promote-lag-entries (replica.c).
 *
 * Failure modes: a follower answers -MOVED 0 <leader> (-CLUSTERDOWN when no
 * leader is known); a change while the previous one is uncommitted gets
 * "-ERR a membership change is in progress"; an address a member has, an id
 * that is a member already,
 * was ever known (ids are never reused, even after a reverted ADD), or is
 * not a member (REMOVE) is refused before anything is logged; a lost
 * leadership answers -TIMEOUT (the change may or may not have happened:
 * look at CLUSTER NODES). A new node whose entries the leader's log no
 * longer holds catches up by a snapshot transfer (snapshot.c). */
#include <string.h>

#include "cluster.h"
#include "commands.h"
#include "membership.h"
#include "replica.h"
#include "util.h"

/* 1 after replying when this node is not the ready leader. */
static int notLeader(client *c) {
    if (replicaLeaderReady()) return 0;
    if (!clusterRedirect(c, c->cmd)) addReplyError(c, "-CLUSTERDOWN No raft leader");
    return 1;
}

static int parseId(client *c, uint64_t *id) {
    long long v;
    if (!string2ll(c->argv[2].ptr, c->argv[2].len, &v) || v <= 0) {
        addReplyError(c, "invalid node id: must be a positive integer");
        return C_ERR;
    }
    *id = (uint64_t)v;
    return C_OK;
}

static void propose(client *c, int op, uint64_t id, const char *tail, size_t len) {
    const char *err = replicaProposeConf(c, op, id, tail, len);
    if (err) addReplyError(c, err);
}

void raftNodeAddCommand(client *c) {
    if (notLeader(c)) return;
    uint64_t id;
    if (parseId(c, &id) != C_OK) return;
    clusterMember m;
    char err[CLUSTER_HOST_MAX + 64];
    if (clusterParseAddr(c->argv[3].ptr, c->argv[3].len, &m, err, sizeof(err)) < 0) {
        addReplyError(c, err);
        return;
    }
    if (!server.cluster_secret || !server.cluster_secret[0]) {
        addReplyError(c, "cluster-secret must be set on every node to add nodes");
        return;
    }
    if (clusterNodeRole(id) != CLUSTER_ROLE_NONE) {
        addReplyErrorFormat(c, "node %llu is already a member", (unsigned long long)id);
        return;
    }
    if (clusterGetMember(id)) {
        addReplyErrorFormat(c, "node id %llu was used before: ids are never reused, pick a new one",
                            (unsigned long long)id);
        return;
    }
    uint64_t ids[CLUSTER_MAX_MEMBERS];
    int n = clusterMemberIds(ids, CLUSTER_MAX_MEMBERS);
    for (int i = 0; i < n; i++) {
        const clusterMember *o = clusterGetMember(ids[i]);
        if (o && o->port == m.port && strcmp(o->host, m.host) == 0) {
            addReplyErrorFormat(c, "node %llu already has address %.*s", (unsigned long long)ids[i],
                                (int)c->argv[3].len, c->argv[3].ptr);
            return;
        }
    }
    propose(c, RAFT_CONF_ADD_LEARNER, id, c->argv[3].ptr, c->argv[3].len);
}

void raftNodeRemoveCommand(client *c) {
    if (notLeader(c)) return;
    uint64_t id;
    if (parseId(c, &id) != C_OK) return;
    if (clusterNodeRole(id) == CLUSTER_ROLE_NONE) {
        addReplyErrorFormat(c, "unknown node id %llu: not a member", (unsigned long long)id);
        return;
    }
    propose(c, RAFT_CONF_REMOVE, id, NULL, 0);
}

void raftNodeHelpCommand(client *c) {
    static const char *lines[] = {
        "RAFT.NODE <subcommand> [<arg> ...]. Subcommands are:",
        "ADD <id> <host>:<port>",
        "    Add a node (its client address) as a learner; it becomes a voter once caught up.",
        "REMOVE <id>",
        "    Remove a node (the leader too: it steps down once its removal commits).",
        "HELP",
        "    Print this help.",
    };
    size_t n = sizeof(lines) / sizeof(lines[0]);
    addReplyArrayLen(c, (long)n);
    for (size_t i = 0; i < n; i++) addReplyStatus(c, lines[i]);
}
