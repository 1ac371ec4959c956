/* Unit tests for resp.c (request parser, encoders) and util.c (numbers, glob,
 * key slots). Expected error texts and edge cases were checked against a
 * stock redis-server 7.0.15. */
#include "test.h"
#include "resp.h"
#include "util.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

/* One request parsed in one call: the status, consumed bytes, error text and
 * the arguments joined as "arg|arg|..." for easy comparison. */
typedef struct result {
    int status;
    size_t consumed;
    int argc;
    char err[128];
    char args[1024];
    size_t argslen;
} result;

static void capture(respParser *p, int status, size_t consumed, const char *err, result *r) {
    size_t n = 0;

    memset(r, 0, sizeof(*r));
    r->status = status;
    if (status == RESP_OK) {
        r->consumed = consumed;
        r->argc = p->argc;
        for (int j = 0; j < p->argc; j++) {
            if (j && n < sizeof(r->args) - 1) r->args[n++] = '|';
            for (size_t k = 0; k < p->argv[j].len && n < sizeof(r->args) - 1; k++)
                r->args[n++] = p->argv[j].ptr[k];
        }
        r->argslen = n;
    } else if (status == RESP_ERR) {
        snprintf(r->err, sizeof(r->err), "%s", err);
    }
}

/* Parse a copy of req[0..len) in one call. */
static void parseOnce(const char *req, size_t len, int authenticated, long long max_bulk, result *r) {
    respParser p;
    char *buf = malloc(len ? len : 1);
    size_t consumed = 0;
    const char *err = NULL;
    int st;

    respParserInit(&p);
    p.authenticated = authenticated;
    if (max_bulk) p.max_bulk_len = max_bulk;
    memcpy(buf, req, len);
    st = respParse(&p, buf, len, &consumed, &err);
    capture(&p, st, consumed, err, r);
    respParserFree(&p);
    free(buf);
}

/* Feed req[0..len) in pieces of `step` bytes, moving the buffer to a fresh
 * allocation (old one poisoned and freed) before every call. Every call
 * before the one that completes must return RESP_AGAIN. Returns 0 if an
 * early call did something else. */
static int parseSplit(const char *req, size_t len, size_t step, int authenticated, result *r) {
    respParser p;
    char *buf = NULL;
    size_t have = 0, consumed = 0;
    const char *err = NULL;
    int st = RESP_AGAIN, ok = 1;

    respParserInit(&p);
    p.authenticated = authenticated;
    while (st == RESP_AGAIN && have < len) {
        size_t add = len - have < step ? len - have : step;
        char *nbuf = malloc(have + add);
        if (have) memcpy(nbuf, buf, have);
        if (buf) {
            memset(buf, 'Z', have);
            free(buf);
        }
        buf = nbuf;
        memcpy(buf + have, req + have, add);
        have += add;
        st = respParse(&p, buf, have, &consumed, &err);
        if (st == RESP_OK && (consumed == 0 || consumed > have)) ok = 0;
    }
    capture(&p, st, consumed, err, r);
    respParserFree(&p);
    free(buf);
    return ok;
}

#define S(lit) lit, sizeof(lit) - 1

/* The same result whether req arrives at once, byte by byte, or split at
 * any single point. */
static int sameAtEverySplit(const char *req, size_t len, int authenticated) {
    result once, split;

    parseOnce(req, len, authenticated, 0, &once);
    for (size_t step = 1; step <= len; step++) {
        if (!parseSplit(req, len, step, authenticated, &split)) return 0;
        if (memcmp(&once, &split, sizeof(once)) != 0) {
            fprintf(stderr, "  step %zu: status %d/%d err '%s'/'%s' args '%s'/'%s'\n", step,
                    once.status, split.status, once.err, split.err, once.args, split.args);
            return 0;
        }
    }
    /* Two pieces split at every point. */
    for (size_t cut = 1; cut < len; cut++) {
        respParser p;
        char *buf = malloc(len);
        size_t consumed = 0;
        const char *err = NULL;
        int st;

        respParserInit(&p);
        p.authenticated = authenticated;
        memcpy(buf, req, cut);
        st = respParse(&p, buf, cut, &consumed, &err);
        if (st == RESP_AGAIN) {
            memcpy(buf + cut, req + cut, len - cut);
            st = respParse(&p, buf, len, &consumed, &err);
        }
        capture(&p, st, consumed, err, &split);
        respParserFree(&p);
        free(buf);
        if (memcmp(&once, &split, sizeof(once)) != 0) {
            fprintf(stderr, "  cut %zu: status %d/%d err '%s'/'%s' args '%s'/'%s'\n", cut,
                    once.status, split.status, once.err, split.err, once.args, split.args);
            return 0;
        }
    }
    return 1;
}

