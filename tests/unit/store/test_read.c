/*
 * test_read.c — reads: the 416 rules of s2-api.md §3.6 as a table, start by seq_num /
 * timestamp / tail_offset, count/bytes/until limits without splitting records, auto-create on
 * read, the same answers from the in-memory cache and from RocksDB (after a restart), and
 * corruption: a bad batch reads as WR_ERR_STORAGE, a bad last batch or tail refuses to open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rocksdb/c.h>

#include "store/keys.h"
#include "support/store_support.h"
#include "util/buf.h"
#include "util/clock.h"

#define NOW 1755770000000ull
#define B "read-basin-1"

static const ts_fixture fx = {
    .basin = B, .create_on_append = true, .create_on_read = true, .fake_now_ms = NOW};

/* Stream "s": 4 batches of 3 records; batch k has timestamp NOW + 10k; bodies "k.i". */
static void
fill(ts_env *e)
{
    for (int k = 0; k < 4; k++) {
        wr_clock_set_fake(NOW + 10 * k); /* client timestamps are capped at arrival */
        char bodies[3][8];
        wr_append_record r[3];
        for (int i = 0; i < 3; i++) {
            snprintf(bodies[i], sizeof(bodies[i]), "%d.%d", k, i);
            r[i] = ts_rec_ts(bodies[i], NOW + 10 * k);
        }
        wr_append_input in = {.records = r, .n_records = 3};
        assert_int_equal(ts_append(e, B, "s", &in).err, WR_OK);
    }
}

typedef struct row {
    const char *what;
    wr_read_req q;
    wr_err err;
    uint64_t first_seq; /* when records are expected */
    size_t n;
    bool at_tail;
    bool until_reached;
} row;

#define SEQ(v) .start_kind = WR_READ_SEQ, .start_value = (v)
#define TS(v) .start_kind = WR_READ_TIMESTAMP, .start_value = (v)
#define OFF(v) .start_kind = WR_READ_TAIL_OFFSET, .start_value = (v)

static const row rows[] = {
    {"seq 0 all", {SEQ(0), .may_follow = true}, WR_OK, 0, 12, true, false},
    {"seq mid-batch", {SEQ(4), .may_follow = true}, WR_OK, 4, 8, true, false},
    {"seq count", {SEQ(4), .has_count = true, .count = 5}, WR_OK, 4, 5, false, false},
    {"count 0", {SEQ(4), .has_count = true, .count = 0}, WR_OK, 0, 0, false, false},
    {"bytes 0", {SEQ(4), .has_bytes = true, .bytes = 0}, WR_OK, 0, 0, false, false},
    /* each record is 8 + 3 = 11 metered bytes; 30 bytes fit 2 records, never split */
    {"bytes", {SEQ(1), .has_bytes = true, .bytes = 30}, WR_OK, 1, 2, false, false},
    {"bytes exact", {SEQ(1), .has_bytes = true, .bytes = 33}, WR_OK, 1, 3, false, false},
    {"tail offset 5", {OFF(5), .may_follow = true}, WR_OK, 7, 5, true, false},
    {"tail offset saturates", {OFF(100), .may_follow = true}, WR_OK, 0, 12, true, false},
    {"ts exact batch", {TS(NOW + 10), .may_follow = true}, WR_OK, 3, 9, true, false},
    {"ts between", {TS(NOW + 15), .may_follow = true}, WR_OK, 6, 6, true, false},
    {"ts zero", {TS(0), .has_count = true, .count = 1}, WR_OK, 0, 1, false, false},
    {"ts at last", {TS(NOW + 30), .has_count = true, .count = 10}, WR_OK, 9, 3, true, false},
    {"until", {SEQ(0), .has_until = true, .until_ms = NOW + 20}, WR_OK, 0, 6, false, true},
    {"until before start", {SEQ(9), .has_until = true, .until_ms = NOW}, WR_OK, 0, 0, false, true},
    {"ts >= until", {TS(NOW + 10), .has_until = true, .until_ms = NOW + 10}, WR_ERR_INVALID},
    /* 416 rules */
    {"seq past tail", {SEQ(13), .may_follow = true}, WR_ERR_RANGE_NOT_SATISFIABLE},
    {"seq past tail clamp no follow", {SEQ(13), .clamp = true}, WR_ERR_RANGE_NOT_SATISFIABLE},
    {"seq past tail clamp follow",
     {SEQ(13), .clamp = true, .may_follow = true},
     WR_OK,
     0,
     0,
     true,
     false},
    {"seq at tail no follow",
     {SEQ(12), .has_count = true, .count = 5},
     WR_ERR_RANGE_NOT_SATISFIABLE},
    {"seq at tail follow", {SEQ(12), .may_follow = true}, WR_OK, 0, 0, true, false},
    {"no start no follow", {.has_count = true, .count = 1}, WR_ERR_RANGE_NOT_SATISFIABLE},
    {"no start follow", {.may_follow = true}, WR_OK, 0, 0, true, false},
    {"ts past tail", {TS(NOW + 31), .may_follow = true}, WR_ERR_RANGE_NOT_SATISFIABLE},
    {"ts past tail clamp",
     {TS(NOW + 31), .clamp = true, .may_follow = true},
     WR_OK,
     0,
     0,
     true,
     false},
};

