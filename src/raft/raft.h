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
 *            >= it; append u.entries; store u.hs; fsync. A write is due when
 *            u.hs_changed (term or vote), entries, a truncation or
 *            msgs_after_persist ask for one; a commit index that advanced
 *            alone needs none (it is a hint: a restart that finds an older
 *            one re-learns it from the leader);
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
 * Snapshots. The state machine's snapshot belongs to the server (a
 * checkpoint of its store); the core only knows its metadata: index, term
 * and the membership as of index (raftConfState). The server
 * - after taking one at its applied index i: raftGetConfState(r, i, &cs) and
 *   keep cs with the checkpoint, then raftSnapshotTaken(r, i, term of i);
 *   it may then drop log entries <= some c <= i (raftCompact(r, c), delete
 *   them on disk and record the log start (c, term of c, conf as of c from
 *   raftGetConfState before compacting): that is what raftNew takes back).
 * - leader, on a RAFT_MSG_SNAPSHOT in u.msgs (never sent as a raftMsg; copy
 *   to/index and act after raftAdvance, as a fresh checkpoint means calling
 *   raftSnapshotTaken, and a transfer that cannot start raftSnapshotFailed): stream
 *   to m->to a snapshot whose index is >= m->index (its latest checkpoint, or
 *   a fresh one at its applied index when that is older), with that
 *   checkpoint's own (index, term, conf). While a transfer to that peer is
 *   already running, ignore the message. When the transfer fails, call
 *   raftSnapshotFailed(r, peer). Success needs no call: the follower answers
 *   through its core. The core sends nothing else than heartbeats to the
 *   peer meanwhile, and falls back to probing after snapshot_timeout_ticks.
 * - follower, when a snapshot (index, term, conf) has been received and
 *   verified (or only announced): if index <= its applied index, drop it,
 *   calling raftSnapshotInstalled so the leader learns where this log is.
 *   Otherwise
 *   swap the state machine and record, durably and atomically with the
 *   swap, the applied index and log start (index, term, conf), deleting
 *   log entries <= index; then call raftSnapshotInstalled(r, index, term,
 *   &conf). The next update's truncate_from (index + 1) says when the log
 *   after index must go too (it did not match the snapshot), and its
 *   msgs_after_persist carries the answer to the leader.
 *
 * Membership (single-server changes, no joint consensus). A RAFT_ENTRY_CONF
 * entry adds a learner, promotes a learner to voter or removes a node; its
 * payload is a fixed header (raftConfChangeEncode) and an opaque tail the
 * core ignores (the server's business: a node's address). Every node uses
 * the configuration of the latest CONF entry in its log, from the moment
 * it is appended (not committed); truncating the entry reverts it. A leader
 * accepts one change at a time: raftProposeConfChange refuses while the
 * previous CONF entry is uncommitted, and before the leader has committed
 * an entry of its own term. Learners receive the log but never campaign, and
 * never count for commit, elections, check-quorum or reads. A leader that
 * removes itself keeps leading (without counting itself) until the removal
 * commits, then steps down, hands a TimeoutNow to the most up-to-date voter
 * and stays silent. A node not in the configuration never campaigns, and
 * members ignore vote requests from non-members once that configuration
 * is committed (before, the entry may be undone: usual rules; a removed
 * node cannot win either way, and with pre_vote never raises a term). A node created with no
 * voters and no conf (joining) knows no configuration: it refuses entries
 * until a snapshot is installed (its rejections ask the leader for one).
 * At most RAFT_MAX_MEMBERS voters and learners in all. A removed node's id
 * is never given to a new node (its old log and term would come back). */
#ifndef RAFTKV_RAFT_H
#define RAFTKV_RAFT_H

#include <stddef.h>
#include <stdint.h>

typedef struct raft raft;   /* opaque */

enum { RAFT_ENTRY_NORMAL = 0, RAFT_ENTRY_NOOP = 1, RAFT_ENTRY_CONF = 2 };
/* RAFT_LEARNER: a follower that knows it is a learner (never campaigns). */
enum { RAFT_FOLLOWER = 0, RAFT_PRECANDIDATE = 1, RAFT_CANDIDATE = 2, RAFT_LEADER = 3,
       RAFT_LEARNER = 4 };

#define RAFT_MAX_MEMBERS 16

