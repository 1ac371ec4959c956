/* transport.c — Raft peer links: outgoing hiredis connections, the RAFT.*
 * commands peers send us, and peer authentication.
 *
 * Peers use each node's ordinary client port (the address listed in
 * cluster-members): one port to configure and open, and the same RESP
 * parser, limits and event loop as clients. Internal commands are told
 * apart by CMD_PEER and only an authenticated connection may use RAFT.MSG.
 *
 * Owns one link per other member of the current configuration, and to a
 * leader that is removing itself (a redisAsyncContext attached to the loop
 * by the small adapter below, one timer and one name lookup); links open
 * and close as the configuration changes (transportSyncPeers), a closed
 * one keeps its struct for a node that comes back. Also carries a
 * caller's one-off command to a peer and hands back its reply
 * (transportCall: CLUSTER FAILOVER asking the leader, snapshot transfers), answers
 * RAFT.MEMBERS to a joining node, and asks it for one at the joining
 * node's first start (transportFetchMembers, blocking before the loop
 * runs); the handshakes
 * in progress on incoming connections, and the encode/decode scratch buffers.
 * Happy path, outgoing: resolve the peer's cluster-members host with
 * uv_getaddrinfo on the loop's thread pool (a numeric address needs no
 * lookup; a name, e.g. a compose service name, is looked up again before
 * every reconnect, so a peer that comes back with a new address is found),
 * connect without blocking, send RAFT.HELLO <cluster-id> <node-id>
 * <announced-host> <announced-port> (this node's client address for clients,
 * cluster.c), answer the nonce with
 * RAFT.AUTH <hex HMAC-SHA256(cluster-secret, "raftkv-peer|" cluster-id "|"
 * node-id "|" nonce)>, and once +OK arrives every transportSend encodes the
 * message (raftwire.c) into one preformatted `RAFT.MSG <binary>` command;
 * each gets a +OK reply (+REMOVED when the sender's removal from the
 * configuration is committed: a removed follower never receives the entry
 * that removed it, so this is how it learns, and logs, that it was
 * removed). Incoming: RAFT.HELLO checks the cluster id and that
 * the node is known and answers a fresh random nonce; RAFT.AUTH checks
 * the proof, marks the connection CLIENT_PEER and records the client
 * address the peer announced (clusterSetAnnounced); RAFT.MSG decodes the
 * message in place (entries point into the query buffer), checks that it
 * comes from the authenticated node and is addressed to us, and steps the
 * replica.
 *
 * Failure modes: nothing here ever blocks the loop. At most
 * TRANSPORT_MAX_LOOKUPS name lookups run at once, so a slow resolver cannot
 * take the thread pool that log persistence also uses; a lookup that fails
 * counts as a failed connect. A link that is down or
 * still authenticating drops messages (Raft retransmits), as does a link
 * with more than TRANSPORT_PEER_MAX_INFLIGHT_BYTES sent and not answered. A
 * connect error, a disconnect, a handshake not done within the link timeout
 * or a link whose replies stop arriving for that long closes the context and
 * retries after an exponential backoff (100 ms doubling to 5 s, reset once
 * authenticated). Incoming: a wrong cluster id, an unknown node or a bad
 * proof gets "-ERR raft peer authentication failed", a WARNING naming the
 * connection, and the connection closes; RAFT.MSG from a connection that is
 * not an authenticated peer gets -NOPERM and changes nothing; a malformed
 * message or one whose sender is not the authenticated node closes the
 * connection. The handshake proves the connecting side only; traffic is
 * neither encrypted nor protected against a man in the middle. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "cluster.h"
#include "commands.h"
#include "membership.h"
#include "raftwire.h"
#include "replica.h"
#include "sha256.h"
#include "transport.h"
#include "util.h"

void replicaStep(const raftMsg *m);

#define NONCE_BYTES 16
#define NONCE_HEX (2 * NONCE_BYTES)
#define PROOF_HEX (2 * SHA256_DIGEST_LEN)
#define PENDING_HANDSHAKES 64
#define MSG_CMD_HEADER_MAX 40       /* "*2\r\n$8\r\nRAFT.MSG\r\n$<len>\r\n" */

#define TRANSPORT_MAX_LOOKUPS 2     /* concurrent uv_getaddrinfo: the pool has 4 threads */
#define LOOKUP_RETRY_MS 20          /* a link waiting for a lookup slot looks again after this */

enum { LINK_DOWN, LINK_RESOLVING, LINK_HANDSHAKE, LINK_UP };

