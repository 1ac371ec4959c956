/* t_string.c — the string commands (GET/SET family, counters, ranges).
 *
 * Owns no state: each handler opens the key through db.c, replies, and writes
 * through the same dbEntry. Writes run at apply on the apply client, with
 * c->now_ms the log entry's time; their prepare hooks run before on the leader
 * and make the logged command deterministic:
 *   SET ... EX/PX/EXAT n      -> SET ... PXAT <absolute ms>
 *   SETEX/PSETEX k n v        -> SET k v PXAT <absolute ms>
 *   GETEX k EX/PX/EXAT n      -> GETEX k PXAT <absolute ms>
 *   INCRBYFLOAT k incr        -> INCRBYFLOAT k incr <result>  (computed on the leader
 *                                 behind a barrier; the handler then only stores it)
 * Handlers validate their arguments again (an entry may come from another
 * leader's prepare or an older log) and give Redis 7.0's replies and errors
 * byte for byte. A relative expiry still present at apply is taken relative to
 * c->now_ms, so apply stays deterministic.
 *
 * Failure modes: bad arguments give Redis's error, at prepare when the error
 * does not depend on the key (syntax, expire values of SET), else at apply
 * (GETEX validates its expire only when the key exists, as Redis does). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "util.h"

#define OBJ_SET_NX (1 << 0)
#define OBJ_SET_XX (1 << 1)
#define OBJ_SET_GET (1 << 2)
#define OBJ_KEEPTTL (1 << 3)
#define OBJ_PERSIST (1 << 4)
#define OBJ_EX (1 << 5)
#define OBJ_PX (1 << 6)
#define OBJ_EXAT (1 << 7)
#define OBJ_PXAT (1 << 8)
#define OBJ_ANY_EXPIRE (OBJ_EX | OBJ_PX | OBJ_EXAT | OBJ_PXAT)

enum { COMMAND_SET, COMMAND_GET };

static const char *cmdName(client *c) {
    return c->cmd ? c->cmd->name : "set";
}

static void addReplyErrorExpireTime(client *c) {
    addReplyErrorFormat(c, "invalid expire time in '%s' command", cmdName(c));
}

/* Options of SET (from argv[3]) and GETEX (from argv[2]), with Redis's
 * compatibility rules. *expire_idx is the argv index of the last expire value
 * (0 if none). Replies the syntax error on failure. */
static int parseStringOptions(client *c, int type, int *flags, int *expire_idx) {
    *flags = 0;
    *expire_idx = 0;
    for (int j = type == COMMAND_GET ? 2 : 3; j < c->argc; j++) {
        const slice *o = &c->argv[j];
        int has_next = j + 1 < c->argc;
        int f = *flags;
        int expire_flag = 0;
        if (argIs(o, "nx") && !(f & OBJ_SET_XX) && type == COMMAND_SET) {
            *flags |= OBJ_SET_NX;
        } else if (argIs(o, "xx") && !(f & OBJ_SET_NX) && type == COMMAND_SET) {
            *flags |= OBJ_SET_XX;
        } else if (argIs(o, "get") && type == COMMAND_SET) {
            *flags |= OBJ_SET_GET;
        } else if (argIs(o, "keepttl") && !(f & (OBJ_PERSIST | OBJ_ANY_EXPIRE)) && type == COMMAND_SET) {
            *flags |= OBJ_KEEPTTL;
        } else if (argIs(o, "persist") && type == COMMAND_GET && !(f & (OBJ_ANY_EXPIRE | OBJ_KEEPTTL))) {
            *flags |= OBJ_PERSIST;
        } else if (argIs(o, "ex")) {
            expire_flag = OBJ_EX;
        } else if (argIs(o, "px")) {
            expire_flag = OBJ_PX;
        } else if (argIs(o, "exat")) {
            expire_flag = OBJ_EXAT;
        } else if (argIs(o, "pxat")) {
            expire_flag = OBJ_PXAT;
        } else {
            addReplyErrorSyntax(c);
            return C_ERR;
        }
        if (expire_flag) {
            /* Any other expire kind, KEEPTTL or PERSIST conflicts; the same kind
             * again is accepted (the last value wins). */
            if ((f & (OBJ_KEEPTTL | OBJ_PERSIST)) || (f & (OBJ_ANY_EXPIRE & ~expire_flag)) || !has_next) {
                addReplyErrorSyntax(c);
                return C_ERR;
            }
            *flags |= expire_flag;
            *expire_idx = ++j;
        }
    }
    return C_OK;
}

