/*
 * test_auth_tokens.c — access-token writes go through the store's commit thread (auth.h): over a
 * real store in a temp dir, with the commit thread held in the sync hook to look at a write in
 * flight. An issued token is neither usable nor listed until its record is durable, and its id
 * is taken meanwhile; a revocation takes effect before its delete is durable; a failed sync adds
 * nothing (and a revocation whose write failed stays in effect until a restart); a prefix
 * revocation or a collection of N tokens is one synced write; the loop never makes a synced
 * write itself; what was answered survives a restart; bad input keeps its codes and writes
 * nothing.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "support/store_support.h"
#include "support/test_main.h"
#include "util/clock.h"

#define T0 1700000000000ull

/* ---- the sync hook: counts by kind and thread, holds the commit thread on demand ----------- */

static struct {
    pthread_t loop_thread;
    atomic_int commits;      /* WR_STORE_SYNC_COMMIT: the commit thread's group writes */
    atomic_int meta_on_loop; /* WR_STORE_SYNC_META made by the loop thread: must stay 0 */
    atomic_bool armed, held, release;
    wr_store_sync_hook inner; /* the support's hook (counts, injected failures) */
    void *inner_ud;
} hk;

static int
hook(void *ud, wr_store_sync_kind kind)
{
    (void)ud;
    if (kind == WR_STORE_SYNC_COMMIT) {
        atomic_fetch_add(&hk.commits, 1);
        if (atomic_exchange(&hk.armed, false)) { /* hold this write until released */
            atomic_store(&hk.held, true);
            while (!atomic_load(&hk.release))
                sched_yield();
        }
    } else if (kind == WR_STORE_SYNC_META && pthread_equal(pthread_self(), hk.loop_thread)) {
        atomic_fetch_add(&hk.meta_on_loop, 1);
    }
    return hk.inner(hk.inner_ud, kind);
}

/* The commit thread's next synced write will wait, unwritten, until hold_release. */
static void
hold_arm(void)
{
    atomic_store(&hk.held, false);
    atomic_store(&hk.release, false);
    atomic_store(&hk.armed, true);
}

/* Returns once the commit thread is held in its write. */
static void
hold_wait(void)
{
    while (!atomic_load(&hk.held))
        sched_yield();
}

static void
hold_release(void)
{
    atomic_store(&hk.release, true);
}

/* ---- fixture ------------------------------------------------------------------------------- */

typedef struct fx {
    ts_env env;
    wr_auth *auth;
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
}