#define CHECK_OK(req, n, want) do { \
    result _r; \
    parseOnce(S(req), 1, 0, &_r); \
    if (_r.status != RESP_OK) fprintf(stderr, "  got status %d err '%s'\n", _r.status, _r.err); \
    CHECK_EQ_INT(_r.status, RESP_OK); \
    CHECK_EQ_INT(_r.argc, n); \
    CHECK_MEM(_r.args, _r.argslen, want); \
    CHECK_EQ_INT(_r.consumed, sizeof(req) - 1); \
} while (0)

#define CHECK_ERR(req, auth, want) do { \
    result _r; \
    parseOnce(S(req), auth, 0, &_r); \
    CHECK_EQ_INT(_r.status, RESP_ERR); \
    CHECK_MEM(_r.err, strlen(_r.err), want); \
    CHECK(sameAtEverySplit(S(req), auth)); \
} while (0)

#define CHECK_AGAIN(req, auth) do { \
    result _r; \
    parseOnce(S(req), auth, 0, &_r); \
    CHECK_EQ_INT(_r.status, RESP_AGAIN); \
} while (0)

TEST(multibulk_basic) {
    CHECK_OK("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", 3, "SET|key|value");
    CHECK_OK("*1\r\n$0\r\n\r\n", 1, "");
    CHECK_OK("*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", 2, "ECHO|a\r\nb");
    /* Redis skips the two bytes after a header's '\r' and a bulk without looking. */
    CHECK_OK("*1\rX$4\r\nPINGxx", 1, "PING");
    CHECK_OK("*1\r\n$4\rxPING\r\n", 1, "PING");
}

TEST(multibulk_binary) {
    static const char req[] = "*2\r\n$3\r\na\0b\r\n$2\r\n\xff\x00\r\n";
    respParser p;
    char buf[sizeof(req)];
    size_t consumed;
    const char *err;

    memcpy(buf, req, sizeof(req));
    respParserInit(&p);
    CHECK_EQ_INT(respParse(&p, buf, sizeof(req) - 1, &consumed, &err), RESP_OK);
    CHECK_EQ_INT(consumed, sizeof(req) - 1);
    CHECK_EQ_INT(p.argc, 2);
    CHECK_MEM(p.argv[0].ptr, p.argv[0].len, "a\0b");
    CHECK_MEM(p.argv[1].ptr, p.argv[1].len, "\xff\x00");
    CHECK(p.argv[0].ptr == buf + 8);
    respParserFree(&p);
}

TEST(multibulk_empty) {
    CHECK_OK("*0\r\n", 0, "");
    CHECK_OK("*-1\r\n", 0, "");
    CHECK_OK("*-5\r\n", 0, "");
    CHECK_OK("*-2147483649\r\n", 0, "");
}

TEST(multibulk_unauth_empty) {
    result r;
    parseOnce(S("*-100\r\n"), 0, 0, &r);
    CHECK_EQ_INT(r.status, RESP_OK);
    CHECK_EQ_INT(r.argc, 0);
}

TEST(inline_basic) {
    CHECK_OK("SET key value\r\n", 3, "SET|key|value");
    CHECK_OK("PING\n", 1, "PING");
    CHECK_OK("  a \t b\t\tc   \r\n", 3, "a|b|c");
    CHECK_OK("\x0b\x0c" "echo x\r\n", 2, "echo|x");
    CHECK_OK("echo x\x0by\r\n", 2, "echo|x\x0by");
    CHECK_OK("echo x\ry\r\n", 3, "echo|x|y");
    CHECK_OK("echo x\r\r\n", 2, "echo|x");
    CHECK_OK("$3\r\n", 1, "$3");
    CHECK_OK("a\0b c\n", 2, "a\0b|c");
}

TEST(inline_empty) {
    CHECK_OK("\r\n", 0, "");
    CHECK_OK("\n", 0, "");
    CHECK_OK("   \t \r\n", 0, "");
}

TEST(inline_quotes) {
    CHECK_OK("set \"a b\" 'c d'\r\n", 3, "set|a b|c d");
    CHECK_OK("echo \"\\x41\\x4g\\n\\q\"\r\n", 2, "echo|Ax4g\nq");
    CHECK_OK("echo \"\\r\\t\\b\\a\\\\\\\"\"\n", 2, "echo|\r\t\b\a\\\"");
    CHECK_OK("echo \"\\xfF\\x00\"\n", 2, "echo|\xff\x00");
    CHECK_OK("echo a\\x41\r\n", 2, "echo|a\\x41");
    CHECK_OK("echo \"\\x4\"\r\n", 2, "echo|x4");
    CHECK_OK("echo 'b\\'c'\r\n", 2, "echo|b'c");
    CHECK_OK("echo 'b\\nc'\r\n", 2, "echo|b\\nc");
    CHECK_OK("echo \"\" ''\r\n", 3, "echo||");
    CHECK_OK("echo foo\"bar baz\"\r\n", 2, "echo|foobar baz");
    CHECK_OK("echo \"x y\"\x0bz\r\n", 3, "echo|x y|z");
    CHECK_OK("echo \"x\"\tz\r\n", 3, "echo|x|z");
    CHECK_OK("echo \"x\"\r\n", 2, "echo|x");
    CHECK_OK("echo \"x\"\r\r\n", 2, "echo|x");
}

