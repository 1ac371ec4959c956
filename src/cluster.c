/* cluster.c — who the members are, where the leader is, and how the group
 * looks to Redis Cluster clients.
 *
 * Owns the node table: every node ever known (ids are never reused, so it
 * only grows) with the host:port peers connect to, its announced client
 * address, its 40-hex node name and its role in the current configuration
 * (voter, learner or none). It starts from cluster-members (the base voters
 * the log starts from) or, for a node started with cluster-join, from what
 * a member answered to RAFT.MEMBERS at its first start; addresses learnt
 * from CONF entries' tails (clusterLearnNode) are kept in META when those
 * entries apply and merged at the next start; replica.c sets the roles
 * after every update (clusterSetConfiguration), and only members (plus a
 * leader removing itself) show in CLUSTER SLOTS/SHARDS/NODES, learners as
 * replicas ("slave,nofailover" in NODES). A member's announced
 * address is what clients are told (MOVED, CLUSTER SLOTS/SHARDS/NODES): this
 * node's comes from cluster-announce-ip/-port, defaulting to its
 * cluster-members entry; a peer's is its cluster-members entry until the peer
 * announces its own in the RAFT.HELLO of its authenticated link
 * (clusterSetAnnounced). That is what lets a node behind NAT or a published
 * container port (docker-compose) name an address its clients can reach while
 * peers use another. Happy path: processCommand asks clusterRedirect about every keyed
 * command and write; a ready leader serves it, a follower answers -MOVED with the
 * key's slot and the leader's address, so redis-cli -c and cluster clients
 * retry there; CLUSTER SLOTS/SHARDS/NODES describe one shard whose master
 * is the current leader. Failure modes: a bad member list, a node-id not in
 * it, or several members without a secret refuse startup (clusterInit
 * returns C_ERR); no known leader answers -CLUSTERDOWN No raft leader, and
 * the CLUSTER replies then show no slot owner (cluster_state:fail).
 * CLUSTER FAILOVER on a follower asks the leader to hand over to it (see
 * the failover section below). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "commands.h"
#include "replica.h"
#include "sha256.h"
#include "store.h"
#include "transport.h"
#include "util.h"

typedef struct clusterNode {
    clusterMember m;                    /* where peers connect */
    clusterMember announced;            /* where clients connect (id unused) */
    char addr[CLUSTER_HOST_MAX + 10];   /* announced host:port, [v6]:port */
    char name[41];
    int role;                           /* CLUSTER_ROLE_* in the current configuration */
} clusterNode;

/* Every node ever known (ids are never reused, so the table only grows);
 * role says which are in the current configuration. */
static clusterNode nodes[CLUSTER_MAX_NODES];
static int nnodes;
static uint64_t base_ids[CLUSTER_MAX_MEMBERS];  /* the voters the log starts from */
static int nbase;

/* ------------------------------------------------------------ membership */

static int parseError(char *err, size_t errlen, const char *item, size_t itemlen, const char *why) {
    snprintf(err, errlen, "invalid cluster member '%.*s': %s", (int)(itemlen > 200 ? 200 : itemlen), item, why);
    return -1;
}

/* Parses host:port or [v6]:port at a[0..alen) into m (id untouched);
 * errors name the whole item p[0..len). */
static int parseAddr(const char *p, size_t len, const char *a, size_t alen, clusterMember *m, char *err,
                     size_t errlen) {
    const char *h = a, *end = a + alen, *hend, *colon;
    if (h < end && *h == '[') {
        h++;
        hend = memchr(h, ']', (size_t)(end - h));
        if (!hend || hend + 1 >= end || hend[1] != ':') return parseError(err, errlen, p, len, "expected [v6-address]:port");
        colon = hend + 1;
    } else {
        colon = NULL;
        for (const char *q = h; q < end; q++)
            if (*q == ':') colon = q;
        if (!colon) return parseError(err, errlen, p, len, "missing :port");
        hend = colon;
    }
    if (hend == h) return parseError(err, errlen, p, len, "empty host");
    if ((size_t)(hend - h) >= CLUSTER_HOST_MAX) return parseError(err, errlen, p, len, "host too long");
    long long port;
    if (!string2ll(colon + 1, (size_t)(end - colon - 1), &port) || port < 1 || port > 65535)
        return parseError(err, errlen, p, len, "port must be 1-65535");
    memcpy(m->host, h, (size_t)(hend - h));
    m->host[hend - h] = '\0';
    m->port = (int)port;
    return 0;
}

