/*
 * test_read_faults.c — a failed RocksDB read is an error, never "absent" or "the end of the
 * range" (issue #21, item 1). Faults come from wr_store_opts.read_hook (ts_fail_read): a point
 * lookup that fails, an iterator whose Seek or Next fails. Each case checks that the operation
 * stops with WR_ERR_STORAGE, writes nothing, and leaves the store in the failed state (writes
 * refused, reads going on) as a failed sync does; after a restart the data is as it was.
 *
 * The cases that matter most: a pin count that cannot be read is not 0 (no overwrite, no
 * delete-on-empty of a pinned stream), the stream-id high-water mark is never lowered, a basin
 * page whose scan fails never deletes the basin. Then one row per lookup and iterator loop of
 * src/store.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/keys.h"
#include "store/store_int.h"
#include "support/store_support.h"
#include "util/buf.h"
#include "util/clock.h"

#define T0 1700000000000ull
#define B "fault-basin"
#define DOOMED "doomed-basin"

static const ts_fixture fx = {
    .basin = B, .create_on_append = true, .create_on_read = true, .fake_now_ms = T0};

/* The id of a stream (loaded into the cache by a check-tail). */
static uint64_t
id_of(ts_env *e, const char *basin, const char *stream)
{
    wr_pos tail;
    wr_error err;
    wr_err rc = wr_store_check_tail(e->s, basin, stream, &tail, &err);
    if (rc)
        fail_msg("check_tail %s/%s: %s", basin, stream, err.msg);
    return wr_store__stream_cached(e->s, basin, stream)->id;
}

static uint64_t
pin_count(ts_env *e, const char *stream)
{
    uint64_t n = 0;
    wr_error err;
    assert_int_equal(wr_store_pin_count(e->s, B, stream, &n, &err), WR_OK);
    return n;
}

/* The raw value at key k (no hook, no cache): its length, or -1 when absent. */
static long
raw_get(ts_env *e, const void *k, size_t klen, uint64_t *out_u64)
{
    char *err = NULL;
    size_t vlen;
    char *v = rocksdb_get(e->s->db, e->s->ro, k, klen, &vlen, &err);
    assert_null(err);
    if (!v)
        return -1;
    if (out_u64 && vlen == 8)
        *out_u64 = wr_get_be64((const uint8_t *)v);
    rocksdb_free(v);
    return (long)vlen;
}

static void
reopen_clean(ts_env *e)
{
    ts_fail_read_off(e);
    wr_error err;
    wr_err rc = ts_reopen(e, &err);
    if (rc)
        fail_msg("reopen: %s", err.msg);
}

/*
 * NULL when the store is in the failed state as after a failed sync: failed, writes refused
 * (metadata and appends), reads going on (metadata, and records of stream "a" of B, which every
 * case has). Otherwise what is wrong.
 */
static const char *
failed_state_problem(ts_env *e)
{
    wr_error err;
    if (!wr_store_failed(e->s))
        return "the store is not in the failed state";
    if (wr_store_basin_create(e->s, "fresh-basin", NULL, NULL, NULL, NULL, &err) != WR_ERR_STORAGE)
        return "a metadata write was not refused";
    if (ts_append_n(e, B, "a", "late", 1).err != WR_ERR_STORAGE)
        return "an append was not refused";
    if (wr_store_basin_get(e->s, B, NULL, NULL, &err) != WR_OK)
        return "a metadata read failed";
    wr_read_req q = {.start_kind = WR_READ_SEQ, .has_count = true, .count = 10};
    wr_read_result *r = ts_read(e, B, "a", &q);
    bool ok = r->err == WR_OK && r->n_records == 3;
    wr_read_result_free(r);
    return ok ? NULL : "a read failed";
}

static void
assert_failed_state(ts_env *e)
{
    const char *p = failed_state_problem(e);
    if (p)
        fail_msg("%s", p);
}

/* ---------------------------------------------------------------------------------------- */
/* Pins, delete-on-empty, the id high-water mark, basin pages                                 */

/* A pin count that cannot be read is an error, not 0: pin does not overwrite 2 with 1, unpin
 * does not say "not pinned", the count is not reported as 0. */
