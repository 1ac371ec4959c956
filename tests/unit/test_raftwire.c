/* test_raftwire.c — the peer wire format (raftwire.c) and the peer
 * authentication primitives (sha256.c: FIPS 180-2 / RFC 4231 vectors). */
#include <stdlib.h>
#include <string.h>

#include "raftwire.h"
#include "sha256.h"
#include "test.h"

static void hexOf(const void *data, size_t len, char *out) {
    unsigned char d[SHA256_DIGEST_LEN];
    sha256(data, len, d);
    sha256ToHex(d, sizeof(d), out);
}

TEST(sha256_vectors) {
    char hex[65];
    hexOf("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    hexOf("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hexOf(two, strlen(two), hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
}

/* One million 'a' fed in uneven chunks exercises the block buffering. */
TEST(sha256_streaming) {
    static char a[1000];
    memset(a, 'a', sizeof(a));
    sha256Ctx ctx;
    sha256Init(&ctx);
    size_t fed = 0, step = 1;
    while (fed < 1000000) {
        size_t n = step;
        if (n > sizeof(a)) n = sizeof(a);
        if (n > 1000000 - fed) n = 1000000 - fed;
        sha256Update(&ctx, a, n);
        fed += n;
        step = step * 7 % 997 + 1;
    }
    unsigned char d[SHA256_DIGEST_LEN];
    char hex[65];
    sha256Final(&ctx, d);
    sha256ToHex(d, sizeof(d), hex);
    CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
}

static int hmacIs(const void *key, size_t klen, const void *msg, size_t mlen, const char *want, size_t want_hex) {
    unsigned char d[SHA256_DIGEST_LEN];
    char hex[65];
    hmacSha256(key, klen, msg, mlen, d);
    sha256ToHex(d, sizeof(d), hex);
    return strncmp(hex, want, want_hex) == 0;
}

TEST(hmac_rfc4231) {
    unsigned char k[131];
    memset(k, 0x0b, 20);
    CHECK(hmacIs(k, 20, "Hi There", 8, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 64));
    CHECK(hmacIs("Jefe", 4, "what do ya want for nothing?", 28,
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 64));
    unsigned char msg[50];
    memset(k, 0xaa, 20);
    memset(msg, 0xdd, 50);
    CHECK(hmacIs(k, 20, msg, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 64));
    for (int i = 0; i < 25; i++) k[i] = (unsigned char)(i + 1);
    memset(msg, 0xcd, 50);
    CHECK(hmacIs(k, 25, msg, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 64));
    /* Test case 5: truncated to 128 bits. */
    memset(k, 0x0c, 20);
    CHECK(hmacIs(k, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b", 32));
    /* Test cases 6 and 7: a 131-byte key is hashed first. */
    memset(k, 0xaa, 131);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    CHECK(hmacIs(k, 131, m6, strlen(m6), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 64));
    const char *m7 = "This is a test using a larger than block-size key and a larger than block-size data. "
                     "The key needs to be hashed before being used by the HMAC algorithm.";
    CHECK(hmacIs(k, 131, m7, strlen(m7), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 64));
}

static raftEntry sample_entries[3];
static unsigned char payload_a[] = "SET k v", payload_c[] = {0, 1, 2, 0xff};

static raftMsg sampleAppend(void) {
    sample_entries[0] = (raftEntry){.term = 5, .index = 11, .type = RAFT_ENTRY_NORMAL, .len = 7, .data = payload_a};
    sample_entries[1] = (raftEntry){.term = 5, .index = 12, .type = RAFT_ENTRY_NOOP, .len = 0, .data = NULL};
    sample_entries[2] = (raftEntry){.term = 6, .index = 13, .type = RAFT_ENTRY_CONF, .len = 4, .data = payload_c};
    raftMsg m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 0x0102030405060708ULL, .term = 6, .log_term = 5,
                 .index = 10, .commit = 9, .reject = 0, .hint_term = 0, .hint_index = 0,
                 .ctx = 0xfedcba9876543210ULL, .entries = sample_entries, .nentries = 3};
    return m;
}

static int encodeSample(const raftMsg *m, unsigned char **out, size_t *len) {
    *len = raftMsgEncodedLen(m);
    *out = malloc(*len);
    return *out && raftMsgEncode(m, *out) == *len;
}

TEST(roundtrip_append) {
    raftMsg m = sampleAppend(), d;
    unsigned char *buf;
    size_t len;
    CHECK(encodeSample(&m, &buf, &len));
    CHECK_EQ_INT(len, RAFTWIRE_HEADER_LEN + 3 * RAFTWIRE_ENTRY_HEADER_LEN + 7 + 0 + 4);
    CHECK_EQ_INT(buf[0], RAFTWIRE_VERSION);
    raftEntry *ents = NULL;
    size_t cap = 0;
    int rc = raftMsgDecode(buf, len, &d, &ents, &cap);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(d.type, RAFT_MSG_APPEND);
    CHECK(d.from == 1 && d.to == 0x0102030405060708ULL && d.term == 6 && d.log_term == 5);
    CHECK(d.index == 10 && d.commit == 9 && d.reject == 0 && d.ctx == 0xfedcba9876543210ULL);
    CHECK_EQ_INT(d.nentries, 3);
    CHECK(cap >= 3 && d.entries == ents);
    CHECK(d.entries[0].term == 5 && d.entries[0].index == 11 && d.entries[0].type == RAFT_ENTRY_NORMAL);
    CHECK_MEM(d.entries[0].data, d.entries[0].len, "SET k v");
    /* Zero copy: the payload lives inside the input buffer. */
    CHECK(d.entries[0].data > buf && d.entries[0].data < buf + len);
    CHECK_EQ_INT(d.entries[1].len, 0);
    CHECK_EQ_INT(d.entries[1].type, RAFT_ENTRY_NOOP);
    CHECK(d.entries[2].index == 13 && d.entries[2].len == 4 && memcmp(d.entries[2].data, payload_c, 4) == 0);
    free(ents);
    free(buf);
}

TEST(roundtrip_every_type) {
    raftEntry *ents = NULL;
    size_t cap = 0;
    for (int t = RAFT_MSG_APPEND_RESP; t <= RAFT_MSG_TIMEOUT_NOW; t++) {
        raftMsg m = {.type = t, .from = 3, .to = 2, .term = 77, .log_term = 76, .index = 1000,
                     .commit = 999, .reject = t % 2, .hint_term = 70, .hint_index = 900, .ctx = 42};
        unsigned char buf[RAFTWIRE_HEADER_LEN];
        CHECK_EQ_INT(raftMsgEncodedLen(&m), sizeof(buf));
        CHECK_EQ_INT(raftMsgEncode(&m, buf), sizeof(buf));
        raftMsg d;
        CHECK_EQ_INT(raftMsgDecode(buf, sizeof(buf), &d, &ents, &cap), 0);
        CHECK(d.type == t && d.from == 3 && d.to == 2 && d.term == 77 && d.log_term == 76);
        CHECK(d.index == 1000 && d.commit == 999 && d.reject == t % 2 && d.hint_term == 70);
        CHECK(d.hint_index == 900 && d.ctx == 42 && d.nentries == 0 && d.entries == NULL);
    }
    CHECK_EQ_INT(cap, 0);
    free(ents);
}

/* Every proper prefix of a valid message is rejected (and, run under
 * ASan, read only inside its own bytes: each prefix is its own malloc). */
TEST(truncated_rejected) {
    raftMsg m = sampleAppend(), d;
    unsigned char *buf;
    size_t len;
    CHECK(encodeSample(&m, &buf, &len));
    raftEntry *ents = NULL;
    size_t cap = 0;
    for (size_t n = 0; n < len; n++) {
        unsigned char *prefix = malloc(n ? n : 1);
        CHECK(prefix != NULL);
        memcpy(prefix, buf, n);
        int rc = raftMsgDecode(prefix, n, &d, &ents, &cap);
        free(prefix);
        CHECK_EQ_INT(rc, -1);
    }
    free(ents);
    free(buf);
}

TEST(corrupted_rejected) {
    raftMsg m = sampleAppend(), d;
    unsigned char *buf;
    size_t len;
    CHECK(encodeSample(&m, &buf, &len));
    raftEntry *ents = NULL;
    size_t cap = 0;
    unsigned char *bad = malloc(len + 1);
    CHECK(bad != NULL);

#define MUTATE(off, val) do { memcpy(bad, buf, len); bad[(off)] = (val); } while (0)
    MUTATE(0, 2);                                   /* unknown version */
    CHECK_EQ_INT(raftMsgDecode(bad, len, &d, &ents, &cap), -1);
    MUTATE(1, 0);                                   /* type 0 */
    CHECK_EQ_INT(raftMsgDecode(bad, len, &d, &ents, &cap), -1);
    MUTATE(1, RAFT_MSG_TIMEOUT_NOW + 1);            /* type past the last */
    CHECK_EQ_INT(raftMsgDecode(bad, len, &d, &ents, &cap), -1);
    MUTATE(1, RAFT_MSG_VOTE);                       /* entries on a non-APPEND */
    CHECK_EQ_INT(raftMsgDecode(bad, len, &d, &ents, &cap), -1);
    MUTATE(2, 2);                                   /* reserved flag bit */
    CHECK_EQ_INT(raftMsgDecode(bad, len, &d, &ents, &cap), -1);
    MUTATE(RAFTWIRE_HEADER_LEN - 1, 0x10);          /* huge entry count: no allocation, rejected */
    CHECK_EQ_INT(raftMsgDecode(bad, len, &d, &ents, &cap), -1);
    CHECK_EQ_INT(cap, 0);
    MUTATE(RAFTWIRE_HEADER_LEN - 4, 4);             /* one entry more than present */
    CHECK_EQ_INT(raftMsgDecode(bad, len, &d, &ents, &cap), -1);
    MUTATE(RAFTWIRE_HEADER_LEN - 4, 2);             /* one entry less: trailing bytes */
    CHECK_EQ_INT(raftMsgDecode(bad, len, &d, &ents, &cap), -1);
    MUTATE(RAFTWIRE_HEADER_LEN + 16, 3);            /* unknown entry type */
    CHECK_EQ_INT(raftMsgDecode(bad, len, &d, &ents, &cap), -1);
    MUTATE(RAFTWIRE_HEADER_LEN + 17 + 3, 0x80);     /* entry length past the end */
    CHECK_EQ_INT(raftMsgDecode(bad, len, &d, &ents, &cap), -1);
    MUTATE(RAFTWIRE_HEADER_LEN + 17, 8);            /* entry length one too long */
    CHECK_EQ_INT(raftMsgDecode(bad, len, &d, &ents, &cap), -1);
    memcpy(bad, buf, len);
    bad[len] = 0;                                   /* one trailing byte */
    CHECK_EQ_INT(raftMsgDecode(bad, len + 1, &d, &ents, &cap), -1);
#undef MUTATE
    /* The intact buffer still decodes after all that. */
    CHECK_EQ_INT(raftMsgDecode(buf, len, &d, &ents, &cap), 0);
    free(bad);
    free(ents);
    free(buf);
}

/* Random bytes: decode must never crash and rarely accepts. */
TEST(random_bytes_never_crash) {
    uint64_t x = 88172645463325252ULL;
    raftEntry *ents = NULL;
    size_t cap = 0;
    raftMsg d;
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        unsigned char buf[160];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = x % sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (unsigned char)x;
        }
        if (n > 0) buf[0] = RAFTWIRE_VERSION;
        if (n > 2) buf[2] &= 1;
        if (raftMsgDecode(buf, n, &d, &ents, &cap) == 0) {
            accepted++;
            CHECK(d.type >= RAFT_MSG_APPEND && d.type <= RAFT_MSG_TIMEOUT_NOW);
        }
    }
    CHECK(accepted < 20000);
    free(ents);
}

int main(void) {
    RUN(sha256_vectors);
    RUN(sha256_streaming);
    RUN(hmac_rfc4231);
    RUN(roundtrip_append);
    RUN(roundtrip_every_type);
    RUN(truncated_rejected);
    RUN(corrupted_rejected);
    RUN(random_bytes_never_crash);
    return TEST_REPORT();
}
