/* config.c — the server's options: one declarative table, the config file,
 * --name value overrides on the command line, and CONFIG GET/SET/RESETSTAT/HELP.
 *
 * Owns: the option table below and the strings it stores in `server`
 * (server.bindaddr, dir, logfile, requirepass, configfile: malloc'd here, freed
 * when replaced). Every option has a textual default that goes through the same
 * parser as a file or CONFIG SET value, so a default can never be out of bounds.
 *
 * Happy path: main calls loadServerConfig(argc, argv); it sets the defaults,
 * reads the file named by the first non "--" argument, applies the "--name
 * value" overrides in order, checks cross-option rules, creates `dir`.
 * Failure modes: a bad line or argument prints a Redis-style fatal block naming
 * the option, the file and line (or the argument) and the reason, then exit(1).
 * CONFIG SET validates every pair before changing anything, and restores the
 * previous values if one setting fails, so it is all or nothing as in Redis 7.0. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "commands.h"
#include "server.h"
#include "util.h"

/* ------------------------------------------------------------------ table */

typedef enum { OPT_BOOL, OPT_INT, OPT_MEMORY, OPT_STRING, OPT_ENUM, OPT_CONST } optType;
/* How an integer option is stored in `server`. */
typedef enum { F_INT, F_UINT, F_LL, F_SIZE, F_ULL } fieldType;

typedef struct configEnum {
    const char *name;
    int val;
} configEnum;

typedef struct standardConfig {
    const char *name;
    optType type;
    int mutable_;                 /* CONFIG SET allowed */
    void *ptr;                    /* field in `server`; NULL for OPT_CONST */
    fieldType ftype;              /* OPT_INT / OPT_MEMORY */
    const char *deflt;            /* textual default (the fixed value for OPT_CONST) */
    long long min, max;           /* OPT_INT / OPT_MEMORY bounds, inclusive */
    const configEnum *enums;      /* OPT_ENUM */
} standardConfig;

static const configEnum loglevelEnum[] = {
    {"debug", LL_DEBUG}, {"verbose", LL_VERBOSE}, {"notice", LL_NOTICE}, {"warning", LL_WARNING}, {NULL, 0}};
static const configEnum readmodeEnum[] = {
    {"linearizable", READ_LINEARIZABLE}, {"lease", READ_LEASE}, {"stale", READ_STALE}, {NULL, 0}};

#define MB (1024LL * 1024)
#define IMMUTABLE 0
#define MUTABLE 1
#define INTOPT(n, m, f, ft, d, lo, hi) {n, OPT_INT, m, &server.f, ft, d, lo, hi, NULL}
#define MEMOPT(n, m, f, ft, d, lo, hi) {n, OPT_MEMORY, m, &server.f, ft, d, lo, hi, NULL}
#define STROPT(n, m, f, d) {n, OPT_STRING, m, &server.f, F_INT, d, 0, 0, NULL}
#define ENUMOPT(n, m, f, d, e) {n, OPT_ENUM, m, &server.f, F_INT, d, 0, 0, e}
#define BOOLOPT(n, m, f, d) {n, OPT_BOOL, m, &server.f, F_INT, d, 0, 0, NULL}
#define CONSTOPT(n, v) {n, OPT_CONST, MUTABLE, NULL, F_INT, v, 0, 0, NULL}

