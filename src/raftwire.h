/* raftwire.h — the binary form of a raftMsg on peer links (pure, libc only).
 *
 * Layout, all integers little-endian, fixed width:
 *   u8  version (RAFTWIRE_VERSION)
 *   u8  type (RAFT_MSG_*)
 *   u8  flags (bit 0: reject; other bits must be 0)
 *   u64 from, to, term, log_term, index, commit, hint_term, hint_index, ctx
 *   u32 nentries                     (0 unless type is RAFT_MSG_APPEND)
 *   nentries times: u64 term, u64 index, u8 type, u32 len, len bytes of data
 * Nothing may follow the last entry. */
#ifndef RAFTKV_RAFTWIRE_H
#define RAFTKV_RAFTWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"

#define RAFTWIRE_VERSION 1
#define RAFTWIRE_HEADER_LEN (3 + 9 * 8 + 4)
#define RAFTWIRE_ENTRY_HEADER_LEN (8 + 8 + 1 + 4)

/* Exact number of bytes raftMsgEncode writes for m. */
size_t raftMsgEncodedLen(const raftMsg *m);
/* Encodes m (borrowed) into out, which has room for raftMsgEncodedLen(m)
 * bytes. Returns the bytes written. */
size_t raftMsgEncode(const raftMsg *m, unsigned char *out);

/* Decodes buf[0..len) into *m. Every length is checked against len before
 * it is used; nothing outside buf is read. The entries' structs go into
 * *ents, a caller-owned array of *ents_cap elements that is grown with
 * realloc when too small (start with NULL/0, reuse across calls, free() at
 * the end); the entries' data point into buf (no copy), so m borrows both
 * buf and *ents until either changes. Returns 0, or -1 when buf is not a
 * well-formed message (unknown version, type or entry type, reserved flag
 * bits set, entries on a non-APPEND message, truncated, trailing bytes) or
 * realloc failed; *m is then unspecified. */
int raftMsgDecode(const unsigned char *buf, size_t len, raftMsg *m, raftEntry **ents, size_t *ents_cap);

#endif