TEST(inline_unescape_in_place) {
    char buf[] = "echo \"a\\x41\" tail\r\n";
    respParser p;
    size_t consumed;
    const char *err;

    respParserInit(&p);
    CHECK_EQ_INT(respParse(&p, buf, sizeof(buf) - 1, &consumed, &err), RESP_OK);
    CHECK_EQ_INT(p.argc, 3);
    CHECK(p.argv[1].ptr >= buf && p.argv[1].ptr + p.argv[1].len <= buf + sizeof(buf));
    CHECK_MEM(p.argv[1].ptr, p.argv[1].len, "aA");
    CHECK_MEM(p.argv[2].ptr, p.argv[2].len, "tail");
    respParserFree(&p);
}

TEST(inline_unbalanced) {
    CHECK_ERR("set a \"b\r\n", 1, "Protocol error: unbalanced quotes in request");
    CHECK_ERR("set a \"b\"c\r\n", 1, "Protocol error: unbalanced quotes in request");
    CHECK_ERR("set a 'b'c\r\n", 1, "Protocol error: unbalanced quotes in request");
    CHECK_ERR("set a 'b\n", 1, "Protocol error: unbalanced quotes in request");
    CHECK_ERR("echo \"ab\\\"\n", 1, "Protocol error: unbalanced quotes in request");
    CHECK_ERR("echo \"ab\\\n", 1, "Protocol error: unbalanced quotes in request");
    CHECK_ERR("echo \xe2\"x y\"z\r\n", 1, "Protocol error: unbalanced quotes in request");
}

TEST(multibulk_errors) {
    CHECK_ERR("*abc\r\n", 1, "Protocol error: invalid multibulk length");
    CHECK_ERR("*\r\n", 1, "Protocol error: invalid multibulk length");
    CHECK_ERR("*+1\r\n", 1, "Protocol error: invalid multibulk length");
    CHECK_ERR("*01\r\n", 1, "Protocol error: invalid multibulk length");
    CHECK_ERR("*-0\r\n", 1, "Protocol error: invalid multibulk length");
    CHECK_ERR("* 1\r\n", 1, "Protocol error: invalid multibulk length");
    CHECK_ERR("*2147483648\r\n", 1, "Protocol error: invalid multibulk length");
    CHECK_ERR("*9223372036854775808\r\n", 1, "Protocol error: invalid multibulk length");
    CHECK_ERR("*1\r\nx3\r\n", 1, "Protocol error: expected '$', got 'x'");
    CHECK_ERR("*1\r\n\x01\r\n", 1, "Protocol error: expected '$', got '\x01'");
    CHECK_ERR("*1\r\n\xff\r\n", 1, "Protocol error: expected '$', got '\xff'");
    CHECK_ERR("*1\n\r\n", 1, "Protocol error: invalid multibulk length");
    CHECK_ERR("*1\r\n\r\n", 1, "Protocol error: expected '$', got ' '");
    CHECK_ERR("*1\r\n\n\r\n", 1, "Protocol error: expected '$', got ' '");
    CHECK_ERR("*2\r\n$1\r\na\r\n:1\r\n", 1, "Protocol error: expected '$', got ':'");
    CHECK_ERR("*1\r\n$-1\r\n", 1, "Protocol error: invalid bulk length");
    CHECK_ERR("*1\r\n$\r\n", 1, "Protocol error: invalid bulk length");
    CHECK_ERR("*1\r\n$ 4\r\n", 1, "Protocol error: invalid bulk length");
    CHECK_ERR("*1\r\n$04\r\n", 1, "Protocol error: invalid bulk length");
    CHECK_ERR("*1\r\n$4x\r\n", 1, "Protocol error: invalid bulk length");
    CHECK_ERR("*1\r\n$536870913\r\n", 1, "Protocol error: invalid bulk length");
    CHECK_AGAIN("*2147483647\r\n", 1);
    CHECK_AGAIN("*1\r\n$536870912\r\n", 1);
}

TEST(max_bulk_len) {
    result r;
    parseOnce(S("*1\r\n$101\r\n"), 1, 100, &r);
    CHECK_EQ_INT(r.status, RESP_ERR);
    CHECK_MEM(r.err, strlen(r.err), "Protocol error: invalid bulk length");
    parseOnce(S("*1\r\n$100\r\n"), 1, 100, &r);
    CHECK_EQ_INT(r.status, RESP_AGAIN);
}