/* A configuration: voters and learners (disjoint), RAFT_MAX_MEMBERS in all. */
typedef struct raftConfState {
    int nvoters, nlearners;
    uint64_t voters[RAFT_MAX_MEMBERS];
    uint64_t learners[RAFT_MAX_MEMBERS];
} raftConfState;

/* Encoded form (to store with a snapshot, or send with one): u8 nvoters,
 * u8 nlearners, then each id as u64 little-endian, voters first. */
#define RAFT_CONF_STATE_MAX_LEN (2 + 2 * RAFT_MAX_MEMBERS * 8)
/* Writes cs into out (room for RAFT_CONF_STATE_MAX_LEN); returns the bytes written. */
size_t raftConfStateEncode(const raftConfState *cs, unsigned char *out);
/* Decodes exactly len bytes; returns 0, or -1 when malformed (bad counts,
 * length, an id 0 or repeated). */
int raftConfStateDecode(const unsigned char *buf, size_t len, raftConfState *cs);

/* Configuration changes: the payload of a RAFT_ENTRY_CONF entry starts with
 * RAFT_CONF_CHANGE_LEN bytes: u8 op, u64 node id little-endian; anything
 * after it is an opaque tail. A change that does not apply to the
 * configuration it meets (adding a member, promoting a non-learner,
 * removing a non-member, a malformed header) leaves it unchanged. */
enum { RAFT_CONF_ADD_LEARNER = 1, RAFT_CONF_PROMOTE = 2, RAFT_CONF_REMOVE = 3 };
#define RAFT_CONF_CHANGE_LEN 9
void raftConfChangeEncode(unsigned char out[RAFT_CONF_CHANGE_LEN], int op, uint64_t id);
/* Returns 0 and fills op/id, or -1 when data is too short or op unknown. */
int raftConfChangeDecode(const unsigned char *data, uint32_t len, int *op, uint64_t *id);

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
 * TIMEOUT_NOW   the receiver campaigns at once (leadership transfer).
 * SNAPSHOT      leader to its own server only (see Snapshots above): send
 *               peer `to` a snapshot at index >= index; log_term = term at
 *               index, conf = membership as of index. raftStep ignores it.
 * An APPEND_RESP reject with ctx = 1 comes from a node that knows no
 * configuration (joining): it asks for a snapshot. */
enum {
    RAFT_MSG_APPEND = 1,
    RAFT_MSG_APPEND_RESP,
    RAFT_MSG_VOTE,
    RAFT_MSG_VOTE_RESP,
    RAFT_MSG_PREVOTE,
    RAFT_MSG_PREVOTE_RESP,
    RAFT_MSG_HEARTBEAT,
    RAFT_MSG_HEARTBEAT_RESP,
    RAFT_MSG_TIMEOUT_NOW,
    RAFT_MSG_SNAPSHOT
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
    const raftConfState *conf;  /* SNAPSHOT only: borrowed until raftAdvance */
} raftMsg;

typedef struct raftConfig {
    uint64_t id;                /* this node, non-zero */
    const uint64_t *voters;     /* borrowed during raftNew only (copied) */
    int nvoters;                /* 0 (and conf NULL): joining, knows no configuration */
    const raftConfState *conf;  /* membership as of snap_index (borrowed during
                                 * raftNew); NULL: voters above, no learners */
    int election_ticks;         /* timeout randomized in [election_ticks, 2*election_ticks) */
    int heartbeat_ticks;        /* < election_ticks */
    int pre_vote;               /* 1: PreVote before every election */
    int check_quorum;           /* 1: leader steps down without a recent majority; leader stickiness */
    int max_inflight_msgs;      /* AppendEntries in flight per follower (< 1 means 1) */
    size_t max_msg_bytes;       /* entry bytes per AppendEntries, at least one entry
                                 * is always sent; 0 = no limit */
    uint64_t seed;              /* seeds the core's own PRNG (election timeouts) */
    uint64_t applied;           /* index the caller has applied already; 0 = snap_index */
    int snapshot_timeout_ticks; /* leader: a snapshot unanswered this long goes
                                 * back to probing; 0 = 10 * election_ticks */
} raftConfig;

/* Creates a node from persisted state. cfg is copied; hs may be NULL (all
 * zero); entries (structs and data copied) are the log after (snap_index,
 * snap_term), consecutive; pass 0, 0 without a snapshot. The membership is
 * cfg->conf (as of snap_index) or cfg->voters, changed by the CONF entries
 * of the log. Returns owned, free
 * with raftFree(); NULL on out of memory or invalid config. */
