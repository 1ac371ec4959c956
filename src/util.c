/* util.c — Redis-compatible number conversions, glob matching and key slots.
 *
 * Owns nothing: every function is pure and works on the caller's bytes.
 * Happy path: string2ll / ll2string on the reply and argument paths, the
 * float helpers for INCRBYFLOAT-style commands, stringmatchlen for KEYS and
 * SCAN MATCH, keyHashSlot for MOVED and the storage key prefix.
 * Failure modes: a string that Redis would not accept as a number returns 0;
 * a buffer too small for a formatted number returns 0 with an empty string. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t digits10(uint64_t v) {
    uint32_t n = 1;
    for (;;) {
        if (v < 10) return n;
        if (v < 100) return n + 1;
        if (v < 1000) return n + 2;
        if (v < 10000) return n + 3;
        v /= 10000U;
        n += 4;
    }
}

int string2ll(const char *s, size_t slen, long long *v) {
    size_t i = 0;
    int negative = 0;
    unsigned long long acc;

    if (slen == 0 || slen >= LONG_STR_SIZE) return 0;
    if (slen == 1 && s[0] == '0') {
        if (v) *v = 0;
        return 1;
    }
    if (s[0] == '-') {
        negative = 1;
        i = 1;
        if (slen == 1) return 0;
    }
    if (s[i] < '1' || s[i] > '9') return 0;
    acc = (unsigned long long)(s[i++] - '0');
    for (; i < slen; i++) {
        unsigned digit;
        if (s[i] < '0' || s[i] > '9') return 0;
        digit = (unsigned)(s[i] - '0');
        if (acc > (ULLONG_MAX - digit) / 10) return 0;
        acc = acc * 10 + digit;
    }
    if (negative) {
        if (acc > (unsigned long long)LLONG_MAX + 1) return 0;
        if (v) *v = (long long)(0ULL - acc);
    } else {
        if (acc > (unsigned long long)LLONG_MAX) return 0;
        if (v) *v = (long long)acc;
    }
    return 1;
}

/* Two decimal digits for each value 0..99, so ll2string emits two per division. */
static const char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

int ll2string(char *dst, size_t len, long long v) {
    unsigned long long u;
    size_t neg = v < 0, n;
    char *p;

    u = neg ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    n = neg + digits10(u);
    if (n + 1 > len) {
        if (len > 0) dst[0] = '\0';
        return 0;
    }
    dst[n] = '\0';
    p = dst + n;
    while (u >= 100) {
        unsigned i = (unsigned)(u % 100) * 2;
        u /= 100;
        *--p = digit_pairs[i + 1];
        *--p = digit_pairs[i];
    }
    if (u < 10) {
        *--p = (char)('0' + u);
    } else {
        unsigned i = (unsigned)u * 2;
        *--p = digit_pairs[i + 1];
        *--p = digit_pairs[i];
    }
    if (neg) *--p = '-';
    return (int)n;
}

/* C-locale isspace, as the checks in Redis's float parsers see it. */
static int isSpaceChar(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int string2ld(const char *s, size_t slen, long double *v) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    long double value;
    char *eptr;

    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    errno = 0;
    value = strtold(buf, &eptr);
    if (isSpaceChar((unsigned char)buf[0]) || (size_t)(eptr - buf) != slen ||
        (errno == ERANGE &&
         (value == HUGE_VALL || value == -HUGE_VALL || fpclassify(value) == FP_ZERO)) ||
        errno == EINVAL || isnan(value))
        return 0;
    if (v) *v = value;
    return 1;
}

int string2d(const char *s, size_t slen, double *v) {
    char small[128];
    char *buf = small;
    double value;
    char *eptr;
    int ok;

    if (slen == 0) return 0;
    if (slen >= sizeof(small)) {
        buf = malloc(slen + 1);
        if (buf == NULL) return 0;
    }
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    errno = 0;
    value = strtod(buf, &eptr);
    ok = !(isSpaceChar((unsigned char)buf[0]) || (size_t)(eptr - buf) != slen ||
           (errno == ERANGE &&
            (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO)) ||
           isnan(value));
    if (buf != small) free(buf);
    if (ok && v) *v = value;
    return ok;
}

