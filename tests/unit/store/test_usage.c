/*
 * test_usage.c — the usage series (store.h, Usage): counts at ack and delivery, queries that see
 * pending and persisted counts exactly once, per-stream / prefix / basin / account scopes, the
 * minute → hour → day rollups, persistence across a restart (the close flushes), exact storage
 * from the TS_INDEX ledgers (blob-sized batches included, reclaimed ones excluded), the bounded
 * table's unattributed entry, operations, active basins, and counts and ledgers that survive
 * the stream cache evicting their streams.
 * Time is faked (wr_clock_set_fake) so bucket boundaries are chosen, never waited for.
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
#include "util/buf.h"
#include "util/clock.h"

#define B "usage-basin-1"
#define T0 1800000000000ull /* 2027-01-15T08:00:00Z, on an hour boundary */

static const ts_fixture fx = {
    .basin = B, .create_on_append = true, .create_on_read = true, .fake_now_ms = T0};

/* n records with body "abc": 8 + 3 = 11 metered bytes each. */
static void
append_abc(ts_env *e, const char *stream, uint32_t n)
{
    wr_append_record r[8];
    for (uint32_t i = 0; i < n; i++)
        r[i] = ts_rec("abc");
    wr_append_input in = {.records = r, .n_records = n};
    assert_int_equal(ts_append(e, B, stream, &in).err, WR_OK);
}

typedef struct qwait {
    wr_usage_result *res;
    bool done;
} qwait;

static void
on_result(void *ud, wr_usage_result *res)
{
    qwait *w = ud;
    w->res = res;
    w->done = true;
}

static wr_usage_result *
query(ts_env *e, const wr_usage_query *q)
{
    qwait w = {0};
    wr_store_usage_query(e->s, q, on_result, &w);
    ts_run_until(e, &w.done);
    assert_int_equal(w.res->err, WR_OK);
    return w.res;
}

/* Totals of the counters over the last hour, by basin (stream NULL), prefix or exact stream. */
static wr_usage_bucket
totals(ts_env *e, const char *basin, const char *stream, bool exact)
{
    uint64_t now = wr_clock_now_ms() / 1000;
    wr_usage_query q = {.basin = basin,
                        .stream = stream,
                        .exact = exact,
                        .interval = WR_USAGE_MINUTE,
                        .start_s = now - 3600,
                        .end_s = now,
                        .want_counters = true};
    wr_usage_result *r = query(e, &q);
    wr_usage_bucket t = r->total;
    wr_usage_result_free(r);
    return t;
}

static void
flushed(void *ud)
{
    *(bool *)ud = true;
}

static void
flush(ts_env *e)
{
    bool done = false;
    wr_store_usage_flush_now(e->s, flushed, &done);
    ts_run_until(e, &done);
}

static void
sample(ts_env *e)
{
    bool done = false;
    wr_store_usage_sample_now(e->s, flushed, &done);
    ts_run_until(e, &done);
}

typedef struct follow_ctx {
    uint64_t records;
    bool got;
} follow_ctx;

static void
on_follow(void *ud, const wr_follow_event *ev)
{
    follow_ctx *c = ud;
    if (ev->kind == WR_FOLLOW_BATCH)
        c->records += ev->batch->n_records - ev->first;
    c->got = true;
}

