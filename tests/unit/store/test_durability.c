/*
 * test_durability.c — group commit (many concurrent appends, far fewer syncs), an injected
 * fsync failure puts the store in the failed state (appends and metadata writes refuse with
 * STORAGE, pipelined appends behind the failure fail too, reads keep working, a restart
 * recovers), and the in-flight byte budget queues appends instead of growing memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/store_support.h"

#define B "durable-basin"

static const ts_fixture fx = {.basin = B, .create_on_append = true, .create_on_read = true};

#define WRITERS 64
#define ROUNDS 10

typedef struct writer {
    ts_env *e;
    char stream[16];
    wr_append_record rec;
    wr_append_input in;
    int acked;
    int failed;
    wr_err last_err;
    int *total;
    uint64_t max_inflight;
    bool resubmit;
} writer;

static void
on_ack(void *ud, const wr_append_result *res)
{
    writer *w = ud;
    (*w->total)++;
    if (res->err) {
        w->failed++;
        w->last_err = res->err;
        return;
    }
    w->acked++;
    wr_store_stats st;
    wr_store_get_stats(w->e->s, &st);
    if (st.inflight_bytes > w->max_inflight)
        w->max_inflight = st.inflight_bytes;
    if (w->resubmit && w->acked < ROUNDS)
        wr_store_append(w->e->s, B, w->stream, &w->in, on_ack, w);
}

static void
init_writers(ts_env *e, writer *ws, int n, int *total, bool resubmit, bool same_stream)
{
    for (int i = 0; i < n; i++) {
        memset(&ws[i], 0, sizeof(ws[i]));
        ws[i].e = e;
        snprintf(ws[i].stream, sizeof(ws[i].stream), "w%d", same_stream ? 0 : i % 16);
        ws[i].rec = ts_rec("0123456789012345678901234567890123456789");
        ws[i].in = (wr_append_input){.records = &ws[i].rec, .n_records = 1};
        ws[i].total = total;
        ws[i].resubmit = resubmit;
    }
}

/* 64 writers, each with one single-record append in flight at a time, 10 rounds each. */
static void
test_group_commit(void **state)
{
    ts_env *e = *state;
    writer ws[WRITERS];
    int total = 0;
    init_writers(e, ws, WRITERS, &total, true, false);
    atomic_store(&e->syncs_commit, 0);
    for (int i = 0; i < WRITERS; i++)
        wr_store_append(e->s, B, ws[i].stream, &ws[i].in, on_ack, &ws[i]);
    while (total < WRITERS * ROUNDS)
        uv_run(&e->loop, UV_RUN_ONCE);
    int syncs = atomic_load(&e->syncs_commit);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(ws[i].acked, ROUNDS);
    wr_store_stats st;
    wr_store_get_stats(e->s, &st);
    assert_int_equal(st.commits, (uint64_t)syncs);
    assert_int_equal(st.appends, WRITERS * ROUNDS);
    printf("group commit: %d appends in %d syncs\n", WRITERS * ROUNDS, syncs);
    /* Each round of 64 appends should share a handful of syncs, never one each. */
    assert_true(syncs * 4 <= WRITERS * ROUNDS);
    /* Everything is there: 16 streams x 40 records. */
    wr_pos tail;
    wr_error err;
    for (int i = 0; i < 16; i++) {
        char name[8];
        snprintf(name, sizeof(name), "w%d", i);
        assert_int_equal(wr_store_check_tail(e->s, B, name, &tail, &err), WR_OK);
        assert_int_equal(tail.seq, WRITERS * ROUNDS / 16);
    }
}

