/* test_cluster.c — cluster membership parsing, node names, and the redirect
 * rule's replies (MOVED with the key's slot, CLUSTERDOWN, READONLY). */
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "commands.h"
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

int main(void) {
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
    return TEST_REPORT();
}
