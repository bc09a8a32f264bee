/*
 * test_mint.c — the scoped write-token cache (realtime/mint.h) over a real store and auth
 * registry in a temp dir, with the fake clock: reuse while at least half the life is left, a new
 * token after; environment tokens carry the prefix scope of realtime.md §4, stream tokens
 * exactly one stream and append only; revocation by environment, organization and stream (also
 * after a restart, when the cache is gone) is never answered from the cache; expired tokens are
 * collected; an environment's live tokens are capped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "realtime/backend.h"
#include "realtime/mint.h"
#include "support/store_support.h"
#include "support/test_main.h"
#include "util/clock.h"

#define T0 1700000000000ull
#define TTL_S 3600
#define CAP 4

#define ORG "corg00000000000000000001"
#define ORG2 "corg00000000000000000002"
#define ENV "cenv00000000000000000001"
#define ENV2 "cenv00000000000000000002"

typedef struct fx {
    ts_env env;
    wr_auth *auth;
    wr_rt_backend *backend;
    wr_rt_mint *mint;
} fx;

static void
open_auth(fx *f)
{
    char *new_root = NULL;
    wr_error err = {0};
    assert_int_equal(wr_auth_open(f->env.s, WR_AUTH_TOKENS, f->env.dir, "test-root-secret",
                                  &f->auth, &new_root, &err),
                     WR_OK);
    free(new_root);
    f->backend = wr_rt_backend_embedded(f->env.s, f->auth, NULL, &f->env.loop);
    f->mint = wr_rt_mint_new(f->backend, TTL_S, CAP);
}

static void
close_auth(fx *f)
{
    wr_rt_mint_free(f->mint);
    wr_rt_backend_free(f->backend);
    wr_auth_free(f->auth);
}

/* The embedded backend answers token calls once the store's commit thread has written them:
 * these wrappers run the loop until then and return the result as synchronous calls would. */
typedef struct outcome {
    bool done;
    wr_err err;
    wr_error detail;
    char secret[WR_RT_SECRET_MAX];
} outcome;

static void
minted_cb(void *ud, wr_err err, const wr_error *detail, const char *secret)
{
    outcome *o = ud;
    o->done = true;
    o->err = err;
    if (detail)
        o->detail = *detail;
    if (secret)
        snprintf(o->secret, sizeof(o->secret), "%s", secret);
}

static void
done_cb(void *ud, wr_err err, const wr_error *detail)
{
    minted_cb(ud, err, detail, NULL);
}

static wr_err
mint_sync(fx *f, const wr_rt_grant *g, char out[WR_RT_SECRET_MAX], wr_error *err)
{
    outcome o = {0};
    wr_rt_mint_token(f->mint, g, minted_cb, &o);
    ts_run_until(&f->env, &o.done);
    if (err)
        *err = o.detail;
    strcpy(out, o.secret);
    return o.err;
}

