/*
 * test_mint.c — the scoped write-token cache (realtime/mint.h) over a real store and auth
 * registry in a temp dir, with the fake clock: reuse while younger than half the TTL, a new
 * token after; the key includes basin, prefix and the sorted ops; minted tokens carry exactly
 * the scope realtime.md §4 asks for; a basin change never hands out the other basin's token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "realtime/mint.h"
#include "support/store_support.h"
#include "util/clock.h"

#define T0 1700000000000ull
#define TTL_S 3600

typedef struct fx {
    ts_env env;
    wr_auth *auth;
    wr_rt_mint *mint;
} fx;

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    wr_clock_set_fake(T0);
    ts_setup(&f->env);
    char *new_root = NULL;
    wr_error err = {0};
    assert_int_equal(wr_auth_open(f->env.s, WR_AUTH_TOKENS, f->env.dir, "test-root-secret",
                                  &f->auth, &new_root, &err),
                     WR_OK);
    free(new_root);
    f->mint = wr_rt_mint_new(f->auth, TTL_S);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    wr_rt_mint_free(f->mint);
    wr_auth_free(f->auth);
    ts_teardown(&f->env);
    wr_clock_set_real();
    free(f);
    return 0;
}

/* Mints (asserting success) into out. */
static void
mint(fx *f, const char *basin, const char *prefix, char out[WR_RT_SECRET_MAX])
{
    wr_error err = {0};
    wr_err rc = wr_rt_mint_token(f->mint, basin, prefix, wr_rt_write_ops, 3, out, &err);
    if (rc != WR_OK)
        fail_msg("mint: %s", err.msg);
}

static const wr_token *
verify(fx *f, const char *secret)
{
    char h[WR_RT_SECRET_MAX + 8];
    snprintf(h, sizeof(h), "Bearer %s", secret);
    const wr_token *t = wr_auth_verify(f->auth, h);
    assert_non_null(t);
    return t;
}

static void
test_reuse_until_half_life(void **state)
{
    fx *f = *state;
    char a[WR_RT_SECRET_MAX], b[WR_RT_SECRET_MAX], c[WR_RT_SECRET_MAX];
    mint(f, "basin-a", "env/dev/e1/", a);
    assert_int_equal(wr_rt_mint_count(f->mint), 1);
    wr_clock_advance_ms(TTL_S * 1000 / 2 - 1);
    mint(f, "basin-a", "env/dev/e1/", b);
    assert_string_equal(a, b);
    assert_int_equal(wr_rt_mint_count(f->mint), 1);
    wr_clock_advance_ms(1); /* exactly half its life: no longer reused */
    mint(f, "basin-a", "env/dev/e1/", c);
    assert_string_not_equal(a, c);
    assert_int_equal(wr_rt_mint_count(f->mint), 2);
    /* The replaced token stays valid until its own expiry. */
    verify(f, a);
    wr_clock_advance_ms(TTL_S * 1000 / 2);
    assert_null(wr_auth_verify(f->auth, "Bearer x"));
    char h[WR_RT_SECRET_MAX + 8];
    snprintf(h, sizeof(h), "Bearer %s", a);
    assert_null(wr_auth_verify(f->auth, h)); /* a expired at T0 + ttl */
}

