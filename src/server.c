/* server.c — the global `server`, logging, assertions, clocks, the periodic
 * stats sampler, and the introspection and connection commands: PING, ECHO,
 * TIME, AUTH, HELLO, COMMAND [COUNT|INFO|DOCS|LIST|HELP] and INFO.
 *
 * Owns: `server` (its definition; config.c fills the options, networking and
 * the others bump the stats), the instantaneous-metrics sample rings, the peak
 * memory figure.
 *
 * Happy path: each command builds its reply from the command table
 * (commands_table.c) or from server state with the addReply* helpers; INFO
 * assembles one text in a growable buffer and replies with it as one bulk.
 * Failure modes: replies are Redis 7.0's errors byte for byte. serverPanic and
 * a failed serverAssert log and abort (fail-stop, also in release builds). */
#include <ctype.h>
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "commands.h"
#include "db.h"
#include "replica.h"
#include "snapshot.h"
#include "transport.h"
#include "server.h"
#include "store.h"
#include "util.h"

struct redisServer server;

/* ------------------------------------------------------------------ clocks */

long long ustime(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

long long mstime(void) {
    return ustime() / 1000;
}

/* ------------------------------------------------------------------ logging */

static void serverLogRaw(int level, const char *msg) {
    static const char levelChar[] = ".-*#";
    if (level < server.verbosity) return;
    int tofile = server.logfile && server.logfile[0];
    FILE *fp = tofile ? fopen(server.logfile, "a") : stdout;
    if (!fp) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    size_t off = strftime(when, sizeof(when), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(when + off, sizeof(when) - off, "%03d", (int)(tv.tv_usec / 1000));
    fprintf(fp, "%d:M %s %c %s\n", (int)getpid(), when, levelChar[level & 3], msg);
    fflush(fp);
    if (tofile) fclose(fp);
}

void serverLog(int level, const char *fmt, ...) {
    if (level < server.verbosity) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    serverLogRaw(level, msg);
}

void _serverAssert(const char *expr, const char *file, int line) {
    serverLog(LL_WARNING, "=== ASSERTION FAILED ===");
    serverLog(LL_WARNING, "==> %s:%d '%s' is not true", file, line, expr);
    if (server.logfile && server.logfile[0])
        fprintf(stderr, "=== ASSERTION FAILED === %s:%d '%s' is not true\n", file, line, expr);
    abort();
}

void serverPanic(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    serverLog(LL_WARNING, "------------------------------------------------");
    serverLog(LL_WARNING, "!!! Software Failure: %s", msg);
    if (server.logfile && server.logfile[0]) fprintf(stderr, "!!! Software Failure: %s\n", msg);
    abort();
}

/* ------------------------------------------------------------------ stats */

#define STATS_METRIC_SAMPLES 16
#define STATS_SAMPLE_PERIOD_MS 100
enum { METRIC_COMMAND, METRIC_NET_INPUT, METRIC_NET_OUTPUT, METRIC_COUNT };

static struct {
    long long last_sample_ms;
    long long last_value;
    long long samples[STATS_METRIC_SAMPLES];
    int idx;
} metrics[METRIC_COUNT];
static size_t stat_peak_memory;

static void trackMetric(int m, long long value, long long now_ms) {
    long long t = now_ms - metrics[m].last_sample_ms;
    long long d = value - metrics[m].last_value;
    metrics[m].samples[metrics[m].idx] = t > 0 ? d * 1000 / t : 0;
    metrics[m].idx = (metrics[m].idx + 1) % STATS_METRIC_SAMPLES;
    metrics[m].last_sample_ms = now_ms;
    metrics[m].last_value = value;
}

static long long getMetric(int m) {
    long long sum = 0;
    for (int i = 0; i < STATS_METRIC_SAMPLES; i++) sum += metrics[m].samples[i];
    return sum / STATS_METRIC_SAMPLES;
}

/* jemalloc's counters, refreshed by bumping "epoch" first. */
static void allocatorStats(size_t *allocated, size_t *active, size_t *resident) {
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    *allocated = *active = *resident = 0;
    sz = sizeof(size_t);
    mallctl("stats.allocated", allocated, &sz, NULL, 0);
    sz = sizeof(size_t);
    mallctl("stats.active", active, &sz, NULL, 0);
    sz = sizeof(size_t);
    mallctl("stats.resident", resident, &sz, NULL, 0);
}

void serverCron(void) {
    long long now = mstime();
    if (now - metrics[METRIC_COMMAND].last_sample_ms >= STATS_SAMPLE_PERIOD_MS) {
        trackMetric(METRIC_COMMAND, server.stat_numcommands, now);
        trackMetric(METRIC_NET_INPUT, server.stat_net_input_bytes, now);
        trackMetric(METRIC_NET_OUTPUT, server.stat_net_output_bytes, now);
        size_t allocated, active, resident;
        allocatorStats(&allocated, &active, &resident);
        if (allocated > stat_peak_memory) stat_peak_memory = allocated;
    }
}

/* INFO commandstats: per command (subcommands apart), found by its table
 * entry's address in a small open-addressing table. */
#define CMDSTATS_SLOTS 512
static struct cmdStat {
    const struct redisCommand *cmd;
    long long calls, usec, rejected, failed;
} cmdStats[CMDSTATS_SLOTS];

static struct cmdStat *cmdStatFor(const struct redisCommand *cmd, int create) {
    size_t h = ((uintptr_t)cmd >> 4) % CMDSTATS_SLOTS;
    for (size_t i = 0; i < CMDSTATS_SLOTS; i++, h = (h + 1) % CMDSTATS_SLOTS) {
        if (cmdStats[h].cmd == cmd) return &cmdStats[h];
        if (cmdStats[h].cmd == NULL) {
            if (!create) return NULL;
            cmdStats[h].cmd = cmd;
            return &cmdStats[h];
        }
    }
    return NULL; /* more commands than slots: not counted */
}

void statsCommandCall(const struct redisCommand *cmd, long long usec, int failed) {
    struct cmdStat *st = cmdStatFor(cmd, 1);
    if (!st) return;
    st->calls++;
    st->usec += usec;
    if (failed) st->failed++;
}

void statsCommandRejected(const struct redisCommand *cmd) {
    struct cmdStat *st = cmdStatFor(cmd, 1);
    if (st) st->rejected++;
}

/* INFO errorstats: replies per error code (the first word), at most 128
 * codes as in Redis; later new codes are not tracked. */
#define ERRSTATS_MAX 128
static struct {
    char code[32];
    long long count;
} errStats[ERRSTATS_MAX];
static int errStatsLen;

void statsErrorReply(const char *err, size_t len) {
    if (len && err[0] == '-') {
        err++;
        len--;
    }
    size_t n = 0;
    while (n < len && n < sizeof(errStats[0].code) - 1 && err[n] != ' ') n++;
    for (int i = 0; i < errStatsLen; i++) {
        if (strlen(errStats[i].code) == n && !memcmp(errStats[i].code, err, n)) {
            errStats[i].count++;
            return;
        }
    }
    if (errStatsLen == ERRSTATS_MAX) return;
    memcpy(errStats[errStatsLen].code, err, n);
    errStats[errStatsLen].code[n] = '\0';
    errStats[errStatsLen++].count = 1;
}

void resetServerStats(void) {
    server.stat_numcommands = 0;
    server.stat_numconnections = 0;
    server.stat_rejected_conn = 0;
    server.stat_expiredkeys = 0;
    server.stat_keyspace_hits = 0;
    server.stat_keyspace_misses = 0;
    server.stat_net_input_bytes = 0;
    server.stat_net_output_bytes = 0;
    server.stat_total_error_replies = 0;
    server.stat_proposals = 0;
    server.stat_entries_applied = 0;
    long long now = mstime();
    for (int m = 0; m < METRIC_COUNT; m++) {
        memset(&metrics[m], 0, sizeof(metrics[m]));
        metrics[m].last_sample_ms = now;
    }
    stat_peak_memory = 0;
    memset(cmdStats, 0, sizeof(cmdStats));
    memset(errStats, 0, sizeof(errStats));
    errStatsLen = 0;
}

/* ------------------------------------------------------------------ connection commands */

void pingCommand(client *c) {
    if (c->argc > 2) {
        addReplyErrorArity(c);
        return;
    }
    if (c->argc == 1) addReplyStatus(c, "PONG");
    else addReplyBulk(c, c->argv[1]);
}

void echoCommand(client *c) {
    addReplyBulk(c, c->argv[1]);
}

void timeCommand(client *c) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    addReplyArrayLen(c, 2);
    addReplyBulkLongLong(c, tv.tv_sec);
    addReplyBulkLongLong(c, tv.tv_usec);
}

/* Compares in time that depends only on the length of the candidate, so
 * response times do not reveal how much of the password matched. */
static int passwordMatches(const slice *candidate, const char *expected) {
    size_t elen = strlen(expected);
    unsigned diff = candidate->len != elen;
    for (size_t i = 0; i < candidate->len; i++)
        diff |= (unsigned char)candidate->ptr[i] ^ (unsigned char)(elen ? expected[i % elen] : 0);
    return diff == 0;
}

/* The only user is "default"; with requirepass "" it has no password and
 * every password is accepted for it, as in Redis. */
static int checkUserPassword(const slice *user, const slice *pass) {
    if (!argIs(user, "default")) return 0;
    if (!server.requirepass || !server.requirepass[0]) return 1;
    return passwordMatches(pass, server.requirepass);
}

static void setAuthenticated(client *c) {
    c->authenticated = 1;
    c->parser.authenticated = 1;
}

void authCommand(client *c) {
    if (c->argc > 3) {
        addReplyErrorSyntax(c);
        return;
    }
    static const slice defuser = {"default", 7};
    const slice *user = &defuser, *pass = &c->argv[1];
    if (c->argc == 2) {
        if (!server.requirepass || !server.requirepass[0]) {
            addReplyError(c, "AUTH <password> called without any password configured for the default user. "
                             "Are you sure your configuration is correct?");
            return;
        }
    } else {
        user = &c->argv[1];
        pass = &c->argv[2];
    }
    if (checkUserPassword(user, pass)) {
        setAuthenticated(c);
        addReplyOK(c);
    } else {
        addReplyError(c, "-WRONGPASS invalid username-password pair or user is disabled.");
    }
}

void helloCommand(client *c) {
    long long ver = 0;
    if (c->argc >= 2) {
        if (getLongLongFromArgOrReply(c, &c->argv[1], &ver, "Protocol version is not an integer or out of range") !=
            C_OK)
            return;
        /* RESP3 is not spoken: HELLO 3 is refused like an unknown version. */
        if (ver != 2) {
            addReplyError(c, "-NOPROTO unsupported protocol version");
            return;
        }
    }
    const slice *user = NULL, *pass = NULL, *name = NULL;
    for (int j = 2; j < c->argc; j++) {
        int moreargs = c->argc - 1 - j;
        const slice *opt = &c->argv[j];
        if (argIs(opt, "auth") && moreargs >= 2) {
            user = &c->argv[j + 1];
            pass = &c->argv[j + 2];
            j += 2;
        } else if (argIs(opt, "setname") && moreargs) {
            name = &c->argv[j + 1];
            for (size_t i = 0; i < name->len; i++) {
                if (name->ptr[i] < '!' || name->ptr[i] > '~') {
                    addReplyError(c, "Client names cannot contain spaces, newlines or special characters.");
                    return;
                }
            }
            j++;
        } else {
            addReplyErrorFormat(c, "Syntax error in HELLO option '%.*s'", (int)opt->len, opt->ptr);
            return;
        }
    }
    if (user) {
        if (!checkUserPassword(user, pass)) {
            addReplyError(c, "-WRONGPASS invalid username-password pair or user is disabled.");
            return;
        }
        setAuthenticated(c);
    }
    if (!c->authenticated) {
        addReplyError(c, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                         "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
                         "the RESP protocol version at the same time");
        return;
    }
    if (name) {
        free(c->name);
        c->name = NULL;
        if (name->len) {
            c->name = strndup(name->ptr, name->len);
            serverAssert(c->name != NULL);
        }
    }
    addReplyMapLen(c, 7);
    addReplyBulkCString(c, "server");
    addReplyBulkCString(c, "redis");
    addReplyBulkCString(c, "version");
    addReplyBulkCString(c, RAFTKV_VERSION);
    addReplyBulkCString(c, "proto");
    addReplyLongLong(c, 2);
    addReplyBulkCString(c, "id");
    addReplyLongLong(c, (long long)c->id);
    addReplyBulkCString(c, "mode");
    addReplyBulkCString(c, "standalone");
    addReplyBulkCString(c, "role");
    addReplyBulkCString(c, "master");
    addReplyBulkCString(c, "modules");
    addReplyArrayLen(c, 0);
}

/* ------------------------------------------------------------------ COMMAND */

/* Commands COMMAND never shows: those only the log or peers send. */
static int isHidden(const struct redisCommand *cmd) {
    return (cmd->flags & (CMD_INTERNAL | CMD_PEER)) != 0;
}

static int isContainer(const struct redisCommand *cmd) {
    return cmd->proc == NULL && cmd->subcommands != NULL;
}

/* Redis's ACL categories, derived from flags and group the way Redis sets
 * its implicit ones, plus the explicit ones its JSON files give our commands. */
enum {
    ACL_KEYSPACE = 1 << 0, ACL_READ = 1 << 1, ACL_WRITE = 1 << 2, ACL_STRING = 1 << 3, ACL_ADMIN = 1 << 4,
    ACL_FAST = 1 << 5, ACL_SLOW = 1 << 6, ACL_DANGEROUS = 1 << 7, ACL_CONNECTION = 1 << 8, ACL_SCRIPTING = 1 << 9
};
/* In Redis's order of categories. */
static const char *aclCategoryNames[] = {"keyspace", "read", "write", "string", "admin",
                                         "fast", "slow", "dangerous", "connection", "scripting"};
#define ACL_CATEGORY_COUNT (int)(sizeof(aclCategoryNames) / sizeof(aclCategoryNames[0]))

/* Redis 7.0 metadata the command table lacks; the data is commandExtras below. */
struct commandExtras {
    const char *name;             /* full name, "container|sub" for subcommands */
    const char *tips;
    const char *specs[2];         /* flags of each key spec */
    const char *notes;            /* note of the first key spec */
    int allow_busy;
    unsigned cats;                /* ACL categories Redis adds explicitly */
};

static const struct commandExtras *lookupExtras(const struct redisCommand *cmd, const struct redisCommand *parent);

static unsigned commandAclCategories(const struct redisCommand *cmd, const struct redisCommand *parent) {
    if (isContainer(cmd)) return ACL_SLOW;
    unsigned cats = 0;
    const char *group = cmd->group ? cmd->group : "";
    if (!strcmp(group, "generic") || (!strcmp(group, "server") && (cmd->flags & (CMD_WRITE | CMD_READONLY))))
        cats |= ACL_KEYSPACE;
    if (cmd->flags & CMD_READONLY) cats |= ACL_READ;
    if (cmd->flags & CMD_WRITE) cats |= ACL_WRITE;
    if (!strcmp(group, "string")) cats |= ACL_STRING;
    if (cmd->flags & CMD_ADMIN) cats |= ACL_ADMIN | ACL_DANGEROUS;
    cats |= (cmd->flags & CMD_FAST) ? ACL_FAST : ACL_SLOW;
    if (!strcmp(group, "connection") || !strcmp(parent ? parent->name : cmd->name, "command"))
        cats |= ACL_CONNECTION;
    if (!strcmp(group, "scripting")) cats |= ACL_SCRIPTING;
    const struct commandExtras *ex = lookupExtras(cmd, parent);
    if (ex) cats |= ex->cats;
    return cats;
}

static void addReplyCommandFlags(client *c, const struct redisCommand *cmd, int allow_busy) {
    static const struct { uint32_t flag; const char *name; } names[] = {
        {CMD_WRITE, "write"},     {CMD_READONLY, "readonly"}, {CMD_DENYOOM, "denyoom"},
        {CMD_ADMIN, "admin"},     {CMD_NOSCRIPT, "noscript"}, {CMD_LOADING, "loading"},
        {CMD_STALE, "stale"},     {CMD_FAST, "fast"},         {CMD_NOAUTH, "no_auth"},
    };
    int n = allow_busy;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (cmd->flags & names[i].flag) n++;
    addReplyArrayLen(c, n);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (cmd->flags & names[i].flag) addReplyStatus(c, names[i].name);
    if (allow_busy) addReplyStatus(c, "allow_busy");
}

/* What Redis 7.0's JSON command files say beyond our table: the tips, the
 * key-spec flags (and notes), allow_busy, explicit ACL categories. Copied as data from
 * COMMAND INFO of redis-server 7.0.15. A command with two key specs (RENAME,
 * COPY) has one range spec per key; the others have one spec covering the
 * table's (first, last, step) keys. Words are space-separated. */
static const struct commandExtras commandExtras[] = {
    {"get", NULL, {"RO access"}, NULL, 0, 0},
    {"set", NULL, {"RW access update variable_flags"}, "RW and ACCESS due to the optional `GET` argument", 0, 0},
    {"setnx", NULL, {"OW insert"}, NULL, 0, 0},
    {"setex", NULL, {"OW update"}, NULL, 0, 0},
    {"psetex", NULL, {"OW update"}, NULL, 0, 0},
    {"mget", "request_policy:multi_shard", {"RO access"}, NULL, 0, 0},
    {"mset", "request_policy:multi_shard response_policy:all_succeeded", {"OW update"}, NULL, 0, 0},
    {"msetnx", "request_policy:multi_shard response_policy:agg_min", {"OW insert"}, NULL, 0, 0},
    {"getset", NULL, {"RW access update"}, NULL, 0, 0},
    {"getdel", NULL, {"RW access delete"}, NULL, 0, 0},
    {"getex", NULL, {"RW access update"}, "RW and UPDATE because it changes the TTL", 0, 0},
    {"append", NULL, {"RW insert"}, NULL, 0, 0},
    {"strlen", NULL, {"RO"}, NULL, 0, 0},
    {"incr", NULL, {"RW access update"}, NULL, 0, 0},
    {"decr", NULL, {"RW access update"}, NULL, 0, 0},
    {"incrby", NULL, {"RW access update"}, NULL, 0, 0},
    {"decrby", NULL, {"RW access update"}, NULL, 0, 0},
    {"incrbyfloat", NULL, {"RW access update"}, NULL, 0, 0},
    {"getrange", NULL, {"RO access"}, NULL, 0, 0},
    {"substr", NULL, {"RO access"}, NULL, 0, 0},
    {"setrange", NULL, {"RW update"}, NULL, 0, 0},
    {"del", "request_policy:multi_shard response_policy:agg_sum", {"RM delete"}, NULL, 0, 0},
    {"unlink", "request_policy:multi_shard response_policy:agg_sum", {"RM delete"}, NULL, 0, 0},
    {"exists", "request_policy:multi_shard response_policy:agg_sum", {"RO"}, NULL, 0, 0},
    {"type", NULL, {"RO"}, NULL, 0, 0},
    {"touch", "request_policy:multi_shard response_policy:agg_sum", {"RO"}, NULL, 0, 0},
    {"expire", NULL, {"RW update"}, NULL, 0, 0},
    {"pexpire", NULL, {"RW update"}, NULL, 0, 0},
    {"expireat", NULL, {"RW update"}, NULL, 0, 0},
    {"pexpireat", NULL, {"RW update"}, NULL, 0, 0},
    {"ttl", "nondeterministic_output", {"RO access"}, NULL, 0, 0},
    {"pttl", "nondeterministic_output", {"RO access"}, NULL, 0, 0},
    {"expiretime", NULL, {"RO access"}, NULL, 0, 0},
    {"pexpiretime", NULL, {"RO access"}, NULL, 0, 0},
    {"persist", NULL, {"RW update"}, NULL, 0, 0},
    {"keys", "request_policy:all_shards nondeterministic_output_order", {NULL}, NULL, 0, ACL_DANGEROUS},
    {"scan", "nondeterministic_output request_policy:special", {NULL}, NULL, 0, 0},
    {"rename", NULL, {"RW access delete", "OW update"}, NULL, 0, 0},
    {"renamenx", NULL, {"RW access delete", "OW insert"}, NULL, 0, 0},
    {"copy", NULL, {"RO access", "OW update"}, NULL, 0, 0},
    {"randomkey", "request_policy:all_shards nondeterministic_output", {NULL}, NULL, 0, 0},
    {"dbsize", "request_policy:all_shards response_policy:agg_sum", {NULL}, NULL, 0, 0},
    {"flushdb", "request_policy:all_shards response_policy:all_succeeded", {NULL}, NULL, 0, ACL_DANGEROUS},
    {"flushall", "request_policy:all_shards response_policy:all_succeeded", {NULL}, NULL, 0, ACL_DANGEROUS},
    {"time", "nondeterministic_output", {NULL}, NULL, 0, 0},
    {"info", "nondeterministic_output request_policy:all_shards response_policy:special", {NULL}, NULL, 0, ACL_DANGEROUS},
    {"command", "nondeterministic_output_order", {NULL}, NULL, 0, 0},
    {"command|docs", "nondeterministic_output_order", {NULL}, NULL, 0, 0},
    {"command|list", "nondeterministic_output_order", {NULL}, NULL, 0, 0},
    {"command|info", "nondeterministic_output_order", {NULL}, NULL, 0, 0},
    {"config|set", "request_policy:all_nodes response_policy:all_succeeded", {NULL}, NULL, 0, 0},
    {"ping", "request_policy:all_shards response_policy:all_succeeded", {NULL}, NULL, 0, 0},
    {"client|list", "nondeterministic_output", {NULL}, NULL, 0, 0},
    {"client|info", "nondeterministic_output", {NULL}, NULL, 0, 0},
    {"cluster|info", "nondeterministic_output", {NULL}, NULL, 0, 0},
    {"cluster|nodes", "nondeterministic_output", {NULL}, NULL, 0, 0},
    {"cluster|shards", "nondeterministic_output", {NULL}, NULL, 0, 0},
    {"cluster|slots", "nondeterministic_output", {NULL}, NULL, 0, 0},
    {"readonly", NULL, {NULL}, NULL, 0, ACL_CONNECTION},
    {"readwrite", NULL, {NULL}, NULL, 0, ACL_CONNECTION},
    {"function|list", "nondeterministic_output_order", {NULL}, NULL, 0, 0},
    {"quit", NULL, {NULL}, NULL, 1, 0},
    {"hello", NULL, {NULL}, NULL, 1, 0},
    {"auth", NULL, {NULL}, NULL, 1, 0},
};

static const struct commandExtras *lookupExtras(const struct redisCommand *cmd,
                                                const struct redisCommand *parent) {
    size_t plen = parent ? strlen(parent->name) : 0;
    for (size_t i = 0; i < sizeof(commandExtras) / sizeof(commandExtras[0]); i++) {
        const char *n = commandExtras[i].name;
        if (parent) {
            if (strncmp(n, parent->name, plen) || n[plen] != '|') continue;
            n += plen + 1;
        }
        if (!strcmp(n, cmd->name)) return &commandExtras[i];
    }
    return NULL;
}

/* Replies words (space-separated) as an array of status or bulk strings. */
static void addReplyWords(client *c, const char *words, int bulk) {
    int n = 0;
    for (const char *p = words; p && *p; p += strspn(p, " ")) {
        n++;
        p += strcspn(p, " ");
    }
    addReplyArrayLen(c, n);
    for (const char *p = words; p && *p; p += strspn(p, " ")) {
        size_t len = strcspn(p, " ");
        if (bulk) addReplyBulkCBuffer(c, p, len);
        else addReplyStatusLength(c, p, len);
        p += len;
    }
}

static void addReplyRangeSpec(client *c, const char *flags, const char *notes, int index, int lastkey,
                              int keystep) {
    addReplyMapLen(c, notes ? 4 : 3);
    if (notes) {
        addReplyBulkCString(c, "notes");
        addReplyBulkCString(c, notes);
    }
    addReplyBulkCString(c, "flags");
    addReplyWords(c, flags, 0);
    addReplyBulkCString(c, "begin_search");
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "type");
    addReplyBulkCString(c, "index");
    addReplyBulkCString(c, "spec");
    addReplyMapLen(c, 1);
    addReplyBulkCString(c, "index");
    addReplyLongLong(c, index);
    addReplyBulkCString(c, "find_keys");
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "type");
    addReplyBulkCString(c, "range");
    addReplyBulkCString(c, "spec");
    addReplyMapLen(c, 3);
    addReplyBulkCString(c, "lastkey");
    addReplyLongLong(c, lastkey);
    addReplyBulkCString(c, "keystep");
    addReplyLongLong(c, keystep);
    addReplyBulkCString(c, "limit");
    addReplyLongLong(c, 0);
}

