/*
 * test_lifecycle.c — age retention and trim: invisibility to unary reads and to followers from
 * the moment of expiry (with the start/416 rules), reclamation of the bytes by maintenance
 * (batch keys gone, disk usage down after a forced compaction), and restart safety of both.
 * Time moves with the fake clock (util/clock.h).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "store/crc32c.h"
#include "store/keys.h"
#include "store/store_int.h"
#include "support/store_support.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"

#define T0 1700000000000ull
#define HOUR_MS 3600000ull
#define DAY_MS (24 * HOUR_MS)

static const ts_fixture fx = {.basin = "life-basin", .fake_now_ms = T0};

static wr_stream_config
age_cfg(uint64_t secs)
{
    wr_stream_config c = {0};
    c.retention = WR_RETENTION_AGE;
    c.retention_age_secs = secs;
    return c;
}

static wr_read_result *
read_from(ts_env *e, const char *stream, wr_read_start_kind kind, uint64_t v, bool may_follow)
{
    wr_read_req q = {.start_kind = kind,
                     .start_value = v,
                     .has_count = true,
                     .count = 1000,
                     .may_follow = may_follow};
    return ts_read(e, "life-basin", stream, &q);
}

/* Number of batch keys (family 06) of the stream on disk. */
static size_t
batch_keys(ts_env *e, const char *stream)
{
    stream_state *st = wr_store__stream_cached(e->s, "life-basin", stream);
    assert_non_null(st);
    uint8_t lo[WR_KEY_ID_LEN], hi[WR_KEY_ID_LEN];
    wr_key_stream_id(lo, WR_KEY_BATCH, st->id);
    wr_key_stream_id(hi, WR_KEY_BATCH, st->id + 1);
    return ts_count_keys(e, lo, sizeof(lo), hi, sizeof(hi));
}

/* Bytes of the SST and blob files in the data directory (what the data occupies on disk). */
static uint64_t
disk_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    uint64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (!(n > 4 && strcmp(de->d_name + n - 4, ".sst") == 0) &&
            !(n > 5 && strcmp(de->d_name + n - 5, ".blob") == 0))
            continue;
        char p[512];
        struct stat sb;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (stat(p, &sb) == 0)
            total += (uint64_t)sb.st_size;
    }
    closedir(d);
    return total;
}

