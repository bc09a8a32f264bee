/*
 * mint.c — the scoped write-token cache (see mint.h). A chained hash table of entries keyed by
 * what a token grants, plus an insertion-ordered list for eviction. An entry holds the last
 * token minted for its key: its id (to ask the registry whether it is still live), secret and
 * expiry. Invariant: an entry's token was issued for exactly the basin, streams and ops its key
 * names (the key is built from the same values as the token's scope).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realtime/mint.h"
#include "realtime/rt_int.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#define N_BUCKETS 4096
#define MINT_PREFIX "rt-"

static const char *const env_ops[] = {"append", "create-stream", "trim"};
static const char *const stream_ops[] = {"append"};

typedef struct mint_entry {
    struct mint_entry *next;          /* hash chain */
    struct mint_entry *older, *newer; /* insertion order */
    char *key;
    char id[WR_TOKEN_ID_MAX + 1];
    char secret[WR_RT_SECRET_MAX];
    uint64_t expires_at_ms;
} mint_entry;

struct wr_rt_mint {
    wr_auth *auth;
    uint64_t ttl_ms;
    size_t max_per_env;
    uint64_t minted;
    size_t n;
    mint_entry *oldest, *newest;
    mint_entry *buckets[N_BUCKETS];
};

wr_rt_mint *
wr_rt_mint_new(wr_auth *auth, uint64_t ttl_s, size_t max_per_env)
{
    wr_rt_mint *m = wr_xcalloc(1, sizeof(*m));
    m->auth = auth;
    m->ttl_ms = ttl_s * 1000;
    m->max_per_env = max_per_env;
    return m;
}

void
wr_rt_mint_free(wr_rt_mint *m)
{
    if (!m)
        return;
    for (mint_entry *e = m->oldest, *n; e; e = n) {
        n = e->newer;
        free(e->key);
        free(e);
    }
    free(m);
}

uint64_t
wr_rt_mint_count(const wr_rt_mint *m)
{
    return m->minted;
}

static size_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return (size_t)(h % N_BUCKETS);
}

/* ---- ids ---------------------------------------------------------------------------------- */