static void
test_counters_scopes(void **state)
{
    ts_env *e = *state;
    append_abc(e, "org/a/s1", 3);
    append_abc(e, "org/a/s2", 2);
    append_abc(e, "org/b/s1", 4);

    wr_usage_bucket u = totals(e, B, "org/a/", false);
    assert_int_equal(u.c[WR_USAGE_APPEND_RECORDS], 5);
    assert_int_equal(u.c[WR_USAGE_APPEND_BYTES_EXPRESS], 55);
    assert_int_equal(u.c[WR_USAGE_APPEND_OPS_EXPRESS], 2);
    assert_int_equal(u.c[WR_USAGE_READ_RECORDS], 0);

    /* A unary read (one operation) of org/a/s1 from seq 1: 2 records. A failed read counts
     * nothing. */
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 1, .unary_op = true};
    wr_read_result *res = ts_read(e, B, "org/a/s1", &q);
    assert_int_equal(res->n_records, 2);
    wr_read_result_free(res);
    q.start_value = 100;
    res = ts_read(e, B, "org/a/s2", &q);
    assert_int_equal(res->err, WR_ERR_RANGE_NOT_SATISFIABLE);
    wr_read_result_free(res);
    /* A follower of org/b/s1 from seq 1 gets the cached batch minus its first record. */
    follow_ctx c = {0};
    wr_follow *f = NULL;
    wr_error err = {0};
    assert_int_equal(wr_store_follow(e->s, B, "org/b/s1", 1, on_follow, &c, &f, &err), WR_OK);
    ts_run_until(e, &c.got);
    wr_store_unfollow(f);
    wr_store_usage_read_op(e->s, B, "org/b/s1");

    u = totals(e, B, "org/a/", false);
    assert_int_equal(u.c[WR_USAGE_READ_RECORDS], 2);
    assert_int_equal(u.c[WR_USAGE_READ_BYTES], 22);
    assert_int_equal(u.c[WR_USAGE_READ_OPS_UNARY], 1);
    u = totals(e, B, "org/b/s1", true);
    assert_int_equal(u.c[WR_USAGE_APPEND_RECORDS], 4);
    assert_int_equal(u.c[WR_USAGE_READ_RECORDS], 3);
    assert_int_equal(u.c[WR_USAGE_READ_BYTES], 33);
    assert_int_equal(u.c[WR_USAGE_READ_OPS_STREAMING], 1);
    u = totals(e, B, NULL, false); /* the basin rollup */
    assert_int_equal(u.c[WR_USAGE_APPEND_RECORDS], 9);
    assert_int_equal(u.c[WR_USAGE_READ_RECORDS], 5);
    assert_int_equal(totals(e, B, "org/c/", false).c[WR_USAGE_APPEND_RECORDS], 0);
    assert_int_equal(totals(e, B, "org/a/s", true).c[WR_USAGE_APPEND_RECORDS], 0);
    assert_int_equal(totals(e, "no-such-basin", NULL, false).c[WR_USAGE_APPEND_RECORDS], 0);
}

/* Pending and flushed counts add up exactly once, and survive a restart (close flushes). */
static void
test_flush_and_restart(void **state)
{
    ts_env *e = *state;
    append_abc(e, "s", 2);
    flush(e);
    append_abc(e, "s", 3);
    assert_int_equal(totals(e, B, "s", true).c[WR_USAGE_APPEND_RECORDS], 5);
    flush(e);
    assert_int_equal(totals(e, B, "s", true).c[WR_USAGE_APPEND_RECORDS], 5);
    append_abc(e, "s", 1); /* pending only: the close writes it */
    wr_error err = {0};
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    wr_usage_bucket u = totals(e, B, "s", true);
    assert_int_equal(u.c[WR_USAGE_APPEND_RECORDS], 6);
    assert_int_equal(u.c[WR_USAGE_APPEND_BYTES_EXPRESS], 66);
    assert_int_equal(totals(e, B, NULL, false).c[WR_USAGE_APPEND_RECORDS], 6);
}

/* Minute rows roll up into hours and days; buckets are dense and aligned. */
static void
test_rollups(void **state)
{
    ts_env *e = *state;
    append_abc(e, "s", 1);               /* 08:00 */
    wr_clock_advance_ms(30 * 60 * 1000); /* 08:30 */
    append_abc(e, "s", 2);
    flush(e);
    wr_clock_advance_ms(60 * 60 * 1000); /* 09:30 */
    append_abc(e, "s", 4);
    uint64_t now = wr_clock_now_ms() / 1000, t0 = T0 / 1000;
    wr_usage_query q = {.basin = B,
                        .stream = "s",
                        .exact = true,
                        .interval = WR_USAGE_HOUR,
                        .start_s = t0,
                        .end_s = now,
                        .want_counters = true};
    wr_usage_result *r = query(e, &q);
    assert_int_equal(r->n_buckets, 2);
    assert_int_equal(r->buckets[0].ts_s, t0);
    assert_int_equal(r->buckets[0].c[WR_USAGE_APPEND_RECORDS], 3);
    assert_int_equal(r->buckets[1].ts_s, t0 + 3600);
    assert_int_equal(r->buckets[1].c[WR_USAGE_APPEND_RECORDS], 4);
    wr_usage_result_free(r);
    q.interval = WR_USAGE_MINUTE;
    r = query(e, &q);
    assert_int_equal(r->n_buckets, 91);
    assert_int_equal(r->buckets[30].c[WR_USAGE_APPEND_RECORDS], 2);
    assert_int_equal(r->total.c[WR_USAGE_APPEND_RECORDS], 7);
    wr_usage_result_free(r);
    q.interval = WR_USAGE_DAY;
    r = query(e, &q);
    assert_int_equal(r->n_buckets, 1);
    assert_int_equal(r->buckets[0].ts_s, t0 / 86400 * 86400);
    assert_int_equal(r->buckets[0].c[WR_USAGE_APPEND_RECORDS], 7);
    wr_usage_result_free(r);
}