typedef struct peerLink {
    uint64_t id;
    int active;                     /* a member: 0 once removed (the struct stays, ids are never reused) */
    const char *host;               /* cluster-members host, borrowed from cluster.c */
    char ip[INET6_ADDRSTRLEN];      /* host's address for hiredis, which would resolve names blocking */
    int port;
    int state;
    uv_getaddrinfo_t lookup;        /* LINK_RESOLVING */
    redisAsyncContext *ac;          /* NULL while LINK_DOWN */
    uv_timer_t timer;               /* DOWN: reconnect; HANDSHAKE: deadline; UP: reply watchdog */
    long long backoff_ms;
    long long inflight_bytes;       /* RAFT.MSG bytes sent, reply not received yet */
    long long last_reply_ms;
    int warned;                     /* a failure was logged since the link was last up */
} peerLink;

/* An incoming connection between RAFT.HELLO and RAFT.AUTH. */
typedef struct pendingHandshake {
    uint64_t client_id;             /* 0 = free slot */
    uint64_t node_id;
    char nonce[NONCE_HEX + 1];
    long long since_ms;
    char announce_host[CLUSTER_HOST_MAX];  /* the peer's client address, recorded once it authenticates */
    size_t announce_len;            /* 0 = none announced */
    int announce_port;
} pendingHandshake;

static uv_loop_t *loop;
static peerLink *links[CLUSTER_MAX_NODES];    /* stable addresses: timers and lookups point at them */
static int nlinks;
static int stopped;
static int lookups;                 /* uv_getaddrinfo requests in flight */
static pendingHandshake pending[PENDING_HANDSHAKES];
static transportStats stats;

static unsigned char *txbuf;        /* one preformatted RAFT.MSG command */
static size_t txbuf_cap;
static raftEntry *rx_ents;          /* decoded entries' structs, reused */
static size_t rx_ents_cap;
static long long last_noperm_log_ms;
static int told_removed;            /* a peer answered REMOVED: logged once */

static void linkResolve(peerLink *l);

/* ------------------------------------------------------ hiredis on libuv
 * hiredis 0.14.1's own libuv adapter ignores a poll callback with an error
 * status, and libuv reports POLLERR exactly that way (UV_EBADF, no events,
 * poll stopped): a refused connect or a reset link would then hang until a
 * timeout. This adapter, like later hiredis releases, answers an error by
 * running the I/O hiredis was waiting for, which finds the socket error and
 * disconnects through the usual callbacks.
 * It also spares the poll's changes: each uv_poll_start removes the socket from
 * epoll and adds it again, even for the same events, and hiredis asks for writable
 * before and after every message (and for readable after every write): ~4 epoll_ctl
 * calls per message and peer, 146k in 2 s on a leader under GET -P 16. So a request
 * for what the poll already watches changes nothing, and a connected link's output
 * is written by transportFlush, which every loop iteration runs before it polls,
 * watching for writable only when the socket does not take it all. */

typedef struct uvEvents {
    redisAsyncContext *ac;          /* NULL once hiredis cleaned up */
    uv_poll_t poll;
    int events;                     /* what the poll watches */
    int want_write;                 /* hiredis has output queued */
} uvEvents;

static void onPoll(uv_poll_t *h, int status, int events) {
    uvEvents *e = h->data;
    int ev = status < 0 ? e->events : events;
    if (e->ac && (ev & UV_READABLE)) redisAsyncHandleRead(e->ac);
    if (e->ac && (ev & UV_WRITABLE)) redisAsyncHandleWrite(e->ac);
}

static void uvEventsUpdate(uvEvents *e, int add, int del) {
    int events = (e->events | add) & ~del;
    if (events == e->events) return;
    e->events = events;
    if (e->events) uv_poll_start(&e->poll, e->events, onPoll);
    else uv_poll_stop(&e->poll);
}

static void uvAddRead(void *d) { uvEventsUpdate(d, UV_READABLE, 0); }
static void uvDelRead(void *d) { uvEventsUpdate(d, 0, UV_READABLE); }

static void uvAddWrite(void *d) {
    uvEvents *e = d;
    e->want_write = 1;
    /* A connect in progress shows its end as writable: that one is polled for. */
    if (!(e->ac->c.flags & REDIS_CONNECTED)) uvEventsUpdate(e, UV_WRITABLE, 0);
}

static void uvDelWrite(void *d) {
    uvEvents *e = d;
    e->want_write = 0;
    uvEventsUpdate(e, 0, UV_WRITABLE);
}

static void uvEventsFree(uv_handle_t *h) {
    free(h->data);
}