/* Closes the registry and the store and opens both again on the same data. */
static void
restart(fx *f)
{
    wr_error err = {0};
    wr_auth_free(f->auth);
    assert_int_equal(ts_reopen(&f->env, &err), WR_OK);
    open_auth(f);
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    wr_clock_set_fake(T0);
    ts_init(&f->env);
    memset(&hk, 0, sizeof(hk));
    hk.loop_thread = pthread_self();
    hk.inner = f->env.opts.sync_hook;
    hk.inner_ud = f->env.opts.sync_hook_ud;
    f->env.opts.sync_hook = hook;
    ts_open(&f->env);
    open_auth(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    atomic_store(&hk.armed, false);
    hold_release();    /* a test that failed while holding the commit thread must not hang here */
    ts_close(&f->env); /* answers the writes in flight, if any, while the registry is there */
    wr_auth_free(f->auth);
    ts_teardown(&f->env);
    /* Every test: the loop made no synced write of its own. */
    int on_loop = atomic_load(&hk.meta_on_loop);
    wr_clock_set_real();
    free(f);
    assert_int_equal(on_loop, 0);
    return 0;
}

/* ---- calls and their answers --------------------------------------------------------------- */

typedef struct answer {
    bool done;
    int calls;
    wr_err err;
    char msg[256];
    size_t n;
    char secret[128];
} answer;

static void
note(answer *a, wr_err err, const wr_error *detail)
{
    a->done = true;
    a->calls++;
    a->err = err;
    /* the callback convention of auth.h: detail exactly when there is an error */
    assert_true(err == WR_OK ? detail == NULL : detail != NULL && detail->msg[0]);
    if (detail)
        snprintf(a->msg, sizeof(a->msg), "%s", detail->msg);
}

static void
on_issued(void *ud, wr_err err, const wr_error *detail, const char *secret)
{
    answer *a = ud;
    note(a, err, detail);
    assert_true((err == WR_OK) == (secret != NULL));
    if (secret)
        snprintf(a->secret, sizeof(a->secret), "%s", secret);
}

static void
on_done(void *ud, wr_err err, const wr_error *detail)
{
    note(ud, err, detail);
}

static void
on_count(void *ud, wr_err err, const wr_error *detail, size_t n)
{
    answer *a = ud;
    note(a, err, detail);
    a->n = n;
}

/* An AccessTokenInfo with this id (read-only scope), expiring at exp_ms (0: never). */
static json_t *
info_of(const char *id, uint64_t exp_ms)
{
    json_t *j = json_pack("{s:s,s:{s:[s]}}", "id", id, "scope", "ops", "read");
    if (exp_ms) {
        char ts[40];
        wr_clock_format_rfc3339(exp_ms, ts);
        json_object_set_new(j, "expires_at", json_string(ts));
    }
    return j;
}

/* Starts an issue by the root token; the answer lands in *a. */
static void
issue_start(fx *f, const char *id, uint64_t exp_ms, answer *a)
{
    json_t *info = info_of(id, exp_ms);
    wr_auth_issue_async(f->auth, wr_auth_root(f->auth), info, on_issued, a);
    json_decref(info);
}

/* Issues and waits for the answer, which must be a success; the secret lands in out. */
static void
issue(fx *f, const char *id, uint64_t exp_ms, char out[128])
{
    answer a = {0};
    issue_start(f, id, exp_ms, &a);
    ts_run_until(&f->env, &a.done);
    if (a.err != WR_OK)
        fail_msg("issue %s: %s", id, a.msg);
    snprintf(out, 128, "%s", a.secret);
}

static const wr_token *
lookup(fx *f, const char *secret)
{
    char h[160];
    snprintf(h, sizeof(h), "Bearer %.127s", secret); /* secrets are 43 characters */
    return wr_auth_verify(f->auth, h);
}

static size_t
listed(fx *f)
{
    json_t *l = wr_auth_list(f->auth, wr_auth_root(f->auth), NULL, NULL, 0);
    size_t n = json_array_size(json_object_get(l, "access_tokens"));
    json_decref(l);
    return n;
}

/* ---- tests --------------------------------------------------------------------------------- */

/* An issued token: nothing usable until its record is durable, and its id is taken meanwhile. */
static void
test_issue_usable_once_durable(void **state)
{
    fx *f = *state;
    int commits = atomic_load(&hk.commits);
    answer a = {0};
    hold_arm();
    issue_start(f, "t1", 0, &a);
    assert_false(a.done); /* written by the commit thread, not here */
    hold_wait();          /* … which holds it, unwritten */
    assert_false(wr_auth_token_live(f->auth, "t1"));
    assert_int_equal(wr_auth_count_prefix(f->auth, "t"), 0);
    assert_int_equal(listed(f), 0);

    /* in flight: a second issue of the id is refused like an existing one, at once */
    answer dup = {0};
    issue_start(f, "t1", 0, &dup);
    assert_true(dup.done);
    assert_int_equal(dup.err, WR_ERR_RESOURCE_ALREADY_EXISTS);

    assert_false(a.done);
    hold_release();
    ts_run_until(&f->env, &a.done);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.err, WR_OK);
    assert_int_equal(atomic_load(&hk.commits), commits + 1);
    const wr_token *t = lookup(f, a.secret);
    assert_non_null(t);
    assert_string_equal(t->id, "t1");
    assert_true(wr_auth_token_live(f->auth, "t1"));
    assert_int_equal(listed(f), 1);

    /* durable: still taken */
    answer dup2 = {0};
    issue_start(f, "t1", 0, &dup2);
    assert_true(dup2.done);
    assert_int_equal(dup2.err, WR_ERR_RESOURCE_ALREADY_EXISTS);

    /* and it survives a restart */
    restart(f);
    t = lookup(f, a.secret);
    assert_non_null(t);
    assert_string_equal(t->id, "t1");
}