/* Key specs: Redis's flags where commandExtras has them, else RO+access for
 * reads and RW+update for writes over the table's (first, last, step) keys. */
static void addReplyKeySpecs(client *c, const struct redisCommand *cmd, const struct commandExtras *ex) {
    if (cmd->firstkey <= 0) {
        addReplyArrayLen(c, 0);
        return;
    }
    if (ex && ex->specs[1]) {
        addReplyArrayLen(c, 2);
        for (int i = 0; i < 2; i++) addReplyRangeSpec(c, ex->specs[i], i ? NULL : ex->notes, cmd->firstkey + i, 0, 1);
        return;
    }
    const char *flags = ex && ex->specs[0] ? ex->specs[0] : (cmd->flags & CMD_WRITE) ? "RW update" : "RO access";
    addReplyArrayLen(c, 1);
    addReplyRangeSpec(c, flags, ex ? ex->notes : NULL, cmd->firstkey,
                      cmd->lastkey < 0 ? cmd->lastkey : cmd->lastkey - cmd->firstkey, cmd->keystep);
}

static void addReplyFullName(client *c, const struct redisCommand *cmd, const struct redisCommand *parent) {
    if (!parent) {
        addReplyBulkCString(c, cmd->name);
        return;
    }
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "%s|%s", parent->name, cmd->name);
    addReplyBulkCBuffer(c, buf, (size_t)n);
}

