/*
 * crash_gen.h — shared by tests/tools/crash_writer.c and tests/unit/store/test_crash.c: the
 * deterministic content of every record the crash writer appends, and the chained hash it logs.
 * Record (stream i, seq n) is a pure function of (i, n), so the verifier can check exact bytes
 * of every record it finds, acknowledged or not.
 */
#ifndef WR_CRASH_GEN_H
#define WR_CRASH_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CRASH_BASIN "crash-basin"
#define CRASH_MAX_BODY 400

static inline uint64_t
crash_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Fills body (CRASH_MAX_BODY bytes) and returns its length; *has_header says whether the record
 * carries header ("h", "<seq>") written into hval (24 bytes) with length *hlen. */
static inline size_t
crash_record(unsigned stream, uint64_t seq, uint8_t *body, int *has_header, char *hval,
             size_t *hlen)
{
    uint64_t x = crash_mix(((uint64_t)stream << 48) ^ seq);
    size_t len = (size_t)(x % CRASH_MAX_BODY);
    uint64_t y = x;
    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0)
            y = crash_mix(y);
        body[i] = (uint8_t)(y >> (8 * (i % 8)));
    }
    *has_header = (seq % 3) == 0;
    *hlen = (size_t)snprintf(hval, 24, "%llu", (unsigned long long)seq);
    return len;
}

/* FNV-1a over the body, chained. */
static inline uint64_t
crash_chain(uint64_t h, const uint8_t *body, size_t len)
{
    if (h == 0)
        h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ body[i]) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull; /* record boundary */
}

static inline void
crash_stream_name(unsigned i, char out[16])
{
    snprintf(out, 16, "crash-%u", i);
}

#endif
