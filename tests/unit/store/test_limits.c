/*
 * test_limits.c — the stream limits of store.h (LIMITS): per basin and per group, through every
 * way a stream gets created (explicit create and ensure, auto-create on append, on read and on
 * check-tail); the answer (QUOTA_EXHAUSTED naming the limit, nothing created); counts rebuilt
 * after a restart; slots held by a deleted stream until its cleanup, freed after it, and all
 * of a basin's slots freed once the basin's deletion finishes. One test parks the maintenance
 * worker inside its deleting write to count a basin on both sides of that write.
 *
 * Groups here are "everything up to the first '/'" (the realtime layer's environments are
 * tested in tests/unit/realtime/test_naming_group.c).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "support/store_support.h"
#include "util/mem.h"

#define B "limits-basin"   /* no auto-create */
#define BA "limits-append" /* create_stream_on_append */
#define BR "limits-read"   /* create_stream_on_read */
#define BASIN_MAX 6
#define GROUP_MAX 3

static size_t
first_slash(void *ud, const char *basin, const char *stream)
{
    (void)ud;
    (void)basin;
    const char *p = strchr(stream, '/');
    return p ? (size_t)(p - stream) + 1 : 0;
}

/* Parks maintenance workers in their synced write while `armed` (see test_count_during_job). */
typedef struct gate {
    ts_env *env;
    wr_store_sync_hook inner;
    pthread_t loop_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool armed, parked, released;
} gate;

static gate g_gate;

static int
gated_hook(void *ud, wr_store_sync_kind kind)
{
    gate *g = ud;
    if (kind == WR_STORE_SYNC_META && !pthread_equal(pthread_self(), g->loop_thread)) {
        pthread_mutex_lock(&g->mu);
        if (g->armed) {
            g->armed = false;
            g->parked = true;
            pthread_cond_broadcast(&g->cv);
            while (!g->released)
                pthread_cond_wait(&g->cv, &g->mu);
        }
        pthread_mutex_unlock(&g->mu);
    }
    return g->inner(g->env, kind);
}

/* Before the open: the limits, the groups, and the gate around the support's sync hook. */
static void
limits(ts_env *e)
{
    memset(&g_gate, 0, sizeof(g_gate));
    g_gate.env = e;
    g_gate.inner = e->opts.sync_hook;
    g_gate.loop_thread = pthread_self();
    pthread_mutex_init(&g_gate.mu, NULL);
    pthread_cond_init(&g_gate.cv, NULL);
    e->opts.sync_hook = gated_hook;
    e->opts.sync_hook_ud = &g_gate;
    e->opts.max_streams_per_basin = BASIN_MAX;
    e->opts.max_streams_per_group = GROUP_MAX;
    e->opts.group_len = first_slash;
}

/* After it: a basin that creates streams on append and one that does on read. */
static void
more_basins(ts_env *e)
{
    ts_basin(e, BA, true, false);
    ts_basin(e, BR, false, true);
}

static const ts_fixture fx = {.basin = B, .tune = limits, .populate = more_basins};

static int
teardown(void **state)
{
    /* A failed assertion may have left a worker parked: let it go so the store can close. */
    pthread_mutex_lock(&g_gate.mu);
    g_gate.armed = false;
    g_gate.released = true;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
    ts_fixture_teardown(state);
    pthread_mutex_destroy(&g_gate.mu);
    pthread_cond_destroy(&g_gate.cv);
    return 0;
}

static wr_err
create(ts_env *e, const char *basin, const char *stream, wr_error *err)
{
    return wr_store_stream_create(e->s, basin, stream, NULL, NULL, NULL, NULL, err);
}

static void
create_ok(ts_env *e, const char *basin, const char *stream)
{
    wr_error err;
    wr_err rc = create(e, basin, stream, &err);
    if (rc)
        fail_msg("create %s/%s: %d %s", basin, stream, rc, err.msg);
}

