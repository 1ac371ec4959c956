/* raft.h -- the pure Raft core (etcd-raft style), libc only.
 *
 * The core is a state machine with no I/O, no clock and no random source of
 * its own: the caller feeds it events (raftTick, raftStep, raftPropose,
 * raftPersisted, raftReadIndex) and collects, after each batch of events, one
 * raftUpdate saying what to persist, what to send and what to apply. Several
 * instances may live in one process (the simulator does that).
 *
 * The driving loop:
 *
 *     feed events ...
 *     if (raftHasUpdate(r)) {
 *         raftUpdate u; raftGetUpdate(r, &u);
 *         1. send u.msgs now (may overlap with the write below);
 *         2. queue one ordered write: if u.truncate_from, delete log entries
 *            >= it; append u.entries; store u.hs if u.hs_changed; fsync;
 *         3. apply u.committed in order (already durable locally);
 *            answer u.reads once applied >= index; fail u.dropped_reads;
 *         raftAdvance(r, &u);   -- copy what the write and step 4 need first
 *     }
 *     later, once that write AND every earlier write are durable:
 *         4. send its copy of u.msgs_after_persist; if it had entries, call
 *            raftPersisted(r, last entry's index, last entry's term).
 *
 * The write may run on another thread: the core never waits for it. Writes
 * must complete in the order the updates were taken.
 *
 * Everything in a raftUpdate is borrowed until raftAdvance(). Between
 * raftGetUpdate() and raftAdvance() call no other raft function except the
 * const introspection ones (raftGetInfo, raftGetPeers).
 *
 * Persistence contract (who may acknowledge what):
 * - msgs: may be sent at once, before the write of step 2 completes. They are
 *   the leader's AppendEntries/heartbeats/TimeoutNow, PreVote requests and
 *   responses and heartbeat responses: none of them acknowledges local state.
 * - msgs_after_persist: AppendEntries responses, RequestVote requests (the
 *   candidate's own vote) and RequestVote responses. Send them only after the
 *   hard state and entries of this update and of all earlier updates are
 *   durable. A node's own log counts toward commit only through
 *   raftPersisted(), so a leader never commits on an unsynced local copy.
 * - committed entries are handed out only up to the locally persisted index.
 *
 * Proposals: raftPropose returns the entry's index i in the current term t.
 * The proposal took effect iff the entry committed at i has term t; when it
 * has another term (or this node lost leadership of t and a later leader
 * overwrote i) it was lost and the client must be told so.
 *
 * Single voter: raftNew() makes the node leader at once (term+1, votes for
 * itself, appends its term's NOOP); the first update carries that hard state
 * and NOOP. An entry commits as soon as raftPersisted() covers it; no message
 * is ever produced.
 *
 * Not supported yet: membership changes (RAFT_ENTRY_CONF entries are
 * replicated and applied as opaque data, voters come from the config only),
 * snapshots (a follower that needs entries before the first in-memory index
 * cannot be caught up: see raftCompact). */
#ifndef RAFTKV_RAFT_H
#define RAFTKV_RAFT_H

#include <stddef.h>
#include <stdint.h>

typedef struct raft raft;   /* opaque */

enum { RAFT_ENTRY_NORMAL = 0, RAFT_ENTRY_NOOP = 1, RAFT_ENTRY_CONF = 2 };
enum { RAFT_FOLLOWER = 0, RAFT_PRECANDIDATE = 1, RAFT_CANDIDATE = 2, RAFT_LEADER = 3 };

typedef struct raftEntry {
    uint64_t term, index;
    uint8_t type;
    uint32_t len;
    unsigned char *data;
} raftEntry;

typedef struct raftHardState {
    uint64_t term, vote, commit;
} raftHardState;

/* Message types. Fields used by each (all carry type, from, to, term):
 * APPEND        index/log_term = entry before the first one sent, entries,
 *               commit = leader's commit.
 * APPEND_RESP   reject = 0: index = highest index known to match the leader.
 *               reject = 1: index = the rejected previous index; hint_index/
 *               hint_term for fast backtracking: hint_term = the follower's
 *               term at index and hint_index = first index of that term in
 *               its log, or hint_term = 0 and hint_index = its last index
 *               when its log is too short.
 * VOTE, PREVOTE index/log_term = candidate's last entry; ctx = 1 when the
 *               campaign is a leadership transfer (ignores stickiness).
 *               PREVOTE's term is the term the sender would campaign for.
 * VOTE_RESP, PREVOTE_RESP  reject.
 * HEARTBEAT     commit (capped at the follower's match), ctx = read round.
 * HEARTBEAT_RESP ctx echoed.
 * TIMEOUT_NOW   the receiver campaigns at once (leadership transfer). */
enum {
    RAFT_MSG_APPEND = 1,
    RAFT_MSG_APPEND_RESP,
    RAFT_MSG_VOTE,
    RAFT_MSG_VOTE_RESP,
    RAFT_MSG_PREVOTE,
    RAFT_MSG_PREVOTE_RESP,
    RAFT_MSG_HEARTBEAT,
    RAFT_MSG_HEARTBEAT_RESP,
    RAFT_MSG_TIMEOUT_NOW
};

