/* expire.c — TTL commands: EXPIRE family, TTL family, PERSIST, and the
 * internal EXPIREDEL the leader proposes to delete expired keys.
 *
 * Owns no state. EXPIRE/PEXPIRE/EXPIREAT are rewritten by their prepare hook
 * into PEXPIREAT <absolute ms> with the same NX/XX/GT/LT options, so the
 * logged command reads no clock; handlers still accept every form and take a
 * relative time against c->now_ms (the entry's time at apply). An expiry at or
 * before c->now_ms deletes the key at once, as Redis does.
 *
 * Failure modes: option and value errors are answered with Redis 7.0's texts,
 * by the prepare hook on the leader and again by the handler at apply. */
#include <limits.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "util.h"

#define EXPIRE_NX (1 << 0)
#define EXPIRE_XX (1 << 1)
#define EXPIRE_GT (1 << 2)
#define EXPIRE_LT (1 << 3)

/* Parses [NX|XX|GT|LT]... from argv[3]; replies Redis's errors. */
static int parseExpireFlags(client *c, int *flags) {
    *flags = 0;
    for (int j = 3; j < c->argc; j++) {
        const slice *o = &c->argv[j];
        if (argIs(o, "nx")) *flags |= EXPIRE_NX;
        else if (argIs(o, "xx")) *flags |= EXPIRE_XX;
        else if (argIs(o, "gt")) *flags |= EXPIRE_GT;
        else if (argIs(o, "lt")) *flags |= EXPIRE_LT;
        else {
            size_t n = strnlen(o->ptr, o->len);
            addReplyErrorFormat(c, "Unsupported option %.*s", (int)(n < 900 ? n : 900), o->ptr);
            return C_ERR;
        }
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
        addReplyError(c, "NX and XX, GT or LT options at the same time are not compatible");
        return C_ERR;
    }
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) {
        addReplyError(c, "GT and LT options at the same time are not compatible");
        return C_ERR;
    }
    return C_OK;
}

/* The command's unit and base: seconds or ms, relative (base now_ms) or absolute. */
static void expireKind(client *c, int *seconds, int *relative) {
    redisCommandProc *p = c->cmd ? c->cmd->proc : pexpireatCommand;
    *seconds = p == expireCommand || p == expireatCommand;
    *relative = p == expireCommand || p == pexpireCommand;
}

/* Validates flags and time; *when = absolute ms. Replies errors. */
static int expireArgs(client *c, int *flags, long long *when) {
    if (parseExpireFlags(c, flags) != C_OK) return C_ERR;
    if (getLongLongFromArgOrReply(c, &c->argv[2], when, NULL) != C_OK) return C_ERR;
    int seconds, relative;
    expireKind(c, &seconds, &relative);
    const char *name = c->cmd ? c->cmd->name : "pexpireat";
    if (seconds) {
        if (*when > LLONG_MAX / 1000 || *when < LLONG_MIN / 1000) {
            addReplyErrorFormat(c, "invalid expire time in '%s' command", name);
            return C_ERR;
        }
        *when *= 1000;
    }
    long long base = relative ? c->now_ms : 0;
    if (*when > LLONG_MAX - base) {
        addReplyErrorFormat(c, "invalid expire time in '%s' command", name);
        return C_ERR;
    }
    *when += base;
    return C_OK;
}

int expirePrepare(client *c) {
    int flags;
    long long when;
    if (expireArgs(c, &flags, &when) != C_OK) return C_ERR;
    if (c->cmd && c->cmd->proc == pexpireatCommand) return C_OK;
    char buf[LONG_STR_SIZE];
    int n = ll2string(buf, sizeof(buf), when);
    rewriteClientArg(c, 0, "PEXPIREAT", 9);
    rewriteClientArg(c, 2, buf, (size_t)n);
    return C_OK;
}

static void expireGeneric(client *c) {
    int flags;
    long long when;
    if (expireArgs(c, &flags, &when) != C_OK) return;
    dbEntry e;
    int ok = dbLookupWrite(c, c->argv[1], &e);
    if (ok && flags) {
        long long cur = e.expire_ms;   /* 0 = no TTL (infinite) */
        if ((flags & EXPIRE_NX) && cur) ok = 0;
        if ((flags & EXPIRE_XX) && !cur) ok = 0;
        if ((flags & EXPIRE_GT) && (!cur || when <= cur)) ok = 0;
        if ((flags & EXPIRE_LT) && cur && when >= cur) ok = 0;
    }
    if (ok) {
        if (when <= c->now_ms) dbEntryDelete(&e);
        else dbEntrySetExpire(&e, when);
    }
    dbEntryRelease(&e);
    addReplyLongLong(c, ok);
}

void expireCommand(client *c) {
    expireGeneric(c);
}

void pexpireCommand(client *c) {
    expireGeneric(c);
}

void expireatCommand(client *c) {
    expireGeneric(c);
}

void pexpireatCommand(client *c) {
    expireGeneric(c);
}

/* TTL family: -2 no key, -1 no TTL; ms or rounded seconds, remaining or absolute. */
static void ttlGeneric(client *c, int output_ms, int output_abs) {
    dbEntry e;
    if (!dbLookupRead(c, c->argv[1], &e)) {
        addReplyLongLong(c, -2);
    } else if (!e.expire_ms) {
        addReplyLongLong(c, -1);
    } else {
        long long ttl = output_abs ? e.expire_ms : e.expire_ms - c->now_ms;
        if (ttl < 0) ttl = 0;
        addReplyLongLong(c, output_ms ? ttl : (ttl + 500) / 1000);
    }
    dbEntryRelease(&e);
}

void ttlCommand(client *c) {
    ttlGeneric(c, 0, 0);
}

void pttlCommand(client *c) {
    ttlGeneric(c, 1, 0);
}

void expiretimeCommand(client *c) {
    ttlGeneric(c, 0, 1);
}

void pexpiretimeCommand(client *c) {
    ttlGeneric(c, 1, 1);
}

void persistCommand(client *c) {
    dbEntry e;
    int done = 0;
    if (dbLookupWrite(c, c->argv[1], &e) && e.expire_ms) {
        dbEntrySetExpire(&e, 0);
        done = 1;
    }
    dbEntryRelease(&e);
    addReplyLongLong(c, done);
}

/* EXPIREDEL key: deletes key only if it is expired at the entry's time. */
void expiredelCommand(client *c) {
    dbEntry e;
    int deleted = 0;
    dbEntryOpen(&e, c->argv[1]);
    if (e.stored && dbIsExpired(e.expire_ms, c->now_ms)) {
        deleted = dbEntryDelete(&e);
        server.stat_expiredkeys++;
    }
    dbEntryRelease(&e);
    addReplyLongLong(c, deleted);
}