static int countVisible(const struct redisCommand *table) {
    int n = 0;
    for (const struct redisCommand *cmd = table; table && cmd->name; cmd++)
        if (!isHidden(cmd)) n++;
    return n;
}

static void addReplyCommandInfo(client *c, const struct redisCommand *cmd, const struct redisCommand *parent) {
    addReplyArrayLen(c, 10);
    addReplyFullName(c, cmd, parent);
    addReplyLongLong(c, cmd->arity);
    const struct commandExtras *ex = lookupExtras(cmd, parent);
    addReplyCommandFlags(c, cmd, ex ? ex->allow_busy : 0);
    addReplyLongLong(c, cmd->firstkey);
    addReplyLongLong(c, cmd->lastkey);
    addReplyLongLong(c, cmd->keystep);
    unsigned cats = commandAclCategories(cmd, parent);
    int ncats = 0;
    for (int i = 0; i < ACL_CATEGORY_COUNT; i++)
        if (cats & (1u << i)) ncats++;
    addReplyArrayLen(c, ncats);
    for (int i = 0; i < ACL_CATEGORY_COUNT; i++) {
        if (!(cats & (1u << i))) continue;
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "@%s", aclCategoryNames[i]);
        addReplyStatusLength(c, buf, (size_t)n);
    }
    addReplyWords(c, ex ? ex->tips : NULL, 1);
    addReplyKeySpecs(c, cmd, ex);
    addReplyArrayLen(c, countVisible(cmd->subcommands));
    for (const struct redisCommand *sub = cmd->subcommands; sub && sub->name; sub++)
        if (!isHidden(sub)) addReplyCommandInfo(c, sub, cmd);
}

