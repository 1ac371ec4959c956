/* Unit tests of db.c, t_string.c and expire.c: key encoding, expiry decisions,
 * option parsing with Redis 7.0's exact error texts, prepare rewrites, and the
 * handlers' replies and side effects over a real store in a temp directory.
 *
 * run() mimics the server: a read command runs on the "connection" client; a
 * write runs its prepare hook there, then its handler on the apply client
 * inside a store batch, with the given entry time. FLUSHDB/FLUSHALL go through
 * fsmApply instead (storeClear needs the entry index fsm.c tracks); their
 * reply is not captured there. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "fsm.h"
#include "replica_io.h"
#include "server.h"
#include "store.h"
#include "test.h"
#include "util.h"

static char dir[64];
static client *cl, *ac;
static uint64_t applied;
static char reply[4096];
static size_t reply_len;
static char rewritten[512];   /* argv the write was logged with, space-joined */

static int rmEntry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static void copyReply(client *c) {
    size_t n = c->obuf_len < sizeof(reply) - 1 ? c->obuf_len : sizeof(reply) - 1;
    memcpy(reply, c->obuf, n);
    reply[n] = '\0';
    reply_len = n;
    c->obuf_len = 0;
}

/* Runs one command line (space-separated; "" is an empty argument) at time
 * now_ms. Returns the reply bytes (NUL-terminated copy). */
static const char *run(long long now_ms, const char *line) {
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
    rewritten[0] = '\0';
    cl->argc = argc;
    cl->argv = argv;
    cl->now_ms = now_ms;
    cl->cmd = lookupCommand(&argv[0]);
    serverAssert(cl->cmd != NULL);
    if (!(cl->cmd->flags & CMD_WRITE)) {
        cl->cmd->proc(cl);
        copyReply(cl);
        return reply;
    }
    if (cl->cmd->prepare && cl->cmd->prepare(cl) != C_OK) {
        copyReply(cl);
        return reply;
    }
    size_t off = 0;
    for (int i = 0; i < cl->argc && off < sizeof(rewritten) - 1; i++)
        off += (size_t)snprintf(rewritten + off, sizeof(rewritten) - off, "%s%.*s", i ? " " : "",
                                (int)cl->argv[i].len, cl->argv[i].ptr);
    if (cl->cmd->proc == flushallCommand || cl->cmd->proc == flushdbCommand) {
        unsigned char entry[512];
        for (int i = 0; i < 8; i++) entry[i] = (unsigned char)((unsigned long long)now_ms >> (56 - 8 * i));
        size_t n = respEncodeCommand((char *)entry + 8, cl->argc, cl->argv);
        raftEntry e = {.term = 1, .index = ++applied, .type = RAFT_ENTRY_NORMAL, .len = (uint32_t)(n + 8),
                       .data = entry};
        fsmApply(&e, 1);
        reply[0] = '\0';
        reply_len = 0;
        return reply;
    }
    ac->argc = cl->argc;
    ac->argv = cl->argv;
    ac->now_ms = now_ms;
    storeApplyBegin();
    call(ac, lookupCommand(&ac->argv[0]));
    storeApplyCommit(++applied);
    copyReply(ac);
    return reply;
}

#define CHECK_REPLY(now, line, want) do { \
    const char *_r = run((now), (line)); \
    CHECK_MEM(_r, reply_len, want); \
} while (0)

#define CHECK_LOGGED(want) CHECK_MEM(rewritten, strlen(rewritten), want)

#define T0 1700000000000LL   /* a fixed "now" in ms */

