/* resp.c — RESP2 request parser (multibulk and inline) and command encoders.
 *
 * Owns the parser's argv/offset arrays, nothing else: arguments are slices of
 * the caller's query buffer. Happy path: a multibulk request "*N\r\n" followed
 * by N "$len\r\n<bytes>\r\n" bulks, parsed incrementally as bytes arrive; the
 * parser remembers offsets (never pointers) so the caller may realloc its
 * buffer between calls, and never rescans bytes it has already looked at.
 * Inline requests (a line of space-separated words with Redis's quoting) are
 * split once their newline arrives, unescaping in place.
 * Failure modes: every malformed request gets Redis 7.0's exact protocol
 * error text (the caller replies and closes the connection). As in Redis, the
 * two bytes after a header's '\r' and after a bulk's data are skipped without
 * being checked. Unlike Redis, a NUL byte is ordinary data everywhere (Redis
 * stops scanning a line at NUL and waits for more input). Out of memory while
 * growing argv aborts. */
#include "resp.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { REQ_NONE, REQ_INLINE, REQ_MULTIBULK };

void respParserInit(respParser *p) {
    memset(p, 0, sizeof(*p));
    p->max_bulk_len = RESP_DEFAULT_MAX_BULK_LEN;
    p->authenticated = 1;
    p->mbulk_left = -1;
    p->bulk_len = -1;
}

void respParserFree(respParser *p) {
    free(p->argv);
    free(p->offs);
    p->argv = NULL;
    p->offs = NULL;
    p->argv_cap = 0;
    p->argc = 0;
}

/* Make room for argument number p->argc (one more than present). */
static void growArgv(respParser *p) {
    int cap;

    if (p->argc < p->argv_cap) return;
    cap = p->argv_cap ? (p->argv_cap <= INT_MAX / 2 ? p->argv_cap * 2 : INT_MAX) : 8;
    p->argv = realloc(p->argv, sizeof(*p->argv) * (size_t)cap);
    p->offs = realloc(p->offs, sizeof(*p->offs) * (size_t)cap);
    if (p->argv == NULL || p->offs == NULL) {
        fprintf(stderr, "resp: out of memory growing argv to %d\n", cap);
        abort();
    }
    p->argv_cap = cap;
}

static void resetRequest(respParser *p) {
    p->reqtype = REQ_NONE;
    p->mbulk_left = -1;
    p->bulk_len = -1;
    p->pos = 0;
    p->scan = 0;
}

static int fail(respParser *p, const char **err, const char *text) {
    resetRequest(p);
    p->argc = 0;
    *err = text;
    return RESP_ERR;
}

/* C-locale isspace: what Redis skips between inline arguments and accepts
 * after a closing quote. */
