/* cluster.h — cluster membership, leader redirects and the Redis Cluster
 * view of a Raft group (cluster.c).
 *
 * The group is shown to clients as a Redis Cluster with one shard: the Raft
 * leader is the master owning slots 0-16383, the other voters are its
 * replicas. Node ids shown to clients are 40 hex digits derived from
 * cluster-id and node-id (stable across restarts, equal on every node). */
#ifndef RAFTKV_CLUSTER_H
#define RAFTKV_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"
#include "server.h"

#define CLUSTER_MAX_MEMBERS RAFT_MAX_MEMBERS
#define CLUSTER_MAX_NODES 256       /* ids ever known (removed ones included) */
#define CLUSTER_HOST_MAX 256

enum { CLUSTER_ROLE_NONE = 0, CLUSTER_ROLE_VOTER, CLUSTER_ROLE_LEARNER };

typedef struct clusterMember {
    uint64_t id;
    char host[CLUSTER_HOST_MAX];  /* as configured: name, IPv4, or IPv6 without brackets */
    int port;                     /* client-facing port (peers connect there too) */
} clusterMember;

/* Parses "<id>@<host>:<port>,..." (spaces around items allowed, IPv6 hosts
 * as [addr]:port) into out[0..max). Ids are positive and distinct, ports in
 * 1..65535. Returns the member count, or -1 with a message in err[0..errlen).
 * Borrows spec for the call. */
int clusterParseMembers(const char *spec, clusterMember *out, int max, char *err, size_t errlen);

/* Parses "<host>:<port>" or "[v6]:<port>" (s[0..len), borrowed for the
 * call) into m's host and port (m->id untouched). Returns 0, or -1 with a
 * message in err[0..errlen). */
int clusterParseAddr(const char *s, size_t len, clusterMember *m, char *err, size_t errlen);

/* Reads server.cluster_members or cluster_join, node_id, cluster_id,
 * cluster_secret (the store is open). A node with neither is a one-member
 * cluster of itself at bind:port. With cluster-join, the first start asks
 * that node (blocking, before the loop runs, retried for about 30 s) for the
 * voters the log starts from and the members' addresses, and keeps both in
 * META; later starts read them back. Addresses learnt from committed
 * configuration changes (META, clusterFormatNodes) are merged in. Fails
 * (C_ERR after logging why) when the members do not parse, node-id is not
 * among cluster-members, both or no secret are set where one is needed, or
 * the join fails. */
int clusterInit(void);

/* The voters the log starts from (cluster-members, or as learnt at join);
 * this node is among them unless it joined. Borrowed, valid until exit. */
const uint64_t *clusterVoters(int *n);
/* Records the address "host:port" (addr[0..len), borrowed) of node id if
 * id is not known yet (ids are never reused: a known id keeps its address).
 * Returns C_OK, or C_ERR (logged) when the address does not parse or
 * CLUSTER_MAX_NODES are known already. */
int clusterLearnNode(uint64_t id, const char *addr, size_t len);
/* The current configuration changed (or may have): every node's role
 * follows cs (borrowed for the call), changes are logged, and the peer
 * links follow (transportSyncPeers). */
void clusterSetConfiguration(const raftConfState *cs);
/* CLUSTER_ROLE_* of node id in the current configuration. */
int clusterNodeRole(uint64_t id);
/* Ids of the current configuration's members (this node included when a
 * member) into out[0..max); returns how many. */
int clusterMemberIds(uint64_t *out, int max);
/* Every known node as "<id>@<host>:<port>,..." (the addresses peers
 * connect to). Returns owned memory: free() it. */
char *clusterFormatNodes(void);
/* Writes clusterFormatNodes() into the open store batch (META), where the
 * next clusterInit merges it. */
void clusterPersistNodes(void);
/* After a snapshot install: learns the addresses recorded in the new
 * state's META (nodes added while this node was behind). */
void clusterReloadNodes(void);
/* The base voters as "<id>,<id>,..." into out (NUL-terminated, at most
 * len - 1 bytes); returns the length. */
size_t clusterFormatBase(char *out, size_t len);
/* "host:port" of a member's announced client address ("[v6]:port" for
 * IPv6), or NULL when id is not a member. Borrowed: valid until the next
 * clusterSetAnnounced for that member (copy it to keep it). */
const char *clusterNodeAddr(uint64_t id);
/* The member's cluster-members entry (where peers connect), or NULL.
 * Borrowed, valid until exit. */
const clusterMember *clusterGetMember(uint64_t id);
/* The member's announced client host and port (its id field is unused), or
 * NULL. This node's is cluster-announce-ip/-port, each defaulting to its
 * cluster-members entry. Borrowed, as clusterNodeAddr. */
const clusterMember *clusterGetAnnounced(uint64_t id);
/* Records the client address peer id announced on its authenticated link
 * (host borrowed for the call, len bytes, not NUL-terminated). Returns C_OK,
 * or C_ERR (nothing changed) when id is not another member or the address is
 * not valid (clusterValidAnnounce). */
int clusterSetAnnounced(uint64_t id, const char *host, size_t len, int port);
/* 1 when host[0..len) is usable as an announced host (1 to
 * CLUSTER_HOST_MAX-1 printable bytes, none of space , @ [ ]) and port is in
 * 1..65535. */
int clusterValidAnnounce(const char *host, size_t len, int port);
/* The member's 40-hex Redis Cluster node id, or NULL. Borrowed. */
const char *clusterNodeName(uint64_t id);

/* Writes into out (41 bytes) the 40-hex name of node id in cluster cid:
 * the first 20 bytes of SHA-256(cid "|" decimal id). */
void clusterDeriveNodeName(const char *cid, uint64_t id, char out[41]);

/* The redirect rule, for every keyed command and every write. Returns 0
 * when the command may run here: this node is the leader and has applied
 * its term's no-op (replicaLeaderReady), or it is a follower and c is a
 * READONLY connection reading (possibly stale). Otherwise returns 1 after
 * replying -MOVED <slot of the first key, 0 without keys> <leader
 * host:port>, or -CLUSTERDOWN No raft leader when no leader is known or this
 * node leads but is not ready yet. Do not call it while c still waits for
 * replies (c->pending_writes > 0): pause c instead, so that the error does
 * not overtake them. */
int clusterRedirect(client *c, const struct redisCommand *cmd);
/* The same rule with the replica state given (unit tests), for a node that
 * is not a ready leader: self_leader is whether it is leader (not ready
 * yet), leader the known leader id (0 = none). */
int clusterRedirectWith(client *c, const struct redisCommand *cmd, int self_leader, uint64_t leader);

/* After every replica update (replica.c): answers the client waiting in
 * CLUSTER FAILOVER once the outcome is known (this node leads and serves,
 * another node leads, or the deadline passed). */
void clusterFailoverCheck(void);
/* A client is being freed: a CLUSTER FAILOVER it waits in is answered to
 * nobody. */
void clusterForgetClient(client *c);

#endif
