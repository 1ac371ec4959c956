/* networking.c — client connections on libuv: accept, read, parse, dispatch,
 * reply buffers and writes, CLIENT and QUIT.
 *
 * Owns every client and its libuv handle. Happy path: bytes land at the end
 * of the client's query buffer, respParse yields argv slices into it (no
 * copy), processCommand runs or proposes each request in order, and replies
 * accumulate in c->obuf. Once per loop iteration (beforeSleep) every client
 * with output gets one uv_try_write; what the socket does not take goes out
 * with one uv_write from a second buffer, so replies added meanwhile never
 * move memory a write still uses.
 *
 * Failure modes: a protocol error is answered with Redis's text and the
 * connection closes after the reply; a query buffer past
 * client-query-buffer-limit closes the connection at once (as Redis); a
 * client over maxclients gets "-ERR max number of clients reached". A client
 * that goes away while writes it proposed are in flight is forgotten by the
 * replica first, so a late reply never reaches freed memory. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cluster.h"
#include "commands.h"
#include "networking.h"
#include "replica.h"
#include "snapshot.h"
#include "util.h"

#define IOBUF_LEN (16 * 1024)

struct clientConn {
    uv_tcp_t tcp;
    client *c;
    struct clientConn *prev, *next;   /* all connections */
    struct clientConn *next_write;    /* clients with output pending */
    int in_write_list;
    int reading;
    int closing;
    uv_write_t wreq;
    int writing;
    char *wbuf;                       /* bytes handed to uv_write */
    size_t wbuf_len, wbuf_cap;
    char addr[64], laddr[64];
    int fd;
};

static uv_tcp_t listener;
static struct clientConn *conns;
static size_t nconns;
static struct clientConn *write_list;
static client *resume_list;           /* unpaused clients to run at the next beforeSleep */

const char *shared_ok = "+OK\r\n";
const char *shared_nullbulk = "$-1\r\n";

static void processInputBuffer(client *c);
static void stopReading(client *c);
static void freeClient(client *c);

/* ------------------------------------------------------------------ output */

static void obufReserve(client *c, size_t extra) {
    if (c->obuf_cap - c->obuf_len >= extra) return;
    size_t cap = c->obuf_cap ? c->obuf_cap : IOBUF_LEN;
    while (cap - c->obuf_len < extra) cap *= 2;
    c->obuf = realloc(c->obuf, cap);
    serverAssert(c->obuf != NULL);
    c->obuf_cap = cap;
}

static void markPendingWrite(client *c) {
    struct clientConn *cc = c->conn;
    if (!cc || cc->in_write_list) return;
    cc->in_write_list = 1;
    cc->next_write = write_list;
    write_list = cc;
}

void addReplyProto(client *c, const char *s, size_t len) {
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) return;
    obufReserve(c, len);
    memcpy(c->obuf + c->obuf_len, s, len);
    c->obuf_len += len;
    markPendingWrite(c);
}

static void addReplyHeader(client *c, char prefix, long long v) {
    char buf[32];
    size_t n = respLongLongHeader(buf, prefix, v);
    addReplyProto(c, buf, n);
}

void addReplyStatusLength(client *c, const char *s, size_t len) {
    obufReserve(c, len + 3);
    addReplyProto(c, "+", 1);
    addReplyProto(c, s, len);
    addReplyProto(c, "\r\n", 2);
}

void addReplyStatus(client *c, const char *status) {
    addReplyStatusLength(c, status, strlen(status));
}

/* Errors never contain newlines: like Redis, replace them by spaces. */
static void addReplyErrorLength(client *c, const char *s, size_t len) {
    if (len == 0 || s[0] != '-') addReplyProto(c, "-ERR ", 5);
    size_t start = c->obuf_len;
    addReplyProto(c, s, len);
    if (!(c->flags & CLIENT_CLOSE_AFTER_REPLY)) {
        for (size_t i = start; i < c->obuf_len; i++)
            if (c->obuf[i] == '\r' || c->obuf[i] == '\n') c->obuf[i] = ' ';
    }
    addReplyProto(c, "\r\n", 2);
    if (!(c->flags & CLIENT_APPLY)) {
        server.stat_total_error_replies++;
        if (len == 0 || s[0] != '-') statsErrorReply("ERR", 3);
        else statsErrorReply(s, len);
    }
}

void addReplyError(client *c, const char *err) {
    addReplyErrorLength(c, err, strlen(err));
}