static const standardConfig configs[] = {
    STROPT("bind", IMMUTABLE, bindaddr, "127.0.0.1"),
    INTOPT("port", IMMUTABLE, port, F_INT, "6379", 0, 65535),
    STROPT("dir", IMMUTABLE, dir, "./data"),
    STROPT("logfile", IMMUTABLE, logfile, ""),
    ENUMOPT("loglevel", MUTABLE, verbosity, "notice", loglevelEnum),
    STROPT("requirepass", MUTABLE, requirepass, ""),
    INTOPT("maxclients", MUTABLE, maxclients, F_UINT, "10000", 1, UINT_MAX),
    MEMOPT("proto-max-bulk-len", MUTABLE, proto_max_bulk_len, F_LL, "512mb", MB, LLONG_MAX),
    MEMOPT("client-query-buffer-limit", MUTABLE, client_max_querybuf_len, F_SIZE, "1gb", MB, LLONG_MAX),
    INTOPT("hz", MUTABLE, hz, F_INT, "10", 0, INT_MAX),
    INTOPT("databases", IMMUTABLE, databases, F_INT, "1", 1, 1),
    INTOPT("timeout", MUTABLE, maxidletime, F_LL, "0", 0, INT_MAX),
    INTOPT("tcp-keepalive", MUTABLE, tcpkeepalive, F_INT, "300", 0, INT_MAX),
    INTOPT("tcp-backlog", IMMUTABLE, tcp_backlog, F_INT, "511", 0, INT_MAX),
    BOOLOPT("active-expire-enabled", MUTABLE, active_expire_enabled, "yes"),
    ENUMOPT("read-mode", MUTABLE, read_mode, "linearizable", readmodeEnum),
    INTOPT("election-timeout-ms", IMMUTABLE, election_timeout_ms, F_LL, "1000", 10, 3600000),
    INTOPT("heartbeat-ms", IMMUTABLE, heartbeat_ms, F_LL, "100", 1, 3600000),
    INTOPT("node-id", IMMUTABLE, node_id, F_ULL, "1", 1, LLONG_MAX),
    STROPT("cluster-members", IMMUTABLE, cluster_members, ""),
    STROPT("cluster-join", IMMUTABLE, cluster_join, ""),
    INTOPT("learner-promote-lag-entries", MUTABLE, learner_promote_lag_entries, F_LL, "100", 0, LLONG_MAX),
    INTOPT("snapshot-threshold-entries", MUTABLE, snapshot_threshold_entries, F_LL, "100000", 1, LLONG_MAX),
    INTOPT("snapshot-trailing-entries", MUTABLE, snapshot_trailing_entries, F_LL, "5000", 0, LLONG_MAX),
    MEMOPT("snapshot-chunk-bytes", MUTABLE, snapshot_chunk_bytes, F_LL, "1mb", 4096, 64 * MB),
    STROPT("cluster-id", IMMUTABLE, cluster_id, "raftkv"),
    STROPT("cluster-secret", IMMUTABLE, cluster_secret, ""),
    STROPT("cluster-announce-ip", IMMUTABLE, cluster_announce_ip, ""),
    INTOPT("cluster-announce-port", IMMUTABLE, cluster_announce_port, F_INT, "0", 0, 65535),
    MEMOPT("rocksdb-cache-bytes", IMMUTABLE, rocksdb_cache_bytes, F_LL, "256mb", MB, LLONG_MAX),
    MEMOPT("rocksdb-write-buffer-bytes", IMMUTABLE, rocksdb_write_buffer_bytes, F_LL, "8mb", MB, LLONG_MAX),
    MEMOPT("read-cache-bytes", IMMUTABLE, read_cache_bytes, F_LL, "64mb", 0, LLONG_MAX),
    MEMOPT("max-batch-bytes", MUTABLE, max_batch_bytes, F_LL, "4mb", 1024, 1024 * MB),
    /* Read-only compatibility values: tools ask for them (redis-benchmark
     * reads save and appendonly). Durability is always on: every write is
     * fsynced to the Raft log before it is acknowledged. */
    CONSTOPT("save", ""),
    CONSTOPT("appendonly", "yes"),
    CONSTOPT("appendfsync", "always"),
};
#define NUM_CONFIGS (sizeof(configs) / sizeof(configs[0]))

static const standardConfig *lookupConfig(const char *name) {
    for (size_t i = 0; i < NUM_CONFIGS; i++)
        if (!strcasecmp(configs[i].name, name)) return &configs[i];
    return NULL;
}

/* ------------------------------------------------------------------ values */

/* Redis's memtoull: digits with an optional unit b, k, kb, m, mb, g, gb
 * (case-insensitive; k = 1000, kb = 1024). No sign, no fraction. */