static void uvCleanup(void *d) {
    uvEvents *e = d;
    e->ac = NULL;
    uv_close((uv_handle_t *)&e->poll, uvEventsFree);
}

static int uvAttach(redisAsyncContext *ac) {
    uvEvents *e = calloc(1, sizeof(*e));
    if (!e) return C_ERR;
    if (uv_poll_init(loop, &e->poll, ac->c.fd) != 0) {
        free(e);
        return C_ERR;
    }
    e->ac = ac;
    e->poll.data = e;
    ac->ev.data = e;
    ac->ev.addRead = uvAddRead;
    ac->ev.delRead = uvDelRead;
    ac->ev.addWrite = uvAddWrite;
    ac->ev.delWrite = uvDelWrite;
    ac->ev.cleanup = uvCleanup;
    return C_OK;
}

/* ------------------------------------------------------------- outgoing */

/* Handshake deadline and dead-link threshold. */
static long long linkTimeoutMs(void) {
    long long t = 2 * server.election_timeout_ms;
    return t < 1000 ? 1000 : t;
}

/* Hex HMAC proving knowledge of the secret for node_id and nonce. */
static void peerProof(uint64_t node_id, const char *nonce, size_t nonce_len, char out[PROOF_HEX + 1]) {
    const char *cid = server.cluster_id ? server.cluster_id : "";
    const char *secret = server.cluster_secret ? server.cluster_secret : "";
    char idbuf[LONG_STR_SIZE];
    int idlen = snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)node_id);
    size_t cidlen = strlen(cid), len = 12 + cidlen + 1 + (size_t)idlen + 1 + nonce_len;
    char *msg = malloc(len);
    serverAssert(msg != NULL);
    char *p = msg;
    memcpy(p, "raftkv-peer|", 12);
    p += 12;
    memcpy(p, cid, cidlen);
    p += cidlen;
    *p++ = '|';
    memcpy(p, idbuf, (size_t)idlen);
    p += idlen;
    *p++ = '|';
    memcpy(p, nonce, nonce_len);
    unsigned char mac[SHA256_DIGEST_LEN];
    hmacSha256(secret, strlen(secret), msg, len, mac);
    free(msg);
    sha256ToHex(mac, sizeof(mac), out);
}

static peerLink *findLink(uint64_t id) {
    for (int i = 0; i < nlinks; i++)
        if (links[i]->id == id) return links[i];
    return NULL;
}

static void armTimer(peerLink *l, long long ms, long long repeat_ms);

/* The context is gone or going: forget it and schedule a reconnect. */
static void linkLost(peerLink *l, const char *why) {
    if (l->state == LINK_UP) {
        serverLog(LL_WARNING, "Raft peer %llu (%s:%d): link lost: %s", (unsigned long long)l->id, l->host, l->port, why);
        l->backoff_ms = TRANSPORT_BACKOFF_MIN_MS;
    } else {
        if (!l->warned) serverLog(LL_WARNING, "Raft peer %llu (%s:%d): cannot connect: %s (retrying with backoff)",
                                  (unsigned long long)l->id, l->host, l->port, why);
        else serverLog(LL_VERBOSE, "Raft peer %llu (%s:%d): %s", (unsigned long long)l->id, l->host, l->port, why);
        l->warned = 1;
    }
    l->ac = NULL;
    l->state = LINK_DOWN;
    l->inflight_bytes = 0;
    if (stopped || !l->active) return;
    armTimer(l, l->backoff_ms, 0);
    l->backoff_ms *= 2;
    if (l->backoff_ms > TRANSPORT_BACKOFF_MAX_MS) l->backoff_ms = TRANSPORT_BACKOFF_MAX_MS;
}

/* Closes the link's context ourselves (timeouts, refused handshake). */
static void linkDrop(peerLink *l, const char *why) {
    redisAsyncContext *ac = l->ac;
    if (!ac) return;
    linkLost(l, why);
    ac->data = NULL;
    redisAsyncFree(ac);
}

static void onConnect(const redisAsyncContext *ac, int status) {
    peerLink *l = ac->data;
    if (status == REDIS_OK || !l || l->ac != ac) return;
    /* hiredis frees the context after this callback. */
    linkLost(l, ac->errstr[0] ? ac->errstr : "connect failed");
}

static void onDisconnect(const redisAsyncContext *ac, int status) {
    peerLink *l = ac->data;
    if (!l || l->ac != ac) return;
    linkLost(l, ac->err ? ac->errstr : "connection closed");
}