static wr_err
settle(fx *f, outcome *o)
{
    ts_run_until(&f->env, &o->done);
    return o->err;
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    wr_clock_set_fake(T0);
    ts_setup(&f->env);
    open_auth(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    close_auth(f);
    ts_teardown(&f->env);
    wr_clock_set_real();
    free(f);
    return 0;
}

static wr_rt_grant
env_grant(const char *org, const char *env, const char *basin, const char *prefix)
{
    return (wr_rt_grant){.org_id = org, .env_id = env, .basin = basin, .prefix = prefix};
}

static wr_rt_grant
stream_grant(const char *basin, const char *stream, uint64_t not_after)
{
    return (wr_rt_grant){.org_id = ORG,
                         .env_id = ENV,
                         .basin = basin,
                         .prefix = "ignored",
                         .stream = stream,
                         .not_after_ms = not_after};
}

/* Mints (asserting success) into out. */
static void
mint_g(fx *f, wr_rt_grant g, char out[WR_RT_SECRET_MAX])
{
    wr_error err = {0};
    if (mint_sync(f, &g, out, &err) != WR_OK)
        fail_msg("mint: %s", err.msg);
}

static void
mint(fx *f, const char *basin, const char *prefix, char out[WR_RT_SECRET_MAX])
{
    mint_g(f, env_grant(ORG, ENV, basin, prefix), out);
}

static const wr_token *
lookup(fx *f, const char *secret)
{
    char h[WR_RT_SECRET_MAX + 8];
    snprintf(h, sizeof(h), "Bearer %s", secret);
    return wr_auth_verify(f->auth, h);
}

static const wr_token *
verify(fx *f, const char *secret)
{
    const wr_token *t = lookup(f, secret);
    assert_non_null(t);
    return t;
}

static void
test_reuse_until_half_life(void **state)
{
    fx *f = *state;
    char a[WR_RT_SECRET_MAX], b[WR_RT_SECRET_MAX], c[WR_RT_SECRET_MAX];
    mint(f, "basin-a", "env/dev/" ENV, a);
    assert_int_equal(wr_rt_mint_count(f->mint), 1);
    wr_clock_advance_ms(TTL_S * 1000 / 2);
    mint(f, "basin-a", "env/dev/" ENV, b);
    assert_string_equal(a, b);
    assert_int_equal(wr_rt_mint_count(f->mint), 1);
    wr_clock_advance_ms(1); /* less than half its life left: no longer reused */
    mint(f, "basin-a", "env/dev/" ENV, c);
    assert_string_not_equal(a, c);
    assert_int_equal(wr_rt_mint_count(f->mint), 2);
    /* The replaced token stays valid until its own expiry. */
    verify(f, a);
    wr_clock_advance_ms(TTL_S * 1000 / 2);
    assert_null(lookup(f, a)); /* a expired at T0 + ttl */
}

static void
test_scope_of_env_token(void **state)
{
    fx *f = *state;
    char s[WR_RT_SECRET_MAX];
    const char *p = "org/" ORG "/env/dev/" ENV;
    mint(f, "basin-a", p, s);
    const wr_token *t = verify(f, s);
    assert_memory_equal(t->id, "rt-" ORG "-" ENV "-e-", strlen("rt-" ORG "-" ENV "-e-"));
    assert_true(t->auto_prefix);
    assert_false(t->root);
    assert_int_equal(t->expires_at_ms, T0 + TTL_S * 1000ull);
    char x[256], other[256];
    snprintf(x, sizeof(x), "%s/sessions/k/out", p);
    snprintf(other, sizeof(other), "org/" ORG "/env/dev/" ENV2 "/sessions/k/out");
    assert_true(wr_scope_allows(&t->scope, WR_OP_APPEND, "basin-a", x, NULL));
    assert_true(wr_scope_allows(&t->scope, WR_OP_CREATE_STREAM, "basin-a", x, NULL));
    assert_true(wr_scope_allows(&t->scope, WR_OP_TRIM, "basin-a", x, NULL));
    assert_false(wr_scope_allows(&t->scope, WR_OP_READ, "basin-a", x, NULL));
    assert_false(wr_scope_allows(&t->scope, WR_OP_APPEND, "basin-b", x, NULL));
    assert_false(wr_scope_allows(&t->scope, WR_OP_APPEND, "basin-a", other, NULL));
}

/* A public caller's token: one stream, append only, short-lived, never past its own token. */
static void
test_scope_of_stream_token(void **state)
{
    fx *f = *state;
    const char *in = "env/dev/" ENV "/sessions/a/in", *out = "env/dev/" ENV "/sessions/a/out";
    char s[WR_RT_SECRET_MAX], s2[WR_RT_SECRET_MAX];
    mint_g(f, stream_grant("basin-a", in, 0), s);
    const wr_token *t = verify(f, s);
    assert_false(t->auto_prefix);
    assert_memory_equal(t->id, "rt-" ORG "-" ENV "-s", strlen("rt-" ORG "-" ENV "-s"));
    assert_int_equal(t->expires_at_ms, T0 + WR_RT_STREAM_TOKEN_TTL_S * 1000ull);
    assert_true(wr_scope_allows(&t->scope, WR_OP_APPEND, "basin-a", in, NULL));
    /* Every other stream of the environment, and every other op, is refused. */
    static const struct {
        wr_op op;
        const char *basin, *stream;
    } refused[] = {
        {WR_OP_APPEND, "basin-a", "env/dev/" ENV "/sessions/a/out"},
        {WR_OP_APPEND, "basin-a", "env/dev/" ENV "/sessions/b/in"},
        {WR_OP_APPEND, "basin-a", "env/dev/" ENV "/sessions/a/in/x"},
        {WR_OP_APPEND, "basin-a", "env/dev/" ENV "/runs/r/chat"},
        {WR_OP_APPEND, "basin-b", "env/dev/" ENV "/sessions/a/in"},
        {WR_OP_TRIM, "basin-a", "env/dev/" ENV "/sessions/a/in"},
        {WR_OP_FENCE, "basin-a", "env/dev/" ENV "/sessions/a/in"},
        {WR_OP_CREATE_STREAM, "basin-a", "env/dev/" ENV "/sessions/a/in"},
        {WR_OP_RECONFIGURE_STREAM, "basin-a", "env/dev/" ENV "/sessions/a/in"},
        {WR_OP_DELETE_STREAM, "basin-a", "env/dev/" ENV "/sessions/a/in"},
        {WR_OP_READ, "basin-a", "env/dev/" ENV "/sessions/a/in"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (wr_scope_allows(&t->scope, refused[i].op, refused[i].basin, refused[i].stream, NULL))
            fail_msg("row %zu: %s on %s/%s allowed", i, wr_op_name(refused[i].op), refused[i].basin,
                     refused[i].stream);
    /* Bounded by the caller's own token: a JWT ending in 60 s gets a token ending then. */
    mint_g(f, stream_grant("basin-a", out, T0 + 60000), s2);
    assert_int_equal(verify(f, s2)->expires_at_ms, T0 + 60000);
    /* The cached 15-minute token is not handed to a caller whose token ends sooner. */
    char s3[WR_RT_SECRET_MAX];
    mint_g(f, stream_grant("basin-a", in, T0 + 60000), s3);
    assert_string_not_equal(s, s3);
    assert_int_equal(verify(f, s3)->expires_at_ms, T0 + 60000);
    /* An expired caller gets nothing. */
    wr_error err = {0};
    wr_rt_grant late = stream_grant("basin-a", in, T0 - 1);
    assert_int_equal(mint_sync(f, &late, s3, &err), WR_ERR_INVALID);
}

static void
test_key_parts(void **state)
{
    fx *f = *state;
    char a[WR_RT_SECRET_MAX], b[WR_RT_SECRET_MAX], c[WR_RT_SECRET_MAX], d[WR_RT_SECRET_MAX];
    mint(f, "basin-a", "env/dev/e1", a);
    mint(f, "basin-b", "env/dev/e1", b);
    mint(f, "basin-a", "env/dev/e2", c);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(b, c);
    /* A stream token whose name equals a prefix is another key. */
    mint_g(f, stream_grant("basin-a", "env/dev/e1", 0), d);
    assert_string_not_equal(a, d);
    assert_false(verify(f, d)->auto_prefix);
    assert_int_equal(wr_rt_mint_count(f->mint), 4);
}

/* The organization row's version is part of the cache key: after a basin change made by another
 * node (which revoked the organization's tokens where this cache cannot see it), a request reads
 * the row's new version and gets a token minted after the change, never the cached one. */
static void
test_org_version_keys_the_cache(void **state)
{
    fx *f = *state;
    char a[WR_RT_SECRET_MAX], b[WR_RT_SECRET_MAX], c[WR_RT_SECRET_MAX];
    wr_rt_grant g = env_grant(ORG, ENV, "weir-dev-org-o1", "env/dev/" ENV);
    g.org_version = 1700000000000ull;
    mint_g(f, g, a);
    mint_g(f, g, b);
    assert_string_equal(a, b); /* same version: cached */
    g.org_version++;
    mint_g(f, g, c);
    assert_string_not_equal(a, c);
    assert_int_equal(wr_rt_mint_count(f->mint), 2);
}

/* An org moves from its basin to the shared one (deprovision) and back: each answer is scoped
 * to the basin asked for, cached or not. */
static void
test_basin_change_never_crosses(void **state)
{
    fx *f = *state;
    const char *own = "weir-dev-org-o1", *shared = "weir-shared";
    char s1[WR_RT_SECRET_MAX], s2[WR_RT_SECRET_MAX], s3[WR_RT_SECRET_MAX];
    mint(f, own, "env/dev/e1", s1);
    wr_clock_advance_ms(1000);
    mint(f, shared, "org/o1/env/dev/e1", s2);
    wr_clock_advance_ms(1000);
    mint(f, own, "env/dev/e1", s3); /* re-provisioned: the cached token of that basin */
    assert_string_equal(s1, s3);
    assert_string_equal(verify(f, s1)->scope.basins.value, own);
    assert_string_equal(verify(f, s2)->scope.basins.value, shared);
    assert_string_equal(verify(f, s2)->scope.streams.value, "org/o1/env/dev/e1");
    mint(f, shared, "env/dev/e1", s3);
    assert_string_not_equal(s1, s3);
    assert_string_equal(verify(f, s3)->scope.basins.value, shared);
}

/* Each revocation kind removes exactly its tokens, and the cache never hands a revoked one out. */
static void
test_revocation(void **state)
{
    fx *f = *state;
    const char *in = "env/dev/" ENV "/sessions/a/in";
    char e1[WR_RT_SECRET_MAX], e2[WR_RT_SECRET_MAX], o2[WR_RT_SECRET_MAX], st[WR_RT_SECRET_MAX],
        again[WR_RT_SECRET_MAX];
    mint(f, "basin-a", "env/dev/" ENV, e1);
    mint_g(f, env_grant(ORG, ENV2, "basin-a", "env/dev/" ENV2), e2);
    mint_g(f, env_grant(ORG2, ENV, "basin-z", "env/dev/" ENV), o2);
    mint_g(f, stream_grant("basin-a", in, 0), st);

    /* The session closes: its stream token goes, the environment's stays. */
    outcome rs = {0};
    wr_rt_mint_revoke_stream(f->mint, ORG, ENV, "basin-a", in, done_cb, &rs);
    assert_int_equal(settle(f, &rs), WR_OK);
    assert_null(lookup(f, st));
    verify(f, e1);
    mint_g(f, stream_grant("basin-a", in, 0), again);
    assert_string_not_equal(st, again); /* not from the cache */
    verify(f, again);

    /* The key rotates: every token of that environment goes, the other environment's stays. */
    {
        outcome re = {0};
        wr_rt_mint_revoke_env(f->mint, ORG, ENV, done_cb, &re);
        assert_int_equal(settle(f, &re), WR_OK);
    }
    assert_null(lookup(f, e1));
    assert_null(lookup(f, again));
    verify(f, e2);
    verify(f, o2);
    mint(f, "basin-a", "env/dev/" ENV, again);
    assert_string_not_equal(e1, again);

    /* The organization's basin changes: all of its tokens go, another organization's stay. */
    {
        outcome ro = {0};
        wr_rt_mint_revoke_org(f->mint, ORG, done_cb, &ro);
        assert_int_equal(settle(f, &ro), WR_OK);
    }
    assert_null(lookup(f, e2));
    assert_null(lookup(f, again));
    verify(f, o2);
}

/* Tokens persist, the cache does not: revocation after a restart still finds them. */
static void
test_revocation_after_restart(void **state)
{
    fx *f = *state;
    char e1[WR_RT_SECRET_MAX], o2[WR_RT_SECRET_MAX];
    mint(f, "basin-a", "env/dev/" ENV, e1);
    mint_g(f, env_grant(ORG2, ENV, "basin-z", "env/dev/" ENV), o2);
    close_auth(f);
    open_auth(f);
    verify(f, e1);
    {
        outcome re = {0};
        wr_rt_mint_revoke_env(f->mint, ORG, ENV, done_cb, &re);
        assert_int_equal(settle(f, &re), WR_OK);
    }
    assert_null(lookup(f, e1));
    verify(f, o2);
    close_auth(f);
    open_auth(f);
    assert_null(lookup(f, e1)); /* the revocation was persisted */
}

static void
test_gc_and_cap(void **state)
{
    fx *f = *state;
    char s[CAP + 1][WR_RT_SECRET_MAX];
    wr_error err = {0};
    for (int i = 0; i < CAP; i++) {
        char stream[64];
        snprintf(stream, sizeof(stream), "env/dev/" ENV "/sessions/s%d/in", i);
        mint_g(f, stream_grant("basin-a", stream, 0), s[i]);
    }
    assert_int_equal(wr_auth_count_prefix(f->auth, "rt-" ORG "-" ENV "-"), CAP);
    /* At the cap: another stream token is refused (429), the other environment is unaffected. */
    wr_rt_grant g = stream_grant("basin-a", "env/dev/" ENV "/sessions/x/in", 0);
    assert_int_equal(mint_sync(f, &g, s[CAP], &err), WR_ERR_RATE_LIMITED);
    assert_int_equal(wr_err_status(err.code), 429);
    char other[WR_RT_SECRET_MAX];
    mint_g(f, env_grant(ORG, ENV2, "basin-a", "env/dev/" ENV2), other);
    /* Once they expire they are collected (on the cap path, and by the timer's gc). */
    wr_clock_advance_ms(WR_RT_STREAM_TOKEN_TTL_S * 1000ull);
    mint_g(f, g, s[CAP]);
    assert_int_equal(wr_auth_count_prefix(f->auth, "rt-" ORG "-" ENV "-"), 1);
    wr_clock_advance_ms(TTL_S * 1000ull);
    assert_int_equal(wr_auth_count_prefix(f->auth, "rt-"), 2);
    wr_rt_mint_gc(f->mint, 100);
    assert_int_equal(wr_auth_count_prefix(f->auth, "rt-"), 0);
}

WR_TEST_MAIN(cmocka_unit_test_setup_teardown(test_reuse_until_half_life, setup, teardown),
             cmocka_unit_test_setup_teardown(test_scope_of_env_token, setup, teardown),
             cmocka_unit_test_setup_teardown(test_scope_of_stream_token, setup, teardown),
             cmocka_unit_test_setup_teardown(test_key_parts, setup, teardown),
             cmocka_unit_test_setup_teardown(test_org_version_keys_the_cache, setup, teardown),
             cmocka_unit_test_setup_teardown(test_basin_change_never_crosses, setup, teardown),
             cmocka_unit_test_setup_teardown(test_revocation, setup, teardown),
             cmocka_unit_test_setup_teardown(test_revocation_after_restart, setup, teardown),
             cmocka_unit_test_setup_teardown(test_gc_and_cap, setup, teardown))
