/*
 * hash.h — FNV-1a (64-bit), the one non-cryptographic string hash of weir, for in-memory hash
 * tables keyed by names (stream cache, holds, quota counts). Never persisted: a value may change
 * between versions. Not keyed, so a client that picks names can pick colliding ones; tables that
 * hash client-chosen names must stay bounded per tenant (they are).
 *
 * Chaining: hash several fields by feeding the result of one call into the next, starting from
 * WR_FNV1A_SEED. Pure; callable from any thread.
 */
#ifndef WR_UTIL_HASH_H
#define WR_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The FNV-1a 64-bit offset basis: the hash of no bytes. */
#define WR_FNV1A_SEED 0xcbf29ce484222325ull

/* Extends `h` over n bytes at p (FNV-1a: h = (h ^ byte) * 0x100000001b3 for each byte). */
uint64_t wr_hash_fnv1a(uint64_t h, const void *p, size_t n);

#endif
