/*
 * mint.c — the scoped write-token cache (see mint.h). A chained hash table of entries keyed
 * "{basin}:{prefix}:{sorted ops}"; an entry holds the last secret minted for its key and when it
 * was minted. Invariant: an entry's secret was issued for exactly the basin, prefix and ops its
 * key names (the key is built from the same values as the token's scope).
 */
#include <stdlib.h>
#include <string.h>

#include "realtime/mint.h"
#include "realtime/rt_int.h"
#include "util/clock.h"
#include "util/mem.h"

#define N_BUCKETS 1024

const char *const wr_rt_write_ops[3] = {"append", "create-stream", "trim"};

typedef struct mint_entry {
    struct mint_entry *next;
    char *key;
    char secret[WR_RT_SECRET_MAX];
    uint64_t minted_at_ms;
} mint_entry;

struct wr_rt_mint {
    wr_auth *auth;
    uint64_t ttl_ms;
    uint64_t minted;
    mint_entry *buckets[N_BUCKETS];
};

wr_rt_mint *
wr_rt_mint_new(wr_auth *auth, uint64_t ttl_s)
{
    wr_rt_mint *m = wr_xcalloc(1, sizeof(*m));
    m->auth = auth;
    m->ttl_ms = ttl_s * 1000;
    return m;
}

void
wr_rt_mint_free(wr_rt_mint *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        for (mint_entry *e = m->buckets[i], *n; e; e = n) {
            n = e->next;
            free(e->key);
            free(e);
        }
    }
    free(m);
}

uint64_t
wr_rt_mint_count(const wr_rt_mint *m)
{
    return m->minted;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "{basin}:{prefix}:{op,op,…}" with the ops sorted (malloc'd). */
static char *
cache_key(const char *basin, const char *prefix, const char **sorted, size_t n)
{
    size_t len = strlen(basin) + strlen(prefix) + 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(sorted[i]) + 1;
    char *k = wr_xmalloc(len);
    char *p = k + sprintf(k, "%s:%s:", basin, prefix);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", sorted[i]);
    return k;
}

static size_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return (size_t)(h % N_BUCKETS);
}

/* Issues a new token for the scope; *out_secret is malloc'd. */
static wr_err
issue(wr_rt_mint *m, const char *basin, const char *prefix, const char **ops, size_t n,
      uint64_t now, char **out_secret, wr_error *out_err)
{
    char id[33], exp[40];
    wr_rt_new_id("rt-", 32, id);
    wr_clock_format_rfc3339(now + m->ttl_ms, exp);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(ops[i]));
    json_t *info = json_pack("{s:s,s:s,s:b,s:{s:{s:s},s:{s:s},s:o}}", "id", id, "expires_at", exp,
                             "auto_prefix_streams", 1, "scope", "basins", "exact", basin, "streams",
                             "prefix", prefix, "ops", list);
    wr_err err = wr_auth_issue(m->auth, wr_auth_root(m->auth), info, out_secret, out_err);
    json_decref(info);
    if (err == WR_OK)
        m->minted++;
    return err;
}

/* The entry for key, created empty (minted_at_ms 0, no secret) when missing. */
static mint_entry *
entry_for(wr_rt_mint *m, const char *key)
{
    size_t b = hash_str(key);
    for (mint_entry *e = m->buckets[b]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    mint_entry *e = wr_xcalloc(1, sizeof(*e));
    e->key = wr_xstrdup(key);
    e->next = m->buckets[b];
    m->buckets[b] = e;
    return e;
}

wr_err
wr_rt_mint_token(wr_rt_mint *m, const char *basin, const char *prefix, const char *const *ops,
                 size_t n_ops, char out_secret[WR_RT_SECRET_MAX], wr_error *out_err)
{
    const char *sorted[16];
    if (n_ops == 0 || n_ops > 16)
        return wr_error_set(out_err, WR_ERR_INVALID, "a write token needs 1-16 ops");
    memcpy(sorted, ops, n_ops * sizeof(*ops));
    qsort(sorted, n_ops, sizeof(*sorted), cmp_str);
    char *key = cache_key(basin, prefix, sorted, n_ops);
    mint_entry *e = entry_for(m, key);
    free(key);
    uint64_t now = wr_clock_now_ms();
    if (e->secret[0] && now >= e->minted_at_ms && now - e->minted_at_ms < m->ttl_ms / 2) {
        strcpy(out_secret, e->secret);
        return WR_OK;
    }
    char *secret = NULL;
    wr_err err = issue(m, basin, prefix, sorted, n_ops, now, &secret, out_err);
    if (err != WR_OK)
        return err;
    snprintf(e->secret, sizeof(e->secret), "%s", secret);
    e->minted_at_ms = now;
    strcpy(out_secret, e->secret);
    free(secret);
    return WR_OK;
}