/* Records crossing the retention age vanish from unary reads, with consistent start rules. */
static void
test_retention_hides_records(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = age_cfg(3600);
    ts_stream(e, "life-basin", "s", &c);
    assert_int_equal(ts_append_n(e, "life-basin", "s", "old", 3).err, WR_OK);
    wr_clock_advance_ms(HOUR_MS / 2);
    assert_int_equal(ts_append_n(e, "life-basin", "s", "new", 2).err, WR_OK);

    /* Just before the first batch expires everything is there. */
    wr_clock_advance_ms(HOUR_MS / 2);
    char *all = ts_read_all_bodies(e, "life-basin", "s");
    assert_string_equal(all, "old0|old1|old2|new0|new1");
    free(all);

    /* One ms later the old batch is gone from every start kind. */
    wr_clock_advance_ms(1);
    wr_read_result *r = read_from(e, "s", WR_READ_SEQ, 0, false);
    assert_int_equal(r->err, WR_OK);
    assert_int_equal(r->n_records, 2);
    assert_int_equal(r->records[0].seq, 3);
    wr_read_result_free(r);
    r = read_from(e, "s", WR_READ_TAIL_OFFSET, 5, false);
    assert_int_equal(r->n_records, 2);
    assert_int_equal(r->records[0].seq, 3);
    wr_read_result_free(r);
    r = read_from(e, "s", WR_READ_TIMESTAMP, 0, false);
    assert_int_equal(r->n_records, 2);
    assert_int_equal(r->records[0].seq, 3);
    wr_read_result_free(r);

    /* When everything expired, the start is the tail: 416 unless the read may follow. */
    wr_clock_advance_ms(HOUR_MS);
    r = read_from(e, "s", WR_READ_SEQ, 0, false);
    assert_int_equal(r->err, WR_ERR_RANGE_NOT_SATISFIABLE);
    assert_int_equal(r->tail.seq, 5);
    wr_read_result_free(r);
    r = read_from(e, "s", WR_READ_SEQ, 0, true);
    assert_int_equal(r->err, WR_OK);
    assert_int_equal(r->n_records, 0);
    assert_int_equal(r->next_seq, 5);
    assert_true(r->at_tail);
    wr_read_result_free(r);
    wr_pos tail;
    wr_error err;
    assert_int_equal(wr_store_check_tail(e->s, "life-basin", "s", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 5);

    /* The same after a restart (served from disk, not from the cache). */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    r = read_from(e, "s", WR_READ_SEQ, 0, false);
    assert_int_equal(r->err, WR_ERR_RANGE_NOT_SATISFIABLE);
    wr_read_result_free(r);
    /* New records are visible, and appends keep their seq_nums. */
    wr_append_result a = ts_append_n(e, "life-basin", "s", "later", 1);
    assert_int_equal(a.start.seq, 5);
    r = read_from(e, "s", WR_READ_SEQ, 0, false);
    assert_int_equal(r->n_records, 1);
    assert_int_equal(r->records[0].seq, 5);
    wr_read_result_free(r);
}

/* An infinite retention keeps everything. */
static void
test_retention_infinite(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = {.retention = WR_RETENTION_INFINITE};
    ts_stream(e, "life-basin", "inf", &c);
    ts_append_n(e, "life-basin", "inf", "r", 3);
    wr_clock_advance_ms(3650 * DAY_MS);
    ts_maintain(e, false);
    char *all = ts_read_all_bodies(e, "life-basin", "inf");
    assert_string_equal(all, "r0|r1|r2");
    free(all);
    assert_int_equal(batch_keys(e, "inf"), 1);
}

typedef struct fol {
    uint64_t seqs[64];
    size_t n;
    int events;
} fol;

static void
on_follow(void *ud, const wr_follow_event *ev)
{
    fol *f = ud;
    f->events++;
    if (ev->kind != WR_FOLLOW_BATCH)
        return;
    for (uint32_t i = ev->first; i < ev->batch->n_records && f->n < 64; i++)
        f->seqs[f->n++] = ev->batch->records[i].seq;
}

/* Followers (SSE/s2s catch-up from the cache and live delivery) never see expired records. */
static void
test_retention_follow(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = age_cfg(60);
    ts_stream(e, "life-basin", "f", &c);
    ts_append_n(e, "life-basin", "f", "a", 2); /* seq 0-1 at T0 */
    wr_clock_advance_ms(30000);
    ts_append_n(e, "life-basin", "f", "b", 2); /* seq 2-3 at T0+30s */
    wr_clock_advance_ms(30001);                /* the first batch has expired */
    fol f = {0};
    wr_follow *h;
    wr_error err;
    assert_int_equal(wr_store_follow(e->s, "life-basin", "f", 0, on_follow, &f, &h, &err), WR_OK);
    for (int i = 0; i < 5; i++)
        uv_run(&e->loop, UV_RUN_NOWAIT);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.seqs[0], 2);
    assert_int_equal(f.seqs[1], 3);
    /* A live record whose client timestamp is already older than the retention is shown, as is
     * a fresh one: expiry is measured from arrival. */
    wr_append_record old = ts_rec_ts("stale", wr_clock_now_ms() - 120000);
    wr_append_input in = {.records = &old, .n_records = 1};
    assert_int_equal(ts_append(e, "life-basin", "f", &in).err, WR_OK);
    ts_append_n(e, "life-basin", "f", "c", 1);
    for (int i = 0; i < 5; i++)
        uv_run(&e->loop, UV_RUN_NOWAIT);
    /* Both are live: seq 4 and 5. */
    assert_int_equal(f.n, 4);
    assert_int_equal(f.seqs[2], 4);
    assert_int_equal(f.seqs[3], 5);
    /* Once all of it expires, a new follower from 0 gets nothing until a new batch. */
    wr_clock_advance_ms(61000);
    fol g = {0};
    wr_follow *h2;
    assert_int_equal(wr_store_follow(e->s, "life-basin", "f", 0, on_follow, &g, &h2, &err), WR_OK);
    for (int i = 0; i < 5; i++)
        uv_run(&e->loop, UV_RUN_NOWAIT);
    assert_int_equal(g.n, 0);
    ts_append_n(e, "life-basin", "f", "d", 1);
    for (int i = 0; i < 5; i++)
        uv_run(&e->loop, UV_RUN_NOWAIT);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.seqs[0], 6);
    wr_store_unfollow(h);
    wr_store_unfollow(h2);
}