static int parseMember(const char *p, size_t len, clusterMember *m, char *err, size_t errlen) {
    const char *at = memchr(p, '@', len);
    if (!at) return parseError(err, errlen, p, len, "expected <id>@<host>:<port>");
    long long id;
    if (!string2ll(p, (size_t)(at - p), &id) || id <= 0)
        return parseError(err, errlen, p, len, "node id must be a positive integer");
    if (parseAddr(p, len, at + 1, (size_t)(p + len - at - 1), m, err, errlen) < 0) return -1;
    m->id = (uint64_t)id;
    return 0;
}

int clusterParseAddr(const char *s, size_t len, clusterMember *m, char *err, size_t errlen) {
    return parseAddr(s, len, s, len, m, err, errlen);
}

int clusterParseMembers(const char *spec, clusterMember *out, int max, char *err, size_t errlen) {
    int n = 0;
    const char *p = spec;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t')) last--;
        if (last == p) {
            snprintf(err, errlen, "empty item in cluster-members");
            return -1;
        }
        if (n == max) {
            snprintf(err, errlen, "too many cluster members (at most %d)", max);
            return -1;
        }
        if (parseMember(p, (size_t)(last - p), &out[n], err, errlen) < 0) return -1;
        for (int i = 0; i < n; i++)
            if (out[i].id == out[n].id) {
                snprintf(err, errlen, "node id %llu appears twice in cluster-members", (unsigned long long)out[n].id);
                return -1;
            }
        n++;
        if (*end == '\0') return n;
        p = end + 1;
    }
}

void clusterDeriveNodeName(const char *cid, uint64_t id, char out[41]) {
    char idbuf[LONG_STR_SIZE];
    int idlen = snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
    unsigned char d[SHA256_DIGEST_LEN];
    sha256Ctx ctx;
    sha256Init(&ctx);
    sha256Update(&ctx, cid, strlen(cid));
    sha256Update(&ctx, "|", 1);
    sha256Update(&ctx, idbuf, (size_t)idlen);
    sha256Final(&ctx, d);
    sha256ToHex(d, 20, out);
}

int clusterValidAnnounce(const char *host, size_t len, int port) {
    if (len == 0 || len >= CLUSTER_HOST_MAX || port < 1 || port > 65535) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)host[i];
        if (ch <= ' ' || ch >= 127 || ch == ',' || ch == '@' || ch == '[' || ch == ']') return 0;
    }
    return 1;
}

static void setAnnounced(clusterNode *cn, const char *host, int port) {
    size_t len = strlen(host);
    memmove(cn->announced.host, host, len + 1);
    cn->announced.port = port;
    if (memchr(host, ':', len)) snprintf(cn->addr, sizeof(cn->addr), "[%s]:%d", cn->announced.host, port);
    else snprintf(cn->addr, sizeof(cn->addr), "%s:%d", cn->announced.host, port);
}

static clusterNode *findNode(uint64_t id) {
    for (int i = 0; i < nnodes; i++)
        if (nodes[i].m.id == id) return &nodes[i];
    return NULL;
}

/* Adds m to the table (role NONE); NULL when the table is full. */
static clusterNode *addNode(const clusterMember *m) {
    if (nnodes == CLUSTER_MAX_NODES) return NULL;
    clusterNode *cn = &nodes[nnodes++];
    const char *aip = server.cluster_announce_ip ? server.cluster_announce_ip : "";
    int self_node = m->id == server.node_id;
    cn->m = *m;
    cn->role = CLUSTER_ROLE_NONE;
    setAnnounced(cn, self_node && aip[0] ? aip : cn->m.host,
                 self_node && server.cluster_announce_port ? server.cluster_announce_port : cn->m.port);
    clusterDeriveNodeName(server.cluster_id ? server.cluster_id : "", cn->m.id, cn->name);
    return cn;
}

int clusterLearnNode(uint64_t id, const char *addr, size_t len) {
    if (id == 0) return C_ERR;
    if (findNode(id)) return C_OK;
    clusterMember m;
    char err[CLUSTER_HOST_MAX + 64];
    if (clusterParseAddr(addr, len, &m, err, sizeof(err)) < 0) {
        serverLog(LL_WARNING, "Cluster: node %llu: %s", (unsigned long long)id, err);
        return C_ERR;
    }
    m.id = id;
    if (!addNode(&m)) {
        serverLog(LL_WARNING, "Cluster: node %llu not recorded: %d nodes known already", (unsigned long long)id,
                  CLUSTER_MAX_NODES);
        return C_ERR;
    }
    serverLog(LL_NOTICE, "Cluster: node %llu is at %.*s", (unsigned long long)id, (int)len, addr);
    return C_OK;
}

