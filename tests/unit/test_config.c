/* Unit tests of config.c and server.c: option parsing (memory units, bools,
 * enums, bounds, unknown options, quoting, file then --option overrides, the
 * fatal exit), CONFIG GET/SET replies, AUTH after CONFIG SET requirepass,
 * exact COMMAND INFO bytes (checked against redis-server 7.0.15) and the INFO
 * keyspace line over a real store in a temp directory. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "db.h"
#include "server.h"
#include "store.h"
#include "test.h"

static client *cl;
static char reply[8192];
static size_t reply_len;

static int rmEntry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

/* Runs a command line (space-separated) on the test client; returns a
 * NUL-terminated copy of the reply. Containers dispatch to the subcommand. */
static const char *run(const char *line) {
    static char buf[1024];
    static slice argv[32];
    int argc = 0;
    snprintf(buf, sizeof(buf), "%s", line);
    for (char *p = buf; *p && argc < 32;) {
        while (*p == ' ') p++;
        if (!*p) break;
        char *start = p;
        while (*p && *p != ' ') p++;
        size_t len = (size_t)(p - start);
        if (*p) *p++ = '\0';
        if (len == 2 && start[0] == '"' && start[1] == '"') len = 0;
        argv[argc++] = (slice){start, len};
    }
    cl->argc = argc;
    cl->argv = argv;
    const struct redisCommand *cmd = lookupCommand(&argv[0]);
    serverAssert(cmd != NULL);
    if (cmd->subcommands && argc > 1) {
        const struct redisCommand *sub = lookupSubcommand(cmd, &argv[1]);
        if (sub) cmd = sub;
    }
    cl->cmd = cmd;
    cmd->proc(cl);
    size_t n = cl->obuf_len < sizeof(reply) - 1 ? cl->obuf_len : sizeof(reply) - 1;
    memcpy(reply, cl->obuf, n);
    reply[n] = '\0';
    reply_len = n;
    cl->obuf_len = 0;
    return reply;
}

#define CHECK_REPLY(line, want) do { \
    run(line); \
    CHECK_MEM(reply, reply_len, want); \
} while (0)

/* Applies config text; returns the error (owned by a static) or NULL. */
static const char *load(const char *text) {
    static char last[512];
    char *err = NULL;
    if (loadServerConfigFromString(text, "test.conf", &err) == C_OK) return NULL;
    snprintf(last, sizeof(last), "%s", err);
    free(err);
    return last;
}

#define CHECK_ERR_HAS(text, needle) do { \
    const char *_e = load(text); \
    CHECK(_e != NULL); \
    if (!strstr(_e, needle)) fprintf(stderr, "  error was: %s\n", _e); \
    CHECK(strstr(_e, needle) != NULL); \
} while (0)

TEST(defaults) {
    initServerConfigDefaults();
    CHECK_EQ_INT(server.port, 6379);
    CHECK(!strcmp(server.bindaddr, "127.0.0.1"));
    CHECK(!strcmp(server.dir, "./data"));
    CHECK(!strcmp(server.logfile, ""));
    CHECK(!strcmp(server.requirepass, ""));
    CHECK_EQ_INT(server.verbosity, LL_NOTICE);
    CHECK_EQ_INT(server.maxclients, 10000);
    CHECK_EQ_INT(server.proto_max_bulk_len, 512LL << 20);
    CHECK_EQ_INT(server.client_max_querybuf_len, 1LL << 30);
    CHECK_EQ_INT(server.hz, 10);
    CHECK_EQ_INT(server.databases, 1);
    CHECK_EQ_INT(server.maxidletime, 0);
    CHECK_EQ_INT(server.tcpkeepalive, 300);
    CHECK_EQ_INT(server.tcp_backlog, 511);
    CHECK_EQ_INT(server.read_mode, READ_LINEARIZABLE);
    CHECK_EQ_INT(server.election_timeout_ms, 1000);
    CHECK_EQ_INT(server.heartbeat_ms, 100);
    CHECK_EQ_INT(server.node_id, 1);
    CHECK_EQ_INT(server.rocksdb_cache_bytes, 256LL << 20);
    CHECK_EQ_INT(server.rocksdb_write_buffer_bytes, 8LL << 20);
    CHECK_EQ_INT(server.max_batch_bytes, 4LL << 20);
    CHECK_EQ_INT(server.active_expire_enabled, 1);
}

