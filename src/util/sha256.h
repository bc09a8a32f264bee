/*
 * sha256.h — SHA-256 of a byte string (token and API-key hashes) and HMAC-SHA256. OpenSSL's implementation is
 * fetched from its provider once: the one-shot SHA256() and EVP_sha256() look it up again on
 * every call, which costs several times the hashing of a short key; and each thread keeps one
 * digest context for all its hashes (freed at thread exit) instead of allocating one per call.
 * Callable from any thread.
 */
#ifndef WR_UTIL_SHA256_H
#define WR_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

void wr_sha256(const void *p, size_t n, uint8_t out[32]);
/* The fetched SHA-256 implementation (for EVP calls that take a digest). */
const EVP_MD *wr_sha256_md(void);
/* HMAC-SHA256 (RFC 2104) of the message a ‖ b (b may be empty) under key, over the fetched
 * digest: OpenSSL's HMAC() and EVP_MAC_init look HMAC and SHA-256 up by name on every call. */
void wr_hmac_sha256(const void *key, size_t key_len, const void *a, size_t a_len, const void *b,
                    size_t b_len, uint8_t out[32]);

#endif