/* "rt-{org}-{env}-" (+ "e-" or "s{tag}-" when kind is given); false when it does not fit. */
static bool
id_prefix(const char *org, const char *env, const char *basin, const char *stream, bool kind,
          char out[WR_TOKEN_ID_MAX + 1])
{
    int n = snprintf(out, WR_TOKEN_ID_MAX + 1, MINT_PREFIX "%s-%s-", org, env);
    if (kind && stream) {
        uint8_t h[32];
        char *both = wr_xmalloc(strlen(basin) + strlen(stream) + 2);
        sprintf(both, "%s\n%s", basin, stream);
        wr_rt_hash_key(both, h);
        free(both);
        n +=
            snprintf(out + n, WR_TOKEN_ID_MAX + 1 - (size_t)n, "s%02x%02x%02x%02x%02x%02x%02x%02x-",
                     h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
    } else if (kind) {
        n += snprintf(out + n, WR_TOKEN_ID_MAX + 1 - (size_t)n, "e-");
    }
    return n > 0 && n <= WR_TOKEN_ID_MAX - 16; /* room for 16+ random characters */
}

/* ---- cache -------------------------------------------------------------------------------- */

static void
entry_drop(wr_rt_mint *m, mint_entry *e)
{
    mint_entry **pp = &m->buckets[hash_str(e->key)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    if (e->older)
        e->older->newer = e->newer;
    else
        m->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        m->newest = e->older;
    m->n--;
    free(e->key);
    free(e);
}

static mint_entry *
entry_find(wr_rt_mint *m, const char *key)
{
    for (mint_entry *e = m->buckets[hash_str(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* A new entry for key (the caller fills it); the oldest leaves when the cache is full. */
static mint_entry *
entry_add(wr_rt_mint *m, const char *key)
{
    if (m->n >= WR_RT_MINT_CACHE_MAX)
        entry_drop(m, m->oldest);
    mint_entry *e = wr_xcalloc(1, sizeof(*e));
    e->key = wr_xstrdup(key);
    size_t b = hash_str(key);
    e->next = m->buckets[b];
    m->buckets[b] = e;
    e->older = m->newest;
    if (m->newest)
        m->newest->newer = e;
    else
        m->oldest = e;
    m->newest = e;
    m->n++;
    return e;
}

/* ---- minting ------------------------------------------------------------------------------ */

/* Issues a token with id `id`, for the grant, expiring at exp_ms; *out_secret is malloc'd. */
static wr_err
issue(wr_rt_mint *m, const wr_rt_grant *g, const char *id, uint64_t exp_ms, char **out_secret,
      wr_error *out_err)
{
    char exp[40];
    wr_clock_format_rfc3339(exp_ms, exp);
    const char *const *ops = g->stream ? stream_ops : env_ops;
    size_t n_ops = g->stream ? 1 : 3;
    json_t *list = json_array();
    for (size_t i = 0; i < n_ops; i++)
        json_array_append_new(list, json_string(ops[i]));
    json_t *info = json_pack("{s:s,s:s,s:b,s:{s:{s:s},s:{s:s},s:o}}", "id", id, "expires_at", exp,
                             "auto_prefix_streams", g->stream == NULL, "scope", "basins", "exact",
                             g->basin, "streams", g->stream ? "exact" : "prefix",
                             g->stream ? g->stream : g->prefix, "ops", list);
    wr_err err = wr_auth_issue(m->auth, wr_auth_root(m->auth), info, out_secret, out_err);
    json_decref(info);
    if (err == WR_OK)
        m->minted++;
    return err;
}

/* Makes room under the environment's cap of live minted tokens. */
static wr_err
env_room(wr_rt_mint *m, const char *env_prefix, wr_error *out_err)
{
    if (wr_auth_count_prefix(m->auth, env_prefix) < m->max_per_env)
        return WR_OK;
    wr_err err = wr_auth_gc(m->auth, env_prefix, m->max_per_env, NULL, out_err);
    if (err != WR_OK)
        return err;
    if (wr_auth_count_prefix(m->auth, env_prefix) < m->max_per_env)
        return WR_OK;
    return wr_error_set(out_err, WR_ERR_RATE_LIMITED,
                        "this environment holds %zu live write tokens, the most it may; retry "
                        "once some expire",
                        m->max_per_env);
}

wr_err
wr_rt_mint_token(wr_rt_mint *m, const wr_rt_grant *g, char out_secret[WR_RT_SECRET_MAX],
                 wr_error *out_err)
{
    uint64_t now = wr_clock_now_ms();
    uint64_t life = m->ttl_ms;
    if (g->stream && life > WR_RT_STREAM_TOKEN_TTL_S * 1000ull)
        life = WR_RT_STREAM_TOKEN_TTL_S * 1000ull;
    uint64_t exp = now + life;
    if (g->not_after_ms && g->not_after_ms < exp) {
        if (g->not_after_ms <= now)
            return wr_error_set(out_err, WR_ERR_INVALID, "the caller's token has expired");
        exp = g->not_after_ms;
    }
    char *key = wr_xmalloc(strlen(g->basin) + strlen(g->stream ? g->stream : g->prefix) + 8);
    sprintf(key, "%s:%s:%c", g->basin, g->stream ? g->stream : g->prefix, g->stream ? 's' : 'e');
    mint_entry *e = entry_find(m, key);
    /* Reuse: still live (not revoked, not expired), at least half the wanted life left, and no
     * later than the caller may have it. */
    if (e && wr_auth_token_live(m->auth, e->id) && e->expires_at_ms >= now + (exp - now) / 2 &&
        e->expires_at_ms <= exp) {
        free(key);
        strcpy(out_secret, e->secret);
        return WR_OK;
    }
    char id[WR_TOKEN_ID_MAX + 1], env_prefix[WR_TOKEN_ID_MAX + 1];
    wr_err err = WR_OK;
    if (!id_prefix(g->org_id, g->env_id, NULL, NULL, false, env_prefix) ||
        !id_prefix(g->org_id, g->env_id, g->basin, g->stream, true, id))
        err = wr_error_set(out_err, WR_ERR_INVALID, "organization or environment id too long");
    if (err == WR_OK)
        err = env_room(m, env_prefix, out_err);
    char *secret = NULL;
    if (err == WR_OK) {
        char full[WR_TOKEN_ID_MAX + 1];
        size_t used = strlen(id);
        wr_rt_new_id(id, used + 20 <= WR_TOKEN_ID_MAX ? used + 20 : WR_TOKEN_ID_MAX, full);
        strcpy(id, full);
        err = issue(m, g, id, exp, &secret, out_err);
    }
    if (err != WR_OK) {
        free(key);
        return err;
    }
    if (!e)
        e = entry_add(m, key);
    free(key);
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->secret, sizeof(e->secret), "%s", secret);
    e->expires_at_ms = exp;
    strcpy(out_secret, e->secret);
    free(secret);
    return WR_OK;
}

/* ---- revocation and collection ------------------------------------------------------------ */

static wr_err
revoke_prefix(wr_rt_mint *m, const char *prefix, wr_error *out_err)
{
    size_t n = 0;
    wr_err err = wr_auth_revoke_prefix(m->auth, prefix, &n, out_err);
    if (n)
        wr_log_info("revoked write tokens", " prefix=%s count=%zu", prefix, n);
    return err;
}

wr_err
wr_rt_mint_revoke_env(wr_rt_mint *m, const char *org_id, const char *env_id, wr_error *out_err)
{
    char prefix[WR_TOKEN_ID_MAX + 1];
    if (!id_prefix(org_id, env_id, NULL, NULL, false, prefix))
        return WR_OK; /* such ids never got a token */
    return revoke_prefix(m, prefix, out_err);
}

wr_err
wr_rt_mint_revoke_org(wr_rt_mint *m, const char *org_id, wr_error *out_err)
{
    char prefix[WR_TOKEN_ID_MAX + 1];
    int n = snprintf(prefix, sizeof(prefix), MINT_PREFIX "%s-", org_id);
    if (n <= 0 || n >= (int)sizeof(prefix))
        return WR_OK;
    return revoke_prefix(m, prefix, out_err);
}

wr_err
wr_rt_mint_revoke_stream(wr_rt_mint *m, const char *org_id, const char *env_id, const char *basin,
                         const char *stream, wr_error *out_err)
{
    char prefix[WR_TOKEN_ID_MAX + 1];
    if (!id_prefix(org_id, env_id, basin, stream, true, prefix))
        return WR_OK;
    return revoke_prefix(m, prefix, out_err);
}

size_t
wr_rt_mint_gc(wr_rt_mint *m, size_t max)
{
    size_t n = 0;
    wr_error err = {0};
    if (wr_auth_gc(m->auth, MINT_PREFIX, max, &n, &err) != WR_OK)
        wr_log_warn("collecting expired write tokens failed", " err=%s", err.msg);
    return n;
}