TEST(memory_units) {
    initServerConfigDefaults();
    CHECK(load("proto-max-bulk-len 2mb") == NULL);
    CHECK_EQ_INT(server.proto_max_bulk_len, 2LL * 1024 * 1024);
    CHECK(load("proto-max-bulk-len 1GB") == NULL);
    CHECK_EQ_INT(server.proto_max_bulk_len, 1LL << 30);
    CHECK(load("proto-max-bulk-len 2g") == NULL);
    CHECK_EQ_INT(server.proto_max_bulk_len, 2000000000LL);
    CHECK(load("proto-max-bulk-len 3M") == NULL);
    CHECK_EQ_INT(server.proto_max_bulk_len, 3000000LL);
    CHECK(load("proto-max-bulk-len 2000k") == NULL);
    CHECK_EQ_INT(server.proto_max_bulk_len, 2000000LL);
    CHECK(load("max-batch-bytes 1kB") == NULL);
    CHECK_EQ_INT(server.max_batch_bytes, 1024);
    CHECK(load("client-query-buffer-limit 1048576b") == NULL);
    CHECK_EQ_INT(server.client_max_querybuf_len, 1048576);
    CHECK_ERR_HAS("proto-max-bulk-len 1.5mb", "argument must be a memory value");
    CHECK_ERR_HAS("proto-max-bulk-len -5", "argument must be a memory value");
    CHECK_ERR_HAS("proto-max-bulk-len 5tb", "argument must be a memory value");
    CHECK_ERR_HAS("proto-max-bulk-len 99999999999999999999999", "argument must be a memory value");
    CHECK_ERR_HAS("proto-max-bulk-len 1k",
                  "argument must be between 1048576 and 9223372036854775807 inclusive");
}

TEST(bools_enums_ints_bounds) {
    initServerConfigDefaults();
    CHECK(load("active-expire-enabled NO") == NULL);
    CHECK_EQ_INT(server.active_expire_enabled, 0);
    CHECK(load("active-expire-enabled yes") == NULL);
    CHECK_EQ_INT(server.active_expire_enabled, 1);
    CHECK_ERR_HAS("active-expire-enabled maybe", "argument must be 'yes' or 'no'");
    CHECK(load("loglevel WARNING\nread-mode lease") == NULL);
    CHECK_EQ_INT(server.verbosity, LL_WARNING);
    CHECK_EQ_INT(server.read_mode, READ_LEASE);
    CHECK_ERR_HAS("loglevel loud", "argument(s) must be one of the following: debug, verbose, notice, warning");
    CHECK_ERR_HAS("port 65536", "argument must be between 0 and 65535 inclusive");
    CHECK_ERR_HAS("port 12x", "argument couldn't be parsed into an integer");
    CHECK_ERR_HAS("port +12", "argument couldn't be parsed into an integer");
    CHECK_ERR_HAS("maxclients 0", "argument must be between 1 and 4294967295 inclusive");
    CHECK_ERR_HAS("databases 16", "argument must be between 1 and 1 inclusive");
    CHECK(load("maxclients 4294967295") == NULL);
    CHECK_EQ_INT(server.maxclients, 4294967295U);
    /* hz is clamped to 1..500 as in Redis. */
    CHECK(load("hz 0") == NULL);
    CHECK_EQ_INT(server.hz, 1);
    CHECK(load("hz 100000") == NULL);
    CHECK_EQ_INT(server.hz, 500);
    /* Compatibility values accept only their fixed value. */
    CHECK(load("save \"\"\nappendonly YES\nappendfsync always") == NULL);
    CHECK_ERR_HAS("appendonly no", "fixed in raftkv");
    CHECK_ERR_HAS("save 900 1", "save is always");
}