static void
test_pin_count_read_error(void **state)
{
    ts_env *e = *state;
    wr_error err;
    ts_append_n(e, B, "a", "r", 3);
    ts_stream(e, B, "p", NULL);
    assert_int_equal(wr_store_pin(e->s, B, "p", &err), WR_OK);
    assert_int_equal(wr_store_pin(e->s, B, "p", &err), WR_OK);
    uint8_t k[WR_KEY_LC_ID_LEN];
    wr_key_lc_id(k, WR_LC_PIN, id_of(e, B, "p"));

    ts_fail_read(e, WR_STORE_READ_GET, k, sizeof(k), true, 0, 1);
    wr_err rc = wr_store_pin(e->s, B, "p", &err);
    assert_int_equal(ts_read_faults(e), 1);
    uint64_t on_disk = 0;
    raw_get(e, k, sizeof(k), &on_disk);
    assert_int_equal(on_disk, 2); /* not overwritten with 0 + 1 */
    assert_int_equal(rc, WR_ERR_STORAGE);
    assert_failed_state(e);
    reopen_clean(e);
    assert_int_equal(pin_count(e, "p"), 2);

    ts_fail_read(e, WR_STORE_READ_GET, k, sizeof(k), true, 0, 1);
    assert_int_equal(wr_store_unpin(e->s, B, "p", &err), WR_ERR_STORAGE);
    assert_failed_state(e);
    reopen_clean(e);
    assert_int_equal(pin_count(e, "p"), 2);

    uint64_t n = 99;
    ts_fail_read(e, WR_STORE_READ_GET, k, sizeof(k), true, 0, 1);
    assert_int_equal(wr_store_pin_count(e->s, B, "p", &n, &err), WR_ERR_STORAGE);
    assert_failed_state(e);
    reopen_clean(e);
    assert_int_equal(pin_count(e, "p"), 2);
}

/* Delete-on-empty never deletes a pinned stream because its pin count could not be read. */
static void
test_doe_pinned_read_error(void **state)
{
    ts_env *e = *state;
    wr_error err;
    ts_append_n(e, B, "a", "r", 3);
    wr_stream_config c = {.has_doe = true, .doe_min_age_secs = 60};
    ts_stream(e, B, "d", &c);
    assert_int_equal(wr_store_pin(e->s, B, "d", &err), WR_OK);
    uint8_t k[WR_KEY_LC_ID_LEN];
    wr_key_lc_id(k, WR_LC_PIN, id_of(e, B, "d"));
    wr_clock_advance_ms(10 * 60000); /* empty, and the deadline is long past */

    ts_fail_read(e, WR_STORE_READ_GET, k, sizeof(k), true, 0, INT_MAX);
    ts_maintain(e, false);
    assert_true(ts_read_faults(e) >= 1);
    assert_int_equal(ts_stream_get(e, B, "d"), WR_OK);
    assert_int_equal(ts_stats(e).doe_deleted, 0);
    assert_failed_state(e);
    reopen_clean(e);
    assert_int_equal(pin_count(e, "d"), 1);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "d"), WR_OK); /* pinned */
}

/* The stream-id high-water mark (08 05) is never lowered, neither by a DELETE job that cannot
 * read it nor by an open that cannot: ids are never handed out twice. */