void addReplyErrorFormat(client *c, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof(buf)) n = sizeof(buf) - 1;
    addReplyErrorLength(c, buf, (size_t)n);
}

void addReplyErrorSyntax(client *c) {
    addReplyErrorLength(c, "syntax error", 12);
}

void addReplyLongLong(client *c, long long v) {
    if (v == 0) addReplyProto(c, ":0\r\n", 4);
    else if (v == 1) addReplyProto(c, ":1\r\n", 4);
    else addReplyHeader(c, ':', v);
}

void addReplyBulkCBuffer(client *c, const void *p, size_t len) {
    obufReserve(c, len + 32);
    addReplyHeader(c, '$', (long long)len);
    addReplyProto(c, p, len);
    addReplyProto(c, "\r\n", 2);
}

void addReplyBulk(client *c, slice s) {
    addReplyBulkCBuffer(c, s.ptr, s.len);
}

void addReplyBulkCString(client *c, const char *s) {
    if (s == NULL) addReplyNull(c);
    else addReplyBulkCBuffer(c, s, strlen(s));
}

void addReplyBulkLongLong(client *c, long long v) {
    char buf[32];
    int n = ll2string(buf, sizeof(buf), v);
    addReplyBulkCBuffer(c, buf, (size_t)n);
}

void addReplyDouble(client *c, double d) {
    if (isinf(d)) {
        addReplyBulkCString(c, d > 0 ? "inf" : "-inf");
        return;
    }
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%.17g", d);
    addReplyBulkCBuffer(c, buf, (size_t)n);
}

void addReplyHumanLongDouble(client *c, long double d) {
    char buf[5 * 1024];
    int n = ld2string(buf, sizeof(buf), d, 1);
    addReplyBulkCBuffer(c, buf, (size_t)n);
}

void addReplyNull(client *c) {
    addReplyProto(c, "$-1\r\n", 5);
}

void addReplyNullArray(client *c) {
    addReplyProto(c, "*-1\r\n", 5);
}

void addReplyArrayLen(client *c, long length) {
    addReplyHeader(c, '*', length);
}

void addReplyMapLen(client *c, long length) {
    addReplyHeader(c, '*', length * 2);
}

void addReplyVerbatim(client *c, const char *s, size_t len) {
    addReplyBulkCBuffer(c, s, len);
}

/* The deferred length takes a fixed 24-byte slot ("*" + up to 21 digits +
 * CRLF, left-padded into place when set) so no reply bytes ever move. */
#define DEFERRED_SLOT 24

size_t addReplyDeferredLen(client *c) {
    obufReserve(c, DEFERRED_SLOT);
    size_t handle = c->obuf_len;
    memset(c->obuf + handle, 0, DEFERRED_SLOT);
    c->obuf_len += DEFERRED_SLOT;
    markPendingWrite(c);
    return handle;
}

void setDeferredArrayLen(client *c, size_t handle, long length) {
    char hdr[32];
    size_t n = respLongLongHeader(hdr, '*', length);
    /* Close the gap: move the bytes after the slot back. */
    size_t after = handle + DEFERRED_SLOT;
    memcpy(c->obuf + handle, hdr, n);
    memmove(c->obuf + handle + n, c->obuf + after, c->obuf_len - after);
    c->obuf_len -= DEFERRED_SLOT - n;
}

/* ------------------------------------------------------------- arguments */

int getLongLongFromArgOrReply(client *c, const slice *a, long long *v, const char *msg) {
    if (!string2ll(a->ptr, a->len, v)) {
        addReplyError(c, msg ? msg : "value is not an integer or out of range");
        return C_ERR;
    }
    return C_OK;
}

int getLongDoubleFromArgOrReply(client *c, const slice *a, long double *v, const char *msg) {
    if (!string2ld(a->ptr, a->len, v)) {
        addReplyError(c, msg ? msg : "value is not a valid float");
        return C_ERR;
    }
    return C_OK;
}

/* Rewritten arguments live in c->argv_scratch. When it grows, the slices
 * already pointing into it are moved along. */