typedef struct raftMsg {
    int type;
    uint64_t from, to, term;
    uint64_t log_term, index;
    uint64_t commit;
    int reject;
    uint64_t hint_term, hint_index;
    uint64_t ctx;
    raftEntry *entries;     /* outgoing: borrowed until raftAdvance */
    size_t nentries;
} raftMsg;

typedef struct raftConfig {
    uint64_t id;                /* this node, non-zero */
    const uint64_t *voters;     /* borrowed during raftNew only (copied) */
    int nvoters;
    int election_ticks;         /* timeout randomized in [election_ticks, 2*election_ticks) */
    int heartbeat_ticks;        /* < election_ticks */
    int pre_vote;               /* 1: PreVote before every election */
    int check_quorum;           /* 1: leader steps down without a recent majority; leader stickiness */
    int max_inflight_msgs;      /* AppendEntries in flight per follower (< 1 means 1) */
    size_t max_msg_bytes;       /* entry bytes per AppendEntries, at least one entry
                                 * is always sent; 0 = no limit */
    uint64_t seed;              /* seeds the core's own PRNG (election timeouts) */
    uint64_t applied;           /* index the caller has applied already; 0 = snap_index */
} raftConfig;

/* Creates a node from persisted state. cfg is copied; hs may be NULL (all
 * zero); entries (structs and data copied) are the log after (snap_index,
 * snap_term), consecutive; pass 0, 0 without a snapshot. Returns owned, free
 * with raftFree(); NULL on out of memory or invalid config. */
raft *raftNew(const raftConfig *cfg, const raftHardState *hs, uint64_t snap_index,
              uint64_t snap_term, const raftEntry *entries, size_t nentries);
void raftFree(raft *r);

/* Leader only: appends an entry (data copied). Returns its index, or 0 when
 * not leader or a leadership transfer is in progress. Everything proposed
 * between two updates goes to the followers together at raftGetUpdate. */
uint64_t raftPropose(raft *r, uint8_t type, const void *data, uint32_t len);
/* Advances logical time by one tick (elections, heartbeats, check-quorum). */
void raftTick(raft *r);
/* A message from a peer; m is borrowed for the call, its entries copied if kept. */
void raftStep(raft *r, const raftMsg *m);
/* The log up to index, whose entry has that term, is durable. Stale calls
 * (the entry was replaced since) are ignored. */
void raftPersisted(raft *r, uint64_t index, uint64_t term);
/* Linearizable read request. Answered in a later update: in reads once the
 * leader has confirmed it is still leader (one heartbeat round shared by all
 * reads asked since the previous update, started only after the leader has
 * committed an entry of its term), or in dropped_reads when this node is not
 * (or stops being) leader. */
void raftReadIndex(raft *r, uint64_t ctx);
/* Leader only: hands leadership to voter id (brings it up to date, then sends
 * TimeoutNow). Proposals are refused until it completes or aborts after an
 * election timeout. Returns 0 when started, -1 when not possible. */
int raftTransferLeader(raft *r, uint64_t id);
/* Frees in-memory entries up to index (capped at applied). The core keeps
 * the whole log in memory otherwise: call it now and then with a margin
 * behind applied, as a follower that later needs compacted entries cannot be
 * caught up (no snapshots yet). */
void raftCompact(raft *r, uint64_t index);

typedef struct raftRead {
    uint64_t ctx, index;        /* serve once applied >= index */
} raftRead;

typedef struct raftUpdate {
    int hs_changed;
    raftHardState hs;           /* persist together with the entries */
    uint64_t truncate_from;     /* 0, or: delete persisted entries >= this first */
    raftEntry *entries;         /* append, fsync, then raftPersisted() */
    size_t nentries;
    raftMsg *msgs;              /* send now */
    size_t nmsgs;
    raftMsg *msgs_after_persist;    /* send once this update is durable */
    size_t nmsgs_after_persist;
    raftEntry *committed;       /* apply in order */
    size_t ncommitted;
    raftRead *reads;            /* ReadIndex answers */
    size_t nreads;
    uint64_t *dropped_reads;    /* contexts of reads that failed: not leader */
    size_t ndropped_reads;
    int role_changed;           /* role, term or leader changed since the last update */
    int role;
    uint64_t term, leader;      /* leader 0 = unknown */
} raftUpdate;

int raftHasUpdate(const raft *r);
/* Fills u with borrowed pointers, valid until raftAdvance(r, u). */
void raftGetUpdate(raft *r, raftUpdate *u);
/* Marks u as handled (entries handed to the writer, committed applied,
 * messages queued). */
void raftAdvance(raft *r, raftUpdate *u);

typedef struct raftInfo {
    uint64_t id;
    int role;
    uint64_t term, vote, leader;
    uint64_t commit, applied, persisted;
    uint64_t first_index, last_index;   /* in-memory log */
    uint64_t transferee;                /* 0 = no transfer in progress */
    int nvoters;
} raftInfo;

typedef struct raftPeerInfo {
    uint64_t id;
    uint64_t match, next;       /* meaningful on the leader only */
    int ticks_since_contact;
    int active;                 /* heard from within the current check-quorum window */
} raftPeerInfo;

void raftGetInfo(const raft *r, raftInfo *info);
/* Fills up to max entries (voters other than self); returns how many. */
int raftGetPeers(const raft *r, raftPeerInfo *out, int max);

const char *raftRoleName(int role);
const char *raftMsgTypeName(int type);

#endif
