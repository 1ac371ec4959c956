/* sha256.h — SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), pure libc.
 *
 * Used to authenticate peer links (transport.c) and to derive the 40-hex
 * Redis Cluster node ids (cluster.c). Every function borrows its inputs for
 * the duration of the call and keeps nothing; a sha256Ctx is plain memory
 * the caller owns (no allocation anywhere). */
#ifndef RAFTKV_SHA256_H
#define RAFTKV_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN 64

typedef struct sha256Ctx {
    uint32_t h[8];
    uint64_t total_len;                 /* bytes hashed so far */
    unsigned char block[SHA256_BLOCK_LEN];
    size_t block_len;                   /* bytes waiting in block */
} sha256Ctx;

void sha256Init(sha256Ctx *ctx);
void sha256Update(sha256Ctx *ctx, const void *data, size_t len);
/* Writes the digest; ctx must be re-initialized before reuse. */
void sha256Final(sha256Ctx *ctx, unsigned char out[SHA256_DIGEST_LEN]);
/* One-shot digest of data[0..len). */
void sha256(const void *data, size_t len, unsigned char out[SHA256_DIGEST_LEN]);

/* HMAC-SHA256 of msg[0..msg_len) under key[0..key_len) (any key length). */
void hmacSha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                unsigned char out[SHA256_DIGEST_LEN]);

/* Lower-case hex of in[0..len) into out, which has room for 2*len+1 bytes
 * (NUL-terminated). */
void sha256ToHex(const unsigned char *in, size_t len, char *out);

#endif
