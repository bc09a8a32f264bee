/*
 * hash.c — see hash.h.
 */
#include "util/hash.h"

#define FNV1A_PRIME 0x100000001b3ull

uint64_t
wr_hash_fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV1A_PRIME;
    return h;
}