static void
test_scope_of_minted_token(void **state)
{
    fx *f = *state;
    char s[WR_RT_SECRET_MAX];
    mint(f, "basin-a", "org/o1/env/dev/e1/", s);
    const wr_token *t = verify(f, s);
    assert_memory_equal(t->id, "rt-", 3);
    assert_int_equal(strlen(t->id), 32);
    assert_true(t->auto_prefix);
    assert_false(t->root);
    assert_int_equal(t->expires_at_ms, T0 + TTL_S * 1000ull);
    assert_true(wr_scope_allows(&t->scope, WR_OP_APPEND, "basin-a", "org/o1/env/dev/e1/x", NULL));
    assert_true(
        wr_scope_allows(&t->scope, WR_OP_CREATE_STREAM, "basin-a", "org/o1/env/dev/e1/x", NULL));
    assert_true(wr_scope_allows(&t->scope, WR_OP_TRIM, "basin-a", "org/o1/env/dev/e1/x", NULL));
    assert_false(wr_scope_allows(&t->scope, WR_OP_READ, "basin-a", "org/o1/env/dev/e1/x", NULL));
    assert_false(wr_scope_allows(&t->scope, WR_OP_APPEND, "basin-b", "org/o1/env/dev/e1/x", NULL));
    assert_false(wr_scope_allows(&t->scope, WR_OP_APPEND, "basin-a", "org/o1/env/dev/e2/x", NULL));
}

static void
test_key_parts(void **state)
{
    fx *f = *state;
    char a[WR_RT_SECRET_MAX], b[WR_RT_SECRET_MAX], c[WR_RT_SECRET_MAX], d[WR_RT_SECRET_MAX];
    mint(f, "basin-a", "env/dev/e1/", a);
    mint(f, "basin-b", "env/dev/e1/", b);
    mint(f, "basin-a", "env/dev/e2/", c);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(b, c);
    /* The same ops in another order are the same key. */
    const char *shuffled[3] = {"trim", "append", "create-stream"};
    wr_error err = {0};
    assert_int_equal(wr_rt_mint_token(f->mint, "basin-a", "env/dev/e1/", shuffled, 3, d, &err),
                     WR_OK);
    assert_string_equal(a, d);
    /* Fewer ops: another key. */
    assert_int_equal(wr_rt_mint_token(f->mint, "basin-a", "env/dev/e1/", shuffled, 1, d, &err),
                     WR_OK);
    assert_string_not_equal(a, d);
    assert_int_equal(wr_rt_mint_count(f->mint), 4);
}

/* An org moves from its basin to the shared one (deprovision) and back: each answer is scoped
 * to the basin asked for, cached or not. */
static void
test_basin_change_never_crosses(void **state)
{
    fx *f = *state;
    const char *own = "weir-dev-org-o1", *shared = "weir-shared";
    char s1[WR_RT_SECRET_MAX], s2[WR_RT_SECRET_MAX], s3[WR_RT_SECRET_MAX];
    mint(f, own, "env/dev/e1/", s1);
    wr_clock_advance_ms(1000);
    mint(f, shared, "org/o1/env/dev/e1/", s2);
    wr_clock_advance_ms(1000);
    mint(f, own, "env/dev/e1/", s3); /* re-provisioned: the cached token of that basin */
    assert_string_equal(s1, s3);
    assert_string_equal(verify(f, s1)->scope.basins.value, own);
    assert_string_equal(verify(f, s2)->scope.basins.value, shared);
    assert_string_equal(verify(f, s2)->scope.streams.value, "org/o1/env/dev/e1/");
    /* Same prefix string in two basins: still two tokens. */
    mint(f, shared, "env/dev/e1/", s3);
    assert_string_not_equal(s1, s3);
    assert_string_equal(verify(f, s3)->scope.basins.value, shared);
}

static void
test_bad_input(void **state)
{
    fx *f = *state;
    char s[WR_RT_SECRET_MAX];
    wr_error err = {0};
    assert_int_not_equal(wr_rt_mint_token(f->mint, "b", "p/", wr_rt_write_ops, 0, s, &err), WR_OK);
    const char *bad[1] = {"no-such-op"};
    assert_int_not_equal(wr_rt_mint_token(f->mint, "b", "p/", bad, 1, s, &err), WR_OK);
    assert_int_equal(wr_rt_mint_count(f->mint), 0);
    /* A failed mint leaves nothing cached: the next good call mints. */
    mint(f, "b", "p/", s);
    assert_int_equal(wr_rt_mint_count(f->mint), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reuse_until_half_life, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scope_of_minted_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basin_change_never_crosses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
