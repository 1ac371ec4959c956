/* libFuzzer target for the RESP request parser (src/resp.c).
 *
 * The input is a stream of client bytes. It is parsed twice: once with the
 * whole stream present (requests taken one after another), once arriving in
 * chunks whose sizes come from a hash of the input, with the buffer moved to
 * a fresh allocation before every call, as a client's query buffer would be
 * realloc'd. Both must give the same sequence of requests and the same final
 * error or wait. Every call must keep the parser's contract: consumed within
 * the buffer and never 0 on RESP_OK, arguments inside the consumed bytes.
 * Each complete request is also encoded with respEncodeCommand and parsed
 * back, which must give the same arguments. The hash also picks the limits
 * (authenticated or not, a small or default proto-max-bulk-len). */
#include "resp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REQUESTS 4096

typedef struct outcome {
    int status;
    size_t consumed;
    int argc;
    uint64_t digest;        /* of the arguments' lengths and bytes */
    char errtext[64];       /* copied error text, for error outcomes */
} outcome;

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t argsDigest(const respParser *p) {
    uint64_t h = 1469598103934665603ULL;
    for (int j = 0; j < p->argc; j++) {
        h = fnv(h, &p->argv[j].len, sizeof(p->argv[j].len));
        h = fnv(h, p->argv[j].ptr, p->argv[j].len);
    }
    return h;
}

static void die(const char *what) {
    fprintf(stderr, "fuzz_resp invariant broken: %s\n", what);
    abort();
}

/* Check one call's contract and record its outcome. */
static void record(const respParser *p, int st, const char *buf, size_t len, size_t consumed,
                   const char *err, outcome *o) {
    memset(o, 0, sizeof(*o));
    o->status = st;
    if (st == RESP_OK) {
        if (consumed == 0 || consumed > len) die("consumed out of range");
        if (p->argc < 0) die("negative argc");
        for (int j = 0; j < p->argc; j++) {
            const char *a = p->argv[j].ptr;
            if (p->argv[j].len && (a < buf || a + p->argv[j].len > buf + consumed))
                die("argument outside the consumed bytes");
        }
        o->consumed = consumed;
        o->argc = p->argc;
        o->digest = argsDigest(p);
    } else if (st == RESP_ERR) {
        if (err == NULL || strncmp(err, "Protocol error: ", 16) != 0) die("bad error text");
        snprintf(o->errtext, sizeof(o->errtext), "%s", err);
    } else if (st != RESP_AGAIN) {
        die("unknown status");
    }
}

static int sameOutcome(const outcome *a, const outcome *b) {
    return a->status == b->status && a->consumed == b->consumed && a->argc == b->argc &&
           a->digest == b->digest && strcmp(a->errtext, b->errtext) == 0;
}

/* Encode the parsed request and parse it back with a permissive parser. */
static void checkRoundTrip(const respParser *p) {
    size_t n = respCommandLen(p->argc, p->argv), consumed = 0;
    char *enc = malloc(n ? n : 1);
    respParser q;
    const char *err = NULL;

    if (respEncodeCommand(enc, p->argc, p->argv) != n) die("encoded length differs");
    respParserInit(&q);
    q.max_bulk_len = 1LL << 62;
    if (respParse(&q, enc, n, &consumed, &err) != RESP_OK || consumed != n ||
        q.argc != p->argc || argsDigest(&q) != argsDigest(p))
        die("encode/parse round trip differs");
    respParserFree(&q);
    free(enc);
}

static void setLimits(respParser *p, uint64_t h) {
    p->authenticated = (h & 1) == 0;
    if (h & 2) p->max_bulk_len = (long long)((h >> 8) % 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t h = fnv(1469598103934665603ULL, data, size);
    static outcome once[MAX_REQUESTS + 1];
    int nonce = 0, ninc = 0;
    respParser p;
    char *buf;
    size_t off = 0, consumed;
    const char *err;

    /* Whole stream present. */
    buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    respParserInit(&p);
    setLimits(&p, h);
    for (;;) {
        int st = respParse(&p, buf + off, size - off, &consumed, &err);
        record(&p, st, buf + off, size - off, consumed, err, &once[nonce]);
        nonce++;
        if (st != RESP_OK) break;
        if (p.argc > 0 && p.authenticated) checkRoundTrip(&p);
        off += consumed;
        if (nonce == MAX_REQUESTS) break;
    }
    respParserFree(&p);
    free(buf);

    /* Chunked arrival. A line longer than the inline limit may fail or pass
     * depending on how much of it is present, as in Redis: compare only below. */
    if (size > RESP_INLINE_MAX_SIZE) return 0;
    {
        uint64_t rng = h | 1;
        size_t have = 0, fed = 0;
        char *qb = NULL;
        int st = RESP_AGAIN;
        outcome o;

        respParserInit(&p);
        setLimits(&p, h);
        while (ninc < nonce) {
            if (st == RESP_AGAIN) {
                size_t chunk, room;
                char *nqb;
                if (fed == size) break;
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                chunk = 1 + (size_t)(rng % ((rng >> 32) % 4 == 0 ? 512 : 8));
                room = size - fed;
                if (chunk > room) chunk = room;
                nqb = malloc(have + chunk);
                if (have) memcpy(nqb, qb, have);
                if (qb) memset(qb, 0xAA, have);
                free(qb);
                qb = nqb;
                memcpy(qb + have, data + fed, chunk);
                have += chunk;
                fed += chunk;
            }
            st = respParse(&p, qb, have, &consumed, &err);
            record(&p, st, qb, have, consumed, err, &o);
            if (st == RESP_AGAIN) {
                if (p.need > 0 && once[ninc].status == RESP_OK &&
                    once[ninc].consumed < have + p.need)
                    die("need hint larger than the rest of the request");
                continue;
            }
            if (!sameOutcome(&o, &once[ninc])) die("chunked parse differs from one-shot parse");
            ninc++;
            if (st != RESP_OK) break;
            memmove(qb, qb + consumed, have - consumed);
            have -= consumed;
        }
        /* The one-shot parse ended waiting for more bytes: so must this one. */
        if (ninc < nonce && !(ninc == nonce - 1 && once[ninc].status == RESP_AGAIN && st == RESP_AGAIN))
            die("chunked parse ended early");
        respParserFree(&p);
        free(qb);
    }
    return 0;
}
