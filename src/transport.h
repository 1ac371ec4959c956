/* transport.h — Raft peer links (transport.c).
 *
 * Peers talk RESP on each node's ordinary client port: the outgoing side is
 * a hiredis async connection per peer (libuv adapter) that authenticates
 * with RAFT.HELLO (which also announces this node's client address) /
 * RAFT.AUTH and then sends RAFT.MSG <binary raftMsg>; the
 * incoming side is an ordinary client connection that becomes CLIENT_PEER
 * once it proved it knows cluster-secret. The RAFT.* handlers are declared
 * in commands.h. */
#ifndef RAFTKV_TRANSPORT_H
#define RAFTKV_TRANSPORT_H

#include <stdint.h>
#include <uv.h>

#include "raft/raft.h"

/* Bytes sent to one peer and not yet answered; past it, messages to that
 * peer are dropped (Raft retransmits) so a slow peer costs bounded memory. */
#define TRANSPORT_PEER_MAX_INFLIGHT_BYTES (64LL * 1024 * 1024)
#define TRANSPORT_BACKOFF_MIN_MS 100
#define TRANSPORT_BACKOFF_MAX_MS 5000

/* Starts connecting to every member but this node (clusterInit() and
 * replicaInit() first), as transportSyncPeers.
 * Host names are looked up without blocking, again before every reconnect;
 * one that does not resolve is retried with backoff like a refused connect.
 * Returns C_OK. */
int transportInit(uv_loop_t *loop);
/* Makes the links follow the current configuration (cluster.c's roles)
 * and the known leader (a leader removing itself still needs its
 * followers' answers until the removal commits): a new member or leader
 * other than this node gets a link (its address from
 * clusterGetMember), a node that is neither has its link closed (and
 * reopened should it come back, e.g. a reverted removal). No-op before
 * transportInit and after transportStop. */
void transportSyncPeers(void);
/* Startup of a joining node only (blocks: the loop is not running yet):
 * authenticates to the member at addr ("host:port", borrowed) as a peer and
 * asks RAFT.MEMBERS. On C_OK, base (len bytes of room) holds the voters the
 * log starts from ("<id>,...") and *nodes every known node
 * ("<id>@<host>:<port>,...", owned: free() it); on C_ERR err says why. */
int transportFetchMembers(const char *addr, char *base, size_t baselen, char **nodes, char *err, size_t errlen);
/* Sends m to node m->to, best effort and never blocking: dropped when the
 * link is not authenticated yet or over its in-flight bound. m and its
 * entries are borrowed for the call (encoded at once). */
void transportSend(const raftMsg *m);
/* Writes what transportSend (or hiredis) queued on each link to its socket now;
 * what the socket does not take waits for it to become writable. The loop runs it
 * last before every poll: a connected link's output goes out no other way. */
void transportFlush(void);
/* Sends the command argv[0..argc) (lengths argvlen; borrowed: copied at once)
 * to node id over its authenticated link, outside the RAFT.MSG in-flight
 * bound (the caller bounds its own traffic). cb runs exactly once, on the
 * loop thread: with the reply, or with NULL when the link went down first.
 * Returns C_OK, or C_ERR (cb never runs) when the link is not up. */
struct redisReply;
typedef void transportReplyFn(struct redisReply *reply, void *privdata);
int transportCall(uint64_t id, int argc, const char **argv, const size_t *argvlen, transportReplyFn *cb,
                  void *privdata);
/* transportCall for a command answered by a status: cb gets link_lost 1 when
 * the link went down first, else err: NULL for any reply but an error, the
 * error's text (borrowed for the call) for an error reply. */
typedef void transportStatusFn(int link_lost, const char *err, void *privdata);
int transportCallStatus(uint64_t id, int argc, const char **argv, const size_t *argvlen, transportStatusFn *cb,
                        void *privdata);
/* 1 when the outgoing link to node id is connected and authenticated. */
int transportPeerConnected(uint64_t id);
/* Messages sent / dropped to peers and received from peers since start. */
typedef struct transportStats {
    long long msgs_sent, msgs_dropped, msgs_received;
} transportStats;
void transportGetStats(transportStats *st);
/* Closes every link; later sends are dropped. The handles finish closing
 * on the next loop iterations. */
void transportStop(void);

#endif
