/* raftwire.c — encodes and decodes Raft messages for peer links.
 *
 * Owns nothing. Happy path: the sender sizes the buffer with
 * raftMsgEncodedLen and writes fixed little-endian fields, then each entry's
 * header and payload; the receiver walks the same layout with a cursor that
 * checks the remaining length before every read, and points each decoded
 * entry's data into the received buffer. Failure modes: any malformed input
 * (peer bug, corruption, an attacker past authentication) makes the decode
 * return -1 without reading out of bounds or allocating more than the input
 * can justify (the entry count is checked against the bytes present first). */
#include <stdlib.h>

#include "raftwire.h"

static unsigned char *put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
    return p + 8;
}

static unsigned char *put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
    return p + 4;
}

size_t raftMsgEncodedLen(const raftMsg *m) {
    size_t n = RAFTWIRE_HEADER_LEN;
    for (size_t i = 0; i < m->nentries; i++) n += RAFTWIRE_ENTRY_HEADER_LEN + m->entries[i].len;
    return n;
}

size_t raftMsgEncode(const raftMsg *m, unsigned char *out) {
    unsigned char *p = out;
    *p++ = RAFTWIRE_VERSION;
    *p++ = (unsigned char)m->type;
    *p++ = m->reject ? 1 : 0;
    p = put64(p, m->from);
    p = put64(p, m->to);
    p = put64(p, m->term);
    p = put64(p, m->log_term);
    p = put64(p, m->index);
    p = put64(p, m->commit);
    p = put64(p, m->hint_term);
    p = put64(p, m->hint_index);
    p = put64(p, m->ctx);
    p = put32(p, (uint32_t)m->nentries);
    for (size_t i = 0; i < m->nentries; i++) {
        const raftEntry *e = &m->entries[i];
        p = put64(p, e->term);
        p = put64(p, e->index);
        *p++ = e->type;
        p = put32(p, e->len);
        for (uint32_t j = 0; j < e->len; j++) p[j] = e->data[j];
        p += e->len;
    }
    return (size_t)(p - out);
}

typedef struct cursor {
    const unsigned char *p;
    size_t left;
    int bad;
} cursor;

static uint64_t get64(cursor *c) {
    if (c->left < 8) {
        c->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)c->p[i] << (8 * i);
    c->p += 8;
    c->left -= 8;
    return v;
}

static uint32_t get32(cursor *c) {
    if (c->left < 4) {
        c->bad = 1;
        return 0;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)c->p[i] << (8 * i);
    c->p += 4;
    c->left -= 4;
    return v;
}

static uint8_t get8(cursor *c) {
    if (c->left < 1) {
        c->bad = 1;
        return 0;
    }
    c->left--;
    return *c->p++;
}

int raftMsgDecode(const unsigned char *buf, size_t len, raftMsg *m, raftEntry **ents, size_t *ents_cap) {
    cursor c = {buf, len, 0};
    if (get8(&c) != RAFTWIRE_VERSION || c.bad) return -1;
    uint8_t type = get8(&c);
    uint8_t flags = get8(&c);
    if (c.bad || type < RAFT_MSG_APPEND || type > RAFT_MSG_TIMEOUT_NOW || (flags & ~1u)) return -1;
    m->type = type;
    m->reject = flags & 1;
    m->from = get64(&c);
    m->to = get64(&c);
    m->term = get64(&c);
    m->log_term = get64(&c);
    m->index = get64(&c);
    m->commit = get64(&c);
    m->hint_term = get64(&c);
    m->hint_index = get64(&c);
    m->ctx = get64(&c);
    uint32_t n = get32(&c);
    if (c.bad) return -1;
    if (n > 0 && type != RAFT_MSG_APPEND) return -1;
    if (n > c.left / RAFTWIRE_ENTRY_HEADER_LEN) return -1;
    if (n > *ents_cap) {
        raftEntry *grown = realloc(*ents, sizeof(raftEntry) * n);
        if (!grown) return -1;
        *ents = grown;
        *ents_cap = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        raftEntry *e = &(*ents)[i];
        e->term = get64(&c);
        e->index = get64(&c);
        e->type = get8(&c);
        e->len = get32(&c);
        if (c.bad || e->type > RAFT_ENTRY_CONF || e->len > c.left) return -1;
        /* The core copies what it keeps (raftStep's contract), so the
         * const input may back a non-const field for the call. */
        e->data = (unsigned char *)c.p;
        c.p += e->len;
        c.left -= e->len;
    }
    if (c.left != 0) return -1;
    m->entries = n ? *ents : NULL;
    m->nentries = n;
    return 0;
}