static int parseMemory(const char *s, unsigned long long *out) {
    size_t n = strlen(s), digits = 0;
    while (digits < n && isdigit((unsigned char)s[digits])) digits++;
    if (digits == 0) return 0;
    const char *u = s + digits;
    unsigned long long mul;
    if (*u == '\0' || !strcasecmp(u, "b")) mul = 1;
    else if (!strcasecmp(u, "k")) mul = 1000;
    else if (!strcasecmp(u, "kb")) mul = 1024;
    else if (!strcasecmp(u, "m")) mul = 1000ULL * 1000;
    else if (!strcasecmp(u, "mb")) mul = 1024ULL * 1024;
    else if (!strcasecmp(u, "g")) mul = 1000ULL * 1000 * 1000;
    else if (!strcasecmp(u, "gb")) mul = 1024ULL * 1024 * 1024;
    else return 0;
    unsigned long long v = 0;
    for (size_t i = 0; i < digits; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (mul != 1 && v > ULLONG_MAX / mul) return 0;
    *out = v * mul;
    return 1;
}

static void storeInt(const standardConfig *cf, long long v) {
    switch (cf->ftype) {
    case F_INT: *(int *)cf->ptr = (int)v; break;
    case F_UINT: *(unsigned *)cf->ptr = (unsigned)v; break;
    case F_LL: *(long long *)cf->ptr = v; break;
    case F_SIZE: *(size_t *)cf->ptr = (size_t)v; break;
    case F_ULL: *(unsigned long long *)cf->ptr = (unsigned long long)v; break;
    }
}

static long long loadInt(const standardConfig *cf) {
    switch (cf->ftype) {
    case F_INT: return *(int *)cf->ptr;
    case F_UINT: return *(unsigned *)cf->ptr;
    case F_LL: return *(long long *)cf->ptr;
    case F_SIZE: return (long long)*(size_t *)cf->ptr;
    case F_ULL: return (long long)*(unsigned long long *)cf->ptr;
    }
    return 0;
}

/* Why a read-only compatibility option refuses another value. */
static const char *constReason(const standardConfig *cf) {
    return !strcmp(cf->name, "save") ? "raftkv takes no snapshots: save is always \"\""
                                     : "fixed in raftkv: every write is fsynced before it is acknowledged";
}

/* Parses `val` for cf without storing it. Integers go to *iv, strings stay in
 * val. Returns 1, or 0 with *err set to Redis's static reason text. */
static int parseValue(const standardConfig *cf, const char *val, long long *iv, const char **err) {
    static char boundsErr[128];
    switch (cf->type) {
    case OPT_BOOL:
        if (!strcasecmp(val, "yes")) *iv = 1;
        else if (!strcasecmp(val, "no")) *iv = 0;
        else {
            *err = "argument must be 'yes' or 'no'";
            return 0;
        }
        return 1;
    case OPT_ENUM:
        for (const configEnum *e = cf->enums; e->name; e++) {
            if (!strcasecmp(e->name, val)) {
                *iv = e->val;
                return 1;
            }
        }
        *err = cf->enums == loglevelEnum
                   ? "argument(s) must be one of the following: debug, verbose, notice, warning"
                   : "argument(s) must be one of the following: linearizable, lease, stale";
        return 0;
    case OPT_INT:
    case OPT_MEMORY: {
        long long v;
        if (cf->type == OPT_INT) {
            if (!string2ll(val, strlen(val), &v)) {
                *err = "argument couldn't be parsed into an integer";
                return 0;
            }
        } else {
            unsigned long long u;
            if (!parseMemory(val, &u)) {
                *err = "argument must be a memory value";
                return 0;
            }
            /* Above LLONG_MAX: -1 is below every option's minimum. */
            v = u > (unsigned long long)LLONG_MAX ? -1 : (long long)u;
        }
        if (v < cf->min || v > cf->max) {
            snprintf(boundsErr, sizeof(boundsErr), "argument must be between %lld and %lld inclusive",
                     cf->min, cf->max);
            *err = boundsErr;
            return 0;
        }
        *iv = v;
        return 1;
    }
    case OPT_STRING:
        return 1;
    case OPT_CONST:
        if (strcasecmp(val, cf->deflt)) {
            *err = constReason(cf);
            return 0;
        }
        return 1;
    }
    return 0;
}

/* Side effects some options need once set. */
static void applyValue(const standardConfig *cf) {
    if (cf->ptr == &server.hz) {
        if (server.hz < 1) server.hz = 1;
        if (server.hz > 500) server.hz = 500;
    }
}

static int setValue(const standardConfig *cf, const char *val, const char **err) {
    long long iv = 0;
    if (!parseValue(cf, val, &iv, err)) return 0;
    if (cf->type == OPT_STRING) {
        char **field = cf->ptr;
        char *copy = strdup(val);
        serverAssert(copy != NULL);
        free(*field);
        *field = copy;
    } else if (cf->type != OPT_CONST) {
        storeInt(cf, iv);
    }
    applyValue(cf);
    return 1;
}

/* The value CONFIG GET shows; returns buf or a string the config owns. */
static const char *getValue(const standardConfig *cf, char *buf, size_t len) {
    switch (cf->type) {
    case OPT_BOOL: return loadInt(cf) ? "yes" : "no";
    case OPT_ENUM:
        for (const configEnum *e = cf->enums; e->name; e++)
            if (e->val == loadInt(cf)) return e->name;
        return "";
    case OPT_INT:
    case OPT_MEMORY:
        if (cf->ftype == F_ULL) snprintf(buf, len, "%llu", *(unsigned long long *)cf->ptr);
        else if (cf->ftype == F_SIZE) snprintf(buf, len, "%zu", *(size_t *)cf->ptr);
        else snprintf(buf, len, "%lld", loadInt(cf));
        return buf;
    case OPT_STRING: {
        char *s = *(char **)cf->ptr;
        return s ? s : "";
    }
    case OPT_CONST: return cf->deflt;
    }
    return "";
}

void initServerConfigDefaults(void) {
    for (size_t i = 0; i < NUM_CONFIGS; i++) {
        const char *err;
        serverAssert(setValue(&configs[i], configs[i].deflt, &err));
    }
}

/* ------------------------------------------------------------------ files */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void pushArg(char ***argv, int *argc, int *cap, char *arg, size_t len) {
    if (*argc == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *argv = realloc(*argv, sizeof(char *) * (size_t)*cap);
        serverAssert(*argv != NULL);
    }
    arg[len] = '\0';
    (*argv)[(*argc)++] = arg;
}

void configFreeArgs(int argc, char **argv) {
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
}

int configSplitArgs(const char *line, int *argc_out, char ***argv_out) {
    const char *p = line;
    char **argv = NULL;
    int argc = 0, cap = 0;
    for (;;) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        char *cur = malloc(strlen(p) + 1);
        serverAssert(cur != NULL);
        size_t n = 0;
        int inq = 0, insq = 0, done = 0;
        while (!done) {
            if (inq) {
                if (!*p) goto err;
                if (p[0] == '\\' && p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
                    cur[n++] = (char)(hexval(p[2]) * 16 + hexval(p[3]));
                    p += 3;
                } else if (p[0] == '\\' && p[1]) {
                    char c;
                    p++;
                    switch (*p) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = *p; break;
                    }
                    cur[n++] = c;
                } else if (*p == '"') {
                    /* A closing quote must be followed by a space or the end. */
                    if (p[1] && !isspace((unsigned char)p[1])) goto err;
                    done = 1;
                } else {
                    cur[n++] = *p;
                }
            } else if (insq) {
                if (!*p) goto err;
                if (p[0] == '\\' && p[1] == '\'') {
                    p++;
                    cur[n++] = '\'';
                } else if (*p == '\'') {
                    if (p[1] && !isspace((unsigned char)p[1])) goto err;
                    done = 1;
                } else {
                    cur[n++] = *p;
                }
            } else {
                switch (*p) {
                case ' ': case '\n': case '\r': case '\t': case '\0': done = 1; break;
                case '"': inq = 1; break;
                case '\'': insq = 1; break;
                default: cur[n++] = *p; break;
                }
            }
            if (*p) p++;
        }
        pushArg(&argv, &argc, &cap, cur, n);
        continue;
    err:
        free(cur);
        configFreeArgs(argc, argv);
        return C_ERR;
    }
    *argc_out = argc;
    *argv_out = argv;
    return C_OK;
}