TEST(unauthenticated_limits) {
    CHECK_ERR("*11\r\n", 0, "Protocol error: unauthenticated multibulk length");
    CHECK_AGAIN("*10\r\n", 0);
    CHECK_AGAIN("*11\r\n", 1);
    CHECK_ERR("*1\r\n$16385\r\n", 0, "Protocol error: unauthenticated bulk length");
    CHECK_AGAIN("*1\r\n$16384\r\n", 0);
    CHECK_AGAIN("*1\r\n$16385\r\n", 1);
    /* An invalid count is reported as invalid even before auth. */
    CHECK_ERR("*2147483648\r\n", 0, "Protocol error: invalid multibulk length");
    CHECK_ERR("*1\r\n$536870913\r\n", 0, "Protocol error: invalid bulk length");
}

/* buf of n bytes: prefix then fill bytes. */
static char *filled(const char *prefix, size_t n, char fill) {
    char *b = malloc(n);
    size_t pl = strlen(prefix);
    memset(b, fill, n);
    memcpy(b, prefix, pl);
    return b;
}

static int statusOf(char *buf, size_t len, const char **err) {
    respParser p;
    size_t consumed;
    int st;
    respParserInit(&p);
    st = respParse(&p, buf, len, &consumed, err);
    respParserFree(&p);
    return st;
}

TEST(line_limits) {
    const size_t K = RESP_INLINE_MAX_SIZE;
    const char *err = NULL;
    char *b;

    b = filled("", K + 1, 'A');
    CHECK_EQ_INT(statusOf(b, K, &err), RESP_AGAIN);
    CHECK_EQ_INT(statusOf(b, K + 1, &err), RESP_ERR);
    CHECK_MEM(err, strlen(err), "Protocol error: too big inline request");
    free(b);

    b = filled("*", K + 1, '1');
    CHECK_EQ_INT(statusOf(b, K, &err), RESP_AGAIN);
    CHECK_EQ_INT(statusOf(b, K + 1, &err), RESP_ERR);
    CHECK_MEM(err, strlen(err), "Protocol error: too big mbulk count string");
    free(b);

    b = filled("*1\r\n$", K + 5, '1');
    CHECK_EQ_INT(statusOf(b, K + 4, &err), RESP_AGAIN);
    CHECK_EQ_INT(statusOf(b, K + 5, &err), RESP_ERR);
    CHECK_MEM(err, strlen(err), "Protocol error: too big bulk count string");
    free(b);

    /* A long inline line is fine once its newline is there. */
    b = filled("", K + 10, 'A');
    b[K + 9] = '\n';
    {
        respParser p;
        size_t consumed;
        respParserInit(&p);
        CHECK_EQ_INT(respParse(&p, b, K + 10, &consumed, &err), RESP_OK);
        CHECK_EQ_INT(p.argc, 1);
        CHECK_EQ_INT(p.argv[0].len, K + 9);
        respParserFree(&p);
    }
    free(b);

    /* Fed in pieces, the limit applies to the bytes present, as in Redis. */
    b = filled("", K + 1, 'A');
    {
        respParser p;
        size_t consumed;
        respParserInit(&p);
        CHECK_EQ_INT(respParse(&p, b, 1000, &consumed, &err), RESP_AGAIN);
        CHECK_EQ_INT(respParse(&p, b, K, &consumed, &err), RESP_AGAIN);
        CHECK_EQ_INT(respParse(&p, b, K + 1, &consumed, &err), RESP_ERR);
        CHECK_MEM(err, strlen(err), "Protocol error: too big inline request");
        respParserFree(&p);
    }
    free(b);
}

TEST(every_split_point) {
    CHECK(sameAtEverySplit(S("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"), 1));
    CHECK(sameAtEverySplit(S("*2\r\n$0\r\n\r\n$12\r\n0123456789\r\n\r\n"), 1));
    CHECK(sameAtEverySplit(S("*0\r\n"), 1));
    CHECK(sameAtEverySplit(S("*-1\r\n"), 0));
    CHECK(sameAtEverySplit(S("SET \"a b\\x41\" 'c\\'d' e\r\n"), 1));
    CHECK(sameAtEverySplit(S("PING\n"), 1));
    CHECK(sameAtEverySplit(S("\r\n"), 1));
    CHECK(sameAtEverySplit(S("*1\rX$4\r\nPINGxx"), 1));
    CHECK(sameAtEverySplit(S("*10\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"
                             "$1\r\nf\r\n$1\r\ng\r\n$1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n"), 0));
}