/* Absolute expire ms from an EX/PX/EXAT/PXAT value, relative ones against now_ms.
 * Replies Redis's errors (when reply is set) and returns C_ERR on a bad value. */
static int expireMsFromArg(client *c, const slice *a, int flags, long long now_ms, long long *ms, int reply) {
    long long v;
    if (!string2ll(a->ptr, a->len, &v)) {
        if (reply) addReplyError(c, "value is not an integer or out of range");
        return C_ERR;
    }
    int seconds = flags & (OBJ_EX | OBJ_EXAT);
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
        if (reply) addReplyErrorExpireTime(c);
        return C_ERR;
    }
    if (seconds) v *= 1000;
    if (flags & (OBJ_EX | OBJ_PX)) {
        if (v > LLONG_MAX - now_ms) {
            if (reply) addReplyErrorExpireTime(c);
            return C_ERR;
        }
        v += now_ms;
    }
    *ms = v;
    return C_OK;
}

/* Rewrites every EX/PX/EXAT option name to PXAT and the last value to ms. */
static void rewriteExpireToPxat(client *c, int first, int expire_idx, long long ms) {
    for (int j = first; j < c->argc; j++) {
        if (argIs(&c->argv[j], "ex") || argIs(&c->argv[j], "px") || argIs(&c->argv[j], "exat") ||
            argIs(&c->argv[j], "pxat")) {
            if (!argIs(&c->argv[j], "pxat")) rewriteClientArg(c, j, "PXAT", 4);
            j++;
        }
    }
    char buf[LONG_STR_SIZE];
    int n = ll2string(buf, sizeof(buf), ms);
    rewriteClientArg(c, expire_idx, buf, (size_t)n);
}

/* ---------------------------------------------------------------- GET / SET */

/* Replies the value of key (or null). Returns C_ERR after a WRONGTYPE reply.
 * *e stays open for the caller; *live says whether the key exists. */
static int getGeneric(client *c, slice key, dbEntry *e, int *live) {
    *live = dbLookupRead(c, key, e);
    if (!*live) {
        addReplyNull(c);
        return C_OK;
    }
    if (dbCheckType(c, e, OBJ_STRING)) return C_ERR;
    addReplyBulk(c, e->val);
    return C_OK;
}

void getCommand(client *c) {
    dbEntry e;
    int live;
    getGeneric(c, c->argv[1], &e, &live);
    dbEntryRelease(&e);
}

/* ok_reply / abort_reply: raw replies for SETNX (":1" / ":0"); NULL gives
 * +OK / null. */
static void setGeneric(client *c, int flags, slice key, slice val, const slice *expire, const char *ok_reply,
                       const char *abort_reply) {
    long long ms = 0;
    if (expire && expireMsFromArg(c, expire, flags, c->now_ms, &ms, 1) != C_OK) return;
    dbEntry e;
    int live;
    if (flags & OBJ_SET_GET) {
        if (getGeneric(c, key, &e, &live) != C_OK) {
            dbEntryRelease(&e);
            return;
        }
    } else {
        live = dbLookupWrite(c, key, &e);
    }
    if (((flags & OBJ_SET_NX) && live) || ((flags & OBJ_SET_XX) && !live)) {
        if (!(flags & OBJ_SET_GET)) {
            if (abort_reply) addReplyProto(c, abort_reply, strlen(abort_reply));
            else addReplyNull(c);
        }
        dbEntryRelease(&e);
        return;
    }
    long long expire_ms = expire ? ms : ((flags & OBJ_KEEPTTL) && live ? e.expire_ms : 0);
    dbEntrySet(&e, OBJ_STRING, expire_ms, val.ptr, val.len);
    dbEntryRelease(&e);
    if (!(flags & OBJ_SET_GET)) {
        if (ok_reply) addReplyProto(c, ok_reply, strlen(ok_reply));
        else addReplyOK(c);
    }
}

int setPrepare(client *c) {
    int flags, expire_idx;
    long long ms;
    if (parseStringOptions(c, COMMAND_SET, &flags, &expire_idx) != C_OK) return C_ERR;
    if (!expire_idx) return C_OK;
    if (expireMsFromArg(c, &c->argv[expire_idx], flags, c->now_ms, &ms, 1) != C_OK) return C_ERR;
    if (flags & (OBJ_EX | OBJ_PX | OBJ_EXAT)) rewriteExpireToPxat(c, 3, expire_idx, ms);
    return C_OK;
}