static void
check_rows(ts_env *e, const char *phase)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *w = &rows[i];
        wr_read_result *r = ts_read(e, B, "s", &w->q);
        if (r->err != w->err)
            fail_msg("%s row %zu (%s): err %d, want %d (%s)", phase, i, w->what, r->err, w->err,
                     r->error.msg);
        if (r->err == WR_ERR_RANGE_NOT_SATISFIABLE) {
            assert_int_equal(r->tail.seq, 12);
            assert_int_equal(r->tail.ts_ms, NOW + 30);
        }
        if (r->err == WR_OK) {
            if (r->n_records != w->n || r->at_tail != w->at_tail ||
                r->until_reached != w->until_reached)
                fail_msg("%s row %zu (%s): n=%zu at_tail=%d until=%d", phase, i, w->what,
                         r->n_records, r->at_tail, r->until_reached);
            for (size_t k = 0; k < r->n_records; k++) {
                uint64_t seq = w->first_seq + k;
                char body[8];
                snprintf(body, sizeof(body), "%d.%d", (int)(seq / 3), (int)(seq % 3));
                assert_int_equal(r->records[k].seq, seq);
                assert_int_equal(r->records[k].ts_ms, NOW + 10 * (seq / 3));
                assert_int_equal(r->records[k].body_len, strlen(body));
                assert_memory_equal(r->records[k].body, body, strlen(body));
            }
            if (r->n_records)
                assert_int_equal(r->next_seq, w->first_seq + w->n);
            assert_int_equal(r->tail.seq, 12);
        }
        wr_read_result_free(r);
    }
}

static void
test_read_rows_cache_and_disk(void **state)
{
    ts_env *e = *state;
    fill(e);
    check_rows(e, "cache");
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    check_rows(e, "disk");
    /* A tiny cache forces mixed cache/disk service; same answers. */
    e->opts.cache_bytes = 1;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    check_rows(e, "nocache");
}

static void
test_empty_stream_and_autocreate(void **state)
{
    ts_env *e = *state;
    ts_basin(e, "no-auto-read", false, false);
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 0};
    wr_read_result *r = ts_read(e, "no-auto-read", "x", &q);
    assert_int_equal(r->err, WR_ERR_STREAM_NOT_FOUND);
    wr_read_result_free(r);
    /* Auto-created by the read; an empty stream from seq 0 without follow is 416 {0,0}. */
    r = ts_read(e, B, "fresh", &q);
    assert_int_equal(r->err, WR_ERR_RANGE_NOT_SATISFIABLE);
    assert_int_equal(r->tail.seq, 0);
    assert_int_equal(r->tail.ts_ms, 0);
    wr_read_result_free(r);
    q.may_follow = true;
    r = ts_read(e, B, "fresh", &q);
    assert_int_equal(r->err, WR_OK);
    assert_int_equal(r->n_records, 0);
    assert_true(r->at_tail);
    wr_read_result_free(r);
    /* The 422 check for timestamp >= until runs before auto-create. */
    wr_read_req bad = {
        .start_kind = WR_READ_TIMESTAMP, .start_value = 5, .has_until = true, .until_ms = 5};
    r = ts_read(e, B, "never-created", &bad);
    assert_int_equal(r->err, WR_ERR_INVALID);
    wr_read_result_free(r);
    wr_error err;
    assert_int_equal(wr_store_stream_get(e->s, B, "never-created", NULL, NULL, &err),
                     WR_ERR_STREAM_NOT_FOUND);
    assert_int_equal(wr_store_stream_delete(e->s, B, "fresh", &err), WR_OK);
    r = ts_read(e, B, "fresh", &q);
    assert_int_equal(r->err, WR_ERR_STREAM_DELETION_PENDING);
    wr_read_result_free(r);
}