static char *dupPrintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupPrintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    serverAssert(n >= 0);
    return s;
}

/* Applies one directive (argv[0] = name). Returns C_OK or C_ERR with *err a
 * static reason text. */
static int applyDirective(int argc, char **argv, const char **err) {
    const standardConfig *cf = lookupConfig(argv[0]);
    if (!cf) {
        *err = "Bad directive or wrong number of arguments";
        return C_ERR;
    }
    if (argc != 2) {
        *err = cf->type == OPT_CONST ? constReason(cf) : "wrong number of arguments";
        return C_ERR;
    }
    return setValue(cf, argv[1], err) ? C_OK : C_ERR;
}

int loadServerConfigFromString(const char *config, const char *origin, char **err) {
    const char *line = config;
    int linenum = 0;
    while (line && *line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        linenum++;
        char *buf = strndup(line, len);
        serverAssert(buf != NULL);
        line = eol ? eol + 1 : NULL;
        /* Trim like Redis: spaces, tabs, CR and LF on both sides. */
        char *s = buf, *e = buf + len;
        while (*s && strchr(" \t\r\n", *s)) s++;
        while (e > s && strchr(" \t\r\n", e[-1])) e--;
        *e = '\0';
        if (*s == '\0' || *s == '#') {
            free(buf);
            continue;
        }
        int argc;
        char **argv;
        const char *reason = NULL;
        if (configSplitArgs(s, &argc, &argv) == C_ERR) {
            reason = "Unbalanced quotes in configuration line";
        } else {
            if (applyDirective(argc, argv, &reason) == C_OK) reason = NULL;
            configFreeArgs(argc, argv);
        }
        if (reason) {
            *err = dupPrintf("Reading the configuration file %s, at line %d\n>>> '%s'\n%s", origin, linenum, s,
                             reason);
            free(buf);
            return C_ERR;
        }
        free(buf);
    }
    return C_OK;
}