static void
test_next_id_read_error(void **state)
{
    ts_env *e = *state;
    wr_error err;
    ts_append_n(e, B, "a", "r", 3);
    ts_stream(e, B, "s1", NULL);
    ts_stream(e, B, "s2", NULL);
    ts_stream(e, B, "s3", NULL);
    uint64_t id1 = id_of(e, B, "s1"), id3 = id_of(e, B, "s3");
    assert_true(id1 < id3);
    /* Deleting the highest id writes the mark id3 + 1. */
    assert_int_equal(wr_store_stream_delete(e->s, B, "s3", &err), WR_OK);
    ts_maintain(e, false);
    assert_int_equal(ts_stream_get(e, B, "s3"), WR_ERR_STREAM_NOT_FOUND);
    const uint8_t mark[2] = {WR_KEY_LIFECYCLE, WR_LC_NEXT_ID};

    uint64_t on_disk = 0;
    raw_get(e, mark, sizeof(mark), &on_disk);
    assert_int_equal(on_disk, id3 + 1);

    /* A DELETE job that cannot read the mark writes nothing (it would have written id1 + 1). */
    assert_int_equal(wr_store_stream_delete(e->s, B, "s1", &err), WR_OK);
    ts_fail_read(e, WR_STORE_READ_GET, mark, sizeof(mark), true, 0, 1);
    ts_maintain(e, false);
    assert_int_equal(ts_read_faults(e), 1);
    raw_get(e, mark, sizeof(mark), &on_disk);
    assert_int_equal(on_disk, id3 + 1); /* not lowered */
    assert_failed_state(e);
    reopen_clean(e);
    ts_stream(e, B, "n1", NULL);
    assert_true(id_of(e, B, "n1") > id3);

    /* An open that cannot read the mark fails: with the highest id deleted, recovery alone
     * would hand that id out again. */
    uint64_t top = id_of(e, B, "n1");
    assert_int_equal(wr_store_stream_delete(e->s, B, "n1", &err), WR_OK);
    ts_maintain(e, false);
    ts_fail_read(e, WR_STORE_READ_GET, mark, sizeof(mark), true, 0, 1);
    wr_err rc = ts_reopen(e, &err);
    assert_int_equal(ts_read_faults(e), 1);
    if (rc == WR_OK) {
        ts_stream(e, B, "n2", NULL);
        fail_msg("the store opened without its id mark; the next id is %llu, the highest used "
                 "%llu",
                 (unsigned long long)id_of(e, B, "n2"), (unsigned long long)top);
    }
    assert_int_equal(rc, WR_ERR_STORAGE);
    reopen_clean(e);
    ts_stream(e, B, "n2", NULL);
    assert_true(id_of(e, B, "n2") > top);
}

static void
doomed_basin(ts_env *e, unsigned n)
{
    ts_basin(e, DOOMED, false, false);
    char name[16];
    for (unsigned i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "s%u", i);
        ts_stream(e, DOOMED, name, NULL);
    }
    ts_append_n(e, DOOMED, "s0", "r", 2);
    wr_error err;
    assert_int_equal(wr_store_basin_delete(e->s, DOOMED, &err), WR_OK);
}

static size_t
doomed_streams(ts_env *e)
{
    wr_buf lo = {0}, hi = {0};
    wr_key_stream_meta_prefix(&lo, DOOMED, strlen(DOOMED));
    wr_buf_append(&hi, lo.data, lo.len);
    hi.data[hi.len - 1] = 1;
    size_t n = ts_count_keys(e, lo.data, lo.len, hi.data, hi.len);
    wr_buf_fini(&lo);
    wr_buf_fini(&hi);
    return n;
}

/* A basin page whose scan fails (at once, or after two streams) is not the last page: the basin
 * meta stays while stream metas remain, and the deletion finishes after the restart. */
static void
test_page_iter_error_keeps_basin(void **state)
{
    ts_env *e = *state;
    wr_error err;
    wr_basin_info bi;
    ts_append_n(e, B, "a", "r", 3);
    doomed_basin(e, 5);
    wr_buf prefix = {0}, bkey = {0};
    wr_key_stream_meta_prefix(&prefix, DOOMED, strlen(DOOMED));
    wr_key_basin_meta(&bkey, DOOMED, strlen(DOOMED));
    struct {
        wr_store_read_kind kind;
        int skip;
    } faults[] = {{WR_STORE_READ_SEEK, 0}, {WR_STORE_READ_NEXT, 1}};
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        ts_fail_read(e, faults[i].kind, prefix.data, prefix.len, false, faults[i].skip, 1);
        ts_maintain(e, false);
        assert_int_equal(ts_read_faults(e), 1);
        if (raw_get(e, bkey.data, bkey.len, NULL) < 0)
            fail_msg("fault %zu: basin meta deleted with %zu stream metas left", i,
                     doomed_streams(e));
        assert_failed_state(e);
        reopen_clean(e);
        assert_int_equal(wr_store_basin_get(e->s, DOOMED, NULL, &bi, &err), WR_OK);
        assert_true(bi.deleted);
        assert_int_equal(doomed_streams(e), 5);
    }
    ts_maintain(e, false);
    assert_int_equal(wr_store_basin_get(e->s, DOOMED, NULL, NULL, &err), WR_ERR_BASIN_NOT_FOUND);
    assert_int_equal(doomed_streams(e), 0);
    wr_buf_fini(&prefix);
    wr_buf_fini(&bkey);
}