/* A revocation covers issues in flight (a key rotated while a token for the old one is being
 * minted): by prefix and by id, the issue is answered 409 (retry), the token is never usable,
 * and its record is gone after a restart. */
static void
test_revoke_covers_issues_in_flight(void **state)
{
    fx *f = *state;
    answer a = {0}, b = {0}, other = {0};
    hold_arm();
    issue_start(f, "rot-1", 0, &a);
    hold_wait();
    issue_start(f, "rot-2", 0, &b);
    issue_start(f, "keep-1", 0, &other);
    answer rp = {0}, rv = {0}, again = {0};
    wr_auth_revoke_prefix_async(f->auth, "rot-1", on_count, &rp);
    wr_auth_revoke_async(f->auth, "rot-2", on_done, &rv);
    wr_auth_revoke_async(f->auth, "rot-2", on_done, &again); /* already revoked */
    assert_true(again.done);
    assert_int_equal(again.err, WR_ERR_ACCESS_TOKEN_NOT_FOUND);
    assert_false(a.done || b.done || rp.done || rv.done);
    hold_release();
    ts_run_until(&f->env, &a.done);
    ts_run_until(&f->env, &b.done);
    ts_run_until(&f->env, &other.done);
    ts_run_until(&f->env, &rp.done);
    ts_run_until(&f->env, &rv.done);
    assert_int_equal(a.err, WR_ERR_TRANSACTION_CONFLICT);
    assert_int_equal(b.err, WR_ERR_TRANSACTION_CONFLICT);
    assert_int_equal(other.err, WR_OK);
    assert_int_equal(rp.err, WR_OK);
    assert_int_equal(rp.n, 1);
    assert_int_equal(rv.err, WR_OK);
    assert_false(wr_auth_token_live(f->auth, "rot-1"));
    assert_false(wr_auth_token_live(f->auth, "rot-2"));
    assert_true(wr_auth_token_live(f->auth, "keep-1"));
    restart(f);
    assert_false(wr_auth_token_live(f->auth, "rot-1"));
    assert_false(wr_auth_token_live(f->auth, "rot-2"));
    assert_true(wr_auth_token_live(f->auth, "keep-1"));
}

/* A revocation: refused from the call on, answered once the delete is durable, and kept. */
static void
test_revoke_before_durable(void **state)
{
    fx *f = *state;
    char s1[128], s2[128];
    issue(f, "r1", 0, s1);
    issue(f, "r2", 0, s2);
    int commits = atomic_load(&hk.commits);
    answer rv = {0};
    hold_arm();
    wr_auth_revoke_async(f->auth, "r1", on_done, &rv);
    assert_false(rv.done);
    hold_wait();
    assert_null(lookup(f, s1)); /* the delete is not durable yet, the token is refused already */
    assert_false(wr_auth_token_live(f->auth, "r1"));
    assert_non_null(lookup(f, s2));
    answer again = {0};
    wr_auth_revoke_async(f->auth, "r1", on_done, &again);
    assert_true(again.done);
    assert_int_equal(again.err, WR_ERR_ACCESS_TOKEN_NOT_FOUND);
    hold_release();
    ts_run_until(&f->env, &rv.done);
    assert_int_equal(rv.calls, 1);
    assert_int_equal(rv.err, WR_OK);
    assert_int_equal(atomic_load(&hk.commits), commits + 1);

    restart(f);
    assert_null(lookup(f, s1));
    assert_non_null(lookup(f, s2));
}

/*
 * A failed sync: the issue gets STORAGE and adds nothing; the store refuses writes from then
 * on, answered at once; a revocation refused that way stays in effect in memory, and a restart
 * brings the token back (its delete was never written).
 */
