/*
 * mint.c — the scoped write-token cache (see mint.h). A chained hash table of entries keyed by
 * what a token grants, plus an insertion-ordered list for eviction. An entry holds the last
 * token minted for its key: its id (to ask the registry whether it is still live), secret and
 * expiry. Invariant: an entry's token was issued for exactly the basin, streams and ops its key
 * names (the key is built from the same values as the token's scope). Tokens are issued, counted
 * and revoked through the stream backend (backend.h), which may answer later: a mint in
 * progress carries copies of what it needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realtime/mint.h"
#include "realtime/rt_int.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/hash.h"
#include "util/hex.h"
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
    wr_rt_backend *backend;
    uint64_t ttl_ms;
    size_t max_per_env;
    uint64_t minted;
    size_t n;
    mint_entry *oldest, *newest;
    mint_entry *buckets[N_BUCKETS];
};

wr_rt_mint *
wr_rt_mint_new(wr_rt_backend *backend, uint64_t ttl_s, size_t max_per_env)
{
    wr_rt_mint *m = wr_xcalloc(1, sizeof(*m));
    m->backend = backend;
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
    return (size_t)(wr_hash_fnv1a(WR_FNV1A_SEED, s, strlen(s)) % N_BUCKETS);
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

/* A mint in progress (the backend may answer later): copies of what the grant names. */
typedef struct mint_op {
    wr_rt_mint *m;
    wr_rt_mint_cb cb;
    void *ud;
    bool stream_token;
    char *key, *basin, *name; /* name: the stream, or the prefix */
    char id[WR_TOKEN_ID_MAX + 1];
    char env_prefix[WR_TOKEN_ID_MAX + 1];
    uint64_t exp_ms;
} mint_op;

static void
op_finish(mint_op *op, wr_err err, const wr_error *detail, const char *secret)
{
    op->cb(op->ud, err, detail, secret);
    free(op->key);
    free(op->basin);
    free(op->name);
    free(op);
}

static void
issued(void *ud, wr_err err, const wr_error *detail, const char *secret)
{
    mint_op *op = ud;
    wr_rt_mint *m = op->m;
    if (err != WR_OK) {
        op_finish(op, err, detail, NULL);
        return;
    }
    m->minted++;
    mint_entry *e = entry_find(m, op->key);
    if (!e)
        e = entry_add(m, op->key);
    snprintf(e->id, sizeof(e->id), "%s", op->id);
    snprintf(e->secret, sizeof(e->secret), "%s", secret);
    e->expires_at_ms = op->exp_ms;
    op_finish(op, WR_OK, NULL, e->secret);
}

static void
issue(mint_op *op)
{
    char exp[40];
    wr_clock_format_rfc3339(op->exp_ms, exp);
    const char *const *ops = op->stream_token ? stream_ops : env_ops;
    size_t n_ops = op->stream_token ? 1 : 3;
    json_t *list = json_array();
    for (size_t i = 0; i < n_ops; i++)
        json_array_append_new(list, json_string(ops[i]));
    json_t *info =
        json_pack("{s:s,s:s,s:b,s:{s:{s:s},s:{s:s},s:o}}", "id", op->id, "expires_at", exp,
                  "auto_prefix_streams", !op->stream_token, "scope", "basins", "exact", op->basin,
                  "streams", op->stream_token ? "exact" : "prefix", op->name, "ops", list);
    wr_rt_backend *b = op->m->backend;
    b->ops->issue_token(b, info, issued, op);
    json_decref(info);
}

static void
counted_after_gc(void *ud, wr_err err, const wr_error *detail, size_t n)
{
    mint_op *op = ud;
    if (err != WR_OK) {
        op_finish(op, err, detail, NULL);
        return;
    }
    if (n >= op->m->max_per_env) {
        wr_error e = {0};
        wr_error_set(&e, WR_ERR_RATE_LIMITED,
                     "this environment holds %zu live write tokens, the most it may; retry once "
                     "some expire",
                     op->m->max_per_env);
        op_finish(op, e.code, &e, NULL);
        return;
    }
    issue(op);
}

/* Under the environment's cap: issue; at it, collect expired tokens and count again. */
static void
counted(void *ud, wr_err err, const wr_error *detail, size_t n)
{
    mint_op *op = ud;
    if (err != WR_OK) {
        op_finish(op, err, detail, NULL);
        return;
    }
    if (n < op->m->max_per_env) {
        issue(op);
        return;
    }
    wr_rt_backend *b = op->m->backend;
    b->ops->count_tokens(b, op->env_prefix, op->m->max_per_env, counted_after_gc, op);
}

