/* test_cluster.c — cluster membership parsing, node names, the redirect
 * rule's replies (MOVED with the key's slot, CLUSTERDOWN, READONLY), and the
 * incoming side of the peer handshake (RAFT.HELLO / RAFT.AUTH / RAFT.MSG
 * refusals), the member map membership changes grow (addresses from CONF
 * tails, roles, persistence in META), all on connection-less clients. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>

#include "cluster.h"
#include "commands.h"
#include "raftwire.h"
#include "sha256.h"
#include "store.h"
#include "test.h"
#include "util.h"

static char err[512];

TEST(parse_members) {
    clusterMember m[4];
    int n = clusterParseMembers("1@127.0.0.1:7001, 2@localhost:7002 ,3@[::1]:7003", m, 4, err, sizeof(err));
    CHECK_EQ_INT(n, 3);
    CHECK(m[0].id == 1 && strcmp(m[0].host, "127.0.0.1") == 0 && m[0].port == 7001);
    CHECK(m[1].id == 2 && strcmp(m[1].host, "localhost") == 0 && m[1].port == 7002);
    CHECK(m[2].id == 3 && strcmp(m[2].host, "::1") == 0 && m[2].port == 7003);
    n = clusterParseMembers("42@10.0.0.1:1", m, 4, err, sizeof(err));
    CHECK_EQ_INT(n, 1);
    CHECK(m[0].id == 42 && m[0].port == 1);
}

static int parseFails(const char *spec, const char *why) {
    clusterMember m[2];
    err[0] = '\0';
    return clusterParseMembers(spec, m, 2, err, sizeof(err)) == -1 && strstr(err, why) != NULL;
}

TEST(parse_members_errors) {
    CHECK(parseFails("", "empty item"));
    CHECK(parseFails("1@h:1,", "empty item"));
    CHECK(parseFails("1@h:1,,2@h:2", "empty item"));
    CHECK(parseFails("127.0.0.1:7001", "expected <id>@<host>:<port>"));
    CHECK(parseFails("0@h:1", "positive integer"));
    CHECK(parseFails("-1@h:1", "positive integer"));
    CHECK(parseFails("x@h:1", "positive integer"));
    CHECK(parseFails("1@h", "missing :port"));
    CHECK(parseFails("1@:7001", "empty host"));
    CHECK(parseFails("1@h:0", "port must be 1-65535"));
    CHECK(parseFails("1@h:65536", "port must be 1-65535"));
    CHECK(parseFails("1@h:70a", "port must be 1-65535"));
    CHECK(parseFails("1@[::1:7001", "expected [v6-address]:port"));
    CHECK(parseFails("1@h:1,1@g:2", "appears twice"));
    CHECK(parseFails("1@h:1,2@h:2,3@h:3", "too many"));
}

TEST(node_names) {
    char a[41], b[41], c[41];
    clusterDeriveNodeName("prod", 1, a);
    clusterDeriveNodeName("prod", 2, b);
    clusterDeriveNodeName("test", 1, c);
    CHECK_EQ_INT(strlen(a), 40);
    for (int i = 0; i < 40; i++) CHECK((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
    CHECK(strcmp(a, b) != 0 && strcmp(a, c) != 0);
    /* First 20 bytes of SHA-256("prod|1"). */
    CHECK(strcmp(a, "df504ebcecd16d2aabf978f9c68d31e8edc9e538") == 0);
}

TEST(slots_of_keys) {
    CHECK_EQ_INT(keyHashSlot("foo", 3), 12182);
    CHECK_EQ_INT(keyHashSlot("foo{bar}", 8), 5061);
    CHECK_EQ_INT(keyHashSlot("{bar}zap", 8), 5061);
    /* An empty tag does not count: the whole key is hashed. */
    CHECK_EQ_INT(keyHashSlot("{}foo", 5), crc16("{}foo", 5) & 16383);
    CHECK_EQ_INT(keyHashSlot("user{}1", 7), crc16("user{}1", 7) & 16383);
    CHECK_EQ_INT(keyHashSlot("k", 1), 7629);
}

/* A three-member cluster seen from node 2. */
static void initThreeNodes(void) {
    static int done;
    if (done) return;
    done = 1;
    initCommandTable();
    server.node_id = 2;
    server.cluster_members = "1@127.0.0.1:7001,2@127.0.0.1:7002,3@[::1]:7003";
    server.cluster_id = "t";
    server.cluster_secret = "s";
}