static void
test_failed_sync(void **state)
{
    fx *f = *state;
    char s0[128];
    issue(f, "f0", 0, s0);
    atomic_store(&f->env.fail_countdown, 1); /* the next sync fails */
    answer a = {0};
    issue_start(f, "f1", 0, &a);
    assert_false(a.done);
    ts_run_until(&f->env, &a.done);
    assert_int_equal(a.err, WR_ERR_STORAGE);
    assert_false(wr_auth_token_live(f->auth, "f1"));
    assert_int_equal(wr_auth_count_prefix(f->auth, "f1"), 0);
    assert_true(wr_store_failed(f->env.s));

    /* the store has failed: answered before the call returns, without a sync */
    int commits = atomic_load(&hk.commits);
    answer b = {0};
    issue_start(f, "f1", 0, &b); /* the id is free again */
    assert_true(b.done);
    assert_int_equal(b.err, WR_ERR_STORAGE);
    answer rv = {0};
    wr_auth_revoke_async(f->auth, "f0", on_done, &rv);
    assert_true(rv.done);
    assert_int_equal(rv.err, WR_ERR_STORAGE);
    assert_null(lookup(f, s0)); /* fail closed */
    assert_int_equal(atomic_load(&hk.commits), commits);

    restart(f);
    assert_false(wr_auth_token_live(f->auth, "f1"));
    assert_non_null(lookup(f, s0)); /* its delete was not written */
}

/* A prefix revocation and a collection of N tokens: each one synced write, by the commit thread,
 * and durable. */
static void
test_prefix_writes_once(void **state)
{
    fx *f = *state;
    enum { N = 20 };
    char s[N][128], keep[128], exp[N / 2][128];
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof(id), "grp-%02d", i);
        issue(f, id, 0, s[i]);
    }
    issue(f, "other", 0, keep);
    for (int i = 0; i < N / 2; i++) {
        char id[32];
        snprintf(id, sizeof(id), "exp-%02d", i);
        issue(f, id, T0 + 1000, exp[i]);
    }
    issue(f, "exp-live", 0, keep);

    int commits = atomic_load(&hk.commits);
    answer rp = {0};
    wr_auth_revoke_prefix_async(f->auth, "grp-", on_count, &rp);
    assert_false(rp.done);
    assert_int_equal(wr_auth_count_prefix(f->auth, "grp-"), 0); /* at once */
    ts_run_until(&f->env, &rp.done);
    assert_int_equal(rp.err, WR_OK);
    assert_int_equal(rp.n, N);
    assert_int_equal(atomic_load(&hk.commits), commits + 1);
    for (int i = 0; i < N; i++)
        assert_null(lookup(f, s[i]));

    /* a prefix that matches nothing, and the empty prefix: answered at once, no write */
    commits = atomic_load(&hk.commits);
    answer none = {0}, empty = {0};
    wr_auth_revoke_prefix_async(f->auth, "grp-", on_count, &none);
    wr_auth_revoke_prefix_async(f->auth, "", on_count, &empty);
    assert_true(none.done && empty.done);
    assert_int_equal(none.n + empty.n, 0);

    /* collection: the expired ones only, at most `max` per call, one write each */
    wr_clock_advance_ms(2000);
    answer g1 = {0}, g2 = {0};
    wr_auth_gc_async(f->auth, "exp-", 6, on_count, &g1);
    ts_run_until(&f->env, &g1.done);
    assert_int_equal(g1.err, WR_OK);
    assert_int_equal(g1.n, 6);
    assert_int_equal(atomic_load(&hk.commits), commits + 1);
    wr_auth_gc_async(f->auth, "", 100, on_count, &g2);
    ts_run_until(&f->env, &g2.done);
    assert_int_equal(g2.n, N / 2 - 6);
    assert_int_equal(atomic_load(&hk.commits), commits + 2);
    assert_int_equal(wr_auth_count_prefix(f->auth, "exp-"), 1); /* exp-live */

    restart(f);
    assert_int_equal(wr_auth_count_prefix(f->auth, "grp-"), 0);
    assert_int_equal(wr_auth_count_prefix(f->auth, "exp-"), 1);
    assert_true(wr_auth_token_live(f->auth, "other"));
}