TEST(unknown_option_and_arity) {
    initServerConfigDefaults();
    const char *e = load("port 7000\n\n# comment\nnosuch-option 1\n");
    CHECK(e != NULL);
    CHECK(!strcmp(e, "Reading the configuration file test.conf, at line 4\n>>> 'nosuch-option 1'\n"
                     "Bad directive or wrong number of arguments"));
    CHECK_ERR_HAS("port", "wrong number of arguments");
    CHECK_ERR_HAS("port 1 2", "wrong number of arguments");
    /* Lines before the bad one were applied. */
    CHECK_EQ_INT(server.port, 7000);
}

TEST(split_args_quoting) {
    int argc;
    char **argv;
    CHECK(configSplitArgs("  requirepass \"a b\\x41\\n\\\"\" 'c\\'d' plain\t", &argc, &argv) == C_OK);
    CHECK_EQ_INT(argc, 4);
    CHECK(!strcmp(argv[0], "requirepass"));
    CHECK(!strcmp(argv[1], "a bA\n\""));
    CHECK(!strcmp(argv[2], "c'd"));
    CHECK(!strcmp(argv[3], "plain"));
    configFreeArgs(argc, argv);
    CHECK(configSplitArgs("x \"\" ''", &argc, &argv) == C_OK);
    CHECK_EQ_INT(argc, 3);
    CHECK(!strcmp(argv[1], "") && !strcmp(argv[2], ""));
    configFreeArgs(argc, argv);
    CHECK(configSplitArgs("a \"unterminated", &argc, &argv) == C_ERR);
    CHECK(configSplitArgs("a 'unterminated", &argc, &argv) == C_ERR);
    CHECK(configSplitArgs("a \"closed\"glued", &argc, &argv) == C_ERR);
    CHECK_ERR_HAS("requirepass \"abc", "Unbalanced quotes in configuration line");
}

TEST(file_with_quotes_and_crlf) {
    initServerConfigDefaults();
    CHECK(load("# raftkv\r\n  requirepass \"p w\\x21\"  \r\nlogfile ''\r\ndir \"/tmp/x y\"\r\n") == NULL);
    CHECK(!strcmp(server.requirepass, "p w!"));
    CHECK(!strcmp(server.logfile, ""));
    CHECK(!strcmp(server.dir, "/tmp/x y"));
}

TEST(file_then_command_line_overrides) {
    char tmp[] = "/tmp/raftkv-test-config-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char path[128], datadir[160];
    snprintf(path, sizeof(path), "%s/r.conf", tmp);
    snprintf(datadir, sizeof(datadir), "%s/nested/data", tmp);
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    fputs("port 7000\nhz 20\nrequirepass \"from file\"\nread-mode stale\n", fp);
    fclose(fp);
    char *argv[] = {"raftkv-server", path, "--port", "7001", "--requirepass", "", "--dir", datadir, NULL};
    CHECK_EQ_INT(loadServerConfig(8, argv), C_OK);
    CHECK_EQ_INT(server.port, 7001);
    CHECK_EQ_INT(server.hz, 20);
    CHECK_EQ_INT(server.read_mode, READ_STALE);
    CHECK(!strcmp(server.requirepass, ""));
    CHECK(!strcmp(server.dir, datadir));
    struct stat st;
    CHECK(stat(datadir, &st) == 0 && S_ISDIR(st.st_mode)); /* created, with its parent */
    CHECK(server.configfile != NULL && strstr(server.configfile, "r.conf") != NULL);
    nftw(tmp, rmEntry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs loadServerConfig in a child; returns its exit status and stderr. */
static int loadInChild(int argc, char **argv, char *out, size_t outlen) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout); /* the child's exit() must not print our buffered lines again */
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        loadServerConfig(argc, argv);
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n < outlen - 1 && (r = read(fds[0], out + n, outlen - 1 - n)) > 0) n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(fatal_errors_exit_1) {
    char out[1024];
    char *a1[] = {"raftkv-server", "--port", "abc", NULL};
    CHECK_EQ_INT(loadInChild(3, a1, out, sizeof(out)), 1);
    CHECK(strstr(out, "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***") != NULL);
    CHECK(strstr(out, ">>> '--port abc'\nargument couldn't be parsed into an integer") != NULL);
    char *a2[] = {"raftkv-server", "/nonexistent/raftkv.conf", NULL};
    CHECK_EQ_INT(loadInChild(2, a2, out, sizeof(out)), 1);
    CHECK(strstr(out, "can't open config file '/nonexistent/raftkv.conf'") != NULL);
    char *a3[] = {"raftkv-server", "--heartbeat-ms", "1000", NULL};
    CHECK_EQ_INT(loadInChild(3, a3, out, sizeof(out)), 1);
    CHECK(strstr(out, "heartbeat-ms (1000) must be smaller than election-timeout-ms (1000)") != NULL);
    char *a4[] = {"raftkv-server", "--bogus", "1", NULL};
    CHECK_EQ_INT(loadInChild(3, a4, out, sizeof(out)), 1);
    CHECK(strstr(out, ">>> '--bogus 1'\nBad directive or wrong number of arguments") != NULL);
}