/* ---------------------------------------------------------------------------------------- */
/* One row per lookup and iterator loop                                                      */

typedef struct row_ctx {
    uint8_t key[64]; /* the key the fault matches */
    size_t key_len;
    uint64_t id; /* of the row's stream, when it has one */
} row_ctx;

typedef struct fault_row {
    const char *name;
    wr_store_read_kind kind;
    bool exact;
    int skip;
    void (*prepare)(ts_env *e, row_ctx *c); /* data, and c->key */
    wr_err (*trigger)(ts_env *e, row_ctx *c);
    bool at_open; /* the trigger is an open, which fails */
} fault_row;

static void
key1(row_ctx *c, uint8_t b)
{
    c->key[0] = b;
    c->key_len = 1;
}

static void
key_id(row_ctx *c, uint8_t type, uint64_t id)
{
    wr_key_stream_id(c->key, type, id);
    c->key_len = WR_KEY_ID_LEN;
}

static void
key_batch(row_ctx *c, uint64_t id, uint64_t seq)
{
    wr_key_batch(c->key, id, seq);
    c->key_len = WR_KEY_BATCH_LEN;
}

static void
key_buf(row_ctx *c, const wr_buf *k)
{
    memcpy(c->key, k->data, k->len);
    c->key_len = k->len;
}

/* Stream "x" with three batches of 10 records, reloaded from disk (nothing cached). */
static void
stream_x_cold(ts_env *e, row_ctx *c)
{
    for (int i = 0; i < 3; i++)
        ts_append_n(e, B, "x", "r", 10);
    (void)c;
    reopen_clean(e);
}

static void
p_stream_ids(ts_env *e, row_ctx *c)
{
    (void)e;
    key1(c, WR_KEY_STREAM_ID);
}

static void
p_last_batches(ts_env *e, row_ctx *c)
{
    (void)e;
    key1(c, WR_KEY_BATCH);
}

static void
p_deleting_basins(ts_env *e, row_ctx *c)
{
    doomed_basin(e, 1);
    c->key[0] = WR_KEY_LIFECYCLE;
    c->key[1] = WR_LC_BASIN_DELETION;
    c->key_len = 2;
}

static void
p_next_id(ts_env *e, row_ctx *c)
{
    (void)e;
    c->key[0] = WR_KEY_LIFECYCLE;
    c->key[1] = WR_LC_NEXT_ID;
    c->key_len = 2;
}

static wr_err
t_reopen(ts_env *e, row_ctx *c)
{
    (void)c;
    wr_error err;
    return ts_reopen(e, &err);
}

/* The cold stream x's id without loading it (a load reads what the rows fail). */
static uint64_t
cold_id(ts_env *e)
{
    stream_meta m;
    wr_error err;
    assert_int_equal(wr_store__stream_meta_get(e->s, B, "x", &m, &err), WR_OK);
    return m.id;
}

static void
p_load_arrival(ts_env *e, row_ctx *c)
{
    stream_x_cold(e, c);
    c->id = cold_id(e);
    key_id(c, WR_KEY_BATCH, c->id); /* SeekForPrev(06 ‖ id ‖ max) */
}

static void
p_load_tail(ts_env *e, row_ctx *c)
{
    stream_x_cold(e, c);
    c->id = cold_id(e);
    key_id(c, WR_KEY_STREAM_TAIL, c->id);
}

static wr_err
t_check_tail(ts_env *e, row_ctx *c)
{
    (void)c;
    wr_pos tail;
    wr_error err;
    return wr_store_check_tail(e->s, B, "x", &tail, &err);
}

static void
p_read_batches(ts_env *e, row_ctx *c)
{
    stream_x_cold(e, c);
    c->id = id_of(e, B, "x"); /* loaded: the read goes to disk, not to the load */
    key_id(c, WR_KEY_BATCH, c->id);
}

static void
p_read_index(ts_env *e, row_ctx *c)
{
    p_read_batches(e, c);
    key_id(c, WR_KEY_TS_INDEX, c->id);
}

static wr_err
read_x(ts_env *e, wr_read_start_kind kind)
{
    wr_read_req q = {.start_kind = kind, .start_value = 0, .has_count = true, .count = 100};
    wr_read_result *r = ts_read(e, B, "x", &q);
    wr_err rc = r->err;
    wr_read_result_free(r);
    return rc;
}