/* Adds the nodes of a "<id>@<host>:<port>,..." list that are not known yet. */
static int learnNodes(const char *spec, const char *what) {
    clusterMember *ms = malloc(sizeof(clusterMember) * CLUSTER_MAX_NODES);
    serverAssert(ms != NULL);
    char err[512];
    int n = clusterParseMembers(spec, ms, CLUSTER_MAX_NODES, err, sizeof(err));
    if (n < 0) serverLog(LL_WARNING, "%s: %s", what, err);
    for (int i = 0; i < n; i++)
        if (!findNode(ms[i].id)) addNode(&ms[i]);
    free(ms);
    return n < 0 ? C_ERR : C_OK;
}

char *clusterFormatNodes(void) {
    size_t cap = (size_t)nnodes * (CLUSTER_HOST_MAX + 32) + 1, len = 0;
    char *out = malloc(cap);
    serverAssert(out != NULL);
    out[0] = '\0';
    for (int i = 0; i < nnodes; i++) {
        const clusterMember *m = &nodes[i].m;
        const char *fmt = strchr(m->host, ':') ? "%s%llu@[%s]:%d" : "%s%llu@%s:%d";
        len += (size_t)snprintf(out + len, cap - len, fmt, i ? "," : "", (unsigned long long)m->id, m->host, m->port);
    }
    return out;
}

size_t clusterFormatBase(char *out, size_t len) {
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < nbase && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%llu", i ? "," : "", (unsigned long long)base_ids[i]);
    return n < len ? n : len - 1;
}

#define META_NODES "cluster-nodes"
#define META_BASE "cluster-base-voters"
#define JOIN_ATTEMPTS 30
#define JOIN_RETRY_MS 1000

void clusterPersistNodes(void) {
    char *spec = clusterFormatNodes();
    storePut(STORE_CF_META, META_NODES, sizeof(META_NODES) - 1, spec, strlen(spec));
    free(spec);
}

static void metaPut(const char *k, const char *v) {
    storeApplyBegin();
    storePut(STORE_CF_META, k, strlen(k), v, strlen(v));
    storeApplyCommit(0);
}

/* Owned NUL-terminated copy of META record k, or NULL. */
static char *metaGet(const char *k) {
    storeValue v;
    if (!storeGet(STORE_CF_META, k, strlen(k), &v)) return NULL;
    char *s = malloc(v.len + 1);
    serverAssert(s != NULL);
    memcpy(s, v.ptr, v.len);
    s[v.len] = '\0';
    storeValueFree(&v);
    return s;
}

void clusterReloadNodes(void) {
    char *learnt = metaGet(META_NODES);
    if (learnt) learnNodes(learnt, META_NODES);
    free(learnt);
}

/* A joining node: the base configuration (the voters its log starts from)
 * and the members' addresses, from an earlier start or else asked from the
 * cluster-join node (RAFT.MEMBERS), then kept in META. */
static int joinBase(void) {
    char *base = metaGet(META_BASE);
    if (!base) {
        char b[CLUSTER_MAX_MEMBERS * 24], *spec = NULL, err[512];
        int ok = 0;
        for (int i = 0; i < JOIN_ATTEMPTS && !ok; i++) {
            if (i) uv_sleep(JOIN_RETRY_MS);
            ok = transportFetchMembers(server.cluster_join, b, sizeof(b), &spec, err, sizeof(err)) == C_OK;
            if (!ok) serverLog(LL_WARNING, "cluster-join %s: %s (attempt %d of %d)", server.cluster_join, err, i + 1,
                               JOIN_ATTEMPTS);
        }
        if (!ok) return C_ERR;
        metaPut(META_NODES, spec);
        metaPut(META_BASE, b);
        free(spec);
        base = metaGet(META_BASE);
        serverLog(LL_NOTICE, "Joined through %s: the log starts from voters %s", server.cluster_join, base);
    }
    const char *p = base;
    while (*p && nbase < CLUSTER_MAX_MEMBERS) {
        char *end;
        unsigned long long id = strtoull(p, &end, 10);
        if (end == p || id == 0) break;
        base_ids[nbase++] = id;
        p = *end == ',' ? end + 1 : end;
    }
    int bad = *p != '\0' || nbase == 0;
    if (bad) serverLog(LL_WARNING, "Corrupted %s record '%s'", META_BASE, base);
    free(base);
    return bad ? C_ERR : C_OK;
}