static char *scratchAlloc(client *c, size_t len) {
    if (c->argv_scratch_cap - c->argv_scratch_len < len) {
        size_t cap = c->argv_scratch_cap ? c->argv_scratch_cap : 256;
        while (cap - c->argv_scratch_len < len) cap *= 2;
        char *old = c->argv_scratch;
        char *nb = malloc(cap);
        serverAssert(nb != NULL);
        if (old) memcpy(nb, old, c->argv_scratch_len);
        for (int i = 0; i < c->argc; i++) {
            const char *p = c->argv[i].ptr;
            if (old && p >= old && p <= old + c->argv_scratch_len)
                c->argv[i].ptr = nb + (p - old);
        }
        free(old);
        c->argv_scratch = nb;
        c->argv_scratch_cap = cap;
    }
    char *p = c->argv_scratch + c->argv_scratch_len;
    c->argv_scratch_len += len;
    return p;
}

/* The first rewrite copies the parser's argv so the original stays intact
 * (a paused command re-runs from it). */
static void argvMakeWritable(client *c, int argc) {
    if (c->argv == c->argv_rw && argc <= c->argv_rw_cap) return;
    if (argc > c->argv_rw_cap) {
        slice *n = malloc(sizeof(slice) * (size_t)argc);
        serverAssert(n != NULL);
        memcpy(n, c->argv, sizeof(slice) * (size_t)(c->argc < argc ? c->argc : argc));
        if (c->argv == c->argv_rw) free(c->argv_rw);
        c->argv_rw = n;
        c->argv_rw_cap = argc;
    } else {
        memcpy(c->argv_rw, c->argv, sizeof(slice) * (size_t)(c->argc < argc ? c->argc : argc));
    }
    c->argv = c->argv_rw;
}

void rewriteClientArg(client *c, int i, const char *s, size_t len) {
    argvMakeWritable(c, c->argc);
    char *p = scratchAlloc(c, len);
    memcpy(p, s, len);
    c->argv[i].ptr = p;
    c->argv[i].len = len;
}

/* The sources may point into the query buffer, into the scratch (which
 * may move as it grows) or be c->argv itself: their slices are copied
 * first, scratch positions as offsets, and the bytes are appended after
 * the scratch's current content (it is reset per command), so nothing is
 * allocated unless the scratch grows. */
void rewriteClientArgv(client *c, int argc, const slice *argv) {
    slice src[REWRITE_MAX_ARGS];
    size_t in_scratch[REWRITE_MAX_ARGS], total = 0;
    serverAssert(argc <= REWRITE_MAX_ARGS);
    for (int i = 0; i < argc; i++) {
        src[i] = argv[i];
        const char *p = argv[i].ptr, *sc = c->argv_scratch;
        in_scratch[i] = sc && p >= sc && p < sc + c->argv_scratch_len ? (size_t)(p - sc) + 1 : 0;
        total += argv[i].len;
    }
    char *dst = scratchAlloc(c, total);
    argvMakeWritable(c, argc);
    c->argc = argc;
    for (int i = 0; i < argc; i++) {
        const char *from = in_scratch[i] ? c->argv_scratch + in_scratch[i] - 1 : src[i].ptr;
        memcpy(dst, from, src[i].len);
        c->argv[i].ptr = dst;
        c->argv[i].len = src[i].len;
        dst += src[i].len;
    }
}

/* Back to the parser's view of the request, dropping rewrites. */
static void resetClientArgv(client *c) {
    c->argc = c->parser.argc;
    c->argv = c->parser.argv;
    c->argv_scratch_len = 0;
}

/* ------------------------------------------------------------------ clients */

static void initClient(client *c) {
    memset(c, 0, sizeof(*c));
    c->id = ++server.next_client_id;
    c->resp = 2;
    c->ctime_ms = c->last_interaction_ms = mstime();
    c->authenticated = server.requirepass == NULL || server.requirepass[0] == '\0';
    respParserInit(&c->parser);
    c->parser.max_bulk_len = server.proto_max_bulk_len;
    c->parser.authenticated = c->authenticated;
}

static void releaseClientMemory(client *c) {
    respParserFree(&c->parser);
    free(c->querybuf);
    free(c->obuf);
    free(c->argv_rw);
    free(c->argv_scratch);
    free(c->name);
}

client *createApplyClient(void) {
    client *c = malloc(sizeof(*c));
    serverAssert(c != NULL);
    initClient(c);
    c->flags = CLIENT_APPLY;
    c->authenticated = 1;
    return c;
}

void freeApplyClient(client *c) {
    releaseClientMemory(c);
    free(c);
}

size_t clientsCount(void) {
    return nconns;
}

const char *clientAddr(const client *c) {
    return c->conn ? c->conn->addr : "";
}

static void onClose(uv_handle_t *h) {
    struct clientConn *cc = h->data;
    client *c = cc->c;
    releaseClientMemory(c);
    free(cc->wbuf);
    free(cc);
    free(c);
}