/* conf/raftkv.conf is valid and sets exactly the defaults (run from the repo root). */
TEST(example_conf_gives_defaults) {
    FILE *fp = fopen("conf/raftkv.conf", "r");
    CHECK(fp != NULL);
    static char text[32768];
    size_t n = fread(text, 1, sizeof(text) - 1, fp);
    fclose(fp);
    text[n] = '\0';
    initServerConfigDefaults();
    static char defaults[8192];
    run("config get *");
    memcpy(defaults, reply, reply_len + 1);
    CHECK(load(text) == NULL);
    run("config get *");
    CHECK(!strcmp(reply, defaults));
}

TEST(config_get_globs) {
    initServerConfigDefaults();
    CHECK_REPLY("config get *max*bulk*", "*2\r\n$18\r\nproto-max-bulk-len\r\n$9\r\n536870912\r\n");
    /* An exact name is echoed as given; each option appears once. */
    CHECK_REPLY("config get PORT port p*rt", "*2\r\n$4\r\nPORT\r\n$4\r\n6379\r\n");
    CHECK_REPLY("config get nosuch", "*0\r\n");
    CHECK_REPLY("config get save appendonly",
                "*4\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n");
    CHECK_REPLY("config get *-ms", "*4\r\n$19\r\nelection-timeout-ms\r\n$4\r\n1000\r\n"
                                   "$12\r\nheartbeat-ms\r\n$3\r\n100\r\n");
    CHECK_REPLY("config get loglevel read-mode active-expire-enabled",
                "*6\r\n$8\r\nloglevel\r\n$6\r\nnotice\r\n$9\r\nread-mode\r\n$12\r\nlinearizable\r\n"
                "$21\r\nactive-expire-enabled\r\n$3\r\nyes\r\n");
    /* Every option once: "*" and "*e*" overlap, "port" comes first. */
    run("config get port * *e*");
    CHECK(strncmp(reply, "*", 1) == 0);
    CHECK(strncmp(reply + strcspn(reply, "\n") + 1, "$4\r\nport\r\n", 10) == 0);
    int ports = 0, dirs = 0;
    for (const char *p = reply; (p = strstr(p, "\r\nport\r\n")); p++) ports++;
    for (const char *p = reply; (p = strstr(p, "\r\ndir\r\n")); p++) dirs++;
    CHECK_EQ_INT(ports, 1);
    CHECK_EQ_INT(dirs, 1);
    CHECK(strstr(reply, "$10\r\nappendonly\r\n$3\r\nyes\r\n") != NULL);
}