int clusterInit(void) {
    clusterMember members[CLUSTER_MAX_MEMBERS];
    int n = 0;
    nnodes = 0;
    nbase = 0;
    const char *spec = server.cluster_members ? server.cluster_members : "";
    const char *join = server.cluster_join ? server.cluster_join : "";
    const char *secret = server.cluster_secret ? server.cluster_secret : "";
    const char *aip = server.cluster_announce_ip ? server.cluster_announce_ip : "";
    if (aip[0] && !clusterValidAnnounce(aip, strlen(aip), 1)) {
        serverLog(LL_WARNING, "cluster-announce-ip '%s' is not a valid host name or address", aip);
        return C_ERR;
    }
    if (spec[0] && join[0]) {
        serverLog(LL_WARNING, "cluster-members and cluster-join exclude each other: set one");
        return C_ERR;
    }
    if (join[0]) {
        if (!secret[0]) {
            serverLog(LL_WARNING, "cluster-secret must be set to join a cluster");
            return C_ERR;
        }
        if (joinBase() != C_OK) return C_ERR;
    } else if (spec[0] == '\0') {
        members[0].id = server.node_id;
        snprintf(members[0].host, sizeof(members[0].host), "%s", server.bindaddr);
        members[0].port = server.port;
        n = 1;
    } else {
        char err[512];
        n = clusterParseMembers(spec, members, CLUSTER_MAX_MEMBERS, err, sizeof(err));
        if (n < 0) {
            serverLog(LL_WARNING, "cluster-members: %s", err);
            return C_ERR;
        }
        int self = 0;
        for (int i = 0; i < n; i++) self |= members[i].id == server.node_id;
        if (!self) {
            serverLog(LL_WARNING, "node-id %llu is not listed in cluster-members", (unsigned long long)server.node_id);
            return C_ERR;
        }
        if (n > 1 && !secret[0]) {
            serverLog(LL_WARNING, "cluster-secret must be set when cluster-members lists several nodes");
            return C_ERR;
        }
    }
    for (int i = 0; i < n; i++) {
        addNode(&members[i]);
        base_ids[nbase++] = members[i].id;
    }
    /* Addresses learnt from committed configuration changes (or at join). */
    char *learnt = metaGet(META_NODES);
    if (learnt && learnNodes(learnt, META_NODES) != C_OK) {
        free(learnt);
        return C_ERR;
    }
    free(learnt);
    if (!findNode(server.node_id)) {
        clusterMember self = {.id = server.node_id, .port = server.port};
        snprintf(self.host, sizeof(self.host), "%s", server.bindaddr);
        addNode(&self);
    }
    for (int i = 0; i < nbase; i++) {
        clusterNode *cn = findNode(base_ids[i]);
        if (!cn) {
            serverLog(LL_WARNING, "No address known for voter %llu", (unsigned long long)base_ids[i]);
            return C_ERR;
        }
        cn->role = CLUSTER_ROLE_VOTER;
    }
    serverLog(LL_NOTICE, "Cluster '%s': log starts from %d voting member%s, %d node%s known, this node is %llu",
              server.cluster_id ? server.cluster_id : "", nbase, nbase == 1 ? "" : "s", nnodes, nnodes == 1 ? "" : "s",
              (unsigned long long)server.node_id);
    return C_OK;
}

const uint64_t *clusterVoters(int *n) {
    *n = nbase;
    return base_ids;
}

static const char *roleName(int role) {
    return role == CLUSTER_ROLE_VOTER ? "a voter" : role == CLUSTER_ROLE_LEARNER ? "a learner" : "not a member";
}

void clusterSetConfiguration(const raftConfState *cs) {
    for (int i = 0; i < nnodes; i++) {
        clusterNode *cn = &nodes[i];
        int role = CLUSTER_ROLE_NONE;
        for (int j = 0; j < cs->nvoters; j++)
            if (cs->voters[j] == cn->m.id) role = CLUSTER_ROLE_VOTER;
        for (int j = 0; j < cs->nlearners; j++)
            if (cs->learners[j] == cn->m.id) role = CLUSTER_ROLE_LEARNER;
        if (role == cn->role) continue;
        serverLog(LL_NOTICE, "Cluster: node %llu (%s) is %s now", (unsigned long long)cn->m.id, cn->addr, roleName(role));
        cn->role = role;
    }
    for (int j = 0; j < cs->nvoters + cs->nlearners; j++) {
        uint64_t id = j < cs->nvoters ? cs->voters[j] : cs->learners[j - cs->nvoters];
        if (!findNode(id)) serverLog(LL_WARNING, "Cluster: member %llu has no known address", (unsigned long long)id);
    }
    transportSyncPeers();
}

int clusterNodeRole(uint64_t id) {
    const clusterNode *cn = findNode(id);
    return cn ? cn->role : CLUSTER_ROLE_NONE;
}

int clusterMemberIds(uint64_t *out, int max) {
    int n = 0;
    for (int i = 0; i < nnodes && n < max; i++)
        if (nodes[i].role != CLUSTER_ROLE_NONE) out[n++] = nodes[i].m.id;
    return n;
}