static void addReplyCommandDocs(client *c, const struct redisCommand *cmd) {
    int nsub = countVisible(cmd->subcommands);
    addReplyMapLen(c, nsub ? 5 : 4);
    addReplyBulkCString(c, "summary");
    addReplyBulkCString(c, cmd->summary ? cmd->summary : "");
    addReplyBulkCString(c, "since");
    addReplyBulkCString(c, cmd->since ? cmd->since : "");
    addReplyBulkCString(c, "group");
    addReplyBulkCString(c, cmd->group ? cmd->group : "");
    addReplyBulkCString(c, "complexity");
    addReplyBulkCString(c, cmd->complexity ? cmd->complexity : "");
    if (nsub) {
        addReplyBulkCString(c, "subcommands");
        addReplyMapLen(c, nsub);
        for (const struct redisCommand *sub = cmd->subcommands; sub->name; sub++) {
            if (isHidden(sub)) continue;
            addReplyFullName(c, sub, cmd);
            addReplyCommandDocs(c, sub);
        }
    }
}

/* Resolves "name" or "container|sub" to a visible command. */
static const struct redisCommand *lookupVisible(const slice *name, const struct redisCommand **parent) {
    *parent = NULL;
    const char *bar = memchr(name->ptr, '|', name->len);
    slice first = {name->ptr, bar ? (size_t)(bar - name->ptr) : name->len};
    const struct redisCommand *cmd = lookupCommand(&first);
    if (!cmd || isHidden(cmd)) return NULL;
    if (!bar) return cmd;
    slice rest = {bar + 1, name->len - first.len - 1};
    if (!cmd->subcommands || memchr(rest.ptr, '|', rest.len)) return NULL;
    const struct redisCommand *sub = lookupSubcommand(cmd, &rest);
    if (!sub || isHidden(sub)) return NULL;
    *parent = cmd;
    return sub;
}