void setCommand(client *c) {
    int flags, expire_idx;
    if (parseStringOptions(c, COMMAND_SET, &flags, &expire_idx) != C_OK) return;
    setGeneric(c, flags, c->argv[1], c->argv[2], expire_idx ? &c->argv[expire_idx] : NULL, NULL, NULL);
}

void setnxCommand(client *c) {
    setGeneric(c, OBJ_SET_NX, c->argv[1], c->argv[2], NULL, ":1\r\n", ":0\r\n");
}

/* SETEX/PSETEX k n v -> SET k v PXAT <ms>, keeping their own error texts. */
static int setexPrepareGeneric(client *c, int flags) {
    long long ms;
    if (expireMsFromArg(c, &c->argv[2], flags, c->now_ms, &ms, 1) != C_OK) return C_ERR;
    char buf[LONG_STR_SIZE];
    int n = ll2string(buf, sizeof(buf), ms);
    slice argv[5] = {{"SET", 3}, c->argv[1], c->argv[3], {"PXAT", 4}, {buf, (size_t)n}};
    rewriteClientArgv(c, 5, argv);
    return C_OK;
}

int setexPrepare(client *c) {
    return setexPrepareGeneric(c, OBJ_EX);
}

int psetexPrepare(client *c) {
    return setexPrepareGeneric(c, OBJ_PX);
}

void setexCommand(client *c) {
    setGeneric(c, OBJ_EX, c->argv[1], c->argv[3], &c->argv[2], NULL, NULL);
}

void psetexCommand(client *c) {
    setGeneric(c, OBJ_PX, c->argv[1], c->argv[3], &c->argv[2], NULL, NULL);
}

void mgetCommand(client *c) {
    addReplyArrayLen(c, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        dbEntry e;
        if (dbLookupRead(c, c->argv[j], &e) && e.type == OBJ_STRING) addReplyBulk(c, e.val);
        else addReplyNull(c);
        dbEntryRelease(&e);
    }
}

int msetPrepare(client *c) {
    if (c->argc % 2 == 0) {
        addReplyErrorArity(c);
        return C_ERR;
    }
    return C_OK;
}

static void msetGeneric(client *c, int nx) {
    if (msetPrepare(c) != C_OK) return;
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            dbEntry e;
            int live = dbLookupWrite(c, c->argv[j], &e);
            dbEntryRelease(&e);
            if (live) {
                addReplyLongLong(c, 0);
                return;
            }
        }
    }
    for (int j = 1; j < c->argc; j += 2) {
        dbEntry e;
        dbLookupWrite(c, c->argv[j], &e);
        dbEntrySet(&e, OBJ_STRING, 0, c->argv[j + 1].ptr, c->argv[j + 1].len);
        dbEntryRelease(&e);
    }
    if (nx) addReplyLongLong(c, 1);
    else addReplyOK(c);
}

void msetCommand(client *c) {
    msetGeneric(c, 0);
}

void msetnxCommand(client *c) {
    msetGeneric(c, 1);
}

void getsetCommand(client *c) {
    dbEntry e;
    int live;
    if (getGeneric(c, c->argv[1], &e, &live) == C_OK)
        dbEntrySet(&e, OBJ_STRING, 0, c->argv[2].ptr, c->argv[2].len);
    dbEntryRelease(&e);
}

void getdelCommand(client *c) {
    dbEntry e;
    int live;
    if (getGeneric(c, c->argv[1], &e, &live) == C_OK && live) dbEntryDelete(&e);
    dbEntryRelease(&e);
}

int getexPrepare(client *c) {
    int flags, expire_idx;
    long long ms;
    if (parseStringOptions(c, COMMAND_GET, &flags, &expire_idx) != C_OK) return C_ERR;
    /* A bad expire value is an error only if the key exists: left to apply. */
    if ((flags & (OBJ_EX | OBJ_PX | OBJ_EXAT)) &&
        expireMsFromArg(c, &c->argv[expire_idx], flags, c->now_ms, &ms, 0) == C_OK)
        rewriteExpireToPxat(c, 2, expire_idx, ms);
    return C_OK;
}

void getexCommand(client *c) {
    int flags, expire_idx;
    long long ms = 0;
    if (parseStringOptions(c, COMMAND_GET, &flags, &expire_idx) != C_OK) return;
    dbEntry e;
    if (!dbLookupRead(c, c->argv[1], &e)) {
        addReplyNull(c);
    } else if (!dbCheckType(c, &e, OBJ_STRING) &&
               (!expire_idx || expireMsFromArg(c, &c->argv[expire_idx], flags, c->now_ms, &ms, 1) == C_OK)) {
        addReplyBulk(c, e.val);
        if ((flags & (OBJ_EXAT | OBJ_PXAT)) && ms <= c->now_ms) dbEntryDelete(&e);
        else if (expire_idx) dbEntrySetExpire(&e, ms);
        else if (flags & OBJ_PERSIST) dbEntrySetExpire(&e, 0);
    }
    dbEntryRelease(&e);
}