TEST(pipeline) {
    char buf[] = "*1\r\n$4\r\nPING\r\nECHO hi\r\n\r\n*0\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPI";
    const char *want[] = {"PING", "ECHO|hi", "", "", "GET|k"};
    respParser p;
    size_t off = 0, consumed;
    const char *err;
    int n = 0;

    respParserInit(&p);
    while (n < 5) {
        result r;
        int st = respParse(&p, buf + off, sizeof(buf) - 1 - off, &consumed, &err);
        CHECK_EQ_INT(st, RESP_OK);
        CHECK(consumed > 0 && consumed <= sizeof(buf) - 1 - off);
        capture(&p, st, consumed, err, &r);
        CHECK_EQ_INT(r.argslen, strlen(want[n]));
        CHECK(memcmp(r.args, want[n], r.argslen) == 0);
        off += consumed;
        n++;
    }
    CHECK_EQ_INT(respParse(&p, buf + off, sizeof(buf) - 1 - off, &consumed, &err), RESP_AGAIN);
    respParserFree(&p);
}

TEST(need_hint) {
    char buf[] = "*2\r\n$3\r\nGET\r\n$100\r\nab";
    respParser p;
    size_t consumed;
    const char *err;

    respParserInit(&p);
    CHECK_EQ_INT(respParse(&p, buf, sizeof(buf) - 1, &consumed, &err), RESP_AGAIN);
    CHECK_EQ_INT(p.need, 100 + 2 - 2);
    respParserFree(&p);
}

TEST(argv_reused) {
    char buf[] = "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n";
    respParser p;
    size_t consumed;
    const char *err;
    slice *first;

    respParserInit(&p);
    CHECK_EQ_INT(respParse(&p, buf, sizeof(buf) - 1, &consumed, &err), RESP_OK);
    first = p.argv;
    for (int i = 0; i < 100; i++) {
        CHECK_EQ_INT(respParse(&p, buf, sizeof(buf) - 1, &consumed, &err), RESP_OK);
        CHECK(p.argv == first);
    }
    respParserFree(&p);
}

TEST(many_args) {
    size_t n = 3000, len = 0;
    char *buf = malloc(16 + n * 16);
    respParser p;
    size_t consumed;
    const char *err;

    len += (size_t)sprintf(buf, "*%zu\r\n", n);
    for (size_t i = 0; i < n; i++) len += (size_t)sprintf(buf + len, "$%zu\r\n%zu\r\n", (size_t)digits10(i), i);
    respParserInit(&p);
    CHECK_EQ_INT(respParse(&p, buf, len, &consumed, &err), RESP_OK);
    CHECK_EQ_INT(p.argc, n);
    CHECK_EQ_INT(consumed, len);
    CHECK_MEM(p.argv[2999].ptr, p.argv[2999].len, "2999");
    respParserFree(&p);
    free(buf);
}

TEST(encoders) {
    char dst[64];
    size_t n;
    slice argv[3] = {{"SET", 3}, {"", 0}, {"a\r\nb", 4}};

    n = respLongLongHeader(dst, ':', -12);
    CHECK_MEM(dst, n, ":-12\r\n");
    n = respLongLongHeader(dst, '$', 5);
    CHECK_MEM(dst, n, "$5\r\n");
    n = respLongLongHeader(dst, '*', 0);
    CHECK_MEM(dst, n, "*0\r\n");
    n = respLongLongHeader(dst, ':', LLONG_MIN);
    CHECK_MEM(dst, n, ":-9223372036854775808\r\n");
    n = respLongLongHeader(dst, ':', LLONG_MAX);
    CHECK_MEM(dst, n, ":9223372036854775807\r\n");

    CHECK_EQ_INT(respCommandLen(3, argv), sizeof("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\na\r\nb\r\n") - 1);
    n = respEncodeCommand(dst, 3, argv);
    CHECK_MEM(dst, n, "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\na\r\nb\r\n");
    CHECK_EQ_INT(respCommandLen(0, argv), 4);
}

TEST(encode_parse_roundtrip) {
    slice argv[12];
    char big[200], *dst;
    respParser p;
    size_t n, consumed;
    const char *err;

    memset(big, 'x', sizeof(big));
    for (int j = 0; j < 12; j++) {
        argv[j].ptr = big;
        argv[j].len = (size_t)(j * 17);
    }
    dst = malloc(respCommandLen(12, argv));
    n = respEncodeCommand(dst, 12, argv);
    CHECK_EQ_INT(n, respCommandLen(12, argv));
    respParserInit(&p);
    CHECK_EQ_INT(respParse(&p, dst, n, &consumed, &err), RESP_OK);
    CHECK_EQ_INT(consumed, n);
    CHECK_EQ_INT(p.argc, 12);
    for (int j = 0; j < 12; j++) {
        CHECK_EQ_INT(p.argv[j].len, j * 17);
        CHECK(memcmp(p.argv[j].ptr, big, p.argv[j].len) == 0);
    }
    respParserFree(&p);
    free(dst);
}