static char *readWholeFile(const char *path, char **err) {
    FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!fp) {
        *err = dupPrintf("Fatal error, can't open config file '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    serverAssert(text != NULL);
    size_t n;
    while ((n = fread(text + len, 1, cap - len - 1, fp)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            cap *= 2;
            text = realloc(text, cap);
            serverAssert(text != NULL);
        }
    }
    text[len] = '\0';
    if (fp != stdin) fclose(fp);
    return text;
}

static void configFatal(const char *msg) {
    fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (Redis %s) ***\n%s\n", RAFTKV_VERSION, msg);
    exit(1);
}

static void usage(void) {
    fprintf(stderr,
            "Usage: ./raftkv-server [/path/to/raftkv.conf] [options] [-]\n"
            "       ./raftkv-server - (read config from stdin)\n"
            "       ./raftkv-server -v or --version\n"
            "       ./raftkv-server -h or --help\n\n"
            "Examples:\n"
            "       ./raftkv-server (run the server with default conf)\n"
            "       ./raftkv-server conf/raftkv.conf\n"
            "       ./raftkv-server --port 7777\n"
            "       ./raftkv-server conf/raftkv.conf --node-id 2 --dir ./data2 --loglevel verbose\n\n"
            "Every option of the config file can be given as --name value; see conf/raftkv.conf.\n");
    exit(1);
}

/* Rules between options, checked once everything is read. */
static int checkConfig(char **err) {
    if (server.heartbeat_ms >= server.election_timeout_ms) {
        *err = dupPrintf("heartbeat-ms (%lld) must be smaller than election-timeout-ms (%lld)", server.heartbeat_ms,
                         server.election_timeout_ms);
        return C_ERR;
    }
    /* mkdir -p: each missing component of dir. */
    char *path = strdup(server.dir);
    serverAssert(path != NULL);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0755) == -1 && errno != EEXIST) {
            *err = dupPrintf("Can't create the data directory '%s' (dir): %s: %s", server.dir, path,
                             strerror(errno));
            free(path);
            return C_ERR;
        }
        *p = saved;
        if (saved == '\0') break;
    }
    free(path);
    return C_OK;
}

