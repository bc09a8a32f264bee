/*
 * test_usage.c — per-stream usage counters (wr_store_usage): appends counted at ack, reads
 * counted when a read result or a followed batch is delivered, sums by stream prefix, stored
 * bytes from RocksDB's approximate sizes after a flush, and counters reset by a restart.
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

#define B "usage-basin-1"

static const ts_fixture fx = {.basin = B, .create_on_append = true, .create_on_read = true};

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

static wr_store_usage_totals
usage(ts_env *e, const char *basin, const char *prefix)
{
    wr_store_usage_totals u;
    wr_error err = {0};
    assert_int_equal(wr_store_usage(e->s, basin, prefix, &u, &err), WR_OK);
    return u;
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
test_counters(void **state)
{
    ts_env *e = *state;
    append_abc(e, "org/a/s1", 3);
    append_abc(e, "org/a/s2", 2);
    append_abc(e, "org/b/s1", 4);

    wr_store_usage_totals u = usage(e, B, "org/a/");
    assert_int_equal(u.appended_records, 5);
    assert_int_equal(u.appended_bytes, 55);
    assert_int_equal(u.read_records, 0);
    assert_int_equal(u.n_streams, 2);

    /* A unary read of org/a/s1 from seq 1: 2 records. */
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 1};
    wr_read_result *res = ts_read(e, B, "org/a/s1", &q);
    assert_int_equal(res->err, WR_OK);
    assert_int_equal(res->n_records, 2);
    wr_read_result_free(res);
    /* A failed read counts nothing. */
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
    assert_int_equal(c.records, 3);
    wr_store_unfollow(f);

    u = usage(e, B, "org/a/");
    assert_int_equal(u.appended_records, 5);
    assert_int_equal(u.read_records, 2);
    assert_int_equal(u.read_bytes, 22);
    u = usage(e, B, "org/b/");
    assert_int_equal(u.appended_records, 4);
    assert_int_equal(u.appended_bytes, 44);
    assert_int_equal(u.read_records, 3);
    assert_int_equal(u.read_bytes, 33);
    u = usage(e, B, NULL);
    assert_int_equal(u.n_streams, 3);
    assert_int_equal(u.appended_records, 9);
    assert_int_equal(u.read_records, 5);
    u = usage(e, B, "org/c/");
    assert_int_equal(u.n_streams, 0);
    assert_int_equal(u.appended_records, 0);
    u = usage(e, "no-such-basin", NULL);
    assert_int_equal(u.n_streams, 0);

    /* Stored bytes appear once the batches are in SST files and span more than one block (the
     * estimate comes from index offsets). Batches stay under min_blob_size (4 KiB): values in
     * blob files are not seen by rocksdb_approximate_sizes (see store.h). */
    static char big[3000];
    for (int k = 0; k < 64; k++) {
        for (size_t j = 0; j < sizeof(big) - 1; j++)
            big[j] = (char)('a' + (uint32_t)(j * 2654435761u + (uint32_t)k) % 26);
        big[sizeof(big) - 1] = 0;
        wr_append_record r[1] = {ts_rec(big)};
        wr_append_input in = {.records = r, .n_records = 1};
        assert_int_equal(ts_append(e, B, "org/a/big", &in).err, WR_OK);
    }
    ts_maintain(e, true);
    u = usage(e, B, "org/a/");
    assert_true(u.stored_bytes > 64 * 1024);
    assert_true(usage(e, B, "org/b/").stored_bytes < u.stored_bytes);
    uint64_t stored = u.stored_bytes;

    /* A restart resets the counters; stored bytes come from disk. */
    ts_close(e);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    u = usage(e, B, "org/a/");
    assert_int_equal(u.appended_records, 0);
    assert_int_equal(u.read_records, 0);
    assert_int_equal(u.n_streams, 3);
    assert_int_equal(u.stored_bytes, stored);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_counters, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