const clusterMember *clusterGetMember(uint64_t id) {
    const clusterNode *cn = findNode(id);
    return cn ? &cn->m : NULL;
}

const clusterMember *clusterGetAnnounced(uint64_t id) {
    const clusterNode *cn = findNode(id);
    return cn ? &cn->announced : NULL;
}

int clusterSetAnnounced(uint64_t id, const char *host, size_t len, int port) {
    clusterNode *cn = findNode(id);
    if (!cn || id == server.node_id || !clusterValidAnnounce(host, len, port)) return C_ERR;
    char h[CLUSTER_HOST_MAX];
    memcpy(h, host, len);
    h[len] = '\0';
    if (cn->announced.port == port && strcmp(cn->announced.host, h) == 0) return C_OK;
    setAnnounced(cn, h, port);
    serverLog(LL_NOTICE, "Raft peer %llu announces its client address %s", (unsigned long long)id, cn->addr);
    return C_OK;
}

const char *clusterNodeAddr(uint64_t id) {
    const clusterNode *cn = findNode(id);
    return cn ? cn->addr : NULL;
}

const char *clusterNodeName(uint64_t id) {
    const clusterNode *cn = findNode(id);
    return cn ? cn->name : NULL;
}

/* -------------------------------------------------------------- redirect */

int clusterRedirectWith(client *c, const struct redisCommand *cmd, int self_leader, uint64_t leader) {
    if (!self_leader && !(cmd->flags & CMD_WRITE) && (c->flags & CLIENT_READONLY)) return 0;
    const char *addr = self_leader || leader == server.node_id ? NULL : clusterNodeAddr(leader);
    if (!addr) {
        addReplyError(c, "-CLUSTERDOWN No raft leader");
        return 1;
    }
    unsigned slot = 0;
    if (cmd->firstkey > 0 && cmd->firstkey < c->argc)
        slot = keyHashSlot(c->argv[cmd->firstkey].ptr, c->argv[cmd->firstkey].len);
    addReplyErrorFormat(c, "-MOVED %u %s", slot, addr);
    return 1;
}

int clusterRedirect(client *c, const struct redisCommand *cmd) {
    if (replicaLeaderReady()) return 0;
    replicaInfo ri;
    replicaGetInfo(&ri);
    return clusterRedirectWith(c, cmd, replicaIsLeader(), ri.leader_id);
}

/* -------------------------------------------------------------- commands */

/* The leader's node, when it is a member; NULL when none is known. */
static const clusterNode *leaderNode(const replicaInfo *ri) {
    return ri->leader_id ? findNode(ri->leader_id) : NULL;
}

static int nodeConnected(uint64_t id) {
    return id == server.node_id || transportPeerConnected(id);
}

/* CLUSTER SLOTS node entry: ip, port, id, metadata (empty in 7.0 without
 * hostnames). */
static void addSlotsNode(client *c, const clusterNode *cn) {
    addReplyArrayLen(c, 4);
    addReplyBulkCString(c, cn->announced.host);
    addReplyLongLong(c, cn->announced.port);
    addReplyBulkCString(c, cn->name);
    addReplyArrayLen(c, 0);
}

/* Members of the current configuration, and a leader that is removing
 * itself (it leads until its removal commits). */
static int shown(const clusterNode *cn, const clusterNode *leader) {
    return cn->role != CLUSTER_ROLE_NONE || cn == leader;
}

static int countShown(const clusterNode *leader) {
    int n = 0;
    for (int i = 0; i < nnodes; i++) n += shown(&nodes[i], leader);
    return n;
}

void clusterSlotsCommand(client *c) {
    replicaInfo ri;
    replicaGetInfo(&ri);
    const clusterNode *leader = leaderNode(&ri);
    if (!leader) {
        addReplyArrayLen(c, 0);
        return;
    }
    addReplyArrayLen(c, 1);
    addReplyArrayLen(c, 2 + countShown(leader));
    addReplyLongLong(c, 0);
    addReplyLongLong(c, CLUSTER_SLOTS - 1);
    addSlotsNode(c, leader);
    for (int i = 0; i < nnodes; i++)
        if (&nodes[i] != leader && shown(&nodes[i], leader)) addSlotsNode(c, &nodes[i]);
}