static uint64_t
storage_now(ts_env *e, const char *stream, bool exact, uint64_t *stored)
{
    uint64_t now = wr_clock_now_ms() / 1000;
    wr_usage_query q = {.basin = B,
                        .stream = stream,
                        .exact = exact,
                        .interval = WR_USAGE_HOUR,
                        .start_s = now,
                        .end_s = now,
                        .want_storage = true};
    wr_usage_result *r = query(e, &q);
    assert_int_equal(r->n_buckets, 1);
    uint64_t m = r->total.storage_metered;
    if (stored)
        *stored = r->total.storage_stored;
    wr_usage_result_free(r);
    return m;
}

/* Storage is exact: batches of 4 KiB and more live in blob files and count all the same; a
 * sample persists it; reclaimed batches leave it. */
static void
test_storage_exact(void **state)
{
    ts_env *e = *state;
    static char big[6000];
    memset(big, 'x', sizeof(big) - 1);
    for (int k = 0; k < 5; k++) {
        wr_append_record r[1] = {ts_rec(big)};
        wr_append_input in = {.records = r, .n_records = 1};
        assert_int_equal(ts_append(e, B, "blob", &in).err, WR_OK);
    }
    append_abc(e, "small", 3);
    uint64_t big_metered = 5 * (8 + sizeof(big) - 1), stored = 0;
    assert_int_equal(storage_now(e, "blob", true, &stored), big_metered);
    assert_true(stored > big_metered); /* batch encoding on top of the metered bytes */
    assert_int_equal(storage_now(e, "small", true, NULL), 33);
    assert_int_equal(storage_now(e, NULL, false, NULL), big_metered + 33);
    ts_maintain(e, true); /* flushed to SST and blob files: the same numbers */
    assert_int_equal(storage_now(e, "blob", true, NULL), big_metered);

    /* A sample persists it; an hour later the gauge carries it (and measures live now). */
    sample(e);
    uint64_t t0 = T0 / 1000;
    wr_clock_advance_ms(2 * 3600 * 1000);
    wr_usage_query q = {.basin = B,
                        .interval = WR_USAGE_HOUR,
                        .start_s = t0,
                        .end_s = wr_clock_now_ms() / 1000,
                        .want_storage = true};
    wr_usage_result *r = query(e, &q);
    assert_int_equal(r->n_buckets, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(r->buckets[i].storage_metered, big_metered + 33);
    wr_usage_result_free(r);

    /* Trim the blob stream below its last record: the reclaimed batches leave the storage. */
    uint8_t seq[8];
    wr_put_be64(seq, 4);
    wr_header h = {(const uint8_t *)"", 0, (const uint8_t *)"trim", 4};
    wr_append_record tr = {.n_headers = 1, .headers = &h, .body = seq, .body_len = 8};
    wr_append_input in = {.records = &tr, .n_records = 1};
    assert_int_equal(ts_append(e, B, "blob", &in).err, WR_OK);
    ts_maintain(e, true);
    uint64_t trim_metered = 8 + 2 + 4 + 8;
    assert_int_equal(storage_now(e, "blob", true, NULL), (8 + sizeof(big) - 1) + trim_metered);
}

/* Appends committed together are stored as one value (store.c run_value): the storage ledger
 * counts that value's length, one header and CRC for the run, not one per append. */
static void
test_storage_exact_runs(void **state)
{
    ts_env *e = *state;
    enum { N = 6 };
    wr_append_record r[N];
    wr_append_input in[N];
    ts_append_wait w[N];
    for (int i = 0; i < N; i++) {
        r[i] = ts_rec("abc");
        in[i] = (wr_append_input){.records = &r[i], .n_records = 1};
        ts_append_start(e, B, "run", &in[i], &w[i]);
    }
    for (int i = 0; i < N; i++) {
        ts_run_until(e, &w[i].done);
        assert_int_equal(w[i].res.err, WR_OK);
    }
    /* One value: a 48-byte header, N records of 8+8+4+4+3 bytes, a 4-byte CRC. */
    uint64_t stored = 0, want = 48 + N * 27 + 4;
    assert_int_equal(storage_now(e, "run", true, &stored), N * 11);
    assert_int_equal(stored, want);
    append_abc(e, "run", 1); /* a value of its own, after the run */
    assert_int_equal(storage_now(e, "run", true, &stored), (N + 1) * 11);
    assert_int_equal(stored, want + 48 + 27 + 4);
    ts_maintain(e, true);
    assert_int_equal(storage_now(e, "run", true, &stored), (N + 1) * 11);
    assert_int_equal(stored, want + 48 + 27 + 4);
}

/* A full table sends new streams' counts to the basin's unattributed entry while a job runs:
 * the basin total stays exact, the stream's own figure misses them. */
static void
test_bounded_table(void **state)
{
    ts_env *e = *state;
    ts_close(e);
    e->opts.usage_max_entries = 1;
    wr_error err = {0};
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    append_abc(e, "first", 1);
    bool done = false;
    /* The sample job runs until after_work reaches the loop, which cannot happen before this
     * test returns to the loop: the count below meets a full table with a job running. */
    wr_store_usage_sample_now(e->s, flushed, &done);
    wr_store_usage_read_op(e->s, B, "second");
    ts_run_until(e, &done);
    wr_store_stats st;
    wr_store_get_stats(e->s, &st);
    assert_int_equal(st.usage_unattributed, 1);
    wr_usage_bucket u = totals(e, B, NULL, false);
    assert_int_equal(u.c[WR_USAGE_APPEND_RECORDS], 1);
    assert_int_equal(u.c[WR_USAGE_READ_OPS_STREAMING], 1);
    assert_int_equal(totals(e, B, "first", true).c[WR_USAGE_APPEND_RECORDS], 1);
    assert_int_equal(totals(e, B, "second", true).c[WR_USAGE_READ_OPS_STREAMING], 0);

    /* With no job running, a full table is flushed at once and the stream keeps its own entry. */
    uint64_t before = st.usage_unattributed;
    append_abc(e, "third", 1);
    append_abc(e, "fourth", 1);
    wr_store_get_stats(e->s, &st);
    assert_int_equal(st.usage_unattributed, before);
    assert_int_equal(totals(e, B, "fourth", true).c[WR_USAGE_APPEND_RECORDS], 1);
    assert_int_equal(totals(e, B, NULL, false).c[WR_USAGE_APPEND_RECORDS], 3);
}

static void
test_ops_and_active(void **state)
{
    ts_env *e = *state;
    wr_store_usage_op(e->s, B, wr_usage_op_code("list-streams"));
    wr_store_usage_op(e->s, B, wr_usage_op_code("list-streams"));
    wr_store_usage_op(e->s, NULL, wr_usage_op_code("list-basins"));
    assert_int_equal(wr_usage_op_code("append"), 0);
    assert_string_equal(wr_usage_op_name(wr_usage_op_code("check-tail")), "check-tail");
    flush(e);
    wr_store_usage_op(e->s, B, wr_usage_op_code("list-streams"));
    uint64_t now = wr_clock_now_ms() / 1000;
    wr_usage_query q = {
        .basin = B, .interval = WR_USAGE_HOUR, .start_s = now - 60, .end_s = now, .want_ops = true};
    wr_usage_result *r = query(e, &q);
    assert_int_equal(r->total.ops[wr_usage_op_code("list-streams")], 3);
    assert_int_equal(r->total.ops[wr_usage_op_code("list-basins")], 0);
    wr_usage_result_free(r);
    q.basin = NULL;
    r = query(e, &q);
    assert_int_equal(r->total.ops[wr_usage_op_code("list-basins")], 1);
    wr_usage_result_free(r);

    /* Active basins: those with a stream in the range (live now, or sampled). */
    ts_basin(e, "usage-basin-2", true, true);
    append_abc(e, "s", 1);
    wr_usage_query a = {
        .interval = WR_USAGE_HOUR, .start_s = now - 60, .end_s = now, .want_active_basins = true};
    r = query(e, &a);
    assert_int_equal(r->n_basins, 1);
    assert_string_equal(r->basins[0], B);
    wr_usage_result_free(r);
    sample(e);
    wr_clock_advance_ms(5 * 3600 * 1000); /* later: the samples still say it was active then */
    r = query(e, &a);
    assert_int_equal(r->n_basins, 1);
    wr_usage_result_free(r);
}

/* Evicting streams from the stream cache loses no count, and the storage ledger resumes from
 * disk when an evicted stream is loaded again. */
static void
test_eviction(void **state)
{
    ts_env *e = *state;
    ts_close(e);
    e->opts.stream_cache_entries = 1;
    wr_error err = {0};
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    const char *names[] = {"e1", "e2", "e3"};
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < 3; i++)
            append_abc(e, names[i], (uint32_t)(i + 1));
    wr_store_stats st;
    wr_store_get_stats(e->s, &st);
    assert_true(st.evicted_streams >= 6);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(totals(e, B, names[i], true).c[WR_USAGE_APPEND_RECORDS], 4 * (i + 1));
        assert_int_equal(storage_now(e, names[i], true, NULL), 4 * (i + 1) * 11);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_counters_scopes, &fx),
        TS_TEST(test_flush_and_restart, &fx),
        TS_TEST(test_rollups, &fx),
        TS_TEST(test_storage_exact, &fx),
        TS_TEST(test_storage_exact_runs, &fx),
        TS_TEST(test_bounded_table, &fx),
        TS_TEST(test_ops_and_active, &fx),
        TS_TEST(test_eviction, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