void
wr_rt_mint_token(wr_rt_mint *m, const wr_rt_grant *g, wr_rt_mint_cb cb, void *ud)
{
    uint64_t now = wr_clock_now_ms();
    uint64_t life = m->ttl_ms;
    if (g->stream && life > WR_RT_STREAM_TOKEN_TTL_S * 1000ull)
        life = WR_RT_STREAM_TOKEN_TTL_S * 1000ull;
    uint64_t exp = now + life;
    wr_error e = {0};
    if (g->not_after_ms && g->not_after_ms < exp) {
        if (g->not_after_ms <= now) {
            wr_error_set(&e, WR_ERR_INVALID, "the caller's token has expired");
            cb(ud, e.code, &e, NULL);
            return;
        }
        exp = g->not_after_ms;
    }
    const char *name = g->stream ? g->stream : g->prefix;
    char kh[17] = "";
    if (g->key_hash)
        wr_hex_encode(g->key_hash, 8, kh);
    char *key = wr_xmalloc(strlen(g->basin) + strlen(name) + sizeof(kh) + 8 + 21);
    sprintf(key, "%s:%s:%c:%s:%llu", g->basin, name, g->stream ? 's' : 'e', kh,
            (unsigned long long)g->org_version);
    mint_entry *hit = entry_find(m, key);
    /* Reuse: still live (not revoked, not expired), at least half the wanted life left, and no
     * later than the caller may have it. */
    if (hit && m->backend->ops->token_live(m->backend, hit->id) &&
        hit->expires_at_ms >= now + (exp - now) / 2 && hit->expires_at_ms <= exp) {
        free(key);
        cb(ud, WR_OK, NULL, hit->secret);
        return;
    }
    mint_op *op = wr_xcalloc(1, sizeof(*op));
    op->m = m;
    op->cb = cb;
    op->ud = ud;
    op->stream_token = g->stream != NULL;
    op->key = key;
    op->basin = wr_xstrdup(g->basin);
    op->name = wr_xstrdup(name);
    op->exp_ms = exp;
    if (!id_prefix(g->org_id, g->env_id, NULL, NULL, false, op->env_prefix) ||
        !id_prefix(g->org_id, g->env_id, g->basin, g->stream, true, op->id)) {
        wr_error_set(&e, WR_ERR_INVALID, "organization or environment id too long");
        op_finish(op, e.code, &e, NULL);
        return;
    }
    char full[WR_TOKEN_ID_MAX + 1];
    size_t used = strlen(op->id);
    wr_rt_new_id(op->id, used + 20 <= WR_TOKEN_ID_MAX ? used + 20 : WR_TOKEN_ID_MAX, full);
    strcpy(op->id, full);
    m->backend->ops->count_tokens(m->backend, op->env_prefix, 0, counted, op);
}

/* ---- revocation and collection ------------------------------------------------------------ */

/* Forgets cached tokens whose id starts with prefix (a backend that cannot say whether a token
 * is live relies on this for its own revocations). */
static void
forget_prefix(wr_rt_mint *m, const char *prefix)
{
    size_t n = strlen(prefix);
    for (mint_entry *e = m->oldest, *next; e; e = next) {
        next = e->newer;
        if (strncmp(e->id, prefix, n) == 0)
            entry_drop(m, e);
    }
}

typedef struct revoke_op {
    wr_rt_done_cb cb;
    void *ud;
    char prefix[WR_TOKEN_ID_MAX + 1];
} revoke_op;

static void
revoked(void *ud, wr_err err, const wr_error *detail, size_t n)
{
    revoke_op *op = ud;
    if (n)
        wr_log_info("revoked write tokens", " prefix=%s count=%zu", op->prefix, n);
    op->cb(op->ud, err, detail);
    free(op);
}

static void
revoke_prefix(wr_rt_mint *m, const char *prefix, wr_rt_done_cb cb, void *ud)
{
    forget_prefix(m, prefix);
    revoke_op *op = wr_xcalloc(1, sizeof(*op));
    op->cb = cb;
    op->ud = ud;
    snprintf(op->prefix, sizeof(op->prefix), "%s", prefix);
    m->backend->ops->revoke_tokens(m->backend, prefix, revoked, op);
}

void
wr_rt_mint_revoke_env(wr_rt_mint *m, const char *org_id, const char *env_id, wr_rt_done_cb cb,
                      void *ud)
{
    char prefix[WR_TOKEN_ID_MAX + 1];
    if (!id_prefix(org_id, env_id, NULL, NULL, false, prefix)) {
        cb(ud, WR_OK, NULL); /* such ids never got a token */
        return;
    }
    revoke_prefix(m, prefix, cb, ud);
}

void
wr_rt_mint_revoke_org(wr_rt_mint *m, const char *org_id, wr_rt_done_cb cb, void *ud)
{
    char prefix[WR_TOKEN_ID_MAX + 1];
    int n = snprintf(prefix, sizeof(prefix), MINT_PREFIX "%s-", org_id);
    if (n <= 0 || n >= (int)sizeof(prefix)) {
        cb(ud, WR_OK, NULL);
        return;
    }
    revoke_prefix(m, prefix, cb, ud);
}

void
wr_rt_mint_revoke_stream(wr_rt_mint *m, const char *org_id, const char *env_id, const char *basin,
                         const char *stream, wr_rt_done_cb cb, void *ud)
{
    char prefix[WR_TOKEN_ID_MAX + 1];
    if (!id_prefix(org_id, env_id, basin, stream, true, prefix)) {
        cb(ud, WR_OK, NULL);
        return;
    }
    revoke_prefix(m, prefix, cb, ud);
}

static void
collected(void *ud, wr_err err, const wr_error *detail, size_t n)
{
    (void)ud;
    (void)n;
    if (err != WR_OK)
        wr_log_warn("collecting expired write tokens failed", " err=%s",
                    detail ? detail->msg : wr_err_code(err));
}

void
wr_rt_mint_gc(wr_rt_mint *m, size_t max)
{
    m->backend->ops->count_tokens(m->backend, MINT_PREFIX, max, collected, NULL);
}