/* The next create must be refused by the basin limit and leave nothing behind. */
static void
refused_by_basin(ts_env *e, const char *basin, const char *stream)
{
    wr_error err = {0};
    assert_int_equal(create(e, basin, stream, &err), WR_ERR_QUOTA_EXHAUSTED);
    char want[200];
    snprintf(want, sizeof(want),
             "basin `%s` holds the maximum of %d streams (--max-streams-per-basin)", basin,
             BASIN_MAX);
    assert_string_equal(err.msg, want);
    assert_int_equal(ts_stream_get(e, basin, stream), WR_ERR_STREAM_NOT_FOUND);
}

static void
test_basin_limit_explicit(void **state)
{
    ts_env *e = *state;
    char name[32];
    for (int i = 0; i < BASIN_MAX; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        create_ok(e, B, name);
    }
    refused_by_basin(e, B, "one-more");
    /* Ensure of a new stream is a create; of an existing one it is not. */
    wr_error err;
    assert_int_equal(wr_store_stream_ensure(e->s, B, "ensured", NULL, NULL, NULL, &err),
                     WR_ERR_QUOTA_EXHAUSTED);
    wr_provision prov;
    assert_int_equal(wr_store_stream_ensure(e->s, B, "s0", NULL, NULL, &prov, &err), WR_OK);
    assert_int_equal(prov, WR_PROVISION_NOOP);
    /* An existing name is still a conflict, not a quota error. */
    assert_int_equal(create(e, B, "s1", &err), WR_ERR_RESOURCE_ALREADY_EXISTS);
    /* Other basins have their own count. */
    create_ok(e, BA, "elsewhere");
    /* Still refused after a restart: the count is rebuilt from disk. */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    refused_by_basin(e, B, "after-restart");
    wr_stream_list l;
    assert_int_equal(wr_store_stream_list(e->s, B, NULL, NULL, 0, &l, &err), WR_OK);
    assert_int_equal(l.n, BASIN_MAX);
    wr_stream_list_fini(&l);
}

static void
test_group_limit_explicit(void **state)
{
    ts_env *e = *state;
    create_ok(e, B, "g1/a");
    create_ok(e, B, "g1/b");
    create_ok(e, B, "g1/c");
    wr_error err = {0};
    assert_int_equal(create(e, B, "g1/d", &err), WR_ERR_QUOTA_EXHAUSTED);
    assert_string_equal(err.msg, "stream group `g1/` of basin `" B
                                 "` holds the maximum of 3 streams (--max-streams-per-env)");
    assert_int_equal(ts_stream_get(e, B, "g1/d"), WR_ERR_STREAM_NOT_FOUND);
    assert_int_equal(create(e, B, "g1/deeper/still", &err), WR_ERR_QUOTA_EXHAUSTED);
    /* Another group, and names in no group, are not affected (up to the basin limit). */
    create_ok(e, B, "g2/a");
    create_ok(e, B, "nogroup");
    create_ok(e, B, "g1"); /* no '/': no group */
    refused_by_basin(e, B, "g3/a");
    /* The same group name in another basin is another group. */
    create_ok(e, BA, "g1/a");
}

static void
test_autocreate_on_append(void **state)
{
    ts_env *e = *state;
    for (int i = 0; i < GROUP_MAX; i++) {
        char name[16];
        snprintf(name, sizeof(name), "g/%d", i);
        assert_int_equal(ts_append_n(e, BA, name, "x", 1).err, WR_OK);
    }
    wr_append_result r = ts_append_n(e, BA, "g/over", "x", 1);
    assert_int_equal(r.err, WR_ERR_QUOTA_EXHAUSTED);
    assert_non_null(strstr(r.error.msg, "--max-streams-per-env"));
    assert_int_equal(ts_stream_get(e, BA, "g/over"), WR_ERR_STREAM_NOT_FOUND);
    /* Existing streams of the full group still take appends. */
    r = ts_append_n(e, BA, "g/0", "y", 2);
    assert_int_equal(r.err, WR_OK);
    assert_int_equal(r.start.seq, 1);
    /* The basin limit through auto-create, counting the explicit creates too. */
    create_ok(e, BA, "explicit");
    assert_int_equal(ts_append_n(e, BA, "a", "x", 1).err, WR_OK);
    assert_int_equal(ts_append_n(e, BA, "b", "x", 1).err, WR_OK);
    r = ts_append_n(e, BA, "c", "x", 1);
    assert_int_equal(r.err, WR_ERR_QUOTA_EXHAUSTED);
    assert_non_null(strstr(r.error.msg, "--max-streams-per-basin"));
    assert_int_equal(ts_stream_get(e, BA, "c"), WR_ERR_STREAM_NOT_FOUND);
}