static void unlinkFromWriteList(struct clientConn *cc) {
    if (!cc->in_write_list) return;
    struct clientConn **pp = &write_list;
    while (*pp && *pp != cc) pp = &(*pp)->next_write;
    if (*pp) *pp = cc->next_write;
    cc->in_write_list = 0;
}

static void unlinkFromResumeList(client *c) {
    client **pp = &resume_list;
    while (*pp && *pp != c) pp = &(*pp)->next_paused;
    if (*pp) *pp = c->next_paused;
}

static void freeClient(client *c) {
    struct clientConn *cc = c->conn;
    if (cc->closing) return;
    cc->closing = 1;
    replicaForgetClient(c);
    snapshotForgetClient(c);
    commandsForgetClient(c);
    clusterForgetClient(c);
    unlinkFromWriteList(cc);
    unlinkFromResumeList(c);
    if (cc->prev) cc->prev->next = cc->next;
    else conns = cc->next;
    if (cc->next) cc->next->prev = cc->prev;
    nconns--;
    uv_close((uv_handle_t *)&cc->tcp, onClose);
}

/* Closes the connection once its pending output is written. */
static void closeAfterReply(client *c) {
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    if (c->conn->reading) {
        uv_read_stop((uv_stream_t *)&c->conn->tcp);
        c->conn->reading = 0;
    }
    markPendingWrite(c);
}

static void allocBuffer(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    struct clientConn *cc = h->data;
    client *c = cc->c;
    size_t want = IOBUF_LEN;
    if (c->parser.need > want && c->parser.need < server.client_max_querybuf_len) want = c->parser.need;
    if (c->paused_len) {
        /* The paused command's argv points into the buffer: what comes meanwhile goes
         * after it, in the room there is (none: UV_ENOBUFS, and reading stops). */
        *buf = uv_buf_init(c->querybuf + c->qb_len, (unsigned)(c->qb_cap - c->qb_len));
        return;
    }
    if (c->qb_cap - c->qb_len < want) {
        size_t cap = c->qb_cap ? c->qb_cap : IOBUF_LEN;
        while (cap - c->qb_len < want) cap *= 2;
        char *nb = realloc(c->querybuf, cap);
        serverAssert(nb != NULL);
        c->querybuf = nb;
        c->qb_cap = cap;
    }
    buf->base = c->querybuf + c->qb_len;
    buf->len = c->qb_cap - c->qb_len;
}

static void onRead(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    struct clientConn *cc = s->data;
    client *c = cc->c;
    if (nread == UV_ENOBUFS) {
        stopReading(c);     /* paused with a full buffer: resumeClient reads again */
        return;
    }
    if (nread < 0) {
        freeClient(c);
        return;
    }
    if (nread == 0) return;
    /* New requests need a ReadIndex round asked after they came. While a command is
     * paused the bytes before them keep what a grant gives them. */
    if (!c->paused_len) c->read_granted = 0;
    else if (c->grant_limit == SIZE_MAX) c->grant_limit = c->qb_len;
    c->qb_len += (size_t)nread;
    server.stat_net_input_bytes += nread;
    c->last_interaction_ms = mstime();
    if (c->qb_len > server.client_max_querybuf_len) {
        serverLog(LL_WARNING, "Closing client that reached max query buffer length: id=%llu addr=%s qbuf=%zu",
                  (unsigned long long)c->id, cc->addr, c->qb_len);
        freeClient(c);
        return;
    }
    if (!c->paused_len) processInputBuffer(c);
}

static void startReading(client *c) {
    struct clientConn *cc = c->conn;
    if (cc->reading || cc->closing || (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_PAUSED))) return;
    if (uv_read_start((uv_stream_t *)&cc->tcp, allocBuffer, onRead) == 0) cc->reading = 1;
}

static void stopReading(client *c) {
    struct clientConn *cc = c->conn;
    if (!cc->reading) return;
    uv_read_stop((uv_stream_t *)&cc->tcp);
    cc->reading = 0;
}

/* Parses and runs every complete request in the query buffer, in order. A
 * paused command keeps its bytes (and the parser's argv into them) in place
 * until it resumes: what arrives meanwhile is only appended, into the room the
 * buffer has (reading stops when there is none). Reading goes on otherwise: stopping
 * and restarting it cost two epoll_ctl calls per pause, ~13% of a cluster
 * leader's loop under GET -P 16. */
