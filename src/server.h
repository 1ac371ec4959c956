/* server.h — types, limits and entry points shared by the whole server.
 *
 * The process has one global `server` (configuration, runtime state, stats)
 * and one event loop thread that runs networking, the command table, the
 * Raft core and the state machine. Only the log persistence runs on a worker
 * thread (replica_uv.c). Every client-visible behaviour follows Redis 7.0.
 *
 * A command reaches its handler in one of two ways:
 *  - commands without CMD_WRITE run at once on the connection's client;
 *  - CMD_WRITE commands are checked and made deterministic by their prepare
 *    hook, proposed to the Raft log, and run by fsm.c when their entry is
 *    applied, on the apply client (no connection, c->now_ms = entry time);
 *    the reply bytes then go to the waiting client, in order. */
#ifndef RAFTKV_SERVER_H
#define RAFTKV_SERVER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "resp.h"

#define C_OK 0
#define C_ERR -1

#define RAFTKV_VERSION "7.0.15"   /* the Redis version whose behaviour we implement */
#define RAFTKV_SERVER_NAME "raftkv"

/* ---------------------------------------------------------------- logging */
#define LL_DEBUG 0
#define LL_VERBOSE 1
#define LL_NOTICE 2
#define LL_WARNING 3

void serverLog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void _serverAssert(const char *expr, const char *file, int line) __attribute__((noreturn));
void serverPanic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Always on, also in release builds. */
#define serverAssert(e) ((e) ? (void)0 : _serverAssert(#e, __FILE__, __LINE__))

/* Wall clock in ms / us (the only clock reads; never used by apply code). */
long long mstime(void);
long long ustime(void);

/* ---------------------------------------------------------------- clients */
#define CLIENT_APPLY (1 << 0)        /* the connection-less client fsm.c runs handlers on */
#define CLIENT_CLOSE_AFTER_REPLY (1 << 1)
#define CLIENT_CLOSE_ASAP (1 << 2)
#define CLIENT_PAUSED (1 << 3)       /* waits for its writes / a read barrier; input not processed */
#define CLIENT_READONLY (1 << 4)     /* READONLY: follower serves possibly stale reads */
#define CLIENT_PEER (1 << 5)         /* an authenticated Raft peer (RAFT.AUTH succeeded) */

struct clientConn;                   /* networking.c's private part (libuv handles) */
struct redisCommand;

typedef struct client {
    uint64_t id;
    int flags;
    struct clientConn *conn;         /* NULL for the apply client */
    char *name;                      /* CLIENT SETNAME, owned, NULL if unset */
    int authenticated;
    uint64_t peer_id;                /* CLIENT_PEER: the node id the peer proved */
    int resp;                        /* protocol version, always 2 */
    int db;                          /* always 0 */
    long long ctime_ms, last_interaction_ms;
    long long now_ms;                /* the command's time: wall clock, or the log entry's time on apply */

    /* Input. argv borrows from the query buffer (or from argv_scratch when a
     * prepare hook rewrote arguments) until the command completes. */
    char *querybuf;
    size_t qb_pos, qb_len, qb_cap;   /* [qb_pos, qb_len) not consumed yet */
    size_t paused_len;               /* bytes of the paused request at qb_pos */
    respParser parser;
    int argc;
    slice *argv;
    const struct redisCommand *cmd, *lastcmd;
    slice *argv_rw;                  /* owned; argv after a rewrite (copy of the parser's array) */
    int argv_rw_cap;
    char *argv_scratch;              /* owned; bytes of rewritten arguments */
    size_t argv_scratch_len, argv_scratch_cap;

    /* Output: replies accumulate in obuf; networking.c moves them to the socket. */
    char *obuf;
    size_t obuf_len, obuf_cap;

    uint64_t pending_writes;         /* proposed, not yet applied: replies still to come */
    uint64_t gather_round;           /* the leader's next batch waits for this client's next
                                      * command while this is its gather round (replica.c) */
    uint64_t read_round;             /* ReadIndex round the client waits for, 0 = none */
    int read_granted;                /* reads of the input buffered before grant_limit may run */
    size_t grant_limit;              /* querybuf offset: bytes from here came after the round was
                                      * asked (SIZE_MAX: none did) */
    size_t req_end;                  /* querybuf offset of the end of the request being run */
    struct client *next_paused;      /* intrusive list of paused clients */
} client;

/* ---------------------------------------------------------------- replies (networking.c)
 * Each appends RESP2 bytes to c->obuf. None takes ownership of its arguments. */
void addReplyProto(client *c, const char *s, size_t len);
void addReplyStatus(client *c, const char *status);          /* +status\r\n */
void addReplyStatusLength(client *c, const char *s, size_t len);
void addReplyError(client *c, const char *err);              /* "-ERR err", or err as is when it starts
                                                                 with '-' ("-WRONGTYPE ...") */