static void addShardsNode(client *c, const clusterNode *cn, int is_leader, const replicaInfo *ri) {
    addReplyMapLen(c, 7);
    addReplyBulkCString(c, "id");
    addReplyBulkCString(c, cn->name);
    addReplyBulkCString(c, "port");
    addReplyLongLong(c, cn->announced.port);
    addReplyBulkCString(c, "ip");
    addReplyBulkCString(c, cn->announced.host);
    addReplyBulkCString(c, "endpoint");
    addReplyBulkCString(c, cn->announced.host);
    addReplyBulkCString(c, "role");
    addReplyBulkCString(c, is_leader ? "master" : "replica");
    addReplyBulkCString(c, "replication-offset");
    addReplyLongLong(c, cn->m.id == server.node_id ? (long long)ri->applied_index : 0);
    addReplyBulkCString(c, "health");
    addReplyBulkCString(c, nodeConnected(cn->m.id) ? "online" : "fail");
}

void clusterShardsCommand(client *c) {
    replicaInfo ri;
    replicaGetInfo(&ri);
    const clusterNode *leader = leaderNode(&ri);
    if (!leader) {
        addReplyArrayLen(c, 0);
        return;
    }
    addReplyArrayLen(c, 1);
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "slots");
    addReplyArrayLen(c, 2);
    addReplyLongLong(c, 0);
    addReplyLongLong(c, CLUSTER_SLOTS - 1);
    addReplyBulkCString(c, "nodes");
    addReplyArrayLen(c, countShown(leader));
    addShardsNode(c, leader, 1, &ri);
    for (int i = 0; i < nnodes; i++)
        if (&nodes[i] != leader && shown(&nodes[i], leader)) addShardsNode(c, &nodes[i], 0, &ri);
}

/* One CLUSTER NODES line: id ip:port@cport flags master ping-sent pong-recv
 * config-epoch link-state slots. ip:port is the announced client address,
 * the bus port the cluster-members port peers connect to. A learner is a
 * "slave,nofailover" (it replicates and never runs for leader). */
