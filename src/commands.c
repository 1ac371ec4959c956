/* commands.c — command lookup and dispatch: Redis 7.0's processCommand order
 * (existence, arity, authentication), then the replication decision.
 *
 * Owns the lookup hash built from redisCommandTable at startup and the list
 * of clients waiting for every earlier write to apply (CMD_BARRIER).
 * Happy path: a read runs at once; a write runs its prepare hook and is
 * proposed, and its reply comes from fsm.c when the entry applies. A client
 * with writes in flight keeps proposing writes, but anything else it sends
 * waits (pauses) until those replies are in, so replies stay in order and a
 * client always reads its own writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "commands.h"
#include "replica.h"

#define CMD_HASH_SIZE 256   /* power of two, > 2x the number of commands */

static const struct redisCommand *cmdHash[CMD_HASH_SIZE];
static client *drain_waiters;       /* paused until replicaUnapplied() == 0 */

static uint32_t nameHash(const char *p, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 'A' && ch <= 'Z') ch += 32;
        h = (h ^ ch) * 16777619u;
    }
    return h;
}

void initCommandTable(void) {
    for (const struct redisCommand *cmd = redisCommandTable; cmd->name; cmd++) {
        uint32_t i = nameHash(cmd->name, strlen(cmd->name)) & (CMD_HASH_SIZE - 1);
        while (cmdHash[i]) i = (i + 1) & (CMD_HASH_SIZE - 1);
        cmdHash[i] = cmd;
    }
}

static int nameEquals(const char *name, const slice *s) {
    size_t n = strlen(name);
    if (n != s->len) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s->ptr[i];
        if (ch >= 'A' && ch <= 'Z') ch += 32;
        if (ch != name[i]) return 0;
    }
    return 1;
}

const struct redisCommand *lookupCommand(const slice *name) {
    uint32_t i = nameHash(name->ptr, name->len) & (CMD_HASH_SIZE - 1);
    while (cmdHash[i]) {
        if (nameEquals(cmdHash[i]->name, name)) return cmdHash[i];
        i = (i + 1) & (CMD_HASH_SIZE - 1);
    }
    return NULL;
}

const struct redisCommand *lookupSubcommand(const struct redisCommand *parent, const slice *name) {
    if (!parent->subcommands) return NULL;
    for (const struct redisCommand *sub = parent->subcommands; sub->name; sub++)
        if (nameEquals(sub->name, name)) return sub;
    return NULL;
}

/* Redis quotes the command name and at most 128 bytes of its arguments. */
static void replyUnknown(client *c) {
    char args[256];
    size_t len = 0;
    args[0] = '\0';
    for (int i = 1; i < c->argc && len < 128; i++) {
        size_t room = 128 - len;
        int n = snprintf(args + len, sizeof(args) - len, "'%.*s' ",
                         (int)(c->argv[i].len < room ? c->argv[i].len : room), c->argv[i].ptr);
        if (n < 0) break;
        len += (size_t)n;
        if (len >= sizeof(args)) len = sizeof(args) - 1;
    }
    int namelen = (int)(c->argv[0].len < 128 ? c->argv[0].len : 128);
    addReplyErrorFormat(c, "unknown command '%.*s', with args beginning with: %s", namelen, c->argv[0].ptr, args);
}

/* The container a subcommand belongs to, or NULL for a top-level command. */
static const struct redisCommand *commandParent(const struct redisCommand *cmd) {
    for (const struct redisCommand *p = redisCommandTable; p->name; p++) {
        if (!p->subcommands) continue;
        for (const struct redisCommand *sub = p->subcommands; sub->name; sub++)
            if (sub == cmd) return p;
    }
    return NULL;
}

void commandFullName(const struct redisCommand *cmd, char *buf, size_t len) {
    const struct redisCommand *parent = cmd ? commandParent(cmd) : NULL;
    if (!cmd) snprintf(buf, len, "NULL");
    else if (parent) snprintf(buf, len, "%s|%s", parent->name, cmd->name);
    else snprintf(buf, len, "%s", cmd->name);
}

void addReplyErrorArity(client *c) {
    char name[64];
    commandFullName(c->cmd, name, sizeof(name));
    addReplyErrorFormat(c, "wrong number of arguments for '%s' command", name);
}

static int arityOk(const struct redisCommand *cmd, int argc) {
    return (cmd->arity > 0 && cmd->arity == argc) || (cmd->arity < 0 && argc >= -cmd->arity);
}

static void pauseUntilDrained(client *c) {
    c->next_paused = drain_waiters;
    drain_waiters = c;
}