int loadServerConfig(int argc, char **argv) {
    initServerConfigDefaults();
    if (argc >= 2) {
        if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version")) {
            printf("%s server v=%s (Redis %s protocol) malloc=jemalloc bits=%d\n", RAFTKV_SERVER_NAME,
                   RAFTKV_VERSION, RAFTKV_VERSION, (int)sizeof(long) * 8);
            exit(0);
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) usage();
    }
    int j = 1;
    char *err = NULL;
    if (j < argc && strncmp(argv[j], "--", 2)) {
        free(server.configfile);
        server.configfile = realpath(argv[j], NULL);
        if (!server.configfile) server.configfile = strdup(argv[j]);
        char *text = readWholeFile(argv[j], &err);
        if (!text) configFatal(err);
        if (loadServerConfigFromString(text, argv[j], &err) == C_ERR) configFatal(err);
        free(text);
        j++;
    }
    while (j < argc) {
        if (strncmp(argv[j], "--", 2) || argv[j][2] == '\0') {
            err = dupPrintf("Reading the command line, at argument %d\n>>> '%s'\n"
                            "expected an option name starting with --", j, argv[j]);
            configFatal(err);
        }
        int first = j++;
        while (j < argc && strncmp(argv[j], "--", 2)) j++;
        int nargs = j - first;
        char **dargv = malloc(sizeof(char *) * (size_t)nargs);
        serverAssert(dargv != NULL);
        dargv[0] = argv[first] + 2;
        for (int k = 1; k < nargs; k++) dargv[k] = argv[first + k];
        const char *reason;
        if (applyDirective(nargs, dargv, &reason) == C_ERR) {
            size_t cmdlen = 0;
            for (int k = first; k < j; k++) cmdlen += strlen(argv[k]) + 1;
            char *cmd = malloc(cmdlen + 1);
            serverAssert(cmd != NULL);
            cmd[0] = '\0';
            for (int k = first; k < j; k++) {
                if (k > first) strcat(cmd, " ");
                strcat(cmd, argv[k]);
            }
            err = dupPrintf("Reading the command line, at argument %d\n>>> '%s'\n%s", first, cmd, reason);
            configFatal(err);
        }
        free(dargv);
    }
    if (checkConfig(&err) == C_ERR) configFatal(err);
    return C_OK;
}

/* ------------------------------------------------------------------ CONFIG */

void configGetCommand(client *c) {
    /* Each option once, in the order the patterns first match it. */
    unsigned char seen[NUM_CONFIGS];
    const char *shown[NUM_CONFIGS];
    size_t shownlen[NUM_CONFIGS];
    const standardConfig *order[NUM_CONFIGS];
    size_t n = 0;
    memset(seen, 0, sizeof(seen));
    for (int i = 2; i < c->argc; i++) {
        const slice *pat = &c->argv[i];
        if (!memchr(pat->ptr, '*', pat->len) && !memchr(pat->ptr, '?', pat->len) &&
            !memchr(pat->ptr, '[', pat->len)) {
            /* An exact name is looked up as given and echoed as given, like Redis. */
            for (size_t k = 0; k < NUM_CONFIGS; k++) {
                if (!seen[k] && argIs(pat, configs[k].name)) {
                    seen[k] = 1;
                    shown[n] = pat->ptr;
                    shownlen[n] = pat->len;
                    order[n++] = &configs[k];
                }
            }
            continue;
        }
        for (size_t k = 0; k < NUM_CONFIGS; k++) {
            if (seen[k]) continue;
            if (stringmatchlen(pat->ptr, (int)pat->len, configs[k].name, (int)strlen(configs[k].name), 1)) {
                seen[k] = 1;
                shown[n] = configs[k].name;
                shownlen[n] = strlen(configs[k].name);
                order[n++] = &configs[k];
            }
        }
    }
    addReplyMapLen(c, (long)n);
    for (size_t k = 0; k < n; k++) {
        char buf[32];
        addReplyBulkCBuffer(c, shown[k], shownlen[k]);
        addReplyBulkCString(c, getValue(order[k], buf, sizeof(buf)));
    }
}

