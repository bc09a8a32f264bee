/*
 * test_lifecycle_delete.c — stream and basin deletion finishing in the background (name reuse,
 * 409 for appends racing a deletion, a 10,000-stream basin deleted across a restart), and
 * delete-on-empty with its live protection: holds (readers, appenders, long-polls), persisted
 * pins, and deadlines that survive restarts and move when the last hold or pin goes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/keys.h"
#include "store/store_int.h"
#include "support/store_support.h"
#include "util/clock.h"
#include "util/mem.h"

#define T0 1700000000000ull
#define B "life-basin"

static const ts_fixture fx = {.basin = B, .fake_now_ms = T0};

/* Stream DELETE finishes in the background: 409 meanwhile, then 404, and the name is free. */
static void
test_stream_delete_and_reuse(void **state)
{
    ts_env *e = *state;
    ts_stream(e, B, "s", NULL);
    ts_append_n(e, B, "s", "old", 5);
    wr_error err;
    assert_int_equal(wr_store_stream_delete(e->s, B, "s", &err), WR_OK);
    assert_int_equal(ts_stream_get(e, B, "s"), WR_ERR_STREAM_DELETION_PENDING);
    assert_int_equal(ts_append_n(e, B, "s", "x", 1).err, WR_ERR_STREAM_DELETION_PENDING);
    assert_int_equal(wr_store_stream_create(e->s, B, "s", NULL, NULL, NULL, NULL, &err),
                     WR_ERR_STREAM_DELETION_PENDING);
    wr_stream_list l;
    assert_int_equal(wr_store_stream_list(e->s, B, NULL, NULL, 0, &l, &err), WR_OK);
    assert_int_equal(l.n, 1);
    assert_true(l.items[0].deleted);
    wr_stream_list_fini(&l);

    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "s"), WR_ERR_STREAM_NOT_FOUND);
    assert_int_equal(ts_stats(e).streams_deleted, 1);
    assert_int_equal(wr_store_stream_list(e->s, B, NULL, NULL, 0, &l, &err), WR_OK);
    assert_int_equal(l.n, 0);
    wr_stream_list_fini(&l);
    wr_pos tail;
    assert_int_equal(wr_store_check_tail(e->s, B, "s", &tail, &err), WR_ERR_STREAM_NOT_FOUND);

    /* Re-created: a new, empty stream. */
    ts_stream(e, B, "s", NULL);
    assert_int_equal(wr_store_check_tail(e->s, B, "s", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 0);
    assert_int_equal(ts_append_n(e, B, "s", "new", 2).start.seq, 0);
    char *all = ts_read_all_bodies(e, B, "s");
    assert_string_equal(all, "new0|new1");
    free(all);
    /* Ids are never reused, also across a restart after the highest id was deleted. */
    stream_state *st = wr_store__stream_cached(e->s, B, "s");
    uint64_t id = st->id;
    assert_int_equal(wr_store_stream_delete(e->s, B, "s", &err), WR_OK);
    ts_maintain(e, false);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    ts_stream(e, B, "s", NULL);
    ts_append_n(e, B, "s", "x", 1);
    st = wr_store__stream_cached(e->s, B, "s");
    assert_true(st->id > id);
    all = ts_read_all_bodies(e, B, "s");
    assert_string_equal(all, "x0");
    free(all);
}

/* An append racing a deletion: acknowledged if sequenced before it, 409 after; never dropped. */
static void
test_append_during_deletion(void **state)
{
    ts_env *e = *state;
    ts_stream(e, B, "r", NULL);
    wr_append_record rec = ts_rec("first");
    wr_append_input in = {.records = &rec, .n_records = 1};
    ts_append_wait a1, a2;
    ts_append_start(e, B, "r", &in, &a1); /* sequenced, with the commit thread */
    wr_error err;
    assert_int_equal(wr_store_stream_delete(e->s, B, "r", &err), WR_OK);
    ts_append_start(e, B, "r", &in, &a2);
    ts_maintain(e, false);
    ts_run_until(e, &a1.done);
    ts_run_until(e, &a2.done);
    assert_int_equal(a1.res.err, WR_OK);
    assert_int_equal(a2.res.err, WR_ERR_STREAM_DELETION_PENDING);
    /* The deletion finishes once nothing is in flight. */
    for (int i = 0; i < 50 && ts_stream_get(e, B, "r") != WR_ERR_STREAM_NOT_FOUND; i++)
        ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "r"), WR_ERR_STREAM_NOT_FOUND);
    /* After cleanup an append is a 404, not a silent write. */
    assert_int_equal(ts_append(e, B, "r", &in).err, WR_ERR_STREAM_NOT_FOUND);
}