/* Called by the replica after each apply round. */
void commandsAfterApply(void) {
    if (!drain_waiters || replicaUnapplied() != 0) return;
    while (drain_waiters) {
        client *c = drain_waiters;
        drain_waiters = c->next_paused;
        c->next_paused = NULL;
        unpauseClient(c);
    }
}

void commandsForgetClient(client *c) {
    client **pp = &drain_waiters;
    while (*pp && *pp != c) pp = &(*pp)->next_paused;
    if (*pp) *pp = c->next_paused;
}

/* Runs the handler and counts it for INFO commandstats (a reply that
 * starts with '-' is a failed call). */
void call(client *c, const struct redisCommand *cmd) {
    size_t mark = c->obuf_len;
    long long start = ustime();
    c->cmd = cmd;
    cmd->proc(c);
    statsCommandCall(cmd, ustime() - start, c->obuf_len > mark && c->obuf[mark] == '-');
}

/* Every early answer (unknown command, arity, auth, redirect) of a client
 * with writes in flight would overtake their replies: such a command waits
 * and runs again once they are in. */
#define REJECT_OR_WAIT(c) do { if ((c)->pending_writes > 0) return C_ERR; } while (0)

int processCommand(client *c) {
    replicaCommandArrived(c);
    const struct redisCommand *cmd = lookupCommand(&c->argv[0]);
    if (!cmd || (cmd->flags & CMD_INTERNAL)) {
        REJECT_OR_WAIT(c);
        c->cmd = NULL;
        replyUnknown(c);
        return C_OK;
    }
    c->cmd = cmd;
    if (cmd->subcommands && c->argc >= 2) {
        const struct redisCommand *sub = lookupSubcommand(cmd, &c->argv[1]);
        if (!sub) {
            REJECT_OR_WAIT(c);
            char upper[64];
            size_t n = strlen(cmd->name);
            if (n >= sizeof(upper)) n = sizeof(upper) - 1;
            for (size_t i = 0; i < n; i++) upper[i] = (char)(cmd->name[i] - 32 * (cmd->name[i] >= 'a' && cmd->name[i] <= 'z'));
            upper[n] = '\0';
            int sublen = (int)(c->argv[1].len < 128 ? c->argv[1].len : 128);
            addReplyErrorFormat(c, "unknown subcommand '%.*s'. Try %s HELP.", sublen, c->argv[1].ptr, upper);
            return C_OK;
        }
        cmd = sub;
        c->cmd = cmd;
    }
    if (!cmd->proc || !arityOk(cmd, c->argc)) {
        REJECT_OR_WAIT(c);
        statsCommandRejected(cmd);
        addReplyErrorArity(c);
        return C_OK;
    }
    /* Peers prove themselves with the cluster secret (RAFT.HELLO/AUTH), and
     * RAFT.MSG checks CLIENT_PEER itself. */
    if (!c->authenticated && !(cmd->flags & (CMD_NOAUTH | CMD_PEER))) {
        REJECT_OR_WAIT(c);
        statsCommandRejected(cmd);
        addReplyError(c, "-NOAUTH Authentication required.");
        return C_OK;
    }
    /* Writes and keyed commands belong to the leader once its term's no-op
     * applied (-MOVED / -CLUSTERDOWN otherwise); a READONLY follower
     * connection reads its own, possibly stale, state. */
    if (((cmd->flags & CMD_WRITE) || cmd->firstkey > 0) && !replicaLeaderReady()) {
        REJECT_OR_WAIT(c);
        if (clusterRedirect(c, cmd)) {
            statsCommandRejected(cmd);
            return C_OK;
        }
    }
    c->now_ms = mstime();
    c->lastcmd = cmd;

    if (cmd->flags & CMD_WRITE) {
        if ((cmd->flags & CMD_BARRIER) && (c->pending_writes > 0 || replicaUnapplied() > 0)) {
            if (c->pending_writes == 0) pauseUntilDrained(c);
            return C_ERR;
        }
        if (cmd->prepare) {
            size_t mark = c->obuf_len;
            if (cmd->prepare(c) == C_ERR) {
                if (c->pending_writes > 0) {
                    /* The error must follow the replies still to come:
                     * take it back and run the command again later. */
                    c->obuf_len = mark;
                    return C_ERR;
                }
                server.stat_numcommands++;
                return C_OK;
            }
        }
        replicaPropose(c);
        server.stat_numcommands++;
        return C_OK;
    }

    if (c->pending_writes > 0) return C_ERR;
    if ((cmd->flags & CMD_READONLY) && !replicaReadBarrier(c)) return C_ERR;
    call(c, cmd);
    c->parser.authenticated = c->authenticated;
    server.stat_numcommands++;
    return C_OK;
}