TEST(init_and_lookup) {
    initThreeNodes();
    CHECK_EQ_INT(clusterInit(), C_OK);
    int n;
    const uint64_t *v = clusterVoters(&n);
    CHECK_EQ_INT(n, 3);
    CHECK(v[0] == 1 && v[1] == 2 && v[2] == 3);
    CHECK(strcmp(clusterNodeAddr(1), "127.0.0.1:7001") == 0);
    CHECK(strcmp(clusterNodeAddr(3), "[::1]:7003") == 0);
    CHECK(clusterNodeAddr(4) == NULL);
    char name[41];
    clusterDeriveNodeName("t", 2, name);
    CHECK(strcmp(clusterNodeName(2), name) == 0);
    CHECK_EQ_INT(clusterGetMember(3)->port, 7003);
}

TEST(init_refuses_bad_setups) {
    initThreeNodes();
    server.cluster_secret = "";
    CHECK_EQ_INT(clusterInit(), C_ERR);
    server.cluster_secret = "s";
    server.node_id = 9;
    CHECK_EQ_INT(clusterInit(), C_ERR);
    server.node_id = 2;
    server.cluster_members = "1@h:1,x";
    CHECK_EQ_INT(clusterInit(), C_ERR);
    server.cluster_members = "1@127.0.0.1:7001,2@127.0.0.1:7002,3@[::1]:7003";
    CHECK_EQ_INT(clusterInit(), C_OK);
}

static client *newClient(int argc, slice *argv) {
    client *c = createApplyClient();
    c->flags = 0;
    c->argc = argc;
    c->argv = argv;
    return c;
}

static const struct redisCommand *cmdNamed(const char *name) {
    slice s = {name, strlen(name)};
    return lookupCommand(&s);
}

TEST(redirect_moved) {
    initThreeNodes();
    CHECK_EQ_INT(clusterInit(), C_OK);
    slice argv[] = {{"SET", 3}, {"foo{bar}", 8}, {"v", 1}};
    client *c = newClient(3, argv);
    CHECK_EQ_INT(clusterRedirectWith(c, cmdNamed("set"), 0, 1), 1);
    CHECK_MEM(c->obuf, c->obuf_len, "-MOVED 5061 127.0.0.1:7001\r\n");
    c->obuf_len = 0;
    slice gargv[] = {{"GET", 3}, {"foo", 3}};
    c->argc = 2;
    c->argv = gargv;
    CHECK_EQ_INT(clusterRedirectWith(c, cmdNamed("get"), 0, 3), 1);
    CHECK_MEM(c->obuf, c->obuf_len, "-MOVED 12182 [::1]:7003\r\n");
    freeApplyClient(c);
}

TEST(redirect_clusterdown) {
    initThreeNodes();
    CHECK_EQ_INT(clusterInit(), C_OK);
    slice argv[] = {{"SET", 3}, {"k", 1}, {"v", 1}};
    client *c = newClient(3, argv);
    /* No leader known. */
    CHECK_EQ_INT(clusterRedirectWith(c, cmdNamed("set"), 0, 0), 1);
    CHECK_MEM(c->obuf, c->obuf_len, "-CLUSTERDOWN No raft leader\r\n");
    /* This node leads but has not applied its term's no-op. */
    c->obuf_len = 0;
    CHECK_EQ_INT(clusterRedirectWith(c, cmdNamed("set"), 1, 2), 1);
    CHECK_MEM(c->obuf, c->obuf_len, "-CLUSTERDOWN No raft leader\r\n");
    /* A leader id that is not a member. */
    c->obuf_len = 0;
    CHECK_EQ_INT(clusterRedirectWith(c, cmdNamed("set"), 0, 7), 1);
    CHECK_MEM(c->obuf, c->obuf_len, "-CLUSTERDOWN No raft leader\r\n");
    freeApplyClient(c);
}

TEST(redirect_readonly) {
    initThreeNodes();
    CHECK_EQ_INT(clusterInit(), C_OK);
    slice gargv[] = {{"GET", 3}, {"k", 1}};
    client *c = newClient(2, gargv);
    c->flags |= CLIENT_READONLY;
    /* READONLY reads are served by the follower itself... */
    CHECK_EQ_INT(clusterRedirectWith(c, cmdNamed("get"), 0, 1), 0);
    CHECK_EQ_INT(c->obuf_len, 0);
    /* ...writes still go to the leader. */
    slice sargv[] = {{"SET", 3}, {"k", 1}, {"v", 1}};
    c->argc = 3;
    c->argv = sargv;
    CHECK_EQ_INT(clusterRedirectWith(c, cmdNamed("set"), 0, 1), 1);
    CHECK_MEM(c->obuf, c->obuf_len, "-MOVED 7629 127.0.0.1:7001\r\n");
    freeApplyClient(c);
}