static wr_stream_config
doe_cfg(uint64_t min_age, uint64_t retention)
{
    wr_stream_config c = {0};
    c.retention = WR_RETENTION_AGE;
    c.retention_age_secs = retention;
    c.has_doe = true;
    c.doe_min_age_secs = min_age;
    return c;
}

/* Delete-on-empty deletes an idle empty stream, not one that retains records. */
static void
test_doe_idle_and_nonempty(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = doe_cfg(60, 3600);
    ts_stream(e, B, "idle", &c);
    ts_stream(e, B, "busy", &c);
    ts_append_n(e, B, "busy", "r", 1);
    wr_clock_advance_ms(59000);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "idle"), WR_OK);
    wr_clock_advance_ms(1001);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "idle"), WR_ERR_STREAM_NOT_FOUND); /* deleted, cleaned */
    assert_int_equal(ts_stream_get(e, B, "busy"), WR_OK); /* its record is retained */
    assert_int_equal(ts_stats(e).doe_deleted, 1);
    /* Once its record expires (retention 1 h) it is empty and long idle: deleted. */
    wr_clock_advance_ms(3600 * 1000);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "busy"), WR_ERR_STREAM_NOT_FOUND);
    /* A trimmed-empty stream counts as empty too. */
    ts_stream(e, B, "trimmed", &c);
    ts_append_n(e, B, "trimmed", "r", 3);
    assert_int_equal(ts_trim(e, B, "trimmed", 100).err, WR_OK);
    wr_clock_advance_ms(30000);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "trimmed"), WR_OK); /* the append was 30 s ago */
    wr_clock_advance_ms(31000);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "trimmed"), WR_ERR_STREAM_NOT_FOUND);
}

/* A hold (reader, appender, long-poll) protects the stream; the deadline moves at release. */
static void
test_doe_hold(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = doe_cfg(60, 3600);
    ts_stream(e, B, "held", &c);
    wr_store_hold(e->s, B, "held"); /* e.g. an SSE reader */
    wr_store_hold(e->s, B, "held"); /* and an append session */
    assert_int_equal(wr_store_hold_count(e->s, B, "held"), 2);
    wr_clock_advance_ms(10 * 60000);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "held"), WR_OK);
    wr_store_release(e->s, B, "held");
    wr_clock_advance_ms(10 * 60000);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "held"), WR_OK); /* one hold left */
    wr_store_release(e->s, B, "held");                    /* deadline: now + 60 s */
    assert_int_equal(wr_store_hold_count(e->s, B, "held"), 0);
    wr_clock_advance_ms(59000);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "held"), WR_OK);
    wr_clock_advance_ms(1001);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "held"), WR_ERR_STREAM_NOT_FOUND);
    /* A hold taken before the stream exists (a read session with auto-create) works too. */
    wr_store_hold(e->s, B, "later");
    ts_stream(e, B, "later", &c);
    wr_clock_advance_ms(120000);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "later"), WR_OK);
    wr_store_release(e->s, B, "later");
}

/* The deadline bump at the last release is an unsynced write: when it fails the hold is released
 * anyway, and the store refuses further writes, so no pass deletes the stream early. */
static void
test_doe_release_write_fails(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = doe_cfg(60, 3600);
    ts_stream(e, B, "held", &c);
    wr_store_hold(e->s, B, "held");
    wr_clock_advance_ms(2 * 3600 * 1000); /* the creation's deadline is long past */
    atomic_store(&e->fail_unsynced, true);
    wr_store_release(e->s, B, "held");
    atomic_store(&e->fail_unsynced, false);
    assert_int_equal(wr_store_hold_count(e->s, B, "held"), 0);
    assert_true(wr_store_failed(e->s));
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "held"), WR_OK);
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK); /* recovery clears the failed state */
    assert_false(wr_store_failed(e->s));
}

/* Pins protect like holds, survive restarts, and are counted. Retention still trims a pinned
 * stream's records. */