static void replyAllCommandInfo(client *c) {
    addReplyArrayLen(c, countVisible(redisCommandTable));
    for (const struct redisCommand *cmd = redisCommandTable; cmd->name; cmd++)
        if (!isHidden(cmd)) addReplyCommandInfo(c, cmd, NULL);
}

void commandCommand(client *c) {
    replyAllCommandInfo(c);
}

void commandCountCommand(client *c) {
    addReplyLongLong(c, countVisible(redisCommandTable));
}

void commandInfoCommand(client *c) {
    if (c->argc == 2) {
        replyAllCommandInfo(c);
        return;
    }
    addReplyArrayLen(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const struct redisCommand *parent, *cmd = lookupVisible(&c->argv[i], &parent);
        if (cmd) addReplyCommandInfo(c, cmd, parent);
        else addReplyNull(c);
    }
}

void commandDocsCommand(client *c) {
    if (c->argc == 2) {
        addReplyMapLen(c, countVisible(redisCommandTable));
        for (const struct redisCommand *cmd = redisCommandTable; cmd->name; cmd++) {
            if (isHidden(cmd)) continue;
            addReplyBulkCString(c, cmd->name);
            addReplyCommandDocs(c, cmd);
        }
        return;
    }
    int found = 0;
    for (int i = 2; i < c->argc; i++) {
        const struct redisCommand *parent;
        if (lookupVisible(&c->argv[i], &parent)) found++;
    }
    addReplyMapLen(c, found);
    for (int i = 2; i < c->argc; i++) {
        const struct redisCommand *parent, *cmd = lookupVisible(&c->argv[i], &parent);
        if (!cmd) continue;
        addReplyFullName(c, cmd, parent);
        addReplyCommandDocs(c, cmd);
    }
}

enum { LIST_ALL, LIST_MODULE, LIST_ACLCAT, LIST_PATTERN };