TEST(util_string2ll) {
    static const struct { const char *s; int ok; long long v; } cases[] = {
        {"0", 1, 0}, {"1", 1, 1}, {"-1", 1, -1}, {"123", 1, 123},
        {"9223372036854775807", 1, LLONG_MAX}, {"-9223372036854775808", 1, LLONG_MIN},
        {"9223372036854775808", 0, 0}, {"-9223372036854775809", 0, 0},
        {"18446744073709551616", 0, 0}, {"99999999999999999999", 0, 0},
        {"", 0, 0}, {"-", 0, 0}, {"-0", 0, 0}, {"007", 0, 0}, {"00", 0, 0},
        {"+1", 0, 0}, {" 1", 0, 0}, {"1 ", 0, 0}, {"1e10", 0, 0}, {"1.0", 0, 0},
        {"abc", 0, 0}, {"12a", 0, 0}, {"--1", 0, 0}, {"0x10", 0, 0},
        {"000000000000000000001", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long v = 42;
        int ok = string2ll(cases[i].s, strlen(cases[i].s), &v);
        if (ok != cases[i].ok) fprintf(stderr, "  string2ll(\"%s\")\n", cases[i].s);
        CHECK_EQ_INT(ok, cases[i].ok);
        if (ok) CHECK_EQ_INT(v, cases[i].v);
    }
    CHECK_EQ_INT(string2ll("12\0", 3, NULL), 0);
    CHECK_EQ_INT(string2ll("123", 2, NULL), 1);
}

TEST(util_ll2string) {
    static const long long vals[] = {0, 1, -1, 9, 10, 99, 100, 101, 999, 1000, 12345,
                                     -987654321, 1234567890123456789LL, LLONG_MAX, LLONG_MIN};
    char buf[LONG_STR_SIZE], want[64];

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        int n = ll2string(buf, sizeof(buf), vals[i]);
        int wn = snprintf(want, sizeof(want), "%lld", vals[i]);
        CHECK_EQ_INT(n, wn);
        CHECK(strcmp(buf, want) == 0);
    }
    for (long long v = -100000; v <= 100000; v += 7) {
        int n = ll2string(buf, sizeof(buf), v);
        snprintf(want, sizeof(want), "%lld", v);
        CHECK(n == (int)strlen(want) && strcmp(buf, want) == 0);
    }
    CHECK_EQ_INT(ll2string(buf, 3, 100), 0);
    CHECK_EQ_INT(buf[0], 0);
    CHECK_EQ_INT(ll2string(buf, 4, 100), 3);
    CHECK_EQ_INT(ll2string(buf, 20, LLONG_MIN), 0);
    CHECK_EQ_INT(digits10(0), 1);
    CHECK_EQ_INT(digits10(UINT64_MAX), 20);
}

TEST(util_string2ld) {
    long double v;
    CHECK(string2ld(S("10.5"), &v) && v == 10.5L);
    CHECK(string2ld(S("1e10"), &v) && v == 1e10L);
    CHECK(string2ld(S("0x10"), &v) && v == 16.0L);
    CHECK(string2ld(S(".5"), &v) && v == 0.5L);
    CHECK(string2ld(S("5."), &v) && v == 5.0L);
    CHECK(string2ld(S("+3"), &v) && v == 3.0L);
    CHECK(string2ld(S("-0"), &v) && v == 0.0L);
    CHECK(string2ld(S("inf"), &v) && isinf(v));
    CHECK(string2ld(S("-inf"), &v) && isinf(v) && v < 0);
    CHECK(!string2ld(S(""), &v));
    CHECK(!string2ld(S(" 1"), &v));
    CHECK(!string2ld(S("1 "), &v));
    CHECK(!string2ld(S("nan"), &v));
    CHECK(!string2ld(S("1e5000"), &v));
    CHECK(!string2ld(S("1e-5000"), &v));
    CHECK(!string2ld(S("abc"), &v));
    CHECK(!string2ld("1\0", 2, &v));
    CHECK(string2ld("1.5x", 3, &v) && v == 1.5L);
}

TEST(util_string2d) {
    double v;
    char longnum[300];
    CHECK(string2d(S("3.25"), &v) && v == 3.25);
    CHECK(string2d(S("-1e300"), &v) && v == -1e300);
    CHECK(string2d(S("inf"), &v) && isinf(v));
    CHECK(!string2d(S("1e400"), &v));
    CHECK(!string2d(S("1e-400"), &v));
    CHECK(!string2d(S("nan"), &v));
    CHECK(!string2d(S(" 1"), &v));
    CHECK(!string2d(S(""), &v));
    CHECK(string2d("2.5e", 3, &v) && v == 2.5);
    memset(longnum, '0', sizeof(longnum));
    longnum[0] = '1';
    longnum[1] = '.';
    CHECK(string2d(longnum, sizeof(longnum), &v) && v == 1.0);
}