/* ---------------------------------------------------------------- APPEND / STRLEN / ranges */

static int checkStringLength(client *c, long long size, long long append) {
    long long total = (long long)((unsigned long long)size + (unsigned long long)append);
    if (total > server.proto_max_bulk_len || total < size || total < append) {
        addReplyError(c, "string exceeds maximum allowed size (proto-max-bulk-len)");
        return C_ERR;
    }
    return C_OK;
}

void appendCommand(client *c) {
    dbEntry e;
    const slice *add = &c->argv[2];
    if (!dbLookupWrite(c, c->argv[1], &e)) {
        dbEntrySet(&e, OBJ_STRING, 0, add->ptr, add->len);
        addReplyLongLong(c, (long long)add->len);
    } else if (!dbCheckType(c, &e, OBJ_STRING) &&
               checkStringLength(c, (long long)e.val.len, (long long)add->len) == C_OK) {
        long long total = (long long)(e.val.len + add->len);
        slice parts[2] = {e.val, *add};
        dbEntrySetParts(&e, OBJ_STRING, e.expire_ms, parts, 2);
        addReplyLongLong(c, total);
    }
    dbEntryRelease(&e);
}

void strlenCommand(client *c) {
    dbEntry e;
    if (!dbLookupRead(c, c->argv[1], &e)) addReplyLongLong(c, 0);
    else if (!dbCheckType(c, &e, OBJ_STRING)) addReplyLongLong(c, (long long)e.val.len);
    dbEntryRelease(&e);
}

void getrangeCommand(client *c) {
    long long start, end;
    if (getLongLongFromArgOrReply(c, &c->argv[2], &start, NULL) != C_OK) return;
    if (getLongLongFromArgOrReply(c, &c->argv[3], &end, NULL) != C_OK) return;
    dbEntry e;
    if (!dbLookupRead(c, c->argv[1], &e)) {
        addReplyProto(c, "$0\r\n\r\n", 6);
        dbEntryRelease(&e);
        return;
    }
    if (dbCheckType(c, &e, OBJ_STRING)) {
        dbEntryRelease(&e);
        return;
    }
    long long len = (long long)e.val.len;
    if (start < 0 && end < 0 && start > end) {
        addReplyProto(c, "$0\r\n\r\n", 6);
        dbEntryRelease(&e);
        return;
    }
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (start > end || len == 0) addReplyProto(c, "$0\r\n\r\n", 6);
    else addReplyBulkCBuffer(c, e.val.ptr + start, (size_t)(end - start + 1));
    dbEntryRelease(&e);
}

/* Offset and size checks shared by prepare and apply. */
static int setrangeCheckArgs(client *c, long long *offset) {
    if (getLongLongFromArgOrReply(c, &c->argv[2], offset, NULL) != C_OK) return C_ERR;
    if (*offset < 0) {
        addReplyError(c, "offset is out of range");
        return C_ERR;
    }
    return C_OK;
}

int setrangePrepare(client *c) {
    long long offset;
    if (setrangeCheckArgs(c, &offset) != C_OK) return C_ERR;
    if (c->argv[3].len && checkStringLength(c, offset, (long long)c->argv[3].len) != C_OK) return C_ERR;
    return C_OK;
}

void setrangeCommand(client *c) {
    long long offset;
    if (setrangeCheckArgs(c, &offset) != C_OK) return;
    const slice *v = &c->argv[3];
    dbEntry e;
    int live = dbLookupWrite(c, c->argv[1], &e);
    if (live && dbCheckType(c, &e, OBJ_STRING)) {
        dbEntryRelease(&e);
        return;
    }
    if (v->len == 0) {
        addReplyLongLong(c, live ? (long long)e.val.len : 0);
        dbEntryRelease(&e);
        return;
    }
    if (checkStringLength(c, offset, (long long)v->len) != C_OK) {
        dbEntryRelease(&e);
        return;
    }
    size_t off = (size_t)offset, olen = live ? e.val.len : 0;
    size_t end = off + v->len;
    slice parts[3];
    int n = 0;
    if (off <= olen) {
        parts[n++] = (slice){e.val.ptr, off};
        parts[n++] = *v;
        if (end < olen) parts[n++] = (slice){e.val.ptr + end, olen - end};
    } else {
        parts[n++] = (slice){e.val.ptr, olen};
        parts[n++] = (slice){NULL, off - olen};
        parts[n++] = *v;
    }
    size_t total = end > olen ? end : olen;
    dbEntrySetParts(&e, OBJ_STRING, live ? e.expire_ms : 0, parts, n);
    addReplyLongLong(c, (long long)total);
    dbEntryRelease(&e);
}

