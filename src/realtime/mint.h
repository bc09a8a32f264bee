/*
 * mint.h — scoped write tokens for direct client writes (realtime.md §4), minted through the
 * access-token registry on behalf of the root token, and cached.
 *
 * A token's scope: basins {exact: basin}, streams {prefix: prefix} (the caller passes the
 * environment's prefix without a trailing "/": clients name streams "/sessions/…" or
 * "/runs/…", as realtime.md's X-S2-Stream-Name says; environment ids all have the same length,
 * so no other environment's prefix starts with this one), the given ops, auto_prefix_streams: true, and
 * expires_at = now + ttl. Ids are "rt-" followed by 29 random characters, so never reused.
 *
 * Cache: keyed "{basin}:{prefix}:{sorted ops}". A cached secret is handed out again while it
 * is younger than half its life (so a client always gets at least ttl/2 of validity); after that
 * a new token is minted and replaces the entry (the old one stays valid until it expires).
 * Because the basin is part of the key, a deprovision or plan change that moves an environment
 * to another basin can never be answered with a token of the old basin, nor the reverse.
 * Entries are kept per distinct key (bounded by basins × environments); nothing else is stored.
 *
 * Threading: loop thread only (like the auth registry).
 */
#ifndef WR_REALTIME_MINT_H
#define WR_REALTIME_MINT_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "util/err.h"

#define WR_RT_SECRET_MAX 64

typedef struct wr_rt_mint wr_rt_mint;

/* `auth` must outlive the cache; ttl_s > 0. */
wr_rt_mint *wr_rt_mint_new(wr_auth *auth, uint64_t ttl_s);
void wr_rt_mint_free(wr_rt_mint *m);

/*
 * A write token for `basin` and `prefix` with the ops named in `ops` (wire names, any order),
 * from the cache or freshly minted; copied into out_secret. Errors: those of wr_auth_issue
 * (STORAGE, or INVALID/BAD_JSON for a bad basin, prefix or op name).
 */
wr_err wr_rt_mint_token(wr_rt_mint *m, const char *basin, const char *prefix,
                        const char *const *ops, size_t n_ops, char out_secret[WR_RT_SECRET_MAX],
                        wr_error *out_err);

/* The write ops every realtime token gets: append, create-stream, trim. */
extern const char *const wr_rt_write_ops[3];

/* Tokens minted so far (tests and benchmarks: a cache hit does not mint). */
uint64_t wr_rt_mint_count(const wr_rt_mint *m);

#endif