static wr_err
t_read_seq(ts_env *e, row_ctx *c)
{
    (void)c;
    return read_x(e, WR_READ_SEQ);
}

static wr_err
t_read_ts(ts_env *e, row_ctx *c)
{
    (void)c;
    return read_x(e, WR_READ_TIMESTAMP);
}

static void
p_basin_list(ts_env *e, row_ctx *c)
{
    (void)e;
    key1(c, WR_KEY_BASIN_META);
}

static wr_err
t_basin_list(ts_env *e, row_ctx *c)
{
    (void)c;
    wr_basin_list l;
    wr_error err;
    wr_err rc = wr_store_basin_list(e->s, NULL, NULL, 0, &l, &err);
    wr_basin_list_fini(&l);
    return rc;
}

static void
p_basin_meta(ts_env *e, row_ctx *c)
{
    (void)e;
    wr_buf k = {0};
    wr_key_basin_meta(&k, B, strlen(B));
    key_buf(c, &k);
    wr_buf_fini(&k);
}

static wr_err
t_basin_get(ts_env *e, row_ctx *c)
{
    (void)c;
    wr_error err;
    return wr_store_basin_get(e->s, B, NULL, NULL, &err);
}

static void
p_quota_count(ts_env *e, row_ctx *c)
{
    ts_basin(e, "other-basin", false, false); /* never counted yet */
    wr_buf k = {0};
    wr_key_stream_meta_prefix(&k, "other-basin", strlen("other-basin"));
    key_buf(c, &k);
    wr_buf_fini(&k);
}

static wr_err
t_create_other(ts_env *e, row_ctx *c)
{
    (void)c;
    wr_error err;
    return wr_store_stream_create(e->s, "other-basin", "s", NULL, NULL, NULL, NULL, &err);
}

typedef struct token_written {
    bool done;
    wr_err err;
} token_written;

static void
on_token_written(void *ud, wr_err err, const wr_error *detail)
{
    (void)detail;
    token_written *w = ud;
    w->done = true;
    w->err = err;
}

static void
p_tokens(ts_env *e, row_ctx *c)
{
    token_written w = {0};
    wr_store_token_change ch = {"tok1", "{}", 2};
    wr_store_tokens_write_async(e->s, &ch, 1, on_token_written, &w);
    ts_run_until(e, &w.done); /* written by the commit thread */
    assert_int_equal(w.err, WR_OK);
    key1(c, WR_KEY_ACCESS_TOKEN);
}

static void
count_token(void *ud, const char *id, size_t id_len, const char *value, size_t len)
{
    (void)id;
    (void)id_len;
    (void)value;
    (void)len;
    (*(int *)ud)++;
}

static wr_err
t_token_scan(ts_env *e, row_ctx *c)
{
    (void)c;
    int n = 0;
    wr_error err;
    return wr_store_token_scan(e->s, count_token, &n, &err);
}

/* A maintenance pass; it reports errors only through the failed state. */
static wr_err
t_maintain(ts_env *e, row_ctx *c)
{
    (void)c;
    ts_maintain(e, false);
    return wr_store_failed(e->s) ? WR_ERR_STORAGE : WR_OK;
}

/* Stream "x": age retention of an hour, three batches that have expired. */
static void
p_expired(ts_env *e, row_ctx *c)
{
    wr_stream_config cfg = {.retention = WR_RETENTION_AGE, .retention_age_secs = 3600};
    ts_stream(e, B, "x", &cfg);
    for (int i = 0; i < 3; i++)
        ts_append_n(e, B, "x", "r", 10);
    c->id = id_of(e, B, "x");
    wr_clock_advance_ms(2 * 3600 * 1000);
    key_batch(c, c->id, 0); /* the scan for expired batches */
}

/* Stream "x": batches at 0, 10, 20, trimmed to 15 (the first one is reclaimable). */
static void
p_trimmed(ts_env *e, row_ctx *c)
{
    wr_stream_config cfg = {.retention = WR_RETENTION_INFINITE};
    ts_stream(e, B, "x", &cfg);
    for (int i = 0; i < 3; i++)
        ts_append_n(e, B, "x", "r", 10);
    assert_int_equal(ts_trim(e, B, "x", 15).err, WR_OK);
    c->id = id_of(e, B, "x");
}