TEST(config_set_and_rollback) {
    initServerConfigDefaults();
    CHECK_REPLY("config set hz 20 timeout 30", "+OK\r\n");
    CHECK_EQ_INT(server.hz, 20);
    CHECK_EQ_INT(server.maxidletime, 30);
    CHECK_REPLY("config set nosuch 1", "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n");
    CHECK_REPLY("config set hz 10 port", "-ERR syntax error\r\n");
    CHECK_REPLY("config set port 7000",
                "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config\r\n");
    CHECK_REPLY("config set hz 10 HZ 11",
                "-ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter\r\n");
    /* All or nothing: hz is restored when maxclients fails. */
    CHECK_REPLY("config set hz 30 maxclients 0",
                "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - "
                "argument must be between 1 and 4294967295 inclusive\r\n");
    CHECK_EQ_INT(server.hz, 20);
    CHECK_REPLY("config set requirepass a loglevel loud",
                "-ERR CONFIG SET failed (possibly related to argument 'loglevel') - "
                "argument(s) must be one of the following: debug, verbose, notice, warning\r\n");
    CHECK(!strcmp(server.requirepass, ""));
    CHECK_REPLY("config set proto-max-bulk-len 2MB", "+OK\r\n");
    CHECK_EQ_INT(server.proto_max_bulk_len, 2LL << 20);
    CHECK_REPLY("config set appendonly yes", "+OK\r\n");
    CHECK_REPLY("config set appendonly no",
                "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - "
                "fixed in raftkv: every write is fsynced before it is acknowledged\r\n");
    server.stat_numcommands = 5;
    CHECK_REPLY("config resetstat", "+OK\r\n");
    CHECK_EQ_INT(server.stat_numcommands, 0);
}

