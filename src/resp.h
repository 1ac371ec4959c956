/* resp.h — RESP2 request parser (multibulk + inline) and reply/command encoders.
 *
 * Pure module: libc only, no I/O, no server state. The parser is incremental:
 * it keeps offsets into the caller's buffer so the caller may append bytes and
 * move (realloc) the buffer between calls that returned RESP_AGAIN, as long as
 * the request still starts at buf[0]. Limits and error texts follow Redis 7.0
 * (processInlineBuffer / processMultibulkBuffer), checked against a stock
 * redis-server 7.0.15; one deliberate difference: a NUL byte is ordinary data
 * (Redis stops looking for a line end at NUL and waits until the line limit). */
#ifndef RAFTKV_RESP_H
#define RAFTKV_RESP_H

#include <stddef.h>

/* A borrowed byte range; the owner of the bytes says how long it stays valid. */
typedef struct slice { const char *ptr; size_t len; } slice;

/* Redis's PROTO_INLINE_MAX_SIZE: longest inline line and longest "*N" / "$N"
 * header line accepted before a newline must appear. */
#define RESP_INLINE_MAX_SIZE (1024 * 64)
#define RESP_DEFAULT_MAX_BULK_LEN (512LL * 1024 * 1024)
/* Limits applied while p->authenticated is 0 (Redis 7.0.15 values, checked
 * against a real server: "*11" fails, "*10" passes; "$16385" fails). */
#define RESP_UNAUTH_MAX_MULTIBULK 10
#define RESP_UNAUTH_MAX_BULK 16384

enum { RESP_OK, RESP_AGAIN, RESP_ERR };

typedef struct respParser {
    /* Limits, set by the caller (respParserInit sets the defaults:
     * max_bulk_len 512mb, authenticated 1). */
    long long max_bulk_len;     /* proto-max-bulk-len */
    int authenticated;          /* 0 => Redis's unauthenticated limits apply */

    /* Result of the last RESP_OK: argv[0..argc) point into the buffer given
     * to respParse and stay valid until the caller drops those bytes. The
     * array itself is owned by the parser and reused by the next call. */
    int argc;
    slice *argv;

    /* After RESP_AGAIN: bytes of the request known to be still missing
     * (0 when unknown), so the caller can grow its buffer once. */
    size_t need;

    /* Private progress state of an incomplete request. */
    int reqtype;                /* 0 none yet, else inline or multibulk */
    long long mbulk_left;       /* multibulk arguments still to read */
    long long bulk_len;         /* length of the bulk being read, -1 if header not read */
    size_t pos;                 /* offset of the next unparsed byte */
    size_t scan;                /* the current line has no terminator before this offset */
    size_t *offs;               /* argument offsets while incomplete (argv_cap entries) */
    int argv_cap;               /* capacity of argv and offs */
    char errbuf[48];            /* text of the "expected '$', got 'X'" error */
} respParser;

/* Initialise p with default limits and no arguments. Allocates nothing. */
void respParserInit(respParser *p);
/* Free the parser's arrays; p may be initialised again afterwards. */
void respParserFree(respParser *p);

/* Parse one request from buf[0..len), which must start at a request boundary
 * (the same boundary as the previous call if that returned RESP_AGAIN).
 * buf is writable: inline arguments are unescaped in place.
 *   RESP_OK:    p->argc/p->argv set (borrowing buf), *consumed = request length
 *               (> 0). argc is 0 for an empty inline line or a multibulk count
 *               <= 0: the caller skips the request.
 *   RESP_AGAIN: more bytes needed; p->need is a hint (see above).
 *   RESP_ERR:   *err = Redis's static error text without the "-ERR " prefix,
 *               e.g. "Protocol error: invalid multibulk length" (static, or
 *               in p->errbuf until the next call). The caller replies and
 *               closes the connection; the parser is reset.
 * Aborts the process if growing argv fails (out of memory). */
int respParse(respParser *p, char *buf, size_t len, size_t *consumed, const char **err);

/* Write prefix, v in decimal and "\r\n" to dst (at least 32 bytes), e.g.
 * ":-12\r\n", "$5\r\n", "*3\r\n". Returns the bytes written. */
size_t respLongLongHeader(char *dst, char prefix, long long v);
/* Bytes respEncodeCommand writes for argc/argv. */
size_t respCommandLen(int argc, const slice *argv);
/* Encode argv as a RESP multibulk request (*argc\r\n$len\r\nbytes\r\n...)
 * into dst (at least respCommandLen bytes). Returns the bytes written. */
size_t respEncodeCommand(char *dst, int argc, const slice *argv);

#endif