int ld2string(char *buf, size_t len, long double v, int humanfriendly) {
    int l;

    if (isinf(v)) {
        const char *txt = v > 0 ? "inf" : "-inf";
        size_t tl = strlen(txt);
        if (len < 5) goto err;
        memcpy(buf, txt, tl + 1);
        return (int)tl;
    }
    if (!humanfriendly) {
        l = snprintf(buf, len, "%.17Lg", v);
        if (l < 0 || (size_t)l + 1 > len) goto err;
        return l;
    }
    l = snprintf(buf, len, "%.17Lf", v);
    if (l < 0 || (size_t)l + 1 > len) goto err;
    if (memchr(buf, '.', (size_t)l) != NULL) {
        while (buf[l - 1] == '0') l--;
        if (buf[l - 1] == '.') l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    buf[l] = '\0';
    return l;
err:
    if (len > 0) buf[0] = '\0';
    return 0;
}

/* Pattern byte i, or NUL past the end: Redis matches NUL-terminated patterns
 * and some of its steps look one byte beyond the pattern's length. */
static int patAt(const char *pattern, int plen, int i) {
    return i < plen ? (unsigned char)pattern[i] : 0;
}

/* Match the single-character pattern item starting at pattern[i] (anything but
 * '*') against c. Sets *itemlen to the pattern bytes the item spans; which
 * bytes an item spans never depends on c. */
static int matchItem(const char *pattern, int plen, int i, int c, int nocase, int *itemlen) {
    int start = i, match = 0, negate;

    switch (pattern[i]) {
    case '?':
        *itemlen = 1;
        return 1;
    case '[':
        i++;
        negate = patAt(pattern, plen, i) == '^';
        if (negate) i++;
        for (;;) {
            int pc = patAt(pattern, plen, i);
            if (pc == '\\' && plen - i >= 2) {
                i++;
                if ((unsigned char)pattern[i] == c) match = 1;
            } else if (pc == ']') {
                break;
            } else if (i >= plen) {
                i--;
                break;
            } else if (plen - i >= 3 && pattern[i + 1] == '-') {
                int lo = pc, hi = (unsigned char)pattern[i + 2], ch = c;
                if (lo > hi) {
                    int t = lo;
                    lo = hi;
                    hi = t;
                }
                if (nocase) {
                    lo = tolower(lo);
                    hi = tolower(hi);
                    ch = tolower(ch);
                }
                i += 2;
                if (ch >= lo && ch <= hi) match = 1;
            } else if (nocase ? tolower(pc) == tolower(c) : pc == c) {
                match = 1;
            }
            i++;
        }
        *itemlen = i + 1 - start;
        return negate ? !match : match;
    case '\\':
        if (plen - i >= 2) i++;
        /* fall through */
    default:
        *itemlen = i + 1 - start;
        {
            int pc = (unsigned char)pattern[i];
            return nocase ? tolower(pc) == tolower(c) : pc == c;
        }
    }
}

/* Classic glob matching with one backtrack point: on a mismatch, let the last
 * '*' seen swallow one more byte and retry from there. Equivalent to Redis's
 * recursive stringmatchlen because '*' matches any run and every other item
 * consumes exactly one byte. */
/* Redis refuses patterns whose matching would nest deeper than 1000: each
 * group of '*' with more non-'*' pattern after it is one level, and a match
 * has to pass through all of them, so more than 1000 such groups never
 * match (the answer Redis gives, computed without the recursion). */
#define STRINGMATCH_MAX_NESTING 1000

static int starNesting(const char *pattern, int plen) {
    int groups = 0, pending = 0;
    for (int i = 0; i < plen; i++) {
        if (pattern[i] == '*') {
            if (i == 0 || pattern[i - 1] != '*') pending++;
        } else {
            groups += pending;
            pending = 0;
        }
    }
    return groups;
}

int stringmatchlen(const char *pattern, int plen, const char *s, int slen, int nocase) {
    int pi = 0, si = 0, star_pi = -1, star_si = 0;

    if (slen == 0) return plen == 0;
    if (starNesting(pattern, plen) > STRINGMATCH_MAX_NESTING) return 0;
    while (si < slen) {
        int itemlen;
        if (pi < plen && pattern[pi] == '*') {
            while (pi < plen && pattern[pi] == '*') pi++;
            if (pi == plen) return 1;
            star_pi = pi;
            star_si = si;
            continue;
        }
        if (pi < plen &&
            matchItem(pattern, plen, pi, (unsigned char)s[si], nocase, &itemlen)) {
            pi += itemlen;
            si++;
            continue;
        }
        if (star_pi < 0) return 0;
        pi = star_pi;
        si = ++star_si;
    }
    while (pi < plen && pattern[pi] == '*') pi++;
    return pi == plen;
}

static const uint16_t crc16_table[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
    0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
    0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de,
    0x2462, 0x3443, 0x0420, 0x1401, 0x64e6, 0x74c7, 0x44a4, 0x5485,
    0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4,
    0xb75b, 0xa77a, 0x9719, 0x8738, 0xf7df, 0xe7fe, 0xd79d, 0xc7bc,
    0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b,
    0x5af5, 0x4ad4, 0x7ab7, 0x6a96, 0x1a71, 0x0a50, 0x3a33, 0x2a12,
    0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41,
    0xedae, 0xfd8f, 0xcdec, 0xddcd, 0xad2a, 0xbd0b, 0x8d68, 0x9d49,
    0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78,
    0x9188, 0x81a9, 0xb1ca, 0xa1eb, 0xd10c, 0xc12d, 0xf14e, 0xe16f,
    0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e,
    0x02b1, 0x1290, 0x22f3, 0x32d2, 0x4235, 0x5214, 0x6277, 0x7256,
    0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
    0xa7db, 0xb7fa, 0x8799, 0x97b8, 0xe75f, 0xf77e, 0xc71d, 0xd73c,
    0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab,
    0x5844, 0x4865, 0x7806, 0x6827, 0x18c0, 0x08e1, 0x3882, 0x28a3,
    0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92,
    0xfd2e, 0xed0f, 0xdd6c, 0xcd4d, 0xbdaa, 0xad8b, 0x9de8, 0x8dc9,
    0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8,
    0x6e17, 0x7e36, 0x4e55, 0x5e74, 0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};

/* crc16_slice[k][b]: the CRC of byte b followed by k zero bytes, filled once, so that
 * eight bytes cost eight independent lookups instead of a chain of eight dependent ones.
 * Every SET hashes its key twice (prefetch, entry): with one lookup a byte, crc16 was
 * 3.7% of the loop thread's samples at SET -P 16 (16-byte keys). */
static uint16_t crc16_slice[8][256];
static pthread_once_t crc16_once = PTHREAD_ONCE_INIT;

static void crc16Init(void) {
    for (int b = 0; b < 256; b++) crc16_slice[0][b] = crc16_table[b];
    for (int k = 1; k < 8; k++)
        for (int b = 0; b < 256; b++) {
            uint16_t c = crc16_slice[k - 1][b];
            crc16_slice[k][b] = (uint16_t)((c << 8) ^ crc16_table[c >> 8]);
        }
}

uint16_t crc16(const char *buf, size_t len) {
    const unsigned char *p = (const unsigned char *)buf;
    uint16_t crc = 0;
    pthread_once(&crc16_once, crc16Init);
    for (; len >= 8; len -= 8, p += 8)
        crc = crc16_slice[7][p[0] ^ (crc >> 8)] ^ crc16_slice[6][p[1] ^ (crc & 0xff)] ^
              crc16_slice[5][p[2]] ^ crc16_slice[4][p[3]] ^ crc16_slice[3][p[4]] ^
              crc16_slice[2][p[5]] ^ crc16_slice[1][p[6]] ^ crc16_slice[0][p[7]];
    while (len--) crc = (uint16_t)((crc << 8) ^ crc16_table[((crc >> 8) ^ *p++) & 0xff]);
    return crc;
}

/* crc32c_table[k][b]: the CRC of byte b followed by k zero bytes (reflected
 * polynomial 0x82F63B78), filled once. */
static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32cInit(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            crc32c_table[k][b] = (crc32c_table[k - 1][b] >> 8) ^ crc32c_table[0][crc32c_table[k - 1][b] & 0xff];
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len) {
    const unsigned char *p = buf;
    pthread_once(&crc32c_once, crc32cInit);
    crc = ~crc;
    for (; len >= 8; p += 8, len -= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^ crc32c_table[5][(lo >> 16) & 0xff] ^
              crc32c_table[4][lo >> 24] ^ crc32c_table[3][p[4]] ^ crc32c_table[2][p[5]] ^ crc32c_table[1][p[6]] ^
              crc32c_table[0][p[7]];
    }
    while (len--) crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

unsigned keyHashSlot(const char *key, size_t len) {
    const char *open = memchr(key, '{', len), *close;

    if (open != NULL) {
        size_t after = (size_t)(open - key) + 1;
        close = memchr(open + 1, '}', len - after);
        if (close != NULL && close != open + 1)
            return crc16(open + 1, (size_t)(close - open - 1)) & (CLUSTER_SLOTS - 1);
    }
    return crc16(key, len) & (CLUSTER_SLOTS - 1);
}