/* Bad input: the same codes as before, answered before the call returns, nothing written. */
static void
test_bad_input(void **state)
{
    fx *f = *state;
    char s[128];
    issue(f, "taken", 0, s);
    char long_id[WR_TOKEN_ID_MAX + 2];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    char past[40];
    wr_clock_format_rfc3339(T0 - 1000, past);
    struct {
        const char *name;
        json_t *info;
        wr_err want;
    } rows[] = {
        {"not an object", json_string("x"), WR_ERR_BAD_JSON},
        {"no id", json_pack("{s:{s:[s]}}", "scope", "ops", "read"), WR_ERR_BAD_JSON},
        {"empty id", info_of("", 0), WR_ERR_BAD_JSON},
        {"id of 97 bytes", info_of(long_id, 0), WR_ERR_BAD_JSON},
        {"expiry in the past",
         json_pack("{s:s,s:s,s:{s:[s]}}", "id", "p", "expires_at", past, "scope", "ops", "read"),
         WR_ERR_INVALID},
        {"expiry not RFC 3339",
         json_pack("{s:s,s:s,s:{s:[s]}}", "id", "p", "expires_at", "soon", "scope", "ops", "read"),
         WR_ERR_BAD_JSON},
        {"no operation", json_pack("{s:s,s:{}}", "id", "p", "scope"), WR_ERR_INVALID},
        {"root id", info_of("root", 0), WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"existing id", info_of("taken", 0), WR_ERR_RESOURCE_ALREADY_EXISTS},
    };
    int commits = atomic_load(&hk.commits);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        answer a = {0};
        wr_auth_issue_async(f->auth, wr_auth_root(f->auth), rows[i].info, on_issued, &a);
        json_decref(rows[i].info);
        if (!a.done)
            fail_msg("row %s: not answered at once", rows[i].name);
        if (a.err != rows[i].want)
            fail_msg("row %s: %s, not %s", rows[i].name, wr_err_code(a.err),
                     wr_err_code(rows[i].want));
    }
    /* a narrower issuer may not issue a broader token */
    const wr_token *narrow = lookup(f, s);
    answer broad = {0};
    json_t *info = json_pack("{s:s,s:{s:[s]}}", "id", "b", "scope", "ops", "append");
    wr_auth_issue_async(f->auth, narrow, info, on_issued, &broad);
    json_decref(info);
    assert_true(broad.done);
    assert_int_equal(broad.err, WR_ERR_PERMISSION_DENIED);

    struct {
        const char *id;
        wr_err want;
    } revokes[] = {
        {"root", WR_ERR_INVALID},
        {"unknown", WR_ERR_ACCESS_TOKEN_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof(revokes) / sizeof(revokes[0]); i++) {
        answer a = {0};
        wr_auth_revoke_async(f->auth, revokes[i].id, on_done, &a);
        assert_true(a.done);
        assert_int_equal(a.err, revokes[i].want);
    }
    assert_int_equal(atomic_load(&hk.commits), commits);
    assert_int_equal(listed(f), 1);
    assert_non_null(lookup(f, s));
}

/* The registry freed with an issue in flight: the answer still comes (from the store) and the
 * token, durable, is there after the registry is opened again. */
static void
test_free_with_write_in_flight(void **state)
{
    fx *f = *state;
    answer a = {0};
    hold_arm();
    issue_start(f, "late", 0, &a);
    hold_wait();
    wr_auth_free(f->auth);
    f->auth = NULL;
    hold_release();
    ts_run_until(&f->env, &a.done);
    assert_int_equal(a.err, WR_OK);
    open_auth(f);
    assert_non_null(lookup(f, a.secret));
}

WR_TEST_MAIN(cmocka_unit_test_setup_teardown(test_issue_usable_once_durable, setup, teardown),
             cmocka_unit_test_setup_teardown(test_revoke_before_durable, setup, teardown),
             cmocka_unit_test_setup_teardown(test_revoke_covers_issues_in_flight, setup, teardown),
             cmocka_unit_test_setup_teardown(test_failed_sync, setup, teardown),
             cmocka_unit_test_setup_teardown(test_prefix_writes_once, setup, teardown),
             cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
             cmocka_unit_test_setup_teardown(test_free_with_write_in_flight, setup, teardown))