/* Expired batches (arrived more than the retention age ago) are range-deleted. */
static void
test_retention_reclaims_batches(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = age_cfg(3600);
    ts_stream(e, "life-basin", "rk", &c);
    for (int i = 0; i < 6; i++) {
        ts_append_n(e, "life-basin", "rk", "x", 3);
        wr_clock_advance_ms(10 * 60000); /* a batch every 10 minutes */
    }
    assert_int_equal(batch_keys(e, "rk"), 6);
    /* Now T0+60min: batch 0 (T0) is exactly 60 min old, not yet expired. */
    ts_maintain(e, false);
    assert_int_equal(batch_keys(e, "rk"), 6);
    wr_clock_advance_ms(25 * 60000); /* batches 0-2 expired (T0, +10, +20 min) */
    ts_maintain(e, false);
    /* Expiry is by arrival and whole-batch: batches 0-2 are gone, 3-5 stay. */
    assert_int_equal(batch_keys(e, "rk"), 3);
    wr_read_result *r = read_from(e, "rk", WR_READ_SEQ, 0, false);
    assert_int_equal(r->err, WR_OK);
    assert_int_equal(r->records[0].seq, 9); /* batch 3 at T0+30min */
    assert_int_equal(r->n_records, 9);
    wr_read_result_free(r);
    wr_clock_advance_ms(DAY_MS);
    ts_maintain(e, false);
    assert_int_equal(batch_keys(e, "rk"), 0);
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK); /* the recovery check accepts it */
    r = read_from(e, "rk", WR_READ_SEQ, 0, true);
    assert_int_equal(r->err, WR_OK);
    assert_int_equal(r->n_records, 0);
    assert_int_equal(r->next_seq, 18);
    wr_read_result_free(r);
    assert_int_equal(ts_append_n(e, "life-basin", "rk", "y", 1).start.seq, 18);
}

/* Age retention measures a batch's arrival, not its record timestamps: records appended with a
 * client timestamp older than the retention stay visible (unary and follow) until the retention
 * age has passed since they were written. */
static void
test_retention_by_arrival(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = age_cfg(3600);
    c.ts_mode = WR_TS_CLIENT_REQUIRE;
    ts_stream(e, "life-basin", "arr", &c);
    fol f = {0};
    wr_follow *h;
    wr_error err;
    assert_int_equal(wr_store_follow(e->s, "life-basin", "arr", 0, on_follow, &f, &h, &err), WR_OK);
    wr_append_record old[2] = {ts_rec_ts("old0", wr_clock_now_ms() - 2 * HOUR_MS),
                               ts_rec_ts("old1", wr_clock_now_ms() - 2 * HOUR_MS + 1)};
    wr_append_input in = {.records = old, .n_records = 2};
    wr_append_result a = ts_append(e, "life-basin", "arr", &in);
    assert_int_equal(a.err, WR_OK);
    assert_true(a.end.ts_ms < wr_clock_now_ms() - HOUR_MS); /* the client timestamps are kept */
    for (int i = 0; i < 5; i++)
        uv_run(&e->loop, UV_RUN_NOWAIT);
    assert_int_equal(f.n, 2); /* delivered live */
    wr_store_unfollow(h);
    char *all = ts_read_all_bodies(e, "life-basin", "arr");
    assert_string_equal(all, "old0|old1");
    free(all);
    wr_read_result *r = read_from(e, "arr", WR_READ_TIMESTAMP, 0, false);
    assert_int_equal(r->err, WR_OK);
    assert_int_equal(r->n_records, 2);
    wr_read_result_free(r);

    /* Still there just before an hour since arrival, also from disk and after maintenance. */
    wr_clock_advance_ms(HOUR_MS);
    ts_maintain(e, false);
    assert_int_equal(batch_keys(e, "arr"), 1);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    all = ts_read_all_bodies(e, "life-basin", "arr");
    assert_string_equal(all, "old0|old1");
    free(all);

    /* One ms later it has expired everywhere. */
    wr_clock_advance_ms(1);
    r = read_from(e, "arr", WR_READ_SEQ, 0, false);
    assert_int_equal(r->err, WR_ERR_RANGE_NOT_SATISFIABLE);
    wr_read_result_free(r);
    ts_maintain(e, false);
    assert_int_equal(batch_keys(e, "arr"), 0);
}