static void
test_doe_pin_restart(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = doe_cfg(60, 3600);
    ts_stream(e, B, "pinned", &c);
    ts_append_n(e, B, "pinned", "r", 2);
    wr_error err;
    assert_int_equal(wr_store_pin(e->s, B, "pinned", &err), WR_OK);
    assert_int_equal(wr_store_pin(e->s, B, "pinned", &err), WR_OK);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    uint64_t n = 0;
    assert_int_equal(wr_store_pin_count(e->s, B, "pinned", &n, &err), WR_OK);
    assert_int_equal(n, 2);
    wr_clock_advance_ms(2 * 3600 * 1000); /* records expired, deadline long past */
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "pinned"), WR_OK);
    wr_read_req q = {.start_kind = WR_READ_SEQ, .may_follow = false};
    wr_read_result *r = ts_read(e, B, "pinned", &q);
    assert_int_equal(r->err, WR_ERR_RANGE_NOT_SATISFIABLE); /* records gone, stream kept */
    wr_read_result_free(r);
    assert_int_equal(wr_store_unpin(e->s, B, "pinned", &err), WR_OK);
    wr_clock_advance_ms(120000);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "pinned"), WR_OK);           /* still one pin */
    assert_int_equal(wr_store_unpin(e->s, B, "pinned", &err), WR_OK); /* deadline: now + 60 s */
    assert_int_equal(wr_store_unpin(e->s, B, "pinned", &err), WR_ERR_INVALID);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    wr_clock_advance_ms(59000);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "pinned"), WR_OK);
    wr_clock_advance_ms(1001);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "pinned"), WR_ERR_STREAM_NOT_FOUND);
}

/* The persisted deadline survives a restart (neither forgotten nor reset). */
static void
test_doe_deadline_restart(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = doe_cfg(60, 3600);
    ts_stream(e, B, "d", &c); /* deadline T0+60 s */
    wr_clock_advance_ms(30000);
    /* A trim of everything: the stream is empty, and the append moved the deadline to T0+90 s. */
    assert_int_equal(ts_trim(e, B, "d", UINT64_MAX).err, WR_OK);
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    wr_clock_advance_ms(55000); /* T0+85 s */
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "d"), WR_OK);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    wr_clock_advance_ms(5001);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "d"), WR_ERR_STREAM_NOT_FOUND);
}

/* Writes n stream metas straight into RocksDB in one batch (the 10k-stream test does not need
 * 10k synced creates). */
static void
bulk_streams(ts_env *e, const char *basin, unsigned n)
{
    wr_stream_config def = {0}, res;
    wr_basin_config bc = {0};
    wr_stream_config_resolve(&def, &bc, &res);
    json_t *cj = wr_stream_config_to_json(&res);
    char *cfg = json_dumps(cj, JSON_COMPACT);
    json_decref(cj);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    wr_buf k = {0}, v = {0};
    for (unsigned i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "stream-%05u", i);
        uint64_t id = e->s->next_stream_id++;
        wr_key_stream_meta(&k, basin, strlen(basin), name, strlen(name));
        wr_buf_reset(&v);
        wr_buf_printf(&v,
                      "{\"id\":%llu,\"config\":%s,\"cipher\":null,\"created_at\":%llu,"
                      "\"deleted_at\":null,\"request_token\":null}",
                      (unsigned long long)id, cfg, (unsigned long long)T0);
        rocksdb_writebatch_put(wb, k.data, k.len, v.data, v.len);
        uint8_t kid[WR_KEY_ID_LEN];
        wr_key_stream_id(kid, WR_KEY_STREAM_ID, id);
        rocksdb_writebatch_put(wb, (char *)kid, sizeof(kid), k.data + 1, k.len - 1);
    }
    wr_error err;
    assert_int_equal(wr_store__write(e->s, wb, DB_WRITE_META, &err), WR_OK);
    rocksdb_writebatch_destroy(wb);
    wr_buf_fini(&k);
    wr_buf_fini(&v);
    free(cfg);
}

/* Stream metas of the basin on disk (iterated directly: 10,000 list items are slow under ASan). */
static size_t
count_streams(ts_env *e, const char *basin)
{
    wr_buf lo = {0}, hi = {0};
    wr_key_stream_meta_prefix(&lo, basin, strlen(basin));
    wr_buf_append(&hi, lo.data, lo.len);
    hi.data[hi.len - 1] = 1;
    size_t n = ts_count_keys(e, lo.data, lo.len, hi.data, hi.len);
    wr_buf_fini(&lo);
    wr_buf_fini(&hi);
    return n;
}