/* ---------------------------------------------------------------- counters */

static void incrDecr(client *c, long long incr) {
    dbEntry e;
    long long value = 0;
    int live = dbLookupWrite(c, c->argv[1], &e);
    if (live && dbCheckType(c, &e, OBJ_STRING)) goto done;
    if (live && !string2ll(e.val.ptr, e.val.len, &value)) {
        addReplyError(c, "value is not an integer or out of range");
        goto done;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) || (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        addReplyError(c, "increment or decrement would overflow");
        goto done;
    }
    value += incr;
    char buf[LONG_STR_SIZE];
    int n = ll2string(buf, sizeof(buf), value);
    dbEntrySet(&e, OBJ_STRING, live ? e.expire_ms : 0, buf, (size_t)n);
    addReplyLongLong(c, value);
done:
    dbEntryRelease(&e);
}

void incrCommand(client *c) {
    incrDecr(c, 1);
}

void decrCommand(client *c) {
    incrDecr(c, -1);
}

/* INCRBY/DECRBY increment; DECRBY refuses LLONG_MIN (its negation overflows). */
static int incrbyArg(client *c, int decr, long long *incr) {
    if (getLongLongFromArgOrReply(c, &c->argv[2], incr, NULL) != C_OK) return C_ERR;
    if (decr && *incr == LLONG_MIN) {
        addReplyError(c, "decrement would overflow");
        return C_ERR;
    }
    return C_OK;
}

int incrbyPrepare(client *c) {
    long long incr;
    return incrbyArg(c, c->cmd && c->cmd->proc == decrbyCommand, &incr);
}

void incrbyCommand(client *c) {
    long long incr;
    if (incrbyArg(c, 0, &incr) == C_OK) incrDecr(c, incr);
}

void decrbyCommand(client *c) {
    long long incr;
    if (incrbyArg(c, 1, &incr) == C_OK) incrDecr(c, -incr);
}

/* Computes the INCRBYFLOAT result of the live entry e (or of 0) into buf.
 * Returns its length, or -1 after an error reply. */
static int incrbyfloatCompute(client *c, const dbEntry *e, int live, char *buf, size_t len) {
    long double value = 0, incr;
    if (live && dbCheckType(c, e, OBJ_STRING)) return -1;
    if (live && !string2ld(e->val.ptr, e->val.len, &value)) {
        addReplyError(c, "value is not a valid float");
        return -1;
    }
    if (getLongDoubleFromArgOrReply(c, &c->argv[2], &incr, NULL) != C_OK) return -1;
    value += incr;
    if (isnan(value) || isinf(value)) {
        addReplyError(c, "increment would produce NaN or Infinity");
        return -1;
    }
    return ld2string(buf, len, value, 1);
}

int incrbyfloatPrepare(client *c) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    dbEntry e;
    int live = dbLookupPeek(c, c->argv[1], &e);
    int n = incrbyfloatCompute(c, &e, live, buf, sizeof(buf));
    dbEntryRelease(&e);
    if (n < 0) return C_ERR;
    slice argv[4] = {c->argv[0], c->argv[1], c->argv[2], {buf, (size_t)n}};
    rewriteClientArgv(c, 4, argv);
    return C_OK;
}

/* 3 arguments: computes at apply. 4 (the prepared form): stores argv[3]. */
void incrbyfloatCommand(client *c) {
    static char buf[MAX_LONG_DOUBLE_CHARS];
    dbEntry e;
    int live = dbLookupWrite(c, c->argv[1], &e);
    slice result;
    if (c->argc == 4) {
        if (live && dbCheckType(c, &e, OBJ_STRING)) goto done;
        result = c->argv[3];
    } else {
        int n = incrbyfloatCompute(c, &e, live, buf, sizeof(buf));
        if (n < 0) goto done;
        result = (slice){buf, (size_t)n};
    }
    dbEntrySet(&e, OBJ_STRING, live ? e.expire_ms : 0, result.ptr, result.len);
    addReplyBulk(c, result);
done:
    dbEntryRelease(&e);
}
