/* sha256.c — SHA-256 (FIPS 180-4 section 6.2) and HMAC-SHA256 (RFC 2104).
 *
 * Owns nothing: the streaming state lives in the caller's sha256Ctx. Happy
 * path: bytes are buffered into 64-byte blocks, each block runs the 64-round
 * compression; Final appends 0x80, zero padding and the 64-bit big-endian
 * bit length. No failure modes (no allocation, no I/O). Not constant-time
 * with respect to message length, which is public everywhere we use it. */
#include <string.h>

#include "sha256.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static inline uint32_t rotr(uint32_t x, int n) {
    return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t h[8], const unsigned char *p) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 |
               (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = k + S1 + ch + K[t] + w[t];
        uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

void sha256Init(sha256Ctx *ctx) {
    static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(ctx->h, H0, sizeof(H0));
    ctx->total_len = 0;
    ctx->block_len = 0;
}

void sha256Update(sha256Ctx *ctx, const void *data, size_t len) {
    const unsigned char *p = data;
    ctx->total_len += len;
    if (ctx->block_len > 0) {
        size_t take = SHA256_BLOCK_LEN - ctx->block_len;
        if (take > len) take = len;
        memcpy(ctx->block + ctx->block_len, p, take);
        ctx->block_len += take;
        p += take;
        len -= take;
        if (ctx->block_len < SHA256_BLOCK_LEN) return;
        compress(ctx->h, ctx->block);
        ctx->block_len = 0;
    }
    while (len >= SHA256_BLOCK_LEN) {
        compress(ctx->h, p);
        p += SHA256_BLOCK_LEN;
        len -= SHA256_BLOCK_LEN;
    }
    memcpy(ctx->block, p, len);
    ctx->block_len = len;
}

void sha256Final(sha256Ctx *ctx, unsigned char out[SHA256_DIGEST_LEN]) {
    uint64_t bits = ctx->total_len * 8;
    ctx->block[ctx->block_len++] = 0x80;
    if (ctx->block_len > SHA256_BLOCK_LEN - 8) {
        memset(ctx->block + ctx->block_len, 0, SHA256_BLOCK_LEN - ctx->block_len);
        compress(ctx->h, ctx->block);
        ctx->block_len = 0;
    }
    memset(ctx->block + ctx->block_len, 0, SHA256_BLOCK_LEN - 8 - ctx->block_len);
    for (int i = 0; i < 8; i++) ctx->block[SHA256_BLOCK_LEN - 1 - i] = (unsigned char)(bits >> (8 * i));
    compress(ctx->h, ctx->block);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(ctx->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(ctx->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(ctx->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)ctx->h[i];
    }
}

void sha256(const void *data, size_t len, unsigned char out[SHA256_DIGEST_LEN]) {
    sha256Ctx ctx;
    sha256Init(&ctx);
    sha256Update(&ctx, data, len);
    sha256Final(&ctx, out);
}

/* RFC 2104: H((K ^ opad) || H((K ^ ipad) || msg)), K hashed first when
 * longer than a block and zero-padded to one. */
void hmacSha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                unsigned char out[SHA256_DIGEST_LEN]) {
    unsigned char k[SHA256_BLOCK_LEN] = {0};
    if (key_len > SHA256_BLOCK_LEN) sha256(key, key_len, k);
    else memcpy(k, key, key_len);

    unsigned char pad[SHA256_BLOCK_LEN], inner[SHA256_DIGEST_LEN];
    sha256Ctx ctx;
    for (int i = 0; i < SHA256_BLOCK_LEN; i++) pad[i] = k[i] ^ 0x36;
    sha256Init(&ctx);
    sha256Update(&ctx, pad, sizeof(pad));
    sha256Update(&ctx, msg, msg_len);
    sha256Final(&ctx, inner);

    for (int i = 0; i < SHA256_BLOCK_LEN; i++) pad[i] = k[i] ^ 0x5c;
    sha256Init(&ctx);
    sha256Update(&ctx, pad, sizeof(pad));
    sha256Update(&ctx, inner, sizeof(inner));
    sha256Final(&ctx, out);
}

void sha256ToHex(const unsigned char *in, size_t len, char *out) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * len] = '\0';
}