static void freshStore(void) {
    if (dir[0]) {
        storeClose();
        nftw(dir, rmEntry, 16, FTW_DEPTH | FTW_PHYS);
    }
    strcpy(dir, "/tmp/raftkv-test-db-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
    char *err = NULL;
    storeOptions o = {.block_cache_bytes = 8 << 20, .write_buffer_bytes = 4 << 20};
    if (storeOpen(dir, &o, &err) != 0) {
        fprintf(stderr, "storeOpen: %s\n", err);
        exit(2);
    }
    applied = 0;
    dbInit();
    fsmInit();
}

/* ---------------------------------------------------------------- encoding */

TEST(key_encoding_slot_prefix) {
    char k[64];
    size_t n = dbEncodeKey(k, "foo", 3);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(((unsigned char)k[0] << 8) | (unsigned char)k[1], 12182); /* CLUSTER KEYSLOT foo */
    CHECK_MEM(k + 2, 3, "foo");
    /* Hash tags: same slot, so the keys sit together. */
    char a[64], b[64];
    dbEncodeKey(a, "{user1000}.following", 20);
    dbEncodeKey(b, "{user1000}.followers", 20);
    CHECK(memcmp(a, b, 2) == 0);
    CHECK_EQ_INT(((unsigned char)a[0] << 8) | (unsigned char)a[1], keyHashSlot("user1000", 8));
    /* Empty key: slot 0, just the prefix. */
    CHECK_EQ_INT(dbEncodeKey(k, "", 0), 2);
    CHECK_EQ_INT(k[0] | k[1], 0);
}

TEST(key_encoding_orders_by_slot_then_key) {
    char a[64], b[64];
    /* "a" is slot 15495, "b" slot 3300: b sorts first. */
    dbEncodeKey(a, "a", 1);
    dbEncodeKey(b, "b", 1);
    CHECK(memcmp(b, a, 3) < 0);
    /* Same slot: byte order of the key. */
    dbEncodeKey(a, "{x}1", 4);
    dbEncodeKey(b, "{x}2", 4);
    CHECK(memcmp(a, b, 6) < 0);
}

TEST(expire_key_and_value_encoding) {
    char k[64];
    size_t n = dbEncodeExpireKey(k, 0x0102030405060708LL, "foo", 3);
    CHECK_EQ_INT(n, 13);
    CHECK_MEM(k, 8, "\x01\x02\x03\x04\x05\x06\x07\x08");
    CHECK_EQ_INT(((unsigned char)k[8] << 8) | (unsigned char)k[9], 12182);
    /* Earlier expiries sort first. */
    char e1[64], e2[64];
    dbEncodeExpireKey(e1, 1000, "zzz", 3);
    dbEncodeExpireKey(e2, 1001, "aaa", 3);
    CHECK(memcmp(e1, e2, 13) < 0);

    char v[16];
    dbEncodeValueHeader(v, OBJ_STRING, 258);
    memcpy(v + DB_VALUE_HEADER, "hi", 2);
    int type;
    long long exp;
    slice p;
    CHECK(dbDecodeValue(v, DB_VALUE_HEADER + 2, &type, &exp, &p));
    CHECK_EQ_INT(type, OBJ_STRING);
    CHECK_EQ_INT(exp, 258);
    CHECK_MEM(p.ptr, p.len, "hi");
    CHECK(!dbDecodeValue(v, DB_VALUE_HEADER - 1, &type, &exp, &p));
}

TEST(expiry_decision) {
    CHECK(!dbIsExpired(0, T0));          /* no TTL */
    CHECK(!dbIsExpired(T0 + 1, T0));
    CHECK(dbIsExpired(T0, T0));          /* expire_ms <= now: gone */
    CHECK(dbIsExpired(T0 - 1, T0));
}

/* ---------------------------------------------------------------- SET family */

TEST(set_options_and_errors) {
    freshStore();
    CHECK_REPLY(T0, "SET k v", "+OK\r\n");
    CHECK_REPLY(T0, "GET k", "$1\r\nv\r\n");
    CHECK_REPLY(T0, "SET k v EX 10 PX 20", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "SET k v NX XX", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "SET k v KEEPTTL EX 5", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "SET k v EX", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "SET k v PERSIST", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n");
    CHECK_REPLY(T0, "SET k v PX -5", "-ERR invalid expire time in 'set' command\r\n");
    CHECK_REPLY(T0, "SET k v EXAT 9223372036854776", "-ERR invalid expire time in 'set' command\r\n");
    CHECK_REPLY(T0, "SET k v PX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n");
    CHECK_REPLY(T0, "SET k v EX abc", "-ERR value is not an integer or out of range\r\n");
    CHECK_REPLY(T0, "SET k v2 NX", "$-1\r\n");
    CHECK_REPLY(T0, "SET k v2 XX GET", "$1\r\nv\r\n");
    CHECK_REPLY(T0, "SET nk v XX", "$-1\r\n");
    CHECK_REPLY(T0, "SET nk v NX GET", "$-1\r\n");
    CHECK_REPLY(T0, "GET nk", "$1\r\nv\r\n");
    CHECK_REPLY(T0, "SETNX nk x", ":0\r\n");
    CHECK_REPLY(T0, "SETNX nk2 x", ":1\r\n");
    CHECK_REPLY(T0, "DBSIZE", ":3\r\n");
}

TEST(set_relative_expiry_logged_absolute) {
    freshStore();
    CHECK_REPLY(T0, "SET k v EX 10", "+OK\r\n");
    CHECK_LOGGED("SET k v PXAT 1700000010000");
    CHECK_REPLY(T0, "SET k v ex 10 EX 20 NX", "$-1\r\n");        /* repeated EX: last wins */
    CHECK_LOGGED("SET k v PXAT 10 PXAT 1700000020000 NX");
    CHECK_REPLY(T0, "SET k v PX 1500", "+OK\r\n");
    CHECK_LOGGED("SET k v PXAT 1700000001500");
    CHECK_REPLY(T0, "PTTL k", ":1500\r\n");
    CHECK_REPLY(T0, "SET k v EXAT 1800000000", "+OK\r\n");
    CHECK_LOGGED("SET k v PXAT 1800000000000");
    CHECK_REPLY(T0, "SET k v2 KEEPTTL", "+OK\r\n");
    CHECK_LOGGED("SET k v2 KEEPTTL");
    CHECK_REPLY(T0, "PEXPIRETIME k", ":1800000000000\r\n");
    CHECK_REPLY(T0, "SET k v3", "+OK\r\n");
    CHECK_REPLY(T0, "TTL k", ":-1\r\n");
    CHECK_REPLY(T0, "SETEX k 0 v", "-ERR invalid expire time in 'setex' command\r\n");
    CHECK_REPLY(T0, "SETEX k abc v", "-ERR value is not an integer or out of range\r\n");
    CHECK_REPLY(T0, "PSETEX k -1 v", "-ERR invalid expire time in 'psetex' command\r\n");
    CHECK_REPLY(T0, "SETEX k 100 v", "+OK\r\n");
    CHECK_LOGGED("SET k v PXAT 1700000100000");
    CHECK_REPLY(T0, "PSETEX k 100 v", "+OK\r\n");
    CHECK_LOGGED("SET k v PXAT 1700000000100");
    CHECK_REPLY(T0, "DBSIZE", ":1\r\n");
    CHECK_EQ_INT(dbExpiresCount(), 1);
}

TEST(expired_keys_are_absent_and_overwritten_at_apply) {
    freshStore();
    CHECK_REPLY(T0, "SET k v PX 100", "+OK\r\n");
    CHECK_REPLY(T0 + 99, "GET k", "$1\r\nv\r\n");
    CHECK_REPLY(T0 + 100, "GET k", "$-1\r\n");
    CHECK_REPLY(T0 + 100, "EXISTS k", ":0\r\n");
    CHECK_REPLY(T0 + 100, "TTL k", ":-2\r\n");
    CHECK_REPLY(T0 + 100, "DBSIZE", ":1\r\n");    /* still stored, as in Redis */
    CHECK_REPLY(T0 + 100, "SET k v2 NX", "+OK\r\n");
    CHECK_REPLY(T0 + 100, "TTL k", ":-1\r\n");
    CHECK_REPLY(T0 + 100, "DBSIZE", ":1\r\n");
    CHECK_EQ_INT(dbExpiresCount(), 0);
    /* EXPIREDEL deletes only an expired key. */
    CHECK_REPLY(T0, "SET e v PX 10", "+OK\r\n");
    CHECK_REPLY(T0 + 5, "EXPIREDEL e", ":0\r\n");
    long long before = server.stat_expiredkeys;
    CHECK_REPLY(T0 + 10, "EXPIREDEL e", ":1\r\n");
    CHECK_EQ_INT(server.stat_expiredkeys, before + 1);
    CHECK_REPLY(T0 + 10, "DBSIZE", ":1\r\n");
    CHECK_EQ_INT(dbExpiresCount(), 0);
    CHECK_REPLY(T0 + 10, "EXPIREDEL nokey", ":0\r\n");
}

TEST(getex_options) {
    freshStore();
    CHECK_REPLY(T0, "SET k v", "+OK\r\n");
    CHECK_REPLY(T0, "GETEX nokey FOO", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "GETEX k PERSIST EX 10", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "GETEX k NX", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "GETEX k KEEPTTL", "-ERR syntax error\r\n");
    /* The expire value is checked only when the key exists. */
    CHECK_REPLY(T0, "GETEX nokey EX abc", "$-1\r\n");
    CHECK_REPLY(T0, "GETEX k EX abc", "-ERR value is not an integer or out of range\r\n");
    CHECK_REPLY(T0, "GETEX k EX 0", "-ERR invalid expire time in 'getex' command\r\n");
    CHECK_REPLY(T0, "GETEX k EX 100", "$1\r\nv\r\n");
    CHECK_LOGGED("GETEX k PXAT 1700000100000");
    CHECK_REPLY(T0, "TTL k", ":100\r\n");
    CHECK_REPLY(T0, "GETEX k PERSIST", "$1\r\nv\r\n");
    CHECK_REPLY(T0, "TTL k", ":-1\r\n");
    CHECK_REPLY(T0, "GETEX k", "$1\r\nv\r\n");
    CHECK_REPLY(T0, "GETEX k EXAT 1", "$1\r\nv\r\n");      /* past: deleted */
    CHECK_REPLY(T0, "EXISTS k", ":0\r\n");
    CHECK_REPLY(T0, "DBSIZE", ":0\r\n");
}

TEST(mset_getset_getdel) {
    freshStore();
    CHECK_REPLY(T0, "MSET a 1 b", "-ERR wrong number of arguments for 'mset' command\r\n");
    CHECK_REPLY(T0, "MSET a 1 b 2 a 3", "+OK\r\n");
    CHECK_REPLY(T0, "MGET a b c", "*3\r\n$1\r\n3\r\n$1\r\n2\r\n$-1\r\n");
    CHECK_REPLY(T0, "MSETNX a 1 c 2", ":0\r\n");
    CHECK_REPLY(T0, "MSETNX c 1 d 2", ":1\r\n");
    CHECK_REPLY(T0, "DBSIZE", ":4\r\n");
    CHECK_REPLY(T0, "GETSET a 9", "$1\r\n3\r\n");
    CHECK_REPLY(T0, "GETSET z 9", "$-1\r\n");
    CHECK_REPLY(T0, "GETDEL a", "$1\r\n9\r\n");
    CHECK_REPLY(T0, "GETDEL a", "$-1\r\n");
    CHECK_REPLY(T0, "DBSIZE", ":4\r\n");
}

TEST(append_strlen_ranges) {
    freshStore();
    server.proto_max_bulk_len = 512LL * 1024 * 1024;
    CHECK_REPLY(T0, "APPEND s hello", ":5\r\n");
    CHECK_REPLY(T0, "PEXPIRE s 5000", ":1\r\n");
    CHECK_REPLY(T0, "APPEND s _world", ":11\r\n");
    CHECK_REPLY(T0, "PTTL s", ":5000\r\n");               /* APPEND keeps the TTL */
    CHECK_REPLY(T0, "STRLEN s", ":11\r\n");
    CHECK_REPLY(T0, "STRLEN nokey", ":0\r\n");
    CHECK_REPLY(T0, "GETRANGE s 0 4", "$5\r\nhello\r\n");
    CHECK_REPLY(T0, "GETRANGE s -5 -1", "$5\r\nworld\r\n");
    CHECK_REPLY(T0, "GETRANGE s -1 -5", "$0\r\n\r\n");
    CHECK_REPLY(T0, "GETRANGE s 5 2", "$0\r\n\r\n");
    CHECK_REPLY(T0, "GETRANGE s -100 100", "$11\r\nhello_world\r\n");
    CHECK_REPLY(T0, "GETRANGE nokey 0 1", "$0\r\n\r\n");
    CHECK_REPLY(T0, "GETRANGE s abc 1", "-ERR value is not an integer or out of range\r\n");
    CHECK_REPLY(T0, "SETRANGE s 6 Redis", ":11\r\n");
    CHECK_REPLY(T0, "GET s", "$11\r\nhello_Redis\r\n");
    CHECK_REPLY(T0, "SETRANGE s 13 X", ":14\r\n");
    CHECK_REPLY(T0, "GET s", "$14\r\nhello_Redis\0\0X\r\n");
    CHECK_REPLY(T0, "SETRANGE n 2 ab", ":4\r\n");
    CHECK_REPLY(T0, "GET n", "$4\r\n\0\0ab\r\n");
    CHECK_REPLY(T0, "SETRANGE e 0 \"\"", ":0\r\n");
    CHECK_REPLY(T0, "EXISTS e", ":0\r\n");
    CHECK_REPLY(T0, "SETRANGE s 0 \"\"", ":14\r\n");
    CHECK_REPLY(T0, "SETRANGE s -1 x", "-ERR offset is out of range\r\n");
    CHECK_REPLY(T0, "SETRANGE s 536870912 x",
                "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    CHECK_REPLY(T0, "SETRANGE e 536870912 \"\"", ":0\r\n");
    server.proto_max_bulk_len = 12;
    CHECK_REPLY(T0, "APPEND s x", "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    server.proto_max_bulk_len = 512LL * 1024 * 1024;
}

TEST(counters) {
    freshStore();
    CHECK_REPLY(T0, "INCR n", ":1\r\n");
    CHECK_REPLY(T0, "INCRBY n 10", ":11\r\n");
    CHECK_REPLY(T0, "DECRBY n 3", ":8\r\n");
    CHECK_REPLY(T0, "DECR n", ":7\r\n");
    CHECK_REPLY(T0, "DECRBY n -9223372036854775808", "-ERR decrement would overflow\r\n");
    CHECK_REPLY(T0, "INCRBY n abc", "-ERR value is not an integer or out of range\r\n");
    CHECK_REPLY(T0, "INCRBY n 9223372036854775807", "-ERR increment or decrement would overflow\r\n");
    CHECK_REPLY(T0, "SET s 01", "+OK\r\n");
    CHECK_REPLY(T0, "INCR s", "-ERR value is not an integer or out of range\r\n");
    CHECK_REPLY(T0, "SET t 5 EX 100", "+OK\r\n");
    CHECK_REPLY(T0, "INCR t", ":6\r\n");
    CHECK_REPLY(T0, "TTL t", ":100\r\n");                   /* INCR keeps the TTL */
}

TEST(incrbyfloat_prepared_and_computed) {
    freshStore();
    CHECK_REPLY(T0, "SET f 10.5", "+OK\r\n");
    CHECK_REPLY(T0, "INCRBYFLOAT f 0.1", "$4\r\n10.6\r\n");
    CHECK_LOGGED("INCRBYFLOAT f 0.1 10.6");
    CHECK_REPLY(T0, "INCRBYFLOAT f -5e3", "$23\r\n-4989.39999999999999991\r\n");
    CHECK_REPLY(T0, "INCRBYFLOAT f abc", "-ERR value is not a valid float\r\n");
    CHECK_REPLY(T0, "INCRBYFLOAT f inf", "-ERR increment would produce NaN or Infinity\r\n");
    CHECK_REPLY(T0, "INCRBYFLOAT nf 3.0e3", "$4\r\n3000\r\n");
    CHECK_REPLY(T0, "SET s abc", "+OK\r\n");
    CHECK_REPLY(T0, "INCRBYFLOAT s 1", "-ERR value is not a valid float\r\n");
    /* The 3-argument form at apply (an older log) computes itself. */
    slice argv[3] = {{"INCRBYFLOAT", 11}, {"nf", 2}, {"1.5", 3}};
    ac->argc = 3;
    ac->argv = argv;
    storeApplyBegin();
    call(ac, lookupCommand(&argv[0]));
    storeApplyCommit(++applied);
    copyReply(ac);
    CHECK_MEM(reply, reply_len, "$6\r\n3001.5\r\n");
}

/* ---------------------------------------------------------------- expire family */

TEST(expire_options_and_errors) {
    freshStore();
    CHECK_REPLY(T0, "SET k v", "+OK\r\n");
    CHECK_REPLY(T0, "EXPIRE k 10 foo", "-ERR Unsupported option foo\r\n");
    CHECK_REPLY(T0, "EXPIRE k 10 nx xx", "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
    CHECK_REPLY(T0, "EXPIRE k 10 gt lt", "-ERR GT and LT options at the same time are not compatible\r\n");
    CHECK_REPLY(T0, "EXPIRE k abc", "-ERR value is not an integer or out of range\r\n");
    CHECK_REPLY(T0, "EXPIRE k 9223372036854775807", "-ERR invalid expire time in 'expire' command\r\n");
    CHECK_REPLY(T0, "PEXPIRE k 9223372036854775807", "-ERR invalid expire time in 'pexpire' command\r\n");
    CHECK_REPLY(T0, "EXPIRE nokey 10", ":0\r\n");
    CHECK_REPLY(T0, "EXPIRE k 100 XX", ":0\r\n");
    CHECK_REPLY(T0, "EXPIRE k 100 NX", ":1\r\n");
    CHECK_LOGGED("PEXPIREAT k 1700000100000 NX");
    CHECK_REPLY(T0, "EXPIRE k 50 GT", ":0\r\n");
    CHECK_REPLY(T0, "EXPIRE k 200 GT", ":1\r\n");
    CHECK_REPLY(T0, "EXPIRE k 300 LT", ":0\r\n");
    CHECK_REPLY(T0, "EXPIRE k 100 LT", ":1\r\n");
    CHECK_REPLY(T0, "TTL k", ":100\r\n");
    CHECK_REPLY(T0, "EXPIREAT k 1800000000", ":1\r\n");
    CHECK_LOGGED("PEXPIREAT k 1800000000000");
    CHECK_REPLY(T0, "PEXPIREAT k 1800000000001", ":1\r\n");
    CHECK_LOGGED("PEXPIREAT k 1800000000001");
    CHECK_REPLY(T0, "EXPIRETIME k", ":1800000000\r\n");
    CHECK_REPLY(T0, "PERSIST k", ":1\r\n");
    CHECK_REPLY(T0, "PERSIST k", ":0\r\n");
    CHECK_EQ_INT(dbExpiresCount(), 0);
    CHECK_REPLY(T0, "SET q v", "+OK\r\n");
    CHECK_REPLY(T0, "EXPIRE q 10 GT", ":0\r\n");               /* no TTL counts as infinite */
    CHECK_REPLY(T0, "EXPIRE q -1", ":1\r\n");                  /* past: deleted */
    CHECK_REPLY(T0, "EXISTS q", ":0\r\n");
    CHECK_REPLY(T0, "TTL nokey", ":-2\r\n");
    CHECK_REPLY(T0, "PEXPIRETIME k", ":-1\r\n");
    CHECK_REPLY(T0, "DBSIZE", ":1\r\n");
}

/* ---------------------------------------------------------------- keyspace */

TEST(keyspace_commands) {
    freshStore();
    CHECK_REPLY(T0, "MSET a 1 b 2 c 3", "+OK\r\n");
    CHECK_REPLY(T0, "DEL a a nokey", ":1\r\n");
    CHECK_REPLY(T0, "UNLINK b", ":1\r\n");
    CHECK_REPLY(T0, "EXISTS c c nokey", ":2\r\n");
    CHECK_REPLY(T0, "TOUCH c nokey", ":1\r\n");
    CHECK_REPLY(T0, "TYPE c", "+string\r\n");
    CHECK_REPLY(T0, "TYPE nokey", "+none\r\n");
    CHECK_REPLY(T0, "SELECT 0", "+OK\r\n");
    CHECK_REPLY(T0, "SELECT 1", "-ERR DB index is out of range\r\n");
    CHECK_REPLY(T0, "SELECT 99999999999", "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n");
    CHECK_REPLY(T0, "RENAME nokey x", "-ERR no such key\r\n");
    CHECK_REPLY(T0, "SET x 1 PX 5000", "+OK\r\n");
    CHECK_REPLY(T0, "RENAME x x", "+OK\r\n");
    CHECK_REPLY(T0, "RENAMENX x x", ":0\r\n");
    CHECK_REPLY(T0, "RENAME x y", "+OK\r\n");
    CHECK_REPLY(T0, "PTTL y", ":5000\r\n");                 /* the TTL moves along */
    CHECK_REPLY(T0, "RENAMENX y c", ":0\r\n");
    CHECK_REPLY(T0, "RENAME y c", "+OK\r\n");
    CHECK_REPLY(T0, "GET c", "$1\r\n1\r\n");
    CHECK_REPLY(T0, "DBSIZE", ":1\r\n");
    CHECK_EQ_INT(dbExpiresCount(), 1);
    CHECK_REPLY(T0, "COPY c c", "-ERR source and destination objects are the same\r\n");
    CHECK_REPLY(T0, "COPY c d DB 1", "-ERR DB index is out of range\r\n");
    CHECK_REPLY(T0, "COPY c d DB abc", "-ERR value is not an integer or out of range\r\n");
    CHECK_REPLY(T0, "COPY c d DB", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "COPY c d DB 0", ":1\r\n");
    CHECK_REPLY(T0, "PTTL d", ":5000\r\n");
    CHECK_REPLY(T0, "COPY c d", ":0\r\n");
    CHECK_REPLY(T0, "COPY c d REPLACE", ":1\r\n");
    CHECK_REPLY(T0, "COPY nokey d", ":0\r\n");
    CHECK_REPLY(T0, "DBSIZE", ":2\r\n");
    CHECK_EQ_INT(dbExpiresCount(), 2);
    CHECK_REPLY(T0, "FLUSHALL foo", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "FLUSHDB SYNC x", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "FLUSHALL ASYNC", "");
    CHECK_REPLY(T0, "DBSIZE", ":0\r\n");
    CHECK_EQ_INT(dbExpiresCount(), 0);
    CHECK_REPLY(T0, "RANDOMKEY", "$-1\r\n");
    CHECK_REPLY(T0, "SET only v", "+OK\r\n");
    CHECK_REPLY(T0, "RANDOMKEY", "$4\r\nonly\r\n");
    /* Counts survive a reopen (loaded from the meta CF). */
    storeClose();
    char *err = NULL;
    CHECK_EQ_INT(storeOpen(dir, NULL, &err), 0);
    dbInit();
    CHECK_EQ_INT(dbSize(), 1);
}

TEST(keys_and_scan) {
    freshStore();
    CHECK_REPLY(T0, "MSET a 1 b 2 abc 3 {x}1 4 {x}2 5", "+OK\r\n");
    CHECK_REPLY(T0, "SET gone v PX 10", "+OK\r\n");
    /* Slot order: b (3300), {x}1 {x}2 (16287), abc (7638)... as stored. */
    CHECK_REPLY(T0 + 10, "KEYS a*", "*2\r\n$3\r\nabc\r\n$1\r\na\r\n");
    CHECK_REPLY(T0 + 10, "KEYS {x}?", "*2\r\n$4\r\n{x}1\r\n$4\r\n{x}2\r\n");
    CHECK_REPLY(T0 + 10, "KEYS gone", "*0\r\n");
    CHECK_REPLY(T0, "SCAN abc", "-ERR invalid cursor\r\n");
    CHECK_REPLY(T0, "SCAN 0 COUNT 0", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "SCAN 0 COUNT", "-ERR syntax error\r\n");
    CHECK_REPLY(T0, "SCAN 0 COUNT abc", "-ERR value is not an integer or out of range\r\n");
    CHECK_REPLY(T0, "SCAN 0 TYPE list", "*2\r\n$1\r\n0\r\n*0\r\n");
    CHECK_REPLY(T0, "SCAN 0 MATCH {x}* COUNT 100", "*2\r\n$1\r\n0\r\n*2\r\n$4\r\n{x}1\r\n$4\r\n{x}2\r\n");
    /* A full iteration with COUNT 2 returns every live key exactly once. */
    unsigned long long cursor = 0;
    int seen = 0, calls = 0;
    do {
        char line[64];
        snprintf(line, sizeof(line), "SCAN %llu COUNT 2", cursor);
        const char *r = run(T0 + 10, line);
        CHECK(strncmp(r, "*2\r\n$", 5) == 0);
        const char *p = strchr(r + 5, '\n') + 1;
        cursor = strtoull(p, NULL, 10);
        p = strchr(p, '\n') + 1;
        CHECK(*p == '*');
        seen += atoi(p + 1);
        calls++;
    } while (cursor != 0 && calls < 20);
    CHECK_EQ_INT(seen, 5);
    CHECK_EQ_INT(calls, 3);
    /* An unknown cursor resumes at the start of its slot (low 14 bits). */
    char line[64];
    snprintf(line, sizeof(line), "SCAN %u COUNT 100", keyHashSlot("x", 1));
    CHECK_REPLY(T0, line, "*2\r\n$1\r\n0\r\n*2\r\n$4\r\n{x}1\r\n$4\r\n{x}2\r\n");
}

/* Reads a count record of the meta CF as stored (the batch's view inside one). */
static long long storedCount(const char *name) {
    storeValue v;
    long long n = -1;
    if (storeGet(STORE_CF_META, name, strlen(name), &v)) {
        n = 0;
        for (size_t i = 0; i < v.len; i++) n = (n << 8) | (unsigned char)v.ptr[i];
        storeValueFree(&v);
    }
    return n;
}

/* Applies one log entry holding the given commands (space-separated words). */
static void applyEntry(int ncmds, const char *const *cmds) {
    static unsigned char entry[2048];
    size_t off = 8;
    for (int i = 0; i < 8; i++) entry[i] = (unsigned char)((unsigned long long)T0 >> (56 - 8 * i));
    for (int c = 0; c < ncmds; c++) {
        char buf[256];
        slice argv[16];
        int argc = 0;
        snprintf(buf, sizeof(buf), "%s", cmds[c]);
        for (char *tok = strtok(buf, " "); tok && argc < 16; tok = strtok(NULL, " "))
            argv[argc++] = (slice){tok, strlen(tok)};
        off += respEncodeCommand((char *)entry + off, argc, argv);
    }
    raftEntry e = {.term = 1, .index = ++applied, .type = RAFT_ENTRY_NORMAL, .len = (uint32_t)off,
                   .data = entry};
    fsmApply(&e, 1);
}

TEST(counts_written_once_per_batch) {
    freshStore();
    const char *first[] = {"SET a 1", "SET b 2 PX 5000", "SET c 3", "DEL c", "SET a 4"};
    applyEntry(5, first);
    CHECK_EQ_INT(dbSize(), 2);
    CHECK_EQ_INT(dbExpiresCount(), 1);
    CHECK_EQ_INT(storedCount("db:keys"), 2);
    CHECK_EQ_INT(storedCount("db:expires"), 1);

    /* A partial write of the batch (storeClear) carries the counts of the commands
     * before it, so a crash right after it replays onto consistent counts. */
    storeApplyBegin();
    ac->now_ms = T0;
    slice set[3] = {{"SET", 3}, {"d", 1}, {"5", 1}};
    ac->argc = 3;
    ac->argv = set;
    call(ac, lookupCommand(&set[0]));
    storeClear(STORE_CF_EXPIRE, applied + 2);
    CHECK_EQ_INT(storedCount("db:keys"), 3);
    storeApplyCommit(applied + 2);
    applied += 2;
    ac->obuf_len = 0;

    const char *flush[] = {"SET e 6", "FLUSHALL", "SET f 7 EX 100"};
    applyEntry(3, flush);
    CHECK_EQ_INT(dbSize(), 1);
    CHECK_EQ_INT(dbExpiresCount(), 1);
    storeClose();
    char *err = NULL;
    CHECK_EQ_INT(storeOpen(dir, NULL, &err), 0);
    dbInit();
    CHECK_EQ_INT(dbSize(), 1);
    CHECK_EQ_INT(dbExpiresCount(), 1);
}

int main(void) {
    initCommandTable();
    server.proto_max_bulk_len = 512LL * 1024 * 1024;
    cl = createApplyClient();
    cl->flags = 0;
    ac = createApplyClient();
    RUN(key_encoding_slot_prefix);
    RUN(key_encoding_orders_by_slot_then_key);
    RUN(expire_key_and_value_encoding);
    RUN(expiry_decision);
    RUN(set_options_and_errors);
    RUN(set_relative_expiry_logged_absolute);
    RUN(expired_keys_are_absent_and_overwritten_at_apply);
    RUN(getex_options);
    RUN(mset_getset_getdel);
    RUN(append_strlen_ranges);
    RUN(counters);
    RUN(incrbyfloat_prepared_and_computed);
    RUN(expire_options_and_errors);
    RUN(keyspace_commands);
    RUN(keys_and_scan);
    RUN(counts_written_once_per_batch);
    storeClose();
    nftw(dir, rmEntry, 16, FTW_DEPTH | FTW_PHYS);
    freeApplyClient(cl);
    freeApplyClient(ac);
    return TEST_REPORT();
}