static void processInputBuffer(client *c) {
    c->parser.max_bulk_len = server.proto_max_bulk_len;   /* CONFIG SET applies at once */
    while (c->qb_pos < c->qb_len && !(c->flags & (CLIENT_PAUSED | CLIENT_CLOSE_AFTER_REPLY)) &&
           !c->conn->closing) {
        size_t consumed = 0;
        const char *err = NULL;
        int rc = respParse(&c->parser, c->querybuf + c->qb_pos, c->qb_len - c->qb_pos, &consumed, &err);
        if (rc == RESP_AGAIN) break;
        if (rc == RESP_ERR) {
            addReplyError(c, err);
            serverLog(LL_VERBOSE, "Protocol error (%s) from client id=%llu addr=%s", err,
                      (unsigned long long)c->id, c->conn->addr);
            closeAfterReply(c);
            c->qb_pos = c->qb_len;
            break;
        }
        if (c->parser.argc == 0) {
            c->qb_pos += consumed;
            continue;
        }
        resetClientArgv(c);
        c->req_end = c->qb_pos + consumed;
        if (processCommand(c) == C_ERR) {
            c->flags |= CLIENT_PAUSED;
            c->paused_len = consumed;
            resetClientArgv(c);
            return;
        }
        c->qb_pos += consumed;
    }
    if (c->qb_pos > 0) {
        memmove(c->querybuf, c->querybuf + c->qb_pos, c->qb_len - c->qb_pos);
        c->qb_len -= c->qb_pos;
        if (c->grant_limit != SIZE_MAX)
            c->grant_limit = c->grant_limit > c->qb_pos ? c->grant_limit - c->qb_pos : 0;
        c->qb_pos = 0;
    }
}

/* A paused client re-runs its pending command first (its argv still points
 * at the unmoved buffer), then the rest of its input. */
static void resumeClient(client *c) {
    if (c->conn->closing) return;
    resetClientArgv(c);
    c->req_end = c->qb_pos + c->paused_len;
    if (processCommand(c) == C_ERR) {
        c->flags |= CLIENT_PAUSED;
        resetClientArgv(c);
        return;
    }
    c->qb_pos += c->paused_len;
    c->paused_len = 0;
    processInputBuffer(c);
    startReading(c);
}

void unpauseClient(client *c) {
    if (!(c->flags & CLIENT_PAUSED) || c->conn == NULL || c->conn->closing) return;
    c->flags &= ~CLIENT_PAUSED;
    c->next_paused = resume_list;
    resume_list = c;
}

static void onWrite(uv_write_t *req, int status);

/* Writes c->obuf: as much as the socket takes now, the rest with uv_write
 * from wbuf. Returns C_ERR if the client was freed. */
static int writeToClient(client *c) {
    struct clientConn *cc = c->conn;
    if (cc->writing || cc->closing) return C_OK;
    if (c->obuf_len > 0) {
        uv_buf_t b = uv_buf_init(c->obuf, (unsigned)c->obuf_len);
        int n = uv_try_write((uv_stream_t *)&cc->tcp, &b, 1);
        if (n < 0 && n != UV_EAGAIN) {
            freeClient(c);
            return C_ERR;
        }
        size_t sent = n > 0 ? (size_t)n : 0;
        server.stat_net_output_bytes += (long long)sent;
        if (sent < c->obuf_len) {
            /* Swap buffers: the remainder goes out from wbuf. */
            char *tmp = cc->wbuf;
            size_t tcap = cc->wbuf_cap;
            cc->wbuf = c->obuf;
            cc->wbuf_cap = c->obuf_cap;
            cc->wbuf_len = c->obuf_len;
            c->obuf = tmp;
            c->obuf_cap = tcap;
            c->obuf_len = 0;
            uv_buf_t wb = uv_buf_init(cc->wbuf + sent, (unsigned)(cc->wbuf_len - sent));
            cc->wreq.data = cc;
            if (uv_write(&cc->wreq, (uv_stream_t *)&cc->tcp, &wb, 1, onWrite) != 0) {
                freeClient(c);
                return C_ERR;
            }
            cc->writing = 1;
            server.stat_net_output_bytes += (long long)(cc->wbuf_len - sent);
            return C_OK;
        }
        c->obuf_len = 0;
        if (c->obuf_cap > 4 * IOBUF_LEN) {
            free(c->obuf);
            c->obuf = NULL;
            c->obuf_cap = 0;
        }
    }
    if ((c->flags & CLIENT_CLOSE_AFTER_REPLY) && c->pending_writes == 0) {
        freeClient(c);
        return C_ERR;
    }
    return C_OK;
}

