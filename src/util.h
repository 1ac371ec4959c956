/* util.h — Redis-compatible number conversions, glob matching and key slots.
 *
 * Pure helpers (libc only, no clock, no server state). Every function borrows
 * its inputs for the duration of the call and keeps nothing. */
#ifndef RAFTKV_UTIL_H
#define RAFTKV_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Longest decimal long long with sign and terminating NUL ("-9223372036854775808"). */
#define LONG_STR_SIZE 21
/* Buffer size for ld2string: "%.17Lf" of a huge long double is thousands of digits. */
#define MAX_LONG_DOUBLE_CHARS (5 * 1024)
/* Number of Redis Cluster hash slots. */
#define CLUSTER_SLOTS 16384

/* Decimal digits of v (1 for 0). */
uint32_t digits10(uint64_t v);

/* Parse s[0..slen) as a long long exactly as Redis does: optional '-', no
 * '+', no spaces, no leading zeros (only "0" itself), no "-0", in range.
 * Returns 1 and sets *v (if v is not NULL) on success, 0 otherwise. */
int string2ll(const char *s, size_t slen, long long *v);

/* Write v in decimal plus a NUL into dst[0..len). Returns the characters
 * written without the NUL, or 0 (dst[0] = '\0' if len > 0) when it does not fit. */
int ll2string(char *dst, size_t len, long long v);

/* Parse s[0..slen) as a long double as Redis's string2ld: the whole string
 * must be consumed by strtold, no leading space, no NaN, no overflow to
 * +/-HUGE_VAL or underflow to 0. "inf" itself is accepted, as in Redis.
 * Returns 1 on success (sets *v if not NULL), 0 otherwise. */
int string2ld(const char *s, size_t slen, long double *v);

/* Parse s[0..slen) as a double with the same rules as string2ld (Redis's
 * string2d / getDoubleFromObject). Returns 1 on success, 0 otherwise. */
int string2d(const char *s, size_t slen, double *v);

/* Format v into buf[0..len) with a NUL as Redis's ld2string: "inf"/"-inf" for
 * infinities; humanfriendly 1 => "%.17Lf" with trailing zeros and dot removed
 * and "-0" written as "0" (LD_STR_HUMAN, used by INCRBYFLOAT); 0 => "%.17Lg".
 * Returns the length, or 0 (buf[0] = '\0') when it does not fit; a buffer of
 * MAX_LONG_DOUBLE_CHARS always fits. */
int ld2string(char *buf, size_t len, long double v, int humanfriendly);

/* Glob-style match of string against pattern, as Redis's KEYS / SCAN MATCH:
 * '*', '?', '[abc]', '[^a-z]', '\x'. Same results as Redis 7.0, including its
 * quirks: an empty string matches only an empty pattern, an unterminated '['
 * class ends at the end of the pattern. Iterative (no recursion), so a long
 * pattern cannot exhaust the stack. Returns 1 on match, 0 otherwise. */
int stringmatchlen(const char *pattern, int plen, const char *s, int slen, int nocase);

/* CRC16-CCITT (XMODEM) as Redis Cluster: crc16("123456789") == 0x31C3. */
uint16_t crc16(const char *buf, size_t len);

/* CRC-32C (Castagnoli), continued from crc (0 to start):
 * crc32c(0, "123456789", 9) == 0xE3069283. Slicing by 8; thread-safe. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* Redis Cluster hash slot of a key: crc16 mod 16384 over the key, or over the
 * part between the first '{' and the next '}' when that part is not empty. */
unsigned keyHashSlot(const char *key, size_t len);

#endif