static void
p_trim_keep(ts_env *e, row_ctx *c)
{
    p_trimmed(e, c);
    key_batch(c, c->id, 15); /* SeekForPrev to the first batch to keep */
}

static void
p_trim_any(ts_env *e, row_ctx *c)
{
    p_trimmed(e, c);
    key_batch(c, c->id, 0); /* is there a batch below the kept one? */
}

static void
p_trim_index(ts_env *e, row_ctx *c)
{
    p_trimmed(e, c);
    wr_key_ts_index(c->key, c->id, 0, 0); /* the index keys below the kept batch */
    c->key_len = WR_KEY_TS_LEN;
}

static void
p_reclaim_tail(ts_env *e, row_ctx *c)
{
    p_trimmed(e, c);
    key_id(c, WR_KEY_STREAM_TAIL, c->id);
}

/* Stream "x" with records, deleted: the DELETE job removes it. */
static void
p_deleted(ts_env *e, row_ctx *c)
{
    ts_append_n(e, B, "x", "r", 10);
    c->id = id_of(e, B, "x");
    wr_error err;
    assert_int_equal(wr_store_stream_delete(e->s, B, "x", &err), WR_OK);
}

static void
p_deleted_batches(ts_env *e, row_ctx *c)
{
    p_deleted(e, c);
    key_id(c, WR_KEY_BATCH, c->id); /* any batch of the stream? */
}

static void
p_deleted_index(ts_env *e, row_ctx *c)
{
    p_deleted(e, c);
    key_id(c, WR_KEY_TS_INDEX, c->id);
}

static void
p_deleted_meta(ts_env *e, row_ctx *c)
{
    p_deleted(e, c);
    wr_buf k = {0};
    wr_key_stream_meta(&k, B, strlen(B), "x", 1);
    key_buf(c, &k);
    wr_buf_fini(&k);
}

static void
p_page(ts_env *e, row_ctx *c)
{
    doomed_basin(e, 3);
    wr_buf k = {0};
    wr_key_stream_meta_prefix(&k, DOOMED, strlen(DOOMED));
    key_buf(c, &k);
    wr_buf_fini(&k);
}

static void
p_page_cursor(ts_env *e, row_ctx *c)
{
    doomed_basin(e, 3);
    wr_buf k = {0};
    wr_key_basin_deletion(&k, DOOMED, strlen(DOOMED));
    key_buf(c, &k);
    wr_buf_fini(&k);
}

/* Stream "x": delete-on-empty after 60 s, retention of an hour, one batch that has expired. */
static void
p_doe(ts_env *e, row_ctx *c)
{
    wr_stream_config cfg = {.retention = WR_RETENTION_AGE,
                            .retention_age_secs = 3600,
                            .has_doe = true,
                            .doe_min_age_secs = 60};
    ts_stream(e, B, "x", &cfg);
    ts_append_n(e, B, "x", "r", 10);
    c->id = id_of(e, B, "x");
    wr_clock_advance_ms(2 * 3600 * 1000);
}

static void
p_doe_arrival(ts_env *e, row_ctx *c)
{
    p_doe(e, c);
    key_batch(c, c->id, UINT64_MAX); /* SeekForPrev to the last batch: its arrival */
}

static void
p_doe_deadline(ts_env *e, row_ctx *c)
{
    p_doe(e, c);
    wr_key_lc_id(c->key, WR_LC_DOE_DEADLINE, c->id);
    c->key_len = WR_KEY_LC_ID_LEN;
}

static void
p_scan_two(ts_env *e, row_ctx *c)
{
    ts_stream(e, B, "x", NULL);
    key1(c, WR_KEY_STREAM_ID);
}

#define SEEK WR_STORE_READ_SEEK
#define NEXT WR_STORE_READ_NEXT
#define GET WR_STORE_READ_GET