raft *raftNew(const raftConfig *cfg, const raftHardState *hs, uint64_t snap_index,
              uint64_t snap_term, const raftEntry *entries, size_t nentries);
void raftFree(raft *r);

/* Leader only: appends an entry (data copied). Returns its index, or 0 when
 * not leader, a leadership transfer is in progress or type is
 * RAFT_ENTRY_CONF (use raftProposeConfChange). Everything proposed
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
/* Leader only: appends a RAFT_ENTRY_CONF entry {op, id} + tail (copied, may
 * be NULL when taillen is 0). Returns its index, or 0 when refused: not
 * leader, transfer in progress, a previous change not committed yet, no
 * entry of this term committed yet, the change does not apply (see
 * raftConfChangeDecode) or would leave no voter or too many members. */
uint64_t raftProposeConfChange(raft *r, int op, uint64_t id, const void *tail, uint32_t taillen);
/* Leader only: hands leadership to voter id (brings it up to date, then sends
 * TimeoutNow). Proposals are refused until it completes or aborts after an
 * election timeout. Returns 0 when started, -1 when not possible. */
int raftTransferLeader(raft *r, uint64_t id);
/* Frees in-memory entries up to index (capped at applied). The core keeps
 * the whole log in memory otherwise. A follower that needs compacted entries
 * gets a snapshot; compacting past the latest raftSnapshotTaken makes index
 * the snapshot point (the server then answers RAFT_MSG_SNAPSHOT with a
 * fresh checkpoint). */
void raftCompact(raft *r, uint64_t index);
/* The server holds a durable snapshot of the state at index (<= applied, of
 * that term). Followers that need entries before the first in-memory index
 * are sent it. Returns 0, or -1 when index is not in the in-memory log or
 * beyond applied, or term does not match. */
int raftSnapshotTaken(raft *r, uint64_t index, uint64_t term);
/* Leader: the snapshot transfer to peer id failed; it is retried after the
 * next heartbeat answer. */
void raftSnapshotFailed(raft *r, uint64_t id);
/* Follower: the server swapped its state machine to a snapshot (index, term,
 * conf borrowed for the call) and made it durable, index > applied (see
 * Snapshots above). Commit and applied become at least index; the log keeps
 * the entries after index if it holds (index, term), else it is emptied.
 * The known leader is answered (APPEND_RESP, index) after persist. When
 * index <= applied nothing changes, but the known leader is answered
 * (APPEND_RESP, applied): a leader that missed the answer to an earlier
 * install would otherwise keep offering the snapshot. */
void raftSnapshotInstalled(raft *r, uint64_t index, uint64_t term, const raftConfState *conf);
/* The membership as of index (first_index - 1 <= index <= last_index), or the
 * current one (latest appended CONF entry) with index 0. Returns 0, or -1
 * when index is out of that range. */
int raftGetConfState(const raft *r, uint64_t index, raftConfState *out);

/* Term of the entry at index when the in-memory log holds it (or index is
 * the entry just before it), else 0. */
uint64_t raftTermAt(const raft *r, uint64_t index);

typedef struct raftRead {
    uint64_t ctx, index;        /* serve once applied >= index */
} raftRead;

typedef struct raftUpdate {
    int hs_changed;             /* term or vote changed: hs must be durable first */
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
    int nvoters, nlearners;             /* current configuration */
    int is_voter, is_learner;           /* this node in it (neither: not a member) */
    uint64_t conf_index;                /* latest CONF entry in the log, 0 = none */
    uint64_t snap_index, snap_term;     /* snapshot sent to followers that need one */
} raftInfo;

typedef struct raftPeerInfo {
    uint64_t id;
    uint64_t match, next;       /* meaningful on the leader only */
    int ticks_since_contact;
    int active;                 /* heard from within the current check-quorum window */
    int is_learner;
    int snapshot;               /* leader: a snapshot is pending for this peer */
} raftPeerInfo;

void raftGetInfo(const raft *r, raftInfo *info);
/* Fills up to max entries (members other than self: voters and learners);
 * returns how many. */
int raftGetPeers(const raft *r, raftPeerInfo *out, int max);

const char *raftRoleName(int role);
const char *raftMsgTypeName(int type);

#endif
