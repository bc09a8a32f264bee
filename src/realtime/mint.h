/*
 * mint.h — scoped S2 write tokens for direct client writes (realtime.md §4), minted through the
 * access-token registry on behalf of the root token, cached, and revoked when what they were
 * minted for changes. Tokens live in the stream backend's registry (backend.h).
 *
 * Two kinds, by who asks:
 *   environment tokens  for the environment's secret key (the agent/server side, which holds
 *                       the whole environment anyway): basins {exact: basin}, streams {prefix:
 *                       the environment's prefix, without a trailing "/"}, ops append,
 *                       create-stream, trim, auto_prefix_streams: true, lifetime ttl. Clients
 *                       name streams "/sessions/…" or "/runs/…"; environment ids all have the
 *                       same length, so no other environment's prefix starts with this one.
 *   stream tokens       for a public token (a browser end user): basins {exact: basin}, streams
 *                       {exact: the full stream name}, op append only (no trim, no create with a
 *                       config, no fence), lifetime min(ttl, WR_RT_STREAM_TOKEN_TTL_S) and never
 *                       beyond the caller's own token (`not_after_ms`). Clients name the stream
 *                       by its full name.
 *
 * Token ids say whose a token is, so that revocation is a prefix scan of the registry that
 * also works after a restart (the cache is memory only, the tokens are persisted):
 *   environment  rt-{orgId}-{envId}-e-{random}
 *   stream       rt-{orgId}-{envId}-s{tag}-{random}   tag = 16 hex of SHA-256(basin "\n" stream)
 * Revoked: every token of an environment when its key rotates (wr_rt_mint_revoke_env), every
 * token of an organization when its basin changes (wr_rt_mint_revoke_org), a stream's tokens
 * when its session closes (wr_rt_mint_revoke_stream). Expired tokens are deleted by
 * wr_rt_mint_gc, which the realtime layer runs from a timer.
 *
 * Cache: keyed by what the token grants, the environment key it was minted under and the
 * version of its organization's row ("{basin}:{prefix or stream}:{ops}:{key hash}:{org
 * version}"). A cached token is
 * handed out again only while it is live in the registry (never after a revocation), has at
 * least half of the wanted lifetime left (a client always gets at least half its life), and
 * does not outlive `not_after_ms`. The cache holds at most WR_RT_MINT_CACHE_MAX entries (the
 * oldest entry leaves first; its token stays valid). Each environment may hold at most
 * `max_per_env` (WR_RT_MINT_MAX_PER_ENV) live minted tokens: past it, expired ones are collected first, then the
 * mint fails with RATE_LIMITED (429).
 *
 * Threading: loop thread only (like the auth registry).
 */
#ifndef WR_REALTIME_MINT_H
#define WR_REALTIME_MINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "realtime/backend.h"
#include "store/store.h"
#include "util/err.h"

#define WR_RT_SECRET_MAX 64
#define WR_RT_STREAM_TOKEN_TTL_S (15u * 60u)
#define WR_RT_MINT_CACHE_MAX 65536u
#define WR_RT_MINT_MAX_PER_ENV 10000u

typedef struct wr_rt_mint wr_rt_mint;

/* What a token is minted for. */
typedef struct wr_rt_grant {
    const char *org_id, *env_id;
    const char *basin;
    const char *prefix;    /* environment token: the environment's stream prefix */
    const char *stream;    /* stream token (non-NULL): the full stream name; prefix is ignored */
    uint64_t not_after_ms; /* 0 = no bound; else the token expires no later than this */
    /* The environment's API key hash as the caller's request read it (NULL: none). Part of the
     * cache key: after a key rotation — made by this node or another one sharing the control
     * plane, which revoked the old tokens in the registry — a request reads the new hash and no
     * token cached before it is handed out again. */
    const uint8_t *key_hash;
    /* The organization row's updated_at_ms as the caller's request read it. Also part of the
     * cache key: a basin change (deprovision, and a re-provision under the same basin name)
     * bumps it, and revokes the organization's tokens in the registry — on another node sharing
     * the control plane too, whose revocations the cache cannot see (the remote backend's
     * token_live cannot ask the registry per hit) — so no token cached before it is handed out
     * again. A plan change bumps it as well and merely costs a fresh mint. */
    uint64_t org_version;
} wr_rt_grant;

/* `backend` must outlive the cache; ttl_s > 0; max_per_env > 0 (WR_RT_MINT_MAX_PER_ENV). */
wr_rt_mint *wr_rt_mint_new(wr_rt_backend *backend, uint64_t ttl_s, size_t max_per_env);
void wr_rt_mint_free(wr_rt_mint *m);

/* The secret (borrowed during the call) or the error of a mint. */
typedef void (*wr_rt_mint_cb)(void *ud, wr_err err, const wr_error *detail, const char *secret);

/*
 * A token for `g`, from the cache or freshly minted, through cb (exactly once, possibly before
 * this returns). `g` is borrowed for the call. Errors: the backend's (STORAGE, UNAVAILABLE …, or
 * INVALID/BAD_JSON for a bad basin or name), RATE_LIMITED (the environment holds max_per_env
 * live tokens), INVALID (not_after_ms has passed).
 */
void wr_rt_mint_token(wr_rt_mint *m, const wr_rt_grant *g, wr_rt_mint_cb cb, void *ud);

/* Revocations (see the header), through cb. Errors: the backend's; tokens revoked before one
 * failed stay revoked. */
void wr_rt_mint_revoke_env(wr_rt_mint *m, const char *org_id, const char *env_id, wr_rt_done_cb cb,
                           void *ud);
void wr_rt_mint_revoke_org(wr_rt_mint *m, const char *org_id, wr_rt_done_cb cb, void *ud);
void wr_rt_mint_revoke_stream(wr_rt_mint *m, const char *org_id, const char *env_id,
                              const char *basin, const char *stream, wr_rt_done_cb cb, void *ud);

/* Deletes up to `max` expired minted tokens in the background (failures are logged). */
void wr_rt_mint_gc(wr_rt_mint *m, size_t max);

/* Tokens minted so far (tests and benchmarks: a cache hit does not mint). */
uint64_t wr_rt_mint_count(const wr_rt_mint *m);

#endif