static void
test_autocreate_on_read(void **state)
{
    ts_env *e = *state;
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 0, .may_follow = true};
    wr_pos tail;
    wr_error err = {0};
    for (int i = 0; i < GROUP_MAX; i++) {
        char name[16];
        snprintf(name, sizeof(name), "g/%d", i);
        wr_read_result *rr = ts_read(e, BR, name, &q);
        assert_int_equal(rr->err, WR_OK);
        wr_read_result_free(rr);
    }
    wr_read_result *rr = ts_read(e, BR, "g/over", &q);
    assert_int_equal(rr->err, WR_ERR_QUOTA_EXHAUSTED);
    assert_non_null(strstr(rr->error.msg, "--max-streams-per-env"));
    wr_read_result_free(rr);
    assert_int_equal(wr_store_check_tail(e->s, BR, "g/over", &tail, &err), WR_ERR_QUOTA_EXHAUSTED);
    assert_int_equal(ts_stream_get(e, BR, "g/over"), WR_ERR_STREAM_NOT_FOUND);
    /* Basin limit: 3 more through check-tail and read, then refused. */
    assert_int_equal(wr_store_check_tail(e->s, BR, "a", &tail, &err), WR_OK);
    assert_int_equal(wr_store_check_tail(e->s, BR, "b", &tail, &err), WR_OK);
    rr = ts_read(e, BR, "c", &q);
    assert_int_equal(rr->err, WR_OK);
    wr_read_result_free(rr);
    rr = ts_read(e, BR, "d", &q);
    assert_int_equal(rr->err, WR_ERR_QUOTA_EXHAUSTED);
    assert_non_null(strstr(rr->error.msg, "--max-streams-per-basin"));
    wr_read_result_free(rr);
    assert_int_equal(wr_store_check_tail(e->s, BR, "d", &tail, &err), WR_ERR_QUOTA_EXHAUSTED);
    assert_int_equal(ts_stream_get(e, BR, "d"), WR_ERR_STREAM_NOT_FOUND);
}

/* A deleted stream holds its slot until its cleanup; then the slot is free, also across a
 * restart. */
static void
test_deletion_frees_slots(void **state)
{
    ts_env *e = *state;
    wr_error err;
    create_ok(e, B, "g/a");
    create_ok(e, B, "g/b");
    create_ok(e, B, "g/c");
    create_ok(e, B, "x");
    create_ok(e, B, "y");
    create_ok(e, B, "z");
    refused_by_basin(e, B, "w");
    assert_int_equal(wr_store_stream_delete(e->s, B, "x", &err), WR_OK);
    assert_int_equal(wr_store_stream_delete(e->s, B, "g/a", &err), WR_OK);
    refused_by_basin(e, B, "w"); /* marked deleted, not cleaned up yet: still counted */
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "x"), WR_ERR_STREAM_NOT_FOUND);
    create_ok(e, B, "g/d"); /* the group slot of g/a */
    create_ok(e, B, "w");   /* the basin slot of x */
    refused_by_basin(e, B, "v");
    /* Exact after a restart too, and after deletions that happened before the count was made. */
    assert_int_equal(wr_store_stream_delete(e->s, B, "y", &err), WR_OK);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "y"), WR_ERR_STREAM_NOT_FOUND);
    create_ok(e, B, "v");
    refused_by_basin(e, B, "u");
    assert_int_equal(create(e, B, "g/e", &err), WR_ERR_QUOTA_EXHAUSTED);
}