TEST(util_ld2string) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    int n;

    n = ld2string(buf, sizeof(buf), 10.5L + 0.1L, 1);
    CHECK_MEM(buf, n, "10.6");
    n = ld2string(buf, sizeof(buf), 1e10L, 1);
    CHECK_MEM(buf, n, "10000000000");
    n = ld2string(buf, sizeof(buf), 5000.0L, 1);
    CHECK_MEM(buf, n, "5000");
    n = ld2string(buf, sizeof(buf), -0.0000000000000000001L, 1);
    CHECK_MEM(buf, n, "0");
    n = ld2string(buf, sizeof(buf), 1.1L - 1.1L, 1);
    CHECK_MEM(buf, n, "0");
    n = ld2string(buf, sizeof(buf), 3.0L + 1.23456789012345678901234L, 1);
    CHECK_MEM(buf, n, "4.23456789012345679");
    n = ld2string(buf, sizeof(buf), -2.5L, 1);
    CHECK_MEM(buf, n, "-2.5");
    n = ld2string(buf, sizeof(buf), INFINITY, 1);
    CHECK_MEM(buf, n, "inf");
    n = ld2string(buf, sizeof(buf), -INFINITY, 0);
    CHECK_MEM(buf, n, "-inf");
    n = ld2string(buf, sizeof(buf), 0.1L, 0);
    CHECK_MEM(buf, n, "0.1");
    n = ld2string(buf, sizeof(buf), 1.0L / 3, 0);
    CHECK_MEM(buf, n, "0.33333333333333333");
    n = ld2string(buf, sizeof(buf), 1e300L, 1);
    CHECK_EQ_INT(n, 301);
    CHECK_EQ_INT(ld2string(buf, 4, 12345.0L, 1), 0);
    CHECK_EQ_INT(buf[0], 0);
}

/* Redis's limit on nested '*' groups: 1000 still match, 1001 never do. */
TEST(util_stringmatch_nesting_limit) {
    static char pat[2 * 1001 + 1], str[1100];
    memset(str, 'a', sizeof(str));
    for (int i = 0; i < 1001; i++) {
        pat[2 * i] = '*';
        pat[2 * i + 1] = '?';
    }
    CHECK_EQ_INT(stringmatchlen(pat, 2 * 1000, str, (int)sizeof(str), 0), 1);
    CHECK_EQ_INT(stringmatchlen(pat, 2 * 1001, str, (int)sizeof(str), 0), 0);
    CHECK_EQ_INT(stringmatchlen("a**********b", 12, "axxb", 4, 0), 1);
}

