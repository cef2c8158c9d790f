/* sha256.h: SHA-256 (FIPS 180-4), for the report's model fingerprint. */
#ifndef BF_SHA256_H
#define BF_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
	uint32_t h[8];
	uint64_t bytes;
	unsigned char block[64];
	size_t used;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, unsigned char digest[32]);
/* Writes the 64 hex digits of data's digest and a NUL into hex[65]. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