static void
test_sync_failure(void **state)
{
    ts_env *e = *state;
    assert_int_equal(ts_append_n(e, B, "f", "ok", 3).err, WR_OK);
    /* Pipelined appends; the first commit fails. */
    writer ws[10];
    int total = 0;
    init_writers(e, ws, 10, &total, false, true);
    atomic_store(&e->fail_countdown, 1);
    for (int i = 0; i < 10; i++)
        wr_store_append(e->s, B, "w0", &ws[i].in, on_ack, &ws[i]);
    while (total < 10)
        uv_run(&e->loop, UV_RUN_ONCE);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ws[i].failed, 1);
        assert_int_equal(ws[i].last_err, WR_ERR_STORAGE);
    }
    assert_true(wr_store_failed(e->s));
    /* Every later write refuses, appends and metadata alike. */
    assert_int_equal(ts_append_n(e, B, "f", "no", 1).err, WR_ERR_STORAGE);
    wr_error err;
    assert_int_equal(wr_store_basin_create(e->s, "another-basin", NULL, NULL, NULL, NULL, &err),
                     WR_ERR_STORAGE);
    assert_int_equal(wr_store_stream_delete(e->s, B, "f", &err), WR_ERR_STORAGE);
    /* Durable data stays readable. */
    char *all = ts_read_all_bodies(e, B, "f");
    assert_string_equal(all, "ok0|ok1|ok2");
    free(all);
    /* Restart recovers: writes work again, nothing of the failed batches is visible. */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_false(wr_store_failed(e->s));
    wr_pos tail;
    assert_int_equal(wr_store_check_tail(e->s, B, "w0", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 0);
    assert_int_equal(ts_append_n(e, B, "f", "again", 1).err, WR_OK);
    all = ts_read_all_bodies(e, B, "f");
    assert_string_equal(all, "ok0|ok1|ok2|again0");
    free(all);
}

static void
test_meta_sync_failure(void **state)
{
    ts_env *e = *state;
    wr_error err;
    atomic_store(&e->fail_countdown, 1);
    assert_int_equal(wr_store_basin_create(e->s, "failing-basin", NULL, NULL, NULL, NULL, &err),
                     WR_ERR_STORAGE);
    assert_true(wr_store_failed(e->s));
    assert_int_equal(ts_append_n(e, B, "x", "no", 1).err, WR_ERR_STORAGE);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_int_equal(wr_store_basin_get(e->s, "failing-basin", NULL, NULL, &err),
                     WR_ERR_BASIN_NOT_FOUND);
}

/* A tiny budget: appends queue, stay in order, and the bytes in flight stay bounded. */
static void
test_inflight_budget(void **state)
{
    ts_env *e = *state;
    wr_error err;
    e->opts.inflight_bytes = 300; /* about three 40-byte records */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    writer ws[40];
    int total = 0;
    init_writers(e, ws, 40, &total, false, true);
    for (int i = 0; i < 40; i++)
        wr_store_append(e->s, B, "w0", &ws[i].in, on_ack, &ws[i]);
    wr_store_stats st;
    wr_store_get_stats(e->s, &st);
    assert_true(st.waiting_appends > 0);
    assert_true(st.inflight_bytes <= 300);
    while (total < 40)
        uv_run(&e->loop, UV_RUN_ONCE);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(ws[i].acked, 1);
        assert_true(ws[i].max_inflight <= 300);
    }
    wr_store_get_stats(e->s, &st);
    assert_int_equal(st.waiting_appends, 0);
    assert_int_equal(st.inflight_bytes, 0);
    wr_pos tail;
    assert_int_equal(wr_store_check_tail(e->s, B, "w0", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 40);
    /* A single append larger than the budget still goes through alone. */
    static char big[2000];
    memset(big, 'b', sizeof(big) - 1);
    wr_append_record r = ts_rec(big);
    wr_append_input in = {.records = &r, .n_records = 1};
    assert_int_equal(ts_append(e, B, "w0", &in).err, WR_OK);
}

/* Appends waiting for budget when the store closes fail with UNAVAILABLE; in-flight ones are
 * committed and acknowledged. */
static void
test_close_with_pending(void **state)
{
    ts_env *e = *state;
    wr_error err;
    e->opts.inflight_bytes = 100;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    writer ws[10];
    int total = 0;
    init_writers(e, ws, 10, &total, false, true);
    for (int i = 0; i < 10; i++)
        wr_store_append(e->s, B, "w0", &ws[i].in, on_ack, &ws[i]);
    ts_close(e);
    assert_int_equal(total, 10);
    int acked = 0;
    for (int i = 0; i < 10; i++) {
        if (ws[i].acked)
            acked++;
        else
            assert_int_equal(ws[i].last_err, WR_ERR_UNAVAILABLE);
    }
    assert_true(acked >= 1);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    wr_pos tail;
    assert_int_equal(wr_store_check_tail(e->s, B, "w0", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, (uint64_t)acked);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_group_commit, &fx),       TS_TEST(test_sync_failure, &fx),
        TS_TEST(test_meta_sync_failure, &fx),  TS_TEST(test_inflight_budget, &fx),
        TS_TEST(test_close_with_pending, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