/* Direct RocksDB access to damage the data directory while the store is closed. */
static void
with_db(ts_env *e, void (*fn)(rocksdb_t *db, void *arg), void *arg)
{
    ts_close(e);
    rocksdb_options_t *o = rocksdb_options_create();
    char *err = NULL;
    rocksdb_t *db = rocksdb_open(o, e->dir, &err);
    assert_null(err);
    fn(db, arg);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
}

typedef struct flip_arg {
    uint64_t seq;
} flip_arg;

static void
flip_batch(rocksdb_t *db, void *arg)
{
    flip_arg *a = arg;
    uint8_t k[WR_KEY_BATCH_LEN];
    wr_key_batch(k, 1, a->seq); /* the first stream created gets id 1 */
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    char *err = NULL;
    size_t len;
    char *v = rocksdb_get(db, ro, (char *)k, sizeof(k), &len, &err);
    assert_non_null(v);
    v[len / 2] ^= 0x10;
    rocksdb_put(db, wo, (char *)k, sizeof(k), v, len, &err);
    assert_null(err);
    rocksdb_free(v);
    rocksdb_readoptions_destroy(ro);
    rocksdb_writeoptions_destroy(wo);
}

static void
bad_tail(rocksdb_t *db, void *arg)
{
    (void)arg;
    uint8_t k[WR_KEY_ID_LEN], v[WR_TAIL_VALUE_LEN];
    wr_key_stream_id(k, WR_KEY_STREAM_TAIL, 1);
    wr_tail_value(v, 13, NOW + 30);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    char *err = NULL;
    rocksdb_put(db, wo, (char *)k, sizeof(k), (char *)v, sizeof(v), &err);
    assert_null(err);
    rocksdb_writeoptions_destroy(wo);
}

static void
test_corruption(void **state)
{
    ts_env *e = *state;
    fill(e);
    flip_arg a = {3}; /* the second batch */
    with_db(e, flip_batch, &a);
    wr_error err;
    assert_int_equal(wr_store_open(&e->loop, &e->opts, &e->s, &err), WR_OK);
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 0, .may_follow = true};
    wr_read_result *r = ts_read(e, B, "s", &q);
    assert_int_equal(r->err, WR_ERR_STORAGE);
    assert_int_equal(r->n_records, 0); /* never garbage, never a partial answer */
    wr_read_result_free(r);
    q.start_value = 6; /* after the damage: fine */
    r = ts_read(e, B, "s", &q);
    assert_int_equal(r->err, WR_OK);
    assert_int_equal(r->n_records, 6);
    wr_read_result_free(r);
    /* Damage the last batch: open refuses (recovery verifies it). */
    a.seq = 9;
    with_db(e, flip_batch, &a);
    assert_int_equal(wr_store_open(&e->loop, &e->opts, &e->s, &err), WR_ERR_STORAGE);
    assert_null(e->s);
    assert_non_null(strstr(err.msg, "checksum"));
}

static void
test_tail_mismatch_refuses_open(void **state)
{
    ts_env *e = *state;
    fill(e);
    with_db(e, bad_tail, NULL);
    wr_error err;
    assert_int_equal(wr_store_open(&e->loop, &e->opts, &e->s, &err), WR_ERR_STORAGE);
    assert_non_null(strstr(err.msg, "disagrees"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_read_rows_cache_and_disk, &fx),
        TS_TEST(test_empty_stream_and_autocreate, &fx),
        TS_TEST(test_corruption, &fx),
        TS_TEST(test_tail_mismatch_refuses_open, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