TEST(readonly_readwrite_commands) {
    client *c = newClient(0, NULL);
    readonlyCommand(c);
    CHECK(c->flags & CLIENT_READONLY);
    readwriteCommand(c);
    CHECK(!(c->flags & CLIENT_READONLY));
    CHECK_MEM(c->obuf, c->obuf_len, "+OK\r\n+OK\r\n");
    freeApplyClient(c);
}

TEST(keyslot_and_myid_replies) {
    initThreeNodes();
    CHECK_EQ_INT(clusterInit(), C_OK);
    slice argv[] = {{"CLUSTER", 7}, {"KEYSLOT", 7}, {"foo{bar}", 8}};
    client *c = newClient(3, argv);
    clusterKeyslotCommand(c);
    CHECK_MEM(c->obuf, c->obuf_len, ":5061\r\n");
    c->obuf_len = 0;
    clusterMyidCommand(c);
    CHECK_EQ_INT(c->obuf_len, 5 + 40 + 2);
    CHECK(memcmp(c->obuf, "$40\r\n", 5) == 0 && memcmp(c->obuf + 5, clusterNodeName(2), 40) == 0);
    freeApplyClient(c);
}

/* The proof a peer computes: hex HMAC-SHA256(secret, "raftkv-peer|" cid "|" id "|" nonce). */
static void proofFor(const char *secret, const char *cid, const char *id, const char *nonce, char out[65]) {
    char msg[256];
    int n = snprintf(msg, sizeof(msg), "raftkv-peer|%s|%s|%s", cid, id, nonce);
    unsigned char mac[SHA256_DIGEST_LEN];
    hmacSha256(secret, strlen(secret), msg, (size_t)n, mac);
    sha256ToHex(mac, sizeof(mac), out);
}

/* RAFT.HELLO t <id> on c; returns 1 and the nonce when one was answered. */
static int hello(client *c, const char *cid, const char *id, char nonce[33]) {
    slice argv[] = {{"RAFT.HELLO", 10}, {cid, strlen(cid)}, {id, strlen(id)}};
    c->argc = 3;
    c->argv = argv;
    c->obuf_len = 0;
    raftHelloCommand(c);
    if (c->obuf_len != 5 + 32 + 2 || memcmp(c->obuf, "$32\r\n", 5) != 0) return 0;
    memcpy(nonce, c->obuf + 5, 32);
    nonce[32] = '\0';
    return 1;
}

static void auth(client *c, const char *proof) {
    slice argv[] = {{"RAFT.AUTH", 9}, {proof, strlen(proof)}};
    c->argc = 2;
    c->argv = argv;
    c->obuf_len = 0;
    raftAuthCommand(c);
}

#define AUTH_FAILED "-ERR raft peer authentication failed\r\n"

TEST(peer_handshake_ok) {
    initThreeNodes();
    CHECK_EQ_INT(clusterInit(), C_OK);
    client *c = newClient(0, NULL);
    char nonce[33], nonce2[33], proof[65];
    CHECK(hello(c, "t", "3", nonce));
    /* A fresh nonce every time: a recorded proof cannot be replayed. */
    client *c2 = newClient(0, NULL);
    CHECK(hello(c2, "t", "3", nonce2));
    CHECK(strcmp(nonce, nonce2) != 0);
    proofFor("s", "t", "3", nonce, proof);
    auth(c, proof);
    CHECK_MEM(c->obuf, c->obuf_len, "+OK\r\n");
    CHECK(c->flags & CLIENT_PEER);
    CHECK_EQ_INT(c->peer_id, 3);
    CHECK(!(c->flags & CLIENT_CLOSE_AFTER_REPLY));
    /* The handshake is used up: the same proof again is refused. */
    auth(c, proof);
    CHECK_MEM(c->obuf, c->obuf_len, AUTH_FAILED);
    freeApplyClient(c);
    freeApplyClient(c2);
}