static void onAuthReply(redisAsyncContext *ac, void *r, void *privdata) {
    peerLink *l = ac->data;
    redisReply *reply = r;
    if (!l || l->ac != ac || !reply) return;
    if (reply->type != REDIS_REPLY_STATUS) {
        linkDrop(l, reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected RAFT.AUTH reply");
        return;
    }
    l->state = LINK_UP;
    l->backoff_ms = TRANSPORT_BACKOFF_MIN_MS;
    l->last_reply_ms = mstime();
    l->warned = 0;
    long long t = linkTimeoutMs();
    armTimer(l, t / 4, t / 4);
    serverLog(LL_NOTICE, "Raft peer %llu (%s:%d, %s): connected and authenticated", (unsigned long long)l->id,
              l->host, l->port, l->ip);
}

static void onHelloReply(redisAsyncContext *ac, void *r, void *privdata) {
    peerLink *l = ac->data;
    redisReply *reply = r;
    if (!l || l->ac != ac || !reply) return;
    if (reply->type != REDIS_REPLY_STRING || reply->len != NONCE_HEX) {
        linkDrop(l, reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected RAFT.HELLO reply");
        return;
    }
    char proof[PROOF_HEX + 1];
    peerProof(server.node_id, reply->str, reply->len, proof);
    redisAsyncCommand(ac, onAuthReply, NULL, "RAFT.AUTH %s", proof);
}

static void onMsgReply(redisAsyncContext *ac, void *r, void *privdata) {
    peerLink *l = ac->data;
    redisReply *reply = r;
    if (!l || l->ac != ac || !reply) return;
    l->inflight_bytes -= (long long)(uintptr_t)privdata;
    l->last_reply_ms = mstime();
    if (reply->type == REDIS_REPLY_ERROR) linkDrop(l, reply->str);
    else if (reply->type == REDIS_REPLY_STATUS && !told_removed && strcmp(reply->str, "REMOVED") == 0) {
        told_removed = 1;
        serverLog(LL_WARNING, "Raft peer %llu says this node was removed from the cluster configuration "
                              "(RAFT.NODE REMOVE): it is no member any more, stop it (its id may never be used again)",
                  (unsigned long long)l->id);
    }
}

static void onLinkTimer(uv_timer_t *t) {
    peerLink *l = t->data;
    switch (l->state) {
    case LINK_DOWN:
        linkResolve(l);
        break;
    case LINK_HANDSHAKE:
        linkDrop(l, "handshake timed out");
        break;
    case LINK_UP:
        if (l->inflight_bytes > 0 && mstime() - l->last_reply_ms > linkTimeoutMs())
            linkDrop(l, "no reply within the link timeout");
        break;
    }
}

static void armTimer(peerLink *l, long long ms, long long repeat_ms) {
    uv_timer_start(&l->timer, onLinkTimer, (uint64_t)ms, (uint64_t)repeat_ms);
}

static void linkConnect(peerLink *l) {
    redisAsyncContext *ac = redisAsyncConnect(l->ip, l->port);
    if (!ac) {
        linkLost(l, "out of memory");
        return;
    }
    if (ac->err) {
        char why[128];
        snprintf(why, sizeof(why), "%s", ac->errstr);
        redisAsyncFree(ac);
        linkLost(l, why);
        return;
    }
    if (uvAttach(ac) != C_OK) {
        redisAsyncFree(ac);
        linkLost(l, "cannot attach to the event loop");
        return;
    }
    /* Idle links (follower to follower) still notice a vanished peer. */
    redisEnableKeepAlive(&ac->c);
    ac->data = l;
    l->ac = ac;
    l->state = LINK_HANDSHAKE;
    l->inflight_bytes = 0;
    redisAsyncSetConnectCallback(ac, onConnect);
    redisAsyncSetDisconnectCallback(ac, onDisconnect);
    armTimer(l, linkTimeoutMs(), 0);
    const char *cid = server.cluster_id ? server.cluster_id : "";
    const clusterMember *me = clusterGetAnnounced(server.node_id);
    redisAsyncCommand(ac, onHelloReply, NULL, "RAFT.HELLO %b %llu %s %d", cid, strlen(cid),
                      (unsigned long long)server.node_id, me->host, me->port);
}

/* A lookup finished: connect to its first IPv4 address, else its first
 * address ("localhost" often lists ::1 first while servers usually bind
 * 127.0.0.1). */
static void onResolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    peerLink *l = req->data;
    lookups--;
    if (stopped || l->state != LINK_RESOLVING) {
        uv_freeaddrinfo(res);
        return;
    }
    const struct addrinfo *pick = NULL;
    for (const struct addrinfo *a = status == 0 ? res : NULL; a; a = a->ai_next)
        if (!pick || (a->ai_family == AF_INET && pick->ai_family != AF_INET)) pick = a;
    int rc = pick ? getnameinfo(pick->ai_addr, pick->ai_addrlen, l->ip, sizeof(l->ip), NULL, 0, NI_NUMERICHOST) : -1;
    uv_freeaddrinfo(res);
    l->state = LINK_DOWN;
    if (rc != 0) {
        char why[CLUSTER_HOST_MAX + 64];
        snprintf(why, sizeof(why), "cannot resolve host '%s': %s", l->host,
                 status < 0 ? uv_strerror(status) : "no address");
        linkLost(l, why);
        return;
    }
    linkConnect(l);
}

/* Finds l->host's address, then connects: at once for a numeric address,
 * through uv_getaddrinfo for a name (waiting for a free lookup slot). */
static void linkResolve(peerLink *l) {
    unsigned char buf[sizeof(struct in6_addr)];
    if (uv_inet_pton(AF_INET, l->host, buf) == 0 || uv_inet_pton(AF_INET6, l->host, buf) == 0) {
        snprintf(l->ip, sizeof(l->ip), "%s", l->host);
        linkConnect(l);
        return;
    }
    if (lookups >= TRANSPORT_MAX_LOOKUPS) {
        armTimer(l, LOOKUP_RETRY_MS, 0);
        return;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    l->lookup.data = l;
    int rc = uv_getaddrinfo(loop, &l->lookup, onResolved, l->host, NULL, &hints);
    if (rc != 0) {
        char why[CLUSTER_HOST_MAX + 64];
        snprintf(why, sizeof(why), "cannot resolve host '%s': %s", l->host, uv_strerror(rc));
        linkLost(l, why);
        return;
    }
    lookups++;
    l->state = LINK_RESOLVING;
}

/* Starts the link to member id (created on first use). */
static void linkStart(uint64_t id) {
    peerLink *pl = findLink(id);
    const clusterMember *m = clusterGetMember(id);
    if (!m) return;
    if (!pl) {
        if (nlinks == CLUSTER_MAX_NODES) return;
        pl = calloc(1, sizeof(*pl));
        serverAssert(pl != NULL);
        pl->id = id;
        pl->state = LINK_DOWN;
        uv_timer_init(loop, &pl->timer);
        pl->timer.data = pl;
        links[nlinks++] = pl;
    }
    pl->host = m->host;
    pl->port = m->port;
    pl->active = 1;
    pl->warned = 0;
    pl->backoff_ms = TRANSPORT_BACKOFF_MIN_MS;
    linkResolve(pl);
}

/* Closes the link to a node that left the configuration. */
static void linkStop(peerLink *l) {
    l->active = 0;
    if (l->state == LINK_RESOLVING) uv_cancel((uv_req_t *)&l->lookup);
    if (l->ac) linkDrop(l, "no longer a member");
    l->state = LINK_DOWN;
    uv_timer_stop(&l->timer);
    serverLog(LL_NOTICE, "Raft peer %llu: link closed (no longer a member)", (unsigned long long)l->id);
}

void transportSyncPeers(void) {
    if (!loop || stopped) return;
    uint64_t ids[CLUSTER_MAX_MEMBERS + 1];
    int n = clusterMemberIds(ids, CLUSTER_MAX_MEMBERS);
    replicaInfo ri;
    replicaGetInfo(&ri);
    if (ri.leader_id && clusterNodeRole(ri.leader_id) == CLUSTER_ROLE_NONE) ids[n++] = ri.leader_id;
    for (int i = 0; i < n; i++) {
        const peerLink *l = findLink(ids[i]);
        if (ids[i] != server.node_id && (!l || !l->active)) linkStart(ids[i]);
    }
    for (int i = 0; i < nlinks; i++) {
        int member = 0;
        for (int j = 0; j < n; j++) member |= ids[j] == links[i]->id;
        if (links[i]->active && !member) linkStop(links[i]);
    }
}

int transportInit(uv_loop_t *l) {
    loop = l;
    transportSyncPeers();
    return C_OK;
}

void transportSend(const raftMsg *m) {
    peerLink *l = findLink(m->to);
    if (!l || l->state != LINK_UP) {
        stats.msgs_dropped++;
        return;
    }
    size_t body = raftMsgEncodedLen(m);
    if (l->inflight_bytes + (long long)body > TRANSPORT_PEER_MAX_INFLIGHT_BYTES) {
        stats.msgs_dropped++;
        return;
    }
    size_t need = MSG_CMD_HEADER_MAX + body + 2;
    if (need > txbuf_cap) {
        size_t cap = txbuf_cap ? txbuf_cap : 64 * 1024;
        while (cap < need) cap *= 2;
        txbuf = realloc(txbuf, cap);
        serverAssert(txbuf != NULL);
        txbuf_cap = cap;
    }
    int hlen = snprintf((char *)txbuf, MSG_CMD_HEADER_MAX, "*2\r\n$8\r\nRAFT.MSG\r\n$%zu\r\n", body);
    size_t len = (size_t)hlen + raftMsgEncode(m, txbuf + hlen);
    txbuf[len++] = '\r';
    txbuf[len++] = '\n';
    if (redisAsyncFormattedCommand(l->ac, onMsgReply, (void *)(uintptr_t)len, (const char *)txbuf, len) != REDIS_OK) {
        stats.msgs_dropped++;
        return;
    }
    l->inflight_bytes += (long long)len;
    stats.msgs_sent++;
}

void transportFlush(void) {
    for (int i = 0; i < nlinks; i++) {
        redisAsyncContext *ac = links[i]->ac;
        if (!ac) continue;
        uvEvents *e = ac->ev.data;   /* outlives ac until the loop closes its poll */
        if (!e->want_write) continue;
        redisAsyncHandleWrite(ac);
        if (e->ac && e->want_write) uvEventsUpdate(e, UV_WRITABLE, 0);
    }
}

typedef struct pendingCall {
    transportReplyFn *cb;         /* one of cb and status_cb */
    transportStatusFn *status_cb;
    void *privdata;
} pendingCall;

static void onCallReply(redisAsyncContext *ac, void *r, void *privdata) {
    pendingCall pc = *(pendingCall *)privdata;
    redisReply *reply = r;
    peerLink *l = ac->data;
    if (reply && l && l->ac == ac) l->last_reply_ms = mstime();
    free(privdata);
    if (pc.cb) pc.cb(reply, pc.privdata);
    else pc.status_cb(reply == NULL, reply && reply->type == REDIS_REPLY_ERROR ? reply->str : NULL, pc.privdata);
}

static int sendCall(uint64_t id, int argc, const char **argv, const size_t *argvlen, pendingCall call) {
    peerLink *l = findLink(id);
    if (!l || l->state != LINK_UP) return C_ERR;
    pendingCall *pc = malloc(sizeof(*pc));
    serverAssert(pc != NULL);
    *pc = call;
    if (redisAsyncCommandArgv(l->ac, onCallReply, pc, argc, argv, argvlen) != REDIS_OK) {
        free(pc);
        return C_ERR;
    }
    return C_OK;
}

int transportCall(uint64_t id, int argc, const char **argv, const size_t *argvlen, transportReplyFn *cb,
                  void *privdata) {
    return sendCall(id, argc, argv, argvlen, (pendingCall){.cb = cb, .privdata = privdata});
}

int transportCallStatus(uint64_t id, int argc, const char **argv, const size_t *argvlen, transportStatusFn *cb,
                        void *privdata) {
    return sendCall(id, argc, argv, argvlen, (pendingCall){.status_cb = cb, .privdata = privdata});
}

int transportPeerConnected(uint64_t id) {
    peerLink *l = findLink(id);
    return l && l->state == LINK_UP;
}

void transportGetStats(transportStats *st) {
    *st = stats;
}

void transportStop(void) {
    stopped = 1;
    for (int i = 0; i < nlinks; i++) {
        peerLink *l = links[i];
        if (l->state == LINK_RESOLVING) uv_cancel((uv_req_t *)&l->lookup);
        linkDrop(l, "shutting down");
        uv_timer_stop(&l->timer);
        uv_close((uv_handle_t *)&l->timer, NULL);
    }
}

/* ------------------------------------------------------------- joining */

#define FETCH_TIMEOUT_MS 2000

static int fetchFailed(char *err, size_t errlen, const char *what, const redisReply *r, const redisContext *rc) {
    snprintf(err, errlen, "%s: %s", what,
             r && r->type == REDIS_REPLY_ERROR ? r->str : rc && rc->err ? rc->errstr : "unexpected reply");
    return C_ERR;
}

int transportFetchMembers(const char *addr, char *base, size_t baselen, char **nodes, char *err, size_t errlen) {
    clusterMember m;
    if (clusterParseAddr(addr, strlen(addr), &m, err, errlen) < 0) return C_ERR;
    struct timeval tv = {FETCH_TIMEOUT_MS / 1000, (FETCH_TIMEOUT_MS % 1000) * 1000};
    redisContext *rc = redisConnectWithTimeout(m.host, m.port, tv);
    if (!rc) {
        snprintf(err, errlen, "out of memory");
        return C_ERR;
    }
    int ret = C_ERR;
    redisReply *r = NULL;
    if (rc->err) {
        fetchFailed(err, errlen, "connect", NULL, rc);
        goto done;
    }
    redisSetTimeout(rc, tv);
    const char *cid = server.cluster_id ? server.cluster_id : "";
    r = redisCommand(rc, "RAFT.HELLO %b %llu", cid, strlen(cid), (unsigned long long)server.node_id);
    if (!r || r->type != REDIS_REPLY_STRING || r->len != NONCE_HEX) {
        fetchFailed(err, errlen, "RAFT.HELLO (was this node added with RAFT.NODE ADD?)", r, rc);
        goto done;
    }
    char proof[PROOF_HEX + 1];
    peerProof(server.node_id, r->str, r->len, proof);
    freeReplyObject(r);
    r = redisCommand(rc, "RAFT.AUTH %s", proof);
    if (!r || r->type != REDIS_REPLY_STATUS) {
        fetchFailed(err, errlen, "RAFT.AUTH", r, rc);
        goto done;
    }
    freeReplyObject(r);
    r = redisCommand(rc, "RAFT.MEMBERS");
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING || r->element[0]->len >= baselen) {
        fetchFailed(err, errlen, "RAFT.MEMBERS", r, rc);
        goto done;
    }
    memcpy(base, r->element[0]->str, r->element[0]->len + 1);
    *nodes = strdup(r->element[1]->str);
    serverAssert(*nodes != NULL);
    ret = C_OK;
done:
    if (r) freeReplyObject(r);
    redisFree(rc);
    return ret;
}

/* ------------------------------------------------------------- incoming */

static void peerAuthFailed(client *c, const char *why) {
    serverLog(LL_WARNING, "Raft peer authentication failed for client id=%llu addr=%s: %s", (unsigned long long)c->id, clientAddr(c), why);
    addReplyError(c, "raft peer authentication failed");
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static pendingHandshake *findPending(uint64_t client_id) {
    for (int i = 0; i < PENDING_HANDSHAKES; i++)
        if (pending[i].client_id == client_id) return &pending[i];
    return NULL;
}

/* A free slot, else the oldest handshake's (that connection must start over). */
static pendingHandshake *newPending(uint64_t client_id) {
    pendingHandshake *p = findPending(client_id);
    if (p) return p;
    p = &pending[0];
    for (int i = 0; i < PENDING_HANDSHAKES; i++) {
        if (pending[i].client_id == 0) return &pending[i];
        if (pending[i].since_ms < p->since_ms) p = &pending[i];
    }
    return p;
}

/* RAFT.HELLO <cluster-id> <node-id> [<announced-host> <announced-port>] */
void raftHelloCommand(client *c) {
    const char *cid = server.cluster_id ? server.cluster_id : "";
    char why[160];
    long long id, aport = 0;
    if (c->argc != 3 && c->argc != 5) {
        addReplyErrorArity(c);
        return;
    }
    if (c->argv[1].len != strlen(cid) || memcmp(c->argv[1].ptr, cid, c->argv[1].len) != 0) {
        snprintf(why, sizeof(why), "cluster id '%.*s' is not ours", (int)(c->argv[1].len > 64 ? 64 : c->argv[1].len),
                 c->argv[1].ptr);
        peerAuthFailed(c, why);
        return;
    }
    if (!string2ll(c->argv[2].ptr, c->argv[2].len, &id) || id <= 0 || (uint64_t)id == server.node_id ||
        !clusterNodeAddr((uint64_t)id)) {
        snprintf(why, sizeof(why), "node id '%.*s' is not another member",
                 (int)(c->argv[2].len > 32 ? 32 : c->argv[2].len), c->argv[2].ptr);
        peerAuthFailed(c, why);
        return;
    }
    if (c->argc == 5 && (!string2ll(c->argv[4].ptr, c->argv[4].len, &aport) || aport < 1 || aport > 65535 ||
                         !clusterValidAnnounce(c->argv[3].ptr, c->argv[3].len, (int)aport))) {
        snprintf(why, sizeof(why), "invalid announced address '%.*s' port '%.*s'",
                 (int)(c->argv[3].len > 64 ? 64 : c->argv[3].len), c->argv[3].ptr,
                 (int)(c->argv[4].len > 16 ? 16 : c->argv[4].len), c->argv[4].ptr);
        peerAuthFailed(c, why);
        return;
    }
    unsigned char rnd[NONCE_BYTES];
    int rc = uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL);
    if (rc != 0) serverPanic("uv_random: %s", uv_strerror(rc));
    pendingHandshake *p = newPending(c->id);
    p->client_id = c->id;
    p->node_id = (uint64_t)id;
    p->since_ms = mstime();
    p->announce_len = c->argc == 5 ? c->argv[3].len : 0;
    if (p->announce_len) memcpy(p->announce_host, c->argv[3].ptr, p->announce_len);
    p->announce_port = (int)aport;
    sha256ToHex(rnd, sizeof(rnd), p->nonce);
    addReplyBulkCBuffer(c, p->nonce, NONCE_HEX);
}

/* RAFT.AUTH <hex proof> */
void raftAuthCommand(client *c) {
    pendingHandshake *p = findPending(c->id);
    if (!p) {
        peerAuthFailed(c, "RAFT.AUTH without a RAFT.HELLO");
        return;
    }
    uint64_t id = p->node_id;
    char want[PROOF_HEX + 1];
    peerProof(id, p->nonce, NONCE_HEX, want);
    p->client_id = 0;
    unsigned diff = c->argv[1].len != PROOF_HEX;
    for (size_t i = 0; i < PROOF_HEX && i < c->argv[1].len; i++) diff |= (unsigned)(c->argv[1].ptr[i] ^ want[i]);
    if (diff) {
        char why[64];
        snprintf(why, sizeof(why), "bad proof for node %llu (wrong cluster-secret?)", (unsigned long long)id);
        peerAuthFailed(c, why);
        return;
    }
    /* The peer holds the cluster secret: it counts as authenticated, so
     * requirepass and the parser's unauthenticated limits no longer apply. */
    c->flags |= CLIENT_PEER;
    c->peer_id = id;
    c->authenticated = 1;
    if (p->announce_len) clusterSetAnnounced(id, p->announce_host, p->announce_len, p->announce_port);
    serverLog(LL_NOTICE, "Raft peer %llu authenticated (client id=%llu)", (unsigned long long)id,
              (unsigned long long)c->id);
    addReplyOK(c);
}

/* RAFT.MSG <binary raftMsg> */
void raftMsgCommand(client *c) {
    if (!(c->flags & CLIENT_PEER)) {
        long long now = mstime();
        if (now - last_noperm_log_ms >= 1000) {
            last_noperm_log_ms = now;
            serverLog(LL_WARNING, "RAFT.MSG refused from client id=%llu: not an authenticated raft peer",
                      (unsigned long long)c->id);
        }
        addReplyError(c, "-NOPERM this connection is not an authenticated raft peer");
        return;
    }
    raftMsg m;
    const char *bad = NULL;
    if (raftMsgDecode((const unsigned char *)c->argv[1].ptr, c->argv[1].len, &m, &rx_ents, &rx_ents_cap) != 0)
        bad = "malformed raft message";
    else if (m.from != c->peer_id)
        bad = "raft message sender is not the authenticated peer";
    else if (m.to != server.node_id)
        bad = "raft message addressed to another node";
    if (bad) {
        serverLog(LL_WARNING, "Raft peer %llu (client id=%llu): %s; closing the connection",
                  (unsigned long long)c->peer_id, (unsigned long long)c->id, bad);
        addReplyError(c, bad);
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        return;
    }
    stats.msgs_received++;
    replicaStep(&m);
    if (replicaIsRemoved(c->peer_id)) addReplyStatus(c, "REMOVED");
    else addReplyOK(c);
}

/* RAFT.MEMBERS: for a node joining through this one (authenticated peer
 * connection only): the voters this node's log starts from and every
 * known node's address (a joiner whose entries this node's log no longer
 * holds catches up by a snapshot). */
void raftMembersCommand(client *c) {
    if (!(c->flags & CLIENT_PEER)) {
        addReplyError(c, "-NOPERM this connection is not an authenticated raft peer");
        return;
    }
    char base[CLUSTER_MAX_MEMBERS * 24];
    clusterFormatBase(base, sizeof(base));
    char *nodes = clusterFormatNodes();
    addReplyArrayLen(c, 2);
    addReplyBulkCString(c, base);
    addReplyBulkCString(c, nodes);
    free(nodes);
}