static int isBlank(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hexValue(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Split line[0..end) into arguments the way Redis's sdssplitargs does, writing
 * the unescaped bytes back into line (output never overtakes input). Fills
 * p->argc/argv. Returns 0 on unbalanced quotes. */
static int splitInline(respParser *p, char *line, size_t end) {
    size_t r = 0, w = 0;

    p->argc = 0;
    for (;;) {
        size_t start;
        int inq = 0, insq = 0, done = 0;

        while (r < end && isBlank((unsigned char)line[r])) r++;
        if (r == end) return 1;
        start = w;
        while (!done) {
            if (r == end) {
                if (inq || insq) return 0;
                break;
            }
            char c = line[r];
            if (inq) {
                if (c == '\\' && end - r >= 4 && line[r + 1] == 'x' &&
                    hexValue((unsigned char)line[r + 2]) >= 0 &&
                    hexValue((unsigned char)line[r + 3]) >= 0) {
                    line[w++] = (char)(hexValue((unsigned char)line[r + 2]) * 16 +
                                       hexValue((unsigned char)line[r + 3]));
                    r += 3;
                } else if (c == '\\' && end - r >= 2) {
                    r++;
                    switch (line[r]) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = line[r]; break;
                    }
                    line[w++] = c;
                } else if (c == '"') {
                    if (end - r >= 2 && !isBlank((unsigned char)line[r + 1])) return 0;
                    done = 1;
                } else {
                    line[w++] = c;
                }
            } else if (insq) {
                if (c == '\\' && end - r >= 2 && line[r + 1] == '\'') {
                    r++;
                    line[w++] = '\'';
                } else if (c == '\'') {
                    if (end - r >= 2 && !isBlank((unsigned char)line[r + 1])) return 0;
                    done = 1;
                } else {
                    line[w++] = c;
                }
            } else {
                switch (c) {
                case ' ': case '\n': case '\r': case '\t': done = 1; break;
                case '"': inq = 1; break;
                case '\'': insq = 1; break;
                default: line[w++] = c; break;
                }
            }
            r++;
        }
        growArgv(p);
        p->argv[p->argc].ptr = line + start;
        p->argv[p->argc].len = w - start;
        p->argc++;
    }
}

static int parseInline(respParser *p, char *buf, size_t len, size_t *consumed,
                       const char **err) {
    char *nl = memchr(buf + p->scan, '\n', len - p->scan);
    size_t end;

    if (nl == NULL) {
        if (len > RESP_INLINE_MAX_SIZE)
            return fail(p, err, "Protocol error: too big inline request");
        p->scan = len;
        return RESP_AGAIN;
    }
    end = (size_t)(nl - buf);
    *consumed = end + 1;
    if (end > 0 && buf[end - 1] == '\r') end--;
    resetRequest(p);
    if (!splitInline(p, buf, end)) {
        p->argc = 0;
        *err = "Protocol error: unbalanced quotes in request";
        return RESP_ERR;
    }
    return RESP_OK;
}

/* Find the '\r' ending the header line that starts at p->pos, resuming the
 * search at p->scan. Returns its offset, or 0 when the line (with the byte
 * after '\r') is not complete yet; *toobig is set when no '\r' is in sight
 * and more than RESP_INLINE_MAX_SIZE bytes wait. */
static size_t findHeaderEnd(respParser *p, const char *buf, size_t len, int *toobig) {
    size_t from = p->scan > p->pos ? p->scan : p->pos;
    const char *cr = memchr(buf + from, '\r', len - from);

    *toobig = 0;
    if (cr == NULL) {
        *toobig = len - p->pos > RESP_INLINE_MAX_SIZE;
        p->scan = len;
        return 0;
    }
    p->scan = (size_t)(cr - buf);
    if (p->scan + 1 >= len) return 0;
    return p->scan;
}

static int parseMultibulk(respParser *p, char *buf, size_t len, size_t *consumed,
                          const char **err) {
    long long ll;
    size_t cr;
    int toobig;

    if (p->mbulk_left < 0) {
        cr = findHeaderEnd(p, buf, len, &toobig);
        if (cr == 0) {
            if (toobig) return fail(p, err, "Protocol error: too big mbulk count string");
            return RESP_AGAIN;
        }
        if (!string2ll(buf + 1, cr - 1, &ll) || ll > INT_MAX)
            return fail(p, err, "Protocol error: invalid multibulk length");
        if (ll > RESP_UNAUTH_MAX_MULTIBULK && !p->authenticated)
            return fail(p, err, "Protocol error: unauthenticated multibulk length");
        p->pos = cr + 2;
        p->argc = 0;
        if (ll <= 0) {
            *consumed = p->pos;
            resetRequest(p);
            return RESP_OK;
        }
        p->mbulk_left = ll;
    }
    while (p->mbulk_left > 0) {
        if (p->bulk_len < 0) {
            cr = findHeaderEnd(p, buf, len, &toobig);
            if (cr == 0) {
                if (toobig) return fail(p, err, "Protocol error: too big bulk count string");
                return RESP_AGAIN;
            }
            if (buf[p->pos] != '$') {
                char got = buf[p->pos];
                if (got == '\r' || got == '\n') got = ' ';
                snprintf(p->errbuf, sizeof(p->errbuf), "Protocol error: expected '$', got '%c'", got);
                return fail(p, err, p->errbuf);
            }
            if (!string2ll(buf + p->pos + 1, cr - p->pos - 1, &ll) || ll < 0 ||
                ll > p->max_bulk_len)
                return fail(p, err, "Protocol error: invalid bulk length");
            if (ll > RESP_UNAUTH_MAX_BULK && !p->authenticated)
                return fail(p, err, "Protocol error: unauthenticated bulk length");
            p->pos = cr + 2;
            p->bulk_len = ll;
        }
        if (len - p->pos < (size_t)p->bulk_len + 2) {
            p->need = p->pos + (size_t)p->bulk_len + 2 - len;
            return RESP_AGAIN;
        }
        growArgv(p);
        p->offs[p->argc] = p->pos;
        p->argv[p->argc].len = (size_t)p->bulk_len;
        p->argc++;
        p->pos += (size_t)p->bulk_len + 2;
        p->bulk_len = -1;
        p->mbulk_left--;
    }
    for (int j = 0; j < p->argc; j++) p->argv[j].ptr = buf + p->offs[j];
    *consumed = p->pos;
    resetRequest(p);
    return RESP_OK;
}

int respParse(respParser *p, char *buf, size_t len, size_t *consumed, const char **err) {
    p->need = 0;
    if (p->reqtype == REQ_NONE) {
        if (len == 0) return RESP_AGAIN;
        resetRequest(p);
        p->reqtype = buf[0] == '*' ? REQ_MULTIBULK : REQ_INLINE;
    }
    if (p->reqtype == REQ_INLINE) return parseInline(p, buf, len, consumed, err);
    return parseMultibulk(p, buf, len, consumed, err);
}

size_t respLongLongHeader(char *dst, char prefix, long long v) {
    size_t n;

    dst[0] = prefix;
    n = 1 + (size_t)ll2string(dst + 1, LONG_STR_SIZE, v);
    dst[n++] = '\r';
    dst[n++] = '\n';
    return n;
}

size_t respCommandLen(int argc, const slice *argv) {
    size_t n = 3 + digits10((uint64_t)argc);
    for (int j = 0; j < argc; j++) n += 5 + digits10(argv[j].len) + argv[j].len;
    return n;
}

size_t respEncodeCommand(char *dst, int argc, const slice *argv) {
    size_t n = respLongLongHeader(dst, '*', argc);
    for (int j = 0; j < argc; j++) {
        n += respLongLongHeader(dst + n, '$', (long long)argv[j].len);
        memcpy(dst + n, argv[j].ptr, argv[j].len);
        n += argv[j].len;
        dst[n++] = '\r';
        dst[n++] = '\n';
    }
    return n;
}