static size_t nodesLine(char *buf, size_t len, const clusterNode *cn, const clusterNode *leader,
                        const replicaInfo *ri, long long now_ms) {
    int self = cn->m.id == server.node_id, is_leader = cn == leader, up = nodeConnected(cn->m.id);
    const char *role = is_leader || !leader ? "master" : "slave";
    int n = snprintf(buf, len, "%s %s@%d %s%s%s %s 0 %lld %llu %s%s\n", cn->name, cn->addr, cn->m.port,
                     self ? "myself," : "", role, cn->role == CLUSTER_ROLE_LEARNER ? ",nofailover" : "", is_leader || !leader ? "-" : leader->name,
                     self || !up ? 0LL : now_ms, is_leader ? (unsigned long long)ri->term : 0ULL,
                     up ? "connected" : "disconnected", is_leader ? " 0-16383" : "");
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

void clusterNodesCommand(client *c) {
    replicaInfo ri;
    replicaGetInfo(&ri);
    const clusterNode *leader = leaderNode(&ri);
    char buf[CLUSTER_MAX_MEMBERS * (CLUSTER_HOST_MAX + 200)];
    size_t len = 0;
    long long now = mstime();
    const clusterNode *self = findNode(server.node_id);
    len += nodesLine(buf + len, sizeof(buf) - len, self, leader, &ri, now);
    for (int i = 0; i < nnodes; i++)
        if (&nodes[i] != self && shown(&nodes[i], leader))
            len += nodesLine(buf + len, sizeof(buf) - len, &nodes[i], leader, &ri, now);
    addReplyVerbatim(c, buf, len);
}

void clusterInfoCommand(client *c) {
    replicaInfo ri;
    replicaGetInfo(&ri);
    int ok = leaderNode(&ri) != NULL;
    transportStats st;
    transportGetStats(&st);
    char buf[1024];
    int n = snprintf(buf, sizeof(buf),
                     "cluster_state:%s\r\n"
                     "cluster_slots_assigned:%d\r\n"
                     "cluster_slots_ok:%d\r\n"
                     "cluster_slots_pfail:0\r\n"
                     "cluster_slots_fail:0\r\n"
                     "cluster_known_nodes:%d\r\n"
                     "cluster_size:%d\r\n"
                     "cluster_current_epoch:%llu\r\n"
                     "cluster_my_epoch:%llu\r\n"
                     "cluster_stats_messages_sent:%lld\r\n"
                     "cluster_stats_messages_received:%lld\r\n"
                     "total_cluster_links_buffer_limit_exceeded:0\r\n",
                     ok ? "ok" : "fail", ok ? CLUSTER_SLOTS : 0, ok ? CLUSTER_SLOTS : 0, countShown(leaderNode(&ri)), ok ? 1 : 0,
                     (unsigned long long)ri.term, (unsigned long long)ri.term, st.msgs_sent, st.msgs_received);
    addReplyVerbatim(c, buf, (size_t)n);
}

void clusterMyidCommand(client *c) {
    addReplyBulkCString(c, clusterNodeName(server.node_id));
}

void clusterKeyslotCommand(client *c) {
    addReplyLongLong(c, keyHashSlot(c->argv[2].ptr, c->argv[2].len));
}

void clusterHelpCommand(client *c) {
    static const char *lines[] = {
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "FAILOVER [FORCE|TAKEOVER]",
        "    Promote current replica node to being a master.",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "MYID",
        "    Return the node id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "SHARDS",
        "    Return information about slot range mappings and the nodes associated with them.",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "HELP",
        "    Print this help.",
    };
    size_t n = sizeof(lines) / sizeof(lines[0]);
    addReplyArrayLen(c, (long)n);
    for (size_t i = 0; i < n; i++) addReplyStatus(c, lines[i]);
}

/* ------------------------------------------------------------- failover
 * CLUSTER FAILOVER on a follower asks the leader, over this node's
 * authenticated link to it, to hand leadership to this node (RAFT.FAILOVER,
 * a peer-only command: the leader takes the target from the link's proven
 * identity, so a client cannot name another). The leader answers at once
 * whether it started the transfer; this node then watches its own Raft
 * state after every update (clusterFailoverCheck) and answers its client
 * when the outcome is known: +OK once it leads and serves (its term's
 * no-op applied, so the client's next write is served here), an error when
 * the leader refused, another node won, or FAILOVER_TIMEOUT_ELECTIONS
 * election timeouts passed (the transfer given up). A request sent but not
 * answered (the link closed, or no answer in time) gets -TIMEOUT: it may
 * still reach the leader, so leadership may still move. One failover at a time per node; the waiting client is a write in
 * flight (pending_writes), and one that disconnects is forgotten
 * (clusterForgetClient) while the leader's late answer is recognised as
 * stale by its sequence number. */

#define FAILOVER_TIMEOUT_ELECTIONS 3

enum { FAILOVER_NONE = 0, FAILOVER_ASKED, FAILOVER_STARTED };

static struct {
    int state;                  /* FAILOVER_*: asked the leader, or it started the transfer */
    client *c;                  /* waiting for the outcome; NULL once it disconnected */
    uint64_t seq;               /* which request the leader's answer belongs to */
    uint64_t leader, term;      /* the leader asked, and its term then */
    long long deadline_ms;
} failover;

static void failoverFinish(const char *err) {
    client *c = failover.c;
    failover.state = FAILOVER_NONE;
    failover.c = NULL;
    if (err) serverLog(LL_WARNING, "CLUSTER FAILOVER: %s%s", err[0] == '-' ? err + 1 : err, c ? "" : " (client gone)");
    else serverLog(LL_NOTICE, "CLUSTER FAILOVER: this node leads now%s", c ? "" : " (client gone)");
    if (!c) return;
    if (err) addReplyError(c, err);
    else addReplyOK(c);
    c->pending_writes--;
    if (c->pending_writes == 0) unpauseClient(c);
}

static void onFailoverAnswer(int link_lost, const char *err, void *privdata) {
    if ((uint64_t)(uintptr_t)privdata != failover.seq || failover.state != FAILOVER_ASKED) return;
    char buf[512];
    if (link_lost) {
        snprintf(buf, sizeof(buf), "-TIMEOUT raft leader node %llu unreachable: the link closed before it answered; "
                 "the request may still reach it", (unsigned long long)failover.leader);
        failoverFinish(buf);
    } else if (err) {
        snprintf(buf, sizeof(buf), "raft leader node %llu refused the failover: %s",
                 (unsigned long long)failover.leader, err);
        failoverFinish(buf);
    } else {
        failover.state = FAILOVER_STARTED;
        clusterFailoverCheck();
    }
}

void clusterFailoverCheck(void) {
    if (failover.state == FAILOVER_NONE) return;
    if (replicaLeaderReady()) {
        failoverFinish(NULL);
        return;
    }
    replicaInfo ri;
    replicaGetInfo(&ri);
    char err[256];
    long long timeout_ms = FAILOVER_TIMEOUT_ELECTIONS * server.election_timeout_ms;
    if (ri.leader_id && ri.leader_id != server.node_id && (ri.leader_id != failover.leader || ri.term != failover.term)) {
        snprintf(err, sizeof(err), "failover failed: node %llu leads now (term %llu)", (unsigned long long)ri.leader_id,
                 (unsigned long long)ri.term);
    } else if (mstime() < failover.deadline_ms) {
        return;
    } else if (failover.state == FAILOVER_ASKED) {
        snprintf(err, sizeof(err),
                 "-TIMEOUT raft leader node %llu unreachable: no answer to the failover request within %lld ms",
                 (unsigned long long)failover.leader, timeout_ms);
    } else if (ri.leader_id == server.node_id) {
        snprintf(err, sizeof(err), "-TIMEOUT this node leads but has not applied its term's first entry within %lld ms",
                 timeout_ms);
    } else if (ri.leader_id == 0) {
        snprintf(err, sizeof(err), "-TIMEOUT failover did not complete within %lld ms: no leader known yet", timeout_ms);
    } else {
        snprintf(err, sizeof(err), "failover did not complete within %lld ms: node %llu still leads", timeout_ms,
                 (unsigned long long)ri.leader_id);
    }
    failoverFinish(err);
}

void clusterForgetClient(client *c) {
    if (failover.c == c) failover.c = NULL;
}

/* CLUSTER FAILOVER [FORCE|TAKEOVER], Redis's texts for a bad option, extra
 * arguments and a leader (Redis: master). FORCE is the plain request: in
 * Redis it skips the master's agreement, but a Raft follower can only lead
 * by the leader handing over or by winning an election once the leader is
 * silent, so both take the leader's cooperation. TAKEOVER (an election
 * without the leader) is refused: the core starts an election only when the
 * election timeout passes without a leader, and voters that still hear a
 * leader ignore a candidate that is not the leader's chosen successor. */
void clusterFailoverCommand(client *c) {
    if (c->argc > 3) {
        addReplyError(c, "unknown subcommand or wrong number of arguments for 'failover'. Try CLUSTER HELP.");
        return;
    }
    int takeover = c->argc == 3 && argIs(&c->argv[2], "takeover");
    if (c->argc == 3 && !takeover && !argIs(&c->argv[2], "force")) {
        addReplyErrorSyntax(c);
        return;
    }
    if (replicaIsLeader()) {
        addReplyError(c, "You should send CLUSTER FAILOVER to a replica");
        return;
    }
    int role = clusterNodeRole(server.node_id);
    if (role == CLUSTER_ROLE_LEARNER) {
        addReplyError(c, "this node is a learner (a non-voting replica): it cannot lead until the leader promotes it");
        return;
    }
    if (role != CLUSTER_ROLE_VOTER) {
        addReplyError(c, "this node is not a voting member of the cluster: it cannot lead");
        return;
    }
    if (takeover) {
        addReplyError(c, "CLUSTER FAILOVER TAKEOVER is not supported: a raft node takes over only by election once "
                         "the leader is silent for the election timeout; use CLUSTER FAILOVER to ask the leader");
        return;
    }
    if (failover.state != FAILOVER_NONE) {
        addReplyError(c, "a failover is already in progress on this node");
        return;
    }
    replicaInfo ri;
    replicaGetInfo(&ri);
    if (ri.leader_id == 0 || ri.leader_id == server.node_id) {
        addReplyError(c, "-CLUSTERDOWN No raft leader");
        return;
    }
    const char *argv[] = {"RAFT.FAILOVER"};
    failover.seq++;
    size_t lens[1] = {strlen(argv[0])};
    if (transportCallStatus(ri.leader_id, 1, argv, lens, onFailoverAnswer, (void *)(uintptr_t)failover.seq) != C_OK) {
        addReplyErrorFormat(c, "raft leader node %llu unreachable: no authenticated link to it",
                            (unsigned long long)ri.leader_id);
        return;
    }
    serverLog(LL_NOTICE, "CLUSTER FAILOVER: asked leader %llu (term %llu) to hand leadership to this node",
              (unsigned long long)ri.leader_id, (unsigned long long)ri.term);
    failover.state = FAILOVER_ASKED;
    failover.c = c;
    failover.leader = ri.leader_id;
    failover.term = ri.term;
    failover.deadline_ms = mstime() + FAILOVER_TIMEOUT_ELECTIONS * server.election_timeout_ms;
    c->pending_writes++;
}

/* RAFT.FAILOVER, on the leader, from an authenticated peer (its CLUSTER
 * FAILOVER): starts handing leadership to that peer and answers +OK at once,
 * or the reason it cannot. The peer watches the outcome itself. */
void raftFailoverCommand(client *c) {
    if (!(c->flags & CLIENT_PEER)) {
        addReplyError(c, "-NOPERM this connection is not an authenticated raft peer");
        return;
    }
    const char *err = replicaTransferLeadership(c->peer_id);
    if (err) addReplyError(c, err);
    else addReplyOK(c);
}

void readonlyCommand(client *c) {
    c->flags |= CLIENT_READONLY;
    addReplyOK(c);
}

void readwriteCommand(client *c) {
    c->flags &= ~CLIENT_READONLY;
    addReplyOK(c);
}