/* A stored format-1 batch value (no arrival_ms) still recovers and reads; its arrival is its
 * last timestamp. */
static void
test_format1_batches_read(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = age_cfg(3600);
    ts_stream(e, "life-basin", "v1", &c);
    assert_int_equal(ts_append_n(e, "life-basin", "v1", "a", 2).err, WR_OK);
    wr_clock_advance_ms(1000);
    assert_int_equal(ts_append_n(e, "life-basin", "v1", "b", 3).err, WR_OK);
    stream_state *st = wr_store__stream_cached(e->s, "life-basin", "v1");
    assert_non_null(st);
    uint64_t id = st->id;
    /* Rewrite both values in the format-1 layout: header without arrival_ms. */
    uint64_t firsts[2] = {0, 2};
    for (int i = 0; i < 2; i++) {
        uint8_t k[WR_KEY_BATCH_LEN];
        wr_key_batch(k, id, firsts[i]);
        char *err = NULL;
        size_t vlen;
        char *v = rocksdb_get(e->s->db, e->s->ro, (char *)k, sizeof(k), &vlen, &err);
        assert_null(err);
        assert_non_null(v);
        assert_int_equal((uint8_t)v[0], WR_BATCH_FORMAT);
        size_t nlen = vlen - 8;
        uint8_t *nv = malloc(nlen);
        memcpy(nv, v, WR_BATCH_HEADER_LEN_V1);
        memcpy(nv + WR_BATCH_HEADER_LEN_V1, v + WR_BATCH_HEADER_LEN, vlen - WR_BATCH_HEADER_LEN);
        nv[0] = WR_BATCH_FORMAT_V1;
        wr_put_be32(nv + nlen - 4, wr_crc32c(0, nv, nlen - 4));
        rocksdb_free(v);
        rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
        rocksdb_put(e->s->db, wo, (char *)k, sizeof(k), (char *)nv, nlen, &err);
        assert_null(err);
        rocksdb_writeoptions_destroy(wo);
        free(nv);
    }
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK); /* the recovery check decodes format 1 */
    char *all = ts_read_all_bodies(e, "life-basin", "v1");
    assert_string_equal(all, "a0|a1|b0|b1|b2");
    free(all);
    st = wr_store__stream_cached(e->s, "life-basin", "v1");
    assert_non_null(st);
    assert_int_equal(st->d_arrival, st->d_ts); /* recovered from the format-1 last batch */
    /* New batches are format 2 and mix with the old ones. */
    assert_int_equal(ts_append_n(e, "life-basin", "v1", "c", 1).start.seq, 5);
    all = ts_read_all_bodies(e, "life-basin", "v1");
    assert_string_equal(all, "a0|a1|b0|b1|b2|c0");
    free(all);
    /* Format-1 batches expire by their last timestamp. */
    wr_clock_advance_ms(HOUR_MS - 1000 + 1);
    wr_read_result *r = read_from(e, "v1", WR_READ_SEQ, 0, false);
    assert_int_equal(r->err, WR_OK);
    assert_int_equal(r->n_records, 4);
    assert_int_equal(r->records[0].seq, 2);
    wr_read_result_free(r);
    ts_maintain(e, false);
    assert_int_equal(batch_keys(e, "v1"), 2);
}