/* A saved option value, to roll back a failed CONFIG SET. */
typedef struct savedValue {
    long long iv;
    char *sv;
} savedValue;

void configSetCommand(client *c) {
    if (c->argc % 2) {
        addReplyErrorSyntax(c);
        return;
    }
    int npairs = (c->argc - 2) / 2;
    const standardConfig *set[npairs];
    char *vals[npairs];
    savedValue saved[npairs];

    for (int i = 0; i < npairs; i++) {
        const slice *name = &c->argv[2 + i * 2];
        const standardConfig *cf = NULL;
        for (size_t k = 0; k < NUM_CONFIGS && !cf; k++)
            if (argIs(name, configs[k].name)) cf = &configs[k];
        if (!cf) {
            addReplyErrorFormat(c, "Unknown option or number of arguments for CONFIG SET - '%.*s'", (int)name->len,
                                name->ptr);
            return;
        }
        const char *reason = NULL;
        if (!cf->mutable_) reason = "can't set immutable config";
        for (int k = 0; k < i && !reason; k++)
            if (set[k] == cf) reason = "duplicate parameter";
        if (reason) {
            addReplyErrorFormat(c, "CONFIG SET failed (possibly related to argument '%.*s') - %s", (int)name->len,
                                name->ptr, reason);
            return;
        }
        set[i] = cf;
    }

    for (int i = 0; i < npairs; i++) {
        const slice *v = &c->argv[3 + i * 2];
        vals[i] = strndup(v->ptr, v->len);
        serverAssert(vals[i] != NULL);
        saved[i].sv = NULL;
        if (set[i]->type == OPT_STRING) {
            char *cur = *(char **)set[i]->ptr;
            saved[i].sv = strdup(cur ? cur : "");
            serverAssert(saved[i].sv != NULL);
        } else if (set[i]->type != OPT_CONST) {
            saved[i].iv = loadInt(set[i]);
        }
    }

    int failed = -1;
    const char *reason = NULL;
    for (int i = 0; i < npairs && failed < 0; i++)
        if (!setValue(set[i], vals[i], &reason)) failed = i;
    if (failed >= 0) {
        for (int i = 0; i < failed; i++) {
            if (set[i]->type == OPT_STRING) {
                char **field = set[i]->ptr;
                free(*field);
                *field = saved[i].sv;
                saved[i].sv = NULL;
            } else if (set[i]->type != OPT_CONST) {
                storeInt(set[i], saved[i].iv);
                applyValue(set[i]);
            }
        }
        addReplyErrorFormat(c, "CONFIG SET failed (possibly related to argument '%s') - %s", set[failed]->name,
                            reason);
    } else {
        for (int i = 0; i < npairs; i++)
            serverLog(LL_VERBOSE, "CONFIG SET %s", set[i]->name);
        addReplyOK(c);
    }
    for (int i = 0; i < npairs; i++) {
        free(vals[i]);
        free(saved[i].sv);
    }
}

void configResetStatCommand(client *c) {
    resetServerStats();
    addReplyOK(c);
}

void configHelpCommand(client *c) {
    static const char *help[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "HELP",
        "    Prints this help.",
    };
    addReplyArrayLen(c, (long)(sizeof(help) / sizeof(help[0])));
    for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) addReplyStatus(c, help[i]);
}
