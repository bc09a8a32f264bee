/*
 * sha256.h — SHA-256 of a byte string (token and API-key hashes). OpenSSL's implementation is
 * fetched from its provider once: the one-shot SHA256() and EVP_sha256() look it up again on
 * every call, which costs several times the hashing of a short key. Callable from any thread.
 */
#ifndef WR_UTIL_SHA256_H
#define WR_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

void wr_sha256(const void *p, size_t n, uint8_t out[32]);
/* The fetched SHA-256 implementation (for HMAC and other EVP calls that take a digest). */
const EVP_MD *wr_sha256_md(void);

#endif