static int listFilterMatches(const struct redisCommand *cmd, const struct redisCommand *parent, int filter,
                             const slice *arg) {
    switch (filter) {
    case LIST_ALL: return 1;
    case LIST_MODULE: return 0; /* no modules */
    case LIST_ACLCAT: {
        unsigned cats = commandAclCategories(cmd, parent);
        for (int i = 0; i < ACL_CATEGORY_COUNT; i++)
            if ((cats & (1u << i)) && argIs(arg, aclCategoryNames[i])) return 1;
        return 0;
    }
    case LIST_PATTERN: {
        char buf[128];
        int n = parent ? snprintf(buf, sizeof(buf), "%s|%s", parent->name, cmd->name)
                       : snprintf(buf, sizeof(buf), "%s", cmd->name);
        return stringmatchlen(arg->ptr, (int)arg->len, buf, n, 1);
    }
    }
    return 0;
}

/* Adds the matching names of table (and of their subcommands) to c's reply,
 * or only counts them when c is NULL; returns the count. */
static long listCommands(client *c, const struct redisCommand *table, const struct redisCommand *parent, int filter,
                         const slice *arg) {
    long n = 0;
    for (const struct redisCommand *cmd = table; cmd->name; cmd++) {
        if (isHidden(cmd)) continue;
        if (listFilterMatches(cmd, parent, filter, arg)) {
            if (c) addReplyFullName(c, cmd, parent);
            n++;
        }
        if (cmd->subcommands) n += listCommands(c, cmd->subcommands, cmd, filter, arg);
    }
    return n;
}

void commandListCommand(client *c) {
    int filter = LIST_ALL;
    const slice *arg = NULL;
    if (c->argc == 5 && argIs(&c->argv[2], "filterby")) {
        arg = &c->argv[4];
        if (argIs(&c->argv[3], "module")) filter = LIST_MODULE;
        else if (argIs(&c->argv[3], "aclcat")) filter = LIST_ACLCAT;
        else if (argIs(&c->argv[3], "pattern")) filter = LIST_PATTERN;
        else {
            addReplyErrorSyntax(c);
            return;
        }
    } else if (c->argc != 2) {
        addReplyErrorSyntax(c);
        return;
    }
    addReplyArrayLen(c, listCommands(NULL, redisCommandTable, NULL, filter, arg));
    listCommands(c, redisCommandTable, NULL, filter, arg);
}

void commandHelpCommand(client *c) {
    static const char *help[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "HELP",
        "    Prints this help.",
    };
    addReplyArrayLen(c, (long)(sizeof(help) / sizeof(help[0])));
    for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) addReplyStatus(c, help[i]);
}

/* ------------------------------------------------------------------ INFO */

typedef struct infoBuf {
    char *p;
    size_t len, cap;
} infoBuf;