TEST(util_stringmatchlen) {
    static const struct { const char *pat, *str; int nocase, want; } cases[] = {
        {"*", "anything", 0, 1}, {"*", "", 0, 0}, {"", "", 0, 1}, {"", "a", 0, 0},
        {"a*", "a", 0, 1}, {"a**", "a", 0, 1}, {"*a", "aaa", 0, 1}, {"*ab", "aab", 0, 1},
        {"h?llo", "hello", 0, 1}, {"h?llo", "hllo", 0, 0},
        {"h*llo", "heeeello", 0, 1}, {"h[ae]llo", "hallo", 0, 1}, {"h[ae]llo", "hillo", 0, 0},
        {"h[^e]llo", "hallo", 0, 1}, {"h[^e]llo", "hello", 0, 0},
        {"h[a-b]llo", "hbllo", 0, 1}, {"h[b-a]llo", "hbllo", 0, 1}, {"h[a-b]llo", "hcllo", 0, 0},
        {"h\\*llo", "h*llo", 0, 1}, {"h\\*llo", "hxllo", 0, 0}, {"a\\", "a\\", 0, 1},
        {"[\\]]", "]", 0, 1}, {"[ab", "a", 0, 1}, {"[ab", "c", 0, 0}, {"[", "x", 0, 0},
        {"[^", "x", 0, 1}, {"[a-]", "]", 0, 1},
        {"HELLO", "hello", 1, 1}, {"HELLO", "hello", 0, 0}, {"[A-C]x", "bX", 1, 1},
        {"*a*b*c*", "xxaxxbxxcxx", 0, 1}, {"*a*b*c*", "xxaxxcxxbxx", 0, 0},
        {"user:*:name", "user:1000:name", 0, 1}, {"?", "", 0, 0}, {"a?", "a", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = stringmatchlen(cases[i].pat, (int)strlen(cases[i].pat), cases[i].str,
                                 (int)strlen(cases[i].str), cases[i].nocase);
        if (got != cases[i].want) fprintf(stderr, "  match('%s','%s')\n", cases[i].pat, cases[i].str);
        CHECK_EQ_INT(got, cases[i].want);
    }
    /* A long pattern of many stars must neither recurse deeply nor take
     * forever; past 1000 nested stars Redis answers "no match". */
    {
        int n = 200000;
        char *pat = malloc((size_t)n), *str = malloc((size_t)n);
        for (int i = 0; i < n; i++) pat[i] = (i % 2) ? 'a' : '*';
        memset(str, 'a', (size_t)n);
        CHECK_EQ_INT(stringmatchlen(pat, n, str, n / 2, 0), 0);
        str[n / 2 - 1] = 'b';
        CHECK_EQ_INT(stringmatchlen(pat, n, str, 1000, 0), 0);
        free(pat);
        free(str);
    }
}

TEST(util_crc32c) {
    /* The check value of CRC-32C, and RFC 3720's test vectors. */
    CHECK_EQ_INT(crc32c(0, "123456789", 9), 0xE3069283u);
    unsigned char zeros[32] = {0}, ones[32], inc[32];
    memset(ones, 0xff, sizeof(ones));
    for (int i = 0; i < 32; i++) inc[i] = (unsigned char)i;
    CHECK_EQ_INT(crc32c(0, zeros, 32), 0x8A9136AAu);
    CHECK_EQ_INT(crc32c(0, ones, 32), 0x62A8AB43u);
    CHECK_EQ_INT(crc32c(0, inc, 32), 0x46DD794Eu);
    /* Continuing across any split point gives the same result. */
    for (size_t cut = 0; cut <= 32; cut++)
        CHECK_EQ_INT(crc32c(crc32c(0, inc, cut), inc + cut, 32 - cut), 0x46DD794Eu);
    CHECK_EQ_INT(crc32c(0, "", 0), 0);
}

/* The bit-at-a-time definition: polynomial 0x1021, initial 0, no reflection. */
static uint16_t crc16Bitwise(const unsigned char *p, size_t len) {
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++) crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

/* Every length, so that each split between 8-byte slices and the bytes after them runs. */
TEST(util_crc16_matches_its_definition) {
    unsigned char buf[41];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    for (size_t len = 0; len <= sizeof(buf); len++)
        for (size_t off = 0; off + len <= sizeof(buf) && off < 3; off++)
            CHECK_EQ_INT(crc16((const char *)buf + off, len), crc16Bitwise(buf + off, len));
}

TEST(util_keyslot) {
    CHECK_EQ_INT(crc16(S("123456789")), 0x31C3);
    CHECK_EQ_INT(keyHashSlot(S("foo")), 12182);
    CHECK_EQ_INT(keyHashSlot(S("bar")), 5061);
    CHECK_EQ_INT(keyHashSlot(S("{user1000}.following")), keyHashSlot(S("{user1000}.followers")));
    CHECK_EQ_INT(keyHashSlot(S("{user1000}.following")), keyHashSlot(S("user1000")));
    CHECK_EQ_INT(keyHashSlot(S("foo{}{bar}")), keyHashSlot(S("foo{}{bar}")) );
    CHECK(keyHashSlot(S("foo{}{bar}")) != keyHashSlot(S("bar")));
    CHECK_EQ_INT(keyHashSlot(S("foo{{bar}}zap")), keyHashSlot(S("{bar")));
    CHECK_EQ_INT(keyHashSlot(S("foo{bar}{zap}")), keyHashSlot(S("bar")));
    CHECK_EQ_INT(keyHashSlot(S("{")), crc16(S("{")) & 16383);
    CHECK_EQ_INT(keyHashSlot(S("")), 0);
}

int main(void) {
    RUN(multibulk_basic);
    RUN(multibulk_binary);
    RUN(multibulk_empty);
    RUN(multibulk_unauth_empty);
    RUN(inline_basic);
    RUN(inline_empty);
    RUN(inline_quotes);
    RUN(inline_unescape_in_place);
    RUN(inline_unbalanced);
    RUN(multibulk_errors);
    RUN(max_bulk_len);
    RUN(unauthenticated_limits);
    RUN(line_limits);
    RUN(every_split_point);
    RUN(pipeline);
    RUN(need_hint);
    RUN(argv_reused);
    RUN(many_args);
    RUN(encoders);
    RUN(encode_parse_roundtrip);
    RUN(util_string2ll);
    RUN(util_ll2string);
    RUN(util_string2ld);
    RUN(util_string2d);
    RUN(util_ld2string);
    RUN(util_stringmatchlen);
    RUN(util_stringmatch_nesting_limit);
    RUN(util_crc32c);
    RUN(util_crc16_matches_its_definition);
    RUN(util_keyslot);
    return TEST_REPORT();
}