TEST(peer_handshake_refusals) {
    initThreeNodes();
    CHECK_EQ_INT(clusterInit(), C_OK);
    char nonce[33], proof[65];
    const char *bad_hellos[][2] = {{"other", "3"}, {"t", "2"}, {"t", "4"}, {"t", "0"}, {"t", "x"}, {"", "1"}};
    for (size_t i = 0; i < sizeof(bad_hellos) / sizeof(bad_hellos[0]); i++) {
        client *c = newClient(0, NULL);
        CHECK(!hello(c, bad_hellos[i][0], bad_hellos[i][1], nonce));
        CHECK_MEM(c->obuf, c->obuf_len, AUTH_FAILED);
        CHECK(c->flags & CLIENT_CLOSE_AFTER_REPLY);
        freeApplyClient(c);
    }
    /* Wrong secret, proof for another node id, garbage, AUTH without HELLO. */
    const char *secrets[] = {"wrong", "s", NULL, NULL};
    const char *ids[] = {"3", "1", NULL, NULL};
    for (int i = 0; i < 4; i++) {
        client *c = newClient(0, NULL);
        c->id = 5000 + (uint64_t)i;
        if (i < 3) CHECK(hello(c, "t", "3", nonce));
        if (secrets[i]) proofFor(secrets[i], "t", ids[i], nonce, proof);
        else snprintf(proof, sizeof(proof), "%s", i == 2 ? "00" : "abcd");
        auth(c, proof);
        CHECK_MEM(c->obuf, c->obuf_len, AUTH_FAILED);
        CHECK(c->flags & CLIENT_CLOSE_AFTER_REPLY);
        CHECK(!(c->flags & CLIENT_PEER));
        freeApplyClient(c);
    }
}

/* RAFT.HELLO t <id> <host> <port>: the peer announces its client address. */
static int helloAnnouncing(client *c, const char *id, const char *host, const char *port, char nonce[33]) {
    slice argv[] = {{"RAFT.HELLO", 10}, {"t", 1}, {id, strlen(id)}, {host, strlen(host)}, {port, strlen(port)}};
    c->argc = 5;
    c->argv = argv;
    c->obuf_len = 0;
    raftHelloCommand(c);
    if (c->obuf_len != 5 + 32 + 2 || memcmp(c->obuf, "$32\r\n", 5) != 0) return 0;
    memcpy(nonce, c->obuf + 5, 32);
    nonce[32] = '\0';
    return 1;
}