static const fault_row rows[] = {
    /* Iterator loops (every wr_store__iter_open of src/store). */
    {"open: recovery scan of stream ids", SEEK, true, 0, p_stream_ids, t_reopen, true},
    {"open: recovery's last batch of a stream", SEEK, false, 0, p_last_batches, t_reopen, true},
    {"open: basins being deleted", SEEK, true, 0, p_deleting_basins, t_reopen, true},
    {"load: last batch's arrival", SEEK, false, 0, p_load_arrival, t_check_tail, false},
    {"read: batches", SEEK, false, 0, p_read_batches, t_read_seq, false},
    {"read: timestamp index", SEEK, false, 0, p_read_index, t_read_ts, false},
    {"list: basins", SEEK, true, 0, p_basin_list, t_basin_list, false},
    {"quota: stream count", SEEK, true, 0, p_quota_count, t_create_other, false},
    {"tokens: scan", SEEK, true, 0, p_tokens, t_token_scan, false},
    {"maintenance scan: stream ids", SEEK, true, 0, p_stream_ids, t_maintain, false},
    {"maintenance scan: next stream id", NEXT, false, 0, p_scan_two, t_maintain, false},
    {"maintenance: expired batches", SEEK, true, 0, p_expired, t_maintain, false},
    {"maintenance: first batch kept by a trim", SEEK, true, 0, p_trim_keep, t_maintain, false},
    {"maintenance: any batch below it", SEEK, true, 0, p_trim_any, t_maintain, false},
    {"maintenance: index keys below it", SEEK, true, 0, p_trim_index, t_maintain, false},
    {"maintenance: deleted stream's batches", SEEK, true, 0, p_deleted_batches, t_maintain, false},
    {"maintenance: deleted stream's index", SEEK, true, 0, p_deleted_index, t_maintain, false},
    {"maintenance: basin page", SEEK, false, 0, p_page, t_maintain, false},
    {"maintenance: delete-on-empty arrival", SEEK, true, 0, p_doe_arrival, t_maintain, false},
    /* Point lookups. */
    {"open: id high-water mark", GET, true, 0, p_next_id, t_reopen, true},
    {"load: stream tail", GET, true, 0, p_load_tail, t_check_tail, false},
    {"meta: basin", GET, true, 0, p_basin_meta, t_basin_get, false},
    {"maintenance: stream tail", GET, true, 0, p_reclaim_tail, t_maintain, false},
    {"maintenance scan: a stream's meta", GET, true, 0, p_deleted_meta, t_maintain, false},
    {"maintenance: deleted stream's meta", GET, true, 1, p_deleted_meta, t_maintain, false},
    {"maintenance: basin page cursor", GET, true, 0, p_page_cursor, t_maintain, false},
    {"maintenance: delete-on-empty deadline", GET, true, 0, p_doe_deadline, t_maintain, false},
};

/* What is wrong with one row, or NULL. */
static const char *
run_row(const fault_row *r, char *why, size_t why_len)
{
    ts_env *e = calloc(1, sizeof(*e));
    wr_clock_set_fake(T0);
    ts_setup(e);
    ts_basin(e, B, true, true);
    ts_append_n(e, B, "a", "r", 3);
    row_ctx c = {0};
    r->prepare(e, &c);
    ts_fail_read(e, r->kind, c.key, c.key_len, r->exact, r->skip, 1);
    wr_err rc = r->trigger(e, &c);
    const char *p = NULL;
    if (ts_read_faults(e) != 1)
        p = "the fault never fired (the row misses its read)";
    else if (rc != WR_ERR_STORAGE)
        snprintf(why, why_len, "the operation returned %s, not storage", wr_err_code(rc)), p = why;
    else if (!r->at_open)
        p = failed_state_problem(e);
    if (!p) { /* nothing was lost: the store opens again and still holds stream a */
        reopen_clean(e);
        char *all = ts_read_all_bodies(e, B, "a");
        if (strcmp(all, "r0|r1|r2") != 0)
            p = "stream a changed";
        free(all);
    }
    ts_teardown(e);
    free(e);
    wr_clock_set_real();
    return p;
}

static void
test_every_read_reports_errors(void **state)
{
    (void)state;
    char why[128];
    int bad = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *p = run_row(&rows[i], why, sizeof(why));
        printf("%s %s%s%s\n", p ? "FAIL" : "ok  ", rows[i].name, p ? ": " : "", p ? p : "");
        bad += p != NULL;
    }
    if (bad)
        fail_msg("%d of %zu rows failed", bad, sizeof(rows) / sizeof(rows[0]));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_pin_count_read_error, &fx),
        TS_TEST(test_doe_pinned_read_error, &fx),
        TS_TEST(test_next_id_read_error, &fx),
        TS_TEST(test_page_iter_error_keeps_basin, &fx),
        cmocka_unit_test(test_every_read_reports_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