/* Once a basin's deletion finishes, a basin of the same name starts from zero. */
static void
test_basin_deletion_drops_counts(void **state)
{
    ts_env *e = *state;
    wr_error err;
    char name[16];
    for (int i = 0; i < BASIN_MAX; i++) {
        snprintf(name, sizeof(name), "g%d/s", i);
        create_ok(e, B, name);
    }
    refused_by_basin(e, B, "more");
    assert_int_equal(wr_store_basin_delete(e->s, B, &err), WR_OK);
    ts_maintain(e, false);
    wr_basin_info bi;
    assert_int_equal(wr_store_basin_get(e->s, B, NULL, &bi, &err), WR_ERR_BASIN_NOT_FOUND);
    ts_basin(e, B, false, false);
    for (int i = 0; i < BASIN_MAX; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        create_ok(e, B, name);
    }
    refused_by_basin(e, B, "more");
}

/* Runs the loop without blocking in it (a parked job never completes, so a blocking iteration
 * could wait forever) until a worker is parked in the gate. */
static void
run_until_parked(ts_env *e)
{
    pthread_mutex_lock(&g_gate.mu);
    while (!g_gate.parked) {
        pthread_mutex_unlock(&g_gate.mu);
        uv_run(&e->loop, UV_RUN_NOWAIT);
        pthread_mutex_lock(&g_gate.mu);
        if (!g_gate.parked) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 1000000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&g_gate.cv, &g_gate.mu, &until);
        }
    }
    pthread_mutex_unlock(&g_gate.mu);
}

static void
release_worker(void)
{
    pthread_mutex_lock(&g_gate.mu);
    g_gate.released = true;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
}

static void
on_pass(void *ud)
{
    *(bool *)ud = true;
}

/*
 * The count of a basin is first made while a maintenance job that removes one of its streams is
 * on the worker pool, once before and once after that job's write: either way the count is
 * exact when the job's result reaches the loop.
 */
static void
test_count_during_job(void **state)
{
    ts_env *e = *state;
    wr_error err;
    for (int after_write = 0; after_write < 2; after_write++) {
        const char *basin = after_write ? BR : BA;
        create_ok(e, basin, "a");
        create_ok(e, basin, "b");
        create_ok(e, basin, "c");
        create_ok(e, basin, "d");
        create_ok(e, basin, "e");
        create_ok(e, basin, "f");
        assert_int_equal(wr_store_stream_delete(e->s, basin, "f", &err), WR_OK);
        /* Forget every count: the next create counts the basin from disk. */
        assert_int_equal(ts_reopen(e, &err), WR_OK);
        pthread_mutex_lock(&g_gate.mu);
        g_gate.armed = true;
        g_gate.parked = g_gate.released = false;
        pthread_mutex_unlock(&g_gate.mu);
        bool done = false;
        wr_store_maintain_now(e->s, false, on_pass, &done);
        run_until_parked(e); /* the pass's DELETE job, before its write */
        if (!after_write) {
            refused_by_basin(e, basin, "g"); /* counted before the write: f still there */
            release_worker();
        } else {
            release_worker();
            /* Without running the loop (so the job's result stays unseen), wait for the write. */
            for (int i = 0; ts_stream_get(e, basin, "f") != WR_ERR_STREAM_NOT_FOUND; i++) {
                assert_true(i < 10000);
                nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
            }
            create_ok(e, basin, "g"); /* counted after the write: f is gone */
        }
        ts_run_until(e, &done);
        if (!after_write)
            create_ok(e, basin, "g");
        refused_by_basin(e, basin, "h");
    }
}

/* The shared fixture, with the teardown above (it releases the gate first). */
#define LIMITS_TEST(fn)                                                                            \
    cmocka_unit_test_prestate_setup_teardown(fn, ts_fixture_setup, teardown, (void *)&fx)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        LIMITS_TEST(test_basin_limit_explicit), LIMITS_TEST(test_group_limit_explicit),
        LIMITS_TEST(test_autocreate_on_append), LIMITS_TEST(test_autocreate_on_read),
        LIMITS_TEST(test_deletion_frees_slots), LIMITS_TEST(test_basin_deletion_drops_counts),
        LIMITS_TEST(test_count_during_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