/* Disk usage falls after expiry plus a forced compaction (the numbers go to the issue note). */
static void
test_retention_frees_disk(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = age_cfg(86400);
    ts_stream(e, "life-basin", "big", &c);
    ts_stream(e, "life-basin", "small", &c);
    enum { BATCHES = 32, RECS = 256, BODY = 4000 };
    char *body = wr_xmalloc(BODY);
    memset(body, 'z', BODY);
    wr_append_record *recs = wr_xcalloc(RECS, sizeof(*recs));
    for (int i = 0; i < RECS; i++) {
        recs[i].body = (const uint8_t *)body;
        recs[i].body_len = BODY;
    }
    wr_append_input in = {.records = recs, .n_records = RECS};
    for (int b = 0; b < BATCHES; b++)
        assert_int_equal(ts_append(e, "life-basin", "big", &in).err, WR_OK);
    uint64_t written = (uint64_t)BATCHES * RECS * BODY;
    ts_maintain(e, true);
    uint64_t before = disk_bytes(e->dir);
    wr_clock_advance_ms(2 * DAY_MS);
    ts_append_n(e, "life-basin", "small", "keep", 10); /* something live stays */
    ts_maintain(e, true);
    uint64_t after = disk_bytes(e->dir);
    printf("retention reclaim: wrote %llu record bytes in %d batches; SST+blob files %llu bytes "
           "before expiry, %llu bytes after expiry + forced compaction (%.1f%% freed)\n",
           (unsigned long long)written, BATCHES, (unsigned long long)before,
           (unsigned long long)after, 100.0 * (double)(before - after) / (double)before);
    assert_true(before >= written / 2);
    assert_true(after < before / 20);
    char *all = ts_read_all_bodies(e, "life-basin", "small");
    assert_non_null(strstr(all, "keep9"));
    free(all);
    free(recs);
    free(body);
}

/* Trim: invisible at once, reclaimed by maintenance, and still respected after a restart. */
static void
test_trim_reclaims(void **state)
{
    ts_env *e = *state;
    wr_stream_config c = {.retention = WR_RETENTION_INFINITE};
    ts_stream(e, "life-basin", "t", &c);
    for (int i = 0; i < 10; i++)
        ts_append_n(e, "life-basin", "t", "r", 10);                 /* batches at 0, 10, ..., 90 */
    assert_int_equal(ts_trim(e, "life-basin", "t", 55).err, WR_OK); /* seq 100 */
    wr_read_result *r = read_from(e, "t", WR_READ_SEQ, 0, false);
    assert_int_equal(r->records[0].seq, 55);
    wr_read_result_free(r);
    assert_int_equal(batch_keys(e, "t"), 11);
    ts_maintain(e, false);
    /* Batches 0..40 end at or below 50 < 55: gone; the batch holding 55 (50..59) stays. */
    assert_int_equal(batch_keys(e, "t"), 6);
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    r = read_from(e, "t", WR_READ_SEQ, 0, false);
    assert_int_equal(r->err, WR_OK);
    assert_int_equal(r->records[0].seq, 55);
    assert_int_equal(r->n_records, 46);
    wr_read_result_free(r);
    /* A timestamp start below everything also starts at the trim point. */
    r = read_from(e, "t", WR_READ_TIMESTAMP, 0, false);
    assert_int_equal(r->records[0].seq, 55);
    wr_read_result_free(r);
    /* Trim everything (terminal trim beyond the tail caps at its own seq + 1). */
    assert_int_equal(ts_trim(e, "life-basin", "t", UINT64_MAX).err, WR_OK); /* seq 101, trim 102 */
    ts_maintain(e, false);
    assert_int_equal(batch_keys(e, "t"), 0);
    r = read_from(e, "t", WR_READ_SEQ, 0, false);
    assert_int_equal(r->err, WR_ERR_RANGE_NOT_SATISFIABLE);
    wr_read_result_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_retention_hides_records, &fx), TS_TEST(test_retention_infinite, &fx),
        TS_TEST(test_retention_follow, &fx),        TS_TEST(test_retention_reclaims_batches, &fx),
        TS_TEST(test_retention_by_arrival, &fx),    TS_TEST(test_format1_batches_read, &fx),
        TS_TEST(test_retention_frees_disk, &fx),    TS_TEST(test_trim_reclaims, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
