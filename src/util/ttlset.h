/*
 * ttlset.h — a bounded set of strings whose members expire: "was this done recently?" for caches
 * that save a round trip (e.g. the remote stream backend remembering which channel streams it
 * has already protected). A member lives `ttl_ms` after it was (last) added; when the set holds
 * `max` members, adding one drops the oldest. Lookups and updates are O(1) on average.
 *
 * Keys are hashed with FNV-1a (util/hash.h), which a client choosing keys can make collide: the
 * set stays correct (chains are compared in full) and bounded by `max`, only slower.
 *
 * Threading: one thread. Time is passed in (monotonic ms), so tests choose it.
 */
#ifndef WR_UTIL_TTLSET_H
#define WR_UTIL_TTLSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wr_ttlset wr_ttlset;

/* max ≥ 1 members, each living ttl_ms after it was added. */
wr_ttlset *wr_ttlset_new(size_t max, uint64_t ttl_ms);
void wr_ttlset_free(wr_ttlset *s); /* NULL is a no-op */

/* Whether `key` is a member that has not expired at now_ms. */
bool wr_ttlset_has(wr_ttlset *s, const char *key, uint64_t now_ms);
/* Adds `key` (copied) or renews it; drops the oldest member first when full. */
void wr_ttlset_add(wr_ttlset *s, const char *key, uint64_t now_ms);
/* Removes `key` if present. */
void wr_ttlset_del(wr_ttlset *s, const char *key);
/* Members held (expired ones included until they are dropped or looked up). */
size_t wr_ttlset_len(const wr_ttlset *s);

#endif