void addReplyErrorFormat(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void addReplyErrorArity(client *c);                          /* wrong number of arguments for '%s' command */
void addReplyErrorSyntax(client *c);                         /* -ERR syntax error */
void addReplyLongLong(client *c, long long v);               /* :v\r\n */
void addReplyBulk(client *c, slice s);
void addReplyBulkCBuffer(client *c, const void *p, size_t len);
void addReplyBulkCString(client *c, const char *s);          /* NULL gives the null bulk */
void addReplyBulkLongLong(client *c, long long v);
void addReplyDouble(client *c, double d);                    /* RESP2: bulk string of %.17g */
void addReplyHumanLongDouble(client *c, long double d);      /* bulk string as INCRBYFLOAT prints */
void addReplyNull(client *c);                                /* $-1\r\n */
void addReplyNullArray(client *c);                           /* *-1\r\n */
void addReplyArrayLen(client *c, long length);
void addReplyMapLen(client *c, long length);                 /* RESP2: array of 2*length */
void addReplyVerbatim(client *c, const char *s, size_t len); /* RESP2: bulk string */
/* Placeholder for an array length known only later (KEYS, SCAN). */
size_t addReplyDeferredLen(client *c);
void setDeferredArrayLen(client *c, size_t handle, long length);
extern const char *shared_ok, *shared_nullbulk;               /* "+OK\r\n", "$-1\r\n" */
#define addReplyOK(c) addReplyProto((c), "+OK\r\n", 5)

/* Arguments. */
static inline int argIs(const slice *a, const char *lit) {
    size_t n = 0;
    while (lit[n]) n++;
    if (a->len != n) return 0;
    for (size_t i = 0; i < n; i++) {
        char x = a->ptr[i], y = lit[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return 0;
    }
    return 1;
}
/* Integer argument; on failure replies "ERR value is not an integer or out of range"
 * (or msg when non-NULL) and returns C_ERR. */
int getLongLongFromArgOrReply(client *c, const slice *a, long long *v, const char *msg);
int getLongDoubleFromArgOrReply(client *c, const slice *a, long double *v, const char *msg);
/* Replaces c->argv[i] by a copy of s held in c->argv_scratch (prepare hooks). */
void rewriteClientArg(client *c, int i, const char *s, size_t len);
/* Replaces the whole argv by copies of the given slices (prepare hooks; at
 * most REWRITE_MAX_ARGS of them). */
#define REWRITE_MAX_ARGS 8
void rewriteClientArgv(client *c, int argc, const slice *argv);

/* Client registry (networking.c). */
client *createApplyClient(void);
void freeApplyClient(client *c);
void clientCommand(client *c);
size_t clientsCount(void);
/* "ip:port" of the client's peer ("" for the apply client); borrowed. */
const char *clientAddr(const client *c);
void unpauseClient(client *c);       /* re-runs its pending input at the next loop iteration */

/* ---------------------------------------------------------------- commands (commands.c) */
#define CMD_WRITE (1 << 0)        /* proposed to the log, runs on apply */
#define CMD_READONLY (1 << 1)     /* reads the keyspace: ReadIndex barrier on the leader */
#define CMD_FAST (1 << 2)
#define CMD_NOAUTH (1 << 3)       /* allowed before AUTH */
#define CMD_ADMIN (1 << 4)
#define CMD_BARRIER (1 << 5)      /* prepare needs every earlier write applied (INCRBYFLOAT) */
#define CMD_NOSCRIPT (1 << 6)
#define CMD_LOADING (1 << 7)
#define CMD_STALE (1 << 8)
#define CMD_DENYOOM (1 << 9)
#define CMD_INTERNAL (1 << 10)    /* not in COMMAND output, only from the log or peers */
#define CMD_PEER (1 << 11)        /* RAFT.*: node-to-node, not in COMMAND output, exempt from requirepass */

typedef void redisCommandProc(client *c);
/* Runs on the leader before a write is logged: validates the arguments and
 * makes the command deterministic (relative times to absolute, computed
 * results). Returns C_OK, or C_ERR after adding an error reply; it has no
 * other side effect, so it may run again. */
typedef int redisPrepareProc(client *c);

struct redisCommand {
    const char *name;
    redisCommandProc *proc;
    int arity;                    /* > 0 exact, < 0 at least -arity */
    uint32_t flags;
    int firstkey, lastkey, keystep;
    redisPrepareProc *prepare;
    const char *group;            /* COMMAND DOCS: "string", "generic", "connection", "server" */
    const char *summary;
    const char *since;
    const char *complexity;
    const struct redisCommand *subcommands;   /* NULL-name terminated, or NULL */
};

extern const struct redisCommand redisCommandTable[];
const struct redisCommand *lookupCommand(const slice *name);
const struct redisCommand *lookupSubcommand(const struct redisCommand *parent, const slice *name);
/* Runs c->argv: returns C_OK when the command is done or waits for its
 * reply (write proposed), C_ERR when the client must pause (it will be
 * re-run with the same argv when unpaused). */
int processCommand(client *c);
/* Runs a write's handler for fsm.c on the apply client. */
void call(client *c, const struct redisCommand *cmd);

/* ---------------------------------------------------------------- config (config.c) */
/* Sets the defaults, reads the config file (first argument not starting with
 * "--"), then applies "--name value..." overrides; handles -h/--help and
 * -v/--version. Prints a FATAL CONFIG block and exits 1 on any bad option. */
int loadServerConfig(int argc, char **argv);
/* Every option to its default (strings owned by config.c). */
void initServerConfigDefaults(void);
/* Applies config-file text (origin names it in errors). Returns C_OK, or C_ERR
 * with *err a malloc'd message (the caller frees) naming the line and reason. */
int loadServerConfigFromString(const char *config, const char *origin, char **err);
/* Splits a line as Redis's sdssplitargs (spaces, "..." with \n \xHH escapes,
 * '...'). Returns C_OK with *argv owned (free with configFreeArgs), or C_ERR
 * on unbalanced quotes. */
int configSplitArgs(const char *line, int *argc, char ***argv);
void configFreeArgs(int argc, char **argv);

/* ---------------------------------------------------------------- server state */
enum { READ_LINEARIZABLE, READ_LEASE, READ_STALE };

struct redisServer {
    /* configuration */
    char *configfile;
    char *bindaddr;
    int port;
    char *dir;
    char *logfile;
    int verbosity;
    char *requirepass;
    unsigned maxclients;
    long long proto_max_bulk_len;
    size_t client_max_querybuf_len;
    int hz;
    int databases;
    long long maxidletime;        /* timeout (s), 0 = never */
    int tcpkeepalive;
    int tcp_backlog;
    int active_expire_enabled;
    int read_mode;
    long long election_timeout_ms;
    long long heartbeat_ms;
    unsigned long long node_id;
    char *cluster_members;        /* "<id>@<host>:<port>,...", "" = one-member cluster */
    char *cluster_join;           /* "<host>:<port>" of a member to join through, "" = none */
    long long learner_promote_lag_entries;  /* a learner this close to the leader's log becomes a voter */
    long long snapshot_threshold_entries;   /* applied entries past the last snapshot that trigger one */
    long long snapshot_trailing_entries;    /* entries kept before a snapshot's index when compacting */
    long long snapshot_chunk_bytes;         /* bytes per chunk of a snapshot transfer */
    char *cluster_id;
    char *cluster_secret;
    char *cluster_announce_ip;    /* client-facing host shown to clients, "" = the cluster-members host */
    int cluster_announce_port;    /* client-facing port shown to clients, 0 = the cluster-members port */
    long long rocksdb_cache_bytes;
    long long rocksdb_write_buffer_bytes;
    long long read_cache_bytes;
    long long max_batch_bytes;    /* bytes of commands in one log entry */

    /* runtime */
    pid_t pid;
    long long start_time_ms;
    char runid[41];
    uint64_t next_client_id;
    int shutdown_asap;
    char *executable;

    /* stats (CONFIG RESETSTAT clears them) */
    long long stat_numcommands;
    long long stat_numconnections;
    long long stat_rejected_conn;
    long long stat_expiredkeys;
    long long stat_keyspace_hits;
    long long stat_keyspace_misses;
    long long stat_net_input_bytes;
    long long stat_net_output_bytes;
    long long stat_total_error_replies;
    long long stat_proposals;
    long long stat_entries_applied;
};

extern struct redisServer server;

/* INFO, COMMAND, PING/ECHO/... (server.c). */
void infoCommand(client *c);
/* INFO text for the given section names (none = "default"); returns owned
 * malloc'd text, *len its length. Unknown names add nothing. */
char *genRedisInfoString(int nsections, const slice *sections, size_t *len);
void resetServerStats(void);
/* INFO commandstats / errorstats. statsCommandCall: cmd (a command table
 * entry, subcommand apart) ran for usec, failed if it replied an error;
 * statsCommandRejected: refused before running (arity, NOAUTH, ...);
 * statsErrorReply: an error reply was sent, err = its text with or without
 * the leading '-' (counted by its first word, the code). */
void statsCommandCall(const struct redisCommand *cmd, long long usec, int failed);
void statsCommandRejected(const struct redisCommand *cmd);
void statsErrorReply(const char *err, size_t len);
/* server.hz times a second from the main loop: samples the instantaneous
 * metrics (ops/sec, kbps) every 100 ms and tracks peak memory. */
void serverCron(void);

#endif