TEST(auth_follows_requirepass) {
    initServerConfigDefaults();
    CHECK_REPLY("auth x", "-ERR AUTH <password> called without any password configured for the default user. "
                          "Are you sure your configuration is correct?\r\n");
    CHECK_REPLY("auth default anything", "+OK\r\n");
    CHECK_REPLY("config set requirepass s3cret", "+OK\r\n");
    cl->authenticated = 0;
    CHECK_REPLY("hello", "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                         "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
                         "the RESP protocol version at the same time\r\n");
    CHECK_REPLY("auth s3cre", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    CHECK_REPLY("auth s3cret!", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    CHECK_REPLY("auth other s3cret", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    CHECK_EQ_INT(cl->authenticated, 0);
    CHECK_REPLY("auth s3cret", "+OK\r\n");
    CHECK_EQ_INT(cl->authenticated, 1);
    cl->authenticated = 0;
    CHECK_REPLY("hello 2 auth default bad", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    cl->id = 7;
    CHECK_REPLY("hello 2 auth default s3cret setname app",
                "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n"
                "$2\r\nid\r\n:7\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
                "$7\r\nmodules\r\n*0\r\n");
    CHECK(cl->name && !strcmp(cl->name, "app"));
    CHECK_REPLY("hello 3", "-NOPROTO unsupported protocol version\r\n");
    CHECK_REPLY("hello x", "-ERR Protocol version is not an integer or out of range\r\n");
    CHECK_REPLY("hello 2 setname", "-ERR Syntax error in HELLO option 'setname'\r\n");
    CHECK_REPLY("auth a b c", "-ERR syntax error\r\n");
    CHECK_REPLY("config set requirepass \"\"", "+OK\r\n");
}

TEST(ping_echo_time) {
    CHECK_REPLY("ping", "+PONG\r\n");
    CHECK_REPLY("ping hi", "$2\r\nhi\r\n");
    CHECK_REPLY("echo x", "$1\r\nx\r\n");
    run("time");
    CHECK(strncmp(reply, "*2\r\n$10\r\n", 9) == 0);
}

/* Expected bytes copied from redis-server 7.0.15. */
TEST(command_info_exact) {
    CHECK_REPLY("command info get",
                "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
                "*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n"
                "$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n"
                "$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n"
                "$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n");
    CHECK_REPLY("command info config|get nosuch",
                "*2\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n"
                ":0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n$-1\r\n");
    CHECK_REPLY("command info select",
                "*1\r\n*10\r\n$6\r\nselect\r\n:2\r\n*3\r\n+loading\r\n+stale\r\n+fast\r\n:0\r\n:0\r\n:0\r\n"
                "*2\r\n+@fast\r\n+@connection\r\n*0\r\n*0\r\n*0\r\n");
    CHECK_REPLY("command info rename",
                "*1\r\n*10\r\n$6\r\nrename\r\n:3\r\n*1\r\n+write\r\n:1\r\n:2\r\n:1\r\n"
                "*3\r\n+@keyspace\r\n+@write\r\n+@slow\r\n*0\r\n*2\r\n"
                "*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n"
                "$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n"
                "$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n"
                "$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n"
                "*6\r\n$5\r\nflags\r\n*2\r\n+OW\r\n+update\r\n"
                "$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n"
                "$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n"
                "$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n");
    CHECK_REPLY("command info ping hello",
                "*2\r\n*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n+@connection\r\n"
                "*2\r\n$25\r\nrequest_policy:all_shards\r\n$29\r\nresponse_policy:all_succeeded\r\n*0\r\n*0\r\n"
                "*10\r\n$5\r\nhello\r\n:-1\r\n*6\r\n+noscript\r\n+loading\r\n+stale\r\n+fast\r\n+no_auth\r\n"
                "+allow_busy\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n+@connection\r\n*0\r\n*0\r\n*0\r\n");
    /* Internal and peer commands are invisible. */
    CHECK_REPLY("command info raft.msg", "*1\r\n$-1\r\n");
    CHECK_REPLY("command info expiredel", "*1\r\n$-1\r\n");
    run("command count");
    long long visible = 0;
    for (const struct redisCommand *c = redisCommandTable; c->name; c++)
        if (!(c->flags & (CMD_INTERNAL | CMD_PEER))) visible++;
    char want[32];
    snprintf(want, sizeof(want), ":%lld\r\n", visible);
    CHECK(!strcmp(reply, want));
    run("command");
    snprintf(want, sizeof(want), "*%lld\r\n", visible);
    CHECK(!strncmp(reply, want, strlen(want)));
}

TEST(command_docs_and_list) {
    CHECK_REPLY("command docs nosuch", "*0\r\n");
    CHECK_REPLY("command docs echo",
                "*2\r\n$4\r\necho\r\n*8\r\n$7\r\nsummary\r\n$25\r\nReturns the given string.\r\n"
                "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n");
    run("command docs config");
    CHECK(strstr(reply, "$11\r\nsubcommands\r\n*8\r\n$10\r\nconfig|get\r\n") != NULL);
    CHECK_REPLY("command list filterby pattern conf*",
                "*5\r\n$6\r\nconfig\r\n$10\r\nconfig|get\r\n$10\r\nconfig|set\r\n$16\r\nconfig|resetstat\r\n"
                "$11\r\nconfig|help\r\n");
    CHECK_REPLY("command list filterby module x", "*0\r\n");
    /* Every admin command is listed, and nothing else: the exact set grows
     * with the server's own admin commands (RAFT.*). */
    run("command list filterby aclcat admin");
    CHECK(reply[0] == '*');
    CHECK(strstr(reply, "$10\r\nconfig|get\r\n") && strstr(reply, "$10\r\nconfig|set\r\n") &&
          strstr(reply, "$16\r\nconfig|resetstat\r\n") && strstr(reply, "$11\r\nclient|list\r\n") &&
          strstr(reply, "$11\r\nclient|kill\r\n"));
    CHECK(!strstr(reply, "$3\r\nget\r\n") && !strstr(reply, "$9\r\nclient|id\r\n"));
    CHECK_REPLY("command list filterby foo x", "-ERR syntax error\r\n");
    CHECK_REPLY("command list x", "-ERR syntax error\r\n");
}

TEST(info_commandstats_errorstats) {
    resetServerStats();
    slice gets = {"get", 3}, cfg = {"config", 6}, sub = {"get", 3};
    const struct redisCommand *get = lookupCommand(&gets);
    const struct redisCommand *cfgget = lookupSubcommand(lookupCommand(&cfg), &sub);
    statsCommandCall(get, 30, 0);
    statsCommandCall(get, 10, 1);
    statsCommandRejected(cfgget);
    statsErrorReply("-ERR wrong number of arguments for 'config|get' command", 56);
    statsErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value", 65);
    statsErrorReply("-ERR syntax error", 17);
    slice secs[] = {{"errorstats", 10}, {"COMMANDSTATS", 12}};
    size_t len;
    char *text = genRedisInfoString(2, secs, &len);
    CHECK_MEM(text, len,
              "# Commandstats\r\n"
              "cmdstat_get:calls=2,usec=40,usec_per_call=20.00,rejected_calls=0,failed_calls=1\r\n"
              "cmdstat_config|get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"
              "\r\n# Errorstats\r\n"
              "errorstat_ERR:count=2\r\n"
              "errorstat_WRONGTYPE:count=1\r\n");
    free(text);
    CHECK_REPLY("config resetstat", "+OK\r\n");
    text = genRedisInfoString(2, secs, &len);
    CHECK_MEM(text, len, "# Commandstats\r\n\r\n# Errorstats\r\n");
    free(text);
}

static void putKey(const char *key, long long expire_ms, uint64_t index) {
    storeApplyBegin();
    dbEntry e;
    dbEntryOpen(&e, (slice){key, strlen(key)});
    dbEntrySet(&e, OBJ_STRING, expire_ms, "v", 1);
    dbEntryRelease(&e);
    storeApplyCommit(index);
}

/* Runs with the store main opened (INFO memory reads its stats too). */
TEST(info_keyspace_line) {
    slice ks = {"KEYSPACE", 8};
    size_t len;
    char *text = genRedisInfoString(1, &ks, &len);
    CHECK_MEM(text, len, "# Keyspace\r\n");
    free(text);
    putKey("a", 0, 1);
    putKey("b", 4102444800000LL, 2);
    putKey("c", 0, 3);
    text = genRedisInfoString(1, &ks, &len);
    CHECK_MEM(text, len, "# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n");
    free(text);
    /* Several sections: canonical order, one blank line between, unknown ignored. */
    slice two[] = {{"keyspace", 8}, {"nosuch", 6}, {"persistence", 11}};
    text = genRedisInfoString(3, two, &len);
    CHECK(!strncmp(text, "# Persistence\r\nloading:0\r\n", 26));
    CHECK(strstr(text, "aof_enabled:1\r\n") != NULL);
    CHECK(strstr(text, "\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n") != NULL);
    free(text);
    slice none = {"nosuch", 6};
    text = genRedisInfoString(1, &none, &len);
    CHECK_EQ_INT(len, 0);
    free(text);
}

int main(void) {
    initCommandTable();
    cl = createApplyClient();
    cl->flags = 0;
    cl->authenticated = 1;
    RUN(defaults);
    RUN(memory_units);
    RUN(bools_enums_ints_bounds);
    RUN(unknown_option_and_arity);
    RUN(split_args_quoting);
    RUN(file_with_quotes_and_crlf);
    RUN(file_then_command_line_overrides);
    RUN(fatal_errors_exit_1);
    RUN(example_conf_gives_defaults);
    RUN(config_get_globs);
    RUN(config_set_and_rollback);
    RUN(auth_follows_requirepass);
    RUN(ping_echo_time);
    RUN(command_info_exact);
    RUN(command_docs_and_list);
    /* The store opens after the fork tests: a child must not inherit RocksDB's threads. */
    char dir[] = "/tmp/raftkv-test-config-db-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    char *err = NULL;
    storeOptions o = {.block_cache_bytes = 8 << 20, .write_buffer_bytes = 4 << 20};
    if (storeOpen(dir, &o, &err) != 0) {
        fprintf(stderr, "storeOpen: %s\n", err);
        return 2;
    }
    dbInit();
    RUN(info_keyspace_line);
    RUN(info_commandstats_errorstats);
    freeApplyClient(cl);
    storeClose();
    nftw(dir, rmEntry, 16, FTW_DEPTH | FTW_PHYS);
    return TEST_REPORT();
}