TEST(announced_addresses) {
    initThreeNodes();
    server.cluster_announce_ip = "203.0.113.2";
    server.cluster_announce_port = 17002;
    CHECK_EQ_INT(clusterInit(), C_OK);
    /* This node's own from the options, the peers' from cluster-members. */
    CHECK(strcmp(clusterNodeAddr(2), "203.0.113.2:17002") == 0);
    CHECK(strcmp(clusterNodeAddr(1), "127.0.0.1:7001") == 0);
    CHECK_EQ_INT(clusterGetMember(2)->port, 7002);
    /* A peer's announcement counts only once it authenticated. */
    char nonce[33], proof[65];
    client *c = newClient(0, NULL);
    CHECK(helloAnnouncing(c, "1", "localhost", "7101", nonce));
    CHECK(strcmp(clusterNodeAddr(1), "127.0.0.1:7001") == 0);
    proofFor("s", "t", "1", nonce, proof);
    auth(c, proof);
    CHECK_MEM(c->obuf, c->obuf_len, "+OK\r\n");
    CHECK(strcmp(clusterNodeAddr(1), "localhost:7101") == 0);
    CHECK(strcmp(clusterGetMember(1)->host, "127.0.0.1") == 0);
    slice argv[] = {{"SET", 3}, {"foo", 3}, {"v", 1}};
    c->argc = 3;
    c->argv = argv;
    c->obuf_len = 0;
    CHECK_EQ_INT(clusterRedirectWith(c, cmdNamed("set"), 0, 1), 1);
    CHECK_MEM(c->obuf, c->obuf_len, "-MOVED 12182 localhost:7101\r\n");
    freeApplyClient(c);
    /* A bad announcement refuses the handshake; the direct setter checks too. */
    const char *bad[][2] = {{"a b", "1"}, {"", "1"}, {"h", "0"}, {"h", "65536"}, {"h", "x"}, {"a,b", "1"},
                          {"h", "-4294960295"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        client *b = newClient(0, NULL);
        CHECK(!helloAnnouncing(b, "3", bad[i][0], bad[i][1], nonce));
        CHECK_MEM(b->obuf, b->obuf_len, AUTH_FAILED);
        freeApplyClient(b);
    }
    CHECK_EQ_INT(clusterSetAnnounced(2, "h", 1, 1), C_ERR);
    CHECK_EQ_INT(clusterSetAnnounced(9, "h", 1, 1), C_ERR);
    CHECK_EQ_INT(clusterSetAnnounced(3, "::1", 3, 17003), C_OK);
    CHECK(strcmp(clusterNodeAddr(3), "[::1]:17003") == 0);
    server.cluster_announce_ip = "bad host";
    CHECK_EQ_INT(clusterInit(), C_ERR);
    server.cluster_announce_ip = "";
    server.cluster_announce_port = 0;
    CHECK_EQ_INT(clusterInit(), C_OK);
    CHECK(strcmp(clusterNodeAddr(2), "127.0.0.1:7002") == 0);
}

static void msgCommand(client *c, const raftMsg *m) {
    static unsigned char buf[RAFTWIRE_HEADER_LEN];
    size_t len = raftMsgEncode(m, buf);
    slice argv[] = {{"RAFT.MSG", 8}, {(const char *)buf, len}};
    c->argc = 2;
    c->argv = argv;
    c->obuf_len = 0;
    raftMsgCommand(c);
}

TEST(raft_msg_refusals) {
    initThreeNodes();
    CHECK_EQ_INT(clusterInit(), C_OK);
    raftMsg m = {.type = RAFT_MSG_VOTE, .from = 3, .to = 2, .term = 100, .index = 5, .log_term = 4};
    /* Not an authenticated peer: refused, nothing else happens. */
    client *c = newClient(0, NULL);
    msgCommand(c, &m);
    CHECK_MEM(c->obuf, c->obuf_len, "-NOPERM this connection is not an authenticated raft peer\r\n");
    CHECK(!(c->flags & CLIENT_CLOSE_AFTER_REPLY));
    /* A peer may not speak for another node, nor to another node. */
    c->flags |= CLIENT_PEER;
    c->peer_id = 1;
    msgCommand(c, &m);
    CHECK_MEM(c->obuf, c->obuf_len, "-ERR raft message sender is not the authenticated peer\r\n");
    CHECK(c->flags & CLIENT_CLOSE_AFTER_REPLY);
    c->flags &= ~CLIENT_CLOSE_AFTER_REPLY;
    c->peer_id = 3;
    m.to = 1;
    msgCommand(c, &m);
    CHECK_MEM(c->obuf, c->obuf_len, "-ERR raft message addressed to another node\r\n");
    /* Malformed bytes. */
    c->flags &= ~CLIENT_CLOSE_AFTER_REPLY;
    slice argv[] = {{"RAFT.MSG", 8}, {"garbage", 7}};
    c->argv = argv;
    c->obuf_len = 0;
    raftMsgCommand(c);
    CHECK_MEM(c->obuf, c->obuf_len, "-ERR malformed raft message\r\n");
    CHECK(c->flags & CLIENT_CLOSE_AFTER_REPLY);
    freeApplyClient(c);
}

TEST(parse_addr) {
    clusterMember m = {.id = 7};
    CHECK_EQ_INT(clusterParseAddr("10.0.0.5:7004", 13, &m, err, sizeof(err)), 0);
    CHECK(m.id == 7 && strcmp(m.host, "10.0.0.5") == 0 && m.port == 7004);
    CHECK_EQ_INT(clusterParseAddr("[::1]:7005", 10, &m, err, sizeof(err)), 0);
    CHECK(strcmp(m.host, "::1") == 0 && m.port == 7005);
    CHECK_EQ_INT(clusterParseAddr("host", 4, &m, err, sizeof(err)), -1);
    CHECK(strstr(err, "missing :port") != NULL);
    CHECK_EQ_INT(clusterParseAddr("host:0", 6, &m, err, sizeof(err)), -1);
    CHECK_EQ_INT(clusterParseAddr(":1", 2, &m, err, sizeof(err)), -1);
}

/* CONF tails teach addresses; the table only grows and keeps the first
 * address of an id; roles follow the configuration (CLUSTER NODES, which
 * needs the replica, is covered by tests/cluster/test_membership.py). */
TEST(member_map_and_roles) {
    initThreeNodes();
    CHECK_EQ_INT(clusterInit(), C_OK);
    CHECK_EQ_INT(clusterNodeRole(2), CLUSTER_ROLE_VOTER);
    CHECK_EQ_INT(clusterNodeRole(4), CLUSTER_ROLE_NONE);
    CHECK_EQ_INT(clusterLearnNode(4, "127.0.0.1:7004", 14), C_OK);
    CHECK_EQ_INT(clusterLearnNode(4, "127.0.0.1:9999", 14), C_OK);
    CHECK(strcmp(clusterNodeAddr(4), "127.0.0.1:7004") == 0);
    CHECK_EQ_INT(clusterLearnNode(5, "nonsense", 8), C_ERR);
    CHECK(clusterNodeAddr(5) == NULL);
    CHECK_EQ_INT(clusterNodeRole(4), CLUSTER_ROLE_NONE);
    raftConfState cs = {.nvoters = 3, .nlearners = 1, .voters = {1, 2, 3}, .learners = {4}};
    clusterSetConfiguration(&cs);
    CHECK_EQ_INT(clusterNodeRole(4), CLUSTER_ROLE_LEARNER);
    uint64_t ids[CLUSTER_MAX_MEMBERS];
    CHECK_EQ_INT(clusterMemberIds(ids, CLUSTER_MAX_MEMBERS), 4);
    CHECK(ids[3] == 4);
    /* Removing 1, promoting 4. */
    raftConfState cs2 = {.nvoters = 3, .voters = {2, 3, 4}};
    clusterSetConfiguration(&cs2);
    CHECK_EQ_INT(clusterNodeRole(1), CLUSTER_ROLE_NONE);
    CHECK_EQ_INT(clusterNodeRole(4), CLUSTER_ROLE_VOTER);
    CHECK_EQ_INT(clusterMemberIds(ids, CLUSTER_MAX_MEMBERS), 3);
    /* Removed ids stay known (never reused). */
    CHECK(strcmp(clusterNodeAddr(1), "127.0.0.1:7001") == 0);
    char *spec = clusterFormatNodes();
    CHECK(strcmp(spec, "1@127.0.0.1:7001,2@127.0.0.1:7002,3@[::1]:7003,4@127.0.0.1:7004") == 0);
    free(spec);
    char base[64];
    clusterFormatBase(base, sizeof(base));
    CHECK(strcmp(base, "1,2,3") == 0);
}

/* Addresses persisted by an applied CONF entry come back at the next
 * clusterInit, merged with cluster-members. */
TEST(member_map_persisted) {
    initThreeNodes();
    CHECK_EQ_INT(clusterInit(), C_OK);
    CHECK_EQ_INT(clusterLearnNode(6, "[::1]:7006", 10), C_OK);
    storeApplyBegin();
    clusterPersistNodes();
    storeApplyCommit(0);
    CHECK_EQ_INT(clusterInit(), C_OK);
    CHECK(strcmp(clusterNodeAddr(6), "[::1]:7006") == 0);
    CHECK_EQ_INT(clusterNodeRole(6), CLUSTER_ROLE_NONE);
    int n;
    clusterVoters(&n);
    CHECK_EQ_INT(n, 3);
    storeApplyBegin();
    storeDelete(STORE_CF_META, "cluster-nodes", 13);
    storeApplyCommit(0);
}

static char store_dir[64];

static int rmEntry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(void) {
    /* clusterInit merges the addresses kept in the store's META. */
    strcpy(store_dir, "/tmp/raftkv-test-cluster-XXXXXX");
    char *serr = NULL;
    if (!mkdtemp(store_dir) || storeOpen(store_dir, NULL, &serr) != 0) {
        fprintf(stderr, "store: %s\n", serr ? serr : "mkdtemp failed");
        return 2;
    }
    RUN(parse_members);
    RUN(parse_members_errors);
    RUN(node_names);
    RUN(slots_of_keys);
    RUN(init_and_lookup);
    RUN(init_refuses_bad_setups);
    RUN(redirect_moved);
    RUN(redirect_clusterdown);
    RUN(redirect_readonly);
    RUN(readonly_readwrite_commands);
    RUN(keyslot_and_myid_replies);
    RUN(peer_handshake_ok);
    RUN(peer_handshake_refusals);
    RUN(raft_msg_refusals);
    RUN(announced_addresses);
    RUN(parse_addr);
    RUN(member_map_and_roles);
    RUN(member_map_persisted);
    storeClose();
    nftw(store_dir, rmEntry, 16, FTW_DEPTH | FTW_PHYS);
    return TEST_REPORT();
}