static void
on_follow(void *ud, const wr_follow_event *ev)
{
    if (ev->kind == WR_FOLLOW_CLOSED)
        *(wr_err *)ud = ev->err;
}

static void
on_pass_answered(void *ud)
{
    *(bool *)ud = true;
}

/* A basin with 10,000 streams is deleted in pages, across a restart in the middle. */
static void
test_basin_delete_10k_restart(void **state)
{
    ts_env *e = *state;
    const char *bn = "big-basin";
    ts_basin(e, bn, false, false);
    bulk_streams(e, bn, 10000);
    ts_append_n(e, bn, "stream-00007", "r", 3);
    ts_append_n(e, bn, "stream-09999", "r", 3);
    assert_int_equal(count_streams(e, bn), 10000);
    wr_err closed = WR_OK;
    wr_follow *f;
    wr_error err;
    assert_int_equal(wr_store_follow(e->s, bn, "stream-00007", 3, on_follow, &closed, &f, &err),
                     WR_OK);

    assert_int_equal(wr_store_basin_delete(e->s, bn, &err), WR_OK);
    assert_int_equal(closed, WR_ERR_STREAM_DELETION_PENDING); /* live reader told at once */
    assert_int_equal(ts_append_n(e, bn, "stream-09999", "x", 1).err,
                     WR_ERR_STREAM_DELETION_PENDING);
    assert_int_equal(ts_append_n(e, bn, "stream-05000", "x", 1).err,
                     WR_ERR_STREAM_DELETION_PENDING); /* not cached before */
    assert_int_equal(wr_store_basin_create(e->s, bn, NULL, NULL, NULL, NULL, &err),
                     WR_ERR_BASIN_DELETION_PENDING);
    assert_int_equal(wr_store_stream_create(e->s, bn, "fresh", NULL, NULL, NULL, NULL, &err),
                     WR_ERR_BASIN_DELETION_PENDING);
    wr_store_unfollow(f);

    /* A DELETE starts no pass (the deletion stays observable until the next tick): start one
     * without waiting for the timer, and stop it after 3 pages by closing the store (which
     * answers the waiter). */
    bool pass_answered = false;
    wr_store_maintain_now(e->s, false, on_pass_answered, &pass_answered);
    while (ts_stats(e).basin_pages < 3)
        uv_run(&e->loop, UV_RUN_ONCE);
    assert_false(pass_answered);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_true(pass_answered); /* by the close, before the pass finished */
    size_t left = count_streams(e, bn);
    printf("basin deletion: %zu of 10000 streams left after the restart\n", left);
    assert_true(left < 10000 && left > 0);
    wr_basin_info bi;
    assert_int_equal(wr_store_basin_get(e->s, bn, NULL, &bi, &err), WR_OK);
    assert_true(bi.deleted);
    assert_int_equal(ts_append_n(e, bn, "stream-09999", "x", 1).err,
                     WR_ERR_STREAM_DELETION_PENDING);

    ts_maintain(e, false);
    assert_int_equal(wr_store_basin_get(e->s, bn, NULL, NULL, &err), WR_ERR_BASIN_NOT_FOUND);
    assert_int_equal(count_streams(e, bn), 0);
    assert_true(ts_stats(e).basin_pages <= 1 + left / 1000);
    /* Nothing of the basin is left in any family but other basins' keys. */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_int_equal(wr_store_basin_create(e->s, bn, NULL, NULL, NULL, NULL, &err), WR_OK);
    ts_stream(e, bn, "stream-09999", NULL);
    wr_pos tail;
    assert_int_equal(wr_store_check_tail(e->s, bn, "stream-09999", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_stream_delete_and_reuse, &fx),  TS_TEST(test_append_during_deletion, &fx),
        TS_TEST(test_doe_idle_and_nonempty, &fx),    TS_TEST(test_doe_hold, &fx),
        TS_TEST(test_doe_pin_restart, &fx),          TS_TEST(test_doe_deadline_restart, &fx),
        TS_TEST(test_basin_delete_10k_restart, &fx), TS_TEST(test_doe_release_write_fails, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