static void onWrite(uv_write_t *req, int status) {
    struct clientConn *cc = req->data;
    cc->writing = 0;
    cc->wbuf_len = 0;
    if (cc->wbuf_cap > 4 * IOBUF_LEN) {
        free(cc->wbuf);
        cc->wbuf = NULL;
        cc->wbuf_cap = 0;
    }
    if (cc->closing) return;
    if (status < 0) {
        freeClient(cc->c);
        return;
    }
    writeToClient(cc->c);
}

/* Runs once per loop iteration, after the replica applied what committed. */
void handleClientsBeforeSleep(void) {
    while (resume_list) {
        client *c = resume_list;
        resume_list = c->next_paused;
        c->next_paused = NULL;
        resumeClient(c);
    }
    while (write_list) {
        struct clientConn *cc = write_list;
        write_list = cc->next_write;
        cc->in_write_list = 0;
        writeToClient(cc->c);
    }
}

static void formatPeer(uv_tcp_t *t, char *out, size_t outlen, int local) {
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    int rc = local ? uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len)
                   : uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len);
    out[0] = '\0';
    if (rc != 0) return;
    char ip[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
        uv_ip4_name(sa, ip, sizeof(ip));
        port = ntohs(sa->sin_port);
        snprintf(out, outlen, "%s:%d", ip, port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;
        uv_ip6_name(sa, ip, sizeof(ip));
        port = ntohs(sa->sin6_port);
        snprintf(out, outlen, "%s:%d", ip, port);
    }
}

static void onRejectedClose(uv_handle_t *h) {
    free(h);
}

static void onRejectWrite(uv_write_t *req, int status) {
    uv_close((uv_handle_t *)req->handle, onRejectedClose);
    free(req);
}

static void rejectConnection(uv_stream_t *srv) {
    uv_tcp_t *t = malloc(sizeof(*t));
    serverAssert(t != NULL);
    uv_tcp_init(srv->loop, t);
    if (uv_accept(srv, (uv_stream_t *)t) != 0) {
        uv_close((uv_handle_t *)t, onRejectedClose);
        return;
    }
    static const char msg[] = "-ERR max number of clients reached\r\n";
    uv_buf_t b = uv_buf_init((char *)msg, sizeof(msg) - 1);
    uv_write_t *req = malloc(sizeof(*req));
    serverAssert(req != NULL);
    if (uv_write(req, (uv_stream_t *)t, &b, 1, onRejectWrite) != 0) {
        free(req);
        uv_close((uv_handle_t *)t, onRejectedClose);
    }
    server.stat_rejected_conn++;
}

static void onConnection(uv_stream_t *srv, int status) {
    if (status < 0) {
        serverLog(LL_WARNING, "Accepting client connection: %s", uv_strerror(status));
        return;
    }
    if (nconns >= server.maxclients) {
        rejectConnection(srv);
        return;
    }
    struct clientConn *cc = calloc(1, sizeof(*cc));
    client *c = malloc(sizeof(*c));
    serverAssert(cc && c);
    initClient(c);
    c->conn = cc;
    cc->c = c;
    uv_tcp_init(srv->loop, &cc->tcp);
    cc->tcp.data = cc;
    if (uv_accept(srv, (uv_stream_t *)&cc->tcp) != 0) {
        uv_close((uv_handle_t *)&cc->tcp, onClose);
        return;
    }
    uv_tcp_nodelay(&cc->tcp, 1);
    if (server.tcpkeepalive > 0) uv_tcp_keepalive(&cc->tcp, 1, (unsigned)server.tcpkeepalive);
    uv_os_fd_t fd;
    cc->fd = uv_fileno((uv_handle_t *)&cc->tcp, &fd) == 0 ? (int)fd : -1;
    formatPeer(&cc->tcp, cc->addr, sizeof(cc->addr), 0);
    formatPeer(&cc->tcp, cc->laddr, sizeof(cc->laddr), 1);
    cc->next = conns;
    if (conns) conns->prev = cc;
    conns = cc;
    nconns++;
    server.stat_numconnections++;
    startReading(c);
}