static void infoCat(infoBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void infoCat(infoBuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        serverAssert(n >= 0);
        if (b->p && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 1024;
        while (cap - b->len <= (size_t)n) cap *= 2;
        b->p = realloc(b->p, cap);
        serverAssert(b->p != NULL);
        b->cap = cap;
    }
}

/* Redis's bytesToHuman: "1023B", "1.22M", ... */
static void bytesToHuman(char *buf, size_t len, unsigned long long n) {
    static const char units[] = "KMGTP";
    if (n < 1024) {
        snprintf(buf, len, "%lluB", n);
        return;
    }
    double d = (double)n / 1024;
    for (int i = 0; units[i]; i++, d /= 1024) {
        if (d < 1024 || !units[i + 1]) {
            snprintf(buf, len, "%.2f%c", d, units[i]);
            return;
        }
    }
}

static void infoServer(infoBuf *b) {
    struct utsname name;
    uname(&name);
    long long now_us = ustime();
    long long uptime = server.start_time_ms ? (now_us / 1000 - server.start_time_ms) / 1000 : 0;
    infoCat(b,
            "# Server\r\n"
            "redis_version:%s\r\n"
            "redis_git_sha1:00000000\r\n"
            "redis_git_dirty:0\r\n"
            "redis_mode:standalone\r\n"
            "server_name:%s\r\n"
            "os:%s %s %s\r\n"
            "arch_bits:%d\r\n"
            "multiplexing_api:libuv\r\n"
            "gcc_version:%d.%d.%d\r\n"
            "process_id:%d\r\n"
            "run_id:%s\r\n"
            "tcp_port:%d\r\n"
            "server_time_usec:%lld\r\n"
            "uptime_in_seconds:%lld\r\n"
            "uptime_in_days:%lld\r\n"
            "hz:%d\r\n"
            "configured_hz:%d\r\n"
            "executable:%s\r\n"
            "config_file:%s\r\n",
            RAFTKV_VERSION, RAFTKV_SERVER_NAME, name.sysname, name.release, name.machine, (int)sizeof(long) * 8,
#ifdef __GNUC__
            __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
            0, 0, 0,
#endif
            (int)getpid(), server.runid, server.port, now_us, uptime, uptime / 86400, server.hz, server.hz,
            server.executable ? server.executable : "", server.configfile ? server.configfile : "");
}

static void infoClients(infoBuf *b) {
    infoCat(b,
            "# Clients\r\n"
            "connected_clients:%zu\r\n"
            "cluster_connections:0\r\n"
            "maxclients:%u\r\n"
            "blocked_clients:0\r\n",
            clientsCount(), server.maxclients);
}

static size_t processRss(void) {
    FILE *fp = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (fp) {
        if (fscanf(fp, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(fp);
    }
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

static void infoMemory(infoBuf *b) {
    size_t allocated, active, resident;
    allocatorStats(&allocated, &active, &resident);
    if (allocated > stat_peak_memory) stat_peak_memory = allocated;
    size_t rss = processRss();
    unsigned long long total = (unsigned long long)sysconf(_SC_PHYS_PAGES) * (unsigned long long)sysconf(_SC_PAGESIZE);
    const char *jever = "";
    size_t sz = sizeof(jever);
    mallctl("version", &jever, &sz, NULL, 0);
    char h_used[32], h_rss[32], h_peak[32], h_total[32];
    bytesToHuman(h_used, sizeof(h_used), allocated);
    bytesToHuman(h_rss, sizeof(h_rss), rss);
    bytesToHuman(h_peak, sizeof(h_peak), stat_peak_memory);
    bytesToHuman(h_total, sizeof(h_total), total);
    storeStats st;
    storeGetStats(&st);
    /* jemalloc's version string is "5.3.0-0-g54eaed1d...": keep the release. */
    int verlen = (int)strcspn(jever, "-");
    infoCat(b,
            "# Memory\r\n"
            "used_memory:%zu\r\n"
            "used_memory_human:%s\r\n"
            "used_memory_rss:%zu\r\n"
            "used_memory_rss_human:%s\r\n"
            "used_memory_peak:%zu\r\n"
            "used_memory_peak_human:%s\r\n"
            "allocator_allocated:%zu\r\n"
            "allocator_active:%zu\r\n"
            "allocator_resident:%zu\r\n"
            "total_system_memory:%llu\r\n"
            "total_system_memory_human:%s\r\n"
            "maxmemory:0\r\n"
            "maxmemory_human:0B\r\n"
            "maxmemory_policy:noeviction\r\n"
            "mem_fragmentation_ratio:%.2f\r\n"
            "mem_allocator:jemalloc-%.*s\r\n"
            "rocksdb_block_cache_capacity:%llu\r\n"
            "rocksdb_block_cache_usage:%llu\r\n"
            "rocksdb_block_cache_pinned_usage:%llu\r\n"
            "rocksdb_memtables_bytes:%llu\r\n"
            "rocksdb_data_sst_bytes:%llu\r\n"
            "rocksdb_log_sst_bytes:%llu\r\n"
            "rocksdb_estimate_num_keys:%llu\r\n",
            allocated, h_used, rss, h_rss, stat_peak_memory, h_peak, allocated, active, resident, total, h_total,
            allocated ? (double)rss / (double)allocated : 0.0, verlen, jever,
            (unsigned long long)st.block_cache_capacity_bytes, (unsigned long long)st.block_cache_usage_bytes,
            (unsigned long long)st.block_cache_pinned_bytes, (unsigned long long)st.memtable_bytes,
            (unsigned long long)st.data_sst_bytes, (unsigned long long)st.log_sst_bytes,
            (unsigned long long)st.data_keys_estimate);
}

/* Redis's persistence fields, answered honestly: no RDB and no fork ever;
 * the Raft log plays the AOF's part, fsynced on every write. */
static void infoPersistence(infoBuf *b) {
    infoCat(b,
            "# Persistence\r\n"
            "loading:0\r\n"
            "async_loading:0\r\n"
            "rdb_bgsave_in_progress:0\r\n"
            "rdb_last_bgsave_status:ok\r\n"
            "rdb_saves:0\r\n"
            "aof_enabled:1\r\n"
            "aof_rewrite_in_progress:0\r\n"
            "aof_rewrite_scheduled:0\r\n"
            "aof_last_bgrewrite_status:ok\r\n"
            "aof_rewrites:0\r\n"
            "aof_last_write_status:ok\r\n");
}

static void infoStats(infoBuf *b) {
    infoCat(b,
            "# Stats\r\n"
            "total_connections_received:%lld\r\n"
            "total_commands_processed:%lld\r\n"
            "instantaneous_ops_per_sec:%lld\r\n"
            "total_net_input_bytes:%lld\r\n"
            "total_net_output_bytes:%lld\r\n"
            "instantaneous_input_kbps:%.2f\r\n"
            "instantaneous_output_kbps:%.2f\r\n"
            "rejected_connections:%lld\r\n"
            "expired_keys:%lld\r\n"
            "evicted_keys:0\r\n"
            "keyspace_hits:%lld\r\n"
            "keyspace_misses:%lld\r\n"
            "total_error_replies:%lld\r\n",
            server.stat_numconnections, server.stat_numcommands, getMetric(METRIC_COMMAND),
            server.stat_net_input_bytes, server.stat_net_output_bytes, (double)getMetric(METRIC_NET_INPUT) / 1024,
            (double)getMetric(METRIC_NET_OUTPUT) / 1024, server.stat_rejected_conn, server.stat_expiredkeys,
            server.stat_keyspace_hits, server.stat_keyspace_misses, server.stat_total_error_replies);
}

static void infoReplication(infoBuf *b) {
    infoCat(b,
            "# Replication\r\n"
            "role:master\r\n"
            "connected_slaves:0\r\n"
            "master_failover_state:no-failover\r\n"
            "master_repl_offset:0\r\n"
            "second_repl_offset:-1\r\n"
            "repl_backlog_active:0\r\n");
}

static void infoCpu(infoBuf *b) {
    struct rusage self, children, thread;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    getrusage(RUSAGE_THREAD, &thread);
    infoCat(b,
            "# CPU\r\n"
            "used_cpu_sys:%ld.%06ld\r\n"
            "used_cpu_user:%ld.%06ld\r\n"
            "used_cpu_sys_children:%ld.%06ld\r\n"
            "used_cpu_user_children:%ld.%06ld\r\n"
            "used_cpu_sys_main_thread:%ld.%06ld\r\n"
            "used_cpu_user_main_thread:%ld.%06ld\r\n",
            (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec,
            (long)self.ru_utime.tv_usec, (long)children.ru_stime.tv_sec, (long)children.ru_stime.tv_usec,
            (long)children.ru_utime.tv_sec, (long)children.ru_utime.tv_usec, (long)thread.ru_stime.tv_sec,
            (long)thread.ru_stime.tv_usec, (long)thread.ru_utime.tv_sec, (long)thread.ru_utime.tv_usec);
}

static void infoModules(infoBuf *b) {
    infoCat(b, "# Modules\r\n");
}

static void infoCommandStat(infoBuf *b, const struct redisCommand *cmd, const struct redisCommand *parent) {
    struct cmdStat *st = cmdStatFor(cmd, 0);
    if (!st || (!st->calls && !st->rejected && !st->failed)) return;
    infoCat(b, "cmdstat_%s%s%s:calls=%lld,usec=%lld,usec_per_call=%.2f,rejected_calls=%lld,failed_calls=%lld\r\n",
            parent ? parent->name : "", parent ? "|" : "", cmd->name, st->calls, st->usec,
            st->calls ? (double)st->usec / (double)st->calls : 0.0, st->rejected, st->failed);
}

static void infoCommandStats(infoBuf *b) {
    infoCat(b, "# Commandstats\r\n");
    for (const struct redisCommand *cmd = redisCommandTable; cmd->name; cmd++) {
        infoCommandStat(b, cmd, NULL);
        for (const struct redisCommand *sub = cmd->subcommands; sub && sub->name; sub++)
            infoCommandStat(b, sub, cmd);
    }
}

static void infoErrorStats(infoBuf *b) {
    infoCat(b, "# Errorstats\r\n");
    for (int i = 0; i < errStatsLen; i++) infoCat(b, "errorstat_%s:count=%lld\r\n", errStats[i].code, errStats[i].count);
}

static void infoKeyspace(infoBuf *b) {
    infoCat(b, "# Keyspace\r\n");
    long long keys = dbSize();
    if (keys > 0) infoCat(b, "db0:keys=%lld,expires=%lld,avg_ttl=0\r\n", keys, dbExpiresCount());
}

static void infoRaft(infoBuf *b) {
    replicaInfo ri;
    replicaGetInfo(&ri);
    static const char *modes[] = {"linearizable", "lease", "stale"};
    infoCat(b,
            "# Raft\r\n"
            "raft_node_id:%llu\r\n"
            "raft_role:%s\r\n"
            "raft_term:%llu\r\n"
            "raft_leader_id:%llu\r\n"
            "raft_commit_index:%llu\r\n"
            "raft_applied_index:%llu\r\n"
            "raft_first_index:%llu\r\n"
            "raft_last_index:%llu\r\n"
            "raft_proposals:%lld\r\n"
            "raft_entries_applied:%lld\r\n"
            "raft_read_mode:%s\r\n",
            (unsigned long long)ri.node_id, ri.role ? ri.role : "", (unsigned long long)ri.term,
            (unsigned long long)ri.leader_id, (unsigned long long)ri.commit_index,
            (unsigned long long)ri.applied_index, (unsigned long long)ri.first_index,
            (unsigned long long)ri.last_index, server.stat_proposals, server.stat_entries_applied,
            server.read_mode >= 0 && server.read_mode <= READ_STALE ? modes[server.read_mode] : "");
    const char *leader_addr = ri.leader_id ? clusterNodeAddr(ri.leader_id) : NULL;
    infoCat(b, "raft_leader_addr:%s\r\n", leader_addr ? leader_addr : "");
    infoCat(b, "raft_voters:%d\r\nraft_learners:%d\r\n", ri.nvoters, ri.nlearners);
    snapshotStats ss;
    snapshotGetStats(&ss);
    infoCat(b,
            "raft_snapshot_index:%llu\r\n"
            "raft_snapshot_term:%llu\r\n"
            "raft_snapshot_bytes:%llu\r\n"
            "raft_snapshot_in_progress:%d\r\n"
            "raft_snapshots_taken:%lld\r\n"
            "raft_snapshots_sent:%lld\r\n"
            "raft_snapshots_installed:%lld\r\n"
            "raft_snapshot_failures:%lld\r\n"
            "raft_snapshot_sending:%d\r\n"
            "raft_snapshot_bytes_sent:%llu\r\n"
            "raft_snapshot_receiving:%d\r\n"
            "raft_snapshot_receive_bytes:%llu\r\n"
            "raft_snapshot_receive_total_bytes:%llu\r\n",
            (unsigned long long)ss.index, (unsigned long long)ss.term, (unsigned long long)ss.bytes, ss.in_progress,
            ss.taken, ss.sent, ss.installed, ss.failed, ss.sending, (unsigned long long)ss.bytes_sent, ss.receiving,
            (unsigned long long)ss.receive_bytes, (unsigned long long)ss.receive_total_bytes);
    replicaPeer peers[CLUSTER_MAX_MEMBERS];
    int n = replicaGetPeers(peers, CLUSTER_MAX_MEMBERS);
    for (int i = 0; i < n; i++) {
        const char *addr = clusterNodeAddr(peers[i].id);
        infoCat(b, "raft_peer%d:id=%llu,addr=%s,match_index=%llu,next_index=%llu,last_contact_ms=%lld,connected=%s,learner=%s\r\n",
                i, (unsigned long long)peers[i].id, addr ? addr : "", (unsigned long long)peers[i].match_index,
                (unsigned long long)peers[i].next_index, peers[i].last_contact_ms,
                transportPeerConnected(peers[i].id) ? "yes" : "no", peers[i].is_learner ? "yes" : "no");
    }
}

static void infoCluster(infoBuf *b) {
    infoCat(b, "# Cluster\r\ncluster_enabled:1\r\n");
}

/* Sections in output order; `dflt` ones make "default" (and no argument),
 * "all" and "everything" select every one. */
static const struct {
    const char *name;
    void (*gen)(infoBuf *b);
    int dflt;
} infoSections[] = {
    {"server", infoServer, 1},       {"clients", infoClients, 1},   {"memory", infoMemory, 1},
    {"persistence", infoPersistence, 1}, {"stats", infoStats, 1},   {"replication", infoReplication, 1},
    {"cpu", infoCpu, 1},             {"modules", infoModules, 1},   {"commandstats", infoCommandStats, 0},
    {"errorstats", infoErrorStats, 1}, {"cluster", infoCluster, 1}, {"keyspace", infoKeyspace, 1},
    {"raft", infoRaft, 1},
};
#define INFO_SECTIONS (sizeof(infoSections) / sizeof(infoSections[0]))

char *genRedisInfoString(int nsections, const slice *sections, size_t *len) {
    int want[INFO_SECTIONS] = {0};
    if (nsections == 0) {
        for (size_t i = 0; i < INFO_SECTIONS; i++) want[i] = infoSections[i].dflt;
    }
    for (int s = 0; s < nsections; s++) {
        const slice *a = &sections[s];
        for (size_t i = 0; i < INFO_SECTIONS; i++) {
            if (argIs(a, "everything") || argIs(a, "all") ||
                (argIs(a, "default") && infoSections[i].dflt) || argIs(a, infoSections[i].name))
                want[i] = 1;
        }
    }
    infoBuf b = {NULL, 0, 0};
    infoCat(&b, "%s", "");
    for (size_t i = 0; i < INFO_SECTIONS; i++) {
        if (!want[i]) continue;
        if (b.len) infoCat(&b, "\r\n");
        infoSections[i].gen(&b);
    }
    *len = b.len;
    return b.p;
}

void raftInfoCommand(client *c) {
    slice section = {"raft", 4};
    size_t len;
    char *text = genRedisInfoString(1, &section, &len);
    addReplyVerbatim(c, text, len);
    free(text);
}

void infoCommand(client *c) {
    size_t len;
    char *text = genRedisInfoString(c->argc - 1, c->argv + 1, &len);
    addReplyVerbatim(c, text, len);
    free(text);
}