int listenToPort(uv_loop_t *loop) {
    struct sockaddr_storage addr;
    int rc;
    if (strchr(server.bindaddr, ':'))
        rc = uv_ip6_addr(server.bindaddr, server.port, (struct sockaddr_in6 *)&addr);
    else
        rc = uv_ip4_addr(server.bindaddr, server.port, (struct sockaddr_in *)&addr);
    if (rc != 0) {
        serverLog(LL_WARNING, "Invalid bind address '%s': %s", server.bindaddr, uv_strerror(rc));
        return C_ERR;
    }
    uv_tcp_init(loop, &listener);
    if ((rc = uv_tcp_bind(&listener, (struct sockaddr *)&addr, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&listener, server.tcp_backlog, onConnection)) != 0) {
        serverLog(LL_WARNING, "Could not create server TCP listening socket %s:%d: %s", server.bindaddr,
                  server.port, uv_strerror(rc));
        return C_ERR;
    }
    return C_OK;
}

/* Closes clients idle longer than `timeout` (never those waiting for writes,
 * nor Raft peers: a link between two followers may be quiet for long). */
void clientsCron(void) {
    if (server.maxidletime <= 0) return;
    long long now = mstime();
    struct clientConn *cc = conns;
    while (cc) {
        struct clientConn *next = cc->next;
        client *c = cc->c;
        if (c->pending_writes == 0 && !(c->flags & (CLIENT_PAUSED | CLIENT_PEER)) &&
            now - c->last_interaction_ms > server.maxidletime * 1000) {
            serverLog(LL_VERBOSE, "Closing idle client id=%llu", (unsigned long long)c->id);
            freeClient(c);
        }
        cc = next;
    }
}

/* ------------------------------------------------------------ QUIT, CLIENT */

void quitCommand(client *c) {
    addReplyOK(c);
    if (c->conn) closeAfterReply(c);
}

void clientIdCommand(client *c) {
    addReplyLongLong(c, (long long)c->id);
}

void clientSetnameCommand(client *c) {
    const slice *name = &c->argv[2];
    for (size_t i = 0; i < name->len; i++) {
        if (name->ptr[i] < '!' || name->ptr[i] > '~') {
            addReplyError(c, "Client names cannot contain spaces, newlines or special characters.");
            return;
        }
    }
    free(c->name);
    c->name = NULL;
    if (name->len > 0) {
        c->name = malloc(name->len + 1);
        serverAssert(c->name != NULL);
        memcpy(c->name, name->ptr, name->len);
        c->name[name->len] = '\0';
    }
    addReplyOK(c);
}

void clientGetnameCommand(client *c) {
    addReplyBulkCString(c, c->name);
}

/* One CLIENT LIST / CLIENT INFO line, with Redis 7.0's fields. */
static int clientInfoLine(client *c, char *buf, size_t len) {
    struct clientConn *cc = c->conn;
    long long now = mstime();
    char flags[8];
    int f = 0;
    if (c->flags & CLIENT_READONLY) flags[f++] = 'r';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) flags[f++] = 'c';
    if (c->flags & CLIENT_PAUSED) flags[f++] = 'b';
    if (f == 0) flags[f++] = 'N';
    flags[f] = '\0';
    char cmd[64];
    commandFullName(c->lastcmd, cmd, sizeof(cmd));
    return snprintf(buf, len,
                    "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=0 psub=0 ssub=0 "
                    "multi=-1 qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=0 obl=%zu oll=0 omem=%zu "
                    "tot-mem=%zu events=%s cmd=%s user=default redir=-1 resp=%d\n",
                    (unsigned long long)c->id, cc->addr, cc->laddr, cc->fd, c->name ? c->name : "",
                    (now - c->ctime_ms) / 1000, (now - c->last_interaction_ms) / 1000, flags, c->db, c->qb_len,
                    c->qb_cap - c->qb_len, c->qb_cap, c->obuf_len, cc->wbuf_len,
                    sizeof(*c) + sizeof(*cc) + c->qb_cap + c->obuf_cap + cc->wbuf_cap, cc->writing ? "rw" : "r",
                    cmd, c->resp);
}

void clientInfoCommand(client *c) {
    char line[1024];
    int n = clientInfoLine(c, line, sizeof(line));
    addReplyVerbatim(c, line, (size_t)n);
}

static int parseClientType(const slice *s) {
    if (argIs(s, "normal")) return 0;
    if (argIs(s, "master") || argIs(s, "replica") || argIs(s, "slave") || argIs(s, "pubsub")) return 1;
    return -1;
}

void clientListCommand(client *c) {
    int only_type = -1;
    long long *ids = NULL;
    int nids = 0;
    if (c->argc == 4 && argIs(&c->argv[2], "type")) {
        only_type = parseClientType(&c->argv[3]);
        if (only_type < 0) {
            addReplyErrorFormat(c, "Unknown client type '%.*s'", (int)c->argv[3].len, c->argv[3].ptr);
            return;
        }
    } else if (c->argc > 3 && argIs(&c->argv[2], "id")) {
        ids = malloc(sizeof(long long) * (size_t)(c->argc - 3));
        serverAssert(ids != NULL);
        for (int j = 3; j < c->argc; j++) {
            long long id;
            if (!string2ll(c->argv[j].ptr, c->argv[j].len, &id) || id < 1) {
                addReplyError(c, "Invalid client ID");
                free(ids);
                return;
            }
            ids[nids++] = id;
        }
    } else if (c->argc != 2) {
        addReplyErrorSyntax(c);
        return;
    }
    size_t cap = 1024 * (nconns + 1), len = 0;
    char *out = malloc(cap);
    serverAssert(out != NULL);
    for (struct clientConn *cc = conns; cc; cc = cc->next) {
        if (only_type > 0) continue;
        if (nids) {
            int found = 0;
            for (int j = 0; j < nids; j++) found |= (uint64_t)ids[j] == cc->c->id;
            if (!found) continue;
        }
        if (cap - len < 1024) {
            cap *= 2;
            out = realloc(out, cap);
            serverAssert(out != NULL);
        }
        len += (size_t)clientInfoLine(cc->c, out + len, cap - len);
    }
    addReplyVerbatim(c, out, len);
    free(out);
    free(ids);
}

static int addrMatches(const char *have, const slice *want) {
    return strlen(have) == want->len && memcmp(have, want->ptr, want->len) == 0;
}

void clientKillCommand(client *c) {
    /* Old form: CLIENT KILL addr:port */
    if (c->argc == 3) {
        for (struct clientConn *cc = conns; cc; cc = cc->next) {
            if (addrMatches(cc->addr, &c->argv[2])) {
                addReplyOK(c);
                if (cc->c == c) closeAfterReply(c);
                else freeClient(cc->c);
                return;
            }
        }
        addReplyError(c, "No such client");
        return;
    }
    long long id = 0;
    int type = -1, skipme = 1;
    const slice *addr = NULL, *laddr = NULL, *user = NULL;
    if ((c->argc - 2) % 2 != 0) {
        addReplyErrorSyntax(c);
        return;
    }
    for (int i = 2; i < c->argc; i += 2) {
        const slice *opt = &c->argv[i], *val = &c->argv[i + 1];
        if (argIs(opt, "id")) {
            if (!string2ll(val->ptr, val->len, &id) || id < 1) {
                addReplyError(c, "client-id should be greater than 0");
                return;
            }
        } else if (argIs(opt, "type")) {
            type = parseClientType(val);
            if (type < 0) {
                addReplyErrorFormat(c, "Unknown client type '%.*s'", (int)val->len, val->ptr);
                return;
            }
        } else if (argIs(opt, "addr")) {
            addr = val;
        } else if (argIs(opt, "laddr")) {
            laddr = val;
        } else if (argIs(opt, "user")) {
            user = val;
        } else if (argIs(opt, "skipme")) {
            if (argIs(val, "yes")) skipme = 1;
            else if (argIs(val, "no")) skipme = 0;
            else {
                addReplyErrorSyntax(c);
                return;
            }
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    long long killed = 0;
    int kill_self = 0;
    struct clientConn *cc = conns;
    while (cc) {
        struct clientConn *next = cc->next;
        client *t = cc->c;
        int match = 1;
        if (id && t->id != (uint64_t)id) match = 0;
        if (type > 0) match = 0;
        if (addr && !addrMatches(cc->addr, addr)) match = 0;
        if (laddr && !addrMatches(cc->laddr, laddr)) match = 0;
        if (user && !(user->len == 7 && memcmp(user->ptr, "default", 7) == 0)) match = 0;
        if (t == c && skipme) match = 0;
        if (match) {
            killed++;
            if (t == c) kill_self = 1;
            else freeClient(t);
        }
        cc = next;
    }
    addReplyLongLong(c, killed);
    if (kill_self) closeAfterReply(c);
}

void clientHelpCommand(client *c) {
    static const char *help[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof(help) / sizeof(help[0]);
    addReplyArrayLen(c, (long)n);
    for (size_t i = 0; i < n; i++) addReplyStatus(c, help[i]);
}
